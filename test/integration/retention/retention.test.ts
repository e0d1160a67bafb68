import {
  BatchWriteCommand,
  GetCommand,
  QueryCommand,
  type DynamoDBDocumentClient,
} from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ChallengeEvent } from "../../../functions/domain/challenge/events.js";
import { evolve } from "../../../functions/domain/challenge/evolve.js";
import type { RetentionSettings } from "../../../functions/domain/retention.js";
import { runRetention } from "../../../functions/retention/run-retention.js";
import { main } from "../../../bin/retention.js";
import { DynamoChallengeStore } from "../../../functions/store/dynamo-challenge-store.js";
import { RetentionStore } from "../../../functions/store/retention-store.js";
import { keys } from "../../../functions/store/table.js";
import { createTestTable, localDocumentClient } from "../../support/dynamodb-local.js";
import { ChallengeFixture, TENANT_A, TENANT_B, aForm, type Batch } from "../../support/fixtures.js";

let client: DynamoDBDocumentClient;
let tableName: string;
let drop: () => Promise<void>;
let challenges: DynamoChallengeStore;
let retention: RetentionStore;

const AS_OF = "2026-12-04";
const NOW = () => new Date("2026-12-04T02:00:00.000Z");
const ISM = { id: "ism-0001", role: "iro_service_manager" } as const;

beforeAll(async () => {
  client = localDocumentClient();
  ({ tableName, drop } = await createTestTable(client));
  challenges = new DynamoChallengeStore(client, tableName);
  retention = new RetentionStore(client, tableName);
});

afterAll(async () => {
  await drop();
  client.destroy();
});

/** A challenge about an invented child, raised and answered once, with a workflow task token beside it. */
async function challengeAbout(
  tenantId: string,
  child: { dateOfBirth: string; name: string },
  track: "LAC" | "CP" = "LAC",
  settings?: RetentionSettings,
): Promise<ChallengeFixture> {
  const fixture = new ChallengeFixture({ form: aForm({ child, track }) });
  for (const batch of [fixture.raise(), fixture.respond()]) {
    await challenges.append(tenantId, batch.expectedVersion, batch.events, batch.state, settings);
  }
  await challenges.saveTaskToken(tenantId, fixture.challengeId, "stage-1", "token-abc");
  return fixture;
}

function holdBatch(fixture: ChallengeFixture): Batch {
  const state = fixture.state;
  const event: ChallengeEvent = {
    type: "LegalHoldPlaced",
    challengeId: state.challengeId,
    seq: state.version + 1,
    at: "2026-11-01T09:00:00.000Z",
    actor: ISM,
    channel: "api",
    data: { reason: "Records requested for a court case" },
  };
  return { expectedVersion: state.version, events: [event], state: evolve(state, event) };
}

async function partition(tenantId: string, challengeId: string) {
  const { Items } = await client.send(
    new QueryCommand({
      TableName: tableName,
      KeyConditionExpression: "pk = :pk",
      ExpressionAttributeValues: { ":pk": keys.challengePartition(tenantId, challengeId) },
      ConsistentRead: true,
    }),
  );
  return Items ?? [];
}

