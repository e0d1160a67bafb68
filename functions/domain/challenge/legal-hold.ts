import type { CommandOf } from "./commands.js";
import { accept, refuse, type DecideResult, type Scope } from "./decision.js";

/**
 * Legal holds. Only the IRO service manager may place or lift one: a hold is a decision about the
 * authority's own records (litigation, an inquiry, a complaint or a subject access request in
 * progress), and the IRO service manager answers for the service's records. Auditors read, and
 * never change, what they audit; practitioners cannot keep their own challenges from deletion.
 * A hold can be placed or lifted whatever the challenge's status: records are kept long after closure.
 */
export function setLegalHold(scope: Scope, command: CommandOf<"SetLegalHold">): DecideResult {
  if (command.actor.role !== "iro_service_manager") {
    return refuse("NOT_PERMITTED", "only the IRO service manager can place or lift a legal hold");
  }
  const held = scope.state.legalHold !== undefined;
  if (command.hold && held) {
    return refuse("WRONG_STATUS", "this record is already under a legal hold; nothing was changed");
  }
  if (!command.hold && !held) {
    return refuse("WRONG_STATUS", "this record is not under a legal hold; nothing was changed");
  }
  return accept([
    command.hold
      ? scope.emit("LegalHoldPlaced", { reason: command.reason })
      : scope.emit("LegalHoldLifted", { reason: command.reason }),
  ]);
}
