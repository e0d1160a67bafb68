import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";

vi.hoisted(() => {
  process.env.POWERTOOLS_METRICS_DISABLED = "true";
  process.env.POWERTOOLS_LOG_LEVEL = "SILENT";
});

import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { spec as escalateSpec } from "../../../functions/api/escalate.js";
import { spec as getChallengeSpec } from "../../../functions/api/get-challenge.js";
import {
  type ApiDependencies,
  idempotencyPersistenceFactory,
  presetProtocol,
} from "../../../functions/api/http/dependencies.js";
import { createHandler } from "../../../functions/api/http/middleware.js";
import { spec as raiseSpec } from "../../../functions/api/raise-challenge.js";
import { spec as respondSpec } from "../../../functions/api/respond.js";
import { DynamoChallengeStore } from "../../../functions/store/dynamo-challenge-store.js";
import { TenantStore } from "../../../functions/store/tenant-store.js";
import { TENANT, apiEvent, callers, invoke } from "../../support/api-events.js";
import { createTestTable, dynamoDbEndpoint, localDocumentClient } from "../../support/dynamodb-local.js";
import { FakeWorkflow, InMemoryGoodPractice, NOW, directoryFor, raiseBody } from "../../unit/api/fakes.js";

/**
 * Commands act once, on DynamoDB Local's real conditional writes: concurrent requests that name the
 * stage they act on cannot walk a challenge up the ladder (issue 10: twenty concurrent escalations
 * from level 1 once gave four 200s and reached ladder_exhausted).
 */

let client: DynamoDBDocumentClient;
let raw: DynamoDBClient;
let drop: () => Promise<void>;
let deps: ApiDependencies;

beforeAll(async () => {
  client = localDocumentClient();
  raw = new DynamoDBClient({
    endpoint: dynamoDbEndpoint(),
    region: "eu-west-2",
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
  });
  let tableName: string;
  ({ tableName, drop } = await createTestTable(client));
  const tenants = new TenantStore(client, tableName, () => NOW);
  await tenants.putConfig(TENANT, { protocolId: "nottingham", closureDays: [], reminders: {} });
  for (const member of directoryFor()) await tenants.upsertStaff(TENANT, member);
  deps = {
    challenges: new DynamoChallengeStore(client, tableName),
    tenants,
    protocols: presetProtocol,
    workflow: new FakeWorkflow(),
    clock: () => NOW,
    goodPractice: new InMemoryGoodPractice(),
    idempotency: idempotencyPersistenceFactory(tableName, raw),
    idempotencyTtlSeconds: 3600,
  };
});

afterAll(async () => {
  await drop();
  client.destroy();
  raw.destroy();
});

interface Challenge {
  challengeId: string;
  version: number;
  currentStage: { stageId: string } | null;
}
interface Problem {
  code: string;
  detail: string;
}

async function raise(): Promise<Challenge> {
  const raised = await invoke(
    createHandler(raiseSpec, deps),
    apiEvent("raise-challenge", { body: raiseBody() }),
  );
  expect(raised.status).toBe(201);
  return (raised.body as { challenge: Challenge }).challenge;
}

async function timeline(challengeId: string): Promise<{ challenge: Challenge; types: string[] }> {
  const got = await invoke(
    createHandler(getChallengeSpec, deps),
    apiEvent("get-challenge", { pathParameters: { challengeId } }),
  );
  const body = got.body as { challenge: Challenge; timeline: { type: string }[] };
  return { challenge: body.challenge, types: body.timeline.map((e) => e.type) };
}

function escalation(challengeId: string, stageId: string, n: number) {
  return invoke(
    createHandler(escalateSpec, deps),
    apiEvent("escalate", {
      caller: callers.iro,
      pathParameters: { challengeId },
      body: { stageId, reasons: `Escalation request ${String(n)}: the response does not answer the worry.` },
    }),
  );
}

