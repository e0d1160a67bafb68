import * as z from "zod/mini";
import { documentClient } from "../shared/clients.js";
import { now } from "../shared/clock.js";
import { countMetrics, logger, withLambdaContext } from "../shared/observability.js";
import { RetentionStore } from "../store/retention-store.js";
import { tenantIdListVariable } from "../store/tenant-id-list.js";
import { londonDay } from "../domain/london-time.js";
import { runRetention, type RetentionReport } from "./run-retention.js";

/**
 * The daily deletion job (EventBridge Scheduler, lib/retention.ts; the local runtime runs it on the
 * local clock): deletes every record of the deployment's tenants whose retention date has passed,
 * skipping held ones, and leaves a tombstone for each. Logs ids, rules and counts only.
 */

const environmentSchema = z.object({
  TABLE_NAME: z.string().check(z.minLength(1)),
  /** Comma-separated tenant ids of the deployment (the CDK context `tenantIds`). */
  RETENTION_TENANT_IDS: tenantIdListVariable,
  /** Deletions per run at most; the next run carries on. */
  RETENTION_MAX_DELETIONS: z._default(z.coerce.number().check(z.int(), z.gte(1), z.lte(10_000)), 500),
});

export async function deleteExpired(
  env: Record<string, string | undefined>,
  at: Date,
): Promise<RetentionReport> {
  const settings = environmentSchema.parse(env);
  const report = await runRetention(
    new RetentionStore(documentClient, settings.TABLE_NAME),
    {
      tenantIds: settings.RETENTION_TENANT_IDS,
      asOf: londonDay(at.toISOString()),
      dryRun: false,
      maxDeletions: settings.RETENTION_MAX_DELETIONS,
    },
    now,
  );
  for (const line of report.lines) {
    if (line.outcome !== "held") logger.info("retention", { ...line });
  }
  logger.info("retention run done", { asOf: report.asOf, ...report.counts });
  countMetrics.addMetric("RetentionDeleted", "Count", report.counts.deleted + report.counts.resumed);
  countMetrics.addMetric("RetentionHeld", "Count", report.counts.held);
  countMetrics.addMetric("RetentionDeferred", "Count", report.counts.skipped_limit);
  return report;
}

export const handler = withLambdaContext(async () => {
  const report = await deleteExpired(process.env, now());
  return { asOf: report.asOf, counts: report.counts };
});
