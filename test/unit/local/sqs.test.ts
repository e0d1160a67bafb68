import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SQSClient, SendMessageCommand } from "@aws-sdk/client-sqs";
import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import { afterEach, describe, expect, it } from "vitest";
import { type LocalQueue, type SqsServer, startSqsServer } from "../../../local/sqs.js";

/**
 * The local replies queue (local/sqs.ts) as the SQS client and the event source see it: SendMessage
 * through the real SDK client (its MD5 check included), delivery to the consumer with retries, the
 * dead-letter file after the last attempt, and what a restart finds on disk delivered again.
 */

const QUEUE = "replies";
let dir = "";
let server: SqsServer | undefined;

afterEach(async () => {
  await server?.stop();
  server = undefined;
  await rm(dir, { recursive: true, force: true });
});

async function start(consumer: LocalQueue["consumer"], maxReceiveCount = 3): Promise<SqsServer> {
  dir ||= await mkdtemp(join(tmpdir(), "local-sqs-"));
  server = await startSqsServer({
    port: 0,
    accountId: "000000000000",
    region: "eu-west-2",
    dir,
    retryBaseMs: 1,
    log: () => undefined,
    queues: [{ name: QUEUE, arn: `arn:aws:sqs:eu-west-2:000000000000:${QUEUE}`, consumer, maxReceiveCount }],
  });
  return server;
}

function client(sqs: SqsServer): SQSClient {
  return new SQSClient({
    endpoint: sqs.endpoint,
    region: "eu-west-2",
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
  });
}

describe("the local SQS endpoint", () => {
  it("delivers what is sent as a one-record SQS event, again after a failure, once done", async () => {
    const seen: { body: string; receiveCount: string | undefined }[] = [];
    const sqs = await start((event: SQSEvent): Promise<SQSBatchResponse> => {
      const [record] = event.Records;
      seen.push({ body: record?.body ?? "", receiveCount: record?.attributes.ApproximateReceiveCount });
      return Promise.resolve({
        batchItemFailures: seen.length === 1 ? [{ itemIdentifier: record?.messageId ?? "" }] : [],
      });
    });
    const sent = await client(sqs).send(
      new SendMessageCommand({ QueueUrl: sqs.queueUrl(QUEUE), MessageBody: '{"a":1}' }),
    );
    expect(sent.MessageId).toEqual(expect.any(String));
    await sqs.idle();
    expect(seen).toEqual([
      { body: '{"a":1}', receiveCount: "1" },
      { body: '{"a":1}', receiveCount: "2" },
    ]);
  });

  it("keeps a message that fails every delivery in the dead-letter file", async () => {
    let deliveries = 0;
    const sqs = await start(() => {
      deliveries += 1;
      return Promise.reject(new Error("ProvisionedThroughputExceededException"));
    });
    await client(sqs).send(new SendMessageCommand({ QueueUrl: sqs.queueUrl(QUEUE), MessageBody: "kept" }));
    await sqs.idle();
    expect(deliveries).toBe(3);
    const [letter, ...more] = (await readFile(join(dir, `${QUEUE}.dead-letter.ndjson`), "utf8"))
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { reason: string; message: { body: string } });
    expect(more).toEqual([]);
    expect(letter).toMatchObject({
      reason: "ProvisionedThroughputExceededException",
      message: { body: "kept" },
    });
  });

  it("refuses a queue it does not have, as SQS does", async () => {
    const sqs = await start(() => Promise.resolve(undefined));
    await expect(
      client(sqs).send(new SendMessageCommand({ QueueUrl: sqs.queueUrl("other"), MessageBody: "x" })),
    ).rejects.toMatchObject({ name: "QueueDoesNotExist" });
  });

  it("delivers on start what an earlier run accepted and did not finish", async () => {
    dir = await mkdtemp(join(tmpdir(), "local-sqs-"));
    await mkdir(join(dir, QUEUE), { recursive: true });
    await writeFile(
      join(dir, QUEUE, "m-1.json"),
      JSON.stringify({ messageId: "m-1", body: "left over", sentAt: Date.now() }),
    );
    const bodies: string[] = [];
    const sqs = await start((event) => {
      bodies.push(event.Records[0]?.body ?? "");
      return Promise.resolve(undefined);
    });
    await sqs.idle();
    expect(bodies).toEqual(["left over"]);
  });
});
