import type { CommandOf } from "./commands.js";
import {
  accept,
  day,
  isRaiser,
  isTimer,
  raiserTitle,
  refuse,
  stageById,
  when,
  wrongStatus,
} from "./decision.js";
import type { DecideResult, Scope } from "./decision.js";
import { addresseeOf } from "./ladder.js";
import { actionDatePassed } from "./reminders.js";

/** Monitoring an agreed action plan: actions falling due, and recording whether each was done. */

export function recordActionsDue(scope: Scope, command: CommandOf<"RecordActionsDue">): DecideResult {
  if (!isTimer(command)) {
    return refuse(
      "NOT_PERMITTED",
      "actions are recorded as fallen due by the workflow's timer only; to say whether an action was done, record it as done or not done",
    );
  }
  const { state, ctx } = scope;
  if (state.status !== "monitoring") {
    return wrongStatus(scope, "nothing to do: actions fall due only while an action plan is being monitored");
  }
  const plan = state.actionPlan;
  if (plan === null) {
    return refuse("UNKNOWN_ACTION", "no action plan has been agreed for this challenge");
  }
  const today = ctx.calendar.londonDate(ctx.now);
  const seen = new Set<string>();
  for (const actionId of command.actionIds) {
    if (seen.has(actionId)) {
      return refuse("INVALID_COMMAND", `the action "${actionId}" is listed more than once`);
    }
    seen.add(actionId);
    const action = plan.actions.find((a) => a.id === actionId);
    if (action === undefined) {
      return refuse(
        "UNKNOWN_ACTION",
        `there is no action "${actionId}" in the action plan agreed for this challenge`,
      );
    }
    if (action.status !== "open") {
      return refuse(
        "WRONG_STATUS",
        `nothing to do: the action "${action.action}" was already recorded as ${action.status === "completed" ? "done" : "not done"}`,
      );
    }
    if (action.dueNotifiedAt !== undefined) {
      return refuse(
        "WRONG_STATUS",
        `nothing to do: the ${raiserTitle(scope.protocol, scope.form.raiserRole)} was already asked on ${when(action.dueNotifiedAt)} whether the action "${action.action}" was done`,
      );
    }
    if (!actionDatePassed(action.byWhen, ctx.now, ctx.calendar)) {
      return refuse(
        "DEADLINE_NOT_PASSED",
        `the action "${action.action}" is due by ${day(action.byWhen)}: it falls due once that day has passed, and today is ${day(today)}`,
      );
    }
  }
  return accept([scope.emit("ActionsFellDue", { actionIds: command.actionIds })]);
}

export function recordAction(
  scope: Scope,
  command: CommandOf<"CompleteAction"> | CommandOf<"MissAction">,
): DecideResult {
  const { state } = scope;
  if (state.status === "withdrawn" || state.status === "closed") {
    return wrongStatus(scope, "actions can no longer be recorded");
  }
  const plan = state.actionPlan;
  const action = plan?.actions.find((a) => a.id === command.actionId);
  if (plan === null || action === undefined) {
    return refuse(
      "UNKNOWN_ACTION",
      plan === null
        ? "no action plan has been agreed for this challenge"
        : `there is no action "${command.actionId}" in the action plan agreed for this challenge`,
    );
  }
  if (!isRaiser(scope, command)) {
    // The plan's stage is no longer open, so its recipient is whoever now holds that role.
    const planStage = stageById(scope.track, plan.stageId)?.stage;
    const addressee = planStage === undefined ? undefined : addresseeOf(planStage, scope.form);
    const holder =
      addressee === undefined ? undefined : scope.ctx.directory(addressee.recipient, addressee.scope);
    if (holder?.personId !== command.actor.id) {
      return refuse(
        "NOT_PERMITTED",
        `only the ${raiserTitle(scope.protocol, scope.form.raiserRole)} who raised the challenge or the ${addressee?.recipient.title ?? "manager"} who agreed the plan can record whether an action was done`,
      );
    }
  }
  if (action.status !== "open") {
    return refuse(
      "WRONG_STATUS",
      `the action "${action.action}" was already recorded as ${action.status === "completed" ? "done" : "not done"}`,
    );
  }
  if (command.type === "CompleteAction") {
    return accept([
      scope.emit("ActionCompleted", {
        actionId: action.id,
        ...(command.note === undefined ? {} : { note: command.note }),
      }),
    ]);
  }
  return accept([scope.emit("ActionMissed", { actionId: action.id, note: command.note })]);
}
