import {
  DynamoDBClient,
  ProvisionedThroughputExceededException,
  TransactionCanceledException,
} from "@aws-sdk/client-dynamodb";
import {
  BatchGetCommand,
  DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  TransactWriteCommand,
} from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DynamoChallengeStore } from "../../../functions/store/dynamo-challenge-store.js";
import { CorruptItemError } from "../../../functions/store/items.js";
import { ConcurrencyConflictError } from "../../../functions/store/ports.js";
import { INDEXES, indexKeys } from "../../../functions/store/table.js";
import { ChallengeFixture, TENANT_A, type Batch } from "../../support/fixtures.js";

/**
 * Failure injection: the faults DynamoDB Local will not produce on demand. The storage behaviour
 * itself is tested against DynamoDB Local in test/integration/store.
 */

const ddb = mockClient(DynamoDBDocumentClient);
let store: DynamoChallengeStore;
let raised: Batch;

const throttled = () =>
  new ProvisionedThroughputExceededException({
    message: "Rate of requests exceeds the allowed throughput",
    $metadata: {},
  });

const cancelled = (...codes: string[]) =>
  new TransactionCanceledException({
    message: `Transaction cancelled, please refer cancellation reasons for specific reasons [${codes.join(", ")}]`,
    $metadata: {},
    CancellationReasons: codes.map((Code) => ({ Code })),
  });

beforeEach(() => {
  ddb.reset();
  const client = DynamoDBDocumentClient.from(new DynamoDBClient({ region: "eu-west-2" }));
  store = new DynamoChallengeStore(client, "table", { retryBaseDelayMs: 0 });
  // ChallengeRaised + StageOpened + the snapshot: three transaction items, the snapshot last.
  raised = new ChallengeFixture().raise();
});

afterEach(() => {
  ddb.reset();
});

const append = (batch: Batch) => store.append(TENANT_A, batch.expectedVersion, batch.events, batch.state);

describe("append under failure", () => {
  it("lets throttling propagate as itself", async () => {
    const error = throttled();
    ddb.on(TransactWriteCommand).rejects(error);
    await expect(append(raised)).rejects.toBe(error);
  });

  it("does not report a transaction cancelled for another reason as a conflict", async () => {
    for (const codes of [
      ["None", "None", "ThrottlingError"],
      ["ValidationError", "None", "None"],
      ["None", "ItemCollectionSizeLimitExceeded", "None"],
    ]) {
      const error = cancelled(...codes);
      ddb.on(TransactWriteCommand).rejects(error);
      const result = append(raised);
      await expect(result).rejects.toBe(error);
      await expect(result).rejects.not.toBeInstanceOf(ConcurrencyConflictError);
    }
  });

  it("reports a failed snapshot condition as a conflict", async () => {
    ddb
      .on(TransactWriteCommand)
      .rejects(cancelled("ConditionalCheckFailed", "ConditionalCheckFailed", "ConditionalCheckFailed"));
    await expect(append(raised)).rejects.toBeInstanceOf(ConcurrencyConflictError);
    ddb.on(TransactWriteCommand).rejects(cancelled("None", "None", "ConditionalCheckFailed"));
    await expect(append(raised)).rejects.toMatchObject({
      name: "ConcurrencyConflictError",
      expectedVersion: 0,
    });
  });

  it("reports an event key already taken under a current snapshot as an integrity fault, not a conflict", async () => {
    ddb.on(TransactWriteCommand).rejects(cancelled("ConditionalCheckFailed", "None", "None"));
    const result = append(raised);
    await expect(result).rejects.toThrow(/already stored without a snapshot/);
    await expect(result).rejects.not.toBeInstanceOf(ConcurrencyConflictError);
  });

  it("retries a transaction cancelled only by contention, and succeeds", async () => {
    ddb
      .on(TransactWriteCommand)
      .rejectsOnce(cancelled("None", "TransactionConflict", "None"))
      .rejectsOnce(cancelled("TransactionConflict", "None", "TransactionConflict"))
      .resolves({});
    await append(raised);
    expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(3);
  });

  it("gives up on contention after the configured retries, with the original error", async () => {
    const error = cancelled("None", "None", "TransactionConflict");
    ddb.on(TransactWriteCommand).rejects(error);
    await expect(append(raised)).rejects.toBe(error);
    expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(4);
  });

  it("lets a throttled version read propagate, and writes nothing", async () => {
    const error = throttled();
    ddb.on(GetCommand).rejects(error);
    const fixture = new ChallengeFixture();
    fixture.raise();
    await expect(append(fixture.respond())).rejects.toBe(error);
    expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(0);
  });

  it("sends one transaction: every event conditioned on its own absence, the snapshot on not existing", async () => {
    ddb.on(TransactWriteCommand).resolves({});
    await append(raised);
    const [call] = ddb.commandCalls(TransactWriteCommand);
    const items = call?.args[0].input.TransactItems ?? [];
    expect(items).toHaveLength(3);
    for (const item of items) {
      expect(item.Put?.ConditionExpression).toBe("attribute_not_exists(#pk)");
    }
    // Items are plain records here (the document client marshals them later); `sk` is a string.
    expect(items.map((i) => String(i.Put?.Item?.sk))).toEqual(["E#0000000001", "E#0000000002", "SNAPSHOT"]);
  });
});

