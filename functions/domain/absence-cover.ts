import type { Absence } from "./absence.js";
import type { AbsenceFacts, Assignee } from "./challenge/events.js";
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
