import { beforeEach, describe, expect, it, vi } from "vitest";

vi.hoisted(() => {
  process.env.POWERTOOLS_METRICS_DISABLED = "true";
  process.env.POWERTOOLS_LOG_LEVEL = "SILENT";
});

import { ProvisionedThroughputExceededException } from "@aws-sdk/client-dynamodb";
import { spec as acknowledgeSpec } from "../../../functions/api/acknowledge.js";
import { MAX_ATTEMPTS } from "../../../functions/app/execute-command.js";
import { createHandler } from "../../../functions/api/http/middleware.js";
import { spec as raiseSpec } from "../../../functions/api/raise-challenge.js";
import { spec as respondSpec } from "../../../functions/api/respond.js";
import { spec as shortenSpec } from "../../../functions/api/shorten-deadline.js";
import { spec as decideAfterLadderSpec } from "../../../functions/api/decide-after-ladder.js";
import { spec as getSpec } from "../../../functions/api/get-challenge.js";
import { ConcurrencyConflictError } from "../../../functions/store/ports.js";
import { type Caller, apiEvent, callers, invoke } from "../../support/api-events.js";
import { type Fakes, directoryFor, makeFakes, raiseBody } from "./fakes.js";

interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance?: string;
  code: string;
  errors?: { pointer?: string; parameter?: string; header?: string; detail: string }[];
  retryable?: boolean;
  correlationId?: string;
}
interface CommandBody {
  challenge: {
    challengeId: string;
    version: number;
    status: string;
    currentStage: { stageId: string; assignee: { personId: string } } | null;
  };
  events: { type: string; summary: string; actorRole: string; channel: string }[];
}

let fakes: Fakes;
let raise: ReturnType<typeof createHandler>;
let respond: ReturnType<typeof createHandler>;
let acknowledge: ReturnType<typeof createHandler>;
let getChallenge: ReturnType<typeof createHandler>;

beforeEach(async () => {
  fakes = await makeFakes();
  raise = createHandler(raiseSpec, fakes.deps);
  respond = createHandler(respondSpec, fakes.deps);
  acknowledge = createHandler(acknowledgeSpec, fakes.deps);
  getChallenge = createHandler(getSpec, fakes.deps);
});

async function raiseOne(caller: Caller = callers.iro): Promise<string> {
  const response = await invoke(raise, apiEvent("raise-challenge", { caller, body: raiseBody() }));
  expect(response.status).toBe(201);
  return (response.body as CommandBody).challenge.challengeId;
}

