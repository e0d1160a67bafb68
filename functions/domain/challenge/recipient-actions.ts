import type { Stage } from "../protocol.js";
import type { Command, CommandOf } from "./commands.js";
import { accept, day, isRaiser, isRefusal, raiserTitle, refuse, requireOpenStage } from "./decision.js";
import type { DecideResult, Scope } from "./decision.js";
import type { Assignee } from "./events.js";
import type { OpenStage } from "./state.js";

/** The recipient's side of an open stage: acknowledging, responding, meetings and action plans. */

/** Everyone the open stage is addressed to: its assignee and any co-equal recipients (003 stage 3). */
export function stageRecipients(open: OpenStage): readonly Assignee[] {
  return [open.assignee, ...open.coAssignees];
}

/** Whether the person is one of the open stage's recipients. */
export function isStageRecipient(open: OpenStage, personId: string): boolean {
  return stageRecipients(open).some((r) => r.personId === personId);
}

/** The recipients' titles in words: "Head of Service (A&I) or Head of Service (CPRU)". */
function recipientTitles(open: OpenStage): string {
  return stageRecipients(open)
    .map((r) => r.title)
    .join(" or ");
}

/**
 * Whether the person has acknowledged the open stage. A snapshot from before acknowledgements were
 * kept per person says only that someone did: it counts for everyone, so nothing is recorded twice.
 */
export function hasAcknowledged(open: OpenStage, personId: string): boolean {
  if (open.acknowledgements === undefined) return open.acknowledgedAt !== undefined;
  return open.acknowledgements.some((a) => a.personId === personId);
}

export function acknowledge(scope: Scope, command: CommandOf<"Acknowledge">): DecideResult {
  const found = requireOpenStage(scope, "acknowledge");
  if (isRefusal(found)) return found;
  const { open, stage } = found;
  if (!isStageRecipient(open, command.actor.id)) {
    return refuse(
      "NOT_RECIPIENT",
      `only the current recipient (${recipientTitles(open)}) can acknowledge ${stage.label}`,
    );
  }
  // Each recipient acknowledges their own notification, once: a second acknowledgement (a double
  // click, the link after an email reply) is accepted and records nothing new.
  if (hasAcknowledged(open, command.actor.id)) return accept([]);
  return accept([scope.emit("StageAcknowledged", { stageId: open.stageId })]);
}

export function respond(scope: Scope, command: CommandOf<"Respond">): DecideResult {
  const found = requireOpenStage(scope, "respond to");
  if (isRefusal(found)) return found;
  const { open } = found;
  if (!isStageRecipient(open, command.actor.id)) {
    return refuse(
      "NOT_RECIPIENT",
      `only the current recipient (${recipientTitles(open)}) can respond to this stage`,
    );
  }
  return accept([scope.emit("ResponseRecorded", { stageId: open.stageId, response: command.response })]);
}

function isAssigneeOrRaiser(scope: Scope, command: Command, open: OpenStage): boolean {
  return isStageRecipient(open, command.actor.id) || isRaiser(scope, command);
}

/**
 * The open stage, when the command comes from its recipient or the raiser; else a refusal saying
 * only they can `record` (e.g. "record a meeting for") the stage.
 */
function requireStageForAssigneeOrRaiser(
  scope: Scope,
  command: Command,
  what: string,
  record: string,
): { open: OpenStage; stage: Stage } | DecideResult {
  const found = requireOpenStage(scope, what);
  if (isRefusal(found)) return found;
  const { open, stage } = found;
  if (!isAssigneeOrRaiser(scope, command, open)) {
    return refuse(
      "NOT_PERMITTED",
      `only the current recipient (${recipientTitles(open)}) or the ${raiserTitle(scope.protocol, scope.form.raiserRole)} who raised the challenge can ${record} ${stage.label}`,
    );
  }
  return { open, stage };
}

export function recordMeeting(scope: Scope, command: CommandOf<"RecordMeeting">): DecideResult {
  const found = requireStageForAssigneeOrRaiser(
    scope,
    command,
    "record a meeting for",
    "record a meeting for",
  );
  if (isRefusal(found)) return found;
  const { open } = found;
  const today = scope.ctx.calendar.londonDate(scope.ctx.now);
  if (command.heldOn > today) {
    return refuse(
      "INVALID_COMMAND",
      `a meeting is recorded once it has taken place: ${day(command.heldOn)} is after today (${day(today)})`,
    );
  }
  return accept([
    scope.emit("MeetingRecorded", {
      stageId: open.stageId,
      heldOn: command.heldOn,
      attendees: command.attendees,
      summary: command.summary,
    }),
  ]);
}

export function agreeActionPlan(scope: Scope, command: CommandOf<"AgreeActionPlan">): DecideResult {
  const found = requireStageForAssigneeOrRaiser(
    scope,
    command,
    "agree an action plan at",
    "record the action plan agreed at",
  );
  if (isRefusal(found)) return found;
  const { open } = found;
  const actions = command.actions.map((a) => ({ id: scope.ctx.newId(), ...a }));
  return accept([scope.emit("ActionPlanAgreed", { stageId: open.stageId, actions })]);
}