describe("retention by date of birth", () => {
  let born1950: ChallengeFixture;
  let born2015: ChallengeFixture;
  let held: ChallengeFixture;
  let cpBorn2000: ChallengeFixture;
  let otherTenant: ChallengeFixture;

  beforeAll(async () => {
    born1950 = await challengeAbout(TENANT_A, { dateOfBirth: "1950-06-15", name: "Arthur Invented" });
    born2015 = await challengeAbout(TENANT_A, { dateOfBirth: "2015-01-09", name: "Bea Madeup" });
    held = await challengeAbout(TENANT_A, { dateOfBirth: "1949-02-01", name: "Cyril Fictional" });
    const hold = holdBatch(held);
    await challenges.append(TENANT_A, hold.expectedVersion, hold.events, hold.state);
    cpBorn2000 = await challengeAbout(TENANT_A, { dateOfBirth: "2000-07-01", name: "Dot Pretend" }, "CP", {
      childProtectionUntilAge: 25,
    });
    otherTenant = await challengeAbout(TENANT_B, { dateOfBirth: "1950-01-01", name: "Eve Invented" });
  });

  it("writes the retention date and rule on the snapshot, from the date of birth", async () => {
    const { Item } = await client.send(
      new GetCommand({ TableName: tableName, Key: keys.challenge(TENANT_A, born1950.challengeId) }),
    );
    expect(Item).toMatchObject({
      retainUntil: "2025-06-15",
      retentionRule: "lac_75th_birthday",
      gsi6pk: `T#${TENANT_A}#RETAIN`,
      gsi6sk: `2025-06-15#${born1950.challengeId}`,
    });
    // Every event item carries it too: the audit exporter locks each object until then.
    const events = (await partition(TENANT_A, born1950.challengeId)).filter(
      (item) => item.entity === "event",
    );
    expect(events).toHaveLength(3);
    expect(events.every((item) => item.retainUntil === "2025-06-15")).toBe(true);
  });

  it("reports, in a dry run, what would be deleted and what is held, without deleting or naming anyone", async () => {
    const report = await runRetention(retention, { tenantIds: [TENANT_A], asOf: AS_OF, dryRun: true }, NOW);
    expect(report.lines).toEqual([
      {
        tenantId: TENANT_A,
        challengeId: held.challengeId,
        retainUntil: "2024-02-01",
        rule: "lac_75th_birthday",
        outcome: "held",
        heldSince: "2026-11-01T09:00:00.000Z",
      },
      {
        tenantId: TENANT_A,
        challengeId: born1950.challengeId,
        retainUntil: "2025-06-15",
        rule: "lac_75th_birthday",
        outcome: "would_delete",
      },
      {
        tenantId: TENANT_A,
        challengeId: cpBorn2000.challengeId,
        retainUntil: "2025-07-01",
        rule: "cp_authority_rule",
        outcome: "would_delete",
      },
    ]);
    const text = JSON.stringify(report);
    for (const personal of ["Invented", "Madeup", "Fictional", "Pretend", "1950-06-15", "court case"]) {
      expect(text).not.toContain(personal);
    }
    expect(await partition(TENANT_A, born1950.challengeId)).toHaveLength(5);
  });

  it("deletes every item of records past their date, skips held ones, and leaves a tombstone without personal data", async () => {
    const report = await runRetention(retention, { tenantIds: [TENANT_A], asOf: AS_OF, dryRun: false }, NOW);
    expect(report.counts).toMatchObject({ deleted: 2, held: 1, would_delete: 0 });

    const left = await partition(TENANT_A, born1950.challengeId);
    expect(left.map((item) => String(item.sk))).toEqual(["TOMBSTONE"]);
    const tombstone = await retention.tombstone(TENANT_A, born1950.challengeId);
    expect(tombstone).toMatchObject({
      status: "deleted",
      challengeId: born1950.challengeId,
      retainUntil: "2025-06-15",
      retentionRule: "lac_75th_birthday",
      decidedOn: AS_OF,
      eventCount: 3,
      // The snapshot, three events and the task token.
      itemsDeleted: 5,
      deletionCompletedAt: "2026-12-04T02:00:00.000Z",
    });
    expect(tombstone?.reason).toContain("reg. 50");
    expect(tombstone).not.toHaveProperty("gsi6pk");
    expect(JSON.stringify(left)).not.toMatch(/Arthur|Invented|1950-06-15/);
    expect(await challenges.get(TENANT_A, born1950.challengeId)).toBeUndefined();

    expect((await partition(TENANT_A, held.challengeId)).length).toBeGreaterThan(1);
    expect(await challenges.get(TENANT_A, born2015.challengeId)).toBeDefined();
    expect(await challenges.get(TENANT_B, otherTenant.challengeId)).toBeDefined();
    expect((await partition(TENANT_A, cpBorn2000.challengeId)).map((item) => String(item.sk))).toEqual([
      "TOMBSTONE",
    ]);

    // The next run finds nothing more to do: tombstones leave the index once complete.
    const again = await runRetention(retention, { tenantIds: [TENANT_A], asOf: AS_OF, dryRun: false }, NOW);
    expect(again.lines.map((line) => line.outcome)).toEqual(["held"]);
  });

  it("deletes a record whose hold was lifted", async () => {
    const state = held.state;
    const hold = holdBatch(held);
    const lifted: ChallengeEvent = {
      type: "LegalHoldLifted",
      challengeId: state.challengeId,
      seq: hold.state.version + 1,
      at: "2026-11-20T09:00:00.000Z",
      actor: ISM,
      channel: "api",
      data: { reason: "Proceedings concluded" },
    };
    await challenges.append(TENANT_A, hold.state.version, [lifted], evolve(hold.state, lifted));
    const report = await runRetention(retention, { tenantIds: [TENANT_A], asOf: AS_OF, dryRun: false }, NOW);
    expect(report.lines).toEqual([
      // Five events (raised, opened, answered, held, lifted), the snapshot and the task token.
      expect.objectContaining({ challengeId: held.challengeId, outcome: "deleted", itemsDeleted: 7 }),
    ]);
  });
});

