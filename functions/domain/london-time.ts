/**
 * London time, the one place this service turns instants into London calendar days and wall-clock
 * times and back. Every deadline, "today", report period and export folder is a London day: the
 * authorities work in England, summer time included (clocks go forward at 01:00 UTC on the last
 * Sunday of March and back at 01:00 UTC on the last Sunday of October).
 *
 * No date library, so no handler bundle carries one. From 1996 London's offset is worked out from
 * the summer-time rule above (Summer Time Order 2002; the zone data's own rule for London since
 * 1996), because the first `Intl` formatter a process makes pays ICU's start-up (~12 ms of every
 * cold start); earlier instants ask `Intl.DateTimeFormat` (the zone data that ships with Node's ICU),
 * which knows London's older rules. test/unit/domain/london-time.test.ts holds the rule to ICU's zone
 * data for every change from 1996 to 2100, so a change in the law, once in Node's zone data, fails
 * there. Days are plain `YYYY-MM-DD` strings: calendar arithmetic on them is done in UTC, where every
 * day has 24 hours, and only the step to or from an instant consults the zone. Pure: no clock, no AWS.
 */

const ZONE = "Europe/London";

const ISO_DAY = /^(\d{4})-(\d{2})-(\d{2})$/;
const HH_MM = /^([01]\d|2[0-3]):([0-5]\d)$/;
const DAY_MS = 86_400_000;

/** Close of business in England unless an authority says otherwise: deadlines fall at 17:00 London time. */
export const CLOSE_OF_BUSINESS = "17:00";

/** A London wall-clock reading. `weekday` is 1 (Monday) to 7 (Sunday), as ISO 8601 numbers them. */
export interface LondonClock {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly weekday: number;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
  readonly millisecond: number;
}

/** A time of day, as an authority writes its close of business ("17:00"). */
export interface TimeOfDay {
  readonly hour: number;
  readonly minute: number;
  readonly second?: number;
  readonly millisecond?: number;
}

/** The first year of the summer-time rule London still follows (the zone data's "EU" rule). */
const RULE_FROM_YEAR = 1996;
const HOUR_MS = 3_600_000;

// en-US numeric parts: plain digits, and `hourCycle: "h23"` so midnight is 0, never 24. Made on
// first use, for an instant before RULE_FROM_YEAR.
let wallClock: Intl.DateTimeFormat | undefined;
const wallClockFormat = (): Intl.DateTimeFormat =>
  (wallClock ??= new Intl.DateTimeFormat("en-US", {
    timeZone: ZONE,
    year: "numeric",
    month: "numeric",
    day: "numeric",
    hour: "numeric",
    minute: "numeric",
    second: "numeric",
    hourCycle: "h23",
  }));

function validInstant(instant: Date | string, what: string): Date {
  // An ISO string starts with a real day: `new Date` alone rolls "2026-02-30" over to 2 March.
  const iso = typeof instant !== "string" || isCalendarDay(instant.slice(0, 10));
  const date = typeof instant === "string" ? new Date(instant) : instant;
  if (!iso || Number.isNaN(date.getTime())) {
    throw new RangeError(
      typeof instant === "string"
        ? `${what} is not an ISO-8601 instant: ${JSON.stringify(instant)}`
        : `${what} is not a valid date`,
    );
  }
  return date;
}

/** 01:00 UTC on the last Sunday of a month (0-based) of a year: when London's clocks change. */
function lastSundayAt0100Utc(year: number, month: number): number {
  const lastDay = new Date(Date.UTC(year, month + 1, 0));
  return Date.UTC(year, month, lastDay.getUTCDate() - lastDay.getUTCDay(), 1);
}

/** The London wall clock at an instant's whole second, as milliseconds of a UTC timeline. */
function wallMillis(ms: number): number {
  const whole = Math.floor(ms / 1000) * 1000;
  const year = new Date(whole).getUTCFullYear();
  if (year >= RULE_FROM_YEAR) {
    const summer = whole >= lastSundayAt0100Utc(year, 2) && whole < lastSundayAt0100Utc(year, 9);
    return whole + (summer ? HOUR_MS : 0);
  }
  const parts = wallClockFormat().formatToParts(new Date(whole));
  const get = (type: Intl.DateTimeFormatPartTypes): number =>
    Number(parts.find((p) => p.type === type)?.value);
  return Date.UTC(get("year"), get("month") - 1, get("day"), get("hour"), get("minute"), get("second"));
}

/** London's offset from UTC at an instant, in milliseconds (0 in winter, 3,600,000 in summer time). */
function offsetAt(ms: number): number {
  return wallMillis(ms) - Math.floor(ms / 1000) * 1000;
}

/** The London wall clock at an instant. Throws a RangeError on an invalid date or ISO string. */
export function londonClock(instant: Date | string, what = "instant"): LondonClock {
  const ms = validInstant(instant, what).getTime();
  const wall = new Date(wallMillis(ms) + (((ms % 1000) + 1000) % 1000));
  return {
    year: wall.getUTCFullYear(),
    month: wall.getUTCMonth() + 1,
    day: wall.getUTCDate(),
    weekday: ((wall.getUTCDay() + 6) % 7) + 1,
    hour: wall.getUTCHours(),
    minute: wall.getUTCMinutes(),
    second: wall.getUTCSeconds(),
    millisecond: wall.getUTCMilliseconds(),
  };
}

