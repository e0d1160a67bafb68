import type { WorkingDayCalendar } from "../domain/calendar.js";
import type { ChallengeEvent, EventOf } from "../domain/challenge/events.js";
import { acknowledgementOverdue } from "../domain/challenge/acknowledgement.js";
import { evolve, initialState } from "../domain/challenge/evolve.js";
import type { ChallengeState, ChallengeStatus } from "../domain/challenge/state.js";
import type { Protocol, RaiserRole, Stage, Track, TrackProtocol } from "../domain/protocol.js";
import { endOfLondonDay } from "../domain/london-time.js";
import { formatDay, formatDeadline, formatInstant } from "../audit/words.js";
import { escapeHtml } from "../shared/html.js";

/**
 * Managers' reports, pure: the quarterly themes report (Halton, 002: "A summary of the themes arising
 * from the dispute resolution process and good practice notifications will be provided in a
 * quarterly report") and the overdue view. JSON first; `toCsv` and `toHtml` render it.
 *
 * ## What the themes report counts (written into the report's `definitions` too)
 *
 * - The cohort is the challenges RAISED in the period (London dates, inclusive). A challenge raised
 *   earlier is in its own period's report, so no challenge is counted twice across quarters.
 * - Their events are replayed as at `asAt` (default: the end of the period), so a past quarter's
 *   report gives the same figures whenever it is run; pass a later `asAt` to see how the cohort ended.
 * - Highest stage reached: the highest stage ever opened (bypassed stages are not "reached").
 * - Resolved: the challenge's latest Resolved event, not undone by a reopening. "Resolved at" is the
 *   stage open when it was resolved; when an agreed action plan was being monitored, the stage that
 *   agreed the plan; after the last stage had been tried, "after the last stage".
 * - Working days are England working days (the calendar: weekends, bank holidays, the authority's
 *   closure days) after the London date of the start, up to and including the date of the end.
 * - Median working days to resolution: from raising to resolution, over the resolved challenges
 *   (the middle value; the mean of the two middle values for an even count).
 * - Within target: the protocol's `totalTargetWorkingDays` is a target for the FORMAL process (the
 *   protocol model: "whole-process target from the first formal stage"; Halton: "the formal dispute
 *   resolution process has a timescale in total of no more than 20 working days"), so it is counted
 *   from the opening of the first formal stage. A challenge resolved at an informal stage never
 *   started the formal process and is within target. Where a protocol states no total, the target is
 *   the sum of the response windows of the track's formal stages (the longest the ladder takes when
 *   every stage uses its full window).
 * - Open past target: challenges still open (or with every stage tried) whose formal process has run
 *   longer than the target as at `asAt`. Challenges monitoring an agreed plan are not counted.
 * - No response: automatic escalations (the deadline passed with no response) and, where the
 *   protocol leaves the next step to the raiser, raiser alerts; by the role and team (or partner
 *   agency) the unanswered stage was addressed to.
 * - Referrals: requested, made, and still awaiting approval, per kind (Cafcass, partnership).
 * - Themes: each challenge counts once per theme ticked, under the protocol's label.
 * - Good practice notifications: a count the caller passes in (they are their own record).
 */

export interface ReportPeriod {
  /** First London date, YYYY-MM-DD (inclusive). */
  readonly from: string;
  /** Last London date, YYYY-MM-DD (inclusive). */
  readonly to: string;
}

export interface ThemesReportOptions {
  /** Good practice notifications sent in the period (their own record; counted by the caller). */
  readonly goodPracticeNotifications?: number;
  /** Events after this instant are ignored. Default: the end of the period (the last instant of `to`, London). */
  readonly asAt?: Date;
  readonly title?: string;
}

export interface StageCount {
  readonly protocolId: string;
  readonly track: Track;
  /** null: "after the last stage" (resolved once every stage had been tried). */
  readonly stageId: string | null;
  readonly label: string;
  readonly recipient: string;
  readonly count: number;
}

export interface TargetRow {
  readonly protocolId: string;
  readonly track: Track;
  readonly workingDays: number;
  readonly basis: "protocol_total" | "sum_of_stage_windows";
}

export interface NoResponseRow {
  readonly role: string;
  readonly title: string;
  readonly team: string;
  readonly autoEscalations: number;
  readonly raiserAlerts: number;
}

export interface ReferralRow {
  readonly kind: "cafcass" | "partnership";
  readonly requested: number;
  readonly made: number;
  readonly awaitingApproval: number;
}

export interface ThemeRow {
  readonly protocolId: string;
  readonly themeId: string;
  readonly label: string;
  readonly count: number;
}

