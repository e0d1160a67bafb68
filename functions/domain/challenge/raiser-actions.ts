import { decisionRequested } from "./after-ladder.js";
import type { Stage } from "../protocol.js";
import type { Command, CommandOf } from "./commands.js";
import {
  accept,
  isRaiser,
  isRefusal,
  onlyRaiser,
  raiserTitle,
  refuse,
  requireOpenStage,
  stageById,
  when,
  windowWords,
  wrongStatus,
} from "./decision.js";
import type { DecideResult, Scope } from "./decision.js";
import { checkBypass, escalationStopped, moveUp, openingOf } from "./ladder.js";
import type { OpenStage } from "./state.js";

/** The raiser's side: resolution, escalation, bypass, reopening and the end of the road. */

/** A refusal unless the command comes from the raiser or an IRO service manager, who alone may `verb`. */
function onlyRaiserOrServiceManager(scope: Scope, command: Command, verb: string): DecideResult | undefined {
  if (!isRaiser(scope, command) && command.actor.role !== "iro_service_manager") {
    return refuse(
      "NOT_PERMITTED",
      `only the ${raiserTitle(scope.protocol, scope.form.raiserRole)} who raised this challenge (or their service manager) can ${verb}`,
    );
  }
  return undefined;
}

/**
 * The open stage the raiser moves the challenge up from (escalating or bypassing), or a refusal:
 * only the raiser may `verb`, there must be an open stage, and no referral may have stopped the
 * escalation.
 */
function requireStageToMoveUp(
  scope: Scope,
  command: Command,
  verb: string,
  what: string,
): { open: OpenStage; stage: Stage; index: number } | DecideResult {
  if (!isRaiser(scope, command)) return onlyRaiser(scope, verb);
  const found = requireOpenStage(scope, what);
  if (isRefusal(found)) return found;
  const stopped = escalationStopped(scope);
  if (stopped !== undefined) return stopped;
  return found;
}

export function markResolved(scope: Scope, command: CommandOf<"MarkResolved">): DecideResult {
  const refused = onlyRaiserOrServiceManager(scope, command, "mark it resolved");
  if (refused !== undefined) return refused;
  const { status, currentStage } = scope.state;
  if (status !== "open" && status !== "monitoring" && status !== "ladder_exhausted") {
    return wrongStatus(scope, "this challenge cannot be marked resolved");
  }
  return accept([
    scope.emit("Resolved", { stageId: currentStage?.stageId ?? null, summary: command.summary }),
  ]);
}

export function escalate(scope: Scope, command: CommandOf<"Escalate">): DecideResult {
  const found = requireStageToMoveUp(scope, command, "escalate it", "escalate from");
  if (isRefusal(found)) return found;
  return moveUp(scope, found.open, found.index + 1, "requested", command.reasons);
}

export function bypass(scope: Scope, command: CommandOf<"Bypass">): DecideResult {
  const found = requireStageToMoveUp(scope, command, "move it past a stage", "bypass from");
  if (isRefusal(found)) return found;
  const target = stageById(scope.track, command.toStageId);
  if (target === undefined) {
    return refuse(
      "UNKNOWN_STAGE",
      `there is no stage "${command.toStageId}" on the ${scope.track.track} ladder of this protocol (its stages are ${scope.track.stages.map((s) => s.id).join(", ")})`,
    );
  }
  if (target.index <= found.index) {
    return refuse(
      "NOT_A_BYPASS",
      `${target.stage.label} is not later than the current stage (${found.stage.label}): a bypass moves the challenge up the ladder`,
    );
  }
  if (target.index === found.index + 1) {
    return refuse(
      "NOT_A_BYPASS",
      `${target.stage.label} is the next stage after ${found.stage.label}, so no stage is skipped: escalate with your reasons instead`,
    );
  }
  const safeguardingConcern = command.safeguardingConcern ?? scope.state.safeguardingConcern;
  const refused = checkBypass(scope.protocol, scope.track, scope.form.raiserRole, target.stage, {
    safeguardingConcern,
    immediateRisk: scope.form.immediateRisk,
  });
  if (refused !== undefined) return refused;
  return moveUp(scope, found.open, target.index, "bypass", command.rationale, safeguardingConcern);
}

/**
 * Shortens the open stage's window for this challenge, with a reason (000 §2.4: "The age of the
 * child and the nature of the concern may require that a response is required more quickly."). The
 * new window counts from when the stage opened; it must end before the current deadline and after
 * now. The recipient is emailed the new deadline and the workflow's wait is moved to it.
 */
