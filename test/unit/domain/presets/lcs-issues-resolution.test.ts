import { describe, expect, it } from "vitest";
import { getPreset } from "../../../../functions/domain/presets/index.js";
import { type Track } from "../../../../functions/domain/protocol.js";
import { protocolSchema } from "../../../../functions/domain/protocol-schema.js";
import {
  expectSeedSays,
  mutableCopy,
  normalise,
  seedContains,
  seedText,
  stageIds,
  stageOf,
  trackOf,
} from "./seed.js";

const preset = getPreset("lcs-issues-resolution");
const tracks: readonly Track[] = ["CP", "LAC"];

/** The rows of the seed's table for one track: "Week a-b — heading ...", in order. */
function weekRows(track: Track): { weeks: number; text: string }[] {
  const text = seedText(preset);
  const cpStart = text.indexOf("Issues Resolution and Challenge Protocol – Child Protection [CP]");
  const lacStart = text.indexOf("Issues Resolution and Challenge Protocol – Looked After Children (LAC)");
  const section = track === "CP" ? text.slice(cpStart, lacStart) : text.slice(lacStart);
  return [...section.matchAll(/^Week (\d+)-(\d+)\t—\t(.*)$/gm)].map((m) => ({
    weeks: Number(m[2]) - Number(m[1]) + 1,
    text: normalise((m[3] ?? "").replace(/<\/?p>/g, " ")),
  }));
}

