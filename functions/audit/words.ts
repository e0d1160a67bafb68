import {
  asWritten,
  dayInShortWords,
  deadlineInWords,
  instantInShortWords,
} from "../domain/dates-in-words.js";

/**
 * Dates for the audit renderings (timeline, case notes, reports), in the domain's one wording
 * (functions/domain/dates-in-words.ts). An audit rendering reads whatever an export holds, so a value
 * that is not a date is shown as it was written rather than stopping the whole rendering.
 */

/** "Thu 21 May 2026 10:00" (London time). */
export function formatInstant(iso: string): string {
  return asWritten(iso, instantInShortWords);
}

/** "Thu 21 May 2026" for an instant (its London date) or a YYYY-MM-DD day. */
export function formatDay(isoOrDay: string): string {
  return asWritten(isoOrDay, dayInShortWords);
}

/**
 * A deadline as people say it: "5pm on Friday 29 May"; the year is added when it differs from the
 * year of `relativeTo` (or always, without it).
 */
export function formatDeadline(iso: string, relativeTo?: string): string {
  return asWritten(iso, (value) => deadlineInWords(value, relativeTo));
}