describe("reads under failure", () => {
  it("lets throttling on a tray query propagate as itself", async () => {
    const error = throttled();
    ddb.on(QueryCommand).rejects(error);
    await expect(store.byTeam(TENANT_A, "team-north")).rejects.toBe(error);
    await expect(store.events(TENANT_A, "x")).rejects.toBe(error);
  });

  it("reports an item of the wrong shape as corrupt", async () => {
    ddb.on(GetCommand).resolves({ Item: { pk: "T#test-borough#C#x", sk: "SNAPSHOT", entity: "challenge" } });
    await expect(store.get(TENANT_A, "x")).rejects.toBeInstanceOf(CorruptItemError);
  });
});

describe("trays read the snapshots their key-only index names", () => {
  // DynamoDB Local updates its indexes with the table; DynamoDB does so a moment later.
  const teamPk = indexKeys.byTeamPk(TENANT_A, "team-north");
  const entry = (id: string) => ({
    pk: `T#test-borough#C#${id}`,
    sk: "SNAPSHOT",
    [INDEXES.byTeam.partitionKey]: teamPk,
    [INDEXES.byTeam.sortKey]: `2025-03-10T09:00:00.000Z#${id}`,
  });

  it("leaves out a challenge whose snapshot has left the tray since its index entry was read", async () => {
    ddb.on(QueryCommand).resolves({ Items: [entry("moved"), entry("deleted")] });
    // "moved" now carries another team's keys; "deleted" is gone.
    ddb.on(BatchGetCommand).resolves({
      Responses: {
        table: [{ ...entry("moved"), [INDEXES.byTeam.partitionKey]: "T#test-borough#TEAM#south" }],
      },
    });
    await expect(store.byTeam(TENANT_A, "team-north")).resolves.toEqual({ items: [] });
    expect(ddb.commandCalls(BatchGetCommand)[0]?.args[0].input.RequestItems?.table?.Keys).toEqual([
      { pk: "T#test-borough#C#moved", sk: "SNAPSHOT" },
      { pk: "T#test-borough#C#deleted", sk: "SNAPSHOT" },
    ]);
  });

  it("reads no snapshot for an empty page", async () => {
    ddb.on(QueryCommand).resolves({ Items: [] });
    await expect(store.byTeam(TENANT_A, "team-north")).resolves.toEqual({ items: [] });
    expect(ddb.commandCalls(BatchGetCommand)).toHaveLength(0);
  });
});