describe("000 Issues Resolution and Challenge Protocol (LCS)", () => {
  it("'CHILD PROTECTION (CP) AND LOOKED AFTER CHILDREN (LAC)': a CP and a LAC track with the same ladder", () => {
    expectSeedSays(preset, "CHILD PROTECTION (CP) AND LOOKED AFTER CHILDREN (LAC)");
    for (const track of tracks) {
      expect(stageIds(preset, track)).toEqual(["level_1", "level_2", "stage_1", "stage_2"]);
    }
  });

  it.each(tracks)("%s: each two-week row of the table is a stage of 10 working days, in order", (track) => {
    const rows = weekRows(track);
    expect(rows).toHaveLength(5);
    const stages = trackOf(preset, track).stages;
    stages.forEach((stage, index) => {
      const row = rows[index];
      expect(row?.text.startsWith(normalise(stage.title)), `row ${index}: ${row?.text ?? ""}`).toBe(true);
      expect(row?.text).toContain(normalise(stage.citation));
      expect(stage.responseWindowWorkingDays).toBe((row?.weeks ?? 0) * 5);
      expect(stage.responseWindowWorkingDays).toBe(10);
    });
    // "Week 9-10" is not a stage: it is the difference step after the ladder.
    expect(rows[4]?.text).toContain(normalise(trackOf(preset, track).difference?.citation ?? "missing"));
  });

  it("'If the informal resolution does not achieve change, then the processes set out below should be followed': no informal stage", () => {
    expectSeedSays(
      preset,
      "If the informal resolution does not achieve change, then the processes set out below should be followed.",
    );
    for (const track of tracks) expect(trackOf(preset, track).stages.every((s) => !s.informal)).toBe(true);
  });

  it.each(tracks)(
    "%s Level 1: 'between IRO and SW; discussion to take place between these professionals'",
    (track) => {
      expectSeedSays(preset, "between IRO and SW; discussion to take place between these professionals");
      const stage = stageOf(preset, track, "level_1");
      expect(stage.recipient).toEqual({ role: "social_worker", title: "SW" });
      expect(stage.copyTo).toEqual([]);
      expect(stage.meeting).toBe(false);
    },
  );

  it.each(tracks)(
    "%s Level 2: 'the IRO alerts the IRO TM, CAS ATM and the CAS TM to this query/concern for discussion'",
    (track) => {
      expectSeedSays(
        preset,
        "the IRO alerts the IRO TM, CAS ATM and the CAS TM to this query/concern for discussion",
      );
      const stage = stageOf(preset, track, "level_2");
      expect(stage.recipient).toEqual({ role: "team_manager", title: "CAS TM" });
      expect(stage.copyTo.map((r) => [r.role, r.title])).toEqual([
        ["iro_team_manager", "IRO TM"],
        ["assistant_team_manager", "CAS ATM"],
      ]);
      expect(stage.meeting).toBe(false);
    },
  );

  it.each(tracks)(
    "%s Stage 1: 'a meeting to be held with Heads of Service ... Case Monitoring Board is alerted'",
    (track) => {
      expectSeedSays(preset, "a meeting to be held with Heads of Service.");
      expectSeedSays(
        preset,
        "Discussion and outcome of meeting captured on LCS and Case Monitoring Board is alerted.",
      );
      const stage = stageOf(preset, track, "stage_1");
      expect(stage.recipient).toEqual({ role: "head_of_service", title: "Heads of Service" });
      expect(stage.copyTo).toEqual([{ role: "case_monitoring_board", title: "Case Monitoring Board" }]);
      expect(stage.meeting).toBe(true);
    },
  );

  it.each(tracks)(
    "%s Stage 2: 'The AD (or appointee) will make the overall decision in relation to the issue.'",
    (track) => {
      expectSeedSays(
        preset,
        "The AD (or appointee) will make the overall decision in relation to the issue.",
      );
      expectSeedSays(preset, "Attendees decided at the time of meeting as appropriate.");
      const stage = stageOf(preset, track, "stage_2");
      expect(stage.recipient).toEqual({ role: "assistant_director", title: "AD (or appointee)" });
      expect(stage.copyTo).toEqual([]);
      expect(stage.meeting).toBe(true);
    },
  );

  it("'LCS Case Notes to Include: query, action, outcome' at every step of both tracks", () => {
    const quote = "LCS Case Notes to Include: query, action, outcome";
    expect(normalise(seedText(preset)).split(quote)).toHaveLength(8 + 1);
    for (const track of tracks) {
      for (const stage of trackOf(preset, track).stages) {
        expect(stage.caseNoteIncludes).toEqual(["query", "action", "outcome"]);
        expect(seedContains(preset, stage.caseNoteTitle), stage.caseNoteTitle).toBe(true);
      }
    }
  });

  it("'Outcome of level 1 has not been achieved within the timeframes and therefore the IRO alerts': steps move on when their time is up", () => {
    expectSeedSays(
      preset,
      "Outcome of level 1 has not been achieved within the timeframes and therefore the IRO alerts",
    );
    expectSeedSays(preset, "Should no resolution be made, a progression to Stage 2");
    for (const track of tracks) {
      expect(trackOf(preset, track).stages.map((s) => s.onNoResponse)).toEqual([
        "escalate",
        "escalate",
        "escalate",
        "escalate",
      ]);
    }
  });

  it.each(tracks)(
    "%s: 'Should the IRO maintain their position, note difference on LCS ... AD to make decision on upholding differences.'",
    (track) => {
      expectSeedSays(preset, "AD to make decision on upholding differences.");
      expect(trackOf(preset, track).difference?.decidedBy.role).toBe("assistant_director");
    },
  );

  it.each(tracks)(
    "%s: Cafcass after the last stage, 'part of a process that should be undertaken before any referral to CAF/CASS'",
    (track) => {
      expectSeedSays(
        preset,
        "it is part of a process that should be undertaken before any referral to CAF/CASS",
      );
      expectSeedSays(
        preset,
        "IRO to follow escalation process as appropriate and can consider contacting CAFCASS accordingly.",
      );
      const cafcass = trackOf(preset, track).cafcass;
      expect(cafcass?.when).toBe("after_final_stage");
      expect(cafcass?.raiserRoles).toEqual(["IRO"]);
      expect(cafcass?.approvalBy).toEqual([]);
      expect(cafcass?.attestations).toEqual([]);
      expect(cafcass?.documents).toEqual([]);
      expect(cafcass?.concurrentWithEscalation).toBe(false);
      expect(trackOf(preset, track).endOfLadderGuidance.IRO).toMatch(/CAFCASS/);
    },
  );

  it("'If the disagreement concerns a professional from another agency, the HSCB escalation procedure should be used': a CP partnership route", () => {
    const partnership = trackOf(preset, "CP").partnership;
    expect(partnership?.when).toBe("any_point");
    expect(partnership?.recipient.role).toBe("safeguarding_partnership");
    expect(trackOf(preset, "LAC").partnership).toBeUndefined();
  });

  it("is silent on bypass: IROs keep their statutory discretion on LAC; otherwise only for immediate risk", () => {
    expect(seedText(preset).toLowerCase()).not.toContain("bypass");
    expectSeedSays(preset, "indeed it is a statutory responsibility in respect of looked after children");
    expectSeedSays(
      preset,
      "The age of the child and the nature of the concern may require that a response is required more quickly.",
    );
    expect(trackOf(preset, "LAC").bypass.IRO.allowed).toBe("any");
    expect(trackOf(preset, "LAC").bypass.CPC.allowed).toBe("immediate_risk");
    expect(trackOf(preset, "CP").bypass.IRO.allowed).toBe("immediate_risk");
    expect(trackOf(preset, "CP").bypass.CPC.allowed).toBe("immediate_risk");
  });

  it("'The timescales set out below are the maximum': no whole-process target beyond the steps; reminders two days ahead", () => {
    expectSeedSays(preset, "The timescales set out below are the maximum.");
    for (const track of tracks) expect(trackOf(preset, track).totalTargetWorkingDays).toBeUndefined();
    expect(preset.reminderWorkingDaysBeforeDeadline).toBe(2);
    expect(preset.goodPracticeNotifications).toBe(false);
  });

  it("the schema rejects a ladder whose informal stage is not first", () => {
    const bad = mutableCopy(preset);
    const stage = bad.tracks.CP?.stages[2];
    if (stage === undefined) throw new Error("fixture");
    stage.informal = true;
    const result = protocolSchema.safeParse(bad);
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((i) => i.message)).toContain(
      "only the first stage of a ladder can be informal",
    );
  });
});