function dayOf(year: number, month: number, day: number): string {
  return `${String(year).padStart(4, "0")}-${String(month).padStart(2, "0")}-${String(day).padStart(2, "0")}`;
}

/** The London calendar day (YYYY-MM-DD) of an instant. */
export function londonDay(instant: Date | string): string {
  const c = londonClock(instant);
  return dayOf(c.year, c.month, c.day);
}

/** The London calendar month (YYYY-MM) of an instant. */
export function londonMonth(instant: Date | string): string {
  return londonDay(instant).slice(0, 7);
}

/** Whether `value` is a real calendar day written YYYY-MM-DD. */
export function isCalendarDay(value: string): boolean {
  const m = ISO_DAY.exec(value);
  if (m === null) return false;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const date = new Date(Date.UTC(year, month - 1, day));
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

/** Midnight UTC of a day, for calendar arithmetic; throws a RangeError unless it is a real YYYY-MM-DD day. */
function utcMidnight(day: string, what: string): number {
  if (!isCalendarDay(day))
    throw new RangeError(`${what} must be a real date in YYYY-MM-DD form, got "${day}"`);
  return Date.parse(`${day}T00:00:00Z`);
}

/** The day `days` calendar days after `day` (before it, when negative). */
export function addDays(day: string, days: number, what = "day"): string {
  return new Date(utcMidnight(day, what) + days * DAY_MS).toISOString().slice(0, 10);
}

/**
 * The same day of the month `months` months later (earlier when negative); the month's last day when
 * it is shorter (31 January + 1 month = 28 or 29 February).
 */
export function addMonths(day: string, months: number, what = "day"): string {
  const start = new Date(utcMidnight(day, what));
  const index = start.getUTCFullYear() * 12 + start.getUTCMonth() + months;
  const year = Math.floor(index / 12);
  const month = index - year * 12; // 0-based
  const lastDay = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
  return dayOf(year, month + 1, Math.min(start.getUTCDate(), lastDay));
}

/** The ISO weekday of a day: 1 (Monday) to 7 (Sunday). */
export function weekdayOf(day: string, what = "day"): number {
  return ((new Date(utcMidnight(day, what)).getUTCDay() + 6) % 7) + 1;
}

/**
 * The instant a London wall clock shows `time` on `day`. A time the clocks skip (01:30 on the last
 * Sunday of March) is read with the winter offset, so it lands an hour later on the clock (02:30
 * summer time); a time shown twice (01:30 on the last Sunday of October) is its first showing.
 */
export function londonInstant(day: string, time: TimeOfDay = { hour: 0, minute: 0 }, what = "day"): Date {
  const wall =
    utcMidnight(day, what) +
    ((time.hour * 60 + time.minute) * 60 + (time.second ?? 0)) * 1000 +
    (time.millisecond ?? 0);
  // London's offset is the same a day either side except across a clock change; at most two candidates.
  const before = offsetAt(wall - DAY_MS);
  const after = offsetAt(wall + DAY_MS);
  const larger = Math.max(before, after);
  const smaller = Math.min(before, after);
  for (const offset of [larger, smaller]) {
    const candidate = wall - offset;
    if (offsetAt(candidate) === offset) return new Date(candidate);
  }
  return new Date(wall - smaller);
}

/** The first instant of a London day (its midnight; London's clocks never change at midnight). */
export function startOfLondonDay(day: string, what = "day"): Date {
  return londonInstant(day, { hour: 0, minute: 0 }, what);
}

/** The last instant (millisecond) of a London day: the end of a period ending on `day`. */
export function endOfLondonDay(day: string, what = "day"): Date {
  return new Date(startOfLondonDay(addDays(day, 1, what)).getTime() - 1);
}

/**
 * When something due "by" a date is overdue: from the start of the London day after it. An action
 * agreed "by 10 March" is overdue from 00:00 on 11 March, London time.
 */
export function overdueFrom(byDay: string, what = "date"): Date {
  return startOfLondonDay(addDays(byDay, 1, what));
}

/** A time of day written HH:MM (24-hour), e.g. an authority's close of business. */
export function parseTimeOfDay(value: string, what = "time of day"): TimeOfDay {
  const m = HH_MM.exec(value);
  if (m === null) throw new RangeError(`${what} must be HH:MM (24-hour), got "${value}"`);
  return { hour: Number(m[1]), minute: Number(m[2]) };
}

/** A deadline on a London day: close of business (17:00 unless the authority says otherwise) that day. */
export function deadlineOn(
  day: string,
  closeOfBusiness: TimeOfDay = parseTimeOfDay(CLOSE_OF_BUSINESS),
): Date {
  return londonInstant(day, closeOfBusiness);
}
