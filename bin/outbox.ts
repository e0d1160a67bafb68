#!/usr/bin/env node
/**
 * `npm run outbox -- <command>`: the local runtime's stream dead letters (local/dead-letters.ts).
 *
 *   list                      the records each stream consumer gave up on (ids and reasons only)
 *   redrive [consumer]        gives them to the consumer again (default: react, the event reactor:
 *                             notifications, workflow starts, case notes); done ones are dropped
 *
 * Run it while `npm start` runs (same LOCAL_DATA_DIR and LOCAL_*_PORT): the handlers reach that
 * runtime's DynamoDB Local and SES. Each step is idempotent (the email ledger's claims, execution
 * names, case-note keys), so redriving a record that was partly done sends nothing twice.
 *
 *   redrive --aws [--queue-url <url>]
 *                             the reactor's SQS dead-letter queue on AWS (REACTOR_DLQ_URL if no
 *                             --queue-url): each message names a stream batch (shard, sequence
 *                             numbers, no data); its records are read back from the stream within
 *                             its 24-hour retention and given to the reactor's code in this process
 *                             (functions/reactor/redrive-aws.ts). Run with the reactor function's
 *                             environment and credentials that may read the stream and the queue.
 */
import { readFileSync } from "node:fs";
import type { DynamoDBBatchResponse } from "aws-lambda";
import { join, resolve } from "node:path";
import { setOffset } from "../functions/shared/clock.js";
import { deadLetterFile, readDeadLetters, redriveDeadLetters } from "../local/dead-letters.js";
import { loadFunctions } from "../local/functions.js";
import { lambdaContext } from "../local/lambda-context.js";
import { portsFromEnv } from "../local/ports.js";
import { applyHandlerEnvironment, handlerEnvironment, localSettings } from "../local/settings.js";

const CONSUMERS = ["react", "export-events"] as const;
type Consumer = (typeof CONSUMERS)[number];

const dataDir = resolve(process.env.LOCAL_DATA_DIR ?? ".local-data");
const streamsDir = join(dataDir, "streams");

function out(line: string): void {
  process.stdout.write(`${line}\n`);
}

async function list(): Promise<void> {
  for (const consumer of CONSUMERS) {
    const letters = await readDeadLetters(deadLetterFile(streamsDir, consumer));
    out(`${consumer}: ${letters.length} dead letter(s)`);
    for (const letter of letters) {
      const image = letter.record.dynamodb?.NewImage;
      out(
        `  ${letter.at}  seq ${letter.record.dynamodb?.SequenceNumber ?? "?"}  ${image?.pk?.S ?? "?"} ${image?.sk?.S ?? "?"}  ${letter.reason}`,
      );
    }
  }
}

async function redrive(consumer: Consumer): Promise<number> {
  const settings = localSettings();
  // The service clock of the runtime this redrive talks to (its claims' leases use it).
  try {
    const saved = JSON.parse(readFileSync(join(dataDir, "clock.json"), "utf8")) as { offsetMs?: unknown };
    if (typeof saved.offsetMs === "number") setOffset(saved.offsetMs);
  } catch {
    // no clock saved yet: real time
  }
  applyHandlerEnvironment(handlerEnvironment(settings, portsFromEnv()), "WARN");
  const functions = await loadFunctions();
  const handler = consumer === "react" ? functions.react : functions.exportEvents;
  const context = lambdaContext(consumer, { region: settings.region, accountId: settings.accountId });
  const outcome = await redriveDeadLetters(
    deadLetterFile(streamsDir, consumer),
    async (event) => (await handler(event, context)) as DynamoDBBatchResponse | undefined,
    out,
  );
  out(`${consumer}: ${outcome.redriven} redriven, ${outcome.failed} still failing (kept)`);
  return outcome.failed === 0 ? 0 : 1;
}

async function redriveAws(queueUrl: string | undefined): Promise<number> {
  if (queueUrl === undefined || queueUrl === "") {
    process.stderr.write(
      "redrive --aws needs the reactor's dead-letter queue: --queue-url <url> or REACTOR_DLQ_URL\n",
    );
    return 2;
  }
  // Loaded only here: the local path needs none of it.
  const [{ SQSClient }, { DynamoDBStreamsClient }, { redriveAwsDeadLetters }, { handler }] =
    await Promise.all([
      import("@aws-sdk/client-sqs"),
      import("@aws-sdk/client-dynamodb-streams"),
      import("../functions/reactor/redrive-aws.js"),
      import("../functions/reactor/reactor.js"),
    ]);
  const outcome = await redriveAwsDeadLetters({
    sqs: new SQSClient({}),
    streams: new DynamoDBStreamsClient({}),
    queueUrl,
    handler: (event) => handler(event),
    log: out,
  });
  out(
    `react (AWS): ${outcome.redriven} redriven, ${outcome.failed} still failing, ${outcome.expired} expired from the stream, ${outcome.unreadable} unreadable (all but the redriven kept)`,
  );
  return outcome.failed + outcome.expired + outcome.unreadable === 0 ? 0 : 1;
}

const [command, argument, ...rest] = process.argv.slice(2);
if (command === "redrive" && argument === "--aws") {
  const at = rest.indexOf("--queue-url");
  process.exit(await redriveAws(at < 0 ? process.env.REACTOR_DLQ_URL : rest[at + 1]));
} else if (command === "list") {
  await list();
} else if (command === "redrive") {
  const consumer = (argument ?? "react") as Consumer;
  if (!CONSUMERS.includes(consumer)) {
    process.stderr.write(`unknown consumer "${consumer}": one of ${CONSUMERS.join(", ")}\n`);
    process.exit(2);
  }
  process.exit(await redrive(consumer));
} else {
  process.stderr.write(
    "usage: npm run outbox -- list | redrive [react|export-events] | redrive --aws [--queue-url <url>]\n",
  );
  process.exit(2);
}
