import type { Actor } from "../domain/challenge/actor.js";
import type { ChallengeEvent, EventOf, SmartAction } from "../domain/challenge/events.js";
import type { ChallengeState } from "../domain/challenge/state.js";
import { timedOutWords } from "../domain/challenge/timer.js";
import type { Protocol, Recipient, Stage, TrackProtocol } from "../domain/protocol.js";
import {
  type PersonNames,
  actorTitle,
  findStage,
  formatDay,
  formatDeadline,
  listInWords,
  personAndTitle,
  referralTitle,
} from "./words.js";

/**
 * Case notes: one for every event of a challenge, for the child's file in the case-record system.
 *
 * - Titled in the protocol's own words: the `caseNoteTitle` of the stage the event belongs to (e.g.
 *   "Case note-record sheet entry- IRO CP formal resolution stage 2- Service Manager"). An event
 *   with no stage of its own (a referral, a withdrawal, a difference noted after the last stage)
 *   belongs to the stage open or last left at the time; an escalation belongs to the stage it left,
 *   whose outcome it is, and the next stage's note is the StageOpened that follows.
 * - Where the stage lists what its note must include (`caseNoteIncludes`, e.g. 000's "query,
 *   action, outcome"), the note has exactly those headings, in that order. A heading this service
 *   has nothing for says so rather than being dropped.
 * - The body is plain words. It carries no more personal data than the challenge record already
 *   holds, and less: never the child's name or date of birth (the note is filed on the child's own
 *   record), never email addresses or staff ids; people appear by the role the protocol gives them.
 *   The professionals' own words (worries, responses, reasons, summaries, agreed actions) are
 *   quoted, because recording them is what the protocols ask the note for.
 *
 * Pure: no clock, no AWS.
 */

export interface CaseNoteSection {
  readonly heading: string;
  readonly text: string;
}

export interface CaseNote {
  readonly challengeId: string;
  readonly seq: number;
  readonly at: string;
  readonly eventType: ChallengeEvent["type"];
  /** The stage the note is filed under; null only when the protocol has no stage for it. */
  readonly stageId: string | null;
  readonly title: string;
  /** The protocol's headings with their text, when the stage lists them (`caseNoteIncludes`). */
  readonly sections?: readonly CaseNoteSection[];
  /** The whole note as plain text (the sections, headed, when there are any). */
  readonly body: string;
}

/** What one event says, before it is laid out under headings or as paragraphs. */
interface Parts {
  /** What happened, in a sentence. */
  readonly action: string;
  /** The professionals' own words, quoted after the action (optional). */
  readonly detail?: string;
  /** Where that leaves the challenge. */
  readonly outcome: string;
}

interface Walk {
  readonly protocol: Protocol;
  readonly track: TrackProtocol;
  readonly state: ChallengeState;
  readonly raiserTitle: string;
  readonly opened: Map<string, EventOf<"StageOpened">["data"]>;
  readonly approvers: Map<string, readonly Recipient[]>;
  currentStageId: string | null;
  lastStageId: string | null;
  plan: { stageId: string; actions: (SmartAction & { status: "open" | "done" | "not done" })[] } | null;
  readonly names: PersonNames | undefined;
}

const NOTHING_RECORDED = "Not recorded by this service.";

