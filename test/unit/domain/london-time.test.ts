import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { createEnglandCalendar } from "../../../functions/domain/calendar.js";
import {
  addDays,
  addMonths,
  deadlineOn,
  endOfLondonDay,
  isCalendarDay,
  londonClock,
  londonDay,
  londonInstant,
  londonMonth,
  overdueFrom,
  startOfLondonDay,
  weekdayOf,
} from "../../../functions/domain/london-time.js";
import { summerTime, ukOffsetHours, ukWallClock } from "../../support/uk-summer-time.js";

/**
 * London time against the UK summer-time rule written out by hand (test/support/uk-summer-time.ts):
 * clocks go forward at 01:00 UTC on the last Sunday of March, back at 01:00 UTC on the last Sunday
 * of October.
 */

const iso = (date: Date): string => date.toISOString();
const instants = fc.date({
  min: new Date("2000-01-01T00:00:00Z"),
  max: new Date("2099-12-31T23:59:59Z"),
  noInvalidDate: true,
});
const days = fc
  .integer({ min: Date.UTC(2000, 1, 1) / 86_400_000, max: Date.UTC(2099, 11, 30) / 86_400_000 })
  .map((n) => new Date(n * 86_400_000).toISOString().slice(0, 10));

describe("the London day of an instant", () => {
  it.each([
    // Around the spring change (Sunday 29 March 2026, 01:00 UTC).
    ["2026-03-28T23:59:59.999Z", "2026-03-28"],
    ["2026-03-29T00:00:00.000Z", "2026-03-29"],
    ["2026-03-29T22:59:59.999Z", "2026-03-29"],
    ["2026-03-29T23:00:00.000Z", "2026-03-30"],
    // Around the autumn change (Sunday 25 October 2026, 01:00 UTC).
    ["2026-10-24T22:59:59.999Z", "2026-10-24"],
    ["2026-10-24T23:00:00.000Z", "2026-10-25"],
    ["2026-10-25T23:59:59.999Z", "2026-10-25"],
    ["2026-10-26T00:00:00.000Z", "2026-10-26"],
    // Late in a UTC day in summer is already the next London day; in winter it is not.
    ["2026-06-30T23:30:00Z", "2026-07-01"],
    ["2026-01-15T23:30:00Z", "2026-01-15"],
  ])("%s is %s", (instant, day) => {
    expect(londonDay(instant)).toBe(day);
    expect(londonDay(new Date(instant))).toBe(day);
  });

  it("is the hand-written rule's day for any instant, and its month the day's", () => {
    fc.assert(
      fc.property(instants, (instant) => {
        expect(londonDay(instant)).toBe(ukWallClock(instant).slice(0, 10));
        expect(londonMonth(instant)).toBe(ukWallClock(instant).slice(0, 7));
        const clock = londonClock(instant);
        const wall = ukWallClock(instant);
        expect([clock.hour, clock.minute, clock.second, clock.millisecond]).toEqual([
          Number(wall.slice(11, 13)),
          Number(wall.slice(14, 16)),
          Number(wall.slice(17, 19)),
          Number(wall.slice(20, 23)),
        ]);
      }),
      { numRuns: 1000 },
    );
  });

  it("refuses what is not an instant", () => {
    expect(() => londonDay("next Tuesday")).toThrow(/ISO-8601/);
    expect(() => londonDay(new Date(Number.NaN))).toThrow(/not a valid date/);
  });
});

describe("the summer-time rule against ICU's zone data", () => {
  // The module works London's offset out from the rule from 1996 (no Intl start-up in a cold
  // start); ICU's zone data is the independent source here, so a change in the law fails this.
  const icu = new Intl.DateTimeFormat("en-US", {
    timeZone: "Europe/London",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    hourCycle: "h23",
  });
  const icuWallClock = (ms: number): string => {
    const part = (type: Intl.DateTimeFormatPartTypes, parts: Intl.DateTimeFormatPart[]): string =>
      parts.find((p) => p.type === type)?.value ?? "";
    const parts = icu.formatToParts(new Date(ms));
    return `${part("year", parts)}-${part("month", parts)}-${part("day", parts)}T${part("hour", parts)}:${part("minute", parts)}:${part("second", parts)}`;
  };
  const ruleWallClock = (ms: number): string => {
    const c = londonClock(new Date(ms));
    const two = (n: number): string => String(n).padStart(2, "0");
    return `${String(c.year)}-${two(c.month)}-${two(c.day)}T${two(c.hour)}:${two(c.minute)}:${two(c.second)}`;
  };

  it("reads every instant either side of every clock change from 1996 to 2100 as ICU does", () => {
    let compared = 0;
    for (let year = 1996; year <= 2100; year++) {
      const { starts, ends } = summerTime(year);
      for (const change of [starts, ends]) {
        for (const delta of [-3_600_000, -1000, -1, 0, 1, 1000, 3_600_000]) {
          expect(ruleWallClock(change + delta)).toBe(icuWallClock(change + delta));
          compared++;
        }
      }
      // And the middle of every month, by day and by night.
      for (let month = 0; month < 12; month++) {
        for (const hour of [0, 12, 23]) {
          const ms = Date.UTC(year, month, 15, hour, 30);
          expect(ruleWallClock(ms)).toBe(icuWallClock(ms));
          compared++;
        }
      }
    }
    expect(compared).toBe(105 * (14 + 36));
  });

  it("asks ICU before 1996, when London kept other rules", () => {
    // British Standard Time: an hour ahead all year, winter included, 1968 to 1971.
    expect(londonClock("1970-01-15T12:00:00Z").hour).toBe(13);
    // In 1995 summer time ended on 22 October, a week before the later rule's last Sunday.
    expect(londonDay("1995-10-28T23:30:00Z")).toBe("1995-10-28");
    expect(londonDay("1996-10-26T23:30:00Z")).toBe("1996-10-27");
    expect(iso(londonInstant("1970-01-15", { hour: 13, minute: 0 }))).toBe("1970-01-15T12:00:00.000Z");
  });
});