describe("commands act once, on DynamoDB Local", () => {
  it("20 concurrent escalations from level 1 naming it: exactly one is accepted, the challenge is at level 2", async () => {
    const raised = await raise();
    const from = raised.currentStage?.stageId ?? "";
    expect(from).not.toBe("");

    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, n) => escalation(raised.challengeId, from, n)),
    );

    const accepted = responses.filter((r) => r.status === 200);
    expect(accepted).toHaveLength(1);
    const refused = responses.filter((r) => r.status !== 200);
    // Every other one is told the challenge moved on, and where it is now.
    for (const r of refused) {
      expect(r.status).toBe(409);
      expect((r.body as Problem).code).toBe("STAGE_MOVED");
    }
    const after = await timeline(raised.challengeId);
    expect(after.types.filter((t) => t === "Escalated")).toHaveLength(1);
    expect(after.challenge.currentStage?.stageId).not.toBe(from);
    expect(after.challenge.currentStage?.stageId).toBe("level_2");
    for (const r of refused) expect((r.body as Problem).detail).toContain('"level_2"');
  }, 60_000);

  it("10 responses and 10 escalations mixed: exactly one escalation, every response to level 1 only", async () => {
    const raised = await raise();
    const from = raised.currentStage?.stageId ?? "";
    const respond = (n: number) =>
      invoke(
        createHandler(respondSpec, deps),
        apiEvent("respond", {
          caller: callers.teamManager,
          pathParameters: { challengeId: raised.challengeId },
          body: { stageId: from, response: `Response ${String(n)}: a core group is booked.` },
        }),
      );
    const all = await Promise.all(
      Array.from({ length: 20 }, (_, n) =>
        n % 2 === 0 ? escalation(raised.challengeId, from, n) : respond(n),
      ),
    );

    const escalations = all.filter((_, n) => n % 2 === 0);
    expect(escalations.filter((r) => r.status === 200)).toHaveLength(1);
    for (const r of [...all]) {
      // Accepted, moved on, or (after the service's own retries) changed concurrently: never anything else.
      expect([200, 409]).toContain(r.status);
      if (r.status === 409)
        expect(["STAGE_MOVED", "CONCURRENT_MODIFICATION"]).toContain((r.body as Problem).code);
    }
    const after = await timeline(raised.challengeId);
    expect(after.types.filter((t) => t === "Escalated")).toHaveLength(1);
    expect(after.challenge.currentStage?.stageId).toBe("level_2");
    // Several responses to one stage are allowed by design; none landed after the escalation.
    const escalatedAt = after.types.indexOf("Escalated");
    expect(after.types.slice(escalatedAt).filter((t) => t === "ResponseRecorded")).toHaveLength(0);
    expect(after.types.filter((t) => t === "ResponseRecorded").length).toBe(
      all.filter((r, n) => n % 2 === 1 && r.status === 200).length,
    );
  }, 60_000);

  it("If-Match: a command on the version read acts; on an older one it is refused with 412 and the current version", async () => {
    const raised = await raise();
    const read = await invoke(
      createHandler(getChallengeSpec, deps),
      apiEvent("get-challenge", { pathParameters: { challengeId: raised.challengeId } }),
    );
    const etag = read.headers.etag ?? "";
    expect(etag).toBe(`"${String(raised.version)}"`);
    const responded = await invoke(
      createHandler(respondSpec, deps),
      apiEvent("respond", {
        caller: callers.teamManager,
        pathParameters: { challengeId: raised.challengeId },
        headers: { "If-Match": etag },
        body: { response: "A core group is booked for Thursday." },
      }),
    );
    expect(responded.status).toBe(200);
    expect(responded.headers.etag).toBe(`"${String(raised.version + 1)}"`);
    const stale = await invoke(
      createHandler(escalateSpec, deps),
      apiEvent("escalate", {
        caller: callers.iro,
        pathParameters: { challengeId: raised.challengeId },
        headers: { "If-Match": etag },
        body: { stageId: raised.currentStage?.stageId, reasons: "Decided before reading the response." },
      }),
    );
    expect(stale.status).toBe(412);
    expect((stale.body as Problem).code).toBe("VERSION_MISMATCH");
    expect((stale.body as Problem).detail).toContain(`version ${String(raised.version + 1)}`);
    expect((await timeline(raised.challengeId)).types).not.toContain("Escalated");
  });
});
