import { describe, expect, it } from "vitest";
import { getPreset } from "../../../../functions/domain/presets/index.js";
import { type Track } from "../../../../functions/domain/protocol.js";
import { protocolSchema } from "../../../../functions/domain/protocol-schema.js";
import { expectSeedSays, mutableCopy, normalise, seedLines, seedText, stageIds, trackOf } from "./seed.js";

const preset = getPreset("nottingham");
const tracks: readonly Track[] = ["CP", "LAC"];

describe("004 Nottingham City Practice Resolution Protocol", () => {
  it("'Independent Reviewing Officers (IRO), Child Protection Chairs (CPC) and Partner Agencies': one ladder on both tracks", () => {
    expectSeedSays(
      preset,
      "Independent Reviewing Officers (IRO), Child Protection Chairs (CPC) and Partner Agencies",
    );
    expect(trackOf(preset, "CP").stages).toEqual(trackOf(preset, "LAC").stages);
    expect(stageIds(preset, "LAC")).toEqual(["level_1", "level_2", "level_3", "level_4"]);
    expect(trackOf(preset, "LAC").stages.every((s) => !s.informal && !s.meeting)).toBe(true);
  });

  it("'The X (or equivalent in our partner agency) is required to respond ... within 5 working days. Failure to respond will lead automatically to level N'", () => {
    const levels = [
      ...seedText(preset).matchAll(
        /The (.+?) \(or equivalent in our partner agency\) is (?:then )?required to respond to this practice resolution matter within (\d+) working days\. Failure to respond will lead automatically to level (\d)/g,
      ),
    ].map((m) => ({ title: m[1], days: Number(m[2]), next: Number(m[3]) }));
    expect(levels).toHaveLength(4);
    for (const track of tracks) {
      trackOf(preset, track).stages.forEach((stage, index) => {
        const level = levels[index];
        expect(stage.recipient.title).toBe(level?.title);
        expect(stage.partnerRecipient).toEqual({
          role: stage.recipient.role,
          title: `${level?.title ?? ""} (or equivalent in our partner agency)`,
        });
        expect(stage.responseWindowWorkingDays).toBe(level?.days);
        expect(level?.next).toBe(index + 2);
        expect(stage.onNoResponse).toBe("escalate");
      });
    }
    expect(trackOf(preset, "CP").stages.map((s) => s.recipient.role)).toEqual([
      "team_manager",
      "service_manager",
      "head_of_service",
      "director_childrens_services",
    ]);
  });

  it("the Level 4 form's header says 'The Head of Service' but its box says 'DIRECTOR OF CHILDREN'S SERVICES TO COMPLETE': the Director", () => {
    const text = normalise(seedText(preset));
    const form4 = text.slice(text.indexOf("Practice Resolution Protocol LEVEL 4"));
    expect(form4).toContain(
      "The Head of Service (or equivalent in our partner agency) is required to respond",
    );
    expect(form4).toContain("DIRECTOR OF CHILDREN'S SERVICES TO COMPLETE");
    expect(trackOf(preset, "LAC").stages[3]?.recipient.role).toBe("director_childrens_services");
  });

  it("'This process should take no more than 20 working days to be resolved'", () => {
    expectSeedSays(preset, "This process should take no more than 20 working days to be resolved");
    expectSeedSays(preset, "Practice Resolution Protocol Flowchart 20 working days");
    for (const track of tracks) {
      expect(trackOf(preset, track).totalTargetWorkingDays).toBe(20);
      const sum = trackOf(preset, track).stages.reduce((total, s) => total + s.responseWindowWorkingDays, 0);
      expect(sum).toBe(20);
    }
  });

  it("'the IRO may bypass any level' (IRO Handbook 6.2); 'the CPC's may bypass any level ... should they have safeguarding concerns'", () => {
    for (const track of tracks) {
      expect(trackOf(preset, track).bypass.IRO.allowed).toBe("any");
      expect(trackOf(preset, track).bypass.CPC.allowed).toBe("safeguarding_concern");
    }
  });

  it("Level 5 is Cafcass for IROs after level 4: 'before any external referral is made the IRO is to seek legal advice and have had discussions with the Service Manager and Head of Service for Safeguarding'", () => {
    expectSeedSays(
      preset,
      "the IRO will identify the reasons and consider escalating to stage 5 which is a referral to Cafcass",
    );
    expectSeedSays(
      preset,
      "is personally responsible for activating the Practice Resolution Protocol and does not require permission",
    );
    for (const track of tracks) {
      const cafcass = trackOf(preset, track).cafcass;
      expect(cafcass?.when).toBe("after_final_stage");
      expect(cafcass?.raiserRoles).toEqual(["IRO"]);
      expect(cafcass?.approvalBy).toEqual([]);
      expect(cafcass?.attestations.map((a) => a.id)).toEqual([
        "legal_advice_sought",
        "discussed_with_service_manager",
        "discussed_with_head_of_safeguarding",
      ]);
      expect(cafcass?.concurrentWithEscalation).toBe(false);
    }
  });

  it("CPCs instead 'discuss their next actions with the CPC's Service Manager and the Head of Safeguarding and Quality Assurance'", () => {
    expectSeedSays(
      preset,
      "For CPC's if they are not satisfied the matter has been resolved they are to discuss their next actions with the CPC's Service Manager and the Head of Safeguarding and Quality Assurance.",
    );
    const lines = seedLines(preset);
    for (const track of tracks) {
      const guidance = trackOf(preset, track).endOfLadderGuidance;
      expect(lines).toContain(guidance.CPC);
      expect(lines).toContain(guidance.IRO);
    }
  });

  it("the schema rejects a track filed under the wrong key", () => {
    const bad = mutableCopy(preset);
    const cp = bad.tracks.CP;
    if (cp === undefined) throw new Error("fixture");
    cp.track = "LAC";
    const result = protocolSchema.safeParse(bad);
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((i) => i.message)).toContain("track LAC filed under CP");
  });
});
