import * as z from "zod/mini";

/**
 * Absences of members of staff, and who covers for them: pure. The staff directory keeps each
 * person's absences (functions/store/tenant-store.ts); a stage opened while the holder of its role
 * is absent goes to the role's named cover, the holder copied (functions/domain/challenge/ladder.ts),
 * and an open stage is passed to the cover when the holder's out-of-office reply says they are away
 * (functions/mail/out-of-office.ts). The deadline never moves: a stage's deadline is set when it opens.
 *
 * The seeds assume the manager is there. One says who decides when a named manager does not: "the
 * final decision will lie with the Director of Specialist Services or their nominee" (000 §1.3):
 * the nominee is this named cover.
 */

/** The seed sentence that names someone standing in for the manager (found verbatim by a test). */
export const COVER_CITATION =
  "the final decision will lie with the Director of Specialist Services or their nominee";

const about = (description: string, example: unknown) => ({ description, examples: [example] });
const isoDay = z.iso.date().check(z.maxLength(10));
const personId = z.string().check(z.trim(), z.minLength(1), z.maxLength(128));

/** How an absence came to be recorded: through the API, or read from the person's out-of-office reply. */
export const absenceSourceSchema = z.enum(["api", "out_of_office"]);
export type AbsenceSource = z.infer<typeof absenceSourceSchema>;

/** One absence as the directory keeps it. Days are London calendar days (YYYY-MM-DD), inclusive. */
export const absenceSchema = z.strictObject({
  absenceId: z
    .string()
    .check(
      z.minLength(1),
      z.maxLength(64),
      z.meta(about("The absence's id, for ending it", "abs-2026-12-07-1")),
    ),
  from: isoDay.check(z.meta(about("The first day of the absence (London)", "2026-12-07"))),
  to: z
    .optional(isoDay)
    .check(z.meta(about("The last day of the absence (London); absent: no end was stated", "2026-12-13"))),
  source: absenceSourceSchema.check(
    z.meta(about("How it was recorded: api, or out_of_office (read from an automatic reply)", "api")),
  ),
  recordedBy: personId.check(z.meta(about("The person id of whoever recorded it", "ism-ida"))),
  recordedAt: z.iso
    .datetime()
    .check(z.maxLength(40), z.meta(about("When it was recorded (ISO instant)", "2026-12-05T09:00:00.000Z"))),
  endedOn: z
    .optional(isoDay)
    .check(z.meta(about("Set when the absence was ended early: the day the person was back", "2026-12-10"))),
  endedBy: z.optional(personId).check(z.meta(about("Who ended it early", "ism-ida"))),
});
export type Absence = z.infer<typeof absenceSchema>;

/** The most absences kept per person: older ones are dropped first when a new one is recorded. */
export const MAX_ABSENCES = 20;

/** What a request to record an absence carries (who and when come from the token and the clock). */
export const recordAbsenceRequestSchema = z
  .strictObject({
    from: isoDay.check(z.meta(about("The first day of the absence (London)", "2026-12-07"))),
    to: z
      .optional(isoDay)
      .check(
        z.meta(about("The last day of the absence (London); leave out when no end is known", "2026-12-13")),
      ),
  })
  .check(
    z.refine((r) => r.to === undefined || r.to >= r.from, {
      message: "the last day must not be before the first",
      path: ["to"],
    }),
  );
export type RecordAbsenceRequest = z.infer<typeof recordAbsenceRequestSchema>;

/** Whether the absence covers the London day `day` (YYYY-MM-DD). */
export function absenceCovers(absence: Absence, day: string): boolean {
  if (absence.from > day) return false;
  if (absence.to !== undefined && day > absence.to) return false;
  return absence.endedOn === undefined || day < absence.endedOn;
}

/** The absence in force on `day`, if any (the one ending last, when several overlap). */
export function absenceOn(absences: readonly Absence[] | undefined, day: string): Absence | undefined {
  const inForce = (absences ?? []).filter((a) => absenceCovers(a, day));
  // An open-ended absence outlasts any dated one.
  return inForce.sort((a, b) => (b.to ?? "9999-12-31").localeCompare(a.to ?? "9999-12-31"))[0];
}

/** The absences with a new one added, the oldest dropped beyond {@link MAX_ABSENCES}. */
export function withAbsence(absences: readonly Absence[] | undefined, absence: Absence): Absence[] {
  return [...(absences ?? []), absence].slice(-MAX_ABSENCES);
}

/** "until Sun, 13 Dec 2026" or "with no end stated": for emails, timelines and API messages. */
export function absenceEndWords(to: string | undefined, day: (isoDay: string) => string): string {
  return to === undefined ? "with no end stated" : `until ${day(to)}`;
}
