import { describe, expect, it } from "vitest";
import { getPreset } from "../../../../functions/domain/presets/index.js";
import { type Track } from "../../../../functions/domain/protocol.js";
import { protocolSchema } from "../../../../functions/domain/protocol-schema.js";
import { expectSeedSays, mutableCopy, normalise, seedText, stageIds, stageOf, trackOf } from "./seed.js";

const preset = getPreset("rotherham");
const tracks: readonly Track[] = ["CP", "LAC"];
const roles = (recipients: readonly { role: string }[]) => recipients.map((r) => r.role);

describe("001 Rotherham Challenge and Resolution", () => {
  it("'a combined formal Dispute resolution and Escalation and Challenge process for both Independent Reviewing Officers (IRO) and Child Protection Chairs (CPC)': one ladder on both tracks", () => {
    expectSeedSays(
      preset,
      "This flowchart reflects a combined formal Dispute resolution and Escalation and Challenge process for both Independent Reviewing Officers (IRO) and Child Protection Chairs (CPC)",
    );
    expect(trackOf(preset, "CP").stages).toEqual(trackOf(preset, "LAC").stages);
    expect(stageIds(preset, "CP")).toEqual(["informal", "stage_1", "stage_2", "stage_3", "stage_4"]);
  });

  it("'All informal escalations should be resolved within 10 working days or should then progress to a formal escalation.'", () => {
    expectSeedSays(
      preset,
      "Any informal challenge and resolution will be recorded clearly on the child’s file using the ‘IRO/Conference Chair Escalation Discussion’ case note.",
    );
    const informal = stageOf(preset, "LAC", "informal");
    expect(informal.informal).toBe(true);
    expect(informal.responseWindowWorkingDays).toBe(10);
    // The informal stage cannot drift: at its end the IRO/CPC is asked to resolve it or open the
    // formal stage, and it progresses by itself if they do neither.
    expect(informal.onNoResponse).toBe("ask_raiser");
    expect(informal.onNoResolution?.action).toBe("ask_raiser");
    expect(informal.caseNoteTitle).toBe("IRO/Conference Chair Escalation Discussion");
  });

  it("the guidance's stage headings give the formal windows: 'Stage 1 (5 Days)' ... 'Stage 4 (10 Days)'", () => {
    const headings = [...seedText(preset).matchAll(/^\s*stage\s+(\d)\s+\((\d+) days\)\s*$/gim)].map((m) => [
      `stage_${m[1] ?? ""}`,
      Number(m[2]),
    ]);
    expect(headings).toEqual([
      ["stage_1", 5],
      ["stage_2", 5],
      ["stage_3", 5],
      ["stage_4", 10],
    ]);
    const formal = trackOf(preset, "LAC").stages.filter((s) => !s.informal);
    // Stage 4's form says 5 working days where its heading says 10: the shorter is taken (below).
    expect(formal.map((s) => [s.id, s.responseWindowWorkingDays])).toEqual(
      headings.map(([id, days]) => [id, id === "stage_4" ? 5 : days]),
    );
  });

  it("Stage 4: the form says '(Deputy Strategic Director/DCS - within 5 working days)' but the guidance says 10 days: the shorter, 5, citing both", () => {
    expectSeedSays(preset, "(Deputy Strategic Director/DCS - within 5 working days)");
    expectSeedSays(
      preset,
      "The Head of Service for Safeguarding will request a joint meeting with their counterpart within 10 days",
    );
    const stage = stageOf(preset, "CP", "stage_4");
    expect(stage.responseWindowWorkingDays).toBe(5);
    expect(stage.window).toEqual({
      length: 5,
      unit: "working_days",
      citation: "(Deputy Strategic Director/DCS - within 5 working days)",
      alsoCitation: "Stage 4 (10 Days)",
    });
    expect(stage.recipient).toEqual({
      role: "director_childrens_services",
      title: "Deputy Strategic Director/DCS",
    });
    expect(stage.meeting).toBe(true);
  });

  it("Stage 1: 'sent to the Team manager with a copy to the Social worker, and Service manager for the responsible team and IRO/CPC SM'", () => {
    expectSeedSays(
      preset,
      "sent to the Team manager with a copy to the Social worker, and Service manager for the responsible team and IRO/CPC SM",
    );
    expectSeedSays(preset, "(Team Manager – within 5 working days");
    const stage = stageOf(preset, "LAC", "stage_1");
    expect(stage.recipient.role).toBe("team_manager");
    expect(roles(stage.copyTo)).toEqual(["social_worker", "service_manager", "iro_service_manager"]);
    expect(stage.copyTo.map((r) => r.title)).toEqual([
      "Social worker",
      "Service manager for the responsible team",
      "IRO/CPC SM",
    ]);
    expectSeedSays(preset, "The Team manager, IRO/CPC and possibly the SW should meet to discuss the issues");
    expect(stage.meeting).toBe(true);
  });

  it("Stage 2: 'forward the form to the responsible Service Manager (copying in the HoS, IRO/CPC, SW and TM)'", () => {
    expectSeedSays(
      preset,
      "forward the form to the responsible Service Manager (copying in the HoS, IRO/CPC, SW and TM)",
    );
    expectSeedSays(preset, "a date will be set to discuss the issue within 5 working days");
    const stage = stageOf(preset, "LAC", "stage_2");
    expect(stage.recipient).toEqual({ role: "service_manager", title: "responsible Service Manager" });
    // The IRO/CPC is the raiser; the IRO/CPC's Service Manager forwarded the form.
    expect(roles(stage.copyTo)).toEqual([
      "head_of_service",
      "social_worker",
      "team_manager",
      "iro_service_manager",
    ]);
    expect(stage.meeting).toBe(true);
  });

  it("Stage 3: 'forward the challenge and resolution form to the HoS (Safeguarding)' who 'within 5 days give clarity back to the IRO/CPC SM'", () => {
    expectSeedSays(preset, "will forward the challenge and resolution form to the HoS (Safeguarding)");
    expectSeedSays(
      preset,
      "The IRO/CPC, SM and HoS (Safeguarding) should meet to discuss the issues as soon as possible.",
    );
    const stage = stageOf(preset, "LAC", "stage_3");
    expect(stage.recipient).toEqual({ role: "head_of_safeguarding", title: "HoS (Safeguarding)" });
    expect(roles(stage.copyTo)).toEqual(["iro_service_manager", "head_of_service"]);
    expect(stage.meeting).toBe(true);
  });

  it("'If the response is not received in time ... the process moves directly to the next stage': every formal stage escalates", () => {
    expectSeedSays(preset, "If the response is not received in time");
    expectSeedSays(preset, "the process moves directly to the next stage.");
    for (const track of tracks) {
      const formal = trackOf(preset, track).stages.filter((s) => !s.informal);
      expect(formal.every((s) => s.onNoResponse === "escalate")).toBe(true);
    }
  });

  it("failed action plans: Stage 1 'moves directly to the next stage'; Stage 2 'revert to the stage 2 process'; Stages 3 and 4 'revert back to the stage 3 process'", () => {
    expectSeedSays(
      preset,
      "if the agreed actions are not implemented or sufficiently effective in the IRO/CPC’s view, the process moves directly to the next stage",
    );
    expectSeedSays(preset, "the IRO/CPC will revert to the stage 2 process.");
    expectSeedSays(
      preset,
      "the IRO/CPC will revert back to the stage 3 process via the IRO/CPC Service Manager",
    );
    // The general rule, which the stages refine: "revert to this process at the point they last exited".
    expectSeedSays(preset, "the IRO/CPC can revert to this process at the point they last exited");
    for (const track of tracks) {
      expect(trackOf(preset, track).stages.map((s) => [s.id, s.reopenAtStageId])).toEqual([
        ["informal", undefined],
        ["stage_1", "stage_2"],
        ["stage_2", "stage_2"],
        ["stage_3", "stage_3"],
        ["stage_4", "stage_3"],
      ]);
    }
  });

  it("CAFCASS 'At any point (subject to Service Manager Agreement)', needing 'the oversight and approval of the Service Manager and HoS for Safeguarding'", () => {
    expectSeedSays(preset, "At any point (subject to Service Manager Agreement)");
    expectSeedSays(
      preset,
      "At any point in this process the IRO has the ability to refer the issue of concern to CAFCASS",
    );
    expectSeedSays(preset, "a clear rationale given for not pursuing the escalation process");
    for (const track of tracks) {
      const cafcass = trackOf(preset, track).cafcass;
      expect(cafcass?.when).toBe("any_point");
      expect(cafcass?.raiserRoles).toEqual(["IRO"]);
      expect(cafcass?.approvalBy.map((r) => [r.role, r.title])).toEqual([
        ["iro_service_manager", "Service Manager"],
        ["head_of_safeguarding", "HoS for Safeguarding"],
      ]);
      expect(cafcass?.attestations.map((a) => a.id)).toEqual([
        "warrants_external_challenge",
        "acute_concern",
        "impact_on_child_considered",
      ]);
      // Silent on what the referral does to the ladder; it expects the full process pursued where
      // there is time: the escalation carries on alongside (the reading that protects the child).
      expect(cafcass?.concurrentWithEscalation).toBe(true);
      expect(cafcass?.concurrency?.citation).toBe(
        "There will be some cases where there will be time available to pursue the full dispute resolution process as above but this may not always be the case.",
      );
    }
  });

  it("'The information listed below should accompany a referral to CAFCASS': the seven documents, verbatim and in order", () => {
    const text = seedText(preset);
    const list = text.slice(
      text.indexOf("The information listed below should accompany a referral to CAFCASS."),
    );
    const items = [...list.matchAll(/^(\d)\. (.+)$/gm)].map((m) => normalise(m[2] ?? ""));
    expect(items).toHaveLength(7);
    const documents = trackOf(preset, "LAC").cafcass?.documents ?? [];
    expect(documents).toHaveLength(7);
    expect(documents.map((d) => normalise(d))).toEqual(items);
  });

  it("the form's 'Themes and Issues' tick boxes are the six themes", () => {
    const text = normalise(seedText(preset));
    const box = text.slice(text.indexOf("Themes and Issues"), text.indexOf("Recommended Action"));
    expect(preset.themes).toHaveLength(6);
    for (const theme of preset.themes) expect(box).toContain(normalise(theme.label));
  });

  it("is silent on bypass: IROs keep their statutory discretion; a CPC only for immediate risk", () => {
    expect(seedText(preset).toLowerCase()).not.toContain("bypass");
    expectSeedSays(
      preset,
      "if it is right for the child, the IRO/CPC will seek to resolve issues and concerns at an informal level",
    );
    for (const track of tracks) {
      expect(trackOf(preset, track).bypass.IRO.allowed).toBe("any");
      expect(trackOf(preset, track).bypass.CPC.allowed).toBe("immediate_risk");
      expect(trackOf(preset, track).totalTargetWorkingDays).toBeUndefined();
    }
    expect(preset.reminderWorkingDaysBeforeDeadline).toBe(1);
  });

  it("the schema rejects a stage that reopens at a stage the ladder does not have", () => {
    const bad = mutableCopy(preset);
    const stage = bad.tracks.LAC?.stages[4];
    if (stage === undefined) throw new Error("fixture");
    stage.reopenAtStageId = "stage_9";
    const result = protocolSchema.safeParse(bad);
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((i) => i.message)).toContain("no stage stage_9 on this ladder");
  });
});
