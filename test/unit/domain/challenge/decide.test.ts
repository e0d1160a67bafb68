import { describe, expect, it } from "vitest";
import type { ChallengeState, Command } from "../../../../functions/domain/challenge/index.js";
import { decide, initialState } from "../../../../functions/domain/challenge/index.js";
import { parseProtocol } from "../../../../functions/domain/protocol-schema.js";
import {
  accepted,
  base,
  calendar,
  context,
  CPC,
  eventsOf,
  expectRefused,
  form,
  ID,
  IRO,
  ISM,
  manager,
  OTHER_IRO,
  PARTNER,
  personId,
  RAISED_AT,
  raiseCommand,
  raised,
  step,
  STRANGER,
  testProtocol,
  TIMER,
} from "./fixtures.js";

const LATER = "2026-05-22T10:00:00Z"; // Friday, before any deadline
const AFTER_INFORMAL_DEADLINE = "2026-05-29T16:00:00Z"; // Fri 29 May 2026 17:00 London
const ctx = context(LATER);

/** A CP challenge by the IRO, opened at `stageId` (a bypass with a rationale when not the first). */
function atStage(stageId: string, extra: Partial<Extract<Command, { type: "Raise" }>> = {}): ChallengeState {
  return raised({ startAtStageId: stageId, bypassRationale: "urgent", ...extra });
}

function exhausted(): ChallengeState {
  return accepted(atStage("stage-3"), { type: "Escalate", ...base(IRO), reasons: "no resolution" }, ctx);
}

function monitoring(stageId = "stage-1"): ChallengeState {
  return accepted(
    atStage(stageId),
    {
      type: "AgreeActionPlan",
      ...base(IRO),
      actions: [
        { action: "Hold a core group", byWhen: "2026-06-05", byWhom: "Social worker" },
        { action: "Visit the child", byWhen: "2026-06-10", byWhom: "Social worker" },
      ],
    },
    context(LATER), // fresh ids: action-1, action-2
  );
}

describe("Raise", () => {
  it("opens the first stage with a working-day deadline and the directory's recipient", () => {
    const result = decide(undefined, raiseCommand(), context(RAISED_AT));
    const events = eventsOf(result);
    expect(events.map((e) => [e.type, e.seq, e.at])).toEqual([
      ["ChallengeRaised", 1, "2026-05-21T09:00:00.000Z"],
      ["StageOpened", 2, "2026-05-21T09:00:00.000Z"],
    ]);
    const opened = events[1];
    expect(opened?.type === "StageOpened" && opened.data).toMatchObject({
      stageId: "informal",
      stageIndex: 0,
      via: "raised",
      // Thu 21 May + 5 working days (Mon 25 May is the late May bank holiday) = Fri 29 May, 17:00 BST.
      deadline: "2026-05-29T16:00:00.000Z",
      assignee: { personId: personId("social_worker"), title: "Social Worker" },
      copyTo: [{ personId: personId("team_manager") }],
    });
    for (const e of events) {
      expect(e.actor).toEqual(IRO);
      expect(e.channel).toBe("api");
      expect(e.challengeId).toBe(ID);
    }
    const state = raised();
    expect(state).toMatchObject({
      version: 2,
      status: "open",
      protocolId: "test-protocol",
      track: "CP",
      raiser: IRO,
      highestStageIndex: 0,
      currentStage: { stageId: "informal", via: "raised" },
    });
  });

  it("treats starting at the first stage as an ordinary raise, not a bypass", () => {
    const state = raised({ startAtStageId: "informal" });
    expect(state.currentStage?.via).toBe("raised");
  });

  it("lets an IRO start at a later stage with a rationale (a bypass) and records it", () => {
    const result = decide(
      undefined,
      raiseCommand({ startAtStageId: "stage-2", bypassRationale: "the team manager is the subject" }),
      context(RAISED_AT),
    );
    const [raisedEvent, opened] = eventsOf(result);
    expect(raisedEvent?.type === "ChallengeRaised" && raisedEvent.data.bypassRationale).toBe(
      "the team manager is the subject",
    );
    expect(opened?.type === "StageOpened" && opened.data).toMatchObject({
      stageId: "stage-2",
      via: "bypassed",
    });
  });

  it("addresses a partner agency's challenge to the stage's partner recipient and skips vacant copy-to roles", () => {
    const state = raised(
      { startAtStageId: "stage-1", bypassRationale: "informal attempts failed" },
      { partnerAgency: PARTNER },
    );
    expect(state.currentStage?.assignee).toMatchObject({
      personId: personId("team_manager", PARTNER.id),
      title: "Partner Team Manager",
    });
    expect(state.currentStage?.copyTo.map((c) => c.personId)).toEqual([
      personId("service_manager"),
      personId("iro_service_manager"),
    ]);
  });

  it("refuses a second raise of the same challenge", () => {
    expectRefused(decide(raised(), raiseCommand(), ctx), "ALREADY_EXISTS", /already raised/);
  });

  it("refuses a track the protocol does not have", () => {
    const cpOnly = parseProtocol({ ...testProtocol, tracks: { CP: testProtocol.tracks.CP } });
    expectRefused(
      decide(undefined, raiseCommand({}, { track: "LAC" }), context(RAISED_AT, { protocol: cpOnly })),
      "UNKNOWN_TRACK",
      /has no LAC process: it covers CP only/,
    );
  });

  it("refuses when the signed-in role is not the raiser role on the form", () => {
    expectRefused(
      decide(undefined, { ...raiseCommand(), actor: CPC }, context(RAISED_AT)),
      "NOT_PERMITTED",
      /form says the challenge is raised by the IRO, but you are signed in as CPC/,
    );
  });

  it("refuses themes the protocol does not list", () => {
    expectRefused(
      decide(undefined, raiseCommand({}, { themes: ["drift", "weather"] }), context(RAISED_AT)),
      "UNKNOWN_THEME",
      /"weather" is not one of this protocol's themes; the theme ids are: drift \(Drift and delay\); voice_of_child \(Voice of the child\)/,
    );
  });

  it("refuses a start stage that is not on the ladder", () => {
    expectRefused(
      decide(
        undefined,
        raiseCommand({ startAtStageId: "stage-9", bypassRationale: "x" }),
        context(RAISED_AT),
      ),
      "UNKNOWN_STAGE",
      /no stage "stage-9" on the CP ladder/,
    );
  });

  it("refuses a bypass without a rationale", () => {
    expectRefused(
      decide(undefined, raiseCommand({ startAtStageId: "stage-2" }), context(RAISED_AT)),
      "INVALID_COMMAND",
      /skips Informal, Stage 1: give the rationale/,
    );
  });

  it("refuses a CP Chair's bypass without a safeguarding concern, and accepts it with one", () => {
    const cpcRaise = (concern: boolean | undefined) =>
      decide(
        undefined,
        {
          ...raiseCommand(
            { startAtStageId: "stage-2", bypassRationale: "urgent", safeguardingConcern: concern },
            { raiserRole: "CPC" },
          ),
          actor: CPC,
        },
        context(RAISED_AT),
      );
    expectRefused(
      cpcRaise(undefined),
      "BYPASS_NOT_ALLOWED",
      /CP track in this protocol lets the CP Chair bypass stages only where there is a safeguarding concern \("chairs may bypass with safeguarding concerns"\)/,
    );
    expect(cpcRaise(true).ok).toBe(true);
  });

  it("refuses any bypass where the rule is never, quoting the protocol", () => {
    expectRefused(
      decide(
        undefined,
        raiseCommand({ startAtStageId: "lac-2", bypassRationale: "urgent" }, { track: "LAC" }),
        context(RAISED_AT),
      ),
      "BYPASS_NOT_ALLOWED",
      /LAC track in this protocol does not allow bypass by the IRO \("each stage must be followed"\)/,
    );
  });

  it("allows skipping under an immediate-risk rule only when the form records an immediate risk", () => {
    const lacCpc = (immediateRisk: boolean) =>
      decide(
        undefined,
        {
          ...raiseCommand(
            { startAtStageId: "lac-3", bypassRationale: "urgent" },
            { track: "LAC", raiserRole: "CPC", immediateRisk },
          ),
          actor: CPC,
        },
        context(RAISED_AT),
      );
    expectRefused(
      lacCpc(false),
      "BYPASS_NOT_ALLOWED",
      /only when the child is at immediate risk of significant harm/,
    );
    expect(lacCpc(true).ok).toBe(true);
  });

  it("refuses when nobody in the directory holds the stage's role, naming the role", () => {
    expectRefused(
      decide(undefined, raiseCommand(), context(RAISED_AT, { vacant: ["social_worker"] })),
      "NO_RECIPIENT",
      /nobody in the staff directory holds the role "Social Worker" for team Riverside Family Support/,
    );
  });

  it("refuses a malformed command without throwing", () => {
    const bad = { ...raiseCommand(), form: { ...form(), track: "XYZ" } } as unknown as Command;
    expectRefused(decide(undefined, bad, context(RAISED_AT)), "INVALID_COMMAND", /incomplete or malformed/);
  });

  it("refuses a command of no known type, naming the type, without throwing", () => {
    for (const type of ["Promote", "constructor", undefined]) {
      const bad = { ...raiseCommand(), type } as unknown as Command;
      expectRefused(
        decide(undefined, bad, context(RAISED_AT)),
        "INVALID_COMMAND",
        new RegExp(
          `unknown command type ${type === undefined ? "undefined" : JSON.stringify(type)}: expected one of Raise, `,
        ),
      );
    }
  });

  it("refuses a field another command has but this one does not (each command is checked by its own schema)", () => {
    const bad = { type: "Withdraw", ...base(IRO), reason: "x", reasons: "y" } as unknown as Command;
    expectRefused(decide(undefined, bad, context(RAISED_AT)), "INVALID_COMMAND", /reasons/);
  });
});

