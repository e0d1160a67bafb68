import { absenceEndWords } from "../absence.js";
import { routeAroundAbsence } from "../absence-cover.js";
import type { CommandOf } from "./commands.js";
import { accept, day, isRefusal, refuse, requireOpenStage, stageName } from "./decision.js";
import type { DecideResult, Scope } from "./decision.js";
import { addresseeOf } from "./ladder.js";
import { stageRecipients } from "./recipient-actions.js";

/**
 * RouteToCover: the open stage's recipient `personId` is away today (the directory says so, from an
 * absence recorded for them or their out-of-office reply), so the stage passes to their role's named
 * cover. Refused when the stage has moved on, the person is not its recipient, they are not recorded
 * as away today, or nobody covers the role (the stage then stays with them: no silent fallback).
 */
export function routeToCover(scope: Scope, command: CommandOf<"RouteToCover">): DecideResult {
  const found = requireOpenStage(scope, "pass to a cover");
  if (isRefusal(found)) return found;
  const { open, stage } = found;
  if (open.stageId !== command.stageId) {
    return refuse(
      "STAGE_MOVED",
      `${stage.label} is open now, not the stage "${command.stageId}" this was about: nothing was passed on`,
    );
  }
  const from = stageRecipients(open).find((r) => r.personId === command.personId);
  if (from === undefined) {
    return refuse(
      "NOT_RECIPIENT",
      `${stageName(stage)} is not addressed to ${command.personId}, so there is nothing to pass to their cover`,
    );
  }
  const { scope: where, whose } = addresseeOf(stage, scope.form);
  const today = scope.ctx.calendar.londonDate(scope.ctx.now);
  const routed = routeAroundAbsence(scope.ctx.directory, from, where, today);
  const { absence, copy } = routed;
  if (absence === undefined) {
    return refuse(
      "INVALID_COMMAND",
      `the staff directory does not record the ${from.title} as away on ${day(today)}: ${stage.label} stays with them`,
    );
  }
  if (copy === undefined) {
    return refuse(
      "NO_RECIPIENT",
      `the ${from.title} is away ${absenceEndWords(absence.to, day)}, but nobody in the staff directory is named cover for the ${from.title} for ${whose}: ${stage.label} stays with them until a cover is named`,
    );
  }
  return accept([
    scope.emit("StageReassigned", {
      stageId: open.stageId,
      from,
      to: routed.to,
      because: command.because,
      absence,
    }),
  ]);
}