export function caseNotesFor(
  state: ChallengeState,
  events: readonly ChallengeEvent[],
  protocol: Protocol,
  /** Names from the tenant's directory, resolved now; without it notes name roles only. */
  names?: PersonNames,
): CaseNote[] {
  if (state.status !== "none" && state.protocolId !== protocol.id) {
    throw new Error(
      `challenge ${state.challengeId} runs under protocol "${state.protocolId}", not "${protocol.id}"`,
    );
  }
  const track = protocol.tracks[state.track];
  if (track === undefined) {
    throw new Error(
      `protocol "${protocol.id}" has no ${state.track} process for challenge ${state.challengeId}`,
    );
  }
  const walk: Walk = {
    protocol,
    track,
    state,
    raiserTitle: protocol.raiserTitles[state.form.raiserRole],
    opened: new Map(),
    approvers: new Map(),
    currentStageId: null,
    lastStageId: null,
    plan: null,
    names,
  };

  const sorted = [...events].sort((a, b) => a.seq - b.seq);
  return sorted.map((event, index) => {
    const stageId = stageOf(walk, event, sorted[index + 1]);
    const parts = { ...partsOf(walk, event, sorted[index + 1]), query: query(walk, event) };
    advance(walk, event);
    const stage = stageId === null ? undefined : findStage(protocol, state.track, stageId)?.stage;
    return layOut(event, stageId, stage, protocol, parts);
  });
}

/** The stage an event's note is filed under (see the module comment). */
function stageOf(walk: Walk, event: ChallengeEvent, next: ChallengeEvent | undefined): string | null {
  const fallback = walk.currentStageId ?? walk.lastStageId;
  switch (event.type) {
    case "ChallengeRaised":
      return next?.type === "StageOpened" ? next.data.stageId : (walk.track.stages[0]?.id ?? null);
    case "StageOpened":
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
      return event.data.stageId ?? walk.plan?.stageId ?? fallback;
    case "Reopened":
      return event.data.atStageId;
    case "ActionCompleted":
    case "ActionMissed":
    case "ActionsFellDue":
      return walk.plan?.stageId ?? fallback;
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
      return fallback;
  }
}

/** Moves the walk past an event: which stage is open, what the plan holds. */
function advance(walk: Walk, event: ChallengeEvent): void {
  switch (event.type) {
    case "StageOpened":
      walk.opened.set(event.data.stageId, event.data);
      walk.currentStageId = event.data.stageId;
      return;
    case "ActionPlanAgreed":
      walk.plan = {
        stageId: event.data.stageId,
        actions: event.data.actions.map((a) => ({ ...a, status: "open" as const })),
      };
      leave(walk);
      return;
    case "Escalated":
    case "Resolved":
    case "Withdrawn":
    case "Closed":
      leave(walk);
      return;
    case "ActionCompleted":
    case "ActionMissed": {
      const action = walk.plan?.actions.find((a) => a.id === event.data.actionId);
      if (action !== undefined) action.status = event.type === "ActionCompleted" ? "done" : "not done";
      return;
    }
    case "ReferralRequested":
      walk.approvers.set(event.data.kind, event.data.approvalsNeeded);
      return;
    default:
      return;
  }
}

function leave(walk: Walk): void {
  if (walk.currentStageId !== null) walk.lastStageId = walk.currentStageId;
  walk.currentStageId = null;
}

function label(walk: Walk, stageId: string): string {
  return findStage(walk.protocol, walk.state.track, stageId)?.stage.label ?? stageId;
}