describe("any command on a challenge", () => {
  it("is refused when the challenge has not been raised", () => {
    expectRefused(
      decide(undefined, { type: "Withdraw", ...base(IRO), reason: "x" }, ctx),
      "NOT_FOUND",
      /no challenge ch-0001: it has not been raised/,
    );
  });

  it("is refused when applied to another challenge's state", () => {
    expectRefused(
      decide(initialState("other"), raiseCommand(), ctx),
      "INVALID_COMMAND",
      /for challenge ch-0001 but was applied to challenge other/,
    );
  });

  it("is refused under a different protocol than the one the challenge runs under", () => {
    const other = parseProtocol({ ...testProtocol, id: "another-protocol" });
    expectRefused(
      decide(raised(), { type: "Withdraw", ...base(IRO), reason: "x" }, context(LATER, { protocol: other })),
      "INVALID_COMMAND",
      /runs under protocol "test-protocol", but protocol "another-protocol" was supplied/,
    );
  });

  it("numbers events on from the state's version", () => {
    const events = eventsOf(decide(raised(), { type: "Escalate", ...base(IRO), reasons: "none" }, ctx));
    expect(events.map((e) => e.seq)).toEqual([3, 4]);
    expect(events.every((e) => e.at === "2026-05-22T10:00:00.000Z")).toBe(true);
  });
});

describe("Acknowledge and Respond", () => {
  const sw = manager("social_worker");

  it("records who acknowledged, when and how; a second acknowledgement records nothing new", () => {
    const state = accepted(raised(), { type: "Acknowledge", ...base(sw, "link") }, ctx);
    expect(state.currentStage?.acknowledgedAt).toBe("2026-05-22T10:00:00.000Z");
    expect(state.currentStage?.acknowledgements).toEqual([
      { personId: sw.id, at: "2026-05-22T10:00:00.000Z", channel: "link" },
    ]);
    const again = decide(state, { type: "Acknowledge", ...base(sw, "email") }, ctx);
    expect(again).toEqual({ ok: true, events: [] });
  });

  it("refuses anyone else", () => {
    expectRefused(
      decide(raised(), { type: "Acknowledge", ...base(IRO) }, ctx),
      "NOT_RECIPIENT",
      /only the current recipient \(Social Worker\) can acknowledge Informal/,
    );
    expectRefused(
      decide(raised(), { type: "Respond", ...base(STRANGER), response: "done" }, ctx),
      "NOT_RECIPIENT",
      /only the current recipient \(Social Worker\) can respond to this stage/,
    );
  });

  it("records responses on the open stage", () => {
    const state = accepted(raised(), { type: "Respond", ...base(sw), response: "Core group booked." }, ctx);
    expect(state.currentStage?.responses).toEqual([
      { at: "2026-05-22T10:00:00.000Z", response: "Core group booked." },
    ]);
    expect(state.status).toBe("open");
  });

  it("refuses when no stage is open", () => {
    expectRefused(
      decide(monitoring(), { type: "Respond", ...base(sw), response: "x" }, ctx),
      "WRONG_STATUS",
      /no open stage to respond to: the action plan agreed at Stage 1 is being monitored/,
    );
  });
});

describe("RecordMeeting", () => {
  const meeting = (actor = IRO, heldOn = "2026-05-22"): Command => ({
    type: "RecordMeeting",
    ...base(actor),
    heldOn,
    attendees: ["IRO", "Team Manager"],
    summary: "Agreed to convene a core group.",
  });

  it("is recorded by the raiser or the recipient", () => {
    expect(accepted(raised(), meeting(), ctx).currentStage?.meetings).toHaveLength(1);
    expect(accepted(raised(), meeting(manager("social_worker")), ctx).currentStage?.meetings).toHaveLength(1);
  });

  it("refuses anyone else", () => {
    expectRefused(
      decide(raised(), meeting(STRANGER), ctx),
      "NOT_PERMITTED",
      /only the current recipient \(Social Worker\) or the IRO/,
    );
  });

  it("refuses a meeting that has not happened yet", () => {
    expectRefused(
      decide(raised(), meeting(IRO, "2026-06-01"), ctx),
      "INVALID_COMMAND",
      /once it has taken place/,
    );
  });
});