export interface ThemesReport {
  readonly title: string;
  readonly period: ReportPeriod;
  /** ISO instant the figures are as at. */
  readonly asAt: string;
  readonly protocols: readonly { readonly id: string; readonly name: string }[];
  readonly definitions: readonly string[];
  readonly raised: {
    readonly total: number;
    readonly byTrackAndRole: readonly {
      readonly track: Track;
      readonly raiserRole: RaiserRole;
      readonly raiserTitle: string;
      readonly count: number;
    }[];
  };
  readonly statusAsAt: readonly { readonly status: ChallengeStatus; readonly count: number }[];
  readonly highestStageReached: readonly StageCount[];
  readonly resolvedAtStage: readonly StageCount[];
  readonly resolution: {
    readonly resolved: number;
    readonly withinTarget: number;
    /** withinTarget / resolved, 0..1; null when nothing was resolved. */
    readonly shareWithinTarget: number | null;
    readonly medianWorkingDaysToResolution: number | null;
    readonly openPastTarget: number;
    readonly targets: readonly TargetRow[];
  };
  readonly noResponse: readonly NoResponseRow[];
  readonly referrals: readonly ReferralRow[];
  readonly themes: readonly ThemeRow[];
  readonly goodPracticeNotifications: number;
}

export const REPORT_DEFINITIONS: readonly string[] = [
  "Challenges raised in the period (London dates, inclusive); their events as at the date and time shown.",
  "Working days: England working days (weekends, bank holidays and the authority's closure days excluded).",
  "Highest stage reached: the highest stage opened; stages bypassed are not counted as reached.",
  "Resolved at: the stage open when the challenge was resolved (the stage that agreed the action plan, when one was being monitored).",
  "Median working days to resolution: from raising to resolution, over the challenges resolved.",
  "Within target: the protocol's total target counts from the first formal stage; where a protocol states none, the response windows of its formal stages are added up.",
  "Open past target: open challenges (or with every stage tried) whose formal process has run longer than the target.",
  "No response: automatic escalations and raiser alerts, by the role and team the unanswered stage was sent to.",
];

const STATUSES: readonly ChallengeStatus[] = [
  "open",
  "monitoring",
  "ladder_exhausted",
  "resolved",
  "withdrawn",
  "closed",
];
const TRACKS: readonly Track[] = ["CP", "LAC"];
const ROLES: readonly RaiserRole[] = ["IRO", "CPC"];
const REFERRAL_KINDS = ["cafcass", "partnership"] as const;

const ISO_DAY = /^\d{4}-\d{2}-\d{2}$/;

/** The target of a track, and where it comes from (see the module comment). */
export function targetOf(track: TrackProtocol): { workingDays: number; basis: TargetRow["basis"] } {
  if (track.totalTargetWorkingDays !== undefined) {
    return { workingDays: track.totalTargetWorkingDays, basis: "protocol_total" };
  }
  const formal = track.stages.filter((s) => !s.informal);
  return {
    workingDays: formal.reduce((sum, s) => sum + s.responseWindowWorkingDays, 0),
    basis: "sum_of_stage_windows",
  };
}

export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const upper = sorted[mid] ?? 0;
  return sorted.length % 2 === 1 ? upper : ((sorted[mid - 1] ?? 0) + upper) / 2;
}

function protocolMap(protocols: Protocol | readonly Protocol[]): Map<string, Protocol> {
  const list: readonly Protocol[] = Array.isArray(protocols) ? protocols : [protocols as Protocol];
  return new Map(list.map((p) => [p.id, p]));
}

/** What one challenge contributes, worked out from its events as at `asAt`. */
interface Facts {
  readonly state: ChallengeState;
  readonly protocol: Protocol;
  readonly track: TrackProtocol;
  readonly resolution?: { readonly at: string; readonly stageId: string | null };
  readonly formalStart?: string;
  readonly noResponse: readonly {
    readonly kind: "auto" | "alert";
    readonly opened: EventOf<"StageOpened">["data"];
  }[];
  readonly referrals: readonly ChallengeEvent[];
}

