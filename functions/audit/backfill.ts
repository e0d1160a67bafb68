import type { S3Client } from "@aws-sdk/client-s3";
import type { ChallengeStore } from "../store/ports.js";
import { exportEvent } from "./export-events.js";

/**
 * Backfill: re-exports a tenant's events from the table, the source of truth, after the stream lost
 * records (DynamoDB Streams keep records for 24 hours only; DESIGN.md, Retention).
 *
 * It walks the challenges by the month they were raised (the store's `raisedInMonth` index query,
 * never a scan), reads each challenge's events (the store checks their hash chain as it reads) and
 * writes exactly the objects the stream exporter writes: same keys, same bytes, with
 * `If-None-Match: *`. Running it twice, or over events the stream did deliver, writes nothing new.
 *
 * Which months: an outage loses events of challenges that were *active* during it, and those may
 * have been raised long before. Give `fromMonth` as the month the oldest challenge still active
 * during the outage was raised (when in doubt, the tenant's first month: the run only costs
 * requests). `since` then skips events older than the outage, so old events are not re-sent.
 */

export interface BackfillOptions {
  readonly store: Pick<ChallengeStore, "raisedInMonth" | "events">;
  readonly s3: Pick<S3Client, "send">;
  readonly bucket: string;
  readonly tenantId: string;
  /** First month raised, YYYY-MM (inclusive). */
  readonly fromMonth: string;
  /** Last month raised, YYYY-MM (inclusive). */
  readonly toMonth: string;
  /** Only events at or after this ISO instant (e.g. the start of the outage). Default: all. */
  readonly since?: string;
  /** Called after each challenge, for progress output. */
  readonly onProgress?: (progress: BackfillProgress) => void;
}

export interface BackfillProgress {
  readonly month: string;
  readonly challengeId: string;
  readonly written: number;
  readonly alreadyExported: number;
}

export interface BackfillSummary {
  readonly months: number;
  readonly challenges: number;
  readonly events: number;
  readonly written: number;
  readonly alreadyExported: number;
}

const MONTH = /^(\d{4})-(0[1-9]|1[0-2])$/;

/** The months from `from` to `to`, inclusive, as YYYY-MM. */
export function monthsBetween(from: string, to: string): string[] {
  const start = MONTH.exec(from);
  const end = MONTH.exec(to);
  if (start === null || end === null) {
    throw new Error(`months must be YYYY-MM, got ${JSON.stringify(from)} and ${JSON.stringify(to)}`);
  }
  const first = Number(start[1]) * 12 + Number(start[2]) - 1;
  const last = Number(end[1]) * 12 + Number(end[2]) - 1;
  if (last < first) throw new Error(`${to} is before ${from}`);
  if (last - first > 12 * 100) throw new Error("a backfill covers at most a hundred years");
  const months: string[] = [];
  for (let m = first; m <= last; m++) {
    months.push(`${Math.floor(m / 12)}-${String((m % 12) + 1).padStart(2, "0")}`);
  }
  return months;
}

export async function backfillTenant(options: BackfillOptions): Promise<BackfillSummary> {
  const { store, s3, bucket, tenantId } = options;
  const sinceMs = options.since === undefined ? undefined : Date.parse(options.since);
  if (sinceMs !== undefined && Number.isNaN(sinceMs)) {
    throw new Error(`since must be an ISO-8601 instant, got ${JSON.stringify(options.since)}`);
  }
  const months = monthsBetween(options.fromMonth, options.toMonth);
  let challenges = 0;
  let events = 0;
  let written = 0;
  let alreadyExported = 0;

  for (const month of months) {
    let cursor: string | undefined;
    do {
      const page = await store.raisedInMonth(tenantId, month, {
        limit: 100,
        ...(cursor === undefined ? {} : { cursor }),
      });
      for (const state of page.items) {
        challenges++;
        let challengeWritten = 0;
        let challengeAlready = 0;
        for (const stored of await store.events(tenantId, state.challengeId)) {
          if (sinceMs !== undefined && Date.parse(stored.event.at) < sinceMs) continue;
          events++;
          const outcome = await exportEvent(s3, bucket, stored);
          if (outcome === "written") challengeWritten++;
          else challengeAlready++;
        }
        written += challengeWritten;
        alreadyExported += challengeAlready;
        options.onProgress?.({
          month,
          challengeId: state.challengeId,
          written: challengeWritten,
          alreadyExported: challengeAlready,
        });
      }
      cursor = page.next;
    } while (cursor !== undefined);
  }
  return { months: months.length, challenges, events, written, alreadyExported };
}
