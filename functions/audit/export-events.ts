import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import type { Context, DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from "aws-lambda";
import { processStreamBatch } from "../shared/stream-batch.js";
import { type CountMetrics, countMetrics, logger as powertoolsLogger } from "../shared/observability.js";
import { eventHash } from "../store/event-hash.js";
import type { StoredEvent } from "../store/ports.js";
import { ENTITY, TABLE } from "../store/table.js";
import {
  decodeEventRecord,
  isEventInsert,
  parseImage,
  StreamImageError,
  UndecodableRecordError,
} from "../store/stream-image.js";
import { tombstoneItemSchema } from "../store/retention-store.js";
import { EXPORT_CONTENT_TYPE, exportObject } from "./export-format.js";
import {
  TOMBSTONE_CONTENT_TYPE,
  TOMBSTONE_RECORD,
  type TombstoneRecord,
  formatTombstone,
  tombstoneKey,
} from "./tombstone-format.js";

/**
 * The audit exporter: DynamoDB stream (NEW_IMAGE) -> one NDJSON object per event in the Object Lock
 * bucket (layout and reasons in export-format.ts).
 *
 * - The event source mapping already filters to INSERTs of `entity = "event"` items and to
 *   retention tombstones whose deletion is complete (AUDIT_STREAM_FILTERS); the handler checks
 *   again, so a mapping without the filters still only exports those. A tombstone becomes its own
 *   object (tombstone-format.ts), ids, dates, rule and counts only, so auditors see why a
 *   challenge's events are gone.
 * - Each record is written on its own, concurrently (Powertools' batch processor:
 *   functions/shared/stream-batch.ts); a record that fails is reported in `batchItemFailures` and
 *   the others still count as done. Lambda retries from the first failed record, so records after
 *   it are written again: the per-event key and `If-None-Match: *` make that harmless. Order does
 *   not matter here: every event is its own object.
 * - Object Lock retention (COMPLIANCE) is the record's own retention date where the event item
 *   carries one (`retainUntil`, written by the store from the child's date of birth): the audit
 *   copy becomes deletable the day the record does. An explicit date on the PUT overrides the
 *   bucket's default period, which only applies to objects written without one (older items).
 * - Nothing personal is logged: tenant, challenge, seq and outcome codes only.
 */

/** What the exporter needs from the outside world. */
export interface ExporterDeps {
  readonly s3: Pick<S3Client, "send">;
  readonly bucket: string;
  readonly log?: ExportLog;
  readonly metrics?: ExportMetrics;
}

/** The logger calls the exporter makes (ids and counts only). */
export interface ExportLog {
  info(message: string, attributes: Record<string, unknown>): void;
  error(message: string, attributes: Record<string, unknown>): void;
}

export type ExportMetrics = CountMetrics;

/** `written`: a new object; `already_exported`: the key exists (a redelivery or an overlapping backfill). */
export type ExportOutcome = "written" | "already_exported";

/**
 * Writes one event's object. Conditional on the key not existing yet: S3 answers 412 when it does,
 * which means this event was exported before (the key is a function of the event, and events are
 * immutable), so it is a success, not an error.
 */
export async function exportEvent(
  s3: Pick<S3Client, "send">,
  bucket: string,
  stored: StoredEvent,
  retainUntil?: string,
): Promise<ExportOutcome> {
  const object = exportObject(stored);
  const lock = objectLockUntil(retainUntil);
  try {
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: object.key,
        Body: object.body,
        ContentType: EXPORT_CONTENT_TYPE,
        // Buckets with Object Lock require an integrity checksum on every PUT; SHA-256 is one an
        // auditor can recompute from a downloaded object with standard tools.
        ChecksumAlgorithm: "SHA256",
        IfNoneMatch: "*",
        ...(lock === undefined ? {} : { ObjectLockMode: "COMPLIANCE", ObjectLockRetainUntilDate: lock }),
      }),
    );
    return "written";
  } catch (error) {
    if (isPreconditionFailed(error)) return "already_exported";
    throw error;
  }
}

/**
 * The instant an exported object's lock ends: the start (UTC) of the day after the record's
 * retention date, the day the deletion job may delete the record itself. Undefined without a date.
 */
export function objectLockUntil(retainUntil: string | undefined): Date | undefined {
  if (retainUntil === undefined) return undefined;
  const day = Date.parse(`${retainUntil}T00:00:00.000Z`);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(retainUntil) || Number.isNaN(day)) {
    throw new UnexportableRecordError(`retention date ${JSON.stringify(retainUntil)} is not a date`);
  }
  return new Date(day + 24 * 60 * 60 * 1000);
}

/**
 * Writes one finished tombstone's object, write-once like the events. No retention date of its own:
 * it holds no personal data, so the bucket's default Object Lock period applies.
 */
export async function exportTombstone(
  s3: Pick<S3Client, "send">,
  bucket: string,
  record: TombstoneRecord,
): Promise<ExportOutcome> {
  try {
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: tombstoneKey(record),
        Body: formatTombstone(record),
        ContentType: TOMBSTONE_CONTENT_TYPE,
        ChecksumAlgorithm: "SHA256",
        IfNoneMatch: "*",
      }),
    );
    return "written";
  } catch (error) {
    if (isPreconditionFailed(error)) return "already_exported";
    throw error;
  }
}

function isPreconditionFailed(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  return error.name === "PreconditionFailed" || status === 412;
}

// --- stream records --------------------------------------------------------------------------

/** Why a stream record was not exported (no personal data: these are logged). */
export class UnexportableRecordError extends Error {
  override readonly name = "UnexportableRecordError";
}