function factsOf(
  challenge: ChallengeState,
  events: readonly ChallengeEvent[],
  protocols: Map<string, Protocol>,
  asAt: Date,
): Facts {
  const protocol = protocols.get(challenge.protocolId);
  if (protocol === undefined) {
    throw new Error(
      `challenge ${challenge.challengeId} runs under protocol "${challenge.protocolId}", which was not given`,
    );
  }
  const track = protocol.tracks[challenge.track];
  if (track === undefined) {
    throw new Error(
      `protocol "${protocol.id}" has no ${challenge.track} process (challenge ${challenge.challengeId})`,
    );
  }
  if (events.length === 0) {
    throw new Error(`no events were given for challenge ${challenge.challengeId}: the report replays them`);
  }
  let state = initialState(challenge.challengeId);
  let resolution: Facts["resolution"];
  let formalStart: string | undefined;
  const opened = new Map<string, EventOf<"StageOpened">["data"]>();
  const noResponse: { kind: "auto" | "alert"; opened: EventOf<"StageOpened">["data"] }[] = [];
  const referrals: ChallengeEvent[] = [];

  for (const event of events) {
    if (Date.parse(event.at) > asAt.getTime()) break;
    switch (event.type) {
      case "StageOpened": {
        opened.set(event.data.stageId, event.data);
        const stage = track.stages.find((s) => s.id === event.data.stageId);
        if (formalStart === undefined && stage !== undefined && !stage.informal)
          formalStart = event.data.openedAt;
        break;
      }
      case "Resolved":
        resolution = {
          at: event.at,
          stageId:
            event.data.stageId ??
            state.currentStage?.stageId ??
            (state.status === "monitoring" ? (state.actionPlan?.stageId ?? null) : null),
        };
        break;
      case "Reopened":
        resolution = undefined;
        break;
      case "Escalated": {
        const from = opened.get(event.data.fromStageId);
        // Only escalations for no response at all: not a holding reply left unresolved, nor a
        // raiser who did not decide (counted when they were asked, if nobody had responded).
        const timedOut = event.data.timedOut ?? "no_response";
        if (event.data.kind === "no_response" && timedOut === "no_response" && from !== undefined)
          noResponse.push({ kind: "auto", opened: from });
        break;
      }
      case "RaiserAlerted": {
        const from = opened.get(event.data.stageId);
        if (from !== undefined && event.data.reason === "no_response")
          noResponse.push({ kind: "alert", opened: from });
        break;
      }
      case "ReferralRequested":
      case "ReferralMade":
        referrals.push(event);
        break;
      default:
        break;
    }
    state = evolve(state, event);
  }
  return {
    state,
    protocol,
    track,
    ...(resolution === undefined ? {} : { resolution }),
    ...(formalStart === undefined ? {} : { formalStart }),
    noResponse,
    referrals,
  };
}

function stageRows(
  protocol: Protocol,
  track: TrackProtocol,
  counts: Map<string | null, number>,
  withAfterLast: boolean,
): StageCount[] {
  const rows: StageCount[] = track.stages.map((stage: Stage) => ({
    protocolId: protocol.id,
    track: track.track,
    stageId: stage.id,
    label: stage.label,
    recipient: stage.recipient.title,
    count: counts.get(stage.id) ?? 0,
  }));
  if (withAfterLast && (counts.get(null) ?? 0) > 0) {
    rows.push({
      protocolId: protocol.id,
      track: track.track,
      stageId: null,
      label: "After the last stage",
      recipient: "",
      count: counts.get(null) ?? 0,
    });
  }
  return rows;
}

