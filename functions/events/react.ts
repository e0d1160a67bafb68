import { MetricUnit } from "@aws-lambda-powertools/metrics";
import type { Context, DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from "aws-lambda";
import { handler as pushCaseNotes } from "../audit/push-case-notes.js";
import { handler as sendGoodPractice } from "../mail/send-good-practice.js";
import { handler as sendNotifications } from "../mail/send-notification.js";
import { logger, metrics } from "../shared/observability.js";
import { ENTITY, type Entity, TABLE } from "../store/table.js";
import { handler as startWorkflowRuns } from "../workflow/start-execution.js";

/**
 * The event reactor: the second (and last) reader of the table's stream, which is the service's
 * transactional outbox (a command commits its events with the snapshot in one transaction; every
 * side effect is derived from the committed events here). The first reader is the audit exporter
 * (functions/audit/export-events.ts). DynamoDB Streams serves at most two readers per shard
 * without throttling, so further reactions become steps here, not new event source mappings.
 *
 * Each batch holds new event items and new good practice notifications (the mapping filters INSERTs
 * of `entity = "event"` or `"good_practice"`: REACTOR_STREAM_FILTER in functions/store/table.ts).
 * The records are routed by their entity ({@link ROUTES}); each route's steps run in turn, each
 * over that route's records only (in stream order), so a step never sees a record of another kind.
 * Every step checks again.
 *
 * New event items ({@link STEPS}):
 *
 *   1. workflow:      start a run of the challenge's workflow on ChallengeRaised, and on a Reopened
 *                     whose challenge had been resolved (functions/workflow/start-execution.ts);
 *   2. notifications: the emails each event calls for (functions/mail/send-notification.ts);
 *   3. case notes:    the signed webhook push of each event's case note
 *                     (functions/audit/push-case-notes.ts).
 *
 * New good practice notifications ({@link GOOD_PRACTICE_STEPS}):
 *
 *   1. good-practice: the email to the practitioner's first line manager
 *                     (functions/mail/send-good-practice.ts).
 *
 * A record of no route's entity (the filter lets none through) is not given to any step.
 *
 * Each step is idempotent on its own (execution names per run; a delivery ledger per email; an
 * Idempotency-Key per case note), so a retried record is safe for the steps that had already
 * done it. The batch's failures are the union of the steps' `batchItemFailures`: a record fails if
 * any step failed it, and Lambda retries from the earliest failed record. A step that fails a
 * record, or throws, does not stop the other steps or the other records; a step that throws has
 * failed every record of its route.
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

/** The reactions to new event items, in the order they run. */
export const STEPS: readonly ReactionStep[] = [
  { name: "workflow", run: startWorkflowRuns },
  { name: "notifications", run: sendNotifications },
  { name: "case-notes", run: pushCaseNotes },
];

/** The reactions to new good practice notifications, in the order they run. */
export const GOOD_PRACTICE_STEPS: readonly ReactionStep[] = [
  { name: "good-practice", run: sendGoodPractice },
];

/** The steps for the records of one entity. */
export interface ReactionRoute {
  readonly entity: Entity;
  readonly steps: readonly ReactionStep[];
}

/** The composition, as data: which steps each kind of record goes to, routes in the order they run. */
export const ROUTES: readonly ReactionRoute[] = [
  { entity: ENTITY.event, steps: STEPS },
  { entity: ENTITY.goodPractice, steps: GOOD_PRACTICE_STEPS },
];

function entityOf(record: DynamoDBRecord): string | undefined {
  return record.dynamodb?.NewImage?.[TABLE.entityAttribute]?.S;
}

/** Where the reactor reports a step's failures (ids and error names only: no personal data). */
export interface ReactionObserver {
  stepFailed(step: string, failedRecords: number, error?: unknown): void;
}

export interface ReactionOutcome extends DynamoDBBatchResponse {
  /** Failed record count per step, for logs and tests. */
  readonly failedByStep: Readonly<Record<string, number>>;
}

/**
 * Routes the batch's records by entity and runs each route's steps over its records; returns the
 * union of the steps' failures, in stream order (so the checkpoint is the earliest failure). Step
 * names are unique across routes (they key `failedByStep`). A step that throws fails every record
 * of its route; when such a record has no SequenceNumber that cannot be said per record, and the
 * whole batch fails (throws) after every step has run. A route with no records in the batch runs
 * no step.
 */
export async function react(
  routes: readonly ReactionRoute[],
  event: DynamoDBStreamEvent,
  context?: Context,
  observer?: ReactionObserver,
): Promise<ReactionOutcome> {
  if (!Array.isArray(event.Records)) throw new TypeError("not a DynamoDB stream batch: no Records");
  const sequenceNumbers = event.Records.map((record) => record.dynamodb?.SequenceNumber);
  const failed = new Set<string>();
  const failedByStep: Record<string, number> = {};
  let batchFailure: Error | undefined;

  for (const route of routes) {
    const records = event.Records.filter((record) => entityOf(record) === route.entity);
    if (records.length === 0) continue;
    const routed: DynamoDBStreamEvent = { Records: records };
    const routedNumbers = records.map((record) => record.dynamodb?.SequenceNumber);
    for (const step of route.steps) {
      let failures: readonly string[];
      let thrown: unknown;
      try {
        const result = await step.run(routed, context);
        failures = result.batchItemFailures.map((f) => f.itemIdentifier);
      } catch (error) {
        thrown = error;
        failures = routedNumbers.filter((n): n is string => n !== undefined);
        if (failures.length !== routedNumbers.length) {
          batchFailure ??=
            error instanceof Error ? error : new Error(`reaction step ${step.name} failed`, { cause: error });
        }
      }
      failedByStep[step.name] = failures.length;
      for (const identifier of failures) failed.add(identifier);
      if (failures.length > 0 || thrown !== undefined)
        observer?.stepFailed(step.name, failures.length, thrown);
    }
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

/** The stream handler over the given routes. */
export function createHandler(
  routes: readonly ReactionRoute[],
  observer: ReactionObserver = productionObserver,
) {
  return async (event: DynamoDBStreamEvent, context?: Context): Promise<DynamoDBBatchResponse> => {
    try {
      const { batchItemFailures, failedByStep } = await react(routes, event, context, observer);
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

export const handler = createHandler(ROUTES);
