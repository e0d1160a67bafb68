import {
  GetRecordsCommand,
  GetShardIteratorCommand,
  type DynamoDBStreamsClient,
  type _Record as StreamsRecord,
} from "@aws-sdk/client-dynamodb-streams";
import { DeleteMessageCommand, ReceiveMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import type { AttributeValue, DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from "aws-lambda";
import * as z from "zod/mini";

/**
 * Redrives the reactor's AWS dead letters (`npm run outbox -- redrive --aws`, bin/outbox.ts).
 *
 * Lambda's on-failure destination for a stream mapping receives the batch's metadata only, never
 * its records: `DDBStreamBatchInfo` names the stream, shard and the first and last sequence number.
 * The records themselves are read back from the stream (GetShardIterator `AT_SEQUENCE_NUMBER`, then
 * GetRecords up to the last sequence number) while the stream still holds them (24 hours), and
 * handed to the reactor's own handler as one batch. The message is deleted only when every record
 * succeeded; otherwise it stays for the next redrive (it reappears after its visibility timeout).
 *
 * Records the stream no longer holds are reported as expired, message kept: the events in the table
 * are the source of truth, and the reactor's steps are idempotent per event and recipient, so they
 * can be re-derived from the challenge's event items (not done by this command).
 *
 * Each reactor step is idempotent (mail ledger claims, execution names, case-note keys), so a batch
 * whose records were partly done sends nothing twice. Logs ids and counts only.
 */

/** The part of Lambda's on-failure record for a DynamoDB stream batch that a redrive needs. */
export const onFailureRecordSchema = z.object({
  requestContext: z.optional(z.object({ condition: z.optional(z.string()) })),
  timestamp: z.optional(z.string()),
  DDBStreamBatchInfo: z.object({
    shardId: z.string().check(z.minLength(1)),
    startSequenceNumber: z.string().check(z.regex(/^\d+$/)),
    endSequenceNumber: z.string().check(z.regex(/^\d+$/)),
    streamArn: z.string().check(z.minLength(1)),
    batchSize: z.optional(z.number().check(z.int(), z.gte(1))),
  }),
});
export type OnFailureRecord = z.infer<typeof onFailureRecordSchema>;
export type StreamBatchInfo = OnFailureRecord["DDBStreamBatchInfo"];

export type BatchHandler = (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse | undefined>;

export interface AwsRedriveDeps {
  readonly sqs: Pick<SQSClient, "send">;
  readonly streams: Pick<DynamoDBStreamsClient, "send">;
  /** The reactor's dead-letter queue. */
  readonly queueUrl: string;
  /** The reactor's handler (functions/reactor/reactor.ts), the code the Lambda runs. */
  readonly handler: BatchHandler;
  readonly log?: (line: string) => void;
  /** Seconds a received message stays hidden while its batch is redriven. */
  readonly visibilityTimeoutSeconds?: number;
}

export interface AwsRedriveOutcome {
  /** Messages whose every record succeeded: deleted. */
  readonly redriven: number;
  /** Messages with a record that failed again: kept. */
  readonly failed: number;
  /** Messages whose records the stream no longer holds: kept. */
  readonly expired: number;
  /** Messages that are not a stream batch's on-failure record: kept, for a person to read. */
  readonly unreadable: number;
}

/** Where the records of a batch went. */
export type BatchRead =
  | { readonly kind: "records"; readonly records: DynamoDBRecord[] }
  | { readonly kind: "expired"; readonly reason: string };

/** GetRecords pages read past the batch's start before giving up on reaching its end. */
const MAX_PAGES = 50;
const EXPIRED_ERRORS = new Set([
  "TrimmedDataAccessException",
  "ExpiredIteratorException",
  "ResourceNotFoundException",
]);

const compare = (a: string, b: string): number => {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
};

/** A record as the stream API gives it, in the shape Lambda hands the function. */
export function asLambdaRecord(record: StreamsRecord, streamArn: string): DynamoDBRecord {
  const data = record.dynamodb;
  const created = data?.ApproximateCreationDateTime;
  return {
    ...(record.eventID === undefined ? {} : { eventID: record.eventID }),
    ...(record.eventName === undefined ? {} : { eventName: record.eventName }),
    ...(record.eventVersion === undefined ? {} : { eventVersion: record.eventVersion }),
    eventSource: record.eventSource ?? "aws:dynamodb",
    ...(record.awsRegion === undefined ? {} : { awsRegion: record.awsRegion }),
    eventSourceARN: streamArn,
    dynamodb: {
      // The SDK's and aws-lambda's AttributeValue types describe the same JSON.
      ...(data?.Keys === undefined ? {} : { Keys: data.Keys as Record<string, AttributeValue> }),
      ...(data?.NewImage === undefined ? {} : { NewImage: data.NewImage as Record<string, AttributeValue> }),
      ...(data?.OldImage === undefined ? {} : { OldImage: data.OldImage as Record<string, AttributeValue> }),
      ...(data?.SequenceNumber === undefined ? {} : { SequenceNumber: data.SequenceNumber }),
      ...(data?.SizeBytes === undefined ? {} : { SizeBytes: data.SizeBytes }),
      ...(data?.StreamViewType === undefined ? {} : { StreamViewType: data.StreamViewType }),
      // Lambda gives epoch seconds; the SDK parses it to a Date.
      ...(created === undefined ? {} : { ApproximateCreationDateTime: Math.floor(created.getTime() / 1000) }),
    },
  };
}

/** The batch's records, read back from the stream, or why they cannot be. */
export async function readBatch(
  streams: Pick<DynamoDBStreamsClient, "send">,
  batch: StreamBatchInfo,
): Promise<BatchRead> {
  let iterator: string | undefined;
  try {
    const answer = await streams.send(
      new GetShardIteratorCommand({
        StreamArn: batch.streamArn,
        ShardId: batch.shardId,
        ShardIteratorType: "AT_SEQUENCE_NUMBER",
        SequenceNumber: batch.startSequenceNumber,
      }),
    );
    iterator = answer.ShardIterator;
  } catch (error) {
    if (error instanceof Error && EXPIRED_ERRORS.has(error.name)) {
      return {
        kind: "expired",
        reason: `${error.name}: the stream no longer holds these records (24-hour retention)`,
      };
    }
    throw error;
  }
  const records: DynamoDBRecord[] = [];
  for (let page = 0; iterator !== undefined && page < MAX_PAGES; page++) {
    const answer = await streams.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 1000 }));
    for (const record of answer.Records ?? []) {
      const sequence = record.dynamodb?.SequenceNumber;
      if (sequence === undefined || compare(sequence, batch.startSequenceNumber) < 0) continue;
      if (compare(sequence, batch.endSequenceNumber) > 0) return { kind: "records", records };
      records.push(asLambdaRecord(record, batch.streamArn));
      if (compare(sequence, batch.endSequenceNumber) === 0) return { kind: "records", records };
    }
    iterator = answer.NextShardIterator;
  }
  if (records.length === 0) {
    return { kind: "expired", reason: "the stream returned none of the batch's records" };
  }
  // The shard closed (or the pages ran out) before the end: hand over what there is; the message is
  // kept if that is not the whole batch, so nothing is dropped silently.
  return { kind: "records", records };
}