export function themesReport(
  challenges: readonly ChallengeState[],
  events: readonly ChallengeEvent[],
  protocols: Protocol | readonly Protocol[],
  period: ReportPeriod,
  calendar: WorkingDayCalendar,
  options: ThemesReportOptions = {},
): ThemesReport {
  if (!ISO_DAY.test(period.from) || !ISO_DAY.test(period.to) || period.to < period.from) {
    throw new Error(
      `period must be two YYYY-MM-DD dates, from before to, got ${period.from} to ${period.to}`,
    );
  }
  const byId = protocolMap(protocols);
  const asAt = options.asAt ?? endOfLondonDay(period.to);

  const eventsByChallenge = new Map<string, ChallengeEvent[]>();
  for (const event of events) {
    const list = eventsByChallenge.get(event.challengeId);
    if (list === undefined) eventsByChallenge.set(event.challengeId, [event]);
    else list.push(event);
  }
  for (const list of eventsByChallenge.values()) list.sort((a, b) => a.seq - b.seq);

  const cohort = challenges.filter((c) => {
    if (c.status === "none" || c.raisedAt === "") return false;
    const day = calendar.londonDate(new Date(c.raisedAt));
    return day >= period.from && day <= period.to && Date.parse(c.raisedAt) <= asAt.getTime();
  });
  const facts = cohort.map((c) => factsOf(c, eventsByChallenge.get(c.challengeId) ?? [], byId, asAt));

  // Raised, by track and raiser role.
  const raisedCounts = new Map<string, number>();
  for (const f of facts) {
    const key = `${f.state.track}|${f.state.form.raiserRole}`;
    raisedCounts.set(key, (raisedCounts.get(key) ?? 0) + 1);
  }
  const raiserTitle = (role: RaiserRole): string => {
    const first = [...byId.values()][0];
    return first?.raiserTitles[role] ?? role;
  };
  const byTrackAndRole = TRACKS.flatMap((track) =>
    ROLES.map((role) => ({
      track,
      raiserRole: role,
      raiserTitle: raiserTitle(role),
      count: raisedCounts.get(`${track}|${role}`) ?? 0,
    })),
  ).filter((row) => row.count > 0);

  // Status as at.
  const statusAsAt = STATUSES.map((status) => ({
    status,
    count: facts.filter((f) => f.state.status === status).length,
  })).filter((row) => row.count > 0);

  // Stages: one block per protocol and track present in the cohort, ladder order.
  const highestStageReached: StageCount[] = [];
  const resolvedAtStage: StageCount[] = [];
  const targets: TargetRow[] = [];
  for (const protocol of byId.values()) {
    for (const trackId of TRACKS) {
      const track = protocol.tracks[trackId];
      const here = facts.filter((f) => f.protocol.id === protocol.id && f.state.track === trackId);
      if (track === undefined || here.length === 0) continue;
      const highest = new Map<string | null, number>();
      const resolvedAt = new Map<string | null, number>();
      for (const f of here) {
        const stage = track.stages[f.state.highestStageIndex];
        if (stage !== undefined) highest.set(stage.id, (highest.get(stage.id) ?? 0) + 1);
        if (f.resolution !== undefined) {
          resolvedAt.set(f.resolution.stageId, (resolvedAt.get(f.resolution.stageId) ?? 0) + 1);
        }
      }
      highestStageReached.push(...stageRows(protocol, track, highest, false));
      resolvedAtStage.push(...stageRows(protocol, track, resolvedAt, true));
      targets.push({ protocolId: protocol.id, track: trackId, ...targetOf(track) });
    }
  }

  // Resolution and targets.
  const resolved = facts.filter((f) => f.resolution !== undefined);
  const daysToResolution: number[] = [];
  let withinTarget = 0;
  for (const f of resolved) {
    const resolvedAt = new Date(f.resolution?.at ?? f.state.raisedAt);
    daysToResolution.push(calendar.workingDaysBetween(new Date(f.state.raisedAt), resolvedAt));
    const formalDays =
      f.formalStart === undefined ? 0 : calendar.workingDaysBetween(new Date(f.formalStart), resolvedAt);
    if (formalDays <= targetOf(f.track).workingDays) withinTarget++;
  }
  const openPastTarget = facts.filter(
    (f) =>
      f.resolution === undefined &&
      (f.state.status === "open" || f.state.status === "ladder_exhausted") &&
      f.formalStart !== undefined &&
      calendar.workingDaysBetween(new Date(f.formalStart), asAt) > targetOf(f.track).workingDays,
  ).length;

  // No response, by the role and team the stage was sent to.
  const noResponseRows = new Map<
    string,
    { role: string; title: string; team: string; autoEscalations: number; raiserAlerts: number }
  >();
  for (const f of facts) {
    for (const miss of f.noResponse) {
      const stage = f.track.stages.find((s) => s.id === miss.opened.stageId);
      const partner = f.state.form.partnerAgency;
      const team =
        partner !== undefined && stage?.partnerRecipient !== undefined
          ? `${partner.name} (partner agency)`
          : f.state.form.team.name;
      const key = `${miss.opened.assignee.role}|${miss.opened.assignee.title}|${team}`;
      const row = noResponseRows.get(key) ?? {
        role: miss.opened.assignee.role,
        title: miss.opened.assignee.title,
        team,
        autoEscalations: 0,
        raiserAlerts: 0,
      };
      if (miss.kind === "auto") row.autoEscalations++;
      else row.raiserAlerts++;
      noResponseRows.set(key, row);
    }
  }
  const noResponse = [...noResponseRows.values()].sort(
    (a, b) =>
      b.autoEscalations + b.raiserAlerts - (a.autoEscalations + a.raiserAlerts) ||
      a.team.localeCompare(b.team) ||
      a.title.localeCompare(b.title),
  );

  // Referrals.
  const referrals: ReferralRow[] = REFERRAL_KINDS.map((kind) => {
    let requested = 0;
    let made = 0;
    let awaitingApproval = 0;
    for (const f of facts) {
      const asked = f.referrals.some((e) => e.type === "ReferralRequested" && e.data.kind === kind);
      const done = f.referrals.some((e) => e.type === "ReferralMade" && e.data.kind === kind);
      if (asked) requested++;
      if (done) made++;
      if (asked && !done) awaitingApproval++;
    }
    return { kind, requested, made, awaitingApproval };
  });

  // Themes, with the protocol's labels, every theme listed.
  const themes: ThemeRow[] = [];
  for (const protocol of byId.values()) {
    const here = facts.filter((f) => f.protocol.id === protocol.id);
    if (here.length === 0) continue;
    const counts = new Map<string, number>();
    for (const f of here)
      for (const id of new Set(f.state.form.themes)) counts.set(id, (counts.get(id) ?? 0) + 1);
    for (const theme of protocol.themes) {
      themes.push({
        protocolId: protocol.id,
        themeId: theme.id,
        label: theme.label,
        count: counts.get(theme.id) ?? 0,
      });
    }
    for (const [id, count] of counts) {
      if (!protocol.themes.some((t) => t.id === id))
        themes.push({ protocolId: protocol.id, themeId: id, label: id, count });
    }
  }

  const usedProtocols = [...byId.values()].filter((p) => facts.some((f) => f.protocol.id === p.id));
  return {
    title: options.title ?? "Challenge and resolution: themes report",
    period: { from: period.from, to: period.to },
    asAt: asAt.toISOString(),
    protocols: usedProtocols.map((p) => ({ id: p.id, name: p.name })),
    definitions: REPORT_DEFINITIONS,
    raised: { total: facts.length, byTrackAndRole },
    statusAsAt,
    highestStageReached,
    resolvedAtStage,
    resolution: {
      resolved: resolved.length,
      withinTarget,
      shareWithinTarget: resolved.length === 0 ? null : withinTarget / resolved.length,
      medianWorkingDaysToResolution: median(daysToResolution),
      openPastTarget,
      targets,
    },
    noResponse,
    referrals,
    themes,
    goodPracticeNotifications: options.goodPracticeNotifications ?? 0,
  };
}

