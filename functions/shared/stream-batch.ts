import { BatchProcessor, EventType, processPartialResponse } from "@aws-lambda-powertools/batch";
import type { Context, DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from "aws-lambda";

/** A failed stream record without a SequenceNumber: it cannot be named in a partial batch response. */
export class UnreportableFailureError extends Error {
  override readonly name = "UnreportableFailureError";
}

export interface StreamBatchOptions {
  /** Records at the same time (the audit export) or one after another in stream order (the reactor). */
  readonly inParallel: boolean;
  readonly context?: Context | undefined;
}

/**
 * Runs `handle` over every record of a DynamoDB stream batch with Powertools' batch processor: a
 * record whose handler throws is reported by its SequenceNumber (`batchItemFailures`), and Lambda
 * checkpoints before the lowest one reported and redelivers from there (the event source mappings
 * set ReportBatchItemFailures: lib/reactor.ts, lib/audit.ts).
 *
 * Two choices differ from the processor's defaults, to keep what the hand-built responses did:
 * - When every record fails, they are all reported rather than thrown as FullBatchFailureError:
 *   a thrown error would make the mappings (BisectBatchOnFunctionError) split the batch, which
 *   retries nothing sooner when every record failed.
 * - The processor leaves out a failed record that has no SequenceNumber, which would count it as
 *   done; here the whole batch fails instead ({@link UnreportableFailureError}). Real stream
 *   records always have one.
 *
 * A processor per call: it holds the batch's state, and the local runtime runs batches concurrently
 * in one process.
 */
export async function processStreamBatch(
  event: DynamoDBStreamEvent,
  handle: (record: DynamoDBRecord) => Promise<void>,
  options: StreamBatchOptions,
): Promise<DynamoDBBatchResponse> {
  const processor = new BatchProcessor(EventType.DynamoDBStreams);
  const response = await processPartialResponse(event, handle, processor, {
    ...(options.context === undefined ? {} : { context: options.context }),
    processInParallel: options.inParallel,
    throwOnFullBatchFailure: false,
  });
  const unnamed = processor.failureMessages.filter(
    (record) => (record as DynamoDBRecord).dynamodb?.SequenceNumber === undefined,
  );
  if (unnamed.length > 0) {
    throw new UnreportableFailureError(`${unnamed.length} failed stream record(s) have no SequenceNumber`);
  }
  return { batchItemFailures: response.batchItemFailures };
}

/**
 * One reaction to a kind of record (functions/reactor/reactor.ts). `begin` is called once per batch
 * (what a step keeps per batch, such as the mail context loader, lives in the closure it returns);
 * the function it returns does one record and throws when it could not.
 */
export interface ReactionStep<R> {
  /** For logs and metrics. */
  readonly name: string;
  readonly begin: (context?: Context) => (record: R) => Promise<void>;
}
