import * as z from "zod/mini";
import { RETENTION_RULES, type RetentionRule } from "../domain/retention.js";
import { londonDay } from "../domain/london-time.js";
import { EXPORT_PREFIX, exportLineSchema, keySegment } from "./export-format.js";
import { tenantPrefix } from "../store/table.js";

/**
 * The audit export's second record kind: the tombstone of a challenge deleted at the end of its
 * retention period, so that auditors see why a challenge's events are gone rather than a broken chain.
 *
 *     exports/tenant=<tenantId>/date=<YYYY-MM-DD>/tombstones/<challengeId>.json
 *
 * One object per tombstone, one JSON line, written once (`If-None-Match: *`) when the deletion is
 * complete. `date` is the Europe/London date the deletion completed; `challengeId` is escaped as in
 * event keys. It holds ids, dates, the rule and counts only, as the table's tombstone does: no name,
 * no date of birth, no free text. It sits under the same `tenant=`/`date=` folders as the events, so
 * a copy of a day's folder carries it and the hourly digests seal it like an event. No AWS imports.
 */

export const TOMBSTONE_FOLDER = "tombstones";
export const TOMBSTONE_CONTENT_TYPE = "application/json";
/** What the record is, in the record itself, so a file read on its own says so. */
export const TOMBSTONE_RECORD = "retention-tombstone" as const;

const ruleSchema = z.enum(Object.keys(RETENTION_RULES) as [RetentionRule, ...RetentionRule[]]);

/** One exported tombstone, checked strictly (a field the exporter never writes is a change). */
export const tombstoneRecordSchema = z.strictObject({
  record: z.literal(TOMBSTONE_RECORD),
  tenantId: z.string().check(z.minLength(1)),
  challengeId: z.string().check(z.minLength(1)),
  retainUntil: z.iso.date(),
  retentionRule: ruleSchema,
  /** The rule's citation. */
  reason: z.string().check(z.minLength(1)),
  /** The day the deletion was decided on. */
  decidedOn: z.iso.date(),
  deletionStartedAt: z.iso.datetime(),
  deletionCompletedAt: z.iso.datetime(),
  /** Events the challenge had when it was deleted: its chain ran from 1 to this. */
  eventCount: z.number().check(z.int(), z.gte(1)),
  itemsDeleted: z.number().check(z.int(), z.gte(0)),
});
export type TombstoneRecord = z.infer<typeof tombstoneRecordSchema>;

/** The key of a tombstone's object (see the module comment). */
export function tombstoneKey(
  record: Pick<TombstoneRecord, "tenantId" | "challengeId" | "deletionCompletedAt">,
): string {
  tenantPrefix(record.tenantId); // throws on a tenant id that is not one of ours
  if (record.challengeId.length === 0) throw new Error("challenge id must not be empty");
  return `${EXPORT_PREFIX}/tenant=${record.tenantId}/date=${londonDay(record.deletionCompletedAt)}/${TOMBSTONE_FOLDER}/${keySegment(record.challengeId)}.json`;
}

/** The bytes of a tombstone's object: deterministic, newline-terminated. */
export function formatTombstone(record: TombstoneRecord): string {
  return `${JSON.stringify(record)}\n`;
}

/** Whether a file (a path in a downloaded copy, or an object key) is an exported tombstone. */
export function isTombstoneFile(file: string): boolean {
  return /(^|[\\/])tombstones[\\/][^\\/]+\.json$/i.test(file);
}

/**
 * The instant an exported object is placed in a digest hour by: an event's `at`, a tombstone's
 * `deletionCompletedAt`. Undefined for anything else (the verifier reports those).
 */
export function exportedRecordInstant(bytes: Uint8Array): number | undefined {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(bytes).toString("utf8"));
  } catch {
    return undefined;
  }
  const event = exportLineSchema.safeParse(json);
  const tombstone = event.success ? undefined : tombstoneRecordSchema.safeParse(json);
  const at = event.success
    ? event.data.at
    : tombstone?.success === true
      ? tombstone.data.deletionCompletedAt
      : undefined;
  if (at === undefined) return undefined;
  const ms = Date.parse(at);
  return Number.isNaN(ms) ? undefined : ms;
}
