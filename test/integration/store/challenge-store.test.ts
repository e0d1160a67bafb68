import { DescribeTableCommand, DescribeTimeToLiveCommand } from "@aws-sdk/client-dynamodb";
import { GetCommand, PutCommand, QueryCommand, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DynamoChallengeStore, EventChainError } from "../../../functions/store/dynamo-challenge-store.js";
import { eventHash, verifyChain } from "../../../functions/store/event-hash.js";
import { CorruptItemError } from "../../../functions/store/items.js";
import { ConcurrencyConflictError } from "../../../functions/store/ports.js";
import { TABLE, keys } from "../../../functions/store/table.js";
import { createTestTable, localDocumentClient } from "../../support/dynamodb-local.js";
import {
  ChallengeFixture,
  TENANT_A,
  TENANT_B,
  aForm,
  anAssignee,
  type Batch,
} from "../../support/fixtures.js";

let client: DynamoDBDocumentClient;
let tableName: string;
let drop: () => Promise<void>;
let store: DynamoChallengeStore;

beforeAll(async () => {
  client = localDocumentClient();
  ({ tableName, drop } = await createTestTable(client));
  store = new DynamoChallengeStore(client, tableName);
});

afterAll(async () => {
  await drop();
  client.destroy();
});

const append = (tenantId: string, batch: Batch) =>
  store.append(tenantId, batch.expectedVersion, batch.events, batch.state);

