import { createEnglandCalendar, type WorkingDayCalendar } from "../domain/calendar.js";
import type { ChallengeEvent } from "../domain/challenge/events.js";
import type { ChallengeState } from "../domain/challenge/state.js";
import { addMonths, endOfLondonDay } from "../domain/london-time.js";
import type { Protocol } from "../domain/protocol.js";
import type { ChallengeStore, Page, TrayQuery } from "../store/ports.js";
import type { ReportPeriod } from "./reports.js";

/**
 * What the readers' routes load (the themes report, the overdue view, the case-record system's
 * case-note pull), over the store's ports: every read is a key or index query (months raised, the
 * open-by-due-date tray, the child's index, a challenge's partition), never a scan. No AWS imports.
 */

/** The longest period one themes report covers: 13 calendar months (a year and its comparison month). */
export const MAX_REPORT_MONTHS = 13;

/** Challenges whose events are read at the same time. */
export const EVENT_READS_IN_FLIGHT = 8;

/** Page size for walking a tray to its end (the store's maximum). */
const PAGE = 100;

/** The tenant settings a reader needs: the calendar's closure days and close of business. */
export interface CalendarSettings {
  readonly closureDays: readonly string[];
  readonly closeOfBusiness?: string | undefined;
}

export function tenantCalendar(settings: CalendarSettings): WorkingDayCalendar {
  return createEnglandCalendar({
    closureDays: settings.closureDays,
    ...(settings.closeOfBusiness === undefined ? {} : { closeOfBusiness: settings.closeOfBusiness }),
  });
}

/** The calendar months (YYYY-MM) a period touches, in order. */
export function monthsOf(period: ReportPeriod): string[] {
  const months: string[] = [];
  const last = period.to.slice(0, 7);
  // From the first of the month: adding months to the 31st would skip a short month.
  for (let day = `${period.from.slice(0, 7)}-01`; day.slice(0, 7) <= last; day = addMonths(day, 1)) {
    months.push(day.slice(0, 7));
  }
  return months;
}

/** Why a period cannot be reported on, in plain words; undefined when it can. */
export function periodProblem(period: ReportPeriod): string | undefined {
  if (period.to < period.from) return `the period ends (${period.to}) before it starts (${period.from})`;
  const months = monthsOf(period).length;
  if (months > MAX_REPORT_MONTHS) {
    return `the period spans ${months} calendar months; a report covers at most ${MAX_REPORT_MONTHS}`;
  }
  return undefined;
}

/** A deadline later than any stage's: the open-by-due-date tray up to here holds every open stage. */
export const AFTER_EVERY_DEADLINE = "9999-12-31T23:59:59.999Z";

/** Every open challenge of the tenant (the open-by-due-date tray, every page), earliest deadline first. */
export function loadOpen(
  store: Pick<ChallengeStore, "openByDueDate">,
  tenantId: string,
): Promise<ChallengeState[]> {
  return allPages((page) => store.openByDueDate(tenantId, AFTER_EVERY_DEADLINE, page));
}

/** Every item of a paged tray, page by page. */
export async function allPages<T>(page: (query: TrayQuery) => Promise<Page<T>>): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | undefined;
  do {
    const result = await page(cursor === undefined ? { limit: PAGE } : { limit: PAGE, cursor });
    items.push(...result.items);
    cursor = result.next;
  } while (cursor !== undefined);
  return items;
}

/** Runs `task` over `items` with at most `limit` in flight; results in the order of `items`. */
export async function mapInPool<T, R>(
  items: readonly T[],
  limit: number,
  task: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await task(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** The protocols of these ids, in order, without repeats; an id the service does not know throws. */
export function protocolsFor(
  ids: Iterable<string>,
  lookup: (protocolId: string) => Protocol | undefined,
  unknown: (protocolId: string) => Error,
): Protocol[] {
  const found: Protocol[] = [];
  for (const id of new Set(ids)) {
    const protocol = lookup(id);
    if (protocol === undefined) throw unknown(id);
    found.push(protocol);
  }
  return found;
}

// --- the themes report's cohort -----------------------------------------------------------------

export interface Cohort {
  /** The challenges raised in the period (London dates), as their snapshots. */
  readonly challenges: readonly ChallengeState[];
  /** Every event of those challenges. */
  readonly events: readonly ChallengeEvent[];
}

/**
 * The challenges raised in the period and their events: one `raisedInMonth` query (every page) per
 * month the period touches, kept to the period's own days, then each challenge's partition.
 */
export async function loadCohort(
  store: Pick<ChallengeStore, "raisedInMonth" | "events">,
  tenantId: string,
  period: ReportPeriod,
  calendar: WorkingDayCalendar,
): Promise<Cohort> {
  const byMonth = await Promise.all(
    monthsOf(period).map((month) => allPages((query) => store.raisedInMonth(tenantId, month, query))),
  );
  const challenges = byMonth.flat().filter((state) => {
    const day = calendar.londonDate(new Date(state.raisedAt));
    return day >= period.from && day <= period.to;
  });
  const events = await mapInPool(challenges, EVENT_READS_IN_FLIGHT, async (state) =>
    (await store.events(tenantId, state.challengeId)).map((stored) => stored.event),
  );
  return { challenges, events: events.flat() };
}

// --- the overdue view ---------------------------------------------------------------------------

/**
 * The instant a report on `period` counts as at: the end of its last London day, or `now` while the
 * period is still running (a challenge is not "past target" on a day that has not come yet).
 */
export function periodAsAt(period: ReportPeriod, now: Date): Date {
  const end = endOfLondonDay(period.to);
  return end.getTime() > now.getTime() ? now : end;
}
