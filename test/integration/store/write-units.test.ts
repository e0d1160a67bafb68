import { type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DynamoChallengeStore } from "../../../functions/store/dynamo-challenge-store.js";
import { INDEXES } from "../../../functions/store/table.js";
import { capacityMeter, totalOf } from "../../support/consumed-capacity.js";
import { createTestTable, localDocumentClient } from "../../support/dynamodb-local.js";
import { ChallengeFixture, TENANT_A, anAssignee, type Batch } from "../../support/fixtures.js";

/**
 * What a committed command costs in write units, as DynamoDB Local reports them
 * (ReturnConsumedCapacity INDEXES): the snapshot is copied into no index whole, so a command that
 * leaves the index keys as they were writes to no index at all.
 */

let client: DynamoDBDocumentClient;
let tableName: string;
let drop: () => Promise<void>;
let store: DynamoChallengeStore;
const meter = capacityMeter();

beforeAll(async () => {
  client = localDocumentClient();
  ({ tableName, drop } = await createTestTable(client));
  store = new DynamoChallengeStore(client, tableName);
  meter.attach(client);
});

afterAll(async () => {
  await drop();
  client.destroy();
});

const append = (batch: Batch) =>
  meter.during(() => store.append(TENANT_A, batch.expectedVersion, batch.events, batch.state));

const trayIndexes = [INDEXES.openByDueDate, INDEXES.byRecipient].map((index) => index.name);
const lifelongIndexes = [INDEXES.byChild, INDEXES.byTeam, INDEXES.byMonthRaised, INDEXES.byRetentionDate].map(
  (index) => index.name,
);

describe("write units of a committed command", () => {
  it("writes each index once, small, when the challenge is raised", async () => {
    const c = new ChallengeFixture();
    const { indexWriteUnits } = totalOf(await append(c.raise()));
    // A key-only entry is well under 1 KB: one unit, two in a transaction, per index.
    for (const name of [...trayIndexes, ...lifelongIndexes]) expect(indexWriteUnits[name]).toBe(2);
  });

  it("writes no index when a response leaves the index keys as they were", async () => {
    const c = new ChallengeFixture();
    await append(c.raise());
    const records = await append(c.respond());
    const { indexWriteUnits, tableWriteUnits, itemWriteUnits } = totalOf(records);
    expect(Object.values(indexWriteUnits).reduce((a, b) => a + b, 0)).toBe(0);
    // The table: the event and the snapshot, each at twice its started KBs.
    expect(tableWriteUnits).toBe((itemWriteUnits.event ?? 0) + (itemWriteUnits.snapshot ?? 0));
  });

  it("rewrites only the trays' entries when an escalation moves the deadline and the recipient", async () => {
    const c = new ChallengeFixture();
    await append(c.raise());
    const { indexWriteUnits } = totalOf(
      await append(
        c.escalate(anAssignee("sm-1", "service_manager", "Service Manager"), "2025-03-28T17:00:00.000Z"),
      ),
    );
    for (const name of lifelongIndexes) expect(indexWriteUnits[name] ?? 0).toBe(0);
    // The old entry deleted and the new one written: small either way.
    for (const name of trayIndexes) expect(indexWriteUnits[name]).toBeLessThanOrEqual(4);
  });
});