export function shortenDeadline(scope: Scope, command: CommandOf<"ShortenDeadline">): DecideResult {
  const refused = onlyRaiserOrServiceManager(scope, command, "shorten a stage's window");
  if (refused !== undefined) return refused;
  const found = requireOpenStage(scope, "shorten the window of");
  if (isRefusal(found)) return found;
  const { open, stage } = found;
  if (open.stageId !== command.stageId) {
    return refuse(
      "WRONG_STATUS",
      `nothing to do: stage "${command.stageId}" is not open (the challenge is at ${stage.label})`,
    );
  }
  const now = scope.ctx.now.getTime();
  if (now >= Date.parse(open.deadline)) {
    return refuse(
      "WRONG_STATUS",
      `the deadline for ${stage.label}, ${when(open.deadline)}, has already passed: escalate with your reasons instead`,
    );
  }
  const deadline = scope.ctx.calendar.windowEnd(new Date(open.openedAt), command.window);
  if (deadline.getTime() >= Date.parse(open.deadline)) {
    return refuse(
      "INVALID_COMMAND",
      `a window of ${windowWords(command.window)} from ${when(open.openedAt)} ends on ${when(deadline.toISOString())}, which is not earlier than the current deadline, ${when(open.deadline)}`,
    );
  }
  if (deadline.getTime() <= now) {
    return refuse(
      "INVALID_COMMAND",
      `a window of ${windowWords(command.window)} from ${when(open.openedAt)} ended on ${when(deadline.toISOString())}, which has passed: choose a window that ends later than now, or escalate with your reasons`,
    );
  }
  return accept([
    scope.emit("DeadlineShortened", {
      stageId: open.stageId,
      deadline: deadline.toISOString(),
      previousDeadline: open.deadline,
      window: command.window,
      reason: command.reason,
    }),
  ]);
}

export function reopen(scope: Scope, command: CommandOf<"Reopen">): DecideResult {
  if (!isRaiser(scope, command)) return onlyRaiser(scope, "reopen it");
  const { state, track } = scope;
  if (state.status !== "monitoring" && state.status !== "resolved") {
    return wrongStatus(scope, "only a challenge being monitored or resolved can be reopened");
  }
  if (state.lastExitedStageId === null) {
    return wrongStatus(scope, "there is no stage to go back to");
  }
  const last = stageById(track, state.lastExitedStageId);
  if (last === undefined) {
    return refuse(
      "UNKNOWN_STAGE",
      `the stage last exited ("${state.lastExitedStageId}") is no longer on the ${track.track} ladder of this protocol`,
    );
  }
  const target = stageById(track, last.stage.reopenAtStageId ?? last.stage.id);
  if (target === undefined) {
    return refuse("UNKNOWN_STAGE", `${last.stage.label} reopens at a stage that is not on the ladder`);
  }
  const opening = openingOf(track, scope.form, scope.ctx, target.index, "reopened", scope.at);
  if (isRefusal(opening)) return opening;
  return accept([
    scope.emit("Reopened", {
      atStageId: target.stage.id,
      reason: command.reason,
      fromStatus: state.status,
    }),
    scope.emit("StageOpened", opening),
  ]);
}

// ---------------------------------------------------------------------------------------------
// The end of the road

export function noteDifference(scope: Scope, command: CommandOf<"NoteDifference">): DecideResult {
  if (!isRaiser(scope, command)) return onlyRaiser(scope, "note a difference");
  const difference = scope.track.difference;
  if (difference === undefined) {
    return refuse(
      "NOT_PERMITTED",
      `the ${scope.track.track} process in this protocol has no step for noting a difference after the last stage`,
    );
  }
  if (scope.state.status !== "ladder_exhausted") {
    return wrongStatus(
      scope,
      `a difference is noted only once every stage has been tried without resolution ("${difference.citation}")`,
    );
  }
  if (scope.state.pendingDecision !== undefined) {
    return wrongStatus(
      scope,
      `the ${scope.state.pendingDecision.decidedBy.title}'s decision on the difference already noted is awaited by ${when(scope.state.pendingDecision.dueBy)}`,
    );
  }
  // Emitted in order: an envelope's seq follows the order of emit calls.
  const noted = scope.emit("DifferenceNoted", { summary: command.summary, decidedBy: difference.decidedBy });
  const requested = decisionRequested(scope, "difference", difference);
  if (isRefusal(requested)) return requested;
  return accept([noted, requested]);
}

export function withdraw(scope: Scope, command: CommandOf<"Withdraw">): DecideResult {
  if (!isRaiser(scope, command)) return onlyRaiser(scope, "withdraw it");
  const { status } = scope.state;
  if (status === "resolved" || status === "withdrawn" || status === "closed") {
    return wrongStatus(scope, "it cannot be withdrawn");
  }
  return accept([scope.emit("Withdrawn", { reason: command.reason })]);
}

export function close(scope: Scope, command: CommandOf<"Close">): DecideResult {
  const refused = onlyRaiserOrServiceManager(scope, command, "close it");
  if (refused !== undefined) return refused;
  const { status, actionPlan } = scope.state;
  if (status === "monitoring") {
    const open = actionPlan?.actions.filter((a) => a.status === "open") ?? [];
    if (open.length > 0) {
      return refuse(
        "WRONG_STATUS",
        `${open.length} agreed ${open.length === 1 ? "action is" : "actions are"} still open: record whether ${open.length === 1 ? "it was" : "they were"} done before closing`,
      );
    }
  } else if (status !== "resolved" && status !== "ladder_exhausted") {
    return wrongStatus(scope, "it cannot be closed yet");
  }
  return accept([scope.emit("Closed", { summary: command.summary })]);
}
