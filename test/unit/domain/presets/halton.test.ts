import { describe, expect, it } from "vitest";
import { getPreset } from "../../../../functions/domain/presets/index.js";
import { protocolSchema } from "../../../../functions/domain/protocol-schema.js";
import { expectSeedSays, mutableCopy, normalise, seedText, stageIds, trackOf } from "./seed.js";

const preset = getPreset("halton");

/** Tab-separated table rows whose first cell matches `first`. */
function tableRows(first: RegExp): string[][] {
  return seedText(preset)
    .split(/\r?\n/)
    .filter((line) => line.includes("\t"))
    .map((line) => line.split("\t").map((cell) => normalise(cell)))
    .filter((cells) => first.test(cells[0] ?? ""));
}

describe("002 Halton IRM Dispute Resolution", () => {
  it("'In Halton IROs are referred to as Independent Reviewing Managers': raisers are IRMs and CP IRMs", () => {
    expectSeedSays(preset, "In Halton IROs are referred to as Independent Reviewing Managers");
    expect(preset.raiserTitles).toEqual({ IRO: "IRM", CPC: "CP IRM" });
  });

  describe("Child Protection", () => {
    const cp = trackOf(preset, "CP");

    it("'There are four stages to the dispute resolution process.' The first is informal", () => {
      expectSeedSays(preset, "There are four stages to the dispute resolution process.");
      expect(stageIds(preset, "CP")).toEqual(["stage_1", "stage_2", "stage_3", "stage_4"]);
      expect(cp.stages.map((s) => s.informal)).toEqual([true, false, false, false]);
    });

    it("'CP IRM raises an alert with:' Children's Social Care and Partner and Relevant Agencies, stage by stage", () => {
      expectSeedSays(preset, "Stage\tChildren's Social Care\tPartner and Relevant Agencies");
      const rows = tableRows(/^Stage \d:/);
      expect(rows).toHaveLength(4);
      cp.stages.forEach((stage, index) => {
        const [, socialCare, partner] = rows[index] ?? [];
        expect(stage.recipient.title).toBe(socialCare);
        expect(stage.partnerRecipient?.title ?? "").toBe(partner ?? "");
      });
      expect(cp.stages.map((s) => [s.recipient.role, s.partnerRecipient?.role])).toEqual([
        ["team_manager", "team_manager"],
        ["service_manager", "service_manager"],
        ["assistant_director", "agency_safeguarding_lead"],
        ["director_childrens_services", undefined],
      ]);
    });

    it("'At each of the stages, a response is required within 5 working days of receipt of the alert.'", () => {
      expectSeedSays(
        preset,
        "At each of the stages, a response is required within 5 working days of receipt of the alert.",
      );
      expect(cp.stages.every((s) => s.responseWindowWorkingDays === 5)).toBe(true);
      expect(cp.stages.every((s) => !s.meeting)).toBe(true);
    });

    it("'The alert will progress up to the next stage if a response is not received or resolution is not achieved.'", () => {
      expectSeedSays(
        preset,
        "The alert will progress up to the next stage if a response is not received or resolution is not achieved.",
      );
      expect(cp.stages.every((s) => s.onNoResponse === "escalate")).toBe(true);
    });

    it("'the CP IRM will follow each stage and does not have the discretion to go straight to stages 3 or 4': no bypass", () => {
      expectSeedSays(
        preset,
        "the CP IRM will follow each stage and does not have the discretion to go straight to stages 3 or 4",
      );
      expect(cp.bypass.IRO.allowed).toBe("never");
      expect(cp.bypass.CPC.allowed).toBe("never");
    });

    it("has no Cafcass or partnership referral and no stated total", () => {
      expect(cp.cafcass).toBeUndefined();
      expect(cp.partnership).toBeUndefined();
      expect(cp.totalTargetWorkingDays).toBeUndefined();
    });
  });

  describe("Looked After Children", () => {
    const lac = trackOf(preset, "LAC");

    it("'There are five stages': Principal Manager, Divisional Manager, Operational Director, DCS, and Cafcass as the referral", () => {
      expectSeedSays(preset, "There are five stages to the dispute resolution process.");
      const rows = tableRows(/^\d( - (in)?formal)?$/);
      expect(rows.map((r) => r[1])).toEqual([
        "Principal Manager",
        "Divisional Manager",
        "Operational Director",
        "Director of Children's Services",
        "Cafcass",
      ]);
      expect(lac.stages.map((s) => s.recipient.title)).toEqual(rows.slice(0, 4).map((r) => r[1]));
      expect(lac.stages.map((s) => s.informal)).toEqual([true, false, false, false]);
      expect(lac.stages.every((s) => s.partnerRecipient === undefined)).toBe(true);
      expect(lac.cafcass?.recipient.role).toBe("cafcass");
    });

    it("'The Dispute Resolution process must be completed within 20 working days': four alerts of 5 working days", () => {
      expectSeedSays(preset, "The Dispute Resolution process must be completed within 20 working days");
      expectSeedSays(
        preset,
        "The formal dispute resolution process has a timescale in total of no more than 20 working days.",
      );
      expect(lac.totalTargetWorkingDays).toBe(20);
      expect(lac.stages.map((s) => s.responseWindowWorkingDays)).toEqual([5, 5, 5, 5]);
      expect(lac.stages.every((s) => s.onNoResponse === "escalate")).toBe(true);
    });

    it("'The IRM may bypass any Stage and progress the dispute to the level s/he considers most appropriate.'", () => {
      expectSeedSays(
        preset,
        "The IRM has the discretion to proceed to any stage if this minimises delay and disruption to the child.",
      );
      expect(lac.bypass.IRO.allowed).toBe("any");
      expect(lac.bypass.CPC.allowed).toBe("never");
    });

    it("'refer the matter to CAFCASS at any point ... may consider it necessary to make a concurrent referral'", () => {
      expectSeedSays(
        preset,
        "The Divisional Manager can disagree with the IRMs cause of action but will act to facilitate the escalation process.",
      );
      const cafcass = lac.cafcass;
      expect(cafcass?.when).toBe("any_point");
      expect(cafcass?.concurrentWithEscalation).toBe(true);
      expect(cafcass?.raiserRoles).toEqual(["IRO"]);
      expect(cafcass?.approvalBy).toEqual([]);
      expectSeedSays(preset, "there is still a risk of the child's human rights being breached");
      expectSeedSays(
        preset,
        "There is no other suitable adult able and willing to take the case on the child's behalf",
      );
      expect(cafcass?.attestations.map((a) => a.id)).toEqual([
        "human_rights_risk",
        "no_one_else_to_bring_proceedings",
      ]);
      expectSeedSays(preset, "the IRM should refer the matter to CAFCASS Legal");
      expect(cafcass?.recipient.title).toBe("CAFCASS Legal");
    });
  });

  it("'Good Practice Notifications' are part of both processes", () => {
    expectSeedSays(
      preset,
      "they will send a good practice notification to the first line manager of the practitioner.",
    );
    expect(preset.goodPracticeNotifications).toBe(true);
  });

  it("themes are the seed's example lists (the LAC list verbatim)", () => {
    expectSeedSays(
      preset,
      "Examples of situations where an IRM might have concerns and initiate the management notification process include:",
    );
    expect(preset.themes).toHaveLength(18);
    const text = normalise(seedText(preset));
    const lacList = preset.themes.slice(5);
    for (const theme of lacList) expect(text, theme.label).toContain(normalise(theme.label));
  });

  it("the schema rejects a ladder with a duplicate stage id", () => {
    const bad = mutableCopy(preset);
    const stage = bad.tracks.CP?.stages[3];
    if (stage === undefined) throw new Error("fixture");
    stage.id = "stage_2";
    const result = protocolSchema.safeParse(bad);
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((i) => i.message)).toContain("duplicate stage id stage_2");
  });
});