describe("raise-challenge", () => {
  it("raises with a server-generated id, returns 201 with Location and starts the workflow", async () => {
    const response = await invoke(raise, apiEvent("raise-challenge", { body: raiseBody() }));
    expect(response.status).toBe(201);
    expect(response.headers["content-type"]).toBe("application/json");
    const body = response.body as CommandBody;
    expect(body.challenge.challengeId).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(response.headers.location).toBe(`/v1/challenges/${body.challenge.challengeId}`);
    expect(body.challenge).toMatchObject({ version: 2, status: "open" });
    expect(body.challenge.currentStage).toMatchObject({ stageId: "level_1", assignee: { personId: "tm-1" } });
    expect(body.events.map((e) => e.type)).toEqual(["ChallengeRaised", "StageOpened"]);
    expect(body.events[0]).toMatchObject({ actorRole: "IRO", channel: "api" });
    expect(body.events[1]?.summary).toMatch(/^Level 1 opened for the .+; response due by/);
    expect(fakes.workflow.started).toEqual([
      { tenantId: "tenant-a", challengeId: body.challenge.challengeId },
    ]);
  });

  it("refuses an invalid form with problem+json pointing at each field, storing nothing", async () => {
    const body = raiseBody();
    const form = body.form as { child: Record<string, unknown>; worries: string };
    form.child.dateOfBirth = "2015-13-45";
    form.worries = "";
    const response = await invoke(raise, apiEvent("raise-challenge", { body }));
    expect(response.status).toBe(400);
    expect(response.headers["content-type"]).toBe("application/problem+json");
    const problem = response.body as Problem;
    expect(problem).toMatchObject({
      type: "https://challenge-resolution.example/problems/VALIDATION_ERROR",
      title: "Invalid request",
      status: 400,
      code: "VALIDATION_ERROR",
      instance: "/v1/challenges",
    });
    expect(problem.errors).toEqual(
      expect.arrayContaining([
        { pointer: "/form/child/dateOfBirth", detail: "Invalid ISO date" },
        { pointer: "/form/worries", detail: expect.stringMatching(/>=1 characters/) as unknown },
      ]),
    );
    // The rejected values are not echoed back (they may be personal data).
    expect(JSON.stringify(problem)).not.toContain("2015-13-45");
    expect(fakes.challenges.appendCalls).toBe(0);
    expect(fakes.workflow.started).toEqual([]);
  });

  it("names a missing field as required", async () => {
    const body = raiseBody();
    delete (body.form as { child: Record<string, unknown> }).child.dateOfBirth;
    const problem = (await invoke(raise, apiEvent("raise-challenge", { body }))).body as Problem;
    expect(problem.errors).toContainEqual({ pointer: "/form/child/dateOfBirth", detail: "is required" });
  });

  it("refuses fields the server supplies (actor, challengeId, tenant) instead of trusting them", async () => {
    const body = raiseBody({
      actor: { id: "someone-else", role: "IRO" },
      challengeId: "mine",
      tenantId: "tenant-b",
    });
    const response = await invoke(raise, apiEvent("raise-challenge", { body }));
    expect(response.status).toBe(400);
    const pointers = (response.body as Problem).errors?.map((e) => e.pointer);
    expect(pointers).toEqual(expect.arrayContaining(["/actor", "/challengeId", "/tenantId"]));
    expect(fakes.challenges.appendCalls).toBe(0);
  });

  it("answers malformed JSON with 400 and a non-JSON body with 415", async () => {
    const malformed = await invoke(raise, apiEvent("raise-challenge", { body: "{not json" }));
    expect(malformed.status).toBe(400);
    expect((malformed.body as Problem).code).toBe("MALFORMED_JSON");
    const xml = await invoke(
      raise,
      apiEvent("raise-challenge", { body: "<form/>", headers: { "Content-Type": "application/xml" } }),
    );
    expect(xml.status).toBe(415);
    expect(fakes.challenges.appendCalls).toBe(0);
  });

  it("turns a protocol refusal into 422 with the domain's reason", async () => {
    // Nottingham: a CPC may bypass only with a safeguarding concern.
    const body = raiseBody({ startAtStageId: "level_3", bypassRationale: "urgent" });
    (body.form as Record<string, unknown>).raiserRole = "CPC";
    const response = await invoke(raise, apiEvent("raise-challenge", { caller: callers.cpc, body }));
    expect(response.status).toBe(422);
    const problem = response.body as Problem;
    expect(problem.code).toBe("BYPASS_NOT_ALLOWED");
    expect(problem.type).toBe("https://challenge-resolution.example/problems/BYPASS_NOT_ALLOWED");
    expect(problem.detail.length).toBeGreaterThan(10);
  });

  it("raises with a concurrent Cafcass referral in one call where the protocol allows one (Halton LAC)", async () => {
    await fakes.tenants.putConfig("tenant-a", { protocolId: "halton", closureDays: [], reminders: {} });
    for (const member of directoryFor("halton")) await fakes.tenants.upsertStaff("tenant-a", member);
    const body = raiseBody({
      startAtStageId: "stage_3",
      bypassRationale: "Delay in an adoptive placement.",
      referral: {
        kind: "cafcass",
        rationale: "Risk of breach of the child's right to family life.",
        attestations: ["human_rights_risk", "no_one_else_to_bring_proceedings"],
      },
    });
    Object.assign(body.form as Record<string, unknown>, { track: "LAC", themes: ["family_finding"] });
    const response = await invoke(raise, apiEvent("raise-challenge", { body }));
    expect(response.status).toBe(201);
    const raised = response.body as CommandBody & {
      challenge: { referrals: { kind: string; status: string }[] };
    };
    expect(raised.events.map((e) => e.type)).toEqual([
      "ChallengeRaised",
      "StageOpened",
      "ReferralRequested",
      "ReferralMade",
    ]);
    expect(raised.challenge).toMatchObject({ version: 4, currentStage: { stageId: "stage_3" } });
    expect(raised.challenge.referrals).toMatchObject([{ kind: "cafcass", status: "made" }]);

    // Without a statement the protocol asks for, nothing is raised at all.
    const stored = fakes.challenges.log.size;
    const short = raiseBody({ referral: { kind: "cafcass", rationale: "Risk.", attestations: [] } });
    Object.assign(short.form as Record<string, unknown>, { track: "LAC", themes: ["family_finding"] });
    const refused = await invoke(raise, apiEvent("raise-challenge", { body: short }));
    expect(refused.status).toBe(422);
    expect(refused.body).toMatchObject({ code: "ATTESTATION_MISSING" });
    expect((refused.body as Problem).detail).toMatch(/^the challenge was not raised, because the referral/);
    expect(fakes.challenges.log.size).toBe(stored);
    expect(fakes.workflow.started).toHaveLength(1);
  });

  it("says 409 when the tenant has not chosen a protocol yet", async () => {
    fakes.tenants.configs.clear();
    const response = await invoke(raise, apiEvent("raise-challenge", { body: raiseBody() }));
    expect(response.status).toBe(409);
    expect((response.body as Problem).code).toBe("TENANT_NOT_CONFIGURED");
  });
});