describe("the instant of a London wall-clock time", () => {
  it.each([
    // 17:00 is 16:00Z in summer time and 17:00Z in winter, either side of both changes.
    ["2026-03-27", "17:00", "2026-03-27T17:00:00.000Z"],
    ["2026-03-30", "17:00", "2026-03-30T16:00:00.000Z"],
    ["2026-10-23", "17:00", "2026-10-23T16:00:00.000Z"],
    ["2026-10-26", "17:00", "2026-10-26T17:00:00.000Z"],
    // On the change days themselves.
    ["2026-03-29", "17:00", "2026-03-29T16:00:00.000Z"],
    ["2026-10-25", "17:00", "2026-10-25T17:00:00.000Z"],
    // Midnight exists once on every London day.
    ["2026-03-29", "00:00", "2026-03-29T00:00:00.000Z"],
    ["2026-10-25", "00:00", "2026-10-24T23:00:00.000Z"],
    // 01:30 is skipped in spring (read on the winter offset: 02:30 summer time) and shown twice in
    // autumn (the first showing).
    ["2026-03-29", "01:30", "2026-03-29T01:30:00.000Z"],
    ["2026-10-25", "01:30", "2026-10-25T00:30:00.000Z"],
  ])("%s %s is %s", (day, time, instant) => {
    const [hour, minute] = time.split(":").map(Number);
    expect(iso(londonInstant(day, { hour: hour ?? 0, minute: minute ?? 0 }))).toBe(instant);
  });

  it("a deadline is 17:00 London on its day, whatever the season", () => {
    fc.assert(
      fc.property(days, (day) => {
        const deadline = deadlineOn(day);
        expect(ukWallClock(deadline)).toBe(`${day}T17:00:00.000`);
        expect(deadline.getUTCHours()).toBe(17 - ukOffsetHours(deadline));
      }),
      { numRuns: 1000 },
    );
  });

  it("round-trips every wall-clock time that exists, a time shown twice to its first showing", () => {
    fc.assert(
      fc.property(instants, (instant) => {
        const c = londonClock(instant);
        // The hour after the autumn change shows 01:00-01:59 a second time.
        const { ends } = summerTime(instant.getUTCFullYear());
        const secondShowing = instant.getTime() >= ends && instant.getTime() < ends + 3_600_000;
        const expected = secondShowing ? new Date(instant.getTime() - 3_600_000) : instant;
        expect(iso(londonInstant(londonDay(instant), c))).toBe(iso(expected));
      }),
      { numRuns: 1000, examples: [[new Date("2052-10-27T01:00:00.000Z")]] },
    );
  });
});

