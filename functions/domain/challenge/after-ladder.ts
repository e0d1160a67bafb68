import type { PostLadderDecision } from "../protocol.js";
import type { CommandOf } from "./commands.js";
import { accept, refuse, when, wrongStatus } from "./decision.js";
import type { DecideResult, Scope } from "./decision.js";
import type { ChallengeEvent, DecisionAfter } from "./events.js";

/**
 * Decisions the protocol owes after the ladder (`PostLadderDecision`): asked for when a difference
 * is noted (000) or a partnership referral is made (003), made by the directory's holder of the
 * named role or their cover, within the protocol's window.
 */

/**
 * The DecisionRequested event for a decision falling due now, or a NO_RECIPIENT refusal when nobody
 * in the directory holds the role: a decision nobody is asked for would never be made.
 */
export function decisionRequested(
  scope: Scope,
  after: DecisionAfter,
  decision: PostLadderDecision,
): ChallengeEvent | DecideResult {
  const holder = scope.ctx.directory(decision.decidedBy, { teamId: scope.form.team.id });
  if (holder === undefined) {
    return refuse(
      "NO_RECIPIENT",
      `nobody in the staff directory holds the role "${decision.decidedBy.title}" for team ${scope.form.team.name}, who must then decide ("${decision.citation}"): add them to the directory and try again`,
    );
  }
  return scope.emit("DecisionRequested", {
    after,
    decidedBy: decision.decidedBy,
    personId: holder.personId,
    dueBy: scope.ctx.calendar.windowEnd(scope.ctx.now, decision.window).toISOString(),
    citation: decision.citation,
  });
}

export function decideAfterLadder(scope: Scope, command: CommandOf<"DecideAfterLadder">): DecideResult {
  const pending = scope.state.pendingDecision;
  if (pending === undefined) {
    return wrongStatus(scope, "no decision is awaited on it after the last stage");
  }
  const { decidedBy } = pending;
  const standing = scope.ctx.directory.standing(command.actor.id, decidedBy.role, {
    teamId: scope.form.team.id,
  });
  if (standing === undefined) {
    return refuse(
      "NOT_APPROVER",
      `only the person the staff directory names as ${decidedBy.title} for team ${scope.form.team.name} (or their named cover) can make this decision ("${pending.citation}"); it is awaited by ${when(pending.dueBy)}`,
    );
  }
  return accept([
    scope.emit("DecisionRecorded", {
      after: pending.after,
      decidedBy,
      upheld: command.upheld,
      reasons: command.reasons,
      ...(standing === "cover" ? { asCover: true as const } : {}),
    }),
  ]);
}
