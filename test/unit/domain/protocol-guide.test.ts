import { describe, expect, it } from "vitest";
import { getPreset } from "../../../functions/domain/presets/index.js";
import {
  protocolGuide,
  protocolRoles,
  rolesWithoutHolder,
} from "../../../functions/domain/protocol-guide.js";

const halton = getPreset("halton");

describe("the protocol guide (GET /v1/config, npm run authority -- init)", () => {
  it("lists every track's stages with label, recipient and window, and the themes", () => {
    const guide = protocolGuide(halton);
    expect(guide.tracks.map((t) => t.track).sort()).toEqual(Object.keys(halton.tracks).sort());
    for (const { track, stages } of guide.tracks) {
      const source = halton.tracks[track]?.stages ?? [];
      expect(stages.map((s) => [s.id, s.label, s.recipient.role, s.window.length, s.window.unit])).toEqual(
        source.map((s) => [
          s.id,
          s.label,
          s.recipient.role,
          s.window?.length ?? s.responseWindowWorkingDays,
          s.window?.unit ?? "working_days",
        ]),
      );
    }
    // Halton CP: "The alert will progress up to the next stage if a response is not received or
    // resolution is not achieved." Both rules are shown, so an authority sees no stage can stall.
    const cp = guide.tracks.find((t) => t.track === "CP");
    expect(cp?.stages.every((s) => s.onNoResponse === "escalate" && s.onNoResolution === "escalate")).toBe(
      true,
    );
    expect(guide.themes.map((t) => t.id)).toEqual(halton.themes.map((t) => t.id));
  });

  it("names each role once, including referral recipients and copies", () => {
    const roles = protocolRoles(halton).map((r) => r.role);
    expect(new Set(roles).size).toBe(roles.length);
    const stageRoles = Object.values(halton.tracks).flatMap((t) => t.stages.map((s) => s.recipient.role));
    for (const role of stageRoles) expect(roles).toContain(role);
    const cafcass = halton.tracks.LAC?.cafcass?.recipient.role;
    if (cafcass !== undefined) expect(roles).toContain(cafcass);
  });

  it("says which roles have no holder, and for which teams", () => {
    const [first, second, ...rest] = protocolRoles(halton);
    if (first === undefined || second === undefined) throw new Error("halton has fewer than two roles");
    const staff = [
      { active: true, roles: [{ role: first.role, scope: { kind: "team", teamId: "team-a" } }] },
      { active: true, roles: [{ role: second.role, scope: { kind: "authority" } }] },
      { active: true, roles: [{ role: "unrelated", scope: { kind: "team", teamId: "team-b" } }] },
      // Someone who has left holds every other role: they do not count.
      { active: false, roles: rest.map((r) => ({ role: r.role, scope: { kind: "authority" } })) },
    ];
    const missing = rolesWithoutHolder(halton, staff);
    expect(missing.find((m) => m.role === first.role)?.teams).toEqual(["team-b"]);
    expect(missing.find((m) => m.role === second.role)).toBeUndefined();
    expect(missing.filter((m) => m.teams.length === 0).map((m) => m.role)).toEqual(rest.map((r) => r.role));
  });
});
