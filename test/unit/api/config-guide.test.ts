import { beforeEach, describe, expect, it } from "vitest";
import { spec as getConfigSpec } from "../../../functions/api/get-config.js";
import { createHandler } from "../../../functions/api/http/middleware.js";
import { getPreset } from "../../../functions/domain/presets/index.js";
import { apiEvent, callers, invoke } from "../../support/api-events.js";
import { type Fakes, makeFakes } from "./fakes.js";

describe("GET /v1/config for an integrator", () => {
  let fakes: Fakes;
  beforeEach(async () => {
    fakes = await makeFakes();
  });

  it("lists per track the stage ids, labels, recipients and windows, the themes and the roles", async () => {
    const handler = createHandler(getConfigSpec, fakes.deps);
    const response = await invoke(handler, apiEvent("get-config", { caller: callers.auditor }));
    expect(response.status).toBe(200);
    const nottingham = getPreset("nottingham");
    const { guide } = response.body as {
      guide: {
        tracks: {
          track: string;
          stages: { id: string; label: string; window: { length: number; unit: string } }[];
        }[];
        themes: { id: string }[];
        roles: { role: string }[];
      };
    };
    const lac = guide.tracks.find((t) => t.track === "LAC");
    expect(lac?.stages.map((s) => [s.id, s.label, s.window.length, s.window.unit])).toEqual(
      nottingham.tracks.LAC?.stages.map((s) => [s.id, s.label, s.responseWindowWorkingDays, "working_days"]),
    );
    expect(guide.themes.map((t) => t.id)).toEqual(nottingham.themes.map((t) => t.id));
    expect(guide.roles.map((r) => r.role)).toContain("team_manager");
  });
});