describe("AgreeActionPlan", () => {
  it("leaves the stage, gives the actions ids and starts monitoring", () => {
    const state = monitoring();
    expect(state.status).toBe("monitoring");
    expect(state.currentStage).toBeNull();
    expect(state.lastExitedStageId).toBe("stage-1");
    expect(state.history.at(-1)).toMatchObject({ stageId: "stage-1", exit: "plan_agreed" });
    expect(state.actionPlan?.actions.map((a) => [a.id, a.status])).toEqual([
      ["action-1", "open"],
      ["action-2", "open"],
    ]);
  });

  it("refuses anyone but the recipient or the raiser, and needs an open stage", () => {
    const plan: Command = {
      type: "AgreeActionPlan",
      ...base(STRANGER),
      actions: [{ action: "x", byWhen: "2026-06-01", byWhom: "y" }],
    };
    expectRefused(
      decide(raised(), plan, ctx),
      "NOT_PERMITTED",
      /or the IRO who raised the challenge can record the action plan/,
    );
    expectRefused(decide(monitoring(), { ...plan, actor: IRO }, ctx), "WRONG_STATUS", /no open stage/);
  });
});

describe("MarkResolved", () => {
  const resolve = (actor = IRO): Command => ({
    type: "MarkResolved",
    ...base(actor),
    summary: "Plan back on track.",
  });

  it("resolves from an open stage, from monitoring and after the ladder", () => {
    const fromOpen = accepted(raised(), resolve(), ctx);
    expect(fromOpen).toMatchObject({
      status: "resolved",
      currentStage: null,
      resolvedAt: "2026-05-22T10:00:00.000Z",
    });
    expect(fromOpen.history.at(-1)).toMatchObject({ stageId: "informal", exit: "resolved" });
    expect(accepted(monitoring(), resolve(ISM), ctx).status).toBe("resolved");
    expect(accepted(exhausted(), resolve(), ctx).status).toBe("resolved");
  });

  it("refuses the recipient and finished challenges", () => {
    expectRefused(
      decide(raised(), resolve(manager("social_worker")), ctx),
      "NOT_PERMITTED",
      /only the IRO who raised this challenge \(or their service manager\)/,
    );
    const withdrawn = accepted(raised(), { type: "Withdraw", ...base(IRO), reason: "moved away" }, ctx);
    expectRefused(
      decide(withdrawn, resolve(), ctx),
      "WRONG_STATUS",
      /cannot be marked resolved: it was withdrawn/,
    );
  });
});

describe("Escalate", () => {
  it("moves to the next stage with the raiser's reasons", () => {
    const result = decide(raised(), { type: "Escalate", ...base(IRO), reasons: "No reply." }, ctx);
    const [escalated, opened] = eventsOf(result);
    expect(escalated?.type === "Escalated" && escalated.data).toEqual({
      fromStageId: "informal",
      toStageId: "stage-1",
      kind: "requested",
      reasons: "No reply.",
    });
    expect(opened?.type === "StageOpened" && opened.data).toMatchObject({
      stageId: "stage-1",
      via: "escalated",
    });
  });

  it("exhausts the ladder from the last stage", () => {
    const state = exhausted();
    expect(state).toMatchObject({
      status: "ladder_exhausted",
      currentStage: null,
      lastExitedStageId: "stage-3",
      highestStageIndex: 3,
    });
  });

  it("is the raiser's alone, and needs an open stage", () => {
    expectRefused(
      decide(raised(), { type: "Escalate", ...base(OTHER_IRO), reasons: "x" }, ctx),
      "NOT_PERMITTED",
      /only the IRO who raised this challenge can escalate it/,
    );
    expectRefused(
      decide(monitoring(), { type: "Escalate", ...base(IRO), reasons: "x" }, ctx),
      "WRONG_STATUS",
      /no open stage to escalate from/,
    );
  });

  it("refuses when nobody holds the next stage's role", () => {
    expectRefused(
      decide(
        raised(),
        { type: "Escalate", ...base(IRO), reasons: "x" },
        context(LATER, { vacant: ["team_manager"] }),
      ),
      "NO_RECIPIENT",
      /"Team Manager"/,
    );
  });
});

describe("Bypass", () => {
  const bypass = (toStageId: string, actor = IRO, safeguardingConcern?: boolean): Command => ({
    type: "Bypass",
    ...base(actor),
    toStageId,
    rationale: "Serious drift; the team manager is unavailable.",
    ...(safeguardingConcern === undefined ? {} : { safeguardingConcern }),
  });

  it("skips to a later stage, recorded as a bypass", () => {
    const result = decide(raised(), bypass("stage-2"), ctx);
    const [escalated, opened] = eventsOf(result);
    expect(escalated?.type === "Escalated" && escalated.data).toMatchObject({
      fromStageId: "informal",
      toStageId: "stage-2",
      kind: "bypass",
      safeguardingConcern: false,
    });
    expect(opened?.type === "StageOpened" && opened.data.via).toBe("bypassed");
  });

  it("refuses the same or an earlier stage, and the very next stage", () => {
    const at2 = atStage("stage-2");
    expectRefused(
      decide(at2, bypass("stage-2"), ctx),
      "NOT_A_BYPASS",
      /Stage 2 is not later than the current stage \(Stage 2\)/,
    );
    expectRefused(
      decide(at2, bypass("stage-1"), ctx),
      "NOT_A_BYPASS",
      /Stage 1 is not later than the current stage/,
    );
    expectRefused(
      decide(at2, bypass("stage-3"), ctx),
      "NOT_A_BYPASS",
      /next stage after Stage 2, so no stage is skipped: escalate/,
    );
  });

  it("refuses an unknown stage and anyone but the raiser", () => {
    expectRefused(decide(raised(), bypass("stage-7"), ctx), "UNKNOWN_STAGE", /no stage "stage-7"/);
    expectRefused(decide(raised(), bypass("stage-2", ISM), ctx), "NOT_PERMITTED", /only the IRO who raised/);
  });

  it("applies the raiser's bypass rule: a chair needs a safeguarding concern, stated now or when raising", () => {
    const cpc = accepted(
      initialState(ID),
      { ...raiseCommand({}, { raiserRole: "CPC" }), actor: CPC },
      context(RAISED_AT),
    );
    expectRefused(
      decide(cpc, bypass("stage-2", CPC), ctx),
      "BYPASS_NOT_ALLOWED",
      /only where there is a safeguarding concern/,
    );
    expect(decide(cpc, bypass("stage-2", CPC, true), ctx).ok).toBe(true);
    const cpcWithConcern = accepted(
      initialState(ID),
      { ...raiseCommand({ safeguardingConcern: true }, { raiserRole: "CPC" }), actor: CPC },
      context(RAISED_AT),
    );
    expect(decide(cpcWithConcern, bypass("stage-2", CPC), ctx).ok).toBe(true);
  });
});

