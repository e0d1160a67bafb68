import { describe, expect, it } from "vitest";
import type { ChallengeEvent } from "../../../../functions/domain/challenge/index.js";
import { evolve, initialState, replay } from "../../../../functions/domain/challenge/index.js";
import { IRO } from "./fixtures.js";

const envelope = { challengeId: "ch-1", at: "2026-05-21T09:00:00.000Z", actor: IRO, channel: "api" as const };

describe("initialState", () => {
  it("is version 0 with status none and no stage", () => {
    expect(initialState("ch-1")).toMatchObject({
      challengeId: "ch-1",
      version: 0,
      status: "none",
      currentStage: null,
      history: [],
      highestStageIndex: -1,
      autoEscalations: 0,
    });
  });
});

describe("evolve", () => {
  it("is total: events that do not fit the state change only the version", () => {
    const stray: ChallengeEvent[] = [
      { ...envelope, type: "StageAcknowledged", seq: 1, data: { stageId: "stage-1" } },
      { ...envelope, type: "ResponseRecorded", seq: 2, data: { stageId: "stage-1", response: "x" } },
      { ...envelope, type: "ActionCompleted", seq: 3, data: { actionId: "a-1" } },
      { ...envelope, type: "ReferralApproved", seq: 4, data: { kind: "cafcass", approverRole: "x" } },
      { ...envelope, type: "RaiserAlerted", seq: 5, data: { stageId: "stage-1", reason: "no_response" } },
      { ...envelope, type: "ReminderSent", seq: 6, data: { stageId: "stage-1", deadline: envelope.at } },
      { ...envelope, type: "ActionsFellDue", seq: 7, data: { actionIds: ["a-1"] } },
    ];
    const state = replay(stray);
    expect(state).toEqual({ ...initialState("ch-1"), version: 7 });
  });

  it("does not mutate the state it is given", () => {
    const before = Object.freeze(initialState("ch-1"));
    const after = evolve(before, { ...envelope, type: "Withdrawn", seq: 1, data: { reason: "x" } });
    expect(before.status).toBe("none");
    expect(after).toMatchObject({ status: "withdrawn", version: 1 });
  });

  it("records a referral made without a request (an imported history) rather than dropping it", () => {
    const state = replay([
      {
        ...envelope,
        type: "ReferralMade",
        seq: 1,
        data: { kind: "partnership", recipient: { role: "p", title: "Partnership" }, documents: [] },
      },
    ]);
    expect(state.referrals).toEqual([
      { kind: "partnership", status: "made", requestedAt: envelope.at, approvalsNeeded: [], approvedBy: [] },
    ]);
  });
});
