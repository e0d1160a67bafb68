import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { createEnglandCalendar } from "../../../functions/domain/calendar.js";
import { ukWallClock } from "../../support/uk-summer-time.js";

// Expected dates are from the GOV.UK England and Wales bank holiday list, and were cross-checked
// against date-holidays 3.37.0 (GB/ENG) for 2020-2027.
const calendar = createEnglandCalendar();
const at = (iso: string): Date => new Date(iso);
const deadline = (startIso: string, n: number): string =>
  calendar.deadlineAfter(at(startIso), n).toISOString();

describe("bank holidays (England and Wales)", () => {
  it.each([
    // 2020: VE Day moved the early May bank holiday to Friday 8 May; Boxing Day (Sat) substituted Mon 28 Dec.
    [
      "2020-01-01",
      "2020-04-10",
      "2020-04-13",
      "2020-05-08",
      "2020-05-25",
      "2020-08-31",
      "2020-12-25",
      "2020-12-28",
    ],
    [
      "2021-01-01",
      "2021-04-02",
      "2021-04-05",
      "2021-05-03",
      "2021-05-31",
      "2021-08-30",
      "2021-12-27",
      "2021-12-28",
    ],
    // 2022: New Year's Day (Sat) substituted Mon 3 Jan; Spring moved to Thu 2 Jun for the Platinum
    // Jubilee (Fri 3 Jun); the Queen's funeral Mon 19 Sep; Christmas Day (Sun) substituted Tue 27 Dec.
    [
      "2022-01-03",
      "2022-04-15",
      "2022-04-18",
      "2022-05-02",
      "2022-06-02",
      "2022-06-03",
      "2022-08-29",
      "2022-09-19",
      "2022-12-26",
      "2022-12-27",
    ],
    // 2023: the Coronation, Mon 8 May.
    ["2023-01-02", "2023-04-07", "2023-04-10", "2023-05-01", "2023-05-08", "2023-05-29", "2023-08-28"],
    [
      "2024-01-01",
      "2024-03-29",
      "2024-04-01",
      "2024-05-06",
      "2024-05-27",
      "2024-08-26",
      "2024-12-25",
      "2024-12-26",
    ],
    [
      "2025-01-01",
      "2025-04-18",
      "2025-04-21",
      "2025-05-05",
      "2025-05-26",
      "2025-08-25",
      "2025-12-25",
      "2025-12-26",
    ],
    [
      "2026-01-01",
      "2026-04-03",
      "2026-04-06",
      "2026-05-04",
      "2026-05-25",
      "2026-08-31",
      "2026-12-25",
      "2026-12-28",
    ],
    [
      "2027-01-01",
      "2027-03-26",
      "2027-03-29",
      "2027-05-03",
      "2027-05-31",
      "2027-08-30",
      "2027-12-27",
      "2027-12-28",
    ],
    ["2028-01-03"],
  ])("%s ... are not working days", (...days) => {
    for (const day of days) expect(calendar.isWorkingDay(day), day).toBe(false);
  });

  it("treats ordinary weekdays, including days next to moved holidays, as working days", () => {
    for (const day of [
      "2020-05-04", // the early May Monday that VE Day replaced
      "2022-05-30", // the late May Monday moved to 2 Jun 2022
      "2022-12-28",
      "2026-04-02",
      "2026-04-07",
      "2026-12-24",
      "2026-12-29",
    ]) {
      expect(calendar.isWorkingDay(day), day).toBe(true);
    }
  });

  it("does not count observances such as Mother's Day or Easter Sunday, nor Scottish holidays", () => {
    // Weekends anyway; the weekday checks are what matter: St Andrew's Day (Mon 30 Nov 2026) and
    // 2 January (Fri 2 Jan 2026) are Scottish bank holidays only; 12 July (Mon 12 Jul 2027) is Northern Ireland's.
    expect(calendar.isWorkingDay("2026-11-30")).toBe(true);
    expect(calendar.isWorkingDay("2026-01-02")).toBe(true);
    expect(calendar.isWorkingDay("2027-07-12")).toBe(true);
    expect(calendar.isWorkingDay("2026-03-15")).toBe(false); // Mother's Day: a Sunday
  });

  it("treats weekends as non-working", () => {
    expect(calendar.isWorkingDay("2026-05-23")).toBe(false);
    expect(calendar.isWorkingDay("2026-05-24")).toBe(false);
    expect(calendar.isWorkingDay("2026-05-22")).toBe(true);
  });
});

