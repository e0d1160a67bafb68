import { describe, expect, it } from "vitest";
import {
  asWritten,
  dateInWords,
  dayInShortWords,
  deadlineInWords,
  instantInRefusalWords,
  instantInShortWords,
  shortDate,
  timeInWords,
} from "../../../functions/domain/dates-in-words.js";
import { formatDeadline } from "../../../functions/audit/words.js";
import { deadlineInWords as mailDeadlineInWords } from "../../../functions/mail/templates.js";

/** One wording of London dates and times for the emails, the case notes, the timelines and the API. */

describe("times in words (GOV.UK style)", () => {
  it.each([
    [17, 0, "5pm"],
    [17, 30, "5:30pm"],
    [9, 5, "9:05am"],
    [12, 0, "midday"],
    [12, 15, "12:15pm"],
    [0, 0, "midnight"],
    [0, 30, "12:30am"],
  ])("%i:%i is %s", (hour, minute, words) => {
    expect(timeInWords(hour, minute)).toBe(words);
  });
});

describe("one wording everywhere", () => {
  it("says midday, not 12pm, in the emails and in the audit renderings alike", () => {
    const noon = "2026-06-12T11:00:00Z"; // 12:00 BST
    expect(deadlineInWords(noon)).toBe("midday on Friday 12 June 2026");
    expect(mailDeadlineInWords(noon)).toBe(deadlineInWords(noon));
    expect(formatDeadline(noon)).toBe(deadlineInWords(noon));
    expect(formatDeadline(noon, "2026-06-01T09:00:00Z")).toBe("midday on Friday 12 June");
  });

  it("leaves the year out only when it is the year of the sentence's own instant", () => {
    const deadline = "2027-01-04T17:00:00Z";
    expect(deadlineInWords(deadline, "2027-01-01T10:00:00Z")).toBe("5pm on Monday 4 January");
    expect(deadlineInWords(deadline, "2026-12-29T10:00:00Z")).toBe("5pm on Monday 4 January 2027");
    // The London year: 23:30 UTC on 31 December 2026 is still 2026 in London (GMT).
    expect(deadlineInWords(deadline, "2026-12-31T23:30:00Z")).toBe("5pm on Monday 4 January 2027");
  });

  it("writes a London day the same whether given as a day or as an instant on it", () => {
    expect(dateInWords("2026-07-01")).toBe("Wednesday 1 July 2026");
    expect(dateInWords("2026-06-30T23:30:00Z")).toBe("Wednesday 1 July 2026");
    expect(dayInShortWords("2026-07-01")).toBe("Wed 1 July 2026");
    expect(dayInShortWords("2026-06-30T23:30:00Z")).toBe("Wed 1 July 2026");
    expect(shortDate("2026-07-01")).toBe("Wed 1 Jul");
  });

  it("writes instants in London time across the clock changes", () => {
    expect(instantInShortWords("2026-03-29T00:59:00Z")).toBe("Sun 29 March 2026 00:59");
    expect(instantInShortWords("2026-03-29T01:00:00Z")).toBe("Sun 29 March 2026 02:00");
    expect(instantInShortWords("2026-10-25T00:30:00Z")).toBe("Sun 25 October 2026 01:30");
    expect(instantInShortWords("2026-10-25T01:30:00Z")).toBe("Sun 25 October 2026 01:30");
    expect(instantInRefusalWords("2026-05-29T16:00:00Z")).toBe("Fri, 29 May 2026, 17:00");
  });

  it("refuses what is not a date, and renderings of records show it as written", () => {
    expect(() => deadlineInWords("next Tuesday")).toThrow(/ISO/);
    expect(() => dateInWords("2026-02-30")).toThrow(RangeError);
    expect(asWritten("next Tuesday", deadlineInWords)).toBe("next Tuesday");
    expect(formatDeadline("soon")).toBe("soon");
  });
});
