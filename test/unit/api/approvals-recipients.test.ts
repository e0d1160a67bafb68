import { beforeEach, describe, expect, it, vi } from "vitest";

vi.hoisted(() => {
  process.env.POWERTOOLS_METRICS_DISABLED = "true";
  process.env.POWERTOOLS_LOG_LEVEL = "SILENT";
});

import { spec as approveSpec } from "../../../functions/api/approve-referral.js";
import { createHandler } from "../../../functions/api/http/middleware.js";
import { spec as raiseSpec } from "../../../functions/api/raise-challenge.js";
import { spec as requestSpec } from "../../../functions/api/request-referral.js";
import { logger } from "../../../functions/shared/observability.js";
import { type Caller, TENANT, apiEvent, callers, invoke } from "../../support/api-events.js";
import { type Fakes, directoryFor, makeFakes, raiseBody } from "./fakes.js";

/**
 * Issue 9 §2/§3 through the API: an approval from someone who is not the directory's holder of the
 * approving role is a 403 problem, logged by ids and code only; a partner agency with nobody in the
 * role is a 422 naming the agency and the role; copy-to roles nobody holds are named in the response.
 */

interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
}
interface CommandBody {
  challenge: { challengeId: string; currentStage: { stageId: string } | null };
  events: { type: string; summary: string }[];
}

let fakes: Fakes;

async function useProtocol(protocolId: string): Promise<void> {
  await fakes.tenants.putConfig(TENANT, { protocolId, closureDays: [], reminders: {} });
  for (const member of directoryFor(protocolId)) await fakes.tenants.upsertStaff(TENANT, member);
}

beforeEach(async () => {
  fakes = await makeFakes();
});

function raiseRotherham(overrides: Record<string, unknown> = {}) {
  const body = raiseBody(overrides);
  const form = body.form as Record<string, unknown>;
  form.track = "LAC";
  form.themes = ["drift_delay_planning"];
  return body;
}

describe("approve-referral: only the directory's holder of the approving role", () => {
  const holder: Caller = { ...callers.serviceManager, sub: "iro_service_manager-1" };

  async function requested(): Promise<string> {
    await useProtocol("rotherham");
    const raised = await invoke(
      createHandler(raiseSpec, fakes.deps),
      apiEvent("raise-challenge", { body: raiseRotherham() }),
    );
    expect(raised.status).toBe(201);
    const challengeId = (raised.body as CommandBody).challenge.challengeId;
    const referral = await invoke(
      createHandler(requestSpec, fakes.deps),
      apiEvent("request-referral", {
        pathParameters: { challengeId },
        body: {
          kind: "cafcass",
          rationale: "Acute: the placement ends in a week.",
          attestations: ["warrants_external_challenge", "acute_concern", "impact_on_child_considered"],
        },
      }),
    );
    expect(referral.status).toBe(200);
    return challengeId;
  }

  it("403 problem+json for a manager token whose subject is not in the directory, logged with ids and the code only", async () => {
    const challengeId = await requested();
    const appends = fakes.challenges.appendCalls;
    const info = vi.spyOn(logger, "info");
    const response = await invoke(
      createHandler(approveSpec, fakes.deps),
      apiEvent("approve-referral", {
        caller: callers.serviceManager, // sub "ism-1": not in the directory
        pathParameters: { challengeId, kind: "cafcass" },
        body: { approverRole: "iro_service_manager" },
      }),
    );
    expect(response.status).toBe(403);
    expect(response.headers["content-type"]).toBe("application/problem+json");
    expect(response.body).toMatchObject({
      type: "https://challenge-resolution.example/problems/NOT_APPROVER",
      title: "Not the holder of the approving role",
      status: 403,
      code: "NOT_APPROVER",
    });
    expect((response.body as Problem).detail).toMatch(
      /only the person the staff directory names as Service Manager for team Assessment Team A \(or their named cover\)/,
    );
    expect(fakes.challenges.appendCalls).toBe(appends);
    expect(info).toHaveBeenCalledWith(
      "request refused",
      expect.objectContaining({ status: 403, code: "NOT_APPROVER" }),
    );
    // Nothing personal in what was logged for the refusal: no names, no addresses, no child.
    const logged = JSON.stringify(info.mock.calls);
    expect(logged).not.toMatch(/Alice Example|@authority\.example|Person /);
    info.mockRestore();
  });

  it("accepts the holder's approval, recording the person and the role", async () => {
    const challengeId = await requested();
    const response = await invoke(
      createHandler(approveSpec, fakes.deps),
      apiEvent("approve-referral", {
        caller: holder,
        pathParameters: { challengeId, kind: "cafcass" },
        body: { approverRole: "iro_service_manager" },
      }),
    );
    expect(response.status).toBe(200);
    const stored = (await fakes.challenges.events(TENANT, challengeId)).at(-1)?.event;
    expect(stored).toMatchObject({
      type: "ReferralApproved",
      actor: { id: "iro_service_manager-1", role: "iro_service_manager" },
      data: { approverRole: "iro_service_manager" },
    });
  });

  it("403 when the holder of one approving role approves as the other", async () => {
    const challengeId = await requested();
    const response = await invoke(
      createHandler(approveSpec, fakes.deps),
      apiEvent("approve-referral", {
        caller: holder,
        pathParameters: { challengeId, kind: "cafcass" },
        body: { approverRole: "head_of_safeguarding" },
      }),
    );
    expect(response.status).toBe(403);
    expect((response.body as Problem).code).toBe("NOT_APPROVER");
  });
});

describe("raise-challenge: partner agencies and copy-to roles", () => {
  it("422 naming the agency and the role when the partner agency has nobody in it (not the council's team manager)", async () => {
    const response = await invoke(
      createHandler(raiseSpec, fakes.deps),
      apiEvent("raise-challenge", {
        body: raiseBody(),
        // Nottingham; tm-1 is the council's team manager for team-a.
      }),
    );
    expect(response.status).toBe(201);
    const body = raiseBody();
    (body.form as Record<string, unknown>).partnerAgency = {
      id: "health-trust",
      name: "Northgate Health Trust",
    };
    const refused = await invoke(createHandler(raiseSpec, fakes.deps), apiEvent("raise-challenge", { body }));
    expect(refused.status).toBe(422);
    expect(refused.headers["content-type"]).toBe("application/problem+json");
    const problem = refused.body as Problem;
    expect(problem).toMatchObject({ code: "NO_RECIPIENT", title: "Nobody holds the recipient role" });
    expect(problem.detail).toMatch(
      /holds the role "Team Manager \(or equivalent in our partner agency\)" for Northgate Health Trust/,
    );
  });

  it("names a copy-to role nobody holds in the response, as not copied: no holder", async () => {
    await useProtocol("rotherham");
    // Rotherham Stage 1 copies the responsible team's Service Manager: nobody holds it here.
    await fakes.tenants.upsertStaff(TENANT, {
      ...(directoryFor("rotherham").find((m) => m.personId === "service_manager-1") ?? {}),
      active: false,
    });
    const response = await invoke(
      createHandler(raiseSpec, fakes.deps),
      apiEvent("raise-challenge", { body: raiseRotherham({ startAtStageId: "stage_1" }) }),
    );
    expect(response.status).toBe(201);
    const opened = (response.body as CommandBody).events.find((e) => e.type === "StageOpened");
    expect(opened?.summary).toMatch(/; not copied: no holder: Service manager for the responsible team$/);
  });
});
