import type { Assignee, ChallengeEvent, EventOf } from "../domain/challenge/events.js";
import type { Actor, Channel } from "../domain/challenge/actor.js";
import { timedOutWords } from "../domain/challenge/timer.js";
import type { Protocol, Recipient, Track } from "../domain/protocol.js";
import { challengeEventSchema } from "../store/items.js";
import { eventOfLine, londonDay, type ExportLine } from "./export-format.js";
import type { TombstoneRecord } from "./tombstone-format.js";
import {
  actorTitle,
  type PersonNames,
  personAndTitle,
  formatDay,
  formatDeadline,
  formatInstant,
  listInWords,
  plural,
  referralTitle,
  stageLabel,
} from "./words.js";

/**
 * One challenge's events in plain words, one line each, for auditors reading an export:
 *
 *     Thu 21 May 2026 10:00 — Raised by IRO (api) at Level 1: Team Manager, due by 5pm on Friday 29 May
 *
 * A stage opened by the same action as a raise, escalation or reopening is told on that action's
 * line. Free text (worries, responses, reasons) is left out: it is in the export for whoever needs
 * it, and a timeline is printed to screens and terminals. Pure; no AWS imports.
 */

export interface TimelineEntry {
  readonly seq: number;
  readonly at: string;
  readonly text: string;
}

/** The typed event of an export line, or undefined when its data is not what the event type holds. */
export function challengeEventOf(line: ExportLine): ChallengeEvent | undefined {
  const result = challengeEventSchema.safeParse(eventOfLine(line));
  // The schema is checked against the domain's event types in store/items.ts.
  return result.success ? result.data : undefined;
}

interface Context {
  readonly protocol: Protocol | undefined;
  track: Track;
  raiserTitle: string;
  /** The latest StageOpened of each stage: who it was addressed to. */
  readonly opened: Map<string, EventOf<"StageOpened">["data"]>;
  /** Approvals asked for, per referral kind: for the approver's title. */
  readonly approvers: Map<string, readonly Recipient[]>;
  actionIds: readonly string[];
  readonly names: PersonNames | undefined;
}

function by(ctx: Context, actor: Actor, channel: Channel): string {
  if (channel === "timer") return "the workflow timer";
  const name = ctx.names?.(actor.id);
  const title = actorTitle(ctx.protocol, actor);
  return `${name === undefined ? title : `${name}, ${title}`} (${channel})`;
}

/** The stage's recipient (or co-recipient) when the actor is a person it was addressed to, else the actor's title. */
function who(ctx: Context, actor: Actor, channel: Channel, stageId: string): string {
  const opened = ctx.opened.get(stageId);
  const recipient =
    opened === undefined
      ? undefined
      : [opened.assignee, ...(opened.coAssignees ?? [])].find((a) => a.personId === actor.id);
  if (recipient !== undefined) {
    const name = ctx.names?.(actor.id);
    const acting =
      recipient.actingFor === undefined ? "" : `, acting for ${absentHolder(ctx.names, recipient)}`;
    return `${name === undefined ? recipient.title : `${name}, ${recipient.title}`} (${channel})${acting}`;
  }
  return by(ctx, actor, channel);
}

/** The absent holder a cover acts for: their name when the directory has it. */
function absentHolder(names: PersonNames | undefined, cover: Assignee): string {
  const name = cover.actingFor === undefined ? undefined : names?.(cover.actingFor);
  return name === undefined ? `the absent ${cover.title}` : name;
}

function label(ctx: Context, stageId: string): string {
  return stageLabel(ctx.protocol, ctx.track, stageId);
}

function opening(ctx: Context, data: EventOf<"StageOpened">["data"], at: string): string {
  const to = listInWords([data.assignee, ...(data.coAssignees ?? [])].map((a) => a.title));
  const notCopied = (data.notCopied ?? []).map((r) => r.title);
  const gaps = notCopied.length === 0 ? "" : ` (not copied: no holder: ${listInWords(notCopied)})`;
  const covers = [data.assignee, ...(data.coAssignees ?? [])]
    .filter((a) => a.actingFor !== undefined)
    .map(
      (a) =>
        `; sent to ${personAndTitle(ctx.names, a.personId, "named cover")}, acting for ${absentHolder(ctx.names, a)}, who is away and copied`,
    )
    .join("");
  const away = (data.uncovered ?? []).length === 0 ? "" : " (the recipient is away and no cover is named)";
  return `${label(ctx, data.stageId)}: ${to}, due by ${formatDeadline(data.deadline, at)}${gaps}${covers}${away}`;
}

/**
 * The timeline of one challenge's events (in seq order, one record per seq). `protocol` gives the
 * stage labels and the raiser's title; without it stage ids are shown.
 */
