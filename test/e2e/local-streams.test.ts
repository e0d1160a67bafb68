/**
 * The local runtime's stream pollers (local/streams.ts) against DynamoDB Local's real stream: the
 * CDK mappings' filter, `batchItemFailures` retried from the first failure, a record that keeps
 * failing given up on to the dead-letter file, and checkpoints that survive a restart so nothing is
 * delivered twice. The journey test only sees the happy path of all this.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DynamoDBClient, PutItemCommand } from "@aws-sdk/client-dynamodb";
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AUDIT_STREAM_FILTERS } from "../../functions/store/table.js";
import { tableStreamArn } from "../../local/dynamodb.js";
import {
  type FilterPattern,
  type StreamConsumer,
  laneOf,
  matchesPattern,
  startStreamPollers,
} from "../../local/streams.js";
import { createTestTable, dynamoDbEndpoint, localDocumentClient } from "../support/dynamodb-local.js";
import { eventually } from "../support/e2e-harness.js";

const REGION = "eu-west-2";
const EVENTS = AUDIT_STREAM_FILTERS[0] as unknown as FilterPattern;

describe("filter patterns (Lambda event filtering)", () => {
  const record = {
    eventName: "INSERT",
    dynamodb: { NewImage: { entity: { S: "event" }, type: { S: "ChallengeRaised" }, seq: { N: "3" } } },
  };

  it("matches the CDK mappings' filters as Lambda does", () => {
    expect(matchesPattern(EVENTS, record)).toBe(true);
    expect(matchesPattern(EVENTS, { ...record, eventName: "MODIFY" })).toBe(false);
    expect(
      matchesPattern(EVENTS, { eventName: "INSERT", dynamodb: { NewImage: { entity: { S: "challenge" } } } }),
    ).toBe(false);
    expect(matchesPattern(EVENTS, { eventName: "INSERT", dynamodb: {} })).toBe(false);
  });

  it("knows prefix, exists, anything-but and numeric", () => {
    const image = (pattern: FilterPattern): FilterPattern => ({ dynamodb: { NewImage: pattern } });
    expect(matchesPattern(image({ type: { S: [{ prefix: "Challenge" }] } }), record)).toBe(true);
    expect(matchesPattern(image({ type: { S: [{ prefix: "Stage" }] } }), record)).toBe(false);
    expect(matchesPattern(image({ missing: [{ exists: false }] }), record)).toBe(true);
    expect(matchesPattern(image({ entity: [{ exists: false }] }), record)).toBe(false);
    expect(matchesPattern(image({ type: { S: [{ "anything-but": ["StageOpened"] }] } }), record)).toBe(true);
    expect(matchesPattern({ n: [{ numeric: [">", 2, "<=", 3] }] }, { n: 3 })).toBe(true);
    expect(matchesPattern({ n: [{ numeric: [">", 3] }] }, { n: 3 })).toBe(false);
  });
});

describe("stream pollers against DynamoDB Local", () => {
  let client: DynamoDBClient;
  let tableName: string;
  let drop: () => Promise<void>;
  let streamArn: string;
  let checkpointDir: string;

  beforeAll(async () => {
    const documents = localDocumentClient();
    ({ tableName, drop } = await createTestTable(documents));
    client = new DynamoDBClient({
      endpoint: dynamoDbEndpoint(),
      region: REGION,
      credentials: { accessKeyId: "local", secretAccessKey: "local" },
    });
    streamArn = await tableStreamArn(dynamoDbEndpoint(), REGION, tableName);
    checkpointDir = await mkdtemp(join(tmpdir(), "crs-streams-"));
  });

  afterAll(async () => {
    await drop();
    client.destroy();
    await rm(checkpointDir, { recursive: true, force: true });
  });

  const put = (sk: string, entity: string): Promise<unknown> =>
    client.send(
      new PutItemCommand({
        TableName: tableName,
        Item: { pk: { S: "T#t#C#c1" }, sk: { S: sk }, entity: { S: entity } },
      }),
    );

  /** A consumer that records the sort keys it is given and answers with `respond`. */
  function consumer(
    name: string,
    respond: (sks: string[]) => DynamoDBBatchResponse | Error,
  ): StreamConsumer & { calls: string[][] } {
    const calls: string[][] = [];
    return {
      name,
      filters: [EVENTS],
      retryAttempts: 2,
      calls,
      handler: (event: DynamoDBStreamEvent) => {
        const sks = event.Records.map((r) => r.dynamodb?.NewImage?.sk?.S ?? "?");
        calls.push(sks);
        const outcome = respond(sks);
        if (outcome instanceof Error) return Promise.reject(outcome);
        // Name failures by sequence number, as handlers do.
        const failures = outcome.batchItemFailures.map((f) => ({
          itemIdentifier:
            event.Records.find((r) => r.dynamodb?.NewImage?.sk?.S === f.itemIdentifier)?.dynamodb
              ?.SequenceNumber ?? f.itemIdentifier,
        }));
        return Promise.resolve({ batchItemFailures: failures });
      },
    };
  }

  it("filters, retries from the first reported failure, gives up on a poison record, and resumes after its checkpoint", async () => {
    const logs: string[] = [];
    const delivered = new Map<string, string[]>();
    let failE2Once = true;
    const partial = consumer("partial", (sks) => {
      if (failE2Once && sks.includes("E#2")) {
        failE2Once = false;
        return { batchItemFailures: [{ itemIdentifier: "E#2" }] };
      }
      return { batchItemFailures: [] };
    });
    const poison = consumer("poison", (sks) =>
      sks.includes("E#3") ? new Error("cannot handle E#3") : { batchItemFailures: [] },
    );
    const options = {
      endpoint: dynamoDbEndpoint(),
      region: REGION,
      streamArn,
      checkpointDir,
      pollIntervalMs: 20,
      retryBaseMs: 10,
      log: (line: string) => logs.push(line),
      onDelivered: (name: string, sequenceNumbers: readonly string[]) => {
        delivered.set(name, [...(delivered.get(name) ?? []), ...sequenceNumbers]);
      },
    };

    await put("E#1", "event");
    await put("SNAPSHOT", "challenge"); // filtered out: never delivered
    await put("E#2", "event");
    await put("E#3", "event");
    await put("E#4", "event");
    let pollers = startStreamPollers({ ...options, consumers: [partial, poison] });
    try {
      await eventually("both consumers to get through the stream", () =>
        partial.calls.flat().includes("E#4") && poison.calls.flat().includes("E#4") ? true : undefined,
      );
      await pollers.drained();
    } finally {
      await pollers.stop();
    }

    // The failure named E#2: E#1 was done; E#2 and what followed it came again, and only once more.
    expect(partial.calls).toEqual([
      ["E#1", "E#2", "E#3", "E#4"],
      ["E#2", "E#3", "E#4"],
    ]);
    expect(partial.calls.flat()).not.toContain("SNAPSHOT");
    // The batch threw: it was split until E#3 was alone, which was tried 1 + 2 times, then given up
    // on and written to the dead-letter file; the records around it were delivered.
    expect(poison.calls).toEqual([
      ["E#1", "E#2", "E#3", "E#4"],
      ["E#1", "E#2"],
      ["E#3", "E#4"],
      ["E#3"],
      ["E#3"],
      ["E#3"],
      ["E#4"],
    ]);
    const deadLetters = (await readFile(join(checkpointDir, "poison.dead-letter.ndjson"), "utf8"))
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { record: { dynamodb: { NewImage: { sk: { S: string } } } } });
    expect(deadLetters.map((d) => d.record.dynamodb.NewImage.sk.S)).toEqual(["E#3"]);
    expect(logs.some((l) => l.includes("giving up"))).toBe(true);

    // Restarted on the same checkpoints: only what is new is delivered.
    partial.calls.length = 0;
    poison.calls.length = 0;
    await put("E#5", "event");
    pollers = startStreamPollers({ ...options, consumers: [partial, poison] });
    try {
      await eventually("the new record", () =>
        partial.calls.length > 0 && poison.calls.length > 0 ? true : undefined,
      );
      await pollers.drained();
    } finally {
      await pollers.stop();
    }
    expect(partial.calls).toEqual([["E#5"]]);
    expect(poison.calls).toEqual([["E#5"]]);
    const partialDelivered = delivered.get("partial") ?? [];
    expect(new Set(partialDelivered).size).toBe(partialDelivered.length);
  }, 30_000);

  it("with a parallelization factor, handles challenges side by side, each challenge's records in order, each once", async () => {
    const { tableName: laneTable, drop: dropLaneTable } = await createTestTable(localDocumentClient());
    const laneStream = await tableStreamArn(dynamoDbEndpoint(), REGION, laneTable);
    const seen: { pk: string; sk: string }[] = [];
    let inFlight = 0;
    let mostInFlight = 0;
    const lanes: StreamConsumer = {
      name: "lanes",
      filters: [EVENTS],
      batchSize: 2,
      parallelizationFactor: 3,
      handler: async (event: DynamoDBStreamEvent) => {
        inFlight += 1;
        mostInFlight = Math.max(mostInFlight, inFlight);
        await new Promise((resolve) => setTimeout(resolve, 20));
        for (const r of event.Records)
          seen.push({ pk: r.dynamodb?.Keys?.pk?.S ?? "?", sk: r.dynamodb?.Keys?.sk?.S ?? "?" });
        inFlight -= 1;
        return { batchItemFailures: [] };
      },
    };
    const challenges = ["c1", "c2", "c3", "c4", "c5", "c6"].map((c) => `T#t#C#${c}`);
    const putEvent = (pk: string, sk: string): Promise<unknown> =>
      client.send(
        new PutItemCommand({
          TableName: laneTable,
          Item: { pk: { S: pk }, sk: { S: sk }, entity: { S: "event" } },
        }),
      );
    const options = {
      endpoint: dynamoDbEndpoint(),
      region: REGION,
      streamArn: laneStream,
      checkpointDir: join(checkpointDir, "lanes"),
      pollIntervalMs: 20,
      consumers: [lanes],
      log: () => undefined,
    };
    try {
      for (const sk of ["E#1", "E#2", "E#3"]) for (const pk of challenges) await putEvent(pk, sk);
      // A challenge's records share one lane whatever their sort key (so they stay in order).
      const laneFor = (pk: string, sk: string): number =>
        laneOf({ dynamodb: { Keys: { pk: { S: pk }, sk: { S: sk } } } }, 3);
      for (const pk of challenges)
        expect(new Set(["E#1", "E#2", "E#3"].map((sk) => laneFor(pk, sk))).size).toBe(1);
      // The keys spread over more than one lane (the hash is stable, so this holds every run).
      expect(
        new Set(
          challenges.map((pk) => laneOf({ dynamodb: { Keys: { pk: { S: pk }, sk: { S: "E#1" } } } }, 3)),
        ).size,
      ).toBeGreaterThan(1);
      let pollers = startStreamPollers(options);
      try {
        await eventually("every record", () => (seen.length >= 18 ? true : undefined));
        await pollers.drained();
      } finally {
        await pollers.stop();
      }
      expect(seen).toHaveLength(18);
      for (const pk of challenges)
        expect(seen.filter((r) => r.pk === pk).map((r) => r.sk)).toEqual(["E#1", "E#2", "E#3"]);
      expect(mostInFlight).toBeGreaterThan(1);

      // Each lane resumes after its own checkpoint: only the new record comes.
      seen.length = 0;
      await putEvent("T#t#C#c1", "E#4");
      pollers = startStreamPollers(options);
      try {
        await eventually("the new record", () => (seen.length > 0 ? true : undefined));
        await pollers.drained();
      } finally {
        await pollers.stop();
      }
      expect(seen).toEqual([{ pk: "T#t#C#c1", sk: "E#4" }]);
    } finally {
      await dropLaneTable();
    }
  }, 60_000);
});
