/**
 * The end of an absence as an out-of-office reply states it, in the common English forms: pure.
 *
 *   "I am on leave until Monday 14 December"     → absent to 14 Dec (the day named is still away)
 *   "I will be back on 14/12/2026"               → absent to 13 Dec (back that day)
 *   "returning 14 December 2026", "back in the office on Mon 14th Dec", "return on 2026-12-14"
 *
 * Dates are day first (British): 14/12 is 14 December, never the 12th of month 14. Without a year
 * the date is the next one on or after the day the reply was received; a weekday that disagrees
 * with that year's date moves it on a year when the next year agrees (a reply written in December
 * about January). No date, or an impossible one: undefined, and the absence is recorded with no end.
 *
 * "until" keeps the named day as a day away: when a reply is ambiguous, the stage goes to the cover
 * (who is there) with the holder copied, rather than to someone who may still be away.
 */

export interface StatedReturn {
  /** The last day of the absence (YYYY-MM-DD, London). */
  readonly lastDayAway: string;
  /** The words the date was read from, for the record. */
  readonly phrase: string;
}

const MONTHS: Readonly<Record<string, number>> = {
  jan: 1,
  feb: 2,
  mar: 3,
  apr: 4,
  may: 5,
  jun: 6,
  jul: 7,
  aug: 8,
  sep: 9,
  sept: 9,
  oct: 10,
  nov: 11,
  dec: 12,
};
const WEEKDAYS: Readonly<Record<string, number>> = {
  sun: 0,
  mon: 1,
  tue: 2,
  tues: 2,
  wed: 3,
  thu: 4,
  thur: 4,
  thurs: 4,
  fri: 5,
  sat: 6,
};

const WEEKDAY = String.raw`(?:(mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)[a-z]*\.?,?\s+)?`;
const MONTH = String.raw`(jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?`;
const ORDINAL = String.raw`(\d{1,2})(?:st|nd|rd|th)?`;
const YEAR = String.raw`(?:,?\s+(\d{4}))?`;

/** "until" (the day named is away) or "back" (the day named is the first day back). */
const TRIGGERS: readonly { readonly pattern: string; readonly back: boolean }[] = [
  {
    pattern: String.raw`(?:back|return(?:ing)?)(?:\s+(?:to|in(?:to)?|at)\s+(?:the\s+)?(?:office|work))?(?:\s+on)?`,
    back: true,
  },
  { pattern: String.raw`(?:until|till|til|up to and including|through)`, back: false },
];

const DATE_FORMS: readonly { readonly regex: string; readonly read: (m: RegExpExecArray) => Parts }[] = [
  // Monday 14 December 2026, 14th Dec
  {
    regex: `${WEEKDAY}${ORDINAL}(?:\\s+of)?\\s+${MONTH}${YEAR}`,
    read: (m) => ({ weekday: m[1], day: m[2], month: m[3], year: m[4] }),
  },
  // Monday, December 14th 2026
  {
    regex: `${WEEKDAY}${MONTH}\\s+${ORDINAL}${YEAR}`,
    read: (m) => ({ weekday: m[1], month: m[2], day: m[3], year: m[4] }),
  },
  // 14/12/2026, 14.12.26, 14-12
  {
    regex: String.raw`${WEEKDAY}(\d{1,2})[/.-](\d{1,2})(?:[/.-](\d{2}|\d{4}))?(?![\d/.-]*\d)`,
    read: (m) => ({ weekday: m[1], day: m[2], month: m[3], year: m[4] }),
  },
  // 2026-12-14
  {
    regex: String.raw`(\d{4})-(\d{2})-(\d{2})`,
    read: (m) => ({ year: m[1], month: m[2], day: m[3] }),
  },
];

interface Parts {
  readonly weekday?: string | undefined;
  readonly day?: string | undefined;
  readonly month?: string | undefined;
  readonly year?: string | undefined;
}

function iso(year: number, month: number, day: number): string | undefined {
  const date = new Date(Date.UTC(year, month - 1, day));
  if (date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) {
    return undefined;
  }
  return date.toISOString().slice(0, 10);
}

function weekdayOf(isoDay: string): number {
  return new Date(`${isoDay}T00:00:00Z`).getUTCDay();
}

/** The day before or after a YYYY-MM-DD day. */
export function shiftDay(isoDay: string, days: number): string {
  const date = new Date(`${isoDay}T00:00:00Z`);
  date.setUTCDate(date.getUTCDate() + days);
  return date.toISOString().slice(0, 10);
}

function dateOf(parts: Parts, today: string): string | undefined {
  const day = Number(parts.day);
  const month =
    parts.month === undefined
      ? NaN
      : /^\d+$/.test(parts.month)
        ? Number(parts.month)
        : (MONTHS[parts.month.toLowerCase().replace(/\.$/, "").slice(0, 4)] ??
          MONTHS[parts.month.toLowerCase().slice(0, 3)]);
  if (month === undefined || !Number.isInteger(month) || !Number.isInteger(day)) return undefined;
  const weekday = parts.weekday === undefined ? undefined : WEEKDAYS[parts.weekday.toLowerCase()];
  if (parts.year !== undefined) {
    const year = parts.year.length === 2 ? 2000 + Number(parts.year) : Number(parts.year);
    return iso(year, month, day);
  }
  const thisYear = Number(today.slice(0, 4));
  const candidates = [thisYear, thisYear + 1]
    .map((y) => iso(y, month, day))
    .filter((d): d is string => d !== undefined && d >= today);
  if (weekday !== undefined) {
    const agreeing = candidates.find((d) => weekdayOf(d) === weekday);
    if (agreeing !== undefined) return agreeing;
  }
  return candidates[0];
}

/**
 * The last day away that an out-of-office text states, read on `today` (YYYY-MM-DD, London), or
 * undefined when it states none (or only a date already past).
 */
export function statedReturn(text: string, today: string): StatedReturn | undefined {
  const flat = text.replace(/\s+/g, " ");
  let best: (StatedReturn & { index: number }) | undefined;
  for (const trigger of TRIGGERS) {
    for (const form of DATE_FORMS) {
      const regex = new RegExp(`\\b${trigger.pattern}\\s+(?:on\\s+|the\\s+)*${form.regex}`, "gi");
      for (let m = regex.exec(flat); m !== null; m = regex.exec(flat)) {
        // The trigger's groups are all non-capturing: the match's groups are the date form's.
        const date = dateOf(form.read(m), today);
        if (date === undefined) continue;
        const lastDayAway = trigger.back ? shiftDay(date, -1) : date;
        if (lastDayAway < today) continue;
        // The first statement in the text wins: a later date is usually a colleague's or a deadline.
        if (best === undefined || m.index < best.index)
          best = { lastDayAway, phrase: m[0].trim(), index: m.index };
      }
    }
  }
  return best === undefined ? undefined : { lastDayAway: best.lastDayAway, phrase: best.phrase };
}
