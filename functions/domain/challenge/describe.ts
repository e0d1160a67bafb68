import type { Protocol, RaiserRole, Track } from "../protocol.js";
import type { PersonNames } from "../words.js";
import type { Actor } from "./actor.js";
import type { Assignee, ChallengeEvent, EventOf } from "./events.js";
import type { History } from "./describe-history.js";
import { lineOf } from "./describe-line.js";
import { noteOf, type NoteParts } from "./describe-note.js";

/**
 * One describer of a challenge's events, for every place an event becomes words: the audit
 * timeline, the API's timeline summaries and the case notes for the child's file. It walks the
 * events in order once (which stage each went to, who was asked to approve, which actions the plan
 * holds), resolves names through the lookup it is given, and says each event two ways:
 *
 * - `line`: one line, who did what where, with deadlines in words; the professionals' free text is
 *   left out (a line is printed to screens, terminals and API responses).
 * - `note`: the same event for the child's file: what happened, the professionals' own words
 *   quoted, and where that leaves the challenge.
 *
 * The renderings only lay these out (a timestamp, headings, a JSON field). Pure; no clock, no AWS.
 */

export interface DescribeOptions {
  readonly protocol: Protocol | undefined;
  /** Names from the tenant's directory, resolved now; without it people appear by their role. */
  readonly names?: PersonNames | undefined;
  /** Say the channel after the person ("the IRO (api)"): the audit timeline does; the API has a field for it. */
  readonly channels?: boolean;
  /** The challenge's raiser and track when the events do not start at its raising (a command's own events). */
  readonly challenge?: { readonly track: Track; readonly raiser: Actor; readonly raiserRole: RaiserRole };
}

export interface EventDescription {
  readonly event: ChallengeEvent;
  /** The stage the event belongs to (an escalation to the stage it left), or null before any. */
  readonly stageId: string | null;
  /** One line: who did what, where. */
  readonly line: string;
  /**
   * The line when the next event is the stage this one opened (a raise, an escalation or a
   * reopening opens the next stage in the same action): both told as one.
   */
  readonly lineWithOpening?: string;
  /** The event for the child's file. */
  readonly note: NoteParts;
}

/** An event's description without its case note: what screens and API responses print. */
export type EventLine = Omit<EventDescription, "note">;

/** Every event of `events` (any order; described in seq order), with the history before it. */
export function describeEvents(
  events: readonly ChallengeEvent[],
  options: DescribeOptions,
): EventDescription[] {
  return walk(events, options, (history, event, next) => ({ note: noteOf(history, event, next) }));
}

/**
 * {@link describeEvents} without the notes, for callers that print lines only (the API's timeline
 * summaries, the audit timeline): the same walk and words, and a bundle without the notes' wording.
 */
export function describeLines(events: readonly ChallengeEvent[], options: DescribeOptions): EventLine[] {
  return walk(events, options, () => ({}));
}

/** The walk: each event's line, plus what `more` says of it, given the history before it. */
function walk<T extends object>(
  events: readonly ChallengeEvent[],
  options: DescribeOptions,
  more: (history: History, event: ChallengeEvent, next: ChallengeEvent | undefined) => T,
): (EventLine & T)[] {
  const history: History = {
    protocol: options.protocol,
    names: options.names,
    channels: options.channels ?? false,
    track: options.challenge?.track ?? "CP",
    raiserRole: options.challenge?.raiserRole,
    raiserId: options.challenge?.raiser.id,
    raiserTitle: raiserTitleOf(options.protocol, options.challenge?.raiserRole),
    opened: new Map(),
    approvers: new Map(),
    plan: null,
    currentStageId: null,
    lastStageId: null,
  };
  const sorted = [...events].sort((a, b) => a.seq - b.seq);
  return sorted.map((event, index) => {
    const next = sorted[index + 1];
    if (event.type === "ChallengeRaised") {
      history.track = event.data.track;
      history.raiserRole = event.data.form.raiserRole;
      history.raiserId = event.data.raiser.id;
      history.raiserTitle = raiserTitleOf(history.protocol, event.data.form.raiserRole);
    }
    const opening = openedBy(event, next);
    const description = {
      event,
      stageId: stageOf(history, event, next),
      line: lineOf(history, event),
      ...(opening === undefined ? {} : { lineWithOpening: lineOf(history, event, opening) }),
      ...more(history, event, next),
    };
    advance(history, event);
    return description;
  });
}

