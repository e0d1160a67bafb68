import { UnknownProtocolError } from "../app/execute-command.js";
import { loadCohort, periodAsAt, protocolsFor, tenantCalendar } from "./readers.js";
import { themesReport } from "./reports.js";
import {
  BAND_WORDS,
  bandOf,
  distribute,
  type Band,
  type Distribution,
  type MetricKind,
  type MetricValue,
} from "../domain/benchmark.js";
import { quarterPeriod } from "../domain/quarters.js";
import type { Protocol } from "../domain/protocol.js";
import type { Participation, PublishedBenchmark } from "../store/benchmark-store.js";
import type { ChallengeStore } from "../store/ports.js";
import type { TenantConfig } from "../store/tenant-store.js";
import { benchmarkFigures } from "./benchmark-figures.js";

/**
 * The benchmark's two jobs over the store: publish a quarter's anonymised distribution from every
 * opted-in authority of the deployment (the scheduled job), and place one authority's own figures
 * beside it (GET /v1/reports/benchmark). Both work an authority's figures out the same way, from its
 * themes report for the quarter. Nothing here logs or returns another authority's figures.
 */

export interface BenchmarkReaders {
  readonly challenges: Pick<ChallengeStore, "raisedInMonth" | "events">;
  readonly protocols: (protocolId: string) => Protocol | undefined;
}

/** An authority's figures for a quarter, as at its end (or `now` while it runs). */
export async function quarterFigures(
  readers: BenchmarkReaders,
  tenantId: string,
  config: TenantConfig,
  quarter: string,
  now: Date,
  children: Pick<Participation, "childrenLookedAfter" | "childrenOnProtectionPlans">,
): Promise<{ asAt: Date; figures: MetricValue[] }> {
  const calendar = tenantCalendar(config);
  const period = quarterPeriod(quarter);
  const asAt = periodAsAt(period, now);
  const cohort = await loadCohort(readers.challenges, tenantId, period, calendar);
  const protocols = protocolsFor(
    [config.protocolId, ...cohort.challenges.map((c) => c.protocolId)],
    readers.protocols,
    (id) => new UnknownProtocolError(id),
  );
  const report = themesReport(cohort.challenges, cohort.events, protocols, period, calendar, { asAt });
  return { asAt, figures: benchmarkFigures(report, cohort.events, protocols, children) };
}

export interface PublishSources extends BenchmarkReaders {
  readonly participation: (tenantId: string) => Promise<Participation | undefined>;
  readonly config: (tenantId: string) => Promise<TenantConfig | undefined>;
}

/**
 * The quarter's published benchmark over the opted-in tenants among `tenantIds` (a tenant with no
 * configuration is skipped: it has nothing to count). The result holds aggregates only.
 */
export async function publishQuarter(
  sources: PublishSources,
  tenantIds: readonly string[],
  quarter: string,
  now: Date,
): Promise<PublishedBenchmark> {
  const contributions: MetricValue[][] = [];
  let asAt = now;
  for (const tenantId of tenantIds) {
    const participation = await sources.participation(tenantId);
    if (participation?.optedIn !== true) continue;
    const config = await sources.config(tenantId);
    if (config === undefined) continue;
    const result = await quarterFigures(sources, tenantId, config, quarter, now, participation);
    asAt = result.asAt;
    contributions.push(result.figures);
  }
  return {
    quarter,
    asAt: asAt.toISOString(),
    publishedAt: now.toISOString(),
    authorities: contributions.length,
    distribution: distribute(contributions),
  };
}

export interface ComparisonRow {
  readonly key: string;
  readonly label: string;
  readonly kind: MetricKind;
  /** This authority's own figure (its own data, unrounded); null where it has none. */
  readonly own: number | null;
  /** The other authorities' distribution; null when none is published for this authority to see. */
  readonly distribution: Distribution | null;
  readonly band: Band | null;
  readonly text: string;
}

export interface BenchmarkComparison {
  readonly quarter: string;
  readonly period: { readonly from: string; readonly to: string };
  readonly asAt: string;
  readonly optedIn: boolean;
  readonly published: {
    readonly asAt: string;
    readonly publishedAt: string;
    readonly authorities: number;
  } | null;
  /** Why no distribution is shown, when none is. */
  readonly note: string | null;
  readonly rows: readonly ComparisonRow[];
}

/** A figure in words: shares as percentages, rates and days as numbers. */
export function figureInWords(value: number, kind: MetricKind): string {
  switch (kind) {
    case "share":
      return `${(value * 100).toFixed(value * 100 === Math.round(value * 100) ? 0 : 1)}%`;
    case "per_100_children":
      return value.toFixed(1);
    case "working_days":
      return `${value % 1 === 0 ? value : value.toFixed(1)} working days`;
  }
}

/**
 * The authority's figures beside the published distribution. The distribution is shown only to an
 * authority that has opted in (it is the others' contribution, given on the same terms).
 */
export function compare(
  quarter: string,
  own: { asAt: Date; figures: readonly MetricValue[] },
  participation: Participation | undefined,
  published: PublishedBenchmark | undefined,
): BenchmarkComparison {
  const optedIn = participation?.optedIn === true;
  const shown = optedIn ? published : undefined;
  const byKey = new Map((shown?.distribution ?? []).map((d) => [d.key, d]));
  const rows = own.figures.map((figure): ComparisonRow => {
    const distribution = shown === undefined ? null : (byKey.get(figure.key) ?? null);
    const band =
      distribution !== null && !distribution.suppressed && figure.value !== null
        ? bandOf(figure.value, distribution)
        : null;
    const ownWords = figure.value === null ? "no figure" : figureInWords(figure.value, figure.kind);
    let text = `${figure.label}: ${ownWords}`;
    if (distribution?.suppressed === true) text += ` (others: not shown, ${distribution.reason})`;
    else if (distribution !== null) {
      const q = (value: number): string => figureInWords(value, figure.kind);
      text +=
        ` (others: median ${q(distribution.median)}, middle half ${q(distribution.lowerQuartile)} to ` +
        `${q(distribution.upperQuartile)}, ${distribution.authorities} authorities)`;
      if (band !== null) text += `; ${BAND_WORDS[band]}`;
    }
    return {
      key: figure.key,
      label: figure.label,
      kind: figure.kind,
      own: figure.value,
      distribution,
      band,
      text,
    };
  });
  const note = !optedIn
    ? "This authority has not opted in to the benchmark, so the other authorities' figures are not shown (PUT /v1/benchmark/participation)."
    : published === undefined
      ? "No benchmark has been published for this quarter yet (the benchmark job publishes daily)."
      : published.authorities === 0
        ? "No authority contributed to this quarter's benchmark."
        : null;
  return {
    quarter,
    period: quarterPeriod(quarter),
    asAt: own.asAt.toISOString(),
    optedIn,
    published:
      shown === undefined
        ? null
        : { asAt: shown.asAt, publishedAt: shown.publishedAt, authorities: shown.authorities },
    note,
    rows,
  };
}
