/**
 * The benchmark across authorities, pure: each opted-in authority's figures for a quarter become
 * one anonymised distribution, and an authority's own figures are placed beside it.
 *
 * No benchmark of challenge numbers exists (Medway's review found none), so the rules that keep it
 * anonymous are the point of this module:
 * - only aggregates leave it: the lower quartile, the median and the upper quartile of each figure,
 *   never a minimum, a maximum or a single authority's value;
 * - each aggregate comes from at least {@link MIN_COHORT} authorities, or it is suppressed (and says
 *   so) rather than shown;
 * - every aggregate is rounded coarsely (shares to 5 percentage points, rates per 100 children to
 *   0.5, working days to whole days), so a quartile that interpolates between two authorities, or
 *   lands on one, does not give that authority's exact figure away;
 * - an authority is placed in a band (below the lower quartile ... above the upper quartile), never
 *   ranked.
 */

/** The fewest authorities an aggregate may come from. */
export const MIN_COHORT = 5;

export type MetricKind = "share" | "per_100_children" | "working_days";

/** One figure of one authority for a quarter; null where it cannot be worked out (nothing resolved, no child count). */
export interface MetricValue {
  /** Stable key: `raised_per_100_children.LAC`, `resolved_at_stage.2`, `theme.<themeId>`, ... */
  readonly key: string;
  readonly label: string;
  readonly kind: MetricKind;
  readonly value: number | null;
}

export interface Quartiles {
  readonly lowerQuartile: number;
  readonly median: number;
  readonly upperQuartile: number;
}

export type Distribution =
  | ({
      readonly key: string;
      readonly label: string;
      readonly kind: MetricKind;
      readonly suppressed: false;
      readonly authorities: number;
    } & Quartiles)
  | {
      readonly key: string;
      readonly label: string;
      readonly kind: MetricKind;
      readonly suppressed: true;
      readonly reason: string;
    };

export type Band =
  "below_lower_quartile" | "lower_quartile_to_median" | "median_to_upper_quartile" | "above_upper_quartile";

export const BAND_WORDS: Readonly<Record<Band, string>> = {
  below_lower_quartile: "below the lower quartile",
  lower_quartile_to_median: "between the lower quartile and the median",
  median_to_upper_quartile: "between the median and the upper quartile",
  above_upper_quartile: "above the upper quartile",
};

const STEP: Readonly<Record<MetricKind, number>> = {
  share: 0.05,
  per_100_children: 0.5,
  working_days: 1,
};

/** Rounds to the kind's step (half away from zero), without binary-fraction noise. */
export function roundForKind(value: number, kind: MetricKind): number {
  const step = STEP[kind];
  const rounded = Math.round(value / step) * step;
  return Number(rounded.toFixed(2));
}

/** The q-quantile of sorted values, linearly interpolated between order statistics (R's type 7). */
function quantile(sorted: readonly number[], q: number): number {
  const position = (sorted.length - 1) * q;
  const below = Math.floor(position);
  const low = sorted[below] ?? 0;
  const high = sorted[Math.min(below + 1, sorted.length - 1)] ?? low;
  return low + (high - low) * (position - below);
}

/**
 * The distribution of each figure over the authorities that have it (a null value does not count
 * towards the cohort). Figures are keyed by `key`; the label and kind of the first authority with the
 * key are used. Ordered by key's first appearance.
 */
export function distribute(
  authorities: readonly (readonly MetricValue[])[],
  minCohort = MIN_COHORT,
): Distribution[] {
  if (minCohort < MIN_COHORT)
    throw new RangeError(`a cohort of fewer than ${MIN_COHORT} authorities is never shown`);
  const byKey = new Map<string, { label: string; kind: MetricKind; values: number[] }>();
  for (const figures of authorities) {
    for (const metric of figures) {
      const entry = byKey.get(metric.key) ?? { label: metric.label, kind: metric.kind, values: [] };
      byKey.set(metric.key, entry);
      if (metric.value !== null && Number.isFinite(metric.value)) entry.values.push(metric.value);
    }
  }
  return [...byKey.entries()].map(([key, { label, kind, values }]): Distribution => {
    if (values.length < minCohort) {
      return {
        key,
        label,
        kind,
        suppressed: true,
        reason: `fewer than ${minCohort} authorities have this figure`,
      };
    }
    const sorted = [...values].sort((a, b) => a - b);
    return {
      key,
      label,
      kind,
      suppressed: false,
      authorities: values.length,
      lowerQuartile: roundForKind(quantile(sorted, 0.25), kind),
      median: roundForKind(quantile(sorted, 0.5), kind),
      upperQuartile: roundForKind(quantile(sorted, 0.75), kind),
    };
  });
}

/**
 * Where an authority's own value sits against the (rounded) quartiles. A value on a boundary
 * belongs to the band nearer the median.
 */
export function bandOf(value: number, quartiles: Quartiles): Band {
  if (value < quartiles.lowerQuartile) return "below_lower_quartile";
  if (value > quartiles.upperQuartile) return "above_upper_quartile";
  return value <= quartiles.median ? "lower_quartile_to_median" : "median_to_upper_quartile";
}
