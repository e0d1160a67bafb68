import { beforeEach, describe, expect, it, vi } from "vitest";

vi.hoisted(() => {
  process.env.POWERTOOLS_METRICS_DISABLED = "true";
  process.env.POWERTOOLS_LOG_LEVEL = "SILENT";
});

import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  PutItemCommand,
  ProvisionedThroughputExceededException,
  UpdateItemCommand,
} from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, GetCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { spec as getChallengeSpec } from "../../../functions/api/get-challenge.js";
import { idempotencyPersistenceFactory, tenantWrites } from "../../../functions/api/http/dependencies.js";
import { createHandler } from "../../../functions/api/http/middleware.js";
import { spec as raiseSpec } from "../../../functions/api/raise-challenge.js";
import { DynamoChallengeStore } from "../../../functions/store/dynamo-challenge-store.js";
import { TenantReader, TenantStore } from "../../../functions/store/tenant-store.js";
import { apiEvent, invoke } from "../../support/api-events.js";
import { type Fakes, makeFakes, raiseBody } from "./fakes.js";

/** The real AWS adapters with the SDK mocked: what DynamoDB failures look like at the API. */

const TABLE = "challenges";
const ddbMock = mockClient(DynamoDBClient);
const docMock = mockClient(DynamoDBDocumentClient);

let fakes: Fakes;
beforeEach(async () => {
  ddbMock.reset();
  docMock.reset();
  fakes = await makeFakes();
});

const throttled = () =>
  new ProvisionedThroughputExceededException({ message: "Rate exceeded", $metadata: {} });

describe("DynamoChallengeStore throttled", () => {
  it("surfaces as 503 with Retry-After and a retryable hint", async () => {
    docMock.on(GetCommand).rejects(throttled());
    docMock.on(QueryCommand).rejects(throttled());
    const store = new DynamoChallengeStore(
      DynamoDBDocumentClient.from(new DynamoDBClient({ region: "eu-west-2" })),
      TABLE,
    );
    const handler = createHandler(getChallengeSpec, { ...fakes.deps, challenges: store });
    const response = await invoke(
      handler,
      apiEvent("get-challenge", { pathParameters: { challengeId: "01J" } }),
    );
    expect(response.status).toBe(503);
    expect(response.headers["retry-after"]).toBe("1");
    expect(response.body).toMatchObject({ code: "SERVICE_UNAVAILABLE", retryable: true, status: 503 });
  });
});

describe("Idempotency over DynamoDB (Powertools DynamoDBPersistenceLayer in the single table)", () => {
  const KEY = "0b8f5d0e-5a3c-4c1e-8f7e-3a9d2b1c4e5f";
  const withDynamoIdempotency = () => ({
    ...fakes.deps,
    idempotency: idempotencyPersistenceFactory(TABLE, new DynamoDBClient({ region: "eu-west-2" })),
  });

  it("writes the record under the tenant's partition with the table's TTL attribute, then replays it", async () => {
    ddbMock.on(PutItemCommand).resolves({});
    ddbMock.on(UpdateItemCommand).resolves({});
    const handler = createHandler(raiseSpec, withDynamoIdempotency());
    const first = await invoke(
      handler,
      apiEvent("raise-challenge", { body: raiseBody(), headers: { "Idempotency-Key": KEY } }),
    );
    expect(first.status).toBe(201);

    const put = ddbMock.commandCalls(PutItemCommand)[0]?.args[0].input;
    expect(put?.TableName).toBe(TABLE);
    expect(put?.Item?.pk).toEqual({ S: "T#tenant-a#IDEMPOTENCY" });
    expect(put?.Item?.sk?.S).toMatch(/^api#/);
    expect(put?.Item?.status).toEqual({ S: "INPROGRESS" });
    expect(put?.Item?.expiresAt?.N).toMatch(/^\d+$/);
    const update = ddbMock.commandCalls(UpdateItemCommand)[0]?.args[0].input;
    expect(update?.Key).toEqual({ pk: put?.Item?.pk, sk: put?.Item?.sk });
    const values = update?.ExpressionAttributeValues ?? {};
    expect(values[":status"]).toEqual({ S: "COMPLETED" });

    // The retry: DynamoDB refuses the in-progress put and hands back the completed record.
    ddbMock.reset();
    ddbMock.on(PutItemCommand).rejects(
      new ConditionalCheckFailedException({
        message: "exists",
        $metadata: {},
        Item: {
          pk: put?.Item?.pk ?? { S: "" },
          sk: put?.Item?.sk ?? { S: "" },
          status: { S: "COMPLETED" },
          expiresAt: { N: String(Math.floor(Date.now() / 1000) + 3600) },
          data: values[":response_data"] ?? { NULL: true },
          validation: values[":validation_key"] ?? { S: "" },
        },
      }),
    );
    const appendsBefore = fakes.challenges.appendCalls;
    const second = await invoke(
      handler,
      apiEvent("raise-challenge", { body: raiseBody(), headers: { "Idempotency-Key": KEY } }),
    );
    expect(second.status).toBe(201);
    expect(second.body).toEqual(first.body);
    expect(second.headers["idempotent-replayed"]).toBe("true");
    expect(fakes.challenges.appendCalls).toBe(appendsBefore);
  });

  it("a throttled idempotency table is a 503, and nothing is raised", async () => {
    ddbMock.on(PutItemCommand).rejects(throttled());
    const handler = createHandler(raiseSpec, withDynamoIdempotency());
    const response = await invoke(
      handler,
      apiEvent("raise-challenge", { body: raiseBody(), headers: { "Idempotency-Key": KEY } }),
    );
    expect(response.status).toBe(503);
    expect(fakes.challenges.appendCalls).toBe(0);
  });

  it("answers the command even when its response cannot be remembered", async () => {
    ddbMock.on(PutItemCommand).resolves({});
    ddbMock.on(UpdateItemCommand).rejects(throttled());
    const handler = createHandler(raiseSpec, withDynamoIdempotency());
    const response = await invoke(
      handler,
      apiEvent("raise-challenge", { body: raiseBody(), headers: { "Idempotency-Key": KEY } }),
    );
    expect(response.status).toBe(201);
    expect(fakes.challenges.snapshots.size).toBe(1);
  });
});

describe("the tenant store's reads and writes", () => {
  const client = DynamoDBDocumentClient.from(new DynamoDBClient({ region: "eu-west-2" }));

  it("wires the writes only where a route asks for them, and says so when they are missing", () => {
    const reader = new TenantReader(client, "table");
    expect(() => tenantWrites(reader)).toThrow(/writes are not wired/);
    const store = new TenantStore(client, "table");
    expect(tenantWrites(store)).toBe(store);
  });
});
