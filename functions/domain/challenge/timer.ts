import { DEFAULT_RAISER_DECISION_WINDOW } from "../protocol.js";
import type { DeadlineAction, Stage, Window } from "../protocol.js";
import type { CommandOf } from "./commands.js";
import {
  accept,
  isRefusal,
  isTimer,
  openStageName,
  raiserTitle,
  refuse,
  requireOpenStage,
  when,
  wrongStatus,
} from "./decision.js";
import type { DecideResult, Scope } from "./decision.js";
import { escalationStopped, moveUp } from "./ladder.js";
import { reminderTime } from "./reminders.js";
import type { DeadlineSituation, TimedOutBecause } from "./events.js";
import type { ChallengeState, OpenStage } from "./state.js";

/**
 * The workflow timer's commands on an open stage: the protocol's deadline rule (escalate, ask the
 * raiser to decide, or tell the raiser) and reminders before a deadline. A deadline is a
 * resolution deadline: a response that does not resolve the stage does not stop the rule.
 */

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

/**
 * A stage's deadline rule for what is missing when its deadline passes: no response at all, or a
 * response (a holding reply, say) but no resolution. A stage whose data gives no no-resolution
 * rule asks the raiser: the reading that never lets a challenge stall.
 */
export function deadlineRule(
  stage: Stage,
  situation: DeadlineSituation,
): { action: DeadlineAction; citation: string } {
  if (situation === "no_response") return { action: stage.onNoResponse, citation: stage.citation };
  return stage.onNoResolution ?? { action: "ask_raiser", citation: stage.citation };
}

/** What is missing at an open stage's deadline: a response, or (after any response) a resolution. */
export function deadlineSituation(open: OpenStage): DeadlineSituation {
  return open.responses.length === 0 ? "no_response" : "no_resolution";
}

/** How long the raiser has to decide when a stage's rule asks them: the stage's window, else 1 working day. */
export function raiserDecisionWindow(stage: Stage): Window {
  return stage.raiserDecisionWindow ?? DEFAULT_RAISER_DECISION_WINDOW;
}

/**
 * The end of the raiser's decision window, counted from the stage's deadline (the protocol's time,
 * not the machine's: a late timer must not give the raiser a longer window than the protocol does).
 * If the timer fires so late that the window has already ended, the raiser is given until the end
 * of the next working day: asked now, they must have some time to decide before it escalates.
 */
export function raiserDecisionEnd(scope: Scope, open: OpenStage, stage: Stage): Date {
  const fromDeadline = scope.ctx.calendar.windowEnd(new Date(open.deadline), raiserDecisionWindow(stage));
  if (fromDeadline.getTime() > scope.ctx.now.getTime()) return fromDeadline;
  return scope.ctx.calendar.deadlineAfter(scope.ctx.now, 1);
}

/**
 * When the timer next has something to apply to the open stage if nobody acts: its deadline; once
 * the raiser has been asked to decide, the end of their decision window; undefined when the raiser
 * was told and the protocol leaves the rest to them. `decide` (AutoEscalate) says what it then does;
 * the workflow waits for this instant.
 */
export function nextDeadlineCheck(open: OpenStage): Date | undefined {
  if (open.raiserAlertedAt === undefined) return new Date(open.deadline);
  if (open.raiserDecisionBy !== undefined) return new Date(open.raiserDecisionBy);
  return undefined;
}

/**
 * Whose move it is at an open stage, and by when: the recipient until the deadline; once the
 * deadline passed and the protocol put the next step to the raiser (RaiserAlerted), the raiser, by
 * the end of their decision window (or, told only, from the deadline). Work trays list a challenge
 * under this person. After the ladder, the person asked for a decision the protocol owes, by its
 * deadline.
 */
