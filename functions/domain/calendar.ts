import { DateTime } from "luxon";
import { ENGLAND_AND_WALES_BANK_HOLIDAYS, FIRST_YEAR, LAST_YEAR } from "./bank-holidays.js";
import type { Window } from "./protocol.js";

/**
 * Working days in England: weekends, England and Wales bank holidays (a table generated from
 * date-holidays: bank-holidays.ts) and the authority's own closure days are not working days. Deadlines fall at
 * close of business, Europe/London.
 */
export interface WorkingDayCalendar {
  /** `day` is a London calendar date, YYYY-MM-DD. */
  isWorkingDay(day: string): boolean;
  /**
   * The deadline for a response due within `workingDays` working days of `start`: close of
   * business on the `workingDays`-th working day after the London date of `start` (the day of
   * `start` itself is not counted), as an instant.
   */
  deadlineAfter(start: Date, workingDays: number): Date;
  /**
   * The instant `workingDays` working days before `instant`, at the same London wall-clock time:
   * the same time of day on the `workingDays`-th working day before the London date of `instant`
   * (that day itself is not counted). A deadline's reminder time, e.g. 17:00 on the working day
   * before a 17:00 deadline.
   */
  workingDaysBefore(instant: Date, workingDays: number): Date;
  /**
   * The end of a window that starts at `start`: in working days, as {@link deadlineAfter}; in
   * calendar days or weeks, close of business on the London date that many days (or 7 × weeks)
   * after the London date of `start`, whether or not that day is a working day (a calendar window
   * is the seed's own maximum: it is never stretched past a weekend or holiday).
   */
  windowEnd(start: Date, window: Window): Date;
  /** Working days after the London date of `start` up to and including the London date of `end` (0 if end is not later). */
  workingDaysBetween(start: Date, end: Date): number;
  /** The London calendar date of an instant. */
  londonDate(instant: Date): string;
}

const ZONE = "Europe/London";
const ISO_DAY = /^\d{4}-\d{2}-\d{2}$/;
const HH_MM = /^([01]\d|2[0-3]):([0-5]\d)$/;

const bankHolidaysByYear = new Map<number, ReadonlySet<string>>();

/** England and Wales bank holidays in `year`, as London dates (YYYY-MM-DD). */
function bankHolidays(year: number): ReadonlySet<string> {
  let days = bankHolidaysByYear.get(year);
  if (days === undefined) {
    const monthDays = ENGLAND_AND_WALES_BANK_HOLIDAYS[year];
    // A year outside the table must not silently become one without bank holidays.
    if (monthDays === undefined) {
      throw new Error(
        `no England and Wales bank holidays are known for ${year} (the table covers ${FIRST_YEAR}-${LAST_YEAR}: run npm run bank-holidays)`,
      );
    }
    days = new Set(monthDays.map((monthDay) => `${year}-${monthDay}`));
    bankHolidaysByYear.set(year, days);
  }
  return days;
}

/** A London calendar day; throws on anything that is not a real YYYY-MM-DD date. */
function parseDay(day: string, what: string): DateTime {
  const parsed = ISO_DAY.test(day) ? DateTime.fromISO(day, { zone: ZONE }) : undefined;
  if (!parsed?.isValid) throw new Error(`${what} must be a real date in YYYY-MM-DD form, got "${day}"`);
  return parsed;
}

function inLondon(instant: Date, what: string): DateTime {
  if (Number.isNaN(instant.getTime())) throw new Error(`${what} is not a valid date`);
  return DateTime.fromJSDate(instant, { zone: ZONE });
}

function isoDay(day: DateTime): string {
  return day.toFormat("yyyy-MM-dd");
}

export function createEnglandCalendar(
  options: { closureDays?: readonly string[]; closeOfBusiness?: string } = {},
): WorkingDayCalendar {
  const closureDays = new Set((options.closureDays ?? []).map((day) => isoDay(parseDay(day, "closure day"))));

  const closeOfBusiness = options.closeOfBusiness ?? "17:00";
  const time = HH_MM.exec(closeOfBusiness);
  if (!time) throw new Error(`closeOfBusiness must be HH:MM (24-hour), got "${closeOfBusiness}"`);
  const hour = Number(time[1]);
  const minute = Number(time[2]);

  // Weekday 6 and 7 are Saturday and Sunday in luxon.
  const working = (day: DateTime): boolean => {
    const iso = isoDay(day);
    return day.weekday < 6 && !closureDays.has(iso) && !bankHolidays(day.year).has(iso);
  };

  const calendar: WorkingDayCalendar = {
    isWorkingDay: (day) => working(parseDay(day, "day")),

    deadlineAfter(start, workingDays) {
      if (!Number.isSafeInteger(workingDays) || workingDays < 1) {
        throw new Error(`workingDays must be a positive integer, got ${workingDays}`);
      }
      // Calendar-day steps from London midnight: plus({ days }) keeps local wall time across clock changes.
      let day = inLondon(start, "start").startOf("day");
      for (let counted = 0; counted < workingDays;) {
        day = day.plus({ days: 1 });
        if (working(day)) counted++;
      }
      // Setting London wall-clock time makes the instant 16:00Z in BST and 17:00Z in GMT for 17:00.
      return day.set({ hour, minute }).toJSDate();
    },

    windowEnd(start, window) {
      if (window.unit === "working_days") return calendar.deadlineAfter(start, window.length);
      if (!Number.isSafeInteger(window.length) || window.length < 1) {
        throw new Error(`a window's length must be a positive integer, got ${window.length}`);
      }
      const days = window.unit === "weeks" ? window.length * 7 : window.length;
      // plus({ days }) from London midnight keeps local wall time across clock changes.
      const day = inLondon(start, "start").startOf("day").plus({ days });
      return day.set({ hour, minute }).toJSDate();
    },

    workingDaysBefore(instant, workingDays) {
      if (!Number.isSafeInteger(workingDays) || workingDays < 1) {
        throw new Error(`workingDays must be a positive integer, got ${workingDays}`);
      }
      // Calendar-day steps keep the London wall time across clock changes (as deadlineAfter does).
      let day = inLondon(instant, "instant");
      for (let counted = 0; counted < workingDays;) {
        day = day.minus({ days: 1 });
        if (working(day)) counted++;
      }
      return day.toJSDate();
    },

    workingDaysBetween(start, end) {
      const first = inLondon(start, "start").startOf("day").plus({ days: 1 });
      const last = inLondon(end, "end").startOf("day");
      let count = 0;
      for (let day = first; day <= last; day = day.plus({ days: 1 })) {
        if (working(day)) count++;
      }
      return count;
    },

    londonDate: (instant) => isoDay(inLondon(instant, "instant")),
  };
  return calendar;
}
