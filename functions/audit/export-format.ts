import * as z from "zod/mini";
import { actorSchema, channelSchema, type Actor, type Channel } from "../domain/challenge/actor.js";
import { londonDay } from "../domain/london-time.js";
import type { StoredEvent } from "../store/ports.js";
import { tenantPrefix } from "../store/table.js";

/**
 * The audit export format: newline-delimited JSON, one line per stored event.
 *
 * A line is exactly the stored event and its place in the challenge's hash chain, nothing added:
 *
 *     { tenantId, challengeId, seq, type, at, actor, channel, data, prevHash, hash }
 *
 * `hash` is `eventHash(tenantId, { type, challengeId, seq, at, actor, channel, data }, prevHash)`
 * from functions/store/event-hash.ts (the one definition the store also uses), so an auditor can
 * recompute every hash from the export alone. No AWS imports: the exporter, the backfill and the
 * auditors' command-line verifier all read this module.
 *
 * ## Object key layout
 *
 *     exports/tenant=<tenantId>/date=<YYYY-MM-DD>/<challengeId>-<seq, 10 digits>.ndjson
 *
 * One object per event, holding that event's single line. `date` is the Europe/London calendar date
 * of the event's `at`; `challengeId` is percent-escaped outside `[A-Za-z0-9._-]`.
 *
 * Why one object per event: the key is a pure function of the event, so every way the same event
 * can reach the writer again lands on the same key with the same bytes: a stream batch redelivered
 * after a partial failure, a batch that Lambda bisected differently on retry (`bisectBatchOnError`),
 * and a backfill overlapping records the stream already delivered. Objects keyed per batch would
 * change their key whenever a retry splits the batch differently and so duplicate lines. The writer
 * also sends `If-None-Match: *`, so a second write of a key is refused by S3 instead of stacking a
 * second (identical) version under Object Lock; the listing of the bucket therefore holds exactly
 * one line per event. The cost is many small objects; auditors read a folder tree (the verifier
 * walks it) and the `tenant=`/`date=` prefixes are Hive-style partitions for Athena or S3 Select.
 */

export const EXPORT_PREFIX = "exports";
export const EXPORT_CONTENT_TYPE = "application/x-ndjson";
const SEQ_DIGITS = 10;

const hashSchema = z.string().check(z.regex(/^[0-9a-f]{64}$/, "a SHA-256 hex digest"));

/**
 * One export line, checked strictly: a field the exporter never writes is a change to the record
 * (the hash covers the event fields only, so an added field must be caught here).
 */
export const exportLineSchema = z.strictObject({
  tenantId: z.string().check(z.minLength(1)),
  challengeId: z.string().check(z.minLength(1)),
  seq: z.number().check(z.int(), z.gte(1)),
  type: z.string().check(z.minLength(1)),
  at: z.string().check(z.minLength(1)),
  actor: actorSchema,
  channel: channelSchema,
  // The event's own fields: their shape is the domain's; the hash is what proves them unchanged.
  data: z.record(z.string(), z.unknown()),
  prevHash: z.union([z.literal(""), hashSchema]),
  hash: hashSchema,
});
export type ExportLine = z.infer<typeof exportLineSchema>;

/** The export line of a stored event, fields in the documented order. */
export function toExportLine(stored: StoredEvent): ExportLine {
  const { event } = stored;
  return {
    tenantId: stored.tenantId,
    challengeId: event.challengeId,
    seq: event.seq,
    type: event.type,
    at: event.at,
    actor: event.actor,
    channel: event.channel,
    data: event.data,
    prevHash: stored.prevHash,
    hash: stored.hash,
  };
}

/** An event as read back from an export: the domain event's fields, its data not yet typed. */
export interface ExportedEvent {
  readonly type: string;
  readonly challengeId: string;
  readonly seq: number;
  readonly at: string;
  readonly actor: Actor;
  readonly channel: Channel;
  readonly data: Record<string, unknown>;
}

/**
 * The event an export line records, as the store hashed it. (The key order does not matter:
 * the hash is over canonical JSON.)
 */
export function eventOfLine(line: ExportLine): ExportedEvent {
  return {
    type: line.type,
    challengeId: line.challengeId,
    seq: line.seq,
    at: line.at,
    actor: line.actor,
    channel: line.channel,
    data: line.data,
  };
}

/** The NDJSON text of one line, newline-terminated. Deterministic: the same event gives the same bytes. */
export function formatLine(line: ExportLine): string {
  return `${JSON.stringify(line)}\n`;
}

/** Characters left as they are in a key segment; everything else is percent-escaped (UTF-8). */
const SAFE_KEY_CHAR = /^[A-Za-z0-9._-]$/;

/** An id as an object-key segment: percent-escaped outside `[A-Za-z0-9._-]` (UTF-8). */
export function keySegment(value: string): string {
  let out = "";
  for (const char of value) {
    if (SAFE_KEY_CHAR.test(char)) {
      out += char;
    } else {
      for (const byte of Buffer.from(char, "utf8"))
        out += `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
    }
  }
  return out;
}

/** The object key of one event: see the module comment for the layout and why. */
export function exportKey(line: Pick<ExportLine, "tenantId" | "challengeId" | "seq" | "at">): string {
  tenantPrefix(line.tenantId); // throws on a tenant id that is not one of ours (no separators in keys)
  if (line.challengeId.length === 0) throw new Error("challenge id must not be empty");
  if (!Number.isSafeInteger(line.seq) || line.seq < 1 || line.seq >= 10 ** SEQ_DIGITS) {
    throw new Error(`event seq must be a positive integer below 10^${SEQ_DIGITS}, got ${line.seq}`);
  }
  const seq = line.seq.toString().padStart(SEQ_DIGITS, "0");
  return `${EXPORT_PREFIX}/tenant=${line.tenantId}/date=${londonDay(line.at)}/${keySegment(line.challengeId)}-${seq}.ndjson`;
}

/** Everything needed to write one event's object. */
export interface ExportObject {
  readonly key: string;
  readonly body: string;
  readonly line: ExportLine;
}

export function exportObject(stored: StoredEvent): ExportObject {
  const line = toExportLine(stored);
  return { key: exportKey(line), body: formatLine(line), line };
}