/** Redrives every message in the queue once (see the module comment). */
export async function redriveAwsDeadLetters(deps: AwsRedriveDeps): Promise<AwsRedriveOutcome> {
  const log = deps.log ?? (() => undefined);
  const outcome = { redriven: 0, failed: 0, expired: 0, unreadable: 0 };
  const seen = new Set<string>();
  for (;;) {
    const { Messages: messages = [] } = await deps.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: deps.queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
        VisibilityTimeout: deps.visibilityTimeoutSeconds ?? 300,
      }),
    );
    const fresh = messages.filter((m) => m.MessageId === undefined || !seen.has(m.MessageId));
    if (fresh.length === 0) return outcome;
    for (const message of fresh) {
      if (message.MessageId !== undefined) seen.add(message.MessageId);
      const id = message.MessageId ?? "?";
      let batch: StreamBatchInfo;
      try {
        batch = onFailureRecordSchema.parse(JSON.parse(message.Body ?? "")).DDBStreamBatchInfo;
      } catch {
        outcome.unreadable++;
        log(`message ${id}: not a stream batch's on-failure record; kept`);
        continue;
      }
      const where = `shard ${batch.shardId}, sequence ${batch.startSequenceNumber} to ${batch.endSequenceNumber}`;
      const read = await readBatch(deps.streams, batch);
      if (read.kind === "expired") {
        outcome.expired++;
        log(
          `message ${id} (${where}): ${read.reason}; kept. The events in the table are the source of truth: re-derive the reactions from the challenges' event items`,
        );
        continue;
      }
      const whole = batch.batchSize === undefined || read.records.length >= batch.batchSize;
      let failures: number;
      try {
        const response = await deps.handler({ Records: read.records });
        failures = response?.batchItemFailures.length ?? 0;
      } catch (error) {
        failures = read.records.length;
        log(
          `message ${id} (${where}): the reactor failed (${error instanceof Error ? error.name : "unknown"})`,
        );
      }
      if (failures > 0 || !whole) {
        outcome.failed++;
        log(
          failures > 0
            ? `message ${id} (${where}): ${failures} of ${read.records.length} record(s) failed again; kept`
            : `message ${id} (${where}): only ${read.records.length} of ${batch.batchSize ?? "?"} record(s) still in the stream; kept`,
        );
        continue;
      }
      await deps.sqs.send(
        new DeleteMessageCommand({ QueueUrl: deps.queueUrl, ReceiptHandle: message.ReceiptHandle }),
      );
      outcome.redriven++;
      log(`message ${id} (${where}): ${read.records.length} record(s) redriven; deleted`);
    }
  }
}
