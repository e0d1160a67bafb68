import { describe, expect, it } from "vitest";
import {
  InvalidRetentionInputError,
  RETENTION_RULES,
  anniversary,
  retentionDecision,
  retentionOf,
} from "../../../functions/domain/retention.js";

describe("retentionOf: from the child's date of birth, never from closure", () => {
  it("keeps a looked-after child's record until the 75th birthday (reg. 50)", () => {
    expect(retentionOf({ dateOfBirth: "1950-06-15", track: "LAC" })).toEqual({
      retainUntil: "2025-06-15",
      rule: "lac_75th_birthday",
    });
    expect(retentionOf({ dateOfBirth: "2015-01-09", track: "LAC" }).retainUntil).toBe("2090-01-09");
  });

  it("keeps the record 15 years from the death of a child who died before 18", () => {
    expect(retentionOf({ dateOfBirth: "2010-03-01", track: "LAC", dateOfDeath: "2020-05-04" })).toEqual({
      retainUntil: "2035-05-04",
      rule: "lac_15_years_after_death",
    });
  });

  it("keeps to the 75th birthday when the child died at 18 or later", () => {
    const result = retentionOf({ dateOfBirth: "2000-03-01", track: "LAC", dateOfDeath: "2018-03-01" });
    expect(result).toEqual({ retainUntil: "2075-03-01", rule: "lac_75th_birthday" });
    // The day before the 18th birthday is still a death before 18.
    expect(retentionOf({ dateOfBirth: "2000-03-01", track: "LAC", dateOfDeath: "2018-02-28" }).rule).toBe(
      "lac_15_years_after_death",
    );
  });

  it("keeps child-protection records to the authority's rule", () => {
    expect(
      retentionOf({ dateOfBirth: "2015-01-09", track: "CP", settings: { childProtectionUntilAge: 25 } }),
    ).toEqual({ retainUntil: "2040-01-09", rule: "cp_authority_rule" });
  });

  it("keeps child-protection records as long as LAC records when the authority set no rule", () => {
    expect(retentionOf({ dateOfBirth: "2015-01-09", track: "CP", settings: {} })).toEqual({
      retainUntil: "2090-01-09",
      rule: "cp_default_75th_birthday",
    });
  });

  it("moves a 29 February anniversary to 1 March in a common year, keeping the full term", () => {
    expect(anniversary("2008-02-29", 75)).toBe("2083-03-01");
    expect(anniversary("2008-02-29", 76)).toBe("2084-02-29");
    expect(retentionOf({ dateOfBirth: "1952-02-29", track: "LAC" }).retainUntil).toBe("2027-03-01");
  });

  it("refuses dates that are not calendar dates, and a death before birth", () => {
    expect(() => retentionOf({ dateOfBirth: "2015-02-30", track: "LAC" })).toThrow(
      InvalidRetentionInputError,
    );
    expect(() => retentionOf({ dateOfBirth: "15/01/2015", track: "LAC" })).toThrow(
      InvalidRetentionInputError,
    );
    expect(() => retentionOf({ dateOfBirth: "2015-01-09", track: "LAC", dateOfDeath: "2014-12-31" })).toThrow(
      "before the date of birth",
    );
  });

  it("names every rule with a citation", () => {
    for (const citation of Object.values(RETENTION_RULES)) expect(citation.length).toBeGreaterThan(20);
    expect(RETENTION_RULES.lac_75th_birthday).toContain("reg. 50");
  });
});

describe("retentionDecision", () => {
  it("deletes only after the retention date, never on it", () => {
    expect(retentionDecision("2025-06-15", "2025-06-15", false)).toBe("retain");
    expect(retentionDecision("2025-06-15", "2025-06-16", false)).toBe("delete");
    expect(retentionDecision("2025-06-15", "2025-06-14", false)).toBe("retain");
  });

  it("never deletes a held record", () => {
    expect(retentionDecision("2025-06-15", "2026-01-01", true)).toBe("held");
    expect(retentionDecision("2025-06-15", "2025-01-01", true)).toBe("retain");
  });
});
