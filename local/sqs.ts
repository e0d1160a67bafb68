/**
 * A minimal SQS endpoint (SendMessage, AWS JSON 1.0) with its queues' Lambda event sources, as
 * lib/mail.ts wires the inbound replies queue: functions/mail/receive-email.ts sends to it through
 * `@aws-sdk/client-sqs` pointed here by `AWS_ENDPOINT_URL_SQS`, and each message is delivered to the
 * queue's consumer (functions/mail/apply-reply.ts) as an SQS event of one record (batch size 1).
 *
 * A message the consumer fails (it throws, or reports the record in `batchItemFailures`) is
 * delivered again after a back-off, up to `maxReceiveCount` deliveries (INBOUND_REPLY_ATTEMPTS, as
 * the queue's redrive policy); then it is appended to `<dir>/<queue>.dead-letter.ndjson`, as SQS
 * moves it to the dead-letter queue. Every accepted message is a file under `<dir>/<queue>/` until
 * it is done or dead-lettered, and a restart delivers what is left: nothing sent is lost.
 */
import { createHash, randomUUID } from "node:crypto";
import { appendFile, mkdir, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { createServer, type Server, type ServerResponse } from "node:http";
import { join } from "node:path";
import type { SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { readAwsJson } from "./aws-json.js";
import { deadLetterFile } from "./dead-letters.js";
import { closeLocally, LOCAL_HOST, listenLocally } from "./ports.js";

export interface LocalQueue {
  readonly name: string;
  /** What the consumer's event names as its source. */
  readonly arn: string;
  readonly consumer: (event: SQSEvent) => Promise<SQSBatchResponse | undefined>;
  readonly maxReceiveCount: number;
}

export interface SqsServer {
  readonly endpoint: string;
  /** The queue's URL, as handlers are given it (its host is this endpoint). */
  queueUrl(name: string): string;
  /** Resolves when every message sent so far is done or dead-lettered. */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

interface Pending {
  readonly messageId: string;
  readonly body: string;
  readonly sentAt: number;
}

function answer(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    "content-type": "application/x-amz-json-1.0",
    "content-length": Buffer.byteLength(text),
  });
  response.end(text);
}

const md5 = (text: string): string => createHash("md5").update(text, "utf8").digest("hex");

export async function startSqsServer(options: {
  readonly port: number;
  readonly accountId: string;
  readonly region: string;
  /** Where messages wait and dead letters are kept (the data folder's `queues/`). */
  readonly dir: string;
  readonly queues: readonly LocalQueue[];
  readonly retryBaseMs?: number;
  readonly log?: (line: string) => void;
}): Promise<SqsServer> {
  const log =
    options.log ??
    ((line: string) => {
      console.error(`[local sqs] ${line}`);
    });
  const retryBaseMs = options.retryBaseMs ?? 250;
  const inFlight = new Set<Promise<void>>();
  let stopping = false;
  let endpoint = "";
  const queueUrl = (name: string): string => `${endpoint}/${options.accountId}/${name}`;
  const pendingDir = (queue: LocalQueue): string => join(options.dir, queue.name);

  const record = (queue: LocalQueue, message: Pending, receiveCount: number): SQSRecord => ({
    messageId: message.messageId,
    receiptHandle: `${message.messageId}#${String(receiveCount)}`,
    body: message.body,
    attributes: {
      ApproximateReceiveCount: String(receiveCount),
      SentTimestamp: String(message.sentAt),
      SenderId: "local",
      ApproximateFirstReceiveTimestamp: String(Date.now()),
    },
    messageAttributes: {},
    md5OfBody: md5(message.body),
    eventSource: "aws:sqs",
    eventSourceARN: queue.arn,
    awsRegion: options.region,
  });

  const deliver = async (queue: LocalQueue, message: Pending): Promise<void> => {
    for (let receiveCount = 1; ; receiveCount++) {
      let reason: string | undefined;
      try {
        const response = await queue.consumer({ Records: [record(queue, message, receiveCount)] });
        if ((response?.batchItemFailures ?? []).length > 0) reason = "the record was reported failed";
      } catch (error) {
        reason = error instanceof Error ? error.message : String(error);
      }
      if (reason === undefined) break;
      if (receiveCount >= queue.maxReceiveCount || stopping) {
        if (stopping && receiveCount < queue.maxReceiveCount) return; // kept on disk for the next start
        await appendFile(
          deadLetterFile(options.dir, queue.name),
          `${JSON.stringify({ at: new Date().toISOString(), reason, message })}\n`,
        );
        log(
          `${queue.name}: message ${message.messageId} failed ${String(receiveCount)} times (${reason}); dead-lettered`,
        );
        break;
      }
      await new Promise((resolveWait) => setTimeout(resolveWait, retryBaseMs * 2 ** (receiveCount - 1)));
    }
    await rm(join(pendingDir(queue), `${message.messageId}.json`), { force: true });
  };

  const enqueue = (queue: LocalQueue, message: Pending): void => {
    const delivery = deliver(queue, message).catch((error: unknown) => {
      log(
        `${queue.name}: message ${message.messageId}: ${error instanceof Error ? error.message : String(error)}`,
      );
    });
    inFlight.add(delivery);
    void delivery.finally(() => inFlight.delete(delivery));
  };

  const server: Server = createServer((request, response) => {
    const target = String(request.headers["x-amz-target"] ?? "");
    readAwsJson(request)
      .then(async (body) => {
        if (target !== "AmazonSQS.SendMessage") {
          answer(response, 400, {
            __type: "com.amazonaws.sqs#UnsupportedOperation",
            message: `${target} is not supported locally`,
          });
          return;
        }
        const url = typeof body.QueueUrl === "string" ? body.QueueUrl : "";
        const name = url.split("/").pop() ?? "";
        const queue = options.queues.find((q) => q.name === name);
        if (queue === undefined) {
          answer(response, 400, {
            __type: "com.amazonaws.sqs#QueueDoesNotExist",
            message: "The specified queue does not exist.",
          });
          return;
        }
        if (typeof body.MessageBody !== "string" || body.MessageBody === "") {
          answer(response, 400, {
            __type: "com.amazonaws.sqs#MissingParameter",
            message: "MessageBody is required.",
          });
          return;
        }
        const message: Pending = { messageId: randomUUID(), body: body.MessageBody, sentAt: Date.now() };
        // Durable before the answer, as SQS has stored a message when SendMessage returns.
        await writeFile(join(pendingDir(queue), `${message.messageId}.json`), JSON.stringify(message));
        answer(response, 200, { MessageId: message.messageId, MD5OfMessageBody: md5(message.body) });
        enqueue(queue, message);
      })
      .catch((error: unknown) => {
        answer(response, 500, { __type: "com.amazonaws.sqs#InternalError", message: String(error) });
      });
  });

  // What a previous run accepted and did not finish is delivered again, oldest first.
  const leftOver: [LocalQueue, Pending][] = [];
  for (const queue of options.queues) {
    await mkdir(pendingDir(queue), { recursive: true });
    for (const file of await readdir(pendingDir(queue))) {
      if (!file.endsWith(".json")) continue;
      leftOver.push([queue, JSON.parse(await readFile(join(pendingDir(queue), file), "utf8")) as Pending]);
    }
  }
  const port = await listenLocally(server, "sqs", options.port);
  endpoint = `http://${LOCAL_HOST}:${String(port)}`;
  for (const [queue, message] of leftOver.sort((a, b) => a[1].sentAt - b[1].sentAt)) enqueue(queue, message);

  const idle = async (): Promise<void> => {
    while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
  };
  return {
    endpoint,
    queueUrl,
    idle,
    stop: async () => {
      await closeLocally(server);
      stopping = true;
      await idle();
    },
  };
}