describe("AutoEscalate", () => {
  const timer = (stageId = "informal"): Command => ({
    type: "AutoEscalate",
    ...base(TIMER, "timer"),
    stageId,
  });

  it("is refused before the deadline", () => {
    expectRefused(
      decide(raised(), timer(), context("2026-05-29T15:59:59Z")),
      "DEADLINE_NOT_PASSED",
      /the Social Worker has until Fri, 29 May 2026, 17:00 to respond to Informal/,
    );
  });

  it("escalates when the deadline passes with no response", () => {
    const { state, events } = step(raised(), timer(), context(AFTER_INFORMAL_DEADLINE));
    expect(events.map((e) => e.type)).toEqual(["Escalated", "StageOpened"]);
    expect(events[0]?.type === "Escalated" && events[0].data.kind).toBe("no_response");
    expect(events.every((e) => e.actor.role === "system" && e.channel === "timer")).toBe(true);
    expect(state).toMatchObject({
      autoEscalations: 1,
      currentStage: { stageId: "stage-1", via: "auto_escalated" },
    });
  });

  it("does nothing for a stage already left", () => {
    const moved = accepted(raised(), { type: "Escalate", ...base(IRO), reasons: "x" }, ctx);
    expectRefused(
      decide(moved, timer("informal"), context(AFTER_INFORMAL_DEADLINE)),
      "WRONG_STATUS",
      /nothing to do: stage "informal" is no longer open/,
    );
    expectRefused(
      decide(monitoring(), timer("stage-1"), context("2026-07-01T12:00:00Z")),
      "WRONG_STATUS",
      /nothing to do/,
    );
  });

  it("a holding reply does not disarm the deadline: with no rule given, the raiser is asked to decide within a working day", () => {
    const answered = accepted(
      raised(),
      { type: "Respond", ...base(manager("social_worker")), response: "We will look at it next month." },
      ctx,
    );
    const { state, events } = step(answered, timer(), context(AFTER_INFORMAL_DEADLINE));
    expect(events.map((e) => e.type)).toEqual(["RaiserAlerted"]);
    // Fri 29 May 17:00 + 1 working day = Mon 1 June 17:00 London.
    expect(events[0]?.data).toEqual({
      stageId: "informal",
      reason: "no_resolution",
      decideBy: "2026-06-01T16:00:00.000Z",
    });
    expect(state.currentStage).toMatchObject({
      raiserAlertReason: "no_resolution",
      raiserDecisionBy: "2026-06-01T16:00:00.000Z",
    });
    expectRefused(
      decide(state, timer(), context("2026-06-01T15:59:59Z")),
      "DEADLINE_NOT_PASSED",
      /the IRO has until Mon, 1 Jun 2026, 17:00 to resolve the challenge or escalate it/,
    );
    const after = step(state, timer(), context("2026-06-01T16:00:00Z"));
    expect(after.events.map((e) => e.type)).toEqual(["Escalated", "StageOpened"]);
    const escalated = after.events[0];
    expect(escalated?.type === "Escalated" && escalated.data).toMatchObject({
      kind: "no_response",
      timedOut: "raiser_did_not_decide",
      toStageId: "stage-1",
    });
    expect(escalated?.type === "Escalated" && escalated.data.reasons).toMatch(
      /was answered but not resolved by its deadline.*asked on .* to resolve it or escalate it with reasons by Mon, 1 Jun 2026, 17:00 and did neither/,
    );
    expect(after.state.currentStage).toMatchObject({ stageId: "stage-1", via: "auto_escalated" });
  });

  it("the raiser's own decision ends the wait: escalating or resolving leaves nothing for the timer", () => {
    const answered = accepted(
      raised(),
      { type: "Respond", ...base(manager("social_worker")), response: "Holding reply." },
      ctx,
    );
    const asked = accepted(answered, timer(), context(AFTER_INFORMAL_DEADLINE));
    const resolved = accepted(
      asked,
      { type: "MarkResolved", ...base(IRO), summary: "Agreed on the phone." },
      context("2026-06-01T10:00:00Z"),
    );
    expectRefused(
      decide(resolved, timer(), context("2026-06-02T10:00:00Z")),
      "WRONG_STATUS",
      /nothing to do/,
    );
    const escalated = accepted(
      asked,
      { type: "Escalate", ...base(IRO), reasons: "The plan is still not progressing." },
      context("2026-06-01T10:00:00Z"),
    );
    expect(escalated.currentStage).toMatchObject({ stageId: "stage-1", via: "escalated" });
    expectRefused(
      decide(escalated, timer("informal"), context("2026-06-02T10:00:00Z")),
      "WRONG_STATUS",
      /no longer open/,
    );
  });

  it("a stage whose no-resolution rule is escalate escalates at the deadline despite a response, and says why", () => {
    const at1 = atStage("stage-1");
    const deadline = at1.currentStage?.deadline ?? "";
    const answered = accepted(
      at1,
      { type: "Respond", ...base(manager("team_manager")), response: "Looking into it." },
      context(new Date(Date.parse(deadline) - 3_600_000).toISOString()),
    );
    const { events } = step(answered, timer("stage-1"), context(deadline));
    expect(events.map((e) => e.type)).toEqual(["Escalated", "StageOpened"]);
    const escalated = events[0];
    expect(escalated?.type === "Escalated" && escalated.data.timedOut).toBe("no_resolution");
    expect(escalated?.type === "Escalated" && escalated.data.reasons).toMatch(
      /responded to Stage 1 on .* but it was not resolved by the deadline.*stage 1 no-resolution citation/,
    );
  });

  it("the raiser's decision window is the stage's own when it sets one", () => {
    const at2 = atStage("stage-2");
    const deadline = at2.currentStage?.deadline ?? "";
    const answered = accepted(
      at2,
      { type: "Respond", ...base(manager("service_manager")), response: "Holding." },
      context(new Date(Date.parse(deadline) - 3_600_000).toISOString()),
    );
    const { events } = step(answered, timer("stage-2"), context(deadline));
    const alerted = events[0];
    const decideBy = alerted?.type === "RaiserAlerted" ? alerted.data.decideBy : undefined;
    expect(decideBy).toBe(
      calendar.windowEnd(new Date(deadline), { length: 2, unit: "working_days" }).toISOString(),
    );
  });

  it("is the timer's alone", () => {
    expectRefused(
      decide(raised(), { ...timer(), actor: IRO }, context(AFTER_INFORMAL_DEADLINE)),
      "NOT_PERMITTED",
      /workflow's timer only/,
    );
    expectRefused(
      decide(raised(), { ...timer(), channel: "api" }, context(AFTER_INFORMAL_DEADLINE)),
      "NOT_PERMITTED",
      /timer/,
    );
  });

  it("alerts the raiser, once, where the stage says so", () => {
    const at3 = atStage("stage-3");
    const late = context("2026-06-20T12:00:00Z");
    const { state, events } = step(at3, timer("stage-3"), late);
    expect(events.map((e) => e.type)).toEqual(["RaiserAlerted"]);
    expect(state.currentStage).toMatchObject({
      stageId: "stage-3",
      raiserAlertedAt: "2026-06-20T12:00:00.000Z",
    });
    expect(state.status).toBe("open");
    expectRefused(decide(state, timer("stage-3"), late), "WRONG_STATUS", /already told/);
  });

  it("exhausts the ladder when the last stage escalates on no response", () => {
    const lac = accepted(initialState(ID), raiseCommand({}, { track: "LAC" }), context(RAISED_AT));
    let state = lac;
    for (const [stageId, now] of [
      ["lac-1", "2026-06-01T09:00:00Z"],
      ["lac-2", "2026-06-09T09:00:00Z"],
      ["lac-3", "2026-06-17T09:00:00Z"],
    ] as const) {
      state = accepted(state, timer(stageId), context(now));
    }
    expect(state).toMatchObject({ status: "ladder_exhausted", autoEscalations: 3, highestStageIndex: 2 });
    expect(state.history.map((v) => v.exit)).toEqual(["no_response", "no_response", "no_response"]);
  });
});

