import { type Absence, type AbsenceSource, withAbsence } from "../domain/absence.js";
import type { StaffEntry } from "../store/tenant-store.js";

/**
 * Recording and ending absences in the staff directory: read the person's entry, change its list of
 * absences, write it on the condition that nobody changed it meanwhile (else read again: a few
 * tries). Shared by the API (record-absence.ts, end-absence.ts) and the inbound mail
 * (functions/mail/out-of-office.ts).
 */

export interface AbsenceDirectory {
  getStaff(tenantId: string, personId: string): Promise<StaffEntry | undefined>;
  replaceAbsences(
    tenantId: string,
    personId: string,
    expected: readonly Absence[] | undefined,
    absences: readonly Absence[],
  ): Promise<boolean>;
}

/** The person is not in the directory (or left it): nothing was recorded. */
export class NotInDirectoryError extends Error {
  override readonly name = "NotInDirectoryError";
  constructor(readonly personId: string) {
    super(`${personId} is not an active member of the staff directory`);
  }
}

/** No absence with that id is recorded for the person. */
export class UnknownAbsenceError extends Error {
  override readonly name = "UnknownAbsenceError";
  constructor(readonly absenceId: string) {
    super(`no absence ${absenceId} is recorded for this person`);
  }
}

// Each round of concurrent writers lets at least one through: enough for the few people who record absences.
const TRIES = 5;

async function changeAbsences(
  directory: AbsenceDirectory,
  tenantId: string,
  personId: string,
  change: (entry: StaffEntry) => { absences: Absence[]; result: Absence },
): Promise<Absence> {
  for (let attempt = 1; ; attempt++) {
    const entry = await directory.getStaff(tenantId, personId);
    if (entry === undefined || !entry.active) throw new NotInDirectoryError(personId);
    const { absences, result } = change(entry);
    if (await directory.replaceAbsences(tenantId, personId, entry.absences, absences)) return result;
    if (attempt >= TRIES) throw new Error(`the absences of ${personId} kept changing; try again`);
  }
}

export interface NewAbsence {
  readonly absenceId: string;
  readonly from: string;
  readonly to?: string;
  readonly source: AbsenceSource;
  readonly recordedBy: string;
  readonly recordedAt: string;
}

/**
 * Records an absence. An absence with the same id already recorded is returned as it is (a retry
 * records nothing twice): callers derive the id from what they record (the API's request, the
 * out-of-office reply's Message-ID).
 */
export function recordAbsence(
  directory: AbsenceDirectory,
  tenantId: string,
  personId: string,
  absence: NewAbsence,
): Promise<Absence> {
  return changeAbsences(directory, tenantId, personId, (entry) => {
    const existing = entry.absences?.find((a) => a.absenceId === absence.absenceId);
    if (existing !== undefined) return { absences: [...(entry.absences ?? [])], result: existing };
    const recorded: Absence = { ...absence };
    return { absences: withAbsence(entry.absences, recorded), result: recorded };
  });
}

/**
 * Ends an absence early: the person is back from `backOn` (a London day). Ending one already ended
 * keeps the first ending.
 */
export function endAbsence(
  directory: AbsenceDirectory,
  tenantId: string,
  personId: string,
  absenceId: string,
  backOn: string,
  endedBy: string,
): Promise<Absence> {
  return changeAbsences(directory, tenantId, personId, (entry) => {
    const current = entry.absences ?? [];
    const found = current.find((a) => a.absenceId === absenceId);
    if (found === undefined) throw new UnknownAbsenceError(absenceId);
    const ended: Absence = found.endedOn === undefined ? { ...found, endedOn: backOn, endedBy } : found;
    return { absences: current.map((a) => (a.absenceId === absenceId ? ended : a)), result: ended };
  });
}
