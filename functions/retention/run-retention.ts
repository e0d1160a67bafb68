import type { RetentionRule } from "../domain/retention.js";
import type { DeletionOutcome, RetentionCandidate } from "../store/retention-store.js";

/**
 * The retention run, shared by the scheduled job (delete-expired.ts) and the dry-run report
 * (bin/retention.ts): for each tenant, the records past their retention date, earliest first, from
 * the retention index in pages; held ones are listed and skipped. Bounded: at most
 * `maxDeletions` deletions a run (the next day's run carries on). Everything it reports and logs is
 * ids, dates, rules and counts: no personal data.
 */

/** What the run needs from the store (functions/store/retention-store.ts fits it). */
export interface RetentionRepository {
  pastRetention(
    tenantId: string,
    asOf: string,
    limit: number,
    startKey?: Record<string, unknown>,
  ): Promise<{ candidates: RetentionCandidate[]; next?: Record<string, unknown> }>;
  deleteChallenge(
    tenantId: string,
    challengeId: string,
    asOf: string,
    now: () => Date,
  ): Promise<DeletionOutcome>;
}

export interface RetentionRunOptions {
  readonly tenantIds: readonly string[];
  /** The day the run counts as (YYYY-MM-DD): records kept until a day before it are due. */
  readonly asOf: string;
  readonly dryRun: boolean;
  /** Deletions per run at most (default 500). */
  readonly maxDeletions?: number;
  /** Candidates read per index query (default 100). */
  readonly pageSize?: number;
}

export interface RetentionReportLine {
  readonly tenantId: string;
  readonly challengeId: string;
  readonly retainUntil: string;
  readonly rule: RetentionRule;
  /** `would_delete` in a dry run; `resumed` when a deletion an earlier run started was finished. */
  readonly outcome: "would_delete" | "deleted" | "resumed" | "held" | "skipped_changed" | "skipped_limit";
  readonly heldSince?: string;
  readonly itemsDeleted?: number;
}

export interface RetentionReport {
  readonly asOf: string;
  readonly dryRun: boolean;
  readonly lines: readonly RetentionReportLine[];
  readonly counts: Readonly<Record<RetentionReportLine["outcome"], number>>;
}

export async function runRetention(
  repository: RetentionRepository,
  options: RetentionRunOptions,
  now: () => Date,
): Promise<RetentionReport> {
  const maxDeletions = options.maxDeletions ?? 500;
  const pageSize = options.pageSize ?? 100;
  const lines: RetentionReportLine[] = [];
  let deletions = 0;

  for (const tenantId of options.tenantIds) {
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await repository.pastRetention(tenantId, options.asOf, pageSize, startKey);
      startKey = page.next;
      for (const candidate of page.candidates) {
        const base = {
          tenantId,
          challengeId: candidate.challengeId,
          retainUntil: candidate.retainUntil,
          rule: candidate.rule,
        };
        if (candidate.kind === "challenge" && candidate.heldSince !== undefined) {
          lines.push({ ...base, outcome: "held", heldSince: candidate.heldSince });
          continue;
        }
        if (options.dryRun) {
          lines.push({ ...base, outcome: "would_delete" });
          continue;
        }
        if (deletions >= maxDeletions) {
          lines.push({ ...base, outcome: "skipped_limit" });
          continue;
        }
        deletions++;
        const result = await repository.deleteChallenge(tenantId, candidate.challengeId, options.asOf, now);
        switch (result.outcome) {
          case "deleted":
            lines.push({
              ...base,
              outcome: candidate.kind === "tombstone" ? "resumed" : "deleted",
              itemsDeleted: result.itemsDeleted,
            });
            break;
          case "held":
            lines.push({ ...base, outcome: "held" });
            break;
          default:
            // Changed since the index was read (a command, a hold, another run), or already gone.
            lines.push({ ...base, outcome: "skipped_changed" });
        }
      }
    } while (startKey !== undefined);
  }

  const counts = {
    would_delete: 0,
    deleted: 0,
    resumed: 0,
    held: 0,
    skipped_changed: 0,
    skipped_limit: 0,
  };
  for (const line of lines) counts[line.outcome]++;
  return { asOf: options.asOf, dryRun: options.dryRun, lines, counts };
}
