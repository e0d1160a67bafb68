import { existsSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { getPreset, presets } from "../../../../functions/domain/presets/index.js";
import { protocolSchema } from "../../../../functions/domain/protocol-schema.js";
import { collectCitations, normalise, seedContains, seedLines } from "./seed.js";

const all = Object.values(presets);

describe("preset citations are the words of their seeds", () => {
  it("ships the five seed protocols, each with its own seed file", () => {
    expect(all.map((p) => p.source.file).sort()).toEqual([
      "000_cc8bd49fbf9cf7e3.txt",
      "001_8f567ce270dda0db.txt",
      "002_4488970175b7e51c.txt",
      "003_c95e50a19d3109a8.txt",
      "004_6959d518ae246d89.txt",
    ]);
    for (const preset of all) {
      expect(existsSync(new URL(`../../../../docs/seeds/${preset.source.file}`, import.meta.url))).toBe(true);
    }
  });

  describe.each(all.map((preset) => [preset.id, preset] as const))("%s", (_id, preset) => {
    const found = collectCitations(preset);

    it("cites every stage and its deadline rules and windows, every bypass rule, every referral and difference rule and any optional informal stage", () => {
      let expected = 0;
      for (const track of Object.values(preset.tracks)) {
        expected += track.stages.length + 2;
        for (const stage of track.stages) {
          if (stage.onNoResolution !== undefined) expected += 1;
          if (stage.window !== undefined) expected += stage.window.alsoCitation === undefined ? 1 : 2;
        }
        if (track.cafcass !== undefined) expected += 1;
        if (track.partnership !== undefined) expected += 1;
        if (track.cafcass?.concurrency !== undefined) expected += 1;
        if (track.partnership?.concurrency !== undefined) expected += 1;
        if (track.difference !== undefined) expected += 1;
        if (track.cafcass?.decision !== undefined) expected += 1;
        if (track.partnership?.decision !== undefined) expected += 1;
        if (track.informalStageOptional !== undefined) expected += 1;
      }
      expect(found).toHaveLength(expected);
    });

    it.each(found.map((c) => [c.path, c.citation] as const))("%s is in the seed", (_path, citation) => {
      expect(seedContains(preset, citation), `not in ${preset.source.file}: ${citation}`).toBe(true);
    });

    it.each(found.map((c) => [c.path, c.citation] as const))(
      "%s is a whole line of the seed or a fragment of at least 8 words",
      (_path, citation) => {
        const wholeLine = seedLines(preset).includes(normalise(citation));
        const words = normalise(citation).split(" ").length;
        expect(wholeLine || words >= 8, `${words} words, not a whole line: ${citation}`).toBe(true);
      },
    );

    it("would fail if a citation were edited", () => {
      for (const { citation } of found) {
        const words = normalise(citation).split(" ");
        const edited = [...words.slice(0, -1), `${words.at(-1) ?? ""}x`].join(" ");
        expect(seedContains(preset, edited), `an edited citation still matched: ${edited}`).toBe(false);
        expect(seedContains(preset, `not ${citation}`)).toBe(false);
      }
    });
  });
});

describe("the preset registry", () => {
  it("keys each preset by its id", () => {
    expect(Object.keys(presets)).toEqual([
      "lcs-issues-resolution",
      "rotherham",
      "halton",
      "liquidlogic-cp",
      "nottingham",
    ]);
    for (const [id, preset] of Object.entries(presets)) expect(preset.id).toBe(id);
  });

  it("holds presets that pass the protocol schema unchanged, so the Lambdas can run them as written", () => {
    for (const preset of all) {
      const parsed = protocolSchema.safeParse(preset);
      expect(parsed.error).toBeUndefined();
      // Nothing stripped, defaulted or transformed: the parse the Lambdas skip would be the identity.
      expect(parsed.data).toStrictEqual(preset);
    }
  });

  it("getPreset returns a preset by id", () => {
    expect(getPreset("halton")).toBe(presets.halton);
  });

  it("getPreset names the known presets when the id is unknown", () => {
    expect(() => getPreset("leeds")).toThrow(
      'Unknown protocol preset "leeds". Known presets: lcs-issues-resolution, rotherham, halton, liquidlogic-cp, nottingham.',
    );
    expect(() => getPreset("constructor")).toThrow(/Unknown protocol preset "constructor"/);
  });

  it("freezes presets so no caller can change one for every tenant", () => {
    const preset = getPreset("rotherham");
    expect(Object.isFrozen(presets)).toBe(true);
    expect(Object.isFrozen(preset)).toBe(true);
    expect(Object.isFrozen(preset.tracks.LAC?.stages[0]?.recipient)).toBe(true);
    expect(Object.isFrozen(preset.tracks.LAC?.cafcass?.documents)).toBe(true);
  });

  it("uses one role slug per job across the presets", () => {
    const roles = new Set<string>();
    for (const preset of all) {
      for (const track of Object.values(preset.tracks)) {
        for (const stage of track.stages) {
          roles.add(stage.recipient.role);
          if (stage.partnerRecipient !== undefined) roles.add(stage.partnerRecipient.role);
          for (const copy of stage.copyTo) roles.add(copy.role);
        }
        for (const referral of [track.cafcass, track.partnership]) {
          if (referral === undefined) continue;
          roles.add(referral.recipient.role);
          for (const approver of referral.approvalBy) roles.add(approver.role);
          if (referral.decision !== undefined) roles.add(referral.decision.decidedBy.role);
        }
        if (track.difference !== undefined) roles.add(track.difference.decidedBy.role);
      }
    }
    expect([...roles].sort()).toEqual([
      "agency_safeguarding_lead",
      "assistant_director",
      "assistant_team_manager",
      "cafcass",
      "case_monitoring_board",
      "director_childrens_services",
      "head_of_safeguarding",
      "head_of_service",
      "iro_service_manager",
      "iro_team_manager",
      "safeguarding_partnership",
      "safeguarding_partnership_manager",
      "service_manager",
      "social_worker",
      "team_manager",
    ]);
  });
});

describe("informalStageOptional", () => {
  it("is refused on a ladder whose first stage is not informal", () => {
    const nottingham = getPreset("nottingham");
    const lac = nottingham.tracks.LAC;
    expect(lac?.stages[0]?.informal).toBe(false);
    const variant = {
      ...nottingham,
      tracks: { LAC: { ...lac, informalStageOptional: { citation: "the IRO may bypass any level" } } },
    };
    expect(() => protocolSchema.parse(variant)).toThrow(
      /informalStageOptional needs an informal first stage/,
    );
  });
});