/** Whether a stream record is a tombstone whose deletion is complete (the only tombstone exported). */
export function isFinishedTombstone(record: DynamoDBRecord): boolean {
  const image = record.dynamodb?.NewImage;
  return (
    (record.eventName === "INSERT" || record.eventName === "MODIFY") &&
    image?.[TABLE.entityAttribute]?.S === ENTITY.tombstone &&
    image.status?.S === "deleted"
  );
}

/** The export record of a finished tombstone in a stream record's new image (fields named, never copied wholesale). */
export function tombstoneRecordOf(record: DynamoDBRecord): TombstoneRecord {
  const { item, where } = parseImage(
    record,
    tombstoneItemSchema,
    (message, options) => new UnexportableRecordError(message, options),
    (at) => `tombstone ${at} does not have the stored tombstone shape`,
  );
  if (item.status !== "deleted" || item.deletionCompletedAt === undefined) {
    throw new UnexportableRecordError(`tombstone ${where}: the deletion it records is not complete`);
  }
  return {
    record: TOMBSTONE_RECORD,
    tenantId: item.tenantId,
    challengeId: item.challengeId,
    retainUntil: item.retainUntil,
    retentionRule: item.retentionRule,
    reason: item.reason,
    decidedOn: item.decidedOn,
    deletionStartedAt: item.deletionStartedAt,
    deletionCompletedAt: item.deletionCompletedAt,
    eventCount: item.eventCount,
    itemsDeleted: item.itemsDeleted,
  };
}

/**
 * At most this many S3 PUTs at a time: the batch processor runs a batch's records concurrently
 * (they are independent objects), and a batch holds up to 100.
 */
const PUT_CONCURRENCY = 16;

/** A gate letting at most `limit` tasks run at once, the others waiting in turn. */
function concurrencyLimit(limit: number): <T>(task: () => Promise<T>) => Promise<T> {
  let running = 0;
  const waiting: (() => void)[] = [];
  return async (task) => {
    if (running >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
    running++;
    try {
      return await task();
    } finally {
      running--;
      waiting.shift()?.();
    }
  };
}

/** Builds the stream handler around its dependencies (tests pass a mocked S3 client). */
export function makeExportHandler(
  deps: ExporterDeps,
): (event: DynamoDBStreamEvent, context?: Context) => Promise<DynamoDBBatchResponse> {
  return async (event, context) => {
    const counts = { written: 0, already_exported: 0, skipped: 0, failed: 0, tombstones: 0 };
    const limited = concurrencyLimit(PUT_CONCURRENCY);

    const exportRecord = async (record: DynamoDBRecord): Promise<void> => {
      const tombstone = isFinishedTombstone(record);
      if (!tombstone && !isEventInsert(record)) {
        counts.skipped++;
        return;
      }
      try {
        if (tombstone) {
          const outcome = await limited(() =>
            exportTombstone(deps.s3, deps.bucket, tombstoneRecordOf(record)),
          );
          counts[outcome]++;
          counts.tombstones++;
          return;
        }
        const item = decodeEventRecord(record);
        if (eventHash(item.tenantId, item.event, item.prevHash) !== item.hash) {
          // Exported as stored all the same: the export is the evidence, and the verifier will name it.
          deps.log?.error("event item does not match its hash", {
            tenantId: item.tenantId,
            challengeId: item.event.challengeId,
            seq: item.event.seq,
          });
        }
        const outcome = await limited(() => exportEvent(deps.s3, deps.bucket, item, item.retainUntil));
        counts[outcome]++;
      } catch (error) {
        counts.failed++;
        deps.log?.error("audit export of a stream record failed", {
          sequenceNumber: record.dynamodb?.SequenceNumber,
          errorName: error instanceof Error ? error.name : "unknown",
          errorMessage:
            error instanceof UnexportableRecordError ||
            error instanceof UndecodableRecordError ||
            error instanceof StreamImageError
              ? error.message
              : undefined,
        });
        throw error;
      }
    };

    try {
      // Each record is its own object, so they are written concurrently; a failed one is reported
      // and the others still count as done.
      return await processStreamBatch(event, exportRecord, { inParallel: true, context });
    } finally {
      deps.log?.info("audit export batch done", { records: event.Records.length, ...counts });
      if (deps.metrics !== undefined) {
        deps.metrics.addMetric("AuditEventsExported", "Count", counts.written);
        deps.metrics.addMetric("AuditEventsAlreadyExported", "Count", counts.already_exported);
        deps.metrics.addMetric("AuditExportFailures", "Count", counts.failed);
        deps.metrics.publishStoredMetrics();
      }
    }
  };
}

// --- the Lambda ------------------------------------------------------------------------------

let defaultHandler:
  ((event: DynamoDBStreamEvent, context?: Context) => Promise<DynamoDBBatchResponse>) | undefined;

/** The deployed handler: bucket from AUDIT_BUCKET (set by lib/audit.ts), clients made on first use. */
export const handler = (event: DynamoDBStreamEvent, context?: Context): Promise<DynamoDBBatchResponse> => {
  if (defaultHandler === undefined) {
    const bucket = process.env.AUDIT_BUCKET;
    if (bucket === undefined || bucket === "") {
      throw new Error("Configuration error: AUDIT_BUCKET is not set. The CDK stack sets it.");
    }
    defaultHandler = makeExportHandler({
      s3: new S3Client({}),
      bucket,
      log: powertoolsLogger,
      metrics: countMetrics,
    });
  }
  return defaultHandler(event, context);
};