describe("authorisation", () => {
  it("401 without authorizer claims", async () => {
    const response = await invoke(raise, apiEvent("raise-challenge", { caller: null, body: raiseBody() }));
    expect(response.status).toBe(401);
    expect(response.headers["www-authenticate"]).toBe("Bearer");
  });

  it("403 when the token lacks the route's scope", async () => {
    const reader = { ...callers.iro, scopes: ["challenges/read"] };
    const response = await invoke(raise, apiEvent("raise-challenge", { caller: reader, body: raiseBody() }));
    expect(response.status).toBe(403);
    expect((response.body as Problem).detail).toContain("challenges/write");
    expect(fakes.challenges.appendCalls).toBe(0);
  });

  it("403 when the token has no valid tenant or role", async () => {
    const noTenant = await invoke(
      raise,
      apiEvent("raise-challenge", {
        claims: { sub: "iro-1", role: "IRO", scope: "challenges/write" },
        body: raiseBody(),
      }),
    );
    expect(noTenant.status).toBe(403);
    expect((noTenant.body as Problem).detail).toContain("tenant_id");
    const badRole = await invoke(
      raise,
      apiEvent("raise-challenge", {
        claims: { sub: "iro-1", role: "superuser", tenant_id: "tenant-a", scope: "challenges/write" },
        body: raiseBody(),
      }),
    );
    expect(badRole.status).toBe(403);
    expect((badRole.body as Problem).detail).toContain("role");
  });

  it("reads scopes from the scope claim when the authorizer lists none", async () => {
    const response = await invoke(raise, apiEvent("raise-challenge", { scopes: null, body: raiseBody() }));
    expect(response.status).toBe(201);
  });

  it("403 for a role the route is closed to (auditors only read)", async () => {
    const auditorWithWrite = { ...callers.auditor, scopes: ["challenges/write"] };
    const response = await invoke(
      raise,
      apiEvent("raise-challenge", { caller: auditorWithWrite, body: raiseBody() }),
    );
    expect(response.status).toBe(403);
    expect((response.body as Problem).detail).toContain("auditor");
  });

  it("never returns another tenant's challenge: it is simply not found", async () => {
    const id = await raiseOne();
    const own = await invoke(
      getChallenge,
      apiEvent("get-challenge", { pathParameters: { challengeId: id } }),
    );
    expect(own.status).toBe(200);
    const foreign = await invoke(
      getChallenge,
      apiEvent("get-challenge", { caller: callers.foreignIro, pathParameters: { challengeId: id } }),
    );
    expect(foreign.status).toBe(404);
    expect(JSON.stringify(foreign.body)).not.toContain("Alice");
    // ...and another tenant cannot act on it either, even with the same directory and protocol.
    await fakes.tenants.putConfig("tenant-b", { protocolId: "nottingham", closureDays: [], reminders: {} });
    const act = await invoke(
      respond,
      apiEvent("respond", {
        caller: { ...callers.teamManager, tenant: "tenant-b" },
        pathParameters: { challengeId: id },
        body: { response: "done" },
      }),
    );
    expect(act.status).toBe(404);
    expect(fakes.challenges.snapshots.get(`tenant-a|${id}`)?.version).toBe(2);
  });
});

