import { describe, expect, it } from "vitest";
import { getPreset } from "../../../../functions/domain/presets/index.js";
import { protocolSchema } from "../../../../functions/domain/protocol-schema.js";
import { expectSeedSays, mutableCopy, seedContains, stageIds, stageOf, trackOf } from "./seed.js";

const preset = getPreset("liquidlogic-cp");
const cp = trackOf(preset, "CP");
const markdown = { markdown: true };

describe("003 Child Protection Resolution Process (Liquidlogic)", () => {
  it("'## Child Protection Resolution Process': a CP track only", () => {
    expectSeedSays(
      preset,
      "This process is intended to standardise the communication when Child Protection Chairs",
    );
    expect(preset.tracks.LAC).toBeUndefined();
    expect(stageIds(preset, "CP")).toEqual(["informal", "stage_1", "stage_2", "stage_3", "stage_4"]);
    expect(cp.stages.map((s) => s.informal)).toEqual([true, false, false, false, false]);
  });

  it("each stage is the seed's form and records the seed's case note, in its own words", () => {
    for (const stage of cp.stages) {
      expect(seedContains(preset, stage.title, markdown), stage.title).toBe(true);
      expect(seedContains(preset, stage.caseNoteTitle, markdown), stage.caseNoteTitle).toBe(true);
    }
    expect(stageOf(preset, "CP", "stage_2").caseNoteTitle).toBe(
      "Case note-record sheet entry- IRO CP formal resolution stage 2- Service Manager",
    );
  });

  it("informal: 'Case note, Record sheet entry- IRO CP, informal resolution' ... 'this will send an alert to the Social Worker and Team Manager'", () => {
    expectSeedSays(
      preset,
      "Conference chair should record this on Liquidlogic in a **Form: CP informal resolution**",
    );
    const stage = stageOf(preset, "CP", "informal");
    expect(stage.recipient.role).toBe("social_worker");
    expect(stage.copyTo.map((r) => r.role)).toEqual(["team_manager"]);
  });

  it("Stage 1: 'Upon completion of this form it will be assigned to the named Team Manager' ... 'within 5 working days'", () => {
    expectSeedSays(preset, "Upon completion of this form it will be assigned to the named Team Manager.");
    expectSeedSays(
      preset,
      "There is an expectation that the Team Manager will respond in the form, within 5 working days",
    );
    expectSeedSays(
      preset,
      "It may be that a request for a case discussion or a meeting can be held if this would be more helpful",
    );
    const stage = stageOf(preset, "CP", "stage_1");
    expect(stage.recipient).toEqual({ role: "team_manager", title: "named Team Manager" });
    expect(stage.responseWindowWorkingDays).toBe(5);
    expect(stage.meeting).toBe(false);
  });

  it("Stage 2: 'assigned to the Service Manager' ... 'ensure that this includes the Team Manager. This meeting should be chaired by a Service Manager.'", () => {
    expectSeedSays(preset, "this will be assigned to the Service Manager.");
    expectSeedSays(
      preset,
      "ensure that this includes the Team Manager. This meeting should be chaired by a Service Manager.",
    );
    expectSeedSays(
      preset,
      "There is an expectation that the Service Manager will respond to this email within 5 working days",
    );
    const stage = stageOf(preset, "CP", "stage_2");
    expect(stage.recipient.role).toBe("service_manager");
    expect(stage.copyTo.map((r) => r.role)).toEqual(["team_manager"]);
    expect(stage.responseWindowWorkingDays).toBe(5);
    expect(stage.meeting).toBe(true);
  });

  it("Stage 3: 'flow into the Heads of Service work tray' ... 'A meeting will be arranged to look at options for progressing the situation.'", () => {
    expectSeedSays(preset, "A meeting will be arranged to look at options for progressing the situation.");
    expectSeedSays(preset, "The Heads of Service (from A & I and CPRU) should be informed of the situation");
    const stage = stageOf(preset, "CP", "stage_3");
    expect(stage.recipient).toEqual({ role: "head_of_service", title: "Head of Service (A & I)" });
    expect(stage.coRecipients).toEqual([{ role: "head_of_service_cpru", title: "Head of Service (CPRU)" }]);
    expect(stage.meeting).toBe(true);
  });

  it("Stage 4: 'A meeting needs to be held with Service Director ... before the case progresses to the Safeguarding Partnership.'", () => {
    const stage = stageOf(preset, "CP", "stage_4");
    expect(stage.recipient).toEqual({ role: "assistant_director", title: "Service Director" });
    expect(stage.meeting).toBe(true);
  });

  it("the chair chooses each outcome ('the outcome of this part of the resolution should be to 'progress to ...''): a missed deadline asks the chair, and it progresses if they do not choose", () => {
    for (const n of [1, 2, 3]) {
      expectSeedSays(
        preset,
        `If the issue is not resolved, or communication is not forthcoming then the outcome of this part of the resolution should be to 'progress to CP- resolution process stage ${n}`,
      );
    }
    expect(cp.stages.every((s) => s.onNoResponse === "ask_raiser")).toBe(true);
    expect(cp.stages.every((s) => s.onNoResolution?.action === "ask_raiser")).toBe(true);
    // The seed sets no window for the chair's choice: the default, 1 working day.
    expect(cp.stages.every((s) => s.raiserDecisionWindow === undefined)).toBe(true);
  });

  it("'each stage need not be followed in sequence' when the child is 'at immediate risk of significant harm'", () => {
    expectSeedSays(
      preset,
      "at immediate risk of significant harm the appropriate action needs to take place and each stage need not be followed in sequence",
    );
    expect(cp.bypass.IRO.allowed).toBe("immediate_risk");
    expect(cp.bypass.CPC.allowed).toBe("immediate_risk");
  });

  it("'the matter must be referred to the Safeguarding Children Partnership representative for each agency involved' after the last stage", () => {
    expectSeedSays(preset, "This would be before the case progresses to the Safeguarding Partnership.");
    const partnership = cp.partnership;
    expect(partnership?.when).toBe("after_final_stage");
    expect(partnership?.raiserRoles).toEqual(["IRO", "CPC"]);
    expect(partnership?.approvalBy).toEqual([]);
    expect(partnership?.recipient.role).toBe("safeguarding_partnership");
    expect(cp.cafcass).toBeUndefined();
    expectSeedSays(
      preset,
      "it should be referred to the Safeguarding Children Partnership Manager who will determine a course of action",
    );
    expect(cp.endOfLadderGuidance.CPC).toMatch(/Safeguarding Children Partnership Manager/);
  });

  it("the schema rejects an informal stage that is not first", () => {
    const bad = mutableCopy(preset);
    const stages = bad.tracks.CP?.stages ?? [];
    const [informal, first] = stages;
    if (informal === undefined || first === undefined) throw new Error("fixture");
    stages.splice(0, 2, first, informal);
    const result = protocolSchema.safeParse(bad);
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((i) => i.message)).toContain(
      "only the first stage of a ladder can be informal",
    );
  });
});