export function timeline(
  lines: readonly ExportLine[],
  protocol?: Protocol,
  names?: PersonNames,
): TimelineEntry[] {
  const ctx: Context = {
    names,
    protocol,
    track: "CP",
    raiserTitle: "raiser",
    opened: new Map(),
    approvers: new Map(),
    actionIds: [],
  };
  const entries: TimelineEntry[] = [];
  const sorted = [...lines].sort((a, b) => a.seq - b.seq);

  for (let i = 0; i < sorted.length; i++) {
    const line = sorted[i];
    if (line === undefined) continue;
    const event = challengeEventOf(line);
    if (event === undefined) {
      entries.push({
        seq: line.seq,
        at: line.at,
        text: `${line.type} (event ${line.seq}): its contents are not those of a ${line.type} event`,
      });
      continue;
    }
    // A StageOpened written by the same action, told on this line.
    const nextLine = sorted[i + 1];
    const next = nextLine === undefined ? undefined : challengeEventOf(nextLine);
    const follows =
      next?.type === "StageOpened" && next.seq === event.seq + 1 && next.at === event.at ? next : undefined;
    const merges =
      follows !== undefined &&
      (event.type === "ChallengeRaised" ||
        event.type === "Reopened" ||
        (event.type === "Escalated" && event.data.toStageId !== null));
    if (event.type === "ChallengeRaised") {
      ctx.track = event.data.track;
      ctx.raiserTitle = actorTitle(protocol, event.data.raiser);
    }
    if (merges) {
      ctx.opened.set(follows.data.stageId, follows.data);
      i++;
    }
    entries.push({ seq: event.seq, at: event.at, text: describe(ctx, event, merges ? follows : undefined) });
  }
  return entries;
}