/** The person's role: the stage's addressee when it is them, else what the protocol calls the actor. */
function roleOf(walk: Walk, actor: Actor, stageId: string | null): string {
  const opened = stageId === null ? undefined : walk.opened.get(stageId);
  const recipient =
    opened === undefined
      ? undefined
      : [opened.assignee, ...(opened.coAssignees ?? [])].find((a) => a.personId === actor.id);
  if (recipient !== undefined) return personAndTitle(walk.names, actor.id, recipient.title);
  if (actor.id === walk.state.raiser.id) return personAndTitle(walk.names, actor.id, walk.raiserTitle);
  const title = actorTitle(walk.protocol, actor);
  if (actor.role === "system") return title;
  return personAndTitle(walk.names, actor.id, title.replace(/^the /, ""));
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function query(walk: Walk, event: ChallengeEvent): string {
  const form = walk.state.form;
  if (event.type === "ChallengeRaised") {
    const lines = [event.data.form.worries, `What needs to happen: ${event.data.form.whatNeedsToHappen}`];
    return lines.join("\n");
  }
  const themes = form.themes.map((id) => walk.protocol.themes.find((t) => t.id === id)?.label ?? id);
  const about = themes.length === 0 ? "" : ` about: ${listInWords(themes)}`;
  return `The challenge raised by the ${walk.raiserTitle} on ${formatDay(walk.state.raisedAt)}${about}.`;
}

function partsOf(walk: Walk, event: ChallengeEvent, next: ChallengeEvent | undefined): Parts {
  const raiser = `the ${walk.raiserTitle}`;
  switch (event.type) {
    case "ChallengeRaised": {
      const plan = walk.state.track === "CP" ? "child protection plan" : "care plan";
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
            : `Sent to ${label(walk, opened.stageId)} (the ${opened.assignee.title}); a response is due by ${formatDeadline(opened.deadline, event.at)}.`,
      };
    }
    case "StageOpened": {
      const d = event.data;
      const stage = findStage(walk.protocol, walk.state.track, d.stageId)?.stage;
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
        action: `${label(walk, d.stageId)}${stage === undefined ? "" : ` (${stage.title})`} opened${how}: the challenge was sent to the ${d.assignee.title}${copied}.`,
        outcome: `A response is due by ${formatDeadline(d.deadline, event.at)}.${meeting}`,
      };
    }
    case "StageAcknowledged": {
      const opened = walk.opened.get(event.data.stageId);
      return {
        action: `${capitalise(roleOf(walk, event.actor, event.data.stageId))} acknowledged the challenge${event.channel === "link" ? " from the link in the email" : ""}.`,
        outcome:
          opened === undefined
            ? "Awaiting a response."
            : `Awaiting a response, due by ${formatDeadline(opened.deadline, event.at)}.`,
      };
    }
    case "ResponseRecorded":
      return {
        action: `${capitalise(roleOf(walk, event.actor, event.data.stageId))} responded at ${label(walk, event.data.stageId)}:`,
        detail: event.data.response,
        outcome: `For ${raiser} to consider: mark it resolved, agree an action plan, or escalate.`,
      };
    case "MeetingRecorded":
      return {
        action: `A meeting was held on ${formatDay(event.data.heldOn)} at ${label(walk, event.data.stageId)}. Attendees: ${listInWords(event.data.attendees)}.`,
        detail: event.data.summary,
        outcome: `Recorded by ${roleOf(walk, event.actor, event.data.stageId)}; the challenge remains at ${label(walk, event.data.stageId)}.`,
      };
    case "ActionPlanAgreed": {
      const stage = findStage(walk.protocol, walk.state.track, event.data.stageId)?.stage;
      const reopenAt = stage?.reopenAtStageId ?? event.data.stageId;
      return {
        action: `An action plan was agreed at ${label(walk, event.data.stageId)}:`,
        detail: event.data.actions
          .map((a, i) => `${i + 1}. ${a.action} (by ${a.byWhom}, by ${formatDay(a.byWhen)})`)
          .join("\n"),
        outcome: `${capitalise(raiser)} will track the actions; if they are not done, the challenge reopens at ${label(walk, reopenAt)}.`,
      };
    }
    case "Escalated": {
      const d = event.data;
      const from = walk.opened.get(d.fromStageId);
      const to =
        d.toStageId === null ? undefined : findStage(walk.protocol, walk.state.track, d.toStageId)?.stage;
      const guidance = walk.track.endOfLadderGuidance[walk.state.form.raiserRole];
      const outcome =
        d.toStageId === null
          ? `Every stage has now been tried without resolution.${guidance === undefined ? "" : ` ${guidance}`}`
          : `Escalated to ${label(walk, d.toStageId)}${to === undefined ? "" : ` (the ${to.recipient.title})`}.`;
      if (d.kind === "no_response" && (d.timedOut ?? "no_response") === "no_response") {
        return {
          action: `No response was received from the ${from?.assignee.title ?? "recipient"} at ${label(walk, d.fromStageId)} by the deadline${from === undefined ? "" : `, ${formatDeadline(from.deadline, event.at)}`}.`,
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
            ? `${capitalise(raiser)} moved the challenge on from ${label(walk, d.fromStageId)}, bypassing the stages in between. Rationale:`
            : `${capitalise(raiser)} was not satisfied with the outcome at ${label(walk, d.fromStageId)} and escalated the challenge. Reasons:`,
        detail: d.reasons,
        outcome,
      };
    }
    case "RaiserAlerted": {
      const opened = walk.opened.get(event.data.stageId);
      const missing =
        event.data.reason === "no_response"
          ? "No response was received from"
          : "A response but no resolution was received from";
      const decideBy = event.data.decideBy;
      return {
        action: `${missing} the ${opened?.assignee.title ?? "recipient"} at ${label(walk, event.data.stageId)} by the deadline${opened === undefined ? "" : `, ${formatDeadline(opened.deadline, event.at)}`}.`,
        outcome:
          decideBy === undefined
            ? `${capitalise(raiser)} was alerted to decide the next step.`
            : `${capitalise(raiser)} was asked to resolve the challenge or escalate it with reasons by ${formatDeadline(decideBy, event.at)}; otherwise it escalates automatically.`,
      };
    }
    case "DeadlineShortened":
      return {
        action: `${capitalise(raiser)} shortened the window at ${label(walk, event.data.stageId)}: now due by ${formatDeadline(event.data.deadline, event.at)} (was ${formatDeadline(event.data.previousDeadline, event.at)}). Reason:`,
        detail: event.data.reason,
        outcome: "Awaiting a response by the new deadline.",
      };
    case "ReminderSent": {
      const opened = walk.opened.get(event.data.stageId);
      return {
        action: `The ${opened?.assignee.title ?? "recipient"} was reminded that a response at ${label(walk, event.data.stageId)} is due by ${formatDeadline(event.data.deadline, event.at)}.`,
        outcome: "Awaiting a response.",
      };
    }
    case "Resolved": {
      const where = event.data.stageId ?? walk.plan?.stageId;
      return {
        action: `${capitalise(roleOf(walk, event.actor, null))} recorded the challenge as resolved${where === undefined ? "" : ` at ${label(walk, where)}`}:`,
        detail: event.data.summary,
        outcome: "Resolved.",
      };
    }
    case "ReferralRequested": {
      const policy = walk.track[event.data.kind];
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
        walk.approvers.get(event.data.kind)?.find((r) => r.role === event.data.approverRole)?.title ??
        event.data.approverRole;
      return {
        action: `${capitalise(personAndTitle(walk.names, event.actor.id, approver))}${event.data.asCover === true ? " (as named cover)" : ""} approved the ${referralTitle(event.data.kind)}.`,
        ...(event.data.comment === undefined ? {} : { detail: event.data.comment }),
        outcome:
          next?.type === "ReferralMade"
            ? "Every approval is in: the referral is made."
            : "Further approval is awaited.",
      };
    }
    case "ReferralMade": {
      const policy = walk.track[event.data.kind];
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
      const action = walk.plan?.actions.find((a) => a.id === event.data.actionId);
      const what =
        action === undefined
          ? `An agreed action (${event.data.actionId})`
          : `The agreed action "${action.action}" (by ${action.byWhom}, by ${formatDay(action.byWhen)})`;
      const stillOpen = (walk.plan?.actions ?? []).filter(
        (a) => a.status === "open" && a.id !== event.data.actionId,
      );
      const reopenStage =
        walk.plan === null ? undefined : findStage(walk.protocol, walk.state.track, walk.plan.stageId)?.stage;
      const reopenAt = reopenStage?.reopenAtStageId ?? walk.plan?.stageId;
      return {
        action: `${what} was recorded as ${done ? "done" : "not done"} by ${roleOf(walk, event.actor, walk.plan?.stageId ?? null)}.`,
        ...(event.data.note === undefined ? {} : { detail: event.data.note }),
        outcome: done
          ? stillOpen.length === 0
            ? "Every agreed action is now recorded."
            : `${stillOpen.length} agreed ${stillOpen.length === 1 ? "action is" : "actions are"} still open.`
          : `${capitalise(raiser)} may reopen the challenge${reopenAt === undefined ? "" : ` at ${label(walk, reopenAt)}`}.`,
      };
    }
    case "ActionsFellDue": {
      const due = event.data.actionIds.map((id) => walk.plan?.actions.find((a) => a.id === id));
      const n = due.length;
      return {
        action: `The date agreed for ${n === 1 ? "an action" : `${n} actions`} passed without ${n === 1 ? "it" : "them"} being recorded as done or not done:`,
        detail: due
          .map((a, i) =>
            a === undefined
              ? `${i + 1}. An agreed action (${event.data.actionIds[i] ?? ""})`
              : `${i + 1}. ${a.action} (by ${a.byWhom}, by ${formatDay(a.byWhen)})`,
          )
          .join("\n"),
        outcome: `${capitalise(raiser)} was asked to record whether ${n === 1 ? "it was" : "they were"} done.`,
      };
    }
    case "Reopened":
      return {
        action: `${capitalise(raiser)} reopened the challenge. Reason:`,
        detail: event.data.reason,
        outcome: `Reopened at ${label(walk, event.data.atStageId)}.`,
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
        outcome: `Decision due by ${formatDeadline(event.data.dueBy, event.at)}.`,
      };
    case "DecisionRecorded":
      return {
        action: `${capitalise(roleOf(walk, event.actor, null))} decided as the ${event.data.decidedBy.title}${event.data.asCover === true ? " (as named cover)" : ""}:`,
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
        action: `${capitalise(roleOf(walk, event.actor, null))} closed the challenge:`,
        detail: event.data.summary,
        outcome: "Closed.",
      };
    case "LegalHoldPlaced":
    case "LegalHoldLifted":
      return {
        action: `${capitalise(roleOf(walk, event.actor, null))} ${event.type === "LegalHoldPlaced" ? "placed a legal hold on" : "lifted the legal hold on"} this record:`,
        detail: event.data.reason,
        outcome:
          event.type === "LegalHoldPlaced"
            ? "The record will not be deleted at the end of its retention period while the hold lasts."
            : "The record is kept to the end of its retention period, then deleted.",
      };
  }
}

