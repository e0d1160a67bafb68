import { GetCommand, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DedupeStore } from "../../../functions/store/dedupe-store.js";
import { keys } from "../../../functions/store/table.js";
import { createTestTable, localDocumentClient } from "../../support/dynamodb-local.js";
import { TENANT_A, TENANT_B } from "../../support/fixtures.js";

let client: DynamoDBDocumentClient;
let tableName: string;
let drop: () => Promise<void>;
let now = new Date("2025-03-03T09:00:00.000Z");
let dedupe: DedupeStore;

beforeAll(async () => {
  client = localDocumentClient();
  ({ tableName, drop } = await createTestTable(client));
  dedupe = new DedupeStore(client, tableName, () => now);
});

afterAll(async () => {
  await drop();
  client.destroy();
});

describe("claimOnce", () => {
  it("is true the first time only", async () => {
    const id = "<CAE0001@mail.test-borough.example>";
    expect(await dedupe.claimOnce(TENANT_A, "message-id", id, 3600)).toBe(true);
    expect(await dedupe.claimOnce(TENANT_A, "message-id", id, 3600)).toBe(false);
  });

  it("lets exactly one of many simultaneous claims through", async () => {
    const results = await Promise.all(
      Array.from({ length: 10 }, () => dedupe.claimOnce(TENANT_A, "message-id", "<race@test.example>", 3600)),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it("keeps tenants and kinds apart", async () => {
    expect(await dedupe.claimOnce(TENANT_A, "reply-token", "abc", 3600)).toBe(true);
    expect(await dedupe.claimOnce(TENANT_B, "reply-token", "abc", 3600)).toBe(true);
    expect(await dedupe.claimOnce(TENANT_A, "idempotency", "abc", 3600)).toBe(true);
  });

  it("stores expiresAt in epoch seconds, the only TTL in the table", async () => {
    await dedupe.claimOnce(TENANT_A, "message-id", "<ttl@test.example>", 600);
    const { Item } = await client.send(
      new GetCommand({
        TableName: tableName,
        Key: keys.dedupe(TENANT_A, "message-id", "<ttl@test.example>"),
      }),
    );
    expect(Item).toMatchObject({ entity: "dedupe", tenantId: TENANT_A, kind: "message-id" });
    expect(Item?.expiresAt).toBe(Math.floor(now.getTime() / 1000) + 600);
  });

  it("treats an expired claim as gone even before DynamoDB deletes it", async () => {
    expect(await dedupe.claimOnce(TENANT_A, "message-id", "<expiring@test.example>", 60)).toBe(true);
    now = new Date(now.getTime() + 59_000);
    expect(await dedupe.claimOnce(TENANT_A, "message-id", "<expiring@test.example>", 60)).toBe(false);
    now = new Date(now.getTime() + 1_000);
    expect(await dedupe.claimOnce(TENANT_A, "message-id", "<expiring@test.example>", 60)).toBe(true);
    expect(await dedupe.claimOnce(TENANT_A, "message-id", "<expiring@test.example>", 60)).toBe(false);
  });

  it("handles keys too long for a readable key by hashing them", async () => {
    const long = `<${"x".repeat(3_000)}@test.example>`;
    expect(await dedupe.claimOnce(TENANT_A, "message-id", long, 60)).toBe(true);
    expect(await dedupe.claimOnce(TENANT_A, "message-id", long, 60)).toBe(false);
    expect(await dedupe.claimOnce(TENANT_A, "message-id", `${long}y`, 60)).toBe(true);
  });

  it("refuses a nonsensical TTL or kind", async () => {
    await expect(dedupe.claimOnce(TENANT_A, "message-id", "k", 0)).rejects.toThrow(RangeError);
    await expect(dedupe.claimOnce(TENANT_A, "message-id", "k", 1.5)).rejects.toThrow(RangeError);
    await expect(dedupe.claimOnce(TENANT_A, "Message ID", "k", 60)).rejects.toThrow(/dedupe kind/);
  });
});

describe("release", () => {
  it("gives a claim back, so the next claim of the key succeeds, and touches no other tenant's", async () => {
    const id = "<released@test.example>";
    expect(await dedupe.claimOnce(TENANT_A, "inbound-message", id, 3600)).toBe(true);
    expect(await dedupe.claimOnce(TENANT_B, "inbound-message", id, 3600)).toBe(true);
    await dedupe.release(TENANT_A, "inbound-message", id);
    expect(await dedupe.claimOnce(TENANT_A, "inbound-message", id, 3600)).toBe(true);
    expect(await dedupe.claimOnce(TENANT_B, "inbound-message", id, 3600)).toBe(false);
  });
});
