import type { Absence } from "./absence.js";
import { absenceEndWords } from "./absence.js";
import type { CommandOf } from "./challenge/commands.js";
import { accept, day, isRefusal, refuse, requireOpenStage, stageName } from "./challenge/decision.js";
import type { DecideResult, Scope } from "./challenge/decision.js";
import type { AbsenceFacts, Assignee } from "./challenge/events.js";
import { addresseeOf } from "./challenge/ladder.js";
import { stageRecipients } from "./challenge/recipient-actions.js";
import type { DirectoryLookup, DirectoryScope } from "./challenge/state.js";

/**
 * Routing a stage around an absent recipient: pure. When the holder of a stage's role is away, the
 * stage goes to the role's named cover (marked `actingFor` the holder) and the holder is copied; the
 * deadline is the stage's own, never moved. With no cover named, it goes to the holder anyway (there
 * is no one else, and a recipient is never silently swapped), and the gap is recorded.
 */

export function absenceFacts(personId: string, absence: Absence): AbsenceFacts {
  return { personId, from: absence.from, ...(absence.to === undefined ? {} : { to: absence.to }) };
}

export interface Routed {
  /** Who the stage goes to: the holder, or their cover acting for them. */
  readonly to: Assignee;
  /** The absent holder, copied, when the cover has it. */
  readonly copy?: Assignee;
  /** The holder's absence, when they are away (with `copy`: covered; without: nobody covers the role). */
  readonly absence?: AbsenceFacts;
}

/** Who a stage addressed to `holder` goes to on the London day `day`. */
export function routeAroundAbsence(
  directory: DirectoryLookup,
  holder: Assignee,
  scope: DirectoryScope,
  day: string,
): Routed {
  const away = directory.absence?.(holder.personId, holder, scope, day);
  if (away === undefined) return { to: holder };
  const absence = absenceFacts(holder.personId, away.absence);
  const cover = away.cover;
  if (cover === undefined || cover.personId === holder.personId) return { to: holder, absence };
  return {
    absence,
    to: {
      role: holder.role,
      title: holder.title,
      personId: cover.personId,
      email: cover.email,
      actingFor: holder.personId,
    },
    copy: holder,
  };
}

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
