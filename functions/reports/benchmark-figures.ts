import type { MetricValue } from "../domain/benchmark.js";
import type { ChallengeEvent } from "../domain/challenge/events.js";
import type { Protocol, Track } from "../domain/protocol.js";
import type { ThemesReport } from "./reports.js";

/**
 * One authority's figures for the benchmark (functions/domain/benchmark.ts), from its themes report
 * for the quarter (functions/reports/reports.ts counts the cohort: the challenges raised in it, their
 * events as at the report's `asAt`) and the child counts it gave when it opted in. Figures are
 * comparable across protocols: a stage is its position on the track's ladder (stage 1 is the
 * first rung, whatever the protocol calls it), a theme is its id where protocols share one.
 */

/** Children the authority counts, for "challenges per 100 children"; each optional. */
export interface ChildCounts {
  readonly childrenLookedAfter?: number | undefined;
  readonly childrenOnProtectionPlans?: number | undefined;
}

const TRACK_CHILDREN: Readonly<Record<Track, { count: keyof ChildCounts; words: string }>> = {
  LAC: { count: "childrenLookedAfter", words: "children looked after" },
  CP: { count: "childrenOnProtectionPlans", words: "children on child protection plans" },
};

/** The deepest ladder position shown on its own; later positions are summed into it ("5 or later"). */
export const LAST_POSITION_SHOWN = 5;

export function benchmarkFigures(
  report: ThemesReport,
  events: readonly ChallengeEvent[],
  protocols: readonly Protocol[],
  children: ChildCounts,
): MetricValue[] {
  const raised = report.raised.total;
  const resolved = report.resolution.resolved;
  const share = (count: number, of: number): number | null => (of === 0 ? null : count / of);
  const figures: MetricValue[] = [];

  for (const track of ["LAC", "CP"] as const) {
    const { count, words } = TRACK_CHILDREN[track];
    const children_ = children[count];
    const raisedHere = report.raised.byTrackAndRole
      .filter((row) => row.track === track)
      .reduce((sum, row) => sum + row.count, 0);
    figures.push({
      key: `raised_per_100_children.${track}`,
      label: `${track} challenges raised per 100 ${words}`,
      kind: "per_100_children",
      value: children_ === undefined || children_ === 0 ? null : (raisedHere / children_) * 100,
    });
  }

  // Resolved at each ladder position, as a share of the resolved challenges.
  const byPosition = new Map<number | "after", number>();
  for (const row of report.resolvedAtStage) {
    const stages = protocols.find((p) => p.id === row.protocolId)?.tracks[row.track]?.stages ?? [];
    const index = row.stageId === null ? -1 : stages.findIndex((stage) => stage.id === row.stageId);
    const position = row.stageId === null ? "after" : Math.min(index + 1, LAST_POSITION_SHOWN);
    if (position === 0) continue; // a stage its protocol no longer has: not placeable on a ladder
    byPosition.set(position, (byPosition.get(position) ?? 0) + row.count);
  }
  for (let position = 1; position <= LAST_POSITION_SHOWN; position++) {
    figures.push({
      key: `resolved_at_stage.${position}`,
      label:
        position === LAST_POSITION_SHOWN
          ? `Share of resolved challenges resolved at stage ${position} or later`
          : `Share of resolved challenges resolved at stage ${position}`,
      kind: "share",
      value: share(byPosition.get(position) ?? 0, resolved),
    });
  }
  figures.push({
    key: "resolved_after_last_stage",
    label: "Share of resolved challenges resolved after every stage had been tried",
    kind: "share",
    value: share(byPosition.get("after") ?? 0, resolved),
  });

  figures.push({
    key: "median_working_days_to_resolution",
    label: "Median working days from raising to resolution",
    kind: "working_days",
    value: report.resolution.medianWorkingDaysToResolution,
  });

  const asAt = Date.parse(report.asAt);
  const escalatedByTimer = new Set(
    events
      .filter((e) => e.type === "Escalated" && e.data.kind === "no_response" && Date.parse(e.at) <= asAt)
      .map((e) => e.challengeId),
  );
  figures.push({
    key: "escalated_by_timer",
    label: "Share of challenges escalated at least once because a deadline passed",
    kind: "share",
    value: share(escalatedByTimer.size, raised),
  });

  // Every theme the authority's protocols offer (0 when none ticked it), so the cohort of a theme is
  // the authorities that could have recorded it.
  const offered = new Map<string, string>();
  for (const protocol of protocols) for (const theme of protocol.themes) offered.set(theme.id, theme.label);
  for (const [themeId, label] of offered) {
    const ticked = report.themes
      .filter((row) => row.themeId === themeId)
      .reduce((sum, row) => sum + row.count, 0);
    figures.push({
      key: `theme.${themeId}`,
      label: `Share of challenges about: ${label}`,
      kind: "share",
      value: share(ticked, raised),
    });
  }
  return figures;
}
