import { actorTitle, capitalise, listInWords, personAndTitle, plural, referralTitle } from "../words.js";
import type { Actor, Channel } from "./actor.js";
import type { ChallengeEvent, EventOf } from "./events.js";
import {
  absentHolder,
  addresseeOf,
  coversInWords,
  day,
  due,
  label,
  reassignedInWords,
  type History,
} from "./describe-history.js";
import { timedOutWords } from "./timer.js";
import { UNDELIVERABLE_WORDS, undeliveredTo } from "../email-undeliverable.js";

/**
 * An event in one line, for the audit timeline and the API's summaries: who did what, where, with
 * deadlines in words; the professionals' free text is left out (a line is printed to screens,
 * terminals and API responses, and the text is in the record for whoever needs it).
 */

/** "Jo Bloggs, IRO (api)", "IRO", "the workflow timer": who acted, for a line. */
function by(
  history: History,
  actor: Actor,
  channel: Channel,
  title = actorTitle(history.protocol, actor),
): string {
  if (channel === "timer") return "the workflow timer";
  const name = history.names?.(actor.id);
  const person = name === undefined ? title : `${name}, ${title}`;
  return history.channels ? `${person} (${channel})` : person;
}

/** The stage's addressee's title when the actor is one (and whom a named cover acts for), else the actor's own. */
function who(history: History, actor: Actor, channel: Channel, stageId: string): string {
  const addressee = addresseeOf(history, actor, stageId);
  const person = by(history, actor, channel, addressee?.title);
  return addressee?.actingFor === undefined
    ? person
    : `${person}, acting for ${absentHolder(history, addressee)}`;
}

/** "Level 1: Team Manager, due by 5pm on Friday 29 May": a stage as it opened, inside a line. */
function opening(history: History, data: EventOf<"StageOpened">["data"], at: string): string {
  const to = listInWords([data.assignee, ...(data.coAssignees ?? [])].map((a) => a.title));
  const notCopied = (data.notCopied ?? []).map((r) => r.title);
  const gaps = notCopied.length === 0 ? "" : ` (not copied: no holder: ${listInWords(notCopied)})`;
  return `${label(history, data.stageId)}: ${to}, due by ${due(data.deadline, at)}${gaps}${coversInWords(history, data)}`;
}

const OPENED_HOW = {
  raised: "opened",
  escalated: "opened on escalation",
  auto_escalated: "opened automatically after no response",
  bypassed: "opened by bypass",
  reopened: "reopened",
} as const;

