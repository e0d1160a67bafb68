import { ENGLAND_AND_WALES_BANK_HOLIDAYS, FIRST_YEAR, LAST_YEAR } from "./bank-holidays.js";
import {
  CLOSE_OF_BUSINESS,
  addDays,
  deadlineOn,
  londonClock,
  londonDay,
  londonInstant,
  parseTimeOfDay,
  weekdayOf,
} from "./london-time.js";
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

function positiveWholeNumber(value: number, what: string): void {
  if (!Number.isSafeInteger(value) || value < 1)
    throw new Error(`${what} must be a positive integer, got ${value}`);
}

function dayOfInstant(instant: Date, what: string): string {
  if (Number.isNaN(instant.getTime())) throw new Error(`${what} is not a valid date`);
  return londonDay(instant);
}

export function createEnglandCalendar(
  options: { closureDays?: readonly string[]; closeOfBusiness?: string } = {},
): WorkingDayCalendar {
  // addDays(day, 0) checks the day is real and writes it YYYY-MM-DD.
  const closureDays = new Set((options.closureDays ?? []).map((day) => addDays(day, 0, "closure day")));
  const closeOfBusiness = parseTimeOfDay(options.closeOfBusiness ?? CLOSE_OF_BUSINESS, "closeOfBusiness");

  // Weekdays 6 and 7 are Saturday and Sunday.
  const working = (day: string): boolean =>
    weekdayOf(day) < 6 && !closureDays.has(day) && !bankHolidays(Number(day.slice(0, 4))).has(day);

  const calendar: WorkingDayCalendar = {
    isWorkingDay: (day) => working(addDays(day, 0, "day")),

    deadlineAfter(start, workingDays) {
      positiveWholeNumber(workingDays, "workingDays");
      // Whole London days, then the wall-clock time: 16:00Z in summer time and 17:00Z in winter for 17:00.
      let day = dayOfInstant(start, "start");
      for (let counted = 0; counted < workingDays;) {
        day = addDays(day, 1);
        if (working(day)) counted++;
      }
      return deadlineOn(day, closeOfBusiness);
    },

    windowEnd(start, window) {
      if (window.unit === "working_days") return calendar.deadlineAfter(start, window.length);
      positiveWholeNumber(window.length, "a window's length");
      const days = window.unit === "weeks" ? window.length * 7 : window.length;
      return deadlineOn(addDays(dayOfInstant(start, "start"), days), closeOfBusiness);
    },

    workingDaysBefore(instant, workingDays) {
      positiveWholeNumber(workingDays, "workingDays");
      // Whole London days back, at the same London wall-clock time (across a clock change too).
      let day = dayOfInstant(instant, "instant");
      const time = londonClock(instant);
      for (let counted = 0; counted < workingDays;) {
        day = addDays(day, -1);
        if (working(day)) counted++;
      }
      return londonInstant(day, time);
    },

    workingDaysBetween(start, end) {
      const last = dayOfInstant(end, "end");
      let count = 0;
      for (let day = addDays(dayOfInstant(start, "start"), 1); day <= last; day = addDays(day, 1)) {
        if (working(day)) count++;
      }
      return count;
    },

    londonDate: (instant) => dayOfInstant(instant, "instant"),
  };
  return calendar;
}
