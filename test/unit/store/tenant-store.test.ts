import { DynamoDBClient, ProvisionedThroughputExceededException } from "@aws-sdk/client-dynamodb";
import {
  DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  TransactWriteCommand,
} from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, describe, expect, it } from "vitest";
import { keys } from "../../../functions/store/table.js";
import { TenantStore, type StaffMember } from "../../../functions/store/tenant-store.js";

const ddb = mockClient(DynamoDBDocumentClient);
const store = new TenantStore(
  DynamoDBDocumentClient.from(new DynamoDBClient({ region: "eu-west-2" })),
  "table",
);

afterEach(() => {
  ddb.reset();
});

const item = (personId: string) => {
  const member: StaffMember = {
    personId,
    displayName: "Invented Person",
    email: `${personId}@test-borough.example`,
    active: true,
    roles: [],
  };
  return {
    ...keys.staff("lbx", personId),
    entity: "staff",
    tenantId: "lbx",
    member,
    updatedAt: "2025-03-03T09:00:00.000Z",
  };
};

describe("listStaff", () => {
  it("follows LastEvaluatedKey until the directory is read to the end", async () => {
    const second = keys.staff("lbx", "p2");
    ddb
      .on(QueryCommand)
      .resolvesOnce({ Items: [item("p1"), item("p2")], LastEvaluatedKey: second })
      .resolvesOnce({ Items: [item("p3")] });
    expect((await store.listStaff("lbx")).map((m) => m.personId)).toEqual(["p1", "p2", "p3"]);
    const calls = ddb.commandCalls(QueryCommand);
    expect(calls).toHaveLength(2);
    expect(calls[1]?.args[0].input.ExclusiveStartKey).toEqual(second);
  });

  it("lets throttling propagate as itself", async () => {
    const error = new ProvisionedThroughputExceededException({ message: "slow down", $metadata: {} });
    ddb.on(QueryCommand).rejects(error);
    await expect(store.listStaff("lbx")).rejects.toBe(error);
  });
});

describe("the configuration and directory cache", () => {
  const config = {
    ...keys.config("lbx"),
    entity: "config",
    tenantId: "lbx",
    config: { protocolId: "nottingham", closureDays: [], reminders: {} },
    updatedAt: "2025-03-03T09:00:00.000Z",
  };
  const version = (n: number) => ({
    ...keys.tenantVersion("lbx"),
    entity: "tenant-version",
    tenantId: "lbx",
    version: n,
    updatedAt: "2025-03-03T09:00:00.000Z",
  });

  it("answers at the version it read without a call, and reads the partition again at any other", async () => {
    const cached = new TenantStore(
      DynamoDBDocumentClient.from(new DynamoDBClient({ region: "eu-west-2" })),
      "t",
    );
    ddb.on(QueryCommand).resolves({ Items: [config, item("p1"), version(3)] });
    expect((await cached.getConfig("lbx", 3))?.protocolId).toBe("nottingham");
    await cached.directoryLookup("lbx", 3);
    expect(ddb.commandCalls(QueryCommand)).toHaveLength(1);
    expect(ddb.commandCalls(QueryCommand)[0]?.args[0].input.ConsistentRead).toBe(true);
    await cached.directoryLookup("lbx", 4);
    expect(ddb.commandCalls(QueryCommand)).toHaveLength(2);
  });

  it("keeps what it read under the older of the two versions, so a write caught half-way is read again", async () => {
    const cached = new TenantStore(
      DynamoDBDocumentClient.from(new DynamoDBClient({ region: "eu-west-2" })),
      "t",
    );
    // Asked at 5 but the query saw 4 (cannot happen with consistent reads; if it did, read again).
    ddb.on(QueryCommand).resolves({ Items: [config, version(4)] });
    await cached.getConfig("lbx", 5);
    await cached.getConfig("lbx", 5);
    expect(ddb.commandCalls(QueryCommand)).toHaveLength(2);
  });

  it("raises the version in the same transaction as every configuration or staff write, on the version read", async () => {
    ddb.on(GetCommand).resolves({}); // no version item yet: version 0
    ddb.on(QueryCommand).resolves({ Items: [] });
    ddb.on(TransactWriteCommand).resolves({});
    await store.upsertStaff("lbx", item("p9").member);
    await store.putConfig("lbx", config.config);
    const writes = ddb.commandCalls(TransactWriteCommand).map((call) => call.args[0].input.TransactItems);
    expect(writes).toHaveLength(2);
    for (const items of writes) {
      expect(items?.[1]?.Update?.Key).toEqual(keys.tenantVersion("lbx"));
      expect(items?.[1]?.Update?.UpdateExpression).toContain("ADD #version :one");
      // Conditioned on the version read before the write, so a change in between cancels it.
      expect(items?.[1]?.Update?.ConditionExpression).toBe("attribute_not_exists(#version)");
    }
    // The version read before each write is strongly consistent.
    const versionReads = ddb.commandCalls(GetCommand).map((call) => call.args[0].input);
    expect(versionReads).toHaveLength(2);
    for (const read of versionReads) {
      expect(read.Key).toEqual(keys.tenantVersion("lbx"));
      expect(read.ConsistentRead).toBe(true);
    }
  });
});