export function lineOf(history: History, event: ChallengeEvent, opened?: EventOf<"StageOpened">): string {
  const actor = by(history, event.actor, event.channel);
  switch (event.type) {
    case "ChallengeRaised": {
      const plan = event.data.track === "CP" ? "child protection plan" : "care plan";
      const concern = event.data.safeguardingConcern ? " (safeguarding concern)" : "";
      if (opened === undefined) return `Raised by ${actor} about the ${plan}${concern}`;
      const bypassed = opened.data.via === "bypassed" ? " (earlier stages bypassed)" : "";
      return `Raised by ${actor} about the ${plan} at ${opening(history, opened.data, event.at)}${bypassed}${concern}`;
    }
    case "StageOpened": {
      const d = event.data;
      const to = listInWords([d.assignee, ...(d.coAssignees ?? [])].map((a) => `the ${a.title}`));
      const notCopied = (d.notCopied ?? []).map((r) => r.title);
      const gaps = notCopied.length === 0 ? "" : `; not copied: no holder: ${listInWords(notCopied)}`;
      return `${label(history, d.stageId)} ${OPENED_HOW[d.via]} for ${to}; response due by ${due(d.deadline, event.at)}${gaps}${coversInWords(history, d)}`;
    }
    case "StageReassigned": {
      const d = event.data;
      const { why, until } = reassignedInWords(d);
      return `${label(history, d.stageId)} passed to ${personAndTitle(history.names, d.to.personId, "named cover")}, acting for ${absentHolder(history, d.to)} (the ${d.from.title}), who is away ${until} (${why}); the deadline is unchanged`;
    }
    case "StageAcknowledged":
      // The channel says whether it came from the email's link: shown here when lines leave it out.
      return `${label(history, event.data.stageId)} acknowledged by ${who(history, event.actor, event.channel, event.data.stageId)}${history.channels ? "" : ` (${event.channel})`}`;
    case "ResponseRecorded":
      return `Response at ${label(history, event.data.stageId)} from ${who(history, event.actor, event.channel, event.data.stageId)}`;
    case "MeetingRecorded":
      return `Meeting of ${day(event.data.heldOn)} recorded for ${label(history, event.data.stageId)} by ${who(history, event.actor, event.channel, event.data.stageId)}, ${plural(event.data.attendees.length, "attendee")}`;
    case "ActionPlanAgreed": {
      const last = event.data.actions
        .map((a) => a.byWhen)
        .sort()
        .at(-1);
      const lastDue = last === undefined ? "" : `, the last due ${day(last)}`;
      return `Action plan agreed at ${label(history, event.data.stageId)}, recorded by ${who(history, event.actor, event.channel, event.data.stageId)}: ${plural(event.data.actions.length, "action")}${lastDue}`;
    }
    case "Escalated": {
      const from = label(history, event.data.fromStageId);
      const to =
        event.data.toStageId === null
          ? "beyond the last stage: every stage has now been tried"
          : opened === undefined
            ? `to ${label(history, event.data.toStageId)}`
            : `to ${opening(history, opened.data, event.at)}`;
      if (event.data.kind === "no_response") {
        return `${timedOutWords(event.data.timedOut)} at ${from}: escalated automatically ${to}`;
      }
      if (event.data.kind === "bypass" && opened !== undefined) {
        return `Moved by ${actor} from ${from} straight ${to} (bypass)`;
      }
      return `Escalated by ${actor} from ${from} ${to}`;
    }
    case "RaiserAlerted":
      return `${timedOutWords(event.data.reason)} at ${label(history, event.data.stageId)}: the ${history.raiserTitle} was alerted to decide what happens next${event.data.decideBy === undefined ? "" : ` by ${due(event.data.decideBy, event.at)}, or it escalates automatically`}`;
    case "DeadlineShortened":
      return `Window shortened by ${actor} at ${label(history, event.data.stageId)}: now due by ${due(event.data.deadline, event.at)} (was ${due(event.data.previousDeadline, event.at)})`;
    case "ReminderSent": {
      const recipient = history.opened.get(event.data.stageId)?.assignee.title ?? "recipient";
      return `Reminder sent by ${actor} to the ${recipient} at ${label(history, event.data.stageId)}: response due by ${due(event.data.deadline, event.at)}`;
    }
    case "Resolved":
      return event.data.stageId === null
        ? `Resolved, recorded by ${actor}`
        : `Resolved at ${label(history, event.data.stageId)}, recorded by ${actor}`;
    case "ReferralRequested": {
      const approval =
        event.data.approvalsNeeded.length === 0
          ? ""
          : `, awaiting approval by the ${listInWords(event.data.approvalsNeeded.map((r) => r.title))}`;
      return `${capitalise(referralTitle(event.data.kind))} requested by ${actor}${approval}`;
    }
    case "ReferralApproved": {
      const approver =
        history.approvers.get(event.data.kind)?.find((r) => r.role === event.data.approverRole)?.title ??
        event.data.approverRole;
      const cover = event.data.asCover === true ? " (as named cover)" : "";
      const channel = history.channels ? ` (${event.channel})` : "";
      return `${capitalise(referralTitle(event.data.kind))} approved by ${personAndTitle(history.names, event.actor.id, approver)}${cover}${channel}`;
    }
    case "ReferralMade": {
      const documents =
        event.data.documents.length === 0 ? "" : `, with ${plural(event.data.documents.length, "document")}`;
      return `${capitalise(referralTitle(event.data.kind))} made to ${event.data.recipient.title}${documents}`;
    }
    case "ActionCompleted":
    case "ActionMissed": {
      const index = history.plan?.actions.findIndex((a) => a.id === event.data.actionId) ?? -1;
      const which = index < 0 ? `Action ${event.data.actionId}` : `Action ${index + 1} of the plan`;
      return `${which} recorded as ${event.type === "ActionCompleted" ? "done" : "not done"} by ${actor}`;
    }
    case "ActionsFellDue": {
      const which = event.data.actionIds.map((id) => {
        const index = history.plan?.actions.findIndex((a) => a.id === id) ?? -1;
        return index < 0 ? id : String(index + 1);
      });
      const n = which.length;
      return `${n === 1 ? "Action" : "Actions"} ${listInWords(which)} of the plan fell due: ${actor} asked the ${history.raiserTitle} whether ${n === 1 ? "it was" : "they were"} done`;
    }
    case "Reopened":
      return opened === undefined
        ? `Reopened by ${actor} at ${label(history, event.data.atStageId)}`
        : `Reopened by ${actor} at ${opening(history, opened.data, event.at)}`;
    case "DifferenceNoted":
      return `Difference noted by ${actor}, for the ${event.data.decidedBy.title} to decide whether to uphold it`;
    case "DecisionRequested":
      return `The ${event.data.decidedBy.title}'s decision requested, due by ${due(event.data.dueBy, event.at)}`;
    case "DecisionRecorded":
      return `Decided by ${actor}${event.data.asCover === true ? ` (as cover for the ${event.data.decidedBy.title})` : ""}: ${event.data.upheld ? "upheld" : "not upheld"}`;
    case "Withdrawn":
      return `Withdrawn by ${actor}`;
    case "Closed":
      return `Closed by ${actor}`;
    case "LegalHoldPlaced":
      return `Legal hold placed by ${actor}: the record will not be deleted at the end of its retention period while the hold lasts`;
    case "LegalHoldLifted":
      return `Legal hold lifted by ${actor}`;
    case "NotificationUndeliverable":
      return `An email to ${undeliveredTo(history, event.data)} ${UNDELIVERABLE_WORDS[event.data.reason]}`;
  }
}
