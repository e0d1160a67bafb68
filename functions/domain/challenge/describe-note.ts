import { actorTitle, capitalise, findStage, listInWords, personAndTitle, referralTitle } from "../words.js";
import type { TrackProtocol } from "../protocol.js";
import type { Actor } from "./actor.js";
import type { ChallengeEvent } from "./events.js";
import { addresseeOf, day, due, label, reassignedInWords, type History } from "./describe-history.js";
import { timedOutWords } from "./timer.js";
import { UNDELIVERABLE_WORDS, undeliveredTo } from "../email-undeliverable.js";

/**
 * An event for the child's file: what happened, in a sentence; the professionals' own words
 * (worries, responses, reasons, summaries, agreed actions) quoted, because recording them is what the
 * protocols ask a case note for; and where that leaves the challenge. People appear by the role the
 * protocol gives them (and by name when the directory lookup names them); never the child.
 */

export interface NoteParts {
  /** What happened, in a sentence. */
  readonly action: string;
  /** The professionals' own words, quoted after the action (optional). */
  readonly detail?: string;
  /** Where that leaves the challenge. */
  readonly outcome: string;
}

function trackOf(history: History): TrackProtocol | undefined {
  return history.protocol?.tracks[history.track];
}

/** The person's role: the stage's addressee when it is them, else what the protocol calls the actor. */
function roleOf(history: History, actor: Actor, stageId: string | null): string {
  const addressee = addresseeOf(history, actor, stageId);
  if (addressee?.actingFor !== undefined) {
    const holder = personAndTitle(history.names, addressee.actingFor, addressee.title);
    return `${personAndTitle(history.names, actor.id, "named cover")}, acting for ${holder}`;
  }
  if (addressee !== undefined) return personAndTitle(history.names, actor.id, addressee.title);
  if (actor.id === history.raiserId) return personAndTitle(history.names, actor.id, history.raiserTitle);
  const title = actorTitle(history.protocol, actor);
  if (actor.role === "system") return title;
  return personAndTitle(history.names, actor.id, title.replace(/^the /, ""));
}

