import * as z from "zod/mini";
import { previousQuarter, quarterOf } from "../domain/quarters.js";
import { londonDay } from "../domain/london-time.js";
import { findPreset } from "../domain/presets/index.js";
import { documentClient } from "../shared/clients.js";
import { now } from "../shared/clock.js";
import { logger, withLambdaContext } from "../shared/observability.js";
import { BenchmarkStore } from "../store/benchmark-store.js";
import { DynamoChallengeStore } from "../store/dynamo-challenge-store.js";
import { tenantIdListVariable } from "../store/tenant-id-list.js";
import { TenantStore } from "../store/tenant-store.js";
import { publishQuarter } from "./benchmark.js";

/**
 * The daily benchmark job (EventBridge Scheduler, lib/benchmark.ts; the local runtime runs it on
 * the local clock): publishes the last complete quarter and the quarter so far from the
 * deployment's opted-in tenants. Logs the quarter and the count of authorities only.
 */

const environmentSchema = z.object({
  TABLE_NAME: z.string().check(z.minLength(1)),
  /** Comma-separated tenant ids of the deployment (the CDK context `tenantIds`). */
  BENCHMARK_TENANT_IDS: tenantIdListVariable,
});

export interface PublishedSummary {
  readonly quarter: string;
  readonly authorities: number;
}

export async function publishBenchmark(
  env: Record<string, string | undefined>,
  at: Date,
): Promise<PublishedSummary[]> {
  const settings = environmentSchema.parse(env);
  const records = new BenchmarkStore(documentClient, settings.TABLE_NAME);
  const tenants = new TenantStore(documentClient, settings.TABLE_NAME);
  const sources = {
    challenges: new DynamoChallengeStore(documentClient, settings.TABLE_NAME),
    protocols: findPreset,
    participation: (tenantId: string) => records.getParticipation(tenantId),
    config: (tenantId: string) => tenants.getConfig(tenantId),
  };
  // Quarters are London calendar quarters.
  const current = quarterOf(londonDay(at));
  const summaries: PublishedSummary[] = [];
  for (const quarter of [previousQuarter(current), current]) {
    const published = await publishQuarter(sources, settings.BENCHMARK_TENANT_IDS, quarter, at);
    await records.putPublished(published);
    logger.info("benchmark published", { quarter, authorities: published.authorities });
    summaries.push({ quarter, authorities: published.authorities });
  }
  return summaries;
}

export const handler = withLambdaContext(async () => publishBenchmark(process.env, now()));
