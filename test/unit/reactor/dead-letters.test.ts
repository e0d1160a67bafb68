/**
 * Redriving the local stream pollers' dead letters (local/dead-letters.ts, `npm run outbox --
 * redrive`): records the handler now does are dropped, those it fails again are kept, and a record
 * dead-lettered while the redrive runs is not lost.
 */
import { appendFile, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { DynamoDBRecord } from "aws-lambda";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { deadLetterFile, readDeadLetters, redriveDeadLetters } from "../../../local/dead-letters.js";

let dir: string;
let file: string;

const letter = (seq: string): string =>
  `${JSON.stringify({
    at: "2026-12-04T10:00:00.000Z",
    reason: "TransientDeliveryError: the email is being sent by another invocation",
    shardId: "shard-1",
    record: { eventName: "INSERT", dynamodb: { SequenceNumber: seq } } satisfies DynamoDBRecord,
  })}\n`;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "crs-dead-letters-"));
  file = deadLetterFile(dir, "react");
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("redriveDeadLetters", () => {
  it("gives each record to the handler again, dropping the done and keeping the failing", async () => {
    await writeFile(file, letter("100") + letter("200") + letter("300"));
    const seen: string[] = [];
    const outcome = await redriveDeadLetters(file, (event) => {
      const seq = event.Records[0]?.dynamodb?.SequenceNumber ?? "";
      seen.push(seq);
      if (seq === "200") return Promise.resolve({ batchItemFailures: [{ itemIdentifier: seq }] });
      if (seq === "300") return Promise.reject(new Error("SES unavailable"));
      return Promise.resolve({ batchItemFailures: [] });
    });
    expect(seen).toEqual(["100", "200", "300"]);
    expect(outcome).toEqual({ redriven: 1, failed: 2 });
    expect((await readDeadLetters(file)).map((l) => l.record.dynamodb?.SequenceNumber)).toEqual([
      "200",
      "300",
    ]);
  });

  it("keeps a record dead-lettered by the running poller while the redrive runs", async () => {
    await writeFile(file, letter("100"));
    const outcome = await redriveDeadLetters(file, async () => {
      // The poller gives up on another record meanwhile (local/streams.ts appends to the file).
      await appendFile(file, letter("400"));
      return { batchItemFailures: [] };
    });
    expect(outcome).toEqual({ redriven: 1, failed: 0 });
    expect((await readDeadLetters(file)).map((l) => l.record.dynamodb?.SequenceNumber)).toEqual(["400"]);
    await expect(readFile(`${file}.redriving`, "utf8")).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("does nothing when there are no dead letters", async () => {
    expect(await redriveDeadLetters(file, () => Promise.reject(new Error("not called")))).toEqual({
      redriven: 0,
      failed: 0,
    });
  });
});
