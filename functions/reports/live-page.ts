import type { WorkingDayCalendar } from "../domain/calendar.js";
import {
  acknowledgementDueBy,
  acknowledgementOverdue,
  assigneeAcknowledgement,
} from "../domain/challenge/acknowledgement.js";
import type { Channel } from "../domain/challenge/actor.js";
import type { ChallengeEvent } from "../domain/challenge/events.js";
import type { ChallengeState } from "../domain/challenge/state.js";
import type { Protocol } from "../domain/protocol.js";
import { previousQuarter, quarterInWords, quarterOf, quarterPeriod } from "../domain/quarters.js";
import { escapeHtml } from "../shared/html.js";
import { type ReportPeriod, barChart, table, themesReport } from "./reports.js";
import { type TimelineEntry, timelineEntries } from "../audit/timeline-entries.js";
import { formatDeadline, formatInstant } from "../audit/words.js";
import { type PersonNames, stageLabel } from "../domain/words.js";

/**
 * The live page for service managers (issue 15), pure: where every open challenge stands, and how
 * the last four quarters went. The model first (`livePage`), then one self-contained, printable,
 * accessible HTML page (`toLiveHtml`) drawn with the themes report's own chart and table code.
 *
 * What it shows, and no more: the child by the case-record id only (the manager opens the record
 * there), staff by the directory's names at read time, and each open challenge's timeline (the
 * audit timeline: no free text).
 *
 * - Open challenges: every open stage (and every decision owed after the last stage), overdue first,
 *   then by deadline; working days to the deadline (negative: past it); who has it now; whether and
 *   how they acknowledged it, flagged when nobody did within a working day of the stage opening.
 * - By stage and team: counts of the open ones.
 * - By quarter (the current calendar quarter and the three before, London dates): raised, resolved,
 *   median working days to resolution, resolved within target, highest stage reached, themes; each
 *   quarter counted as the themes report counts it (functions/reports/reports.ts), as at now.
 */

export interface LiveAcknowledgement {
  readonly personId: string;
  readonly name?: string;
  readonly at: string;
  readonly channel: Channel;
}

export interface LiveRow {
  readonly challengeId: string;
  readonly caseRecordId: string;
  readonly track: string;
  readonly team: string;
  readonly stageLabel: string;
  /** Who has it now: the stage's assignee, or the person a decision after the ladder is owed by. */
  readonly holderTitle: string;
  readonly holderPersonId: string;
  readonly holderName?: string;
  readonly deadline: string;
  readonly overdue: boolean;
  /** Working days to the deadline; negative when past it (0: due today). */
  readonly workingDaysToDeadline: number;
  /** Undefined for a decision after the ladder (nothing to acknowledge). */
  readonly acknowledgement?: LiveAcknowledgement;
  /** The stage was not acknowledged within one working day of opening. */
  readonly acknowledgementOverdue: boolean;
  readonly acknowledgementDueBy?: string;
  readonly awaiting: "recipient" | "raiser_decision" | "decision_after_ladder";
}

export interface QuarterFigures {
  /** "Apr to Jun 2026". */
  readonly label: string;
  readonly period: ReportPeriod;
  readonly raised: number;
  readonly resolved: number;
  readonly withinTarget: number;
  readonly medianWorkingDaysToResolution: number | null;
  /** Highest stage reached, by stage label (summed over tracks and protocols with the same label). */
  readonly highestStageReached: ReadonlyMap<string, number>;
  readonly themes: ReadonlyMap<string, number>;
}

export interface LivePage {
  readonly title: string;
  readonly asAt: string;
  readonly open: readonly LiveRow[];
  readonly byStageAndTeam: readonly {
    readonly stageLabel: string;
    readonly team: string;
    readonly count: number;
  }[];
  readonly quarters: readonly QuarterFigures[];
  /** Each open challenge's timeline, by challenge id. */
  readonly timelines: ReadonlyMap<string, readonly TimelineEntry[]>;
}

export interface LivePageInput {
  /** The open challenges (the open-by-due-date tray). */
  readonly open: readonly ChallengeState[];
  /** The challenges raised in {@link quartersEnding}(now) and their events, for the quarterly figures. */
  readonly raised: readonly ChallengeState[];
  readonly raisedEvents: readonly ChallengeEvent[];
  readonly protocols: readonly Protocol[];
  readonly calendar: WorkingDayCalendar;
  readonly now: Date;
  readonly names?: PersonNames;
  readonly timelines?: ReadonlyMap<string, readonly TimelineEntry[]>;
  readonly title?: string;
}