describe("a deletion interrupted part-way", () => {
  it("is finished by the next run, from the tombstone in the index", async () => {
    const fixture = await challengeAbout(TENANT_B, { dateOfBirth: "1940-03-03", name: "Fay Invented" });
    const failingBatches = {
      send: (command: unknown) =>
        command instanceof BatchWriteCommand
          ? Promise.reject(new Error("connection reset"))
          : client.send(command as Parameters<DynamoDBDocumentClient["send"]>[0]),
    } as unknown as DynamoDBDocumentClient;
    await expect(
      new RetentionStore(failingBatches, tableName).deleteChallenge(
        TENANT_B,
        fixture.challengeId,
        AS_OF,
        NOW,
      ),
    ).rejects.toThrow("connection reset");
    expect(await retention.tombstone(TENANT_B, fixture.challengeId)).toMatchObject({ status: "deleting" });

    const report = await runRetention(
      retention,
      { tenantIds: [TENANT_B], asOf: AS_OF, dryRun: false, maxDeletions: 1 },
      NOW,
    );
    // The interrupted one first (its date is earlier), then the other tenant's record waits for the next run.
    expect(report.lines.map((line) => [line.challengeId, line.outcome])).toEqual([
      [fixture.challengeId, "resumed"],
      [expect.any(String), "skipped_limit"],
    ]);
    expect((await partition(TENANT_B, fixture.challengeId)).map((item) => String(item.sk))).toEqual([
      "TOMBSTONE",
    ]);
    expect(await retention.tombstone(TENANT_B, fixture.challengeId)).toMatchObject({
      status: "deleted",
      itemsDeleted: 5,
    });
  });

  it("does not delete a record held after the index was read", async () => {
    const fixture = await challengeAbout(TENANT_B, { dateOfBirth: "1941-03-03", name: "Gil Invented" });
    const hold = holdBatch(fixture);
    await challenges.append(TENANT_B, hold.expectedVersion, hold.events, hold.state);
    await expect(retention.deleteChallenge(TENANT_B, fixture.challengeId, AS_OF, NOW)).resolves.toEqual({
      outcome: "held",
    });
    expect(await challenges.get(TENANT_B, fixture.challengeId)).toBeDefined();
  });
});

describe("npm run retention -- dry-run", () => {
  it("prints what would be deleted and what is held, and deletes nothing", async () => {
    const tenant = "dry-run-borough";
    const due = await challengeAbout(tenant, { dateOfBirth: "1948-05-05", name: "Hal Invented" });
    const kept = await challengeAbout(tenant, { dateOfBirth: "1947-05-05", name: "Ivy Invented" });
    const hold = holdBatch(kept);
    await challenges.append(tenant, hold.expectedVersion, hold.events, hold.state);
    const out: string[] = [];
    const code = await main(
      ["dry-run", "--tenant", tenant, "--as-of", AS_OF],
      { out: (line) => out.push(line), err: (line) => out.push(`ERR ${line}`) },
      {},
      retention,
    );
    expect(code).toBe(0);
    expect(out).toEqual([
      `${tenant}\t${kept.challengeId}\tkept until 2022-05-05\tlac_75th_birthday\tHELD since 2026-11-01T09:00:00.000Z`,
      `${tenant}\t${due.challengeId}\tkept until 2023-05-05\tlac_75th_birthday\twould be deleted`,
      `As of ${AS_OF}: 1 would be deleted, 1 held.`,
    ]);
    expect(await challenges.get(tenant, due.challengeId)).toBeDefined();
    const refused: string[] = [];
    const io = { out: (line: string) => refused.push(line), err: (line: string) => refused.push(line) };
    expect(await main(["dry-run", "--as-of", "04/12/2026", "--tenant", tenant], io, {}, retention)).toBe(2);
    expect(await main(["delete"], io, {}, retention)).toBe(2);
  });
});