// --- the overdue view ----------------------------------------------------------------------------

export interface OverdueRow {
  readonly challengeId: string;
  /** The child's id in the case-record system (no name: the manager opens the record there). */
  readonly caseRecordId: string;
  readonly track: Track;
  readonly stageId: string;
  /** The protocol's label when a protocol was given, else the stage id. */
  readonly stageLabel: string;
  readonly assigneeRole: string;
  readonly assigneeTitle: string;
  readonly assigneePersonId: string;
  readonly team: string;
  readonly deadline: string;
  /** `not_acknowledged`: the deadline is further off, but nobody acknowledged the stage within a working day. */
  readonly status: "overdue" | "due_soon" | "not_acknowledged";
  /** Working days past the deadline (overdue) or left before it (due soon, not acknowledged); 0 = today. */
  readonly workingDays: number;
  /** No recipient acknowledged the stage within one working day of its opening (domain `acknowledgementOverdue`). */
  readonly acknowledgementOverdue: boolean;
}

/**
 * Open stages past their deadline, or within `nearWorkingDays` working days of it, most urgent
 * first. Only challenges with a stage open count (not those monitoring a plan or finished).
 */
export function overdueView(
  openStates: readonly ChallengeState[],
  now: Date,
  calendar: WorkingDayCalendar,
  nearWorkingDays: number,
  protocols?: Protocol | readonly Protocol[],
): OverdueRow[] {
  if (!Number.isInteger(nearWorkingDays) || nearWorkingDays < 0) {
    throw new Error(`nearWorkingDays must be a whole number >= 0, got ${nearWorkingDays}`);
  }
  const byId = protocols === undefined ? new Map<string, Protocol>() : protocolMap(protocols);
  const rows: OverdueRow[] = [];
  for (const state of openStates) {
    const decision = postLadderDecisionRow(state, now, calendar, nearWorkingDays);
    if (decision !== undefined) rows.push(decision);
    const stage = state.currentStage;
    if (state.status !== "open" || stage === null) continue;
    const deadline = new Date(stage.deadline);
    const overdue = deadline.getTime() < now.getTime();
    const workingDays = overdue
      ? calendar.workingDaysBetween(deadline, now)
      : calendar.workingDaysBetween(now, deadline);
    const unacknowledged = acknowledgementOverdue(stage, now, calendar);
    if (!overdue && workingDays > nearWorkingDays && !unacknowledged) continue;
    const label =
      byId.get(state.protocolId)?.tracks[state.track]?.stages.find((s) => s.id === stage.stageId)?.label ??
      stage.stageId;
    rows.push({
      challengeId: state.challengeId,
      caseRecordId: state.form.child.caseRecordId,
      track: state.track,
      stageId: stage.stageId,
      stageLabel: label,
      assigneeRole: stage.assignee.role,
      assigneeTitle: stage.assignee.title,
      assigneePersonId: stage.assignee.personId,
      team: state.form.team.name,
      deadline: stage.deadline,
      status: overdue ? "overdue" : workingDays <= nearWorkingDays ? "due_soon" : "not_acknowledged",
      workingDays,
      acknowledgementOverdue: unacknowledged,
    });
  }
  return rows.sort(
    (a, b) => Date.parse(a.deadline) - Date.parse(b.deadline) || a.challengeId.localeCompare(b.challengeId),
  );
}

/** The label of a post-ladder decision's row: no stage is open, the decision is what is due. */
export const POST_LADDER_DECISION_LABEL = "Decision after the last stage";

/**
 * A row for a decision the protocol owes after the ladder (000's AD, 003's partnership manager),
 * when it is overdue or due within the near window: it is chased like a stage.
 */
