import { MetricUnit } from "@aws-lambda-powertools/metrics";
import type { Context, DynamoDBBatchResponse, DynamoDBStreamEvent } from "aws-lambda";
import { handler as pushCaseNotes } from "../audit/push-case-notes.js";
import { handler as sendNotifications } from "../mail/send-notification.js";
import { logger, metrics } from "../shared/observability.js";
import { handler as startWorkflowRuns } from "../workflow/start-execution.js";

/**
 * The event reactor: the second (and last) reader of the table's stream, which is the service's
 * transactional outbox (a command commits its events with the snapshot in one transaction; every
 * side effect is derived from the committed events here). The first reader is the audit exporter
 * (functions/audit/export-events.ts). DynamoDB Streams serves at most two readers per shard
 * without throttling, so further reactions become steps here, not new event source mappings.
 *
 * For each batch of new event items (the mapping filters INSERTs of `entity = "event"`; every step
 * checks again) the steps run in turn, each over the whole batch:
 *
 *   1. workflow:      start a run of the challenge's workflow on ChallengeRaised, and on a Reopened
 *                     whose challenge had been resolved (functions/workflow/start-execution.ts);
 *   2. notifications: the emails each event calls for (functions/mail/send-notification.ts);
 *   3. case notes:    the signed webhook push of each event's case note
 *                     (functions/audit/push-case-notes.ts).
 *
 * Each step is idempotent on its own (execution names per run; a delivery ledger per email; an
 * Idempotency-Key per case note), so a retried record is safe for the steps that had already
 * done it. The batch's failures are the union of the steps' `batchItemFailures`: a record fails if
 * any step failed it, and Lambda retries from the earliest failed record. A step that fails a
 * record, or throws, does not stop the other steps or the other records; a step that throws has
 * failed every record of the batch.
 */

/** What a step returns: the records it could not do (by SequenceNumber), as Lambda's partial batch response. */
export interface StepResult {
  readonly batchItemFailures: readonly { readonly itemIdentifier: string }[];
}

/** One reaction: a stream batch function, as exported by its module. */
export interface ReactionStep {
  /** For logs and metrics. */
  readonly name: string;
  readonly run: (event: DynamoDBStreamEvent, context?: Context) => Promise<StepResult>;
}

/** The reactions, in the order they run: the composition, as data. */
export const STEPS: readonly ReactionStep[] = [
  { name: "workflow", run: startWorkflowRuns },
  { name: "notifications", run: sendNotifications },
  { name: "case-notes", run: pushCaseNotes },
];

/** Where the reactor reports a step's failures (ids and error names only: no personal data). */
export interface ReactionObserver {
  stepFailed(step: string, failedRecords: number, error?: unknown): void;
}

export interface ReactionOutcome extends DynamoDBBatchResponse {
  /** Failed record count per step, for logs and tests. */
  readonly failedByStep: Readonly<Record<string, number>>;
}

/**
 * Runs every step over the batch and returns the union of their failures, in stream order (so the
 * checkpoint is the earliest failure). A step that throws fails every record; when a record has no
 * SequenceNumber that cannot be said per record, and the whole batch fails (throws) after every
 * step has run.
 */
export async function react(
  steps: readonly ReactionStep[],
  event: DynamoDBStreamEvent,
  context?: Context,
  observer?: ReactionObserver,
): Promise<ReactionOutcome> {
  if (!Array.isArray(event.Records)) throw new TypeError("not a DynamoDB stream batch: no Records");
  const sequenceNumbers = event.Records.map((record) => record.dynamodb?.SequenceNumber);
  const failed = new Set<string>();
  const failedByStep: Record<string, number> = {};
  let batchFailure: Error | undefined;

  for (const step of steps) {
    let failures: readonly string[];
    let thrown: unknown;
    try {
      const result = await step.run(event, context);
      failures = result.batchItemFailures.map((f) => f.itemIdentifier);
    } catch (error) {
      thrown = error;
      failures = sequenceNumbers.filter((n): n is string => n !== undefined);
      if (failures.length !== sequenceNumbers.length) {
        batchFailure ??=
          error instanceof Error ? error : new Error(`reaction step ${step.name} failed`, { cause: error });
      }
    }
    failedByStep[step.name] = failures.length;
    for (const identifier of failures) failed.add(identifier);
    if (failures.length > 0 || thrown !== undefined) observer?.stepFailed(step.name, failures.length, thrown);
  }
  if (batchFailure !== undefined) throw batchFailure;

  const known = new Set(sequenceNumbers);
  const inOrder = sequenceNumbers.filter((n): n is string => n !== undefined && failed.has(n));
  // An identifier that is not in the batch makes Lambda retry the whole batch: keep it, last.
  const unknown = [...failed].filter((n) => !known.has(n));
  return {
    batchItemFailures: [...inOrder, ...unknown].map((itemIdentifier) => ({ itemIdentifier })),
    failedByStep,
  };
}

const productionObserver: ReactionObserver = {
  stepFailed: (step, failedRecords, error) => {
    metrics.addMetric("ReactionRecordsFailed", MetricUnit.Count, failedRecords);
    logger.warn("a reaction step did not complete every record; they will be retried", {
      step,
      failedRecords,
      ...(error === undefined ? {} : { errorName: error instanceof Error ? error.name : "unknown" }),
    });
  },
};

/** The stream handler over the given steps. */
export function createHandler(
  steps: readonly ReactionStep[],
  observer: ReactionObserver = productionObserver,
) {
  return async (event: DynamoDBStreamEvent, context?: Context): Promise<DynamoDBBatchResponse> => {
    try {
      const { batchItemFailures, failedByStep } = await react(steps, event, context, observer);
      logger.info("event batch reacted to", {
        records: event.Records.length,
        failed: batchItemFailures.length,
        failedByStep,
      });
      return { batchItemFailures };
    } finally {
      if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
    }
  };
}

export const handler = createHandler(STEPS);