describe("deadlineAfter", () => {
  it("Nottingham: raised Thu 21 May 2026, 5 working days over the late May bank holiday → Fri 29 May 17:00 BST", () => {
    // Fri 22 (1), Mon 25 bank holiday, Tue 26 (2), Wed 27 (3), Thu 28 (4), Fri 29 (5).
    expect(deadline("2026-05-21T10:15:00Z", 5)).toBe("2026-05-29T16:00:00.000Z");
  });

  it("skips Good Friday and Easter Monday 2026", () => {
    // Thu 2 Apr: Fri 3 and Mon 6 are bank holidays; Tue 7 (1) ... Fri 10 (4), Mon 13 (5).
    expect(deadline("2026-04-02T09:00:00Z", 5)).toBe("2026-04-13T16:00:00.000Z");
    expect(deadline("2026-04-02T09:00:00Z", 1)).toBe("2026-04-07T16:00:00.000Z");
  });

  it("skips Christmas 2021 substitute days (Christmas Sat, Boxing Day Sun) and New Year 2022 (Sat → Mon 3 Jan)", () => {
    expect(deadline("2021-12-24T12:00:00Z", 1)).toBe("2021-12-29T17:00:00.000Z");
    // Fri 24 (1), Wed 29 (2), Thu 30 (3), Fri 31 (4), Tue 4 Jan (5).
    expect(deadline("2021-12-23T12:00:00Z", 5)).toBe("2022-01-04T17:00:00.000Z");
  });

  it("skips Boxing Day 2022 and the Christmas Day substitute Tue 27 Dec 2022", () => {
    expect(deadline("2022-12-23T12:00:00Z", 1)).toBe("2022-12-28T17:00:00.000Z");
  });

  it("skips Mon 27 and Tue 28 Dec 2027 (Christmas on Saturday) and Mon 3 Jan 2028", () => {
    expect(deadline("2027-12-24T12:00:00Z", 1)).toBe("2027-12-29T17:00:00.000Z");
    // Wed 29 (1), Thu 30 (2), Fri 31 (3), Tue 4 Jan 2028 (4).
    expect(deadline("2027-12-24T12:00:00Z", 4)).toBe("2028-01-04T17:00:00.000Z");
  });

  it("skips the early May and August (summer) bank holidays", () => {
    expect(deadline("2026-05-01T12:00:00Z", 1)).toBe("2026-05-05T16:00:00.000Z"); // Mon 4 May 2026
    expect(deadline("2026-08-28T12:00:00Z", 1)).toBe("2026-09-01T16:00:00.000Z"); // Mon 31 Aug 2026
    expect(deadline("2025-08-22T12:00:00Z", 1)).toBe("2025-08-26T16:00:00.000Z"); // Mon 25 Aug 2025
  });

  it("is 17:00 London: 16:00Z in summer time and 17:00Z in winter", () => {
    expect(deadline("2026-07-06T09:00:00Z", 1)).toBe("2026-07-07T16:00:00.000Z");
    expect(deadline("2026-01-12T09:00:00Z", 1)).toBe("2026-01-13T17:00:00.000Z");
  });

  it("is right for windows straddling the clock changes (Sun 29 Mar and Sun 25 Oct 2026)", () => {
    // Raised in GMT, due in BST: Fri 27 Mar (1), Mon 30 Mar (2).
    expect(deadline("2026-03-26T12:00:00Z", 2)).toBe("2026-03-30T16:00:00.000Z");
    // Raised in BST, due in GMT: Fri 23 Oct (1), Mon 26 Oct (2).
    expect(deadline("2026-10-22T11:00:00Z", 2)).toBe("2026-10-26T17:00:00.000Z");
    // Raised on the clock-change Sundays themselves.
    expect(deadline("2026-03-29T00:30:00Z", 1)).toBe("2026-03-30T16:00:00.000Z");
    expect(deadline("2026-10-25T00:30:00Z", 1)).toBe("2026-10-26T17:00:00.000Z");
  });

  it("counts from the London date when it differs from the UTC date", () => {
    // 23:30Z on Tue 30 Jun 2026 is 00:30 on Wed 1 Jul in London: Thu 2 Jul is day 1.
    expect(calendar.londonDate(at("2026-06-30T23:30:00Z"))).toBe("2026-07-01");
    expect(deadline("2026-06-30T23:30:00Z", 1)).toBe("2026-07-02T16:00:00.000Z");
    expect(deadline("2026-06-30T22:59:59Z", 1)).toBe("2026-07-01T16:00:00.000Z");
    // Late on Thu 21 May 2026 London time is already Friday in London: Mon 1 Jun, not Fri 29 May.
    expect(deadline("2026-05-21T23:30:00Z", 5)).toBe("2026-06-01T16:00:00.000Z");
    // In winter London is UTC, so 23:30Z is still the same day.
    expect(calendar.londonDate(at("2026-01-15T23:30:00Z"))).toBe("2026-01-15");
  });

  it("does not count the start day, even when started on a non-working day", () => {
    expect(deadline("2026-05-23T10:00:00Z", 1)).toBe("2026-05-26T16:00:00.000Z"); // Saturday
    expect(deadline("2026-05-25T10:00:00Z", 1)).toBe("2026-05-26T16:00:00.000Z"); // bank holiday
    expect(deadline("2026-05-26T16:30:00Z", 1)).toBe("2026-05-27T16:00:00.000Z"); // after close of business
  });

  it("uses the authority's close of business time", () => {
    const cal = createEnglandCalendar({ closeOfBusiness: "16:30" });
    expect(cal.deadlineAfter(at("2026-07-06T09:00:00Z"), 1).toISOString()).toBe("2026-07-07T15:30:00.000Z");
    expect(cal.deadlineAfter(at("2026-01-12T09:00:00Z"), 1).toISOString()).toBe("2026-01-13T16:30:00.000Z");
  });
});