/**
 * A challenge's timeline from its events (the audit timeline's words, names from the directory at
 * read time). The events are the store's, already checked against their schemas on the way out,
 * so they are not turned into export lines and parsed again.
 */
export function timelineOfEvents(
  events: readonly ChallengeEvent[],
  protocol: Protocol | undefined,
  names?: PersonNames,
): TimelineEntry[] {
  return timelineEntries(
    [...events].sort((a, b) => a.seq - b.seq),
    protocol,
    names,
  );
}

/** The current calendar quarter (London) of `now` and the `count - 1` before it, oldest first. */
export function quartersEnding(
  now: Date,
  calendar: WorkingDayCalendar,
  count = 4,
): { label: string; period: ReportPeriod }[] {
  const quarters = [quarterOf(calendar.londonDate(now))];
  while (quarters.length < count) quarters.unshift(previousQuarter(quarters[0] ?? ""));
  return quarters.map((quarter) => ({ label: quarterInWords(quarter), period: quarterPeriod(quarter) }));
}

function protocolOf(protocols: readonly Protocol[], id: string): Protocol | undefined {
  return protocols.find((p) => p.id === id);
}

function rowOf(state: ChallengeState, input: LivePageInput): LiveRow | undefined {
  const { calendar, now, names } = input;
  const protocol = protocolOf(input.protocols, state.protocolId);
  const untilDeadline = (deadline: string): number => {
    const at = new Date(deadline);
    return at.getTime() < now.getTime()
      ? -calendar.workingDaysBetween(at, now)
      : calendar.workingDaysBetween(now, at);
  };
  const base = {
    challengeId: state.challengeId,
    caseRecordId: state.form.child.caseRecordId,
    track: state.track,
    team: state.form.team.name,
  };
  const stage = state.currentStage;
  if (state.status === "open" && stage !== null) {
    const ack = assigneeAcknowledgement(stage);
    const ackName = ack === undefined ? undefined : names?.(ack.personId);
    const holderName = names?.(stage.assignee.personId);
    return {
      ...base,
      stageLabel: stageLabel(protocol, state.track, stage.stageId),
      holderTitle: stage.assignee.title,
      holderPersonId: stage.assignee.personId,
      ...(holderName === undefined ? {} : { holderName }),
      deadline: stage.deadline,
      overdue: Date.parse(stage.deadline) < now.getTime(),
      workingDaysToDeadline: untilDeadline(stage.deadline),
      ...(ack === undefined
        ? stage.acknowledgedAt === undefined
          ? {}
          : // A snapshot from before acknowledgements were kept per person: when, not who.
            { acknowledgement: { personId: "", at: stage.acknowledgedAt, channel: "api" as const } }
        : { acknowledgement: { ...ack, ...(ackName === undefined ? {} : { name: ackName }) } }),
      acknowledgementOverdue: acknowledgementOverdue(stage, now, calendar),
      acknowledgementDueBy: acknowledgementDueBy(stage, calendar).toISOString(),
      awaiting: stage.raiserAlertedAt === undefined ? "recipient" : "raiser_decision",
    };
  }
  const pending = state.pendingDecision;
  if (state.status === "ladder_exhausted" && pending !== undefined) {
    const holderName = names?.(pending.personId);
    return {
      ...base,
      stageLabel: "Decision after the last stage",
      holderTitle: pending.decidedBy.title,
      holderPersonId: pending.personId,
      ...(holderName === undefined ? {} : { holderName }),
      deadline: pending.dueBy,
      overdue: Date.parse(pending.dueBy) < now.getTime(),
      workingDaysToDeadline: untilDeadline(pending.dueBy),
      acknowledgementOverdue: false,
      awaiting: "decision_after_ladder",
    };
  }
  return undefined;
}

function add(map: Map<string, number>, key: string, count: number): void {
  map.set(key, (map.get(key) ?? 0) + count);
}