function raiserTitleOf(protocol: Protocol | undefined, role: RaiserRole | undefined): string {
  if (role === undefined) return "raiser";
  return protocol?.raiserTitles[role] ?? role;
}

/** The StageOpened written by the same action as `event`, when `event` is what opened it. */
function openedBy(
  event: ChallengeEvent,
  next: ChallengeEvent | undefined,
): EventOf<"StageOpened"> | undefined {
  if (next?.type !== "StageOpened" || next.seq !== event.seq + 1 || next.at !== event.at) return undefined;
  const opens =
    event.type === "ChallengeRaised" ||
    event.type === "Reopened" ||
    (event.type === "Escalated" && event.data.toStageId !== null);
  return opens ? next : undefined;
}

/** The stage an event belongs to: its own, else the one open or last left (see case-notes.ts). */
function stageOf(history: History, event: ChallengeEvent, next: ChallengeEvent | undefined): string | null {
  const fallback = history.currentStageId ?? history.lastStageId;
  switch (event.type) {
    case "ChallengeRaised": {
      const first = history.protocol?.tracks[history.track]?.stages[0]?.id ?? null;
      return next?.type === "StageOpened" ? next.data.stageId : first;
    }
    case "StageOpened":
    case "StageReassigned":
    case "StageAcknowledged":
    case "ResponseRecorded":
    case "MeetingRecorded":
    case "ActionPlanAgreed":
    case "RaiserAlerted":
    case "DeadlineShortened":
    case "ReminderSent":
      return event.data.stageId;
    case "Escalated":
      return event.data.fromStageId;
    case "Resolved":
      return event.data.stageId ?? history.plan?.stageId ?? fallback;
    case "Reopened":
      return event.data.atStageId;
    case "ActionCompleted":
    case "ActionMissed":
    case "ActionsFellDue":
      return history.plan?.stageId ?? fallback;
    case "ReferralRequested":
    case "ReferralApproved":
    case "ReferralMade":
    case "DifferenceNoted":
    case "DecisionRequested":
    case "DecisionRecorded":
    case "Withdrawn":
    case "Closed":
    case "LegalHoldPlaced":
    case "LegalHoldLifted":
    case "NotificationUndeliverable":
      return fallback;
  }
}

/** Moves the walk past an event: which stage is open, what the plan holds, who approves. */
function advance(history: History, event: ChallengeEvent): void {
  switch (event.type) {
    case "StageOpened":
      history.opened.set(event.data.stageId, event.data);
      history.currentStageId = event.data.stageId;
      return;
    case "StageReassigned": {
      // From now on the stage's recipient is the cover, acting for the absent holder.
      const d = event.data;
      const opened = history.opened.get(d.stageId);
      const swap = (a: Assignee): Assignee => (a.personId === d.from.personId ? d.to : a);
      if (opened !== undefined) {
        history.opened.set(d.stageId, {
          ...opened,
          assignee: swap(opened.assignee),
          coAssignees: (opened.coAssignees ?? []).map(swap),
        });
      }
      return;
    }
    case "ActionPlanAgreed":
      history.plan = {
        stageId: event.data.stageId,
        actions: event.data.actions.map((a) => ({ ...a, status: "open" as const })),
      };
      leave(history);
      return;
    case "Escalated":
    case "Resolved":
    case "Withdrawn":
    case "Closed":
      leave(history);
      return;
    case "ActionCompleted":
    case "ActionMissed": {
      const action = history.plan?.actions.find((a) => a.id === event.data.actionId);
      if (action !== undefined) action.status = event.type === "ActionCompleted" ? "done" : "not done";
      return;
    }
    case "ReferralRequested":
      history.approvers.set(event.data.kind, event.data.approvalsNeeded);
      return;
    default:
      return;
  }
}

function leave(history: History): void {
  if (history.currentStageId !== null) history.lastStageId = history.currentStageId;
  history.currentStageId = null;
}
