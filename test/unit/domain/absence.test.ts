import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { statedReturn } from "../../../functions/domain/absence-dates.js";
import {
  type Absence,
  COVER_CITATION,
  MAX_ABSENCES,
  absenceCovers,
  absenceOn,
  recordAbsenceRequestSchema,
  withAbsence,
} from "../../../functions/domain/absence.js";
import { normalise } from "./presets/seed.js";

const absence = (over: Partial<Absence> = {}): Absence => ({
  absenceId: "a1",
  from: "2026-12-07",
  to: "2026-12-11",
  source: "api",
  recordedBy: "ism-1",
  recordedAt: "2026-12-05T09:00:00.000Z",
  ...over,
});

describe("absences", () => {
  it("cover their days inclusive, and none after an early end", () => {
    const a = absence();
    expect(["2026-12-06", "2026-12-07", "2026-12-11", "2026-12-12"].map((d) => absenceCovers(a, d))).toEqual([
      false,
      true,
      true,
      false,
    ]);
    const ended = absence({ endedOn: "2026-12-09", endedBy: "ism-1" });
    expect(absenceCovers(ended, "2026-12-08")).toBe(true);
    expect(absenceCovers(ended, "2026-12-09")).toBe(false);
    const openEnded = absence({ to: undefined });
    expect(absenceCovers(openEnded, "2030-01-01")).toBe(true);
  });

  it("pick the one ending last when several overlap, an open end outlasting any date", () => {
    const dated = absence({ absenceId: "dated" });
    const open = absence({ absenceId: "open", from: "2026-12-09", to: undefined });
    expect(absenceOn([dated, open], "2026-12-10")?.absenceId).toBe("open");
    expect(absenceOn([dated, open], "2026-12-08")?.absenceId).toBe("dated");
    expect(absenceOn([dated], "2026-12-20")).toBeUndefined();
  });

  it("keep at most MAX_ABSENCES, dropping the oldest", () => {
    let list: Absence[] = [];
    for (let i = 0; i < MAX_ABSENCES + 3; i++)
      list = withAbsence(list, absence({ absenceId: `a${String(i)}` }));
    expect(list).toHaveLength(MAX_ABSENCES);
    expect(list[0]?.absenceId).toBe("a3");
  });

  it("refuse a request whose last day is before its first, and unknown fields", () => {
    expect(recordAbsenceRequestSchema.safeParse({ from: "2026-12-07", to: "2026-12-06" }).success).toBe(
      false,
    );
    expect(recordAbsenceRequestSchema.safeParse({ from: "2026-12-07", by: "x" }).success).toBe(false);
    expect(recordAbsenceRequestSchema.safeParse({ from: "2026-12-07" }).success).toBe(true);
  });

  it("cite a seed sentence verbatim for cover (000 §1.3: 'or their nominee')", () => {
    const seed = normalise(
      readFileSync(new URL("../../../docs/seeds/000_cc8bd49fbf9cf7e3.txt", import.meta.url), "utf8"),
    );
    expect(seed).toContain(normalise(COVER_CITATION));
  });
});

describe("the return date an out-of-office reply states", () => {
  // Received on Saturday 5 December 2026.
  const today = "2026-12-05";
  it.each([
    ["I am on annual leave until Monday 14 December.", "2026-12-14"],
    ["I'm out of the office until Mon 14th Dec and will reply then", "2026-12-14"],
    ["I will be back on 14/12/2026.", "2026-12-13"],
    ["Back on 14/12.", "2026-12-13"],
    ["I am away, returning 14 December 2026.", "2026-12-13"],
    ["I shall return to the office on Tuesday, December 15th", "2026-12-14"],
    ["Back in the office on 2026-12-14", "2026-12-13"],
    ["On leave till 4 January; back on Tuesday 5 January", "2027-01-04"],
  ])("%s → last day away %s", (text, lastDayAway) => {
    expect(statedReturn(text, today)?.lastDayAway).toBe(lastDayAway);
  });

  it("reads a date without a year as the next one, and a weekday that agrees only next year as next year", () => {
    // 4 January 2027 is a Monday; "Monday 4 January" therefore means 2027.
    expect(statedReturn("back on Monday 4 January", today)?.lastDayAway).toBe("2027-01-03");
  });

  it.each([
    "I am out of the office with limited access to email.",
    "I am on leave until further notice.",
    "Back on 31/02/2027",
    "I was away until 1 December 2026",
    "Please call 01234 567890 until then",
  ])("states no date: %s", (text) => {
    expect(statedReturn(text, today)).toBeUndefined();
  });
});