export function livePage(input: LivePageInput): LivePage {
  const open = input.open
    .map((state) => rowOf(state, input))
    .filter((row): row is LiveRow => row !== undefined)
    .sort(
      (a, b) =>
        Number(b.overdue) - Number(a.overdue) ||
        Date.parse(a.deadline) - Date.parse(b.deadline) ||
        a.challengeId.localeCompare(b.challengeId),
    );

  const cells = new Map<string, { stageLabel: string; team: string; count: number }>();
  for (const row of open) {
    const key = `${row.stageLabel}\u0000${row.team}`;
    const cell = cells.get(key) ?? { stageLabel: row.stageLabel, team: row.team, count: 0 };
    cell.count++;
    cells.set(key, cell);
  }

  const quarters = quartersEnding(input.now, input.calendar).map(({ label, period }): QuarterFigures => {
    const report = themesReport(input.raised, input.raisedEvents, input.protocols, period, input.calendar, {
      asAt: input.now,
    });
    const highest = new Map<string, number>();
    for (const row of report.highestStageReached) add(highest, row.label, row.count);
    const themes = new Map<string, number>();
    for (const row of report.themes) add(themes, row.label, row.count);
    return {
      label,
      period,
      raised: report.raised.total,
      resolved: report.resolution.resolved,
      withinTarget: report.resolution.withinTarget,
      medianWorkingDaysToResolution: report.resolution.medianWorkingDaysToResolution,
      highestStageReached: highest,
      themes,
    };
  });

  return {
    title: input.title ?? "Challenges: where every one stands",
    asAt: input.now.toISOString(),
    open,
    byStageAndTeam: [...cells.values()].sort(
      (a, b) => a.stageLabel.localeCompare(b.stageLabel) || a.team.localeCompare(b.team),
    ),
    quarters,
    timelines: input.timelines ?? new Map(),
  };
}

// --- HTML --------------------------------------------------------------------------------------

const CHANNEL_WORDS: Record<Channel, string> = {
  link: "from the link in the email",
  email: "by email reply",
  api: "through the case-record system",
  timer: "by the workflow",
};

/** Anchor id of a challenge's timeline (ids are ULIDs or slugs; anything else is made safe). */
function timelineAnchor(challengeId: string): string {
  return `timeline-${challengeId.replace(/[^A-Za-z0-9_-]/g, "_")}`;
}

function daysText(row: LiveRow): string {
  const n = row.workingDaysToDeadline;
  if (row.overdue) return n === 0 ? "Overdue today" : `Overdue by ${-n} working day${n === -1 ? "" : "s"}`;
  return n === 0 ? "Due today" : `${n} working day${n === 1 ? "" : "s"}`;
}

function holderText(row: LiveRow): string {
  return row.holderName === undefined ? row.holderTitle : `${row.holderName}, ${row.holderTitle}`;
}

function acknowledgementCell(row: LiveRow): string {
  if (row.awaiting === "decision_after_ladder") return "<td>Not applicable</td>";
  const ack = row.acknowledgement;
  if (ack === undefined) {
    return row.acknowledgementOverdue
      ? `<td class="flag"><strong>Not acknowledged</strong> within a working day (due ${escapeHtml(formatDeadline(row.acknowledgementDueBy ?? row.deadline))})</td>`
      : `<td>Not yet</td>`;
  }
  const who = ack.personId === "" ? "" : ` by ${escapeHtml(ack.name ?? ack.personId)}`;
  return `<td>Yes${who}, ${escapeHtml(formatInstant(ack.at))}, ${escapeHtml(CHANNEL_WORDS[ack.channel])}</td>`;
}

function openTable(page: LivePage): string {
  if (page.open.length === 0) return `<p class="empty">No challenge is open.</p>`;
  const rows = page.open
    .map(
      (row) =>
        `<tr${row.overdue ? ' class="overdue"' : ""}>` +
        `<th scope="row"><a href="#${timelineAnchor(row.challengeId)}">${escapeHtml(row.challengeId)}</a></th>` +
        `<td>${escapeHtml(row.caseRecordId)}</td>` +
        `<td>${escapeHtml(row.team)}</td>` +
        `<td>${escapeHtml(row.stageLabel)}${row.awaiting === "raiser_decision" ? " (awaiting the raiser's decision)" : ""}</td>` +
        `<td>${escapeHtml(holderText(row))}</td>` +
        `<td class="${row.overdue ? "flag" : ""}">${row.overdue ? "<strong>" : ""}${escapeHtml(daysText(row))}${row.overdue ? "</strong>" : ""}<br><span class="meta">${escapeHtml(formatDeadline(row.deadline))}</span></td>` +
        acknowledgementCell(row) +
        `</tr>`,
    )
    .join("");
  return (
    `<div class="scroll" role="region" aria-labelledby="open-caption" tabindex="0"><table>` +
    `<caption id="open-caption">Open challenges, overdue first, then by deadline</caption>` +
    `<thead><tr><th scope="col">Challenge (timeline)</th><th scope="col">Child's record</th><th scope="col">Team</th>` +
    `<th scope="col">Stage</th><th scope="col">With</th><th scope="col">Working days to deadline</th>` +
    `<th scope="col">Acknowledged</th></tr></thead><tbody>${rows}</tbody></table></div>`
  );
}

