import { MetricUnit } from "@aws-lambda-powertools/metrics";
import type { Context, DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from "aws-lambda";
import { caseNoteStep } from "../case-notes/push-case-notes.js";
import { logger, metrics, withLambdaContext } from "../shared/observability.js";
import type { EventItem } from "../store/event-item.js";
import { decodeEventRecord } from "../store/stream-image.js";
import { ENTITY, type Entity, TABLE } from "../store/table.js";
import { workflowStep } from "../workflow/start-execution.js";
import { goodPracticeStep, notificationStep } from "./mail-steps.js";
import { processStreamBatch, type ReactionStep } from "../shared/stream-batch.js";

/**
 * The event reactor: the second (and last) reader of the table's stream, which is the service's
 * transactional outbox (a command commits its events with the snapshot in one transaction; every
 * side effect is derived from the committed events here). The first reader is the audit exporter
 * (functions/audit/export-events.ts). DynamoDB Streams serves at most two readers per shard
 * without throttling, so further reactions become steps here, not new event source mappings.
 *
 * Each batch holds new event items and new good practice notifications (the mapping filters INSERTs
 * of `entity = "event"` or `"good_practice"`: REACTOR_STREAM_FILTER in functions/store/table.ts).
 * A record is routed by its entity ({@link ROUTES}), decoded once, and handed to each of its
 * route's steps in turn. A record that is not an INSERT or of no route's entity (the filter lets
 * none through) is left alone.
 *
 * New event items, decoded to the stored event item (functions/store/stream-image.ts):
 *
 *   1. workflow:      start a run of the challenge's workflow on ChallengeRaised, and on a Reopened
 *                     whose challenge had been resolved (functions/workflow/start-execution.ts);
 *   2. notifications: the emails the event calls for (functions/mail/send-notification.ts);
 *   3. case notes:    the signed webhook push of the event's case note
 *                     (functions/case-notes/push-case-notes.ts).
 *
 * New good practice notifications (the record as it came; the step reads its own item):
 *
 *   1. good-practice: the email to the practitioner's first line manager
 *                     (functions/mail/send-good-practice.ts).
 *
 * Failures. A record fails when it cannot be decoded (UndecodableRecordError) or when any of its
 * steps throws (ReactionFailedError, naming the steps); the other steps still run on it, each being
 * idempotent on its own (execution names per run; a delivery ledger per email; an Idempotency-Key
 * per case note), so the retry is safe for the steps that had done it. Powertools' batch processor
 * reports failed records by SequenceNumber (functions/shared/stream-batch.ts) and Lambda
 * redelivers from the earliest.
 *
 * Order. Records are done one after another in stream order, and once a record of a challenge
 * fails, the later records of that challenge in the batch are not reacted to at all: they are
 * reported as failed too (HeldBackError), so they come back after it. Otherwise a case-record system
 * could receive event 5's note before event 4's, or a recipient the escalation email before the
 * email of the stage it escalates. Other challenges' records go ahead. "Challenge" is the item's
 * partition key, which is the challenge's for every event item.
 */

/** Some of a record's steps threw; each error was reported to the observer. */
export class ReactionFailedError extends Error {
  override readonly name = "ReactionFailedError";
  constructor(readonly steps: readonly string[]) {
    super(`reaction steps failed: ${steps.join(", ")}`);
  }
}

/** A record not reacted to because an earlier record of the same challenge failed in this batch. */
export class HeldBackError extends Error {
  override readonly name = "HeldBackError";
}

/** Where the reactor reports failures (ids and error names only: no personal data). */
export interface ReactionObserver {
  stepFailed(step: string, error: unknown): void;
  recordFailed(sequenceNumber: string | undefined, error: unknown): void;
}

/** The steps for the records of one entity, and how such a record is decoded for them. */
export interface ReactionRoute {
  readonly entity: Entity;
  /** Once per batch: the function that reacts to one record of this entity (throws on failure). */
  readonly begin: (
    observer: ReactionObserver,
    context?: Context,
  ) => (record: DynamoDBRecord) => Promise<readonly string[]>;
}

/** A route: `decode` once per record, then every step over the decoded record; returns the names of the steps that failed. */
export function route<R>(
  entity: Entity,
  decode: (record: DynamoDBRecord) => R,
  steps: readonly ReactionStep<R>[],
): ReactionRoute {
  return {
    entity,
    begin: (observer, context) => {
      const started = steps.map((step) => ({ name: step.name, run: step.begin(context) }));
      return async (record) => {
        const decoded = decode(record);
        const failed: string[] = [];
        for (const step of started) {
          try {
            await step.run(decoded);
          } catch (error) {
            failed.push(step.name);
            observer.stepFailed(step.name, error);
          }
        }
        return failed;
      };
    },
  };
}

/** The reactions to new event items, in the order they run. */
export const EVENT_STEPS: readonly ReactionStep<EventItem>[] = [workflowStep, notificationStep, caseNoteStep];

/** The reactions to new good practice notifications, in the order they run. */
export const GOOD_PRACTICE_STEPS: readonly ReactionStep<DynamoDBRecord>[] = [goodPracticeStep];

/** The composition, as data: which steps each kind of record goes to. */
export const ROUTES: readonly ReactionRoute[] = [
  route(ENTITY.event, decodeEventRecord, EVENT_STEPS),
  route(ENTITY.goodPractice, (record) => record, GOOD_PRACTICE_STEPS),
];

const imageAttribute = (record: DynamoDBRecord, name: string): string | undefined =>
  record.dynamodb?.NewImage?.[name]?.S;

export interface ReactionSummary {
  readonly records: number;
  readonly failed: number;
  readonly heldBack: number;
  /** Records each step failed. */
  readonly failedByStep: Readonly<Record<string, number>>;
}

/** Reacts to one stream batch over the given routes (see the module comment); the partial batch response and a summary. */
export async function react(
  routes: readonly ReactionRoute[],
  event: DynamoDBStreamEvent,
  observer: ReactionObserver,
  context?: Context,
): Promise<DynamoDBBatchResponse & { readonly summary: ReactionSummary }> {
  const failedByStep: Record<string, number> = {};
  const counting: ReactionObserver = {
    stepFailed: (step, error) => {
      failedByStep[step] = (failedByStep[step] ?? 0) + 1;
      observer.stepFailed(step, error);
    },
    recordFailed: (sequenceNumber, error) => {
      observer.recordFailed(sequenceNumber, error);
    },
  };
  const started = routes.map((r) => ({ entity: r.entity, react: r.begin(counting, context) }));
  // Challenges (partition keys) with a failed record in this batch.
  const failedChallenges = new Set<string>();
  let heldBack = 0;
  let failed = 0;

  const reactTo = async (record: DynamoDBRecord): Promise<void> => {
    // New items only, as the mapping's filter says: checked again, so a mapping without it reacts to nothing else.
    if (record.eventName !== "INSERT") return;
    const entity = imageAttribute(record, TABLE.entityAttribute);
    const routed = started.find((r) => r.entity === entity);
    if (routed === undefined) return;
    const challenge = imageAttribute(record, TABLE.partitionKey);
    try {
      if (challenge !== undefined && failedChallenges.has(challenge)) {
        heldBack++;
        throw new HeldBackError("an earlier record of the same challenge failed in this batch");
      }
      const failedSteps = await routed.react(record);
      if (failedSteps.length > 0) throw new ReactionFailedError(failedSteps);
    } catch (error) {
      failed++;
      if (challenge !== undefined) failedChallenges.add(challenge);
      if (!(error instanceof HeldBackError)) counting.recordFailed(record.dynamodb?.SequenceNumber, error);
      throw error;
    }
  };

  // One after another, in stream order: the per-challenge order above depends on it.
  const response = await processStreamBatch(event, reactTo, { inParallel: false, context });
  return { ...response, summary: { records: event.Records.length, failed, heldBack, failedByStep } };
}

const errorName = (error: unknown): string => (error instanceof Error ? error.name : "unknown");

const productionObserver: ReactionObserver = {
  stepFailed: (step, error) => {
    metrics.addMetric("ReactionRecordsFailed", MetricUnit.Count, 1);
    logger.warn("a reaction step did not complete a record; it will be retried", {
      step,
      errorName: errorName(error),
    });
  },
  recordFailed: (sequenceNumber, error) => {
    logger.warn("a stream record was not reacted to; it will be retried", {
      sequenceNumber,
      errorName: errorName(error),
      // Our own decoding error names the item's key and what is wrong, never a value.
      ...(error instanceof Error && error.name === "UndecodableRecordError"
        ? { errorMessage: error.message }
        : {}),
    });
  },
};

/** The stream handler over the given routes. */
export function createHandler(
  routes: readonly ReactionRoute[],
  observer: ReactionObserver = productionObserver,
): (event: DynamoDBStreamEvent, context?: Context) => Promise<DynamoDBBatchResponse> {
  return async (event, context) =>
    withLambdaContext(async (batch: DynamoDBStreamEvent) => {
      const { batchItemFailures, summary } = await react(routes, batch, observer, context);
      logger.info("event batch reacted to", { ...summary });
      return { batchItemFailures };
    })(event, context);
}

export const handler = createHandler(ROUTES);