function postLadderDecisionRow(
  state: ChallengeState,
  now: Date,
  calendar: WorkingDayCalendar,
  nearWorkingDays: number,
): OverdueRow | undefined {
  const pending = state.pendingDecision;
  if (state.status !== "ladder_exhausted" || pending === undefined) return undefined;
  const due = new Date(pending.dueBy);
  const overdue = due.getTime() < now.getTime();
  const workingDays = overdue ? calendar.workingDaysBetween(due, now) : calendar.workingDaysBetween(now, due);
  if (!overdue && workingDays > nearWorkingDays) return undefined;
  return {
    challengeId: state.challengeId,
    caseRecordId: state.form.child.caseRecordId,
    track: state.track,
    stageId: `decision_after_${pending.after}`,
    stageLabel: POST_LADDER_DECISION_LABEL,
    assigneeRole: pending.decidedBy.role,
    assigneeTitle: pending.decidedBy.title,
    assigneePersonId: pending.personId,
    team: state.form.team.name,
    deadline: pending.dueBy,
    status: overdue ? "overdue" : "due_soon",
    workingDays,
    acknowledgementOverdue: false,
  };
}

// --- CSV (RFC 4180) ----------------------------------------------------------------------------

/**
 * One CSV field: quoted when it holds a comma, quote, CR or LF (quotes doubled), per RFC 4180. Text
 * that a spreadsheet would run as a formula (starting =, +, -, @, tab or CR) is prefixed with an
 * apostrophe (OWASP's CSV injection advice): team names and labels come from outside. Numbers are
 * written as they are.
 */