export function noteOf(history: History, event: ChallengeEvent, next: ChallengeEvent | undefined): NoteParts {
  const raiser = `the ${history.raiserTitle}`;
  switch (event.type) {
    case "ChallengeRaised": {
      const plan = history.track === "CP" ? "child protection plan" : "care plan";
      const bypass =
        event.data.bypassRationale === undefined
          ? undefined
          : `Rationale for starting above the first stage: ${event.data.bypassRationale}`;
      const opened = next?.type === "StageOpened" ? next.data : undefined;
      return {
        action: `${capitalise(raiser)} raised a challenge about the progress of the ${plan}.`,
        ...(bypass === undefined ? {} : { detail: bypass }),
        outcome:
          opened === undefined
            ? "Challenge raised."
            : `Sent to ${label(history, opened.stageId)} (the ${opened.assignee.title}); a response is due by ${due(opened.deadline, event.at)}.`,
      };
    }
    case "StageOpened": {
      const d = event.data;
      const stage = findStage(history.protocol, history.track, d.stageId)?.stage;
      const how = {
        raised: "",
        escalated: " on escalation",
        auto_escalated: " automatically, as the previous stage had no response",
        bypassed: " directly, bypassing the stages before it",
        reopened: " again, as the challenge was reopened",
      }[d.via];
      const copied =
        d.copyTo.length === 0 ? "" : `, copied to the ${listInWords(d.copyTo.map((c) => c.title))}`;
      const meeting = stage?.meeting === true ? " A meeting is to be held at this stage." : "";
      return {
        action: `${label(history, d.stageId)}${stage === undefined ? "" : ` (${stage.title})`} opened${how}: the challenge was sent to ${
          d.assignee.actingFor === undefined
            ? `the ${d.assignee.title}`
            : `${personAndTitle(history.names, d.assignee.personId, "named cover")}, acting for ${personAndTitle(history.names, d.assignee.actingFor, d.assignee.title)}, who is away`
        }${copied}.`,
        outcome: `A response is due by ${due(d.deadline, event.at)}.${meeting}`,
      };
    }
    case "StageReassigned": {
      const d = event.data;
      const { why, until } = reassignedInWords(d);
      const opened = history.opened.get(d.stageId);
      return {
        action: `The ${d.from.title} is away ${until} (${why}): the challenge at ${label(history, d.stageId)} was passed to ${personAndTitle(history.names, d.to.personId, "named cover")}, acting for ${personAndTitle(history.names, d.from.personId, d.from.title)}, who is copied.`,
        outcome:
          opened === undefined
            ? "The deadline is unchanged."
            : `The deadline is unchanged: a response is due by ${due(opened.deadline, event.at)}.`,
      };
    }
    case "StageAcknowledged": {
      const opened = history.opened.get(event.data.stageId);
      return {
        action: `${capitalise(roleOf(history, event.actor, event.data.stageId))} acknowledged the challenge${event.channel === "link" ? " from the link in the email" : ""}.`,
        outcome:
          opened === undefined
            ? "Awaiting a response."
            : `Awaiting a response, due by ${due(opened.deadline, event.at)}.`,
      };
    }
    case "ResponseRecorded":
      return {
        action: `${capitalise(roleOf(history, event.actor, event.data.stageId))} responded at ${label(history, event.data.stageId)}:`,
        detail: event.data.response,
        outcome: `For ${raiser} to consider: mark it resolved, agree an action plan, or escalate.`,
      };
    case "MeetingRecorded":
      return {
        action: `A meeting was held on ${day(event.data.heldOn)} at ${label(history, event.data.stageId)}. Attendees: ${listInWords(event.data.attendees)}.`,
        detail: event.data.summary,
        outcome: `Recorded by ${roleOf(history, event.actor, event.data.stageId)}; the challenge remains at ${label(history, event.data.stageId)}.`,
      };
    case "ActionPlanAgreed": {
      const stage = findStage(history.protocol, history.track, event.data.stageId)?.stage;
      const reopenAt = stage?.reopenAtStageId ?? event.data.stageId;
      return {
        action: `An action plan was agreed at ${label(history, event.data.stageId)}:`,
        detail: event.data.actions
          .map((a, i) => `${i + 1}. ${a.action} (by ${a.byWhom}, by ${day(a.byWhen)})`)
          .join("\n"),
        outcome: `${capitalise(raiser)} will track the actions; if they are not done, the challenge reopens at ${label(history, reopenAt)}.`,
      };
    }
    case "Escalated": {
      const d = event.data;
      const from = history.opened.get(d.fromStageId);
      const to =
        d.toStageId === null ? undefined : findStage(history.protocol, history.track, d.toStageId)?.stage;
      const guidance =
        history.raiserRole === undefined
          ? undefined
          : trackOf(history)?.endOfLadderGuidance[history.raiserRole];
      const outcome =
        d.toStageId === null
          ? `Every stage has now been tried without resolution.${guidance === undefined ? "" : ` ${guidance}`}`
          : `Escalated to ${label(history, d.toStageId)}${to === undefined ? "" : ` (the ${to.recipient.title})`}.`;
      if (d.kind === "no_response" && (d.timedOut ?? "no_response") === "no_response") {
        return {
          action: `No response was received from the ${from?.assignee.title ?? "recipient"} at ${label(history, d.fromStageId)} by the deadline${from === undefined ? "" : `, ${due(from.deadline, event.at)}`}.`,
          outcome: `${outcome} The escalation was automatic.`,
        };
      }
      if (d.kind === "no_response") {
        return {
          action: `${timedOutWords(d.timedOut)}.`,
          detail: d.reasons,
          outcome: `${outcome} The escalation was automatic.`,
        };
      }
      return {
        action:
          d.kind === "bypass"
            ? `${capitalise(raiser)} moved the challenge on from ${label(history, d.fromStageId)}, bypassing the stages in between. Rationale:`
            : `${capitalise(raiser)} was not satisfied with the outcome at ${label(history, d.fromStageId)} and escalated the challenge. Reasons:`,
        detail: d.reasons,
        outcome,
      };
    }
    case "RaiserAlerted": {
      const opened = history.opened.get(event.data.stageId);
      const missing =
        event.data.reason === "no_response"
          ? "No response was received from"
          : "A response but no resolution was received from";
      const decideBy = event.data.decideBy;
      return {
        action: `${missing} the ${opened?.assignee.title ?? "recipient"} at ${label(history, event.data.stageId)} by the deadline${opened === undefined ? "" : `, ${due(opened.deadline, event.at)}`}.`,
        outcome:
          decideBy === undefined
            ? `${capitalise(raiser)} was alerted to decide the next step.`
            : `${capitalise(raiser)} was asked to resolve the challenge or escalate it with reasons by ${due(decideBy, event.at)}; otherwise it escalates automatically.`,
      };
    }
    case "DeadlineShortened":
      return {
        action: `${capitalise(raiser)} shortened the window at ${label(history, event.data.stageId)}: now due by ${due(event.data.deadline, event.at)} (was ${due(event.data.previousDeadline, event.at)}). Reason:`,
        detail: event.data.reason,
        outcome: "Awaiting a response by the new deadline.",
      };
    case "ReminderSent": {
      const opened = history.opened.get(event.data.stageId);
      return {
        action: `The ${opened?.assignee.title ?? "recipient"} was reminded that a response at ${label(history, event.data.stageId)} is due by ${due(event.data.deadline, event.at)}.`,
        outcome: "Awaiting a response.",
      };
    }
    case "Resolved": {
      const where = event.data.stageId ?? history.plan?.stageId;
      return {
        action: `${capitalise(roleOf(history, event.actor, null))} recorded the challenge as resolved${where === undefined ? "" : ` at ${label(history, where)}`}:`,
        detail: event.data.summary,
        outcome: "Resolved.",
      };
    }
    case "ReferralRequested": {
      const policy = trackOf(history)?.[event.data.kind];
      const confirmed = event.data.attestations.map(
        (id) => policy?.attestations.find((a) => a.id === id)?.text ?? id,
      );
      const detail = [event.data.rationale, ...confirmed.map((text) => `Confirmed: ${text}`)].join("\n");
      return {
        action: `${capitalise(raiser)} asked for a ${referralTitle(event.data.kind)}${policy === undefined ? "" : ` to ${policy.recipient.title}`}. Rationale:`,
        detail,
        outcome:
          event.data.approvalsNeeded.length === 0
            ? "No approval is needed: the referral is made."
            : `Awaiting approval by the ${listInWords(event.data.approvalsNeeded.map((r) => r.title))}.`,
      };
    }
    case "ReferralApproved": {
      const approver =
        history.approvers.get(event.data.kind)?.find((r) => r.role === event.data.approverRole)?.title ??
        event.data.approverRole;
      return {
        action: `${capitalise(personAndTitle(history.names, event.actor.id, approver))}${event.data.asCover === true ? " (as named cover)" : ""} approved the ${referralTitle(event.data.kind)}.`,
        ...(event.data.comment === undefined ? {} : { detail: event.data.comment }),
        outcome:
          next?.type === "ReferralMade"
            ? "Every approval is in: the referral is made."
            : "Further approval is awaited.",
      };
    }
    case "ReferralMade": {
      const policy = trackOf(history)?.[event.data.kind];
      const documents =
        event.data.documents.length === 0
          ? undefined
          : `Documents to accompany the referral:\n${event.data.documents.map((d) => `- ${d}`).join("\n")}`;
      return {
        action: `The ${referralTitle(event.data.kind)} was made to ${event.data.recipient.title}.`,
        ...(documents === undefined ? {} : { detail: documents }),
        outcome:
          policy?.concurrentWithEscalation === false
            ? "The referral is made instead of continuing the escalation."
            : "The challenge continues alongside the referral.",
      };
    }
    case "ActionCompleted":
    case "ActionMissed": {
      const done = event.type === "ActionCompleted";
      const action = history.plan?.actions.find((a) => a.id === event.data.actionId);
      const what =
        action === undefined
          ? `An agreed action (${event.data.actionId})`
          : `The agreed action "${action.action}" (by ${action.byWhom}, by ${day(action.byWhen)})`;
      const stillOpen = (history.plan?.actions ?? []).filter(
        (a) => a.status === "open" && a.id !== event.data.actionId,
      );
      const reopenStage =
        history.plan === null
          ? undefined
          : findStage(history.protocol, history.track, history.plan.stageId)?.stage;
      const reopenAt = reopenStage?.reopenAtStageId ?? history.plan?.stageId;
      return {
        action: `${what} was recorded as ${done ? "done" : "not done"} by ${roleOf(history, event.actor, history.plan?.stageId ?? null)}.`,
        ...(event.data.note === undefined ? {} : { detail: event.data.note }),
        outcome: done
          ? stillOpen.length === 0
            ? "Every agreed action is now recorded."
            : `${stillOpen.length} agreed ${stillOpen.length === 1 ? "action is" : "actions are"} still open.`
          : `${capitalise(raiser)} may reopen the challenge${reopenAt === undefined ? "" : ` at ${label(history, reopenAt)}`}.`,
      };
    }
    case "ActionsFellDue": {
      const due = event.data.actionIds.map((id) => history.plan?.actions.find((a) => a.id === id));
      const n = due.length;
      return {
        action: `The date agreed for ${n === 1 ? "an action" : `${n} actions`} passed without ${n === 1 ? "it" : "them"} being recorded as done or not done:`,
        detail: due
          .map((a, i) =>
            a === undefined
              ? `${i + 1}. An agreed action (${event.data.actionIds[i] ?? ""})`
              : `${i + 1}. ${a.action} (by ${a.byWhom}, by ${day(a.byWhen)})`,
          )
          .join("\n"),
        outcome: `${capitalise(raiser)} was asked to record whether ${n === 1 ? "it was" : "they were"} done.`,
      };
    }
    case "Reopened":
      return {
        action: `${capitalise(raiser)} reopened the challenge. Reason:`,
        detail: event.data.reason,
        outcome: `Reopened at ${label(history, event.data.atStageId)}.`,
      };
    case "DifferenceNoted":
      return {
        action: `${capitalise(raiser)} maintains their position; the difference was noted:`,
        detail: event.data.summary,
        outcome: `The ${event.data.decidedBy.title} decides whether to uphold the difference.`,
      };
    case "DecisionRequested":
      return {
        action: `The ${event.data.decidedBy.title} was asked to decide.`,
        detail: `"${event.data.citation}"`,
        outcome: `Decision due by ${due(event.data.dueBy, event.at)}.`,
      };
    case "DecisionRecorded":
      return {
        action: `${capitalise(roleOf(history, event.actor, null))} decided as the ${event.data.decidedBy.title}${event.data.asCover === true ? " (as named cover)" : ""}:`,
        detail: event.data.reasons,
        outcome: event.data.upheld ? "Upheld." : "Not upheld.",
      };
    case "Withdrawn":
      return {
        action: `${capitalise(raiser)} withdrew the challenge. Reason:`,
        detail: event.data.reason,
        outcome: "Withdrawn.",
      };
    case "Closed":
      return {
        action: `${capitalise(roleOf(history, event.actor, null))} closed the challenge:`,
        detail: event.data.summary,
        outcome: "Closed.",
      };
    case "LegalHoldPlaced":
    case "LegalHoldLifted":
      return {
        action: `${capitalise(roleOf(history, event.actor, null))} ${event.type === "LegalHoldPlaced" ? "placed a legal hold on" : "lifted the legal hold on"} this record:`,
        detail: event.data.reason,
        outcome:
          event.type === "LegalHoldPlaced"
            ? "The record will not be deleted at the end of its retention period while the hold lasts."
            : "The record is kept to the end of its retention period, then deleted.",
      };
    case "NotificationUndeliverable":
      return {
        action: `An email about this challenge to ${undeliveredTo(history, event.data)} ${UNDELIVERABLE_WORDS[event.data.reason]}.`,
        outcome: "They may not know that the challenge is waiting for them.",
      };
  }
}
