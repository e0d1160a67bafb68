import type { Stage } from "../protocol.js";
import type { CommandOf } from "./commands.js";
import {
  accept,
  isRefusal,
  isTimer,
  openStageName,
  refuse,
  requireOpenStage,
  when,
  wrongStatus,
} from "./decision.js";
import type { DecideResult, Scope } from "./decision.js";
import { escalationStopped, moveUp } from "./ladder.js";
import { reminderTime } from "./reminders.js";
import type { OpenStage } from "./state.js";

/** The workflow timer's commands on an open stage: escalating when nobody responded, and reminders before a deadline. */

/**
 * The open stage a timer command is about, or a refusal saying there is nothing to do: the timer
 * fired for stage `stageId`, but the challenge may have moved on since.
 */
function requireTimedStage(
  scope: Scope,
  stageId: string,
  what: string,
): { open: OpenStage; stage: Stage; index: number } | DecideResult {
  const open = scope.state.currentStage;
  if (scope.state.status !== "open" || open === null) {
    return wrongStatus(scope, `nothing to do: stage "${stageId}" is no longer open`);
  }
  if (open.stageId !== stageId) {
    return refuse(
      "WRONG_STATUS",
      `nothing to do: stage "${stageId}" is no longer open (the challenge is now at ${openStageName(scope, open)})`,
    );
  }
  return requireOpenStage(scope, what);
}

export function autoEscalate(scope: Scope, command: CommandOf<"AutoEscalate">): DecideResult {
  if (!isTimer(command)) {
    return refuse(
      "NOT_PERMITTED",
      "automatic escalation is made by the workflow's timer only; to escalate yourself, give your reasons with an escalation",
    );
  }
  const found = requireTimedStage(scope, command.stageId, "escalate from");
  if (isRefusal(found)) return found;
  const { open, stage, index } = found;
  if (scope.ctx.now.getTime() < new Date(open.deadline).getTime()) {
    return refuse(
      "DEADLINE_NOT_PASSED",
      `the ${open.assignee.title} has until ${when(open.deadline)} to respond to ${stage.label}; it escalates automatically only after that`,
    );
  }
  const lastResponse = open.responses.at(-1);
  if (lastResponse !== undefined) {
    return refuse(
      "WRONG_STATUS",
      `nothing to do: the ${open.assignee.title} responded on ${when(lastResponse.at)}, so whether to escalate is the raiser's decision`,
    );
  }
  const stopped = escalationStopped(scope);
  if (stopped !== undefined) return stopped;
  if (stage.onNoResponse === "alert_raiser") {
    if (open.raiserAlertedAt !== undefined) {
      return refuse(
        "WRONG_STATUS",
        `nothing to do: the raiser was already told on ${when(open.raiserAlertedAt)} that ${stage.label} had no response`,
      );
    }
    return accept([scope.emit("RaiserAlerted", { stageId: open.stageId, reason: "no_response" })]);
  }
  return moveUp(
    scope,
    open,
    index + 1,
    "no_response",
    `No response from the ${open.assignee.title} to ${stage.label} by the deadline, ${when(open.deadline)}`,
  );
}

export function sendReminder(scope: Scope, command: CommandOf<"SendReminder">): DecideResult {
  if (!isTimer(command)) {
    return refuse("NOT_PERMITTED", "reminders before a deadline are sent by the workflow's timer only");
  }
  const found = requireTimedStage(scope, command.stageId, "send a reminder about");
  if (isRefusal(found)) return found;
  const { open, stage } = found;
  const days = scope.protocol.reminderWorkingDaysBeforeDeadline;
  const remindAt = reminderTime(open.deadline, scope.protocol, scope.ctx.calendar);
  if (remindAt === undefined) {
    return refuse(
      "NOT_PERMITTED",
      `this protocol (${scope.protocol.name}) sends no reminders before a deadline`,
    );
  }
  const lastResponse = open.responses.at(-1);
  if (lastResponse !== undefined) {
    return refuse(
      "WRONG_STATUS",
      `nothing to do: the ${open.assignee.title} responded to ${stage.label} on ${when(lastResponse.at)}`,
    );
  }
  if (open.remindedAt !== undefined) {
    return refuse(
      "WRONG_STATUS",
      `nothing to do: the ${open.assignee.title} was already reminded about ${stage.label} on ${when(open.remindedAt)}`,
    );
  }
  const remindAtIso = remindAt.toISOString();
  if (remindAt.getTime() <= Date.parse(open.openedAt)) {
    return refuse(
      "WRONG_STATUS",
      `nothing to do: ${stage.label} opened on ${when(open.openedAt)}, after its reminder time (${when(remindAtIso)}), so the email that opened it is the reminder`,
    );
  }
  const now = scope.ctx.now.getTime();
  if (now < remindAt.getTime()) {
    return refuse(
      "DEADLINE_NOT_PASSED",
      `the ${open.assignee.title} is reminded about ${stage.label} at ${when(remindAtIso)}, ${days} working ${days === 1 ? "day" : "days"} before the deadline (${when(open.deadline)}), and not before`,
    );
  }
  if (now >= Date.parse(open.deadline)) {
    return refuse(
      "WRONG_STATUS",
      `too late for a reminder: the deadline for ${stage.label}, ${when(open.deadline)}, has passed, so the protocol's no-response rule applies instead`,
    );
  }
  return accept([scope.emit("ReminderSent", { stageId: open.stageId, deadline: open.deadline })]);
}