export function csvField(value: string | number): string {
  if (typeof value === "number") return Number.isFinite(value) ? String(value) : "";
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

export const CSV_HEADER = ["section", "track", "category", "label", "value"] as const;

/** The report as one long table: `section,track,category,label,value`, CRLF line ends. */
export function toCsv(report: ThemesReport): string {
  const rows: (string | number)[][] = [[...CSV_HEADER]];
  const add = (section: string, track: string, category: string, label: string, value: number): void => {
    rows.push([section, track, category, label, value]);
  };
  add("raised", "", "", "Total", report.raised.total);
  for (const r of report.raised.byTrackAndRole) add("raised", r.track, r.raiserRole, r.raiserTitle, r.count);
  for (const r of report.statusAsAt) add("status_as_at", "", "", r.status, r.count);
  for (const r of report.highestStageReached)
    add("highest_stage_reached", r.track, r.protocolId, stageText(r), r.count);
  for (const r of report.resolvedAtStage)
    add("resolved_at_stage", r.track, r.protocolId, stageText(r), r.count);
  const res = report.resolution;
  add("resolution", "", "", "Resolved", res.resolved);
  add("resolution", "", "", "Resolved within target", res.withinTarget);
  if (res.shareWithinTarget !== null)
    add("resolution", "", "", "Share resolved within target", res.shareWithinTarget);
  if (res.medianWorkingDaysToResolution !== null) {
    add("resolution", "", "", "Median working days to resolution", res.medianWorkingDaysToResolution);
  }
  add("resolution", "", "", "Open past target", res.openPastTarget);
  for (const t of res.targets) add("target_working_days", t.track, t.protocolId, t.basis, t.workingDays);
  for (const r of report.noResponse) {
    add("auto_escalations", "", r.team, r.title, r.autoEscalations);
    add("raiser_alerts", "", r.team, r.title, r.raiserAlerts);
  }
  for (const r of report.referrals) {
    add("referrals", "", r.kind, "requested", r.requested);
    add("referrals", "", r.kind, "made", r.made);
    add("referrals", "", r.kind, "awaiting approval", r.awaitingApproval);
  }
  for (const r of report.themes) add("themes", "", r.protocolId, r.label, r.count);
  add("good_practice_notifications", "", "", "Good practice notifications", report.goodPracticeNotifications);
  return rows.map((row) => row.map(csvField).join(",")).join("\r\n") + "\r\n";
}

function stageText(row: StageCount): string {
  return row.recipient === "" ? row.label : `${row.label} (${row.recipient})`;
}

// --- HTML --------------------------------------------------------------------------------------

interface Bar {
  readonly label: string;
  readonly value: number;
}

/** Characters of a bar label that fit one line of the label column at the chart's font size. */
const LINE_CHARS = 46;
/** Lines a bar label may take; what does not fit is shortened (the row's <title> and the tables give it whole). */
const MAX_LINES = 2;

/** Shortens one line to {@link LINE_CHARS}, marking the cut with an ellipsis. */
function fitLine(text: string): string {
  return text.length > LINE_CHARS ? `${text.slice(0, LINE_CHARS - 1).trimEnd()}…` : text;
}

/**
 * A label as the lines it is drawn on: whole words per line, at most {@link MAX_LINES}, so labels
 * that differ only at the end (two tracks' "Stage 4 (Director of Children's Services)", or long
 * theme names) stay readable and distinct.
 */
function labelLines(label: string): string[] {
  if (label.length <= LINE_CHARS) return [label];
  const lines: string[] = [];
  let line = "";
  for (const word of label.split(/\s+/)) {
    const joined = line === "" ? word : `${line} ${word}`;
    if (joined.length > LINE_CHARS && line !== "") {
      lines.push(line);
      line = word;
    } else {
      line = joined;
    }
  }
  lines.push(line);
  const kept = lines.slice(0, MAX_LINES - 1);
  kept.push(lines.slice(MAX_LINES - 1).join(" "));
  return kept.map(fitLine);
}

/** A horizontal bar chart as inline SVG: no script, no external assets, readable when printed. */
export function barChart(id: string, title: string, bars: readonly Bar[]): string {
  if (bars.length === 0) return `<p class="empty">${escapeHtml(title)}: none.</p>`;
  const lineHeight = 16;
  const gap = 8;
  const labelWidth = 340;
  const barWidth = 420;
  const barHeight = 16;
  const width = labelWidth + barWidth + 60;
  const max = Math.max(1, ...bars.map((b) => b.value));
  let y = 4;
  const rows = bars
    .map((bar) => {
      const lines = labelLines(bar.label);
      const height = lines.length * lineHeight + gap;
      const top = y;
      y += height;
      const w = Math.round((bar.value / max) * barWidth);
      const barTop = top + (height - barHeight) / 2;
      // Baselines: the label's lines centred on the row, the value beside the bar.
      const firstBaseline = top + (height - lines.length * lineHeight) / 2 + 12;
      const label = lines
        .map(
          (text, i) =>
            `<tspan x="${labelWidth - 8}" y="${firstBaseline + i * lineHeight}">${escapeHtml(text)}</tspan>`,
        )
        .join("");
      return (
        `<g><title>${escapeHtml(`${bar.label}: ${bar.value}`)}</title>` +
        `<text text-anchor="end">${label}</text>` +
        `<rect x="${labelWidth}" y="${barTop}" width="${w}" height="${barHeight}" rx="2"></rect>` +
        `<text x="${labelWidth + w + 6}" y="${barTop + 12}">${bar.value}</text></g>`
      );
    })
    .join("");
  const height = y + 4;
  return (
    `<figure><svg role="img" aria-labelledby="${id}" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" xmlns="http://www.w3.org/2000/svg">` +
    `<title id="${id}">${escapeHtml(title)}</title>${rows}</svg></figure>`
  );
}

export function table(headers: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  if (rows.length === 0) return "";
  const head = headers.map((h) => `<th scope="col">${escapeHtml(h)}</th>`).join("");
  const body = rows
    .map(
      (r) =>
        `<tr>${r.map((c) => (typeof c === "number" ? `<td class="n">${c}</td>` : `<td>${escapeHtml(c)}</td>`)).join("")}</tr>`,
    )
    .join("");
  return `<table><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

const STATUS_WORDS: Record<ChallengeStatus, string> = {
  open: "Open",
  monitoring: "Action plan being monitored",
  ladder_exhausted: "Every stage tried",
  resolved: "Resolved",
  withdrawn: "Withdrawn",
  closed: "Closed",
};

function percent(share: number | null): string {
  return share === null ? "n/a" : `${Math.round(share * 100)}%`;
}

/** The report as one self-contained, printable HTML page (inline CSS and SVG; every text escaped). */
export function toHtml(report: ThemesReport): string {
  let charts = 0;
  const chart = (title: string, bars: readonly Bar[]): string => barChart(`chart-${++charts}`, title, bars);
  const multiProtocol = report.protocols.length > 1;
  const stageBar = (r: StageCount): Bar => ({
    label: `${multiProtocol ? `${r.protocolId} ` : ""}${r.track} ${stageText(r)}`,
    value: r.count,
  });
  const res = report.resolution;
  const period = `${formatDay(report.period.from)} to ${formatDay(report.period.to)}`;
  const sections = [
    `<h1>${escapeHtml(report.title)}</h1>`,
    `<p class="meta">Challenges raised ${escapeHtml(period)}; figures as at ${escapeHtml(formatInstant(report.asAt))}. ` +
      `Protocol${report.protocols.length === 1 ? "" : "s"}: ${escapeHtml(report.protocols.map((p) => p.name).join("; ") || "none")}.</p>`,
    `<section><h2>Summary</h2>${table(
      ["Measure", "Value"],
      [
        ["Challenges raised", report.raised.total],
        ["Resolved", res.resolved],
        ["Resolved within target", `${res.withinTarget} (${percent(res.shareWithinTarget)})`],
        ["Median working days to resolution", res.medianWorkingDaysToResolution ?? "n/a"],
        ["Open past target", res.openPastTarget],
        ["Good practice notifications", report.goodPracticeNotifications],
      ],
    )}</section>`,
    `<section><h2>Raised, by track and raiser</h2>${chart(
      "Challenges raised by track and raiser",
      report.raised.byTrackAndRole.map((r) => ({ label: `${r.track}, ${r.raiserTitle}`, value: r.count })),
    )}</section>`,
    `<section><h2>Where they stand</h2>${chart(
      "Status of the challenges",
      report.statusAsAt.map((r) => ({ label: STATUS_WORDS[r.status], value: r.count })),
    )}</section>`,
    `<section><h2>Highest stage reached</h2>${chart("Highest stage reached", report.highestStageReached.map(stageBar))}</section>`,
    `<section><h2>Resolved at</h2>${chart("Stage at which challenges were resolved", report.resolvedAtStage.map(stageBar))}</section>`,
    `<section><h2>Targets</h2>${table(
      ["Protocol", "Track", "Target (working days)", "Basis"],
      res.targets.map((t) => [
        t.protocolId,
        t.track,
        t.workingDays,
        t.basis === "protocol_total" ? "the protocol's total" : "the formal stages' windows added up",
      ]),
    )}</section>`,
    `<section><h2>No response by the deadline</h2>${chart(
      "Automatic escalations and raiser alerts, by recipient and team",
      report.noResponse.map((r) => ({
        label: `${r.title}, ${r.team}`,
        value: r.autoEscalations + r.raiserAlerts,
      })),
    )}${table(
      ["Recipient", "Team", "Automatic escalations", "Raiser alerts"],
      report.noResponse.map((r) => [r.title, r.team, r.autoEscalations, r.raiserAlerts]),
    )}</section>`,
    `<section><h2>Referrals</h2>${table(
      ["Referral", "Requested", "Made", "Awaiting approval"],
      report.referrals.map((r) => [
        r.kind === "cafcass" ? "Cafcass" : "Safeguarding partnership",
        r.requested,
        r.made,
        r.awaitingApproval,
      ]),
    )}</section>`,
    `<section><h2>Themes</h2>${chart(
      "Themes of the challenges",
      report.themes.map((t) => ({
        label: multiProtocol ? `${t.label} (${t.protocolId})` : t.label,
        value: t.count,
      })),
    )}${table(
      ["Theme", "Challenges"],
      report.themes
        .filter((t) => t.count > 0)
        .map((t) => [multiProtocol ? `${t.label} (${t.protocolId})` : t.label, t.count]),
    )}</section>`,
    `<section class="definitions"><h2>How the figures are counted</h2><ul>${report.definitions
      .map((d) => `<li>${escapeHtml(d)}</li>`)
      .join("")}</ul></section>`,
  ];
  return `<!doctype html>
<html lang="en-GB">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(report.title)}: ${escapeHtml(period)}</title>
<style>
body { font-family: system-ui, -apple-system, "Segoe UI", Arial, sans-serif; color: #0b0c0c; margin: 2rem auto; max-width: 56rem; padding: 0 1rem; line-height: 1.4; }
h1 { font-size: 1.6rem; margin-bottom: 0.25rem; }
h2 { font-size: 1.2rem; border-bottom: 2px solid #0b0c0c; padding-bottom: 0.2rem; margin-top: 2rem; }
.meta { color: #505a5f; }
table { border-collapse: collapse; margin: 0.5rem 0; }
th, td { border: 1px solid #b1b4b6; padding: 0.25rem 0.6rem; text-align: left; vertical-align: top; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
figure { margin: 0.5rem 0; }
svg { max-width: 100%; height: auto; font-size: 13px; }
svg rect { fill: #1d70b8; }
svg text { fill: #0b0c0c; }
.empty { color: #505a5f; }
.definitions li { margin-bottom: 0.3rem; }
@media print { body { margin: 0; max-width: none; } section { break-inside: avoid; } svg rect { fill: #444; } }
</style>
</head>
<body>
${sections.join("\n")}
</body>
</html>
`;
}

/** One overdue row in words, for emails and the command line: "ch-1 Level 2 (Service Manager), North: 3 working days overdue (due 5pm on ...)". */
export function describeOverdue(row: OverdueRow): string {
  const when =
    row.status === "overdue"
      ? row.workingDays === 0
        ? "overdue today"
        : `${row.workingDays} working day${row.workingDays === 1 ? "" : "s"} overdue`
      : row.workingDays === 0
        ? "due today"
        : `due in ${row.workingDays} working day${row.workingDays === 1 ? "" : "s"}`;
  const unacknowledged = row.acknowledgementOverdue ? "; not acknowledged within a working day" : "";
  return `${row.challengeId} ${row.stageLabel} (${row.assigneeTitle}), ${row.team}: ${when} (due by ${formatDeadline(row.deadline)})${unacknowledged}`;
}
