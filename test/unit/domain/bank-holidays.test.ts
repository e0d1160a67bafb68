import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { BANK_HOLIDAYS_PATH, renderBankHolidays } from "../../../bin/bank-holidays.js";
import { ENGLAND_AND_WALES_BANK_HOLIDAYS } from "../../../functions/domain/bank-holidays.js";
import { createEnglandCalendar } from "../../../functions/domain/calendar.js";

describe("the generated England and Wales bank-holiday table", () => {
  it("is what date-holidays says today (run npm run bank-holidays after upgrading it)", async () => {
    expect(await readFile(BANK_HOLIDAYS_PATH, "utf8")).toBe(await renderBankHolidays());
  });

  it("holds the one-off bank holidays that are announced, not computed", () => {
    // The Platinum Jubilee (3 June 2022), the State Funeral (19 September 2022), the Coronation (8 May 2023).
    expect(ENGLAND_AND_WALES_BANK_HOLIDAYS[2022]).toEqual(expect.arrayContaining(["06-03", "09-19"]));
    expect(ENGLAND_AND_WALES_BANK_HOLIDAYS[2023]).toContain("05-08");
  });

  it("refuses a year it does not cover rather than treating it as one without bank holidays", () => {
    const calendar = createEnglandCalendar();
    expect(() => calendar.isWorkingDay("2100-12-27")).toThrow(/2100.*npm run bank-holidays/);
  });
});
