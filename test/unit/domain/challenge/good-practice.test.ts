import { describe, expect, it } from "vitest";
import { DomainError } from "../../../../functions/domain/challenge/index.js";
import type { GoodPracticeContext } from "../../../../functions/domain/good-practice.js";
import { goodPracticeInputSchema, recordGoodPractice } from "../../../../functions/domain/good-practice.js";
import { getPreset } from "../../../../functions/domain/presets/index.js";
import { CPC, IRO, ISM, testProtocol } from "./fixtures.js";

const halton = getPreset("halton");

function context(overrides: Partial<GoodPracticeContext> = {}): GoodPracticeContext {
  return {
    protocol: halton,
    actor: IRO,
    channel: "api",
    now: new Date("2026-05-21T09:00:00Z"),
    newId: () => "gp-1",
    ...overrides,
  };
}

const input = {
  child: { caseRecordId: "ECL-4471" },
  track: "LAC",
  practitioner: { name: "Pat Example", team: { id: "team-a", name: "Riverside Family Support" } },
  firstLineManager: { name: "Morgan Example", email: "morgan@example.org" },
  about: "piece_of_work",
  whatWasGood: "  A thoughtful life story book, completed with the child.  ",
  themes: ["family_finding"],
};

describe("recordGoodPractice (Halton, 002)", () => {
  it("records a validated notification to the practitioner's first line manager", () => {
    const recorded = recordGoodPractice(input, context());
    expect(recorded).not.toBeInstanceOf(DomainError);
    expect(recorded).toMatchObject({
      id: "gp-1",
      protocolId: "halton",
      recordedAt: "2026-05-21T09:00:00.000Z",
      recordedBy: IRO,
      channel: "api",
      recordedAs: "case_note",
      firstLineManager: { name: "Morgan Example" },
      whatWasGood: "A thoughtful life story book, completed with the child.",
    });
  });

  it("goes by email to a partner agency, and may be sent by a conference chair", () => {
    const recorded = recordGoodPractice(
      {
        ...input,
        track: "CP",
        partnerAgency: { id: "health-trust", name: "Northgate Health Trust" },
        themes: [],
      },
      context({ actor: CPC }),
    );
    expect(recorded).toMatchObject({ recordedAs: "partner_email", recordedBy: CPC });
  });

  it("refuses malformed input, saying which field", () => {
    const refused = recordGoodPractice({ ...input, whatWasGood: "  " }, context());
    expect(refused).toBeInstanceOf(DomainError);
    expect(refused).toMatchObject({
      code: "INVALID_COMMAND",
      message: expect.stringMatching(/whatWasGood/) as unknown,
    });
    expect(goodPracticeInputSchema.safeParse({ ...input, firstLineManager: undefined }).success).toBe(false);
  });

  it("is sent by IROs and chairs only", () => {
    expect(recordGoodPractice(input, context({ actor: ISM }))).toMatchObject({
      code: "NOT_PERMITTED",
      message: expect.stringMatching(
        /sent by the IRM or CP IRM, not by someone signed in as iro_service_manager/,
      ) as unknown,
    });
  });

  it("is refused where the protocol has no good practice notifications", () => {
    expect(recordGoodPractice(input, context({ protocol: getPreset("nottingham") }))).toMatchObject({
      code: "NOT_PERMITTED",
      message: expect.stringMatching(/has no good practice notifications/) as unknown,
    });
  });

  it("checks the track and themes against the protocol", () => {
    expect(
      recordGoodPractice({ ...input, track: "LAC" }, context({ protocol: getPreset("liquidlogic-cp") })),
    ).toMatchObject({
      code: "NOT_PERMITTED",
    });
    const cpOnly = { ...testProtocol, tracks: { CP: testProtocol.tracks.CP } };
    expect(recordGoodPractice({ ...input, themes: [] }, context({ protocol: cpOnly }))).toMatchObject({
      code: "UNKNOWN_TRACK",
      message: expect.stringMatching(/no LAC process/) as unknown,
    });
    expect(recordGoodPractice({ ...input, themes: ["weather"] }, context())).toMatchObject({
      code: "UNKNOWN_THEME",
      message: expect.stringMatching(/"weather" is not one of this protocol's themes/) as unknown,
    });
  });
});