describe("respond: only the stage's recipient", () => {
  it("refuses a manager who is not the current recipient, clearly", async () => {
    const id = await raiseOne();
    const response = await invoke(
      respond,
      apiEvent("respond", {
        caller: callers.otherManager,
        pathParameters: { challengeId: id },
        body: { response: "We will hold a core group." },
      }),
    );
    expect(response.status).toBe(403);
    const problem = response.body as Problem;
    expect(problem.code).toBe("NOT_RECIPIENT");
    expect(problem.title).toBe("Not the stage's recipient");
    expect(problem.detail).toMatch(/only the current recipient/);
    expect(fakes.workflow.notified).toEqual([]);
  });

  it("accepts the recipient's response and wakes the workflow", async () => {
    const id = await raiseOne();
    const response = await invoke(
      respond,
      apiEvent("respond", {
        caller: callers.teamManager,
        pathParameters: { challengeId: id },
        body: { response: "We will hold a core group." },
      }),
    );
    expect(response.status).toBe(200);
    const body = response.body as CommandBody;
    expect(body.events.map((e) => e.type)).toEqual(["ResponseRecorded"]);
    expect(fakes.workflow.notified).toEqual([
      {
        tenantId: "tenant-a",
        challengeId: id,
        outcome: { action: "responded", status: "open", stageId: "level_1", version: 3 },
      },
    ]);
  });

  it("does not wake the workflow for an acknowledgement (the deadline still runs)", async () => {
    const id = await raiseOne();
    const response = await invoke(
      acknowledge,
      apiEvent("acknowledge", { caller: callers.teamManager, pathParameters: { challengeId: id } }),
    );
    expect(response.status).toBe(200);
    expect(fakes.workflow.notified).toEqual([]);
  });

  it("404 for a challenge that does not exist", async () => {
    const response = await invoke(
      respond,
      apiEvent("respond", {
        caller: callers.teamManager,
        pathParameters: { challengeId: "01J00000000000000000000000" },
        body: { response: "x" },
      }),
    );
    expect(response.status).toBe(404);
    expect((response.body as Problem).code).toBe("NOT_FOUND");
  });
});