async function rawPartition(tenantId: string, challengeId: string) {
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

describe("the table", () => {
  it("streams new images and expires only by expiresAt", async () => {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    expect(Table?.StreamSpecification).toEqual({ StreamEnabled: true, StreamViewType: "NEW_IMAGE" });
    expect(Table?.GlobalSecondaryIndexes?.map((i) => i.IndexName).sort()).toEqual([
      "gsi1",
      "gsi2",
      "gsi3",
      "gsi4",
      "gsi5",
      "gsi6",
    ]);
    const ttl = await client.send(new DescribeTimeToLiveCommand({ TableName: tableName }));
    expect(ttl.TimeToLiveDescription?.AttributeName).toBe(TABLE.ttlAttribute);
  });
});

describe("append, get and events", () => {
  it("round-trips the snapshot and the events in order", async () => {
    const c = new ChallengeFixture();
    const raised = c.raise();
    await append(TENANT_A, raised);
    const responded = c.respond();
    await append(TENANT_A, responded);

    const stored = await store.get(TENANT_A, c.challengeId);
    const events = await store.events(TENANT_A, c.challengeId);
    // The head the next append continues from: the last event's hash, and the run raised it started.
    expect(stored).toEqual({
      tenantId: TENANT_A,
      state: responded.state,
      head: { version: responded.state.version, lastEventHash: events.at(-1)?.hash, runStartSeq: 1 },
    });

    expect(events.map((e) => e.event)).toEqual([...raised.events, ...responded.events]);
    expect(events.every((e) => e.tenantId === TENANT_A)).toBe(true);
  });

  it("reads back, unchanged, text the API's input rules would refuse today", async () => {
    // Stored records outlive input rules: no trimming or length limits on the way out.
    const c = new ChallengeFixture({ form: aForm({ worries: `  ${"w".repeat(20_000)}  `, themes: [] }) });
    const raised = c.raise();
    await append(TENANT_A, raised);
    expect((await store.get(TENANT_A, c.challengeId))?.state).toEqual(raised.state);
    expect((await store.events(TENANT_A, c.challengeId)).map((e) => e.event)).toEqual(raised.events);
  });

  it("returns undefined and no events for a challenge that does not exist", async () => {
    expect(await store.get(TENANT_A, "01NOSUCHCHALLENGE")).toBeUndefined();
    expect(await store.events(TENANT_A, "01NOSUCHCHALLENGE")).toEqual([]);
  });

  it("reads every page of a long history", async () => {
    const c = new ChallengeFixture();
    await append(TENANT_A, c.raise());
    // Big responses so the 1 MB query page limit is crossed and events() has to follow LastEvaluatedKey.
    for (let i = 0; i < 4; i++) {
      const batch = c.manyResponses(40);
      const big = batch.events.map((e) =>
        e.type === "ResponseRecorded" ? { ...e, data: { ...e.data, response: "x".repeat(9_000) } } : e,
      );
      await store.append(TENANT_A, batch.expectedVersion, big, batch.state);
    }
    const events = await store.events(TENANT_A, c.challengeId);
    expect(events.map((e) => e.event.seq)).toEqual(Array.from({ length: 162 }, (_, i) => i + 1));
  });

  it("writes items with no TTL and no attributes beyond the documented ones", async () => {
    const c = new ChallengeFixture();
    await append(TENANT_A, c.raise());
    const items = await rawPartition(TENANT_A, c.challengeId);
    expect(items).toHaveLength(3);
    for (const item of items) expect(item).not.toHaveProperty(TABLE.ttlAttribute);

    const event = items.find((i) => i.sk === "E#0000000001");
    expect(Object.keys(event ?? {}).sort()).toEqual(
      [
        "challengeId",
        "entity",
        "event",
        "hash",
        "pk",
        "prevHash",
        "retainUntil",
        "sk",
        "tenantId",
        "type",
      ].sort(),
    );
    expect(event).toMatchObject({ entity: "event", type: "ChallengeRaised", prevHash: "" });

    const snapshot = items.find((i) => i.sk === "SNAPSHOT");
    expect(snapshot).toMatchObject({ entity: "challenge", version: 2, tenantId: TENANT_A });
  });

  it("refuses more than 99 events in one append, writing nothing", async () => {
    const c = new ChallengeFixture();
    await append(TENANT_A, c.raise());
    const tooMany = c.manyResponses(100);
    await expect(append(TENANT_A, tooMany)).rejects.toThrow(/at most 99 events/);
    expect(await rawPartition(TENANT_A, c.challengeId)).toHaveLength(3);
  });

  it("accepts exactly 99 events (plus the snapshot: 100 items)", async () => {
    const c = new ChallengeFixture();
    await append(TENANT_A, c.raise());
    await append(TENANT_A, c.manyResponses(99));
    expect((await store.get(TENANT_A, c.challengeId))?.state.version).toBe(101);
  });

  it("refuses a batch whose seqs or version do not follow on", async () => {
    const c = new ChallengeFixture();
    const raised = c.raise();
    await expect(store.append(TENANT_A, 0, raised.events, { ...raised.state, version: 3 })).rejects.toThrow(
      /version 3/,
    );
    await expect(store.append(TENANT_A, 1, raised.events, raised.state)).rejects.toThrow(/seq 1; expected 2/);
    await expect(store.append(TENANT_A, 0, [], raised.state)).rejects.toThrow(/at least one event/);
  });
});

describe("optimistic concurrency", () => {
  it("lets exactly one of two concurrent appends at the same version win, storing nothing of the loser", async () => {
    const c = new ChallengeFixture();
    await append(TENANT_A, c.raise());
    // A second writer, from the same starting point, escalates instead.
    const other = c.fork();
    const viaResponse = c.respond("Response from the team manager.");
    const viaEscalation = other.escalate(
      anAssignee("sm-0001", "service_manager", "Service Manager"),
      "2025-03-28T17:00:00.000Z",
    );

    const results = await Promise.allSettled([
      append(TENANT_A, viaResponse),
      append(TENANT_A, viaEscalation),
    ]);
    const won = results.filter((r) => r.status === "fulfilled");
    const lost = results.filter((r) => r.status === "rejected");
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    expect((lost[0] as PromiseRejectedResult).reason).toBeInstanceOf(ConcurrencyConflictError);

    const [first] = results;
    const winner = first.status === "fulfilled" ? viaResponse : viaEscalation;
    const stored = await store.get(TENANT_A, c.challengeId);
    expect(stored?.state).toEqual(winner.state);
    const events = await store.events(TENANT_A, c.challengeId);
    expect(events.map((e) => e.event.type)).toEqual([
      "ChallengeRaised",
      "StageOpened",
      ...winner.events.map((e) => e.type),
    ]);
    // Exactly the winner's items: snapshot + 2 raised + the winner's events.
    expect(await rawPartition(TENANT_A, c.challengeId)).toHaveLength(3 + winner.events.length);
  });

  it("holds when the competing write lands between the store's read and its transaction", async () => {
    const c = new ChallengeFixture();
    await append(TENANT_A, c.raise());
    const other = c.fork();
    const winner = c.respond("Written first, by another Lambda.");
    const loser = other.escalate(
      anAssignee("sm-0002", "service_manager", "Service Manager"),
      "2025-03-28T17:00:00.000Z",
    );

    // The racing store's transaction is held back until the winner has committed, so the loser
    // passes its version read and is stopped by the transaction's condition alone.
    const racingClient = localDocumentClient();
    let interfere: (() => Promise<void>) | undefined = () => append(TENANT_A, winner);
    racingClient.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName?.startsWith("TransactWrite") === true && interfere !== undefined) {
          const run = interfere;
          interfere = undefined;
          await run();
        }
        return next(args);
      },
      { step: "initialize", name: "interfere" },
    );
    const racing = new DynamoChallengeStore(racingClient, tableName);
    await expect(
      racing.append(TENANT_A, loser.expectedVersion, loser.events, loser.state),
    ).rejects.toBeInstanceOf(ConcurrencyConflictError);
    expect(interfere).toBeUndefined();
    racingClient.destroy();

    expect((await store.get(TENANT_A, c.challengeId))?.state).toEqual(winner.state);
    expect((await store.events(TENANT_A, c.challengeId)).map((e) => e.event.type)).toEqual([
      "ChallengeRaised",
      "StageOpened",
      "ResponseRecorded",
    ]);
  });

  it("lets one of many simultaneous writers win", async () => {
    const c = new ChallengeFixture();
    await append(TENANT_A, c.raise());
    const batches = Array.from({ length: 8 }, (_, i) => c.fork().respond(`Response ${i}`));
    const results = await Promise.allSettled(batches.map((b) => append(TENANT_A, b)));
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    for (const r of results) {
      if (r.status === "rejected") expect(r.reason).toBeInstanceOf(ConcurrencyConflictError);
    }
    expect(await rawPartition(TENANT_A, c.challengeId)).toHaveLength(4);
  });

  it("rejects a stale expected version and a second create", async () => {
    const c = new ChallengeFixture();
    const raised = c.raise();
    await append(TENANT_A, raised);
    await expect(append(TENANT_A, raised)).rejects.toBeInstanceOf(ConcurrencyConflictError);
    const responded = c.respond();
    await append(TENANT_A, responded);
    await expect(append(TENANT_A, responded)).rejects.toBeInstanceOf(ConcurrencyConflictError);
  });

  it("treats an expected version for a challenge that does not exist as a conflict", async () => {
    const c = new ChallengeFixture();
    c.raise();
    const responded = c.respond();
    await expect(append(TENANT_A, responded)).rejects.toBeInstanceOf(ConcurrencyConflictError);
  });
});

