import { DynamoDBClient, ProvisionedThroughputExceededException } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, QueryCommand } from "@aws-sdk/lib-dynamodb";
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
