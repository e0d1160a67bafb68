/**
 * The local stream pollers' dead letters (`streams/<consumer>.dead-letter.ndjson`, written by
 * local/streams.ts when a record's retries end): listed and redriven by `npm run outbox`
 * (bin/outbox.ts), as an operator redrives the reactor's SQS dead-letter queue on AWS.
 *
 * A redrive first renames the file aside, so a record the running poller dead-letters meanwhile
 * starts a new file instead of being overwritten; records that fail again are appended back.
 */
import { appendFile, readFile, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from "aws-lambda";

export interface DeadLetter {
  readonly at: string;
  readonly reason: string;
  readonly shardId: string;
  readonly record: DynamoDBRecord;
}

/** Where a local consumer's dead letters go: a stream poller's beside its checkpoints, a queue's beside its messages. */
export function deadLetterFile(dir: string, consumer: string): string {
  return join(dir, `${consumer}.dead-letter.ndjson`);
}

function parse(text: string): DeadLetter[] {
  return text
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as DeadLetter);
}

/** The dead letters in `file` (none when it does not exist). */
export async function readDeadLetters(file: string): Promise<DeadLetter[]> {
  try {
    return parse(await readFile(file, "utf8"));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
}

export interface RedriveOutcome {
  readonly redriven: number;
  /** Still failing: written back to the dead-letter file. */
  readonly failed: number;
}

/**
 * Gives each dead letter, in order, to `handler` as a batch of one; a record the handler does not
 * fail (no throw, no batchItemFailures) is done and dropped, the others are kept.
 */
export async function redriveDeadLetters(
  file: string,
  handler: (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse | undefined>,
  log: (line: string) => void = () => undefined,
): Promise<RedriveOutcome> {
  const aside = `${file}.redriving`;
  try {
    await rename(file, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  // An earlier redrive that was interrupted left its file aside: it is redriven now.
  const letters = await readDeadLetters(aside);
  let redriven = 0;
  const kept: DeadLetter[] = [];
  for (const letter of letters) {
    const id = letter.record.dynamodb?.SequenceNumber ?? "?";
    try {
      const response = await handler({ Records: [letter.record] });
      if ((response?.batchItemFailures ?? []).length > 0) throw new Error("the record was reported failed");
      redriven += 1;
      log(`record ${id}: done`);
    } catch (error) {
      kept.push(letter);
      log(`record ${id}: failed again (${error instanceof Error ? error.message : String(error)}); kept`);
    }
  }
  if (kept.length > 0) await appendFile(file, kept.map((letter) => `${JSON.stringify(letter)}\n`).join(""));
  await rm(aside, { force: true });
  return { redriven, failed: kept.length };
}