describe("days", () => {
  it("start at London midnight and end a millisecond before the next; 23 and 25 hours long on the change days", () => {
    const hours = (day: string): number =>
      (endOfLondonDay(day).getTime() + 1 - startOfLondonDay(day).getTime()) / 3_600_000;
    for (let year = 2000; year <= 2099; year++) {
      const { starts, ends } = summerTime(year);
      const spring = new Date(starts).toISOString().slice(0, 10);
      const autumn = new Date(ends).toISOString().slice(0, 10);
      expect(hours(spring), spring).toBe(23);
      expect(hours(autumn), autumn).toBe(25);
      expect(hours(addDays(spring, 1))).toBe(24);
      expect(hours(addDays(autumn, -1))).toBe(24);
    }
    expect(iso(startOfLondonDay("2026-07-01"))).toBe("2026-06-30T23:00:00.000Z");
    expect(iso(endOfLondonDay("2026-07-01"))).toBe("2026-07-01T22:59:59.999Z");
  });

  it("something due by a date is overdue from the start of the London day after it", () => {
    expect(iso(overdueFrom("2026-03-10"))).toBe("2026-03-11T00:00:00.000Z");
    expect(iso(overdueFrom("2026-06-10"))).toBe("2026-06-10T23:00:00.000Z");
    // Due on the Saturday before the clocks go forward / back.
    expect(iso(overdueFrom("2026-03-28"))).toBe("2026-03-29T00:00:00.000Z");
    expect(iso(overdueFrom("2026-10-24"))).toBe("2026-10-24T23:00:00.000Z");
    expect(iso(overdueFrom("2026-03-29"))).toBe("2026-03-29T23:00:00.000Z");
    expect(iso(overdueFrom("2026-10-25"))).toBe("2026-10-26T00:00:00.000Z");
    fc.assert(
      fc.property(days, (day) => {
        const from = overdueFrom(day);
        expect(londonDay(from)).toBe(addDays(day, 1));
        expect(londonDay(new Date(from.getTime() - 1))).toBe(day);
      }),
      { numRuns: 500 },
    );
  });

  it("add days and months on the calendar, the month's last day when it is shorter", () => {
    expect(addDays("2026-12-31", 1)).toBe("2027-01-01");
    expect(addDays("2024-03-01", -1)).toBe("2024-02-29");
    expect(addDays("2026-03-28", 2)).toBe("2026-03-30");
    expect(addMonths("2026-01-31", 1)).toBe("2026-02-28");
    expect(addMonths("2024-01-31", 1)).toBe("2024-02-29");
    expect(addMonths("2026-11-30", 3)).toBe("2027-02-28");
    expect(addMonths("2026-05-15", -5)).toBe("2025-12-15");
    expect(weekdayOf("2026-12-05")).toBe(6);
    expect(weekdayOf("2026-12-07")).toBe(1);
  });

  it("refuses a day that is not a real YYYY-MM-DD date", () => {
    for (const bad of ["2026-02-29", "2026-13-01", "2026-1-01", "1 March 2026", "2026-03-01T00:00:00Z"]) {
      expect(isCalendarDay(bad)).toBe(false);
      expect(() => addDays(bad, 1)).toThrow(`"${bad}"`);
      expect(() => overdueFrom(bad)).toThrow(RangeError);
    }
    expect(isCalendarDay("2024-02-29")).toBe(true);
  });
});

describe("the working-day calendar across the clock changes", () => {
  const calendar = createEnglandCalendar();

  it.each([
    // Raised Thursday 26 March 2026 (GMT): five working days is Thursday 2 April, 17:00 BST.
    ["2026-03-26T10:00:00Z", 5, "2026-04-02T16:00:00.000Z"],
    // Raised Friday 27 March 17:30 (GMT), counted from Monday: Friday 3 April is Good Friday.
    ["2026-03-27T17:30:00Z", 5, "2026-04-07T16:00:00.000Z"],
    // Raised Thursday 22 October 2026 (BST): five working days is Thursday 29 October, 17:00 GMT.
    ["2026-10-22T10:00:00Z", 5, "2026-10-29T17:00:00.000Z"],
    // Raised at 23:30 UTC on Saturday 24 October: already Sunday 25 October in London.
    ["2026-10-24T23:30:00Z", 1, "2026-10-26T17:00:00.000Z"],
  ])("raised %s, %i working days: due %s", (start, n, due) => {
    expect(iso(calendar.deadlineAfter(new Date(start), n))).toBe(due);
  });

  it("a reminder n working days before a 17:00 deadline is at 17:00 London that day, over a change", () => {
    // Deadline Monday 30 March 2026 17:00 BST; one working day before is Friday 27 March 17:00 GMT.
    expect(iso(calendar.workingDaysBefore(new Date("2026-03-30T16:00:00Z"), 1))).toBe(
      "2026-03-27T17:00:00.000Z",
    );
    // Deadline Monday 26 October 2026 17:00 GMT; one working day before is Friday 23 October 17:00 BST.
    expect(iso(calendar.workingDaysBefore(new Date("2026-10-26T17:00:00Z"), 1))).toBe(
      "2026-10-23T16:00:00.000Z",
    );
    fc.assert(
      fc.property(days, fc.integer({ min: 1, max: 10 }), (day, n) => {
        const deadline = deadlineOn(day);
        const before = calendar.workingDaysBefore(deadline, n);
        expect(ukWallClock(before).slice(11)).toBe("17:00:00.000");
        // The n - 1 working days in between, and the deadline's own day when it is a working day.
        expect(calendar.workingDaysBetween(before, deadline)).toBe(
          n - 1 + (calendar.isWorkingDay(day) ? 1 : 0),
        );
      }),
      { numRuns: 300 },
    );
  });
});