export function nextToAct(
  state: Pick<ChallengeState, "raiser" | "currentStage" | "status" | "pendingDecision">,
):
  | {
      readonly personId: string;
      readonly dueBy: string;
      readonly awaiting: "recipient" | "raiser_decision" | "post_ladder_decision";
    }
  | undefined {
  // After the ladder, a decision the protocol owes (000's AD, 003's partnership manager) is theirs.
  const pending = state.pendingDecision;
  if (pending !== undefined && state.status === "ladder_exhausted") {
    return { personId: pending.personId, dueBy: pending.dueBy, awaiting: "post_ladder_decision" };
  }
  const open = state.currentStage;
  if (state.status !== "open" || open === null) return undefined;
  if (open.raiserAlertedAt === undefined) {
    return { personId: open.assignee.personId, dueBy: open.deadline, awaiting: "recipient" };
  }
  return {
    personId: state.raiser.id,
    dueBy: open.raiserDecisionBy ?? open.deadline,
    awaiting: "raiser_decision",
  };
}

const TIMED_OUT_WORDS: Record<TimedOutBecause, string> = {
  no_response: "No response by the deadline",
  no_resolution: "Answered but not resolved by the deadline",
  raiser_did_not_decide: "Not resolved by the deadline, and the raiser did not decide in time",
};

/**
 * Why a stage timed out, as the start of a sentence, for timelines and case notes: "No response
 * by the deadline", "Answered but not resolved by the deadline", ... (absent: "no_response").
 */
export function timedOutWords(timedOut: TimedOutBecause | undefined): string {
  return TIMED_OUT_WORDS[timedOut ?? "no_response"];
}

const MISSING_WORDS: Record<DeadlineSituation, string> = {
  no_response: "had no response",
  no_resolution: "was answered but not resolved",
};

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
  const raiser = raiserTitle(scope.protocol, scope.form.raiserRole);
  if (scope.ctx.now.getTime() < new Date(open.deadline).getTime()) {
    return refuse(
      "DEADLINE_NOT_PASSED",
      `the ${open.assignee.title} has until ${when(open.deadline)} to respond to ${stage.label} and resolve it; the protocol's deadline rule applies only after that`,
    );
  }
  const stopped = escalationStopped(scope);
  if (stopped !== undefined) return stopped;

  if (open.raiserAlertedAt !== undefined) {
    const decideBy = open.raiserDecisionBy;
    if (decideBy === undefined) {
      return refuse(
        "WRONG_STATUS",
        `nothing to do: the ${raiser} was already told on ${when(open.raiserAlertedAt)} that ${stage.label} ${MISSING_WORDS[open.raiserAlertReason ?? "no_response"]} by its deadline, and under this protocol what happens next is their decision`,
      );
    }
    if (scope.ctx.now.getTime() < Date.parse(decideBy)) {
      return refuse(
        "DEADLINE_NOT_PASSED",
        `the ${raiser} has until ${when(decideBy)} to resolve the challenge or escalate it with reasons; it escalates automatically only after that`,
      );
    }
    // The no-resolution rule's sentence is the one that says what follows an undecided stage.
    const rule = deadlineRule(stage, "no_resolution");
    return moveUp(
      scope,
      open,
      index + 1,
      "no_response",
      `${stage.label} ${MISSING_WORDS[open.raiserAlertReason ?? "no_response"]} by its deadline, ${when(open.deadline)}. The ${raiser} was asked on ${when(open.raiserAlertedAt)} to resolve it or escalate it with reasons by ${when(decideBy)} and did neither, so it escalated automatically, as the protocol says ("${rule.citation}").`,
      undefined,
      "raiser_did_not_decide",
    );
  }

  const situation = deadlineSituation(open);
  const rule = deadlineRule(stage, situation);
  switch (rule.action) {
    case "escalate": {
      const lastResponse = open.responses.at(-1);
      const reasons =
        lastResponse === undefined
          ? `No response from the ${open.assignee.title} to ${stage.label} by the deadline, ${when(open.deadline)}`
          : `The ${open.assignee.title} responded to ${stage.label} on ${when(lastResponse.at)}, but it was not resolved by the deadline, ${when(open.deadline)}, so it escalated automatically, as the protocol says ("${rule.citation}")`;
      return moveUp(scope, open, index + 1, "no_response", reasons, undefined, situation);
    }
    case "ask_raiser": {
      const decideBy = raiserDecisionEnd(scope, open, stage).toISOString();
      return accept([scope.emit("RaiserAlerted", { stageId: open.stageId, reason: situation, decideBy })]);
    }
    case "alert_raiser":
      return accept([scope.emit("RaiserAlerted", { stageId: open.stageId, reason: situation })]);
  }
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
