import { isCalendarDay, londonClock, type LondonClock } from "./london-time.js";

/**
 * Dates and times in words, London time, as the emails, case notes, timelines and API summaries
 * write them. One wording everywhere: times GOV.UK style ("5pm", "5:30pm", "midday", "midnight"),
 * weekday and month in full in sentences ("5pm on Friday 29 May 2026"), abbreviated weekday in
 * lists and headings ("Fri 29 May 2026"). Pure; every function throws a RangeError on a value that
 * is not an ISO instant or YYYY-MM-DD day.
 */

const WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"] as const;
const MONTHS = [
  "January",
  "February",
  "March",
  "April",
  "May",
  "June",
  "July",
  "August",
  "September",
  "October",
  "November",
  "December",
] as const;

/** "Friday" for ISO weekday 5. */
export function weekdayName(weekday: number): string {
  return WEEKDAYS[weekday - 1] ?? String(weekday);
}

/** "May" for month 5. */
export function monthName(month: number): string {
  return MONTHS[month - 1] ?? String(month);
}

/** The London clock of an instant, or of noon on a YYYY-MM-DD day (its own date in any zone). */
function clockOf(dayOrInstant: string, what: string): LondonClock {
  return isCalendarDay(dayOrInstant)
    ? londonClock(`${dayOrInstant}T12:00:00Z`, what)
    : londonClock(dayOrInstant, what);
}

/** "5pm", "5:30pm", "9am", "midday", "midnight" (GOV.UK style). */
export function timeInWords(hour: number, minute: number): string {
  if (minute === 0 && hour === 12) return "midday";
  if (minute === 0 && hour === 0) return "midnight";
  const h = hour % 12 === 0 ? 12 : hour % 12;
  const minutes = minute === 0 ? "" : `:${String(minute).padStart(2, "0")}`;
  return `${h}${minutes}${hour < 12 ? "am" : "pm"}`;
}

/** "17:00": a 24-hour clock time, for compact lines. */
function clock24(c: LondonClock): string {
  return `${String(c.hour).padStart(2, "0")}:${String(c.minute).padStart(2, "0")}`;
}

/**
 * A deadline as people say it: "5pm on Friday 29 May 2026". With `relativeTo` (the instant the
 * sentence is about), the year is left out when it is the same: "5pm on Friday 29 May".
 */
export function deadlineInWords(instant: string, relativeTo?: string): string {
  const c = londonClock(instant, "deadline");
  const sameYear =
    relativeTo !== undefined && londonClock(relativeTo, "the time it relates to").year === c.year;
  return `${timeInWords(c.hour, c.minute)} on ${weekdayName(c.weekday)} ${c.day} ${monthName(c.month)}${sameYear ? "" : ` ${c.year}`}`;
}

/** "Friday 29 May 2026": a day (YYYY-MM-DD) or an instant's London day. */
export function dateInWords(dayOrInstant: string): string {
  const c = clockOf(dayOrInstant, "date");
  return `${weekdayName(c.weekday)} ${c.day} ${monthName(c.month)} ${c.year}`;
}

/** "Fri 29 May 2026": a day or an instant's London day, in lists and headings. */
export function dayInShortWords(dayOrInstant: string): string {
  const c = clockOf(dayOrInstant, "date");
  return `${weekdayName(c.weekday).slice(0, 3)} ${c.day} ${monthName(c.month)} ${c.year}`;
}

/** "Fri 29 May 2026 17:00": when something happened, London time, for one-line records. */
export function instantInShortWords(instant: string): string {
  const c = londonClock(instant);
  return `${weekdayName(c.weekday).slice(0, 3)} ${c.day} ${monthName(c.month)} ${c.year} ${clock24(c)}`;
}

/** "Fri, 29 May 2026, 17:00": an instant inside a sentence that already has commas (refusals). */
export function instantInRefusalWords(instant: string): string {
  const c = londonClock(instant);
  return `${weekdayName(c.weekday).slice(0, 3)}, ${c.day} ${monthName(c.month).slice(0, 3)} ${c.year}, ${clock24(c)}`;
}

/** "Fri 29 May": for email subjects. */
export function shortDate(dayOrInstant: string): string {
  const c = clockOf(dayOrInstant, "date");
  return `${weekdayName(c.weekday).slice(0, 3)} ${c.day} ${monthName(c.month).slice(0, 3)}`;
}

/**
 * `inWords(value)`, or the value as it was written when it is not a date: for renderings of stored
 * records (timelines, case notes), where one odd value must not stop the rest being read.
 */
export function asWritten(value: string, inWords: (value: string) => string): string {
  try {
    return inWords(value);
  } catch (error) {
    if (error instanceof RangeError) return value;
    throw error;
  }
}