describe("Idempotency-Key", () => {
  const KEY = "3f1c2a8e-0c7d-4b5e-9a77-2d0b5c7e1f10";

  it("replays the first response for a retry with the same key and raises only once", async () => {
    const first = await invoke(
      raise,
      apiEvent("raise-challenge", { body: raiseBody(), headers: { "Idempotency-Key": KEY } }),
    );
    const second = await invoke(
      raise,
      apiEvent("raise-challenge", { body: raiseBody(), headers: { "Idempotency-Key": KEY } }),
    );
    expect(first.status).toBe(201);
    expect(second.status).toBe(201);
    expect(second.body).toEqual(first.body);
    expect(second.headers.location).toBe(first.headers.location);
    expect(first.headers["idempotent-replayed"]).toBeUndefined();
    expect(second.headers["idempotent-replayed"]).toBe("true");
    expect(fakes.challenges.snapshots.size).toBe(1);
    expect(fakes.challenges.appendCalls).toBe(1);
    expect(fakes.workflow.started).toHaveLength(1);
  });

  it("refuses the same key with a different request (422) and runs nothing", async () => {
    await invoke(
      raise,
      apiEvent("raise-challenge", { body: raiseBody(), headers: { "Idempotency-Key": KEY } }),
    );
    const other = raiseBody({ safeguardingConcern: true });
    const response = await invoke(
      raise,
      apiEvent("raise-challenge", { body: other, headers: { "Idempotency-Key": KEY } }),
    );
    expect(response.status).toBe(422);
    expect((response.body as Problem).code).toBe("IDEMPOTENCY_KEY_REUSED");
    expect(fakes.challenges.appendCalls).toBe(1);
  });

  it("keys on tenant and route: the same key elsewhere is a different request", async () => {
    await invoke(
      raise,
      apiEvent("raise-challenge", { body: raiseBody(), headers: { "Idempotency-Key": KEY } }),
    );
    const otherCaller = await invoke(
      raise,
      apiEvent("raise-challenge", {
        caller: callers.otherIro,
        body: raiseBody(),
        headers: { "Idempotency-Key": KEY },
      }),
    );
    // Same tenant, same route, another person: the stored response is not theirs to see.
    expect(otherCaller.status).toBe(422);
    expect(fakes.idempotencyLayers.get("tenant-a")?.records.size).toBe(1);
  });

  it("does not remember failures: a retry after a refusal runs again", async () => {
    const id = await raiseOne();
    const event = () =>
      apiEvent("respond", {
        caller: callers.otherManager,
        pathParameters: { challengeId: id },
        body: { response: "x" },
        headers: { "Idempotency-Key": KEY },
      });
    expect((await invoke(respond, event())).status).toBe(403);
    expect(fakes.idempotencyLayers.get("tenant-a")?.records.size).toBe(0);
    expect((await invoke(respond, event())).status).toBe(403);
  });

  it("works without the header, and validates the header when present", async () => {
    expect((await invoke(raise, apiEvent("raise-challenge", { body: raiseBody() }))).status).toBe(201);
    const bad = await invoke(
      raise,
      apiEvent("raise-challenge", { body: raiseBody(), headers: { "Idempotency-Key": "short" } }),
    );
    expect(bad.status).toBe(400);
    expect((bad.body as Problem).errors).toEqual([
      { header: "idempotency-key", detail: expect.any(String) as unknown },
    ]);
  });
});