describe("workingDaysBefore", () => {
  const before = (iso: string, n: number): string => calendar.workingDaysBefore(at(iso), n).toISOString();

  it("is the same London time on the nth working day before, skipping weekends and bank holidays", () => {
    // Fri 29 May 2026 17:00 BST: Thu 28 is one working day before.
    expect(before("2026-05-29T16:00:00Z", 1)).toBe("2026-05-28T16:00:00.000Z");
    // Tue 26 May: the Monday is the late May bank holiday, so Friday 22 May.
    expect(before("2026-05-26T16:00:00Z", 1)).toBe("2026-05-22T16:00:00.000Z");
    // Mon 1 Jun: two working days before is Thursday 28 May.
    expect(before("2026-06-01T16:00:00Z", 2)).toBe("2026-05-28T16:00:00.000Z");
  });

  it("keeps the wall-clock time across a clock change", () => {
    // Mon 30 Mar 2026 17:00 BST: Fri 27 Mar 17:00 GMT.
    expect(before("2026-03-30T16:00:00Z", 1)).toBe("2026-03-27T17:00:00.000Z");
    // Mon 26 Oct 2026 17:00 GMT: Fri 23 Oct 17:00 BST.
    expect(before("2026-10-26T17:00:00Z", 1)).toBe("2026-10-23T16:00:00.000Z");
  });

  it("skips the authority's closure days", () => {
    const cal = createEnglandCalendar({ closureDays: ["2026-07-06"] });
    expect(cal.workingDaysBefore(at("2026-07-07T16:00:00Z"), 1).toISOString()).toBe(
      "2026-07-03T16:00:00.000Z",
    );
  });

  it("undoes deadlineAfter: n working days before a deadline of n working days is the start day's close of business", () => {
    fc.assert(
      fc.property(
        fc.date({
          min: new Date("2020-01-01T00:00:00Z"),
          max: new Date("2030-12-31T23:59:59Z"),
          noInvalidDate: true,
        }),
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 1, max: 10 }),
        (start, n, k) => {
          const due = calendar.deadlineAfter(start, n + k);
          const earlier = calendar.workingDaysBefore(due, k);
          expect(earlier.toISOString()).toBe(calendar.deadlineAfter(start, n).toISOString());
        },
      ),
      { numRuns: 300 },
    );
  });

  it.each([0, -1, 1.5, Number.NaN])("rejects %d working days", (n) => {
    expect(() => calendar.workingDaysBefore(at("2026-05-21T16:00:00Z"), n)).toThrow(/positive integer/);
  });
});