function describe(ctx: Context, event: ChallengeEvent, opened: EventOf<"StageOpened"> | undefined): string {
  const actor = by(ctx, event.actor, event.channel);
  switch (event.type) {
    case "ChallengeRaised": {
      if (opened === undefined) return `Raised by ${actor}`;
      const bypassed = opened.data.via === "bypassed" ? " (earlier stages bypassed)" : "";
      return `Raised by ${actor} at ${opening(ctx, opened.data, event.at)}${bypassed}`;
    }
    case "StageOpened": {
      ctx.opened.set(event.data.stageId, event.data);
      const via = {
        raised: "raised",
        escalated: "escalated",
        auto_escalated: "escalated automatically",
        bypassed: "bypass",
        reopened: "reopened",
      }[event.data.via];
      return `${opening(ctx, event.data, event.at)} (${via})`;
    }
    case "StageReassigned": {
      const d = event.data;
      const opened = ctx.opened.get(d.stageId);
      if (opened !== undefined) {
        const swap = (a: Assignee) => (a.personId === d.from.personId ? d.to : a);
        ctx.opened.set(d.stageId, {
          ...opened,
          assignee: swap(opened.assignee),
          coAssignees: (opened.coAssignees ?? []).map(swap),
        });
      }
      const why =
        d.because === "out_of_office" ? "their out-of-office reply" : "an absence recorded in the directory";
      const until = d.absence.to === undefined ? "with no end stated" : `until ${formatDay(d.absence.to)}`;
      return `${label(ctx, d.stageId)} passed to ${personAndTitle(ctx.names, d.to.personId, "named cover")}, acting for ${absentHolder(ctx.names, d.to)} (the ${d.from.title}), who is away ${until} (${why}); the deadline is unchanged`;
    }
    case "StageAcknowledged":
      return `${label(ctx, event.data.stageId)} acknowledged by ${who(ctx, event.actor, event.channel, event.data.stageId)}`;
    case "ResponseRecorded":
      return `Response at ${label(ctx, event.data.stageId)} from ${who(ctx, event.actor, event.channel, event.data.stageId)}`;
    case "MeetingRecorded":
      return `Meeting of ${formatDay(event.data.heldOn)} recorded for ${label(ctx, event.data.stageId)} by ${who(ctx, event.actor, event.channel, event.data.stageId)}, ${plural(event.data.attendees.length, "attendee")}`;
    case "ActionPlanAgreed": {
      ctx.actionIds = event.data.actions.map((a) => a.id);
      const last = event.data.actions
        .map((a) => a.byWhen)
        .sort()
        .at(-1);
      const due = last === undefined ? "" : `, the last due ${formatDay(last)}`;
      return `Action plan agreed at ${label(ctx, event.data.stageId)}, recorded by ${who(ctx, event.actor, event.channel, event.data.stageId)}: ${plural(event.data.actions.length, "action")}${due}`;
    }
    case "Escalated": {
      const from = label(ctx, event.data.fromStageId);
      if (event.data.toStageId === null || opened === undefined) {
        const to =
          event.data.toStageId === null
            ? "beyond the last stage: every stage has now been tried"
            : `to ${label(ctx, event.data.toStageId)}`;
        return event.data.kind === "no_response"
          ? `${timedOutWords(event.data.timedOut)} at ${from}: escalated automatically ${to}`
          : `Escalated by ${actor} from ${from} ${to}`;
      }
      const to = opening(ctx, opened.data, event.at);
      if (event.data.kind === "no_response") {
        return `${timedOutWords(event.data.timedOut)} at ${from}: escalated automatically to ${to}`;
      }
      return event.data.kind === "bypass"
        ? `Moved by ${actor} from ${from} straight to ${to} (bypass)`
        : `Escalated by ${actor} from ${from} to ${to}`;
    }
    case "RaiserAlerted":
      return `${timedOutWords(event.data.reason)} at ${label(ctx, event.data.stageId)}: the ${ctx.raiserTitle} was alerted to decide what happens next${event.data.decideBy === undefined ? "" : ` by ${formatDeadline(event.data.decideBy, event.at)}, or it escalates automatically`}`;
    case "DeadlineShortened":
      return `Window shortened by ${actor} at ${label(ctx, event.data.stageId)}: now due by ${formatDeadline(event.data.deadline, event.at)} (was ${formatDeadline(event.data.previousDeadline, event.at)}). Reason: ${event.data.reason}`;
    case "ReminderSent": {
      const recipient = ctx.opened.get(event.data.stageId)?.assignee.title ?? "recipient";
      return `Reminder sent by ${actor} to the ${recipient} at ${label(ctx, event.data.stageId)}: response due by ${formatDeadline(event.data.deadline, event.at)}`;
    }
    case "Resolved":
      return event.data.stageId === null
        ? `Resolved, recorded by ${actor}`
        : `Resolved at ${label(ctx, event.data.stageId)}, recorded by ${actor}`;
    case "ReferralRequested": {
      ctx.approvers.set(event.data.kind, event.data.approvalsNeeded);
      const approval =
        event.data.approvalsNeeded.length === 0
          ? ""
          : `, awaiting approval by the ${listInWords(event.data.approvalsNeeded.map((r) => r.title))}`;
      return `${capitalise(referralTitle(event.data.kind))} requested by ${actor}${approval}`;
    }
    case "ReferralApproved": {
      const approver =
        ctx.approvers.get(event.data.kind)?.find((r) => r.role === event.data.approverRole)?.title ??
        event.data.approverRole;
      const cover = event.data.asCover === true ? " (as named cover)" : "";
      return `${capitalise(referralTitle(event.data.kind))} approved by ${personAndTitle(ctx.names, event.actor.id, approver)}${cover} (${event.channel})`;
    }
    case "ReferralMade": {
      const documents =
        event.data.documents.length === 0 ? "" : `, with ${plural(event.data.documents.length, "document")}`;
      return `${capitalise(referralTitle(event.data.kind))} made to ${event.data.recipient.title}${documents}`;
    }
    case "ActionCompleted":
    case "ActionMissed": {
      const index = ctx.actionIds.indexOf(event.data.actionId);
      const which = index < 0 ? `Action ${event.data.actionId}` : `Action ${index + 1} of the plan`;
      return `${which} recorded as ${event.type === "ActionCompleted" ? "done" : "not done"} by ${actor}`;
    }
    case "ActionsFellDue": {
      const which = event.data.actionIds.map((id) => {
        const index = ctx.actionIds.indexOf(id);
        return index < 0 ? id : String(index + 1);
      });
      const n = which.length;
      return `${n === 1 ? "Action" : "Actions"} ${listInWords(which)} of the plan fell due: ${actor} asked the ${ctx.raiserTitle} whether ${n === 1 ? "it was" : "they were"} done`;
    }
    case "Reopened":
      return opened === undefined
        ? `Reopened by ${actor} at ${label(ctx, event.data.atStageId)}`
        : `Reopened by ${actor} at ${opening(ctx, opened.data, event.at)}`;
    case "DifferenceNoted":
      return `Difference noted by ${actor}, for the ${event.data.decidedBy.title} to decide whether to uphold it`;
    case "DecisionRequested":
      return `The ${event.data.decidedBy.title}'s decision requested, due by ${formatInstant(event.data.dueBy)}`;
    case "DecisionRecorded":
      return `Decided by ${actor}${event.data.asCover === true ? ` (as cover for the ${event.data.decidedBy.title})` : ""}: ${event.data.upheld ? "upheld" : "not upheld"}. ${event.data.reasons}`;
    case "Withdrawn":
      return `Withdrawn by ${actor}`;
    case "Closed":
      return `Closed by ${actor}`;
    case "LegalHoldPlaced":
      return `Legal hold placed by ${actor}`;
    case "LegalHoldLifted":
      return `Legal hold lifted by ${actor}`;
  }
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** "Thu 21 May 2026 10:00 — Raised by ..." */
export function formatTimelineEntry(entry: TimelineEntry): string {
  return `${formatInstant(entry.at)} — ${entry.text}`;
}

/**
 * The last line of a challenge deleted at the end of its retention period, after its events
 * (`eventsInExport` of the `eventCount` it had may remain in the export).
 */
export function tombstoneTimelineEntry(tombstone: TombstoneRecord, eventsInExport: number): TimelineEntry {
  const remain =
    eventsInExport >= tombstone.eventCount
      ? `all ${plural(tombstone.eventCount, "event")} remain in the export`
      : `${eventsInExport} of its ${plural(tombstone.eventCount, "event")} remain in the export`;
  return {
    seq: tombstone.eventCount + 1,
    at: tombstone.deletionCompletedAt,
    text: `Deleted at retention on ${formatDay(londonDay(tombstone.deletionCompletedAt))} (rule ${tombstone.retentionRule}: ${tombstone.reason}; retention date ${formatDay(tombstone.retainUntil)}): ${remain}`,
  };
}