describe("concurrency and failures", () => {
  it("retries the whole command when another writer wins once, then succeeds", async () => {
    const id = await raiseOne();
    fakes.challenges.appendFailures.push(new ConcurrencyConflictError(id, 2));
    const response = await invoke(
      respond,
      apiEvent("respond", {
        caller: callers.teamManager,
        pathParameters: { challengeId: id },
        body: { response: "ok" },
      }),
    );
    expect(response.status).toBe(200);
    expect(fakes.observed.counts).toContain("ConcurrencyRetry");
  });

  it("answers 409 CONCURRENT_MODIFICATION when the race is lost every time", async () => {
    const id = await raiseOne();
    fakes.challenges.appendCalls = 0;
    for (let i = 0; i < MAX_ATTEMPTS; i++)
      fakes.challenges.appendFailures.push(new ConcurrencyConflictError(id, 2));
    const response = await invoke(
      respond,
      apiEvent("respond", {
        caller: callers.teamManager,
        pathParameters: { challengeId: id },
        body: { response: "ok" },
      }),
    );
    expect(response.status).toBe(409);
    expect(response.body).toMatchObject({ code: "CONCURRENT_MODIFICATION", retryable: true });
    expect(fakes.challenges.appendCalls).toBe(MAX_ATTEMPTS);
    expect(fakes.workflow.notified).toEqual([]);
  });

  it("turns DynamoDB throttling into 503 with Retry-After (retryable), nothing written", async () => {
    fakes.challenges.appendFailures.push(
      new ProvisionedThroughputExceededException({ message: "Rate exceeded", $metadata: {} }),
    );
    const response = await invoke(raise, apiEvent("raise-challenge", { body: raiseBody() }));
    expect(response.status).toBe(503);
    expect(response.headers["retry-after"]).toBe("1");
    expect(response.body).toMatchObject({ code: "SERVICE_UNAVAILABLE", retryable: true });
    expect(fakes.challenges.snapshots.size).toBe(0);
  });

  it("hides an unexpected error behind a generic 500", async () => {
    fakes.challenges.getFailures.push(new Error("connect ECONNREFUSED 10.0.0.12:8000 secret-table"));
    const response = await invoke(
      getChallenge,
      apiEvent("get-challenge", {
        pathParameters: { challengeId: "x" },
        headers: { "X-Correlation-Id": "corr-123" },
      }),
    );
    expect(response.status).toBe(500);
    const problem = response.body as Problem;
    expect(problem.code).toBe("INTERNAL_ERROR");
    expect(JSON.stringify(problem)).not.toMatch(/ECONNREFUSED|secret|10\.0\.0/);
    expect(problem.correlationId).toBe("corr-123");
  });

  it("commits and answers 200 even when waking the workflow fails", async () => {
    const id = await raiseOne();
    fakes.workflow.notifyError = new Error("SendTaskSuccess failed");
    const response = await invoke(
      respond,
      apiEvent("respond", {
        caller: callers.teamManager,
        pathParameters: { challengeId: id },
        body: { response: "ok" },
      }),
    );
    expect(response.status).toBe(200);
    expect(fakes.challenges.snapshots.get(`tenant-a|${id}`)?.version).toBe(3);
    expect(fakes.observed.counts).toContain("WorkflowSignalFailed");
  });
});

describe("correlation id", () => {
  it("echoes x-correlation-id, or the request id when none was sent", async () => {
    const sent = await invoke(
      raise,
      apiEvent("raise-challenge", { body: raiseBody(), headers: { "X-Correlation-Id": "case-sys-42" } }),
    );
    expect(sent.headers["x-correlation-id"]).toBe("case-sys-42");
    const generated = await invoke(
      raise,
      apiEvent("raise-challenge", { body: raiseBody(), requestId: "apigw-req-7" }),
    );
    expect(generated.headers["x-correlation-id"]).toBe("apigw-req-7");
    const junk = await invoke(
      raise,
      apiEvent("raise-challenge", {
        body: raiseBody(),
        requestId: "apigw-req-8",
        headers: { "X-Correlation-Id": "a b\nc" },
      }),
    );
    expect(junk.headers["x-correlation-id"]).toBe("apigw-req-8");
  });
});