describe("the hash chain", () => {
  it("links every event to the one before it, across appends", async () => {
    const c = new ChallengeFixture();
    await append(TENANT_A, c.raise());
    await append(TENANT_A, c.respond());
    await append(
      TENANT_A,
      c.escalate(anAssignee("hos-0001", "head_of_service", "Head of Service"), "2025-03-31T17:00:00.000Z"),
    );

    const events = await store.events(TENANT_A, c.challengeId);
    expect(events).toHaveLength(5);
    expect(events[0]?.prevHash).toBe("");
    for (let i = 1; i < events.length; i++) expect(events[i]?.prevHash).toBe(events[i - 1]?.hash);
    for (const e of events) expect(e.hash).toBe(eventHash(TENANT_A, e.event, e.prevHash));
    expect(verifyChain(events)).toBeUndefined();

    const { Item } = await client.send(
      new GetCommand({ TableName: tableName, Key: keys.challenge(TENANT_A, c.challengeId) }),
    );
    expect(Item?.lastEventHash).toBe(events.at(-1)?.hash);
  });

  it("binds the tenant into the hash: the same event under another tenant hashes differently", async () => {
    const c = new ChallengeFixture();
    const raised = c.raise();
    await append(TENANT_A, raised);
    await append(TENANT_B, raised);
    const [a] = await store.events(TENANT_A, c.challengeId);
    const [b] = await store.events(TENANT_B, c.challengeId);
    expect(a?.event).toEqual(b?.event);
    expect(a?.hash).not.toBe(b?.hash);
  });

  it("refuses to read a history that was edited in the table", async () => {
    const c = new ChallengeFixture();
    await append(TENANT_A, c.raise());
    const key = keys.event(TENANT_A, c.challengeId, 1);
    const { Item } = await client.send(new GetCommand({ TableName: tableName, Key: key }));
    const tampered = structuredClone(Item) as Record<string, unknown> & { event: { at: string } };
    tampered.event.at = "2025-01-01T00:00:00.000Z";
    await client.send(new PutCommand({ TableName: tableName, Item: tampered }));
    await expect(store.events(TENANT_A, c.challengeId)).rejects.toThrow(EventChainError);
  });
});

describe("corrupt items", () => {
  it("reports a snapshot that does not fit the schema, naming the item", async () => {
    const c = new ChallengeFixture();
    await append(TENANT_A, c.raise());
    const key = keys.challenge(TENANT_A, c.challengeId);
    const { Item } = await client.send(new GetCommand({ TableName: tableName, Key: key }));
    const corrupt = structuredClone(Item) as { state: { status: string } };
    corrupt.state.status = "lost";
    await client.send(new PutCommand({ TableName: tableName, Item: corrupt }));
    const read = store.get(TENANT_A, c.challengeId);
    await expect(read).rejects.toBeInstanceOf(CorruptItemError);
    await expect(read).rejects.toThrow(new RegExp(`${key.pk} SNAPSHOT[\\s\\S]*status`));
  });
});