/** A table with row headers in the first column and one column per quarter. */
function quarterTable(
  caption: string,
  rowHeader: string,
  quarters: readonly QuarterFigures[],
  rows: readonly (readonly [string, readonly (string | number)[]])[],
): string {
  const head = [rowHeader, ...quarters.map((q) => q.label)]
    .map((h) => `<th scope="col">${escapeHtml(h)}</th>`)
    .join("");
  const body = rows
    .map(
      ([label, values]) =>
        `<tr><th scope="row">${escapeHtml(label)}</th>${values
          .map((v) => `<td class="n">${escapeHtml(String(v))}</td>`)
          .join("")}</tr>`,
    )
    .join("");
  return `<div class="scroll" role="region" aria-label="${escapeHtml(caption)}" tabindex="0"><table><caption>${escapeHtml(caption)}</caption><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table></div>`;
}

function labelsOf(
  quarters: readonly QuarterFigures[],
  pick: (q: QuarterFigures) => ReadonlyMap<string, number>,
): string[] {
  const labels: string[] = [];
  for (const q of quarters)
    for (const label of pick(q).keys()) if (!labels.includes(label)) labels.push(label);
  return labels;
}

function timelines(page: LivePage): string {
  if (page.open.length === 0) return "";
  const items = page.open
    .map((row) => {
      const entries = page.timelines.get(row.challengeId) ?? [];
      const list =
        entries.length === 0
          ? `<p class="empty">No events could be read.</p>`
          : `<ol>${entries
              .map(
                (e) =>
                  `<li><time datetime="${escapeHtml(e.at)}">${escapeHtml(formatInstant(e.at))}</time>: ${escapeHtml(e.text)}</li>`,
              )
              .join("")}</ol>`;
      return `<section id="${timelineAnchor(row.challengeId)}" aria-labelledby="${timelineAnchor(row.challengeId)}-h"><h3 id="${timelineAnchor(row.challengeId)}-h">${escapeHtml(row.challengeId)} (${escapeHtml(row.caseRecordId)}, ${escapeHtml(row.team)})</h3>${list}<p class="back"><a href="#open">Back to the open challenges</a></p></section>`;
    })
    .join("\n");
  return `<section id="timelines" aria-labelledby="timelines-h"><h2 id="timelines-h">Timelines of the open challenges</h2>${items}</section>`;
}

