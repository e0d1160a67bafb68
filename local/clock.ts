/**
 * The service clock, locally: functions/shared/clock.ts moved forward on request, its offset kept
 * in the data folder so a restart continues at the same service time (a challenge raised "in 2027"
 * stays in 2027, and real time that passes while the runtime is stopped passes for it too).
 *
 * How far `advance` moves:
 * - `{ "workingDays": n }`: to one second past close of business (17:00 London) on the nth working
 *   day after today, counting as the protocols do (weekends, England and Wales bank holidays; the
 *   day itself not counted). That is the moment a deadline of n working days set now has passed,
 *   so `{ "workingDays": 5 }` right after raising a challenge makes its five-day stage time out.
 * - `{ "days": n }`, `{ "hours": n }`, `{ "minutes": n }`: that much time.
 * - `{ "to": "<ISO instant>" }`: to that instant (never backwards).
 * The service clock never moves back: deadlines, timers and event order depend on it.
 */
import { join } from "node:path";
import { createEnglandCalendar } from "../functions/domain/calendar.js";
import * as serviceClock from "../functions/shared/clock.js";
import { JsonFile } from "./stepfunctions/store.js";

export type ClockAdvance =
  | { readonly workingDays: number }
  | { readonly days: number }
  | { readonly hours: number }
  | { readonly minutes: number }
  | { readonly to: string };

export interface ClockView {
  readonly now: string;
  /** The service time in words, London time. */
  readonly london: string;
  /** How far the service clock is ahead of real time. */
  readonly offsetMs: number;
}

export interface LocalClock {
  now(): Date;
  view(): ClockView;
  /** Moves the clock forward (see the module comment); throws a RangeError for a bad request. */
  advance(by: ClockAdvance): ClockView;
  /** Stops saving the offset (the runtime is stopping); waits for the last save. */
  close(): Promise<void>;
}

const LONDON = new Intl.DateTimeFormat("en-GB", {
  timeZone: "Europe/London",
  weekday: "long",
  day: "numeric",
  month: "long",
  year: "numeric",
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
  hourCycle: "h23",
});

const calendar = createEnglandCalendar();
const MAX_ADVANCE_MS = 5 * 366 * 24 * 3600 * 1000;

function view(): ClockView {
  const now = serviceClock.now();
  return { now: now.toISOString(), london: LONDON.format(now), offsetMs: serviceClock.offset() };
}

/** Where `by` takes the clock from `from`. */
export function targetOf(by: ClockAdvance, from: Date): Date {
  const keys = Object.keys(by);
  if (keys.length !== 1) {
    throw new RangeError('give exactly one of "workingDays", "days", "hours", "minutes" or "to"');
  }
  const amount = (value: number, name: string, integer: boolean): number => {
    if (
      typeof value !== "number" ||
      !Number.isFinite(value) ||
      value <= 0 ||
      (integer && !Number.isInteger(value))
    ) {
      throw new RangeError(`"${name}" must be a positive ${integer ? "whole " : ""}number`);
    }
    return value;
  };
  if ("workingDays" in by) {
    const days = amount(by.workingDays, "workingDays", true);
    if (days > 260) throw new RangeError('"workingDays" is at most 260 (a working year)');
    return new Date(calendar.deadlineAfter(from, days).getTime() + 1000);
  }
  if ("days" in by) return new Date(from.getTime() + amount(by.days, "days", false) * 86_400_000);
  if ("hours" in by) return new Date(from.getTime() + amount(by.hours, "hours", false) * 3_600_000);
  if ("minutes" in by) return new Date(from.getTime() + amount(by.minutes, "minutes", false) * 60_000);
  if ("to" in by) {
    const to = typeof by.to === "string" ? Date.parse(by.to) : Number.NaN;
    if (Number.isNaN(to)) throw new RangeError('"to" must be an ISO-8601 instant, e.g. 2027-05-27T09:00:00Z');
    if (to < from.getTime()) {
      throw new RangeError(`the service clock only moves forward: it is already ${from.toISOString()}`);
    }
    return new Date(to);
  }
  throw new RangeError('give exactly one of "workingDays", "days", "hours", "minutes" or "to"');
}

/** Restores the saved offset (0 for a new data folder) and saves every later change. */
export function openLocalClock(dataDir: string): LocalClock {
  const file = new JsonFile(join(dataDir, "clock.json"));
  const stored = file.read() as { offsetMs?: unknown } | undefined;
  const offsetMs =
    typeof stored?.offsetMs === "number" && Number.isFinite(stored.offsetMs) ? stored.offsetMs : 0;
  serviceClock.setOffset(offsetMs);
  const save = (): void => {
    void file.write(
      JSON.stringify({ offsetMs: serviceClock.offset(), now: serviceClock.now().toISOString() }),
    );
  };
  const unsubscribe = serviceClock.onAdvance(save);
  return {
    now: serviceClock.now,
    view,
    advance: (by) => {
      const from = serviceClock.now();
      const to = targetOf(by, from);
      const delta = to.getTime() - from.getTime();
      if (delta > MAX_ADVANCE_MS)
        throw new RangeError("the service clock moves at most five years at a time");
      if (delta > 0) serviceClock.advanceBy(delta);
      return view();
    },
    close: async () => {
      unsubscribe();
      save();
      await file.close();
    },
  };
}
