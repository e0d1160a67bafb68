import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";

vi.hoisted(() => {
  process.env.POWERTOOLS_METRICS_DISABLED = "true";
  process.env.POWERTOOLS_LOG_LEVEL = "SILENT";
});

import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { GetCommand, QueryCommand, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { spec as acknowledgeSpec } from "../../../functions/api/acknowledge.js";
import { spec as childChallengesSpec } from "../../../functions/api/child-challenges.js";
import { spec as getChallengeSpec } from "../../../functions/api/get-challenge.js";
import {
  type ApiDependencies,
  idempotencyPartition,
  idempotencyPersistenceFactory,
  presetProtocol,
} from "../../../functions/api/http/dependencies.js";
import { createHandler } from "../../../functions/api/http/middleware.js";
import { spec as myTraySpec } from "../../../functions/api/my-tray.js";
import { spec as raiseSpec } from "../../../functions/api/raise-challenge.js";
import { spec as respondSpec } from "../../../functions/api/respond.js";
import { DynamoChallengeStore } from "../../../functions/store/dynamo-challenge-store.js";
import { keys } from "../../../functions/store/table.js";
import { TenantStore } from "../../../functions/store/tenant-store.js";
import { TENANT, apiEvent, callers, invoke } from "../../support/api-events.js";
import { createTestTable, dynamoDbEndpoint, localDocumentClient } from "../../support/dynamodb-local.js";
import { FakeWorkflow, InMemoryGoodPractice, NOW, directoryFor, raiseBody } from "../../unit/api/fakes.js";

/**
 * The API handlers and the application service against the real repositories and the real
 * Powertools DynamoDB idempotency layer, on DynamoDB Local: one table for challenges, events,
 * tenant configuration and idempotency records.
 */

let client: DynamoDBDocumentClient;
let raw: DynamoDBClient;
let tableName: string;
let drop: () => Promise<void>;
let deps: ApiDependencies;
let workflow: FakeWorkflow;

beforeAll(async () => {
  client = localDocumentClient();
  raw = new DynamoDBClient({
    endpoint: dynamoDbEndpoint(),
    region: "eu-west-2",
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
  });
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

beforeEach(() => {
  workflow = new FakeWorkflow();
  deps = { ...deps, workflow };
});

afterAll(async () => {
  await drop();
  client.destroy();
  raw.destroy();
});

interface CommandBody {
  challenge: { challengeId: string; version: number };
}

describe("handlers on DynamoDB Local", () => {
  it("raises, lists in the recipient's tray, responds and shows the timeline", async () => {
    const raised = await invoke(
      createHandler(raiseSpec, deps),
      apiEvent("raise-challenge", { body: raiseBody() }),
    );
    expect(raised.status).toBe(201);
    const id = (raised.body as CommandBody).challenge.challengeId;

    const tray = await invoke(
      createHandler(myTraySpec, deps),
      apiEvent("my-tray", { caller: callers.teamManager }),
    );
    expect((tray.body as { items: { challengeId: string }[] }).items.map((i) => i.challengeId)).toContain(id);

    const refused = await invoke(
      createHandler(respondSpec, deps),
      apiEvent("respond", {
        caller: callers.otherManager,
        pathParameters: { challengeId: id },
        body: { response: "x" },
      }),
    );
    expect(refused.status).toBe(403);

    const responded = await invoke(
      createHandler(respondSpec, deps),
      apiEvent("respond", {
        caller: callers.teamManager,
        pathParameters: { challengeId: id },
        body: { response: "ok" },
      }),
    );
    expect(responded.status).toBe(200);
    expect(workflow.notified.map((n) => n.outcome.action)).toEqual(["responded"]);

    const got = await invoke(
      createHandler(getChallengeSpec, deps),
      apiEvent("get-challenge", { pathParameters: { challengeId: id } }),
    );
    const body = got.body as { challenge: { version: number }; timeline: { type: string }[] };
    expect(body.challenge.version).toBe(3);
    expect(body.timeline.map((e) => e.type)).toEqual(["ChallengeRaised", "StageOpened", "ResponseRecorded"]);

    const foreign = await invoke(
      createHandler(getChallengeSpec, deps),
      apiEvent("get-challenge", { caller: callers.foreignIro, pathParameters: { challengeId: id } }),
    );
    expect(foreign.status).toBe(404);
  });

  it("pages a tray with one name, next, in the query and the response; the last page has none", async () => {
    const caseRecordId = "LCS-PAGING-1";
    const raised: string[] = [];
    for (let i = 0; i < 2; i += 1) {
      const body = raiseBody();
      const form = body.form as { child: Record<string, unknown> };
      form.child = { ...form.child, caseRecordId };
      const response = await invoke(createHandler(raiseSpec, deps), apiEvent("raise-challenge", { body }));
      expect(response.status).toBe(201);
      raised.push((response.body as CommandBody).challenge.challengeId);
    }
    const handler = createHandler(childChallengesSpec, deps);
    const read = (query: Record<string, string>) =>
      invoke(
        handler,
        apiEvent("child-challenges", { caller: callers.lcs, pathParameters: { caseRecordId }, query }),
      );
    const first = await read({ limit: "1" });
    const firstBody = first.body as { items: { challengeId: string }[]; next?: string };
    expect(firstBody.items).toHaveLength(1);
    expect(firstBody.next).toEqual(expect.any(String));
    const second = await read({ limit: "1", next: firstBody.next ?? "" });
    const secondBody = second.body as { items: { challengeId: string }[]; next?: string };
    expect(secondBody.items).toHaveLength(1);
    // Two challenges, two full pages: the second is the last, so it carries no `next`.
    expect(secondBody).not.toHaveProperty("next");
    expect([...firstBody.items, ...secondBody.items].map((i) => i.challengeId).sort()).toEqual(raised.sort());
    // The old parameter name is not silently ignored into a first page.
    const old = await read({ limit: "1", cursor: firstBody.next ?? "" });
    expect(old.status).toBe(400);
  });

  it("replays an Idempotency-Key from the table and raises once", async () => {
    const handler = createHandler(raiseSpec, deps);
    const key = "9d4c7f0a-1b2c-4d3e-8f90-a1b2c3d4e5f6";
    const first = await invoke(
      handler,
      apiEvent("raise-challenge", { body: raiseBody(), headers: { "Idempotency-Key": key } }),
    );
    const second = await invoke(
      handler,
      apiEvent("raise-challenge", { body: raiseBody(), headers: { "Idempotency-Key": key } }),
    );
    expect(second.status).toBe(201);
    expect(second.body).toEqual(first.body);
    expect(second.headers["idempotent-replayed"]).toBe("true");
    expect(workflow.started).toHaveLength(1);

    const { Items } = await client.send(
      new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: "pk = :pk",
        ExpressionAttributeValues: { ":pk": idempotencyPartition(TENANT) },
      }),
    );
    expect(Items).toHaveLength(1);
    expect(Items?.[0]).toMatchObject({ status: "COMPLETED", expiresAt: expect.any(Number) as unknown });
    expect(String(Items?.[0]?.sk)).toMatch(/^api#/);
  });

  it("concurrent actions on one challenge both land: the loser retries on the fresh state", async () => {
    const raised = await invoke(
      createHandler(raiseSpec, deps),
      apiEvent("raise-challenge", { body: raiseBody() }),
    );
    const id = (raised.body as CommandBody).challenge.challengeId;
    const [ack, response] = await Promise.all([
      invoke(
        createHandler(acknowledgeSpec, deps),
        apiEvent("acknowledge", { caller: callers.teamManager, pathParameters: { challengeId: id } }),
      ),
      invoke(
        createHandler(respondSpec, deps),
        apiEvent("respond", {
          caller: callers.teamManager,
          pathParameters: { challengeId: id },
          body: { response: "ok" },
        }),
      ),
    ]);
    expect([ack.status, response.status]).toEqual([200, 200]);
    const { Item } = await client.send(
      new GetCommand({ TableName: tableName, Key: keys.challenge(TENANT, id) }),
    );
    expect((Item as { version: number } | undefined)?.version).toBe(4);
  });
});