/** The page as one self-contained HTML document: inline CSS and SVG, no script, every text escaped. */
export function toLiveHtml(page: LivePage): string {
  const flagged = page.open.filter((r) => r.acknowledgementOverdue).length;
  const overdue = page.open.filter((r) => r.overdue).length;
  const stageBars = [...new Set(page.byStageAndTeam.map((c) => c.stageLabel))].map((label) => ({
    label,
    value: page.byStageAndTeam.filter((c) => c.stageLabel === label).reduce((sum, c) => sum + c.count, 0),
  }));
  const quarters = page.quarters;
  const stageLabels = labelsOf(quarters, (q) => q.highestStageReached);
  const themeLabels = labelsOf(quarters, (q) => q.themes).filter((label) =>
    quarters.some((q) => (q.themes.get(label) ?? 0) > 0),
  );
  const themeTotals = themeLabels
    .map((label) => ({ label, value: quarters.reduce((sum, q) => sum + (q.themes.get(label) ?? 0), 0) }))
    .sort((a, b) => b.value - a.value || a.label.localeCompare(b.label));

  const sections = [
    `<section id="open" aria-labelledby="open-h"><h2 id="open-h">Open challenges</h2>` +
      `<p>${page.open.length} open; <strong>${overdue} overdue</strong>; ${flagged} not acknowledged within a working day of the stage opening.</p>` +
      openTable(page) +
      `</section>`,
    `<section id="by-stage" aria-labelledby="by-stage-h"><h2 id="by-stage-h">Open challenges by stage and team</h2>` +
      barChart("chart-open-by-stage", "Open challenges by stage", stageBars) +
      table(
        ["Stage", "Team", "Open"],
        page.byStageAndTeam.map((c) => [c.stageLabel, c.team, c.count]),
      ) +
      `</section>`,
    `<section id="quarters" aria-labelledby="quarters-h"><h2 id="quarters-h">Resolution by quarter</h2>` +
      `<p>Challenges raised in each quarter, as they stand now.</p>` +
      barChart(
        "chart-median",
        "Median working days from raising to resolution, by quarter raised",
        quarters.map((q) => ({ label: q.label, value: q.medianWorkingDaysToResolution ?? 0 })),
      ) +
      quarterTable("Raised and resolved, by quarter raised", "Figure", quarters, [
        ["Raised", quarters.map((q) => q.raised)],
        ["Resolved", quarters.map((q) => q.resolved)],
        ["Resolved within target", quarters.map((q) => q.withinTarget)],
        [
          "Median working days to resolution",
          quarters.map((q) => q.medianWorkingDaysToResolution ?? "none resolved"),
        ],
      ]) +
      quarterTable(
        "Highest stage reached, by quarter raised",
        "Stage",
        quarters,
        stageLabels.map((label) => [label, quarters.map((q) => q.highestStageReached.get(label) ?? 0)]),
      ) +
      `</section>`,
    `<section id="themes" aria-labelledby="themes-h"><h2 id="themes-h">Themes over time</h2>` +
      barChart("chart-themes", "Themes of the challenges raised in the last four quarters", themeTotals) +
      quarterTable(
        "Challenges by theme, by quarter raised",
        "Theme",
        quarters,
        themeLabels.map((label) => [label, quarters.map((q) => q.themes.get(label) ?? 0)]),
      ) +
      `</section>`,
    timelines(page),
  ];

  return `<!doctype html>
<html lang="en-GB">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(page.title)}</title>
<style>
body { font-family: system-ui, -apple-system, "Segoe UI", Arial, sans-serif; color: #0b0c0c; background: #fff; margin: 0; line-height: 1.4; }
header, main, footer { max-width: 72rem; margin: 0 auto; padding: 0 1rem; }
header { border-bottom: 4px solid #1d70b8; padding-top: 1rem; }
h1 { font-size: 1.6rem; margin: 0 0 0.25rem; }
h2 { font-size: 1.25rem; border-bottom: 2px solid #0b0c0c; padding-bottom: 0.2rem; margin-top: 2rem; }
h3 { font-size: 1.05rem; margin-bottom: 0.25rem; }
nav ul { list-style: none; padding: 0; display: flex; flex-wrap: wrap; gap: 0.25rem 1rem; }
a { color: #1d4f91; }
a:focus { outline: 3px solid #ffdd00; background: #ffdd00; color: #0b0c0c; }
.meta, .empty { color: #484949; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; margin: 0.5rem 0; }
caption { text-align: left; font-weight: 600; padding-bottom: 0.25rem; }
th, td { border: 1px solid #b1b4b6; padding: 0.3rem 0.6rem; text-align: left; vertical-align: top; }
thead th { background: #f3f2f1; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
tr.overdue th, tr.overdue td { background: #fbe9e7; }
.flag { color: #8e1111; }
figure { margin: 0.5rem 0; }
svg { max-width: 100%; height: auto; font-size: 13px; }
svg rect { fill: #1d70b8; }
svg text { fill: #0b0c0c; }
ol { padding-left: 1.25rem; }
footer { margin-top: 2rem; padding-bottom: 2rem; color: #484949; }
@media (max-width: 40rem) { body { font-size: 15px; } th, td { padding: 0.25rem 0.35rem; } }
@media print {
  nav, .back { display: none; }
  header, main, footer { max-width: none; }
  .scroll { overflow: visible; }
  a { color: #0b0c0c; text-decoration: none; }
  tr.overdue th, tr.overdue td { background: none; }
  section, tr { break-inside: avoid; }
  #timelines { break-before: page; }
  svg rect { fill: #444; }
}
</style>
</head>
<body>
<header>
<h1>${escapeHtml(page.title)}</h1>
<p class="meta">As at ${escapeHtml(formatInstant(page.asAt))}. Children are shown by their case-record id only.</p>
<nav aria-label="On this page"><ul>
<li><a href="#open">Open challenges</a></li>
<li><a href="#by-stage">By stage and team</a></li>
<li><a href="#quarters">Resolution by quarter</a></li>
<li><a href="#themes">Themes over time</a></li>
<li><a href="#timelines">Timelines</a></li>
</ul></nav>
</header>
<main>
${sections.join("\n")}
</main>
<footer><p>Working days are England working days, without the authority's closure days. A stage is flagged when no recipient acknowledged it by close of business on the working day after it opened.</p></footer>
</body>
</html>
`;
}