describe("shorten-deadline: 000 §2.4 'a response is required more quickly'", () => {
  const shorten = () => createHandler(shortenSpec, fakes.deps);
  const body = (stageId: string) => ({
    stageId,
    window: { length: 2, unit: "working_days" },
    reason: "The child is 3 weeks old and the concern is about contact arrangements.",
  });

  it("the raiser shortens the open stage's window: 200, the new deadline, the event, the workflow woken", async () => {
    const id = await raiseOne();
    const response = await invoke(
      shorten(),
      apiEvent("shorten-deadline", { pathParameters: { challengeId: id }, body: body("level_1") }),
    );
    expect(response.status).toBe(200);
    const result = response.body as CommandBody & { challenge: { currentStage: { deadline: string } } };
    expect(result.events.map((e) => e.type)).toEqual(["DeadlineShortened"]);
    // Raised Monday 1 June 2026: two working days end Wednesday 3 June at 17:00 London (16:00Z).
    expect(result.challenge.currentStage.deadline).toBe("2026-06-03T16:00:00.000Z");
    expect(fakes.workflow.notified).toMatchObject([
      { challengeId: id, outcome: { action: "deadline_shortened", stageId: "level_1" } },
    ]);
  });

  it("an IRO service manager may shorten it; a manager (the recipient's side) may not", async () => {
    const id = await raiseOne();
    const refused = await invoke(
      shorten(),
      apiEvent("shorten-deadline", {
        caller: callers.teamManager,
        pathParameters: { challengeId: id },
        body: body("level_1"),
      }),
    );
    expect(refused.status).toBe(403);
    const accepted = await invoke(
      shorten(),
      apiEvent("shorten-deadline", {
        caller: callers.serviceManager,
        pathParameters: { challengeId: id },
        body: body("level_1"),
      }),
    );
    expect(accepted.status).toBe(200);
  });

  it("names the stage it shortens: a stage no longer open is a 409, nothing recorded", async () => {
    const id = await raiseOne();
    const before = [...fakes.challenges.log.values()].flat().length;
    const response = await invoke(
      shorten(),
      apiEvent("shorten-deadline", { pathParameters: { challengeId: id }, body: body("level_2") }),
    );
    expect(response.status).toBe(409);
    expect((response.body as Problem).code).toBe("STAGE_MOVED");
    expect([...fakes.challenges.log.values()].flat().length).toBe(before);
  });

  it("refuses a body without the stage, or with a window that is not strict", async () => {
    const id = await raiseOne();
    const { stageId: _omitted, ...withoutStage } = body("level_1");
    const missing = await invoke(
      shorten(),
      apiEvent("shorten-deadline", { pathParameters: { challengeId: id }, body: withoutStage }),
    );
    expect(missing.status).toBe(400);
    expect((missing.body as Problem).errors).toEqual([{ pointer: "/stageId", detail: "is required" }]);
    const loose = await invoke(
      shorten(),
      apiEvent("shorten-deadline", {
        pathParameters: { challengeId: id },
        body: { ...body("level_1"), window: { length: 2, unit: "working_days", from: "today" } },
      }),
    );
    expect(loose.status).toBe(400);
  });

  it("a window that does not end before the current deadline is a 422 with the domain's reason", async () => {
    const id = await raiseOne();
    const response = await invoke(
      shorten(),
      apiEvent("shorten-deadline", {
        pathParameters: { challengeId: id },
        body: { ...body("level_1"), window: { length: 10, unit: "working_days" } },
      }),
    );
    expect(response.status).toBe(422);
    expect((response.body as Problem).detail).toMatch(/not earlier than the current deadline/);
  });
});

describe("decide-after-ladder", () => {
  const decideAfter = () => createHandler(decideAfterLadderSpec, fakes.deps);
  const body = { upheld: true, reasons: "The difference is upheld: sibling contact goes into the plan." };

  it("is closed to raisers: the decision belongs to the role the protocol names", async () => {
    const id = await raiseOne();
    const response = await invoke(
      decideAfter(),
      apiEvent("decide-after-ladder", { pathParameters: { challengeId: id }, body }),
    );
    expect(response.status).toBe(403);
  });

  it("refuses a decision nobody was asked for, with the domain's reason, recording nothing", async () => {
    const id = await raiseOne();
    const before = [...fakes.challenges.log.values()].flat().length;
    const response = await invoke(
      decideAfter(),
      apiEvent("decide-after-ladder", {
        caller: callers.serviceManager,
        pathParameters: { challengeId: id },
        body,
      }),
    );
    expect(response.status).toBe(409);
    expect((response.body as Problem).detail).toMatch(/no decision is awaited/);
    expect([...fakes.challenges.log.values()].flat().length).toBe(before);
  });

  it("takes a strict, bounded body: upheld must be a boolean", async () => {
    const id = await raiseOne();
    const response = await invoke(
      decideAfter(),
      apiEvent("decide-after-ladder", {
        caller: callers.serviceManager,
        pathParameters: { challengeId: id },
        body: { ...body, upheld: "yes" },
      }),
    );
    expect(response.status).toBe(400);
    expect((response.body as Problem).errors?.[0]?.pointer).toBe("/upheld");
  });
});
