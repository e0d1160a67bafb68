import { describe, expect, it } from "vitest";
import { decide } from "../../../../functions/domain/challenge/decide.js";
import { evolve } from "../../../../functions/domain/challenge/evolve.js";
import type { ChallengeState } from "../../../../functions/domain/challenge/state.js";
import { IRO, ISM, accepted, base, context, eventsOf, expectRefused, raised } from "./fixtures.js";
import { ID } from "./fixtures.js";

const ctx = context(new Date("2026-06-01T10:00:00Z"));
const place = (reason = "Disclosure requested in care proceedings") =>
  ({ type: "SetLegalHold", ...base(ISM), hold: true, reason }) as const;
const lift = (reason = "Proceedings concluded") =>
  ({ type: "SetLegalHold", ...base(ISM), hold: false, reason }) as const;

describe("SetLegalHold", () => {
  it("places a hold, recording the person and the reason", () => {
    const events = eventsOf(decide(raised(), place(), ctx));
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      type: "LegalHoldPlaced",
      challengeId: ID,
      actor: ISM,
      data: { reason: "Disclosure requested in care proceedings" },
    });
    const held = events.reduce(evolve, raised());
    expect(held.legalHold).toEqual({
      since: "2026-06-01T10:00:00.000Z",
      by: ISM.id,
      reason: "Disclosure requested in care proceedings",
    });
  });

  it("lifts a hold, leaving the state without one", () => {
    const held: ChallengeState = accepted(raised(), place(), ctx);
    const events = eventsOf(decide(held, lift(), ctx));
    expect(events.map((e) => e.type)).toEqual(["LegalHoldLifted"]);
    expect(events.reduce(evolve, held).legalHold).toBeUndefined();
  });

  it("never acts twice: a repeated placement or lift is refused, not toggled", () => {
    const held = accepted(raised(), place(), ctx);
    expectRefused(decide(held, place(), ctx), "WRONG_STATUS", /already under a legal hold/);
    expectRefused(decide(raised(), lift(), ctx), "WRONG_STATUS", /not under a legal hold/);
  });

  it("is for the IRO service manager only", () => {
    expectRefused(
      decide(raised(), { type: "SetLegalHold", ...base(IRO), hold: true, reason: "x" }, ctx),
      "NOT_PERMITTED",
      /only the IRO service manager/,
    );
    expectRefused(
      decide(
        raised(),
        { type: "SetLegalHold", ...base({ id: "aud-1", role: "auditor" }), hold: true, reason: "x" },
        ctx,
      ),
      "NOT_PERMITTED",
      /only the IRO service manager/,
    );
  });
});