/** The text for one of the protocol's headings; headings this service knows nothing about say so. */
function sectionText(heading: string, parts: Parts & { readonly query: string }): string {
  switch (heading.trim().toLowerCase()) {
    case "query":
    case "issue":
    case "concern":
      return parts.query;
    case "action":
    case "actions":
      return parts.detail === undefined ? parts.action : `${parts.action}\n${parts.detail}`;
    case "outcome":
    case "outcomes":
      return parts.outcome;
    default:
      return NOTHING_RECORDED;
  }
}

function layOut(
  event: ChallengeEvent,
  stageId: string | null,
  stage: Stage | undefined,
  protocol: Protocol,
  parts: Parts & { readonly query: string },
): CaseNote {
  const base = {
    challengeId: event.challengeId,
    seq: event.seq,
    at: event.at,
    eventType: event.type,
    stageId,
    title: stage?.caseNoteTitle ?? `${protocol.name}: case note`,
  };
  const headings = stage?.caseNoteIncludes;
  if (headings === undefined) {
    const body = [
      parts.detail === undefined ? parts.action : `${parts.action}\n${parts.detail}`,
      parts.outcome,
    ].join("\n\n");
    return { ...base, body };
  }
  const sections = headings.map((heading) => ({
    heading,
    text: sectionText(heading, parts),
  }));
  return {
    ...base,
    sections,
    body: sections.map((s) => `${capitalise(s.heading)}:\n${s.text}`).join("\n\n"),
  };
}