describe("SendReminder", () => {
  const remind = (stageId = "informal"): Command => ({
    type: "SendReminder",
    ...base(TIMER, "timer"),
    stageId,
  });
  // The informal stage is due Fri 29 May 2026 17:00 BST; the test protocol reminds one working day before.
  const REMINDER_TIME = "2026-05-28T16:00:00Z"; // Thu 28 May 17:00 BST
  const noReminders = parseProtocol({ ...testProtocol, reminderWorkingDaysBeforeDeadline: 0 });

  it("is refused before the reminder time: one working day before the deadline, at the deadline's time of day", () => {
    expectRefused(
      decide(raised(), remind(), context("2026-05-28T15:59:59Z")),
      "DEADLINE_NOT_PASSED",
      /the Social Worker is reminded about Informal at Thu, 28 May 2026, 17:00, 1 working day before the deadline \(Fri, 29 May 2026, 17:00\)/,
    );
  });

  it("records the reminder from the reminder time until the deadline, as the timer, once", () => {
    const { state, events } = step(raised(), remind(), context(REMINDER_TIME));
    expect(events).toEqual([
      expect.objectContaining({
        type: "ReminderSent",
        actor: TIMER,
        channel: "timer",
        data: { stageId: "informal", deadline: "2026-05-29T16:00:00.000Z" },
      }),
    ]);
    expect(state.currentStage).toMatchObject({ stageId: "informal", remindedAt: "2026-05-28T16:00:00.000Z" });
    expect(state.status).toBe("open");
    expectRefused(
      decide(state, remind(), context("2026-05-29T09:00:00Z")),
      "WRONG_STATUS",
      /nothing to do: the Social Worker was already reminded about Informal on Thu, 28 May 2026, 17:00/,
    );
    // Up to the last moment before the deadline.
    expect(decide(raised(), remind(), context("2026-05-29T15:59:59Z")).ok).toBe(true);
    // The deadline still runs: the reminder changes nothing else.
    expect(
      decide(
        state,
        { type: "AutoEscalate", ...base(TIMER, "timer"), stageId: "informal" },
        context(AFTER_INFORMAL_DEADLINE),
      ).ok,
    ).toBe(true);
  });

  it("is refused once the deadline has passed: the no-response rule applies instead", () => {
    expectRefused(
      decide(raised(), remind(), context(AFTER_INFORMAL_DEADLINE)),
      "WRONG_STATUS",
      /too late for a reminder: the deadline for Informal, Fri, 29 May 2026, 17:00, has passed/,
    );
  });

  it("does nothing once the recipient responded, or for a stage already left", () => {
    const answered = accepted(
      raised(),
      { type: "Respond", ...base(manager("social_worker")), response: "Booked." },
      ctx,
    );
    expectRefused(
      decide(answered, remind(), context(REMINDER_TIME)),
      "WRONG_STATUS",
      /responded to Informal on/,
    );
    const moved = accepted(raised(), { type: "Escalate", ...base(IRO), reasons: "x" }, ctx);
    expectRefused(
      decide(moved, remind("informal"), context(REMINDER_TIME)),
      "WRONG_STATUS",
      /nothing to do: stage "informal" is no longer open \(the challenge is now at Stage 1/,
    );
    expectRefused(
      decide(monitoring(), remind("stage-1"), context(REMINDER_TIME)),
      "WRONG_STATUS",
      /nothing to do: stage "stage-1" is no longer open/,
    );
  });

  it("reminds again at the next stage: each stage visit has its own reminder", () => {
    const reminded = accepted(raised(), remind(), context(REMINDER_TIME));
    const escalated = accepted(
      reminded,
      { type: "AutoEscalate", ...base(TIMER, "timer"), stageId: "informal" },
      context(AFTER_INFORMAL_DEADLINE),
    );
    expect(escalated.currentStage).toMatchObject({ stageId: "stage-1" });
    expect(escalated.currentStage?.remindedAt).toBeUndefined();
    // Stage 1 opened Fri 29 May 17:00: due Fri 5 June 17:00, reminded Thu 4 June 17:00.
    expect(escalated.currentStage?.deadline).toBe("2026-06-05T16:00:00.000Z");
    expectRefused(
      decide(escalated, remind("stage-1"), context("2026-06-04T15:00:00Z")),
      "DEADLINE_NOT_PASSED",
      /Stage 1/,
    );
    expect(decide(escalated, remind("stage-1"), context("2026-06-04T16:00:00Z")).ok).toBe(true);
  });

  it("is refused where the protocol sends no reminders", () => {
    const state = accepted(initialState(ID), raiseCommand(), context(RAISED_AT, { protocol: noReminders }));
    expectRefused(
      decide(state, remind(), context(REMINDER_TIME, { protocol: noReminders })),
      "NOT_PERMITTED",
      /this protocol \(Test Challenge Protocol\) sends no reminders before a deadline/,
    );
  });

  it("is refused when the reminder time came before the stage opened: the opening email is the reminder", () => {
    const early = parseProtocol({ ...testProtocol, reminderWorkingDaysBeforeDeadline: 5 });
    // Opened Thu 21 May at 18:30 BST, after close of business: due Fri 29 May 17:00, so five
    // working days before is Thu 21 May 17:00, before it opened.
    const late = accepted(
      initialState(ID),
      raiseCommand(),
      context("2026-05-21T17:30:00Z", { protocol: early }),
    );
    expectRefused(
      decide(late, remind(), context("2026-05-22T09:00:00Z", { protocol: early })),
      "WRONG_STATUS",
      /after its reminder time .* so the email that opened it is the reminder/,
    );
    // Opened the same morning, the reminder falls due at 17:00 that day.
    const morning = accepted(initialState(ID), raiseCommand(), context(RAISED_AT, { protocol: early }));
    expect(decide(morning, remind(), context("2026-05-21T16:00:00Z", { protocol: early })).ok).toBe(true);
  });

  it("is the timer's alone", () => {
    expectRefused(
      decide(raised(), { ...remind(), actor: IRO }, context(REMINDER_TIME)),
      "NOT_PERMITTED",
      /workflow's timer only/,
    );
    expectRefused(
      decide(raised(), { ...remind(), channel: "api" }, context(REMINDER_TIME)),
      "NOT_PERMITTED",
      /timer/,
    );
  });
});

describe("RecordActionsDue", () => {
  const due = (...actionIds: string[]): Command => ({
    type: "RecordActionsDue",
    ...base(TIMER, "timer"),
    actionIds,
  });
  // The plan's actions: action-1 by Fri 5 June 2026, action-2 by Wed 10 June.
  const SAT_6_JUNE = "2026-06-05T23:00:00Z"; // 00:00 BST: 5 June has passed in London

  it("is refused until the agreed date has passed in London", () => {
    expectRefused(
      decide(monitoring(), due("action-1"), context("2026-06-05T22:59:59Z")),
      "DEADLINE_NOT_PASSED",
      /the action "Hold a core group" is due by Fri,? 5 Jun 2026: it falls due once that day has passed, and today is Fri,? 5 Jun 2026/,
    );
    expectRefused(
      decide(monitoring(), due("action-1", "action-2"), context(SAT_6_JUNE)),
      "DEADLINE_NOT_PASSED",
      /Visit the child/,
    );
  });

  it("records the actions that fell due, as the timer, so the raiser is asked about each once", () => {
    const { state, events } = step(monitoring(), due("action-1"), context(SAT_6_JUNE));
    expect(events).toEqual([
      expect.objectContaining({
        type: "ActionsFellDue",
        actor: TIMER,
        channel: "timer",
        data: { actionIds: ["action-1"] },
      }),
    ]);
    expect(state.status).toBe("monitoring");
    expect(state.actionPlan?.actions).toMatchObject([
      { id: "action-1", status: "open", dueNotifiedAt: "2026-06-05T23:00:00.000Z" },
      { id: "action-2", status: "open" },
    ]);
    expect(state.actionPlan?.actions[1]?.dueNotifiedAt).toBeUndefined();
    expectRefused(
      decide(state, due("action-1"), context("2026-06-12T09:00:00Z")),
      "WRONG_STATUS",
      /nothing to do: the IRO was already asked on Sat, 6 Jun 2026, 00:00 whether the action "Hold a core group" was done/,
    );
    // The next one, later; the first can still be recorded as done or not done.
    const both = accepted(state, due("action-2"), context("2026-06-11T08:00:00Z"));
    expect(both.actionPlan?.actions.every((a) => a.dueNotifiedAt !== undefined)).toBe(true);
    expect(decide(both, { type: "CompleteAction", ...base(IRO), actionId: "action-1" }, ctx).ok).toBe(true);
  });

  it("records several at once", () => {
    const { events } = step(monitoring(), due("action-2", "action-1"), context("2026-06-11T08:00:00Z"));
    expect(events[0]?.data).toEqual({ actionIds: ["action-2", "action-1"] });
  });

  it("does nothing for actions already recorded as done or not done", () => {
    const done = accepted(monitoring(), { type: "CompleteAction", ...base(IRO), actionId: "action-1" }, ctx);
    expectRefused(
      decide(done, due("action-1"), context(SAT_6_JUNE)),
      "WRONG_STATUS",
      /nothing to do: the action "Hold a core group" was already recorded as done/,
    );
    const missed = accepted(
      monitoring(),
      { type: "MissAction", ...base(IRO), actionId: "action-1", note: "No." },
      ctx,
    );
    expectRefused(
      decide(missed, due("action-1"), context(SAT_6_JUNE)),
      "WRONG_STATUS",
      /recorded as not done/,
    );
  });

  it("refuses unknown, repeated or no actions, and any challenge not being monitored", () => {
    expectRefused(
      decide(monitoring(), due("action-9"), context(SAT_6_JUNE)),
      "UNKNOWN_ACTION",
      /no action "action-9"/,
    );
    expectRefused(
      decide(monitoring(), due("action-1", "action-1"), context(SAT_6_JUNE)),
      "INVALID_COMMAND",
      /listed more than once/,
    );
    expectRefused(decide(monitoring(), due(), context(SAT_6_JUNE)), "INVALID_COMMAND", /actionIds/);
    expectRefused(
      decide(raised(), due("action-1"), context(SAT_6_JUNE)),
      "WRONG_STATUS",
      /nothing to do: actions fall due only while an action plan is being monitored: Informal is open/,
    );
    const reopened = accepted(monitoring(), { type: "Reopen", ...base(IRO), reason: "Not working." }, ctx);
    expectRefused(decide(reopened, due("action-1"), context(SAT_6_JUNE)), "WRONG_STATUS", /being monitored/);
  });

  it("is the timer's alone", () => {
    expectRefused(
      decide(monitoring(), { ...due("action-1"), actor: IRO }, context(SAT_6_JUNE)),
      "NOT_PERMITTED",
      /workflow's timer only/,
    );
    expectRefused(
      decide(monitoring(), { ...due("action-1"), channel: "email" }, context(SAT_6_JUNE)),
      "NOT_PERMITTED",
      /timer/,
    );
  });
});

describe("RequestReferral and ApproveReferral", () => {
  const request = (
    kind: "cafcass" | "partnership",
    attestations: string[] = ["legal_advice"],
    actor = IRO,
  ): Command => ({
    type: "RequestReferral",
    ...base(actor),
    kind,
    rationale: "Acute concern; escalation would cause undue delay.",
    attestations,
  });
  const approve = (approverRole: string, actor = manager("iro_service_manager")): Command => ({
    type: "ApproveReferral",
    ...base(actor),
    kind: "cafcass",
    approverRole,
  });

  it("waits for every approval the protocol names, then makes the referral", () => {
    const requested = accepted(raised(), request("cafcass"), ctx);
    expect(requested.referrals).toEqual([
      {
        kind: "cafcass",
        status: "awaiting_approval",
        requestedAt: "2026-05-22T10:00:00.000Z",
        approvalsNeeded: testProtocol.tracks.CP?.cafcass?.approvalBy,
        approvedBy: [],
      },
    ]);
    const first = step(requested, approve("iro_service_manager"), ctx);
    expect(first.events.map((e) => e.type)).toEqual(["ReferralApproved"]);
    expectRefused(
      decide(first.state, approve("iro_service_manager"), ctx),
      "WRONG_STATUS",
      /IRO Service Manager has already approved/,
    );
    const second = step(first.state, approve("head_of_safeguarding", manager("head_of_safeguarding")), ctx);
    expect(second.events.map((e) => e.type)).toEqual(["ReferralApproved", "ReferralMade"]);
    const made = second.events[1];
    expect(made?.type === "ReferralMade" && made.data).toEqual({
      kind: "cafcass",
      recipient: { role: "cafcass", title: "Cafcass" },
      documents: ["The care plan"],
    });
    expect(second.state.referrals[0]).toMatchObject({
      status: "made",
      approvedBy: ["iro_service_manager", "head_of_safeguarding"],
    });
  });

  it("makes the referral at once where no approval is needed", () => {
    const lac = accepted(initialState(ID), raiseCommand({}, { track: "LAC" }), context(RAISED_AT));
    const { events, state } = step(lac, request("cafcass", []), ctx);
    expect(events.map((e) => e.type)).toEqual(["ReferralRequested", "ReferralMade"]);
    expect(state.status).toBe("open");
  });

  it("names the statement that was not confirmed, and refuses statements the protocol does not ask for", () => {
    expectRefused(
      decide(raised(), request("cafcass", []), ctx),
      "ATTESTATION_MISSING",
      /you must confirm: "Independent legal advice has been sought"/,
    );
    expectRefused(
      decide(raised(), request("cafcass", ["legal_advice", "coffee"]), ctx),
      "INVALID_COMMAND",
      /"coffee" is not a statement/,
    );
  });

  it("refuses a referral the track does not offer, or a raiser role it is not for", () => {
    const lac = accepted(initialState(ID), raiseCommand({}, { track: "LAC" }), context(RAISED_AT));
    expectRefused(
      decide(lac, request("partnership", []), ctx),
      "REFERRAL_NOT_AVAILABLE",
      /LAC process in this protocol has no referral to the safeguarding partnership/,
    );
    const cpc = accepted(
      initialState(ID),
      { ...raiseCommand({}, { raiserRole: "CPC" }), actor: CPC },
      context(RAISED_AT),
    );
    expectRefused(
      decide(cpc, request("cafcass", ["legal_advice"], CPC), ctx),
      "NOT_PERMITTED",
      /referral to Cafcass is made by the IRO, not the CP Chair .*Discuss next steps with your Service Manager/,
    );
    expectRefused(
      decide(raised(), request("cafcass", ["legal_advice"], OTHER_IRO), ctx),
      "NOT_PERMITTED",
      /only the IRO who raised/,
    );
  });

  it("keeps an after-the-last-stage referral until the ladder is exhausted", () => {
    expectRefused(
      decide(raised(), request("partnership", []), ctx),
      "REFERRAL_NOT_AVAILABLE",
      /only after the last stage, Stage 3 \(Head of Service\), has been tried without resolution .*Informal is open and waiting for the Social Worker/,
    );
    const { events } = step(exhausted(), request("partnership", []), ctx);
    expect(events.map((e) => e.type)).toEqual(["ReferralRequested", "ReferralMade"]);
  });

  it("refuses a second referral of the same kind and a finished challenge", () => {
    const requested = accepted(raised(), request("cafcass"), ctx);
    expectRefused(
      decide(requested, request("cafcass"), ctx),
      "WRONG_STATUS",
      /already requested .* waiting for approval/,
    );
    const withdrawn = accepted(raised(), { type: "Withdraw", ...base(IRO), reason: "x" }, ctx);
    expectRefused(
      decide(withdrawn, request("cafcass"), ctx),
      "WRONG_STATUS",
      /cannot be made now: it was withdrawn/,
    );
  });

  it("refuses approvals from the wrong people or for roles the protocol does not name", () => {
    const requested = accepted(raised(), request("cafcass"), ctx);
    expectRefused(
      decide(requested, approve("iro_service_manager", OTHER_IRO), ctx),
      "NOT_PERMITTED",
      /approved by IRO Service Manager and Head of Safeguarding, not by someone signed in as IRO/,
    );
    expectRefused(
      decide(requested, approve("director"), ctx),
      "NOT_PERMITTED",
      /"director" is not one of them/,
    );
    expectRefused(
      decide(raised(), approve("iro_service_manager"), ctx),
      "WRONG_STATUS",
      /nothing to approve/,
    );
  });

  it("stops the escalation once a referral that replaces it is made, but the recipient may still respond", () => {
    let state = accepted(raised(), request("cafcass"), ctx);
    state = accepted(state, approve("iro_service_manager"), ctx);
    state = accepted(state, approve("head_of_safeguarding", manager("head_of_safeguarding")), ctx);
    expectRefused(
      decide(state, { type: "Escalate", ...base(IRO), reasons: "x" }, ctx),
      "WRONG_STATUS",
      /escalation stopped when the referral to Cafcass was made/,
    );
    expectRefused(
      decide(
        state,
        { type: "AutoEscalate", ...base(TIMER, "timer"), stageId: "informal" },
        context(AFTER_INFORMAL_DEADLINE),
      ),
      "WRONG_STATUS",
      /escalation stopped/,
    );
    expect(
      decide(state, { type: "Respond", ...base(manager("social_worker")), response: "Noted." }, ctx).ok,
    ).toBe(true);
  });

  it("lets the escalation continue alongside a concurrent referral", () => {
    const lac = accepted(initialState(ID), raiseCommand({}, { track: "LAC" }), context(RAISED_AT));
    const referred = accepted(lac, request("cafcass", []), ctx);
    expect(decide(referred, { type: "Escalate", ...base(IRO), reasons: "x" }, ctx).ok).toBe(true);
  });
});

describe("CompleteAction and MissAction", () => {
  it("lets the raiser or the plan stage's manager record actions, once each", () => {
    let state = accepted(
      monitoring(),
      { type: "CompleteAction", ...base(IRO), actionId: "action-1", note: "Held." },
      ctx,
    );
    expect(state.actionPlan?.actions[0]).toMatchObject({ status: "completed", note: "Held." });
    state = accepted(
      state,
      { type: "MissAction", ...base(manager("team_manager")), actionId: "action-2", note: "Not visited." },
      ctx,
    );
    expect(state.actionPlan?.actions[1]).toMatchObject({ status: "missed", note: "Not visited." });
    expectRefused(
      decide(state, { type: "CompleteAction", ...base(IRO), actionId: "action-2" }, ctx),
      "WRONG_STATUS",
      /already recorded as not done/,
    );
  });

  it("refuses others and unknown actions", () => {
    expectRefused(
      decide(monitoring(), { type: "CompleteAction", ...base(STRANGER), actionId: "action-1" }, ctx),
      "NOT_PERMITTED",
      /IRO who raised the challenge or the Team Manager who agreed the plan/,
    );
    expectRefused(
      decide(monitoring(), { type: "CompleteAction", ...base(IRO), actionId: "action-9" }, ctx),
      "UNKNOWN_ACTION",
      /no action "action-9"/,
    );
    expectRefused(
      decide(raised(), { type: "MissAction", ...base(IRO), actionId: "action-1", note: "x" }, ctx),
      "UNKNOWN_ACTION",
      /no action plan has been agreed/,
    );
  });
});

describe("Reopen", () => {
  const reopen = (actor = IRO): Command => ({
    type: "Reopen",
    ...base(actor),
    reason: "The core group did not meet.",
  });

  it("reopens at the stage last exited with a fresh deadline", () => {
    const missed = accepted(
      monitoring(),
      { type: "MissAction", ...base(IRO), actionId: "action-1", note: "No core group." },
      ctx,
    );
    const now = context("2026-06-08T09:00:00Z");
    const { state, events } = step(missed, reopen(), now);
    expect(events.map((e) => e.type)).toEqual(["Reopened", "StageOpened"]);
    expect(state).toMatchObject({
      status: "open",
      currentStage: {
        stageId: "stage-1",
        via: "reopened",
        openedAt: "2026-06-08T09:00:00.000Z",
        deadline: "2026-06-15T16:00:00.000Z",
      },
    });
  });

  it("follows the stage's reopen-at rule", () => {
    const state = accepted(monitoring("stage-3"), reopen(), ctx);
    expect(state.currentStage?.stageId).toBe("stage-2");
  });

  it("reopens a resolved challenge and clears its resolution", () => {
    const resolved = accepted(raised(), { type: "MarkResolved", ...base(IRO), summary: "ok" }, ctx);
    const state = accepted(resolved, reopen(), ctx);
    expect(state.status).toBe("open");
    expect(state.resolvedAt).toBeUndefined();
    expect(state.currentStage?.stageId).toBe("informal");
  });

  it("says where it was reopened from: monitoring (the workflow's run goes on) or resolved (a new run)", () => {
    const fromMonitoring = step(monitoring(), reopen(), ctx).events[0];
    expect(fromMonitoring?.type === "Reopened" && fromMonitoring.data).toEqual({
      atStageId: "stage-1",
      reason: "The core group did not meet.",
      fromStatus: "monitoring",
    });
    const resolved = accepted(raised(), { type: "MarkResolved", ...base(IRO), summary: "ok" }, ctx);
    const { events, state } = step(resolved, reopen(), ctx);
    const fromResolved = events[0];
    expect(fromResolved?.type === "Reopened" && fromResolved.data.fromStatus).toBe("resolved");
    // The seq of that Reopened event names the new run's execution (functions/workflow/tasks.ts).
    expect(fromResolved?.seq).toBe(resolved.version + 1);
    expect(state.status).toBe("open");
  });

  it("refuses while a stage is open and for anyone but the raiser", () => {
    expectRefused(
      decide(raised(), reopen(), ctx),
      "WRONG_STATUS",
      /only a challenge being monitored or resolved can be reopened: Informal is open and waiting for the Social Worker/,
    );
    expectRefused(
      decide(monitoring(), reopen(ISM), ctx),
      "NOT_PERMITTED",
      /only the IRO who raised this challenge can reopen it/,
    );
  });
});

describe("NoteDifference", () => {
  const note = (actor = IRO): Command => ({
    type: "NoteDifference",
    ...base(actor),
    summary: "IRO maintains that a placement move is needed.",
  });

  it("is noted after the last stage, naming who decides", () => {
    const { state, events } = step(exhausted(), note(), ctx);
    expect(events[0]?.type === "DifferenceNoted" && events[0].data.decidedBy).toEqual({
      role: "assistant_director",
      title: "Assistant Director",
    });
    expect(state.differences).toHaveLength(1);
    expect(state.status).toBe("ladder_exhausted");
  });

  it("is refused before the end of the ladder, where the track has no such step, and for others", () => {
    expectRefused(decide(raised(), note(), ctx), "WRONG_STATUS", /only once every stage has been tried/);
    expectRefused(decide(exhausted(), note(OTHER_IRO), ctx), "NOT_PERMITTED", /only the IRO who raised/);
    const lac = accepted(initialState(ID), raiseCommand({}, { track: "LAC" }), context(RAISED_AT));
    expectRefused(
      decide(lac, note(), ctx),
      "NOT_PERMITTED",
      /LAC process in this protocol has no step for noting a difference/,
    );
  });
});

describe("Withdraw", () => {
  const withdraw = (actor = IRO): Command => ({
    type: "Withdraw",
    ...base(actor),
    reason: "Child moved to another authority.",
  });

  it("ends the challenge and the open stage", () => {
    const state = accepted(raised(), withdraw(), ctx);
    expect(state).toMatchObject({ status: "withdrawn", currentStage: null });
    expect(state.history.at(-1)).toMatchObject({ stageId: "informal", exit: "withdrawn" });
  });

  it("is refused once finished and for anyone but the raiser", () => {
    const resolved = accepted(raised(), { type: "MarkResolved", ...base(IRO), summary: "ok" }, ctx);
    expectRefused(
      decide(resolved, withdraw(), ctx),
      "WRONG_STATUS",
      /cannot be withdrawn: it was resolved on/,
    );
    expectRefused(
      decide(raised(), withdraw(ISM), ctx),
      "NOT_PERMITTED",
      /only the IRO who raised this challenge can withdraw it/,
    );
  });
});

describe("Close", () => {
  const close = (actor = IRO): Command => ({ type: "Close", ...base(actor), summary: "Outcomes achieved." });

  it("closes a resolved or exhausted challenge, by the raiser or their service manager", () => {
    const resolved = accepted(raised(), { type: "MarkResolved", ...base(IRO), summary: "ok" }, ctx);
    expect(accepted(resolved, close(ISM), ctx)).toMatchObject({
      status: "closed",
      closedAt: "2026-05-22T10:00:00.000Z",
    });
    expect(accepted(exhausted(), close(), ctx).status).toBe("closed");
  });

  it("closes a monitored challenge only when every action is recorded", () => {
    expectRefused(decide(monitoring(), close(), ctx), "WRONG_STATUS", /2 agreed actions are still open/);
    let state = accepted(monitoring(), { type: "CompleteAction", ...base(IRO), actionId: "action-1" }, ctx);
    state = accepted(state, { type: "CompleteAction", ...base(IRO), actionId: "action-2" }, ctx);
    expect(accepted(state, close(), ctx).status).toBe("closed");
  });

  it("is refused while a stage is open, once closed, and for others", () => {
    expectRefused(
      decide(raised(), close(), ctx),
      "WRONG_STATUS",
      /cannot be closed yet: Informal is open and waiting for the Social Worker/,
    );
    const closed = accepted(exhausted(), close(), ctx);
    expectRefused(decide(closed, close(), ctx), "WRONG_STATUS", /it was closed on/);
    expectRefused(decide(exhausted(), close(STRANGER), ctx), "NOT_PERMITTED", /can close it/);
  });
});

describe("ShortenDeadline", () => {
  const shorten = (actor = IRO, length = 2, stageId = "informal"): Command => ({
    type: "ShortenDeadline",
    ...base(actor),
    stageId,
    window: { length, unit: "working_days" },
    reason: "The child is two months old: the plan cannot wait a week.",
  });

  it("brings the open stage's deadline forward, counted from when it opened, recording who and why", () => {
    // Raised Thu 21 May 09:00; 5 working days: Fri 29 May 17:00 (Mon 25 May is a bank holiday).
    const state = raised();
    expect(state.currentStage?.deadline).toBe("2026-05-29T16:00:00.000Z");
    const { state: after, events } = step(state, shorten(), ctx);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      type: "DeadlineShortened",
      actor: IRO,
      data: {
        stageId: "informal",
        // 2 working days from Thu 21 May: Fri 22, (Mon 25 bank holiday), Tue 26 May 17:00.
        deadline: "2026-05-26T16:00:00.000Z",
        previousDeadline: "2026-05-29T16:00:00.000Z",
        window: { length: 2, unit: "working_days" },
        reason: "The child is two months old: the plan cannot wait a week.",
      },
    });
    expect(after.currentStage?.deadline).toBe("2026-05-26T16:00:00.000Z");
    // The timer now applies the rule at the new deadline.
    expect(
      decide(
        after,
        { type: "AutoEscalate", ...base(TIMER, "timer"), stageId: "informal" },
        context("2026-05-26T16:00:00Z"),
      ).ok,
    ).toBe(true);
  });

  it("may be asked by the IRO service manager, not by the recipient or anyone else", () => {
    expect(decide(raised(), shorten(ISM), ctx).ok).toBe(true);
    expectRefused(
      decide(raised(), shorten(manager("social_worker")), ctx),
      "NOT_PERMITTED",
      /only the IRO who raised/,
    );
    expectRefused(decide(raised(), shorten(STRANGER), ctx), "NOT_PERMITTED", /only the IRO who raised/);
  });

  it("refuses a window that would not shorten, one already over, a stage not open, and after the deadline", () => {
    expectRefused(
      decide(raised(), shorten(IRO, 5), ctx),
      "INVALID_COMMAND",
      /not earlier than the current deadline/,
    );
    expectRefused(
      decide(raised(), shorten(IRO, 1), context("2026-05-22T17:00:00Z")),
      "INVALID_COMMAND",
      /which has passed/,
    );
    expectRefused(decide(raised(), shorten(IRO, 2, "stage-1"), ctx), "WRONG_STATUS", /is not open/);
    expectRefused(
      decide(raised(), shorten(IRO, 2), context("2026-05-29T16:00:00Z")),
      "WRONG_STATUS",
      /has already passed/,
    );
  });

  it("shortens in calendar days and weeks too", () => {
    const days = { ...shorten(), window: { length: 3, unit: "calendar_days" as const } };
    const { events } = step(raised(), days, ctx);
    // Thu 21 May + 3 calendar days: Sun 24 May 17:00 London.
    expect(events[0]?.type === "DeadlineShortened" && events[0].data.deadline).toBe(
      "2026-05-24T16:00:00.000Z",
    );
  });
});
