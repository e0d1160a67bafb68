import * as z from "zod/mini";
import { addDays, addMonths, isCalendarDay } from "./london-time.js";
import type { Track } from "./protocol.js";
import { about } from "./about.js";

/**
 * How long a challenge is kept, from the child's date of birth (DESIGN.md, Retention). Pure: no
 * clock, no AWS. Dates are calendar dates (YYYY-MM-DD); a record is due for deletion on the day
 * after its retention date, never on it.
 *
 * - Looked-after children (LAC): kept until the 75th birthday; if the child died before 18, for 15
 *   years from the date of death (Care Planning, Placement and Case Review (England) Regulations
 *   2010, reg. 50).
 * - Child protection (CP): the authority's own rule, a tenant setting (`untilAge`: kept until that
 *   birthday). An authority that has not set one keeps CP records as long as LAC records: without
 *   a rule, the reading that protects the child's record is the longest one.
 *
 * The retention date is never computed from closure: a challenge closed at 12 is kept as long as one
 * closed at 17.
 */

export const LAC_RETENTION_AGE = 75;
export const DEATH_RETENTION_YEARS = 15;

/** The citation each retention rule carries (into the tombstone and the dry-run report). */
export const RETENTION_RULES = {
  lac_75th_birthday:
    "Care Planning, Placement and Case Review (England) Regulations 2010, reg. 50: until the 75th birthday",
  lac_15_years_after_death:
    "Care Planning, Placement and Case Review (England) Regulations 2010, reg. 50: 15 years from the death of a child who died before 18",
  cp_authority_rule:
    "The authority's child-protection retention rule (tenant setting retention.childProtectionUntilAge)",
  cp_default_75th_birthday:
    "No authority child-protection rule set: kept as long as a looked-after child's record (75th birthday)",
} as const;
export type RetentionRule = keyof typeof RETENTION_RULES;

/** The tenant setting: the birthday until which child-protection records are kept (18 to 100). */
export const retentionSettingsSchema = z.strictObject({
  childProtectionUntilAge: z
    .optional(z.number().check(z.int(), z.gte(18), z.lte(100)))
    .check(z.meta(about("CP records are kept until this birthday (18 to 100)", 25))),
});
export type RetentionSettings = z.infer<typeof retentionSettingsSchema>;

export interface RetentionInput {
  readonly dateOfBirth: string;
  readonly track: Track;
  readonly settings?: RetentionSettings | undefined;
  /** The child's date of death, where the authority recorded one. */
  readonly dateOfDeath?: string | undefined;
}

export interface Retention {
  /** The last day the record must be kept (YYYY-MM-DD). */
  readonly retainUntil: string;
  readonly rule: RetentionRule;
}

/** A date (YYYY-MM-DD) was not a real calendar date, or the dates contradict each other. */
export class InvalidRetentionInputError extends Error {
  override readonly name = "InvalidRetentionInputError";
}

/** A calendar date (YYYY-MM-DD, which compares as a string in date order); throws unless it is real. */
function calendarDate(value: string, what: string): string {
  if (!isCalendarDay(value))
    throw new InvalidRetentionInputError(`${what} must be a calendar date YYYY-MM-DD`);
  return value;
}

/**
 * The anniversary `years` after `date`. A 29 February falls on 1 March in a common year (not on
 * 28 February, as date libraries do): the later day keeps the record the full number of years.
 */
export function anniversary(date: string, years: number): string {
  const start = calendarDate(date, "date");
  const target = addMonths(start, years * 12);
  if (start.endsWith("-02-29") && target.endsWith("-02-28")) return addDays(target, 1);
  return target;
}

/** The retention date of a challenge's record and the rule that set it. */
export function retentionOf(input: RetentionInput): Retention {
  const birth = calendarDate(input.dateOfBirth, "date of birth");
  if (input.track === "LAC") {
    if (input.dateOfDeath !== undefined) {
      const death = calendarDate(input.dateOfDeath, "date of death");
      if (death < birth) throw new InvalidRetentionInputError("date of death is before the date of birth");
      if (death < calendarDate(anniversary(input.dateOfBirth, 18), "18th birthday")) {
        return {
          retainUntil: anniversary(input.dateOfDeath, DEATH_RETENTION_YEARS),
          rule: "lac_15_years_after_death",
        };
      }
    }
    return { retainUntil: anniversary(input.dateOfBirth, LAC_RETENTION_AGE), rule: "lac_75th_birthday" };
  }
  const age = input.settings?.childProtectionUntilAge;
  if (age === undefined) {
    return {
      retainUntil: anniversary(input.dateOfBirth, LAC_RETENTION_AGE),
      rule: "cp_default_75th_birthday",
    };
  }
  return { retainUntil: anniversary(input.dateOfBirth, age), rule: "cp_authority_rule" };
}

/** What the deletion job does with a record today. */
export type RetentionDecision = "retain" | "delete" | "held";

/**
 * A record is deleted only once its retention date has passed (`asOf` is after it), and never
 * while a legal hold is on it.
 */
export function retentionDecision(retainUntil: string, asOf: string, legalHold: boolean): RetentionDecision {
  calendarDate(retainUntil, "retention date");
  calendarDate(asOf, "as-of date");
  if (asOf <= retainUntil) return "retain";
  return legalHold ? "held" : "delete";
}