describe("closure days", () => {
  const cal = createEnglandCalendar({ closureDays: ["2026-12-29", "2026-12-30", "2026-12-31"] });

  it("are not working days", () => {
    expect(cal.isWorkingDay("2026-12-30")).toBe(false);
    expect(calendar.isWorkingDay("2026-12-30")).toBe(true);
  });

  it("are skipped by deadlines and counts", () => {
    // Thu 24 Dec 2026: Fri 25 and Mon 28 (Boxing Day substitute) are bank holidays, 29-31 closed, Fri 1 Jan 2027 bank holiday.
    expect(calendar.deadlineAfter(at("2026-12-24T12:00:00Z"), 1).toISOString()).toBe(
      "2026-12-29T17:00:00.000Z",
    );
    expect(cal.deadlineAfter(at("2026-12-24T12:00:00Z"), 1).toISOString()).toBe("2027-01-04T17:00:00.000Z");
    expect(cal.workingDaysBetween(at("2026-12-24T12:00:00Z"), at("2027-01-04T12:00:00Z"))).toBe(1);
    expect(calendar.workingDaysBetween(at("2026-12-24T12:00:00Z"), at("2027-01-04T12:00:00Z"))).toBe(4);
  });
});

describe("workingDaysBetween", () => {
  it("counts working days after the start date up to and including the end date", () => {
    expect(calendar.workingDaysBetween(at("2026-05-21T10:00:00Z"), at("2026-05-29T16:00:00Z"))).toBe(5);
    expect(calendar.workingDaysBetween(at("2026-04-02T10:00:00Z"), at("2026-04-06T10:00:00Z"))).toBe(0);
    expect(calendar.workingDaysBetween(at("2026-03-26T12:00:00Z"), at("2026-03-30T16:00:00Z"))).toBe(2);
  });

  it("is 0 when end is not later than start, or on the same London day", () => {
    expect(calendar.workingDaysBetween(at("2026-05-21T10:00:00Z"), at("2026-05-21T10:00:00Z"))).toBe(0);
    expect(calendar.workingDaysBetween(at("2026-05-21T10:00:00Z"), at("2026-05-20T10:00:00Z"))).toBe(0);
    expect(calendar.workingDaysBetween(at("2026-05-21T00:00:00Z"), at("2026-05-21T22:59:00Z"))).toBe(0);
  });

  it("uses London dates: 23:30Z in summer is the next day", () => {
    expect(calendar.workingDaysBetween(at("2026-06-30T12:00:00Z"), at("2026-06-30T23:30:00Z"))).toBe(1);
  });
});

describe("invalid input", () => {
  it.each(["2026-02-30", "29/12/2026", "2026-1-5", "2026-12-29T00:00", ""])(
    "rejects closure day %j, naming it",
    (bad) => {
      expect(() => createEnglandCalendar({ closureDays: ["2026-12-29", bad] })).toThrow(`"${bad}"`);
    },
  );

  it.each(["5pm", "24:00", "17:60", "7:00", "17:00:00"])("rejects closeOfBusiness %j, naming it", (bad) => {
    expect(() => createEnglandCalendar({ closeOfBusiness: bad })).toThrow(`"${bad}"`);
  });

  it.each([0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])("rejects %d working days", (n) => {
    expect(() => calendar.deadlineAfter(at("2026-05-21T10:00:00Z"), n)).toThrow(/positive integer/);
  });

  it("rejects invalid dates", () => {
    const invalid = new Date("not a date");
    expect(() => calendar.deadlineAfter(invalid, 5)).toThrow(/start is not a valid date/);
    expect(() => calendar.workingDaysBetween(at("2026-05-21T10:00:00Z"), invalid)).toThrow(/end/);
    expect(() => calendar.londonDate(invalid)).toThrow(/not a valid date/);
    expect(() => calendar.isWorkingDay("2026-13-01")).toThrow(/"2026-13-01"/);
  });
});

describe("properties", () => {
  it("deadlineAfter lands at close of business on a working day exactly n working days after start", () => {
    fc.assert(
      fc.property(
        fc.date({
          min: new Date("2020-01-01T00:00:00Z"),
          max: new Date("2030-12-31T23:59:59Z"),
          noInvalidDate: true,
        }),
        fc.integer({ min: 1, max: 30 }),
        (start, n) => {
          const due = calendar.deadlineAfter(start, n);
          expect(due.getTime()).toBeGreaterThan(start.getTime());
          expect(calendar.isWorkingDay(calendar.londonDate(due))).toBe(true);
          expect(calendar.workingDaysBetween(start, due)).toBe(n);
          expect(ukWallClock(due).slice(11)).toBe("17:00:00.000");
        },
      ),
      { numRuns: 500 },
    );
  });
});
