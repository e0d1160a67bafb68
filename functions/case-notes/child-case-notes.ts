import type { PersonNames } from "../domain/words.js";
import type { Protocol } from "../domain/protocol.js";
import { EVENT_READS_IN_FLIGHT, allPages, mapInPool, protocolsFor } from "../reports/readers.js";
import type { ChallengeStore } from "../store/ports.js";
import { type CaseNote, caseNotesFor } from "./case-notes.js";

/** A case note with the child's case-record id (the record it is filed on). */
export interface ChildCaseNote extends CaseNote {
  readonly caseRecordId: string;
}

/**
 * The case notes of every challenge about one child, for events at or after `since` (inclusive:
 * a note is identified by its challengeId and seq, so a caller who passes the time of the last
 * note it filed recognises that note and loses none written in the same instant). Oldest first;
 * ties in time by challenge, then seq. Each challenge's notes are written from its whole history
 * (a note says what the stage before it asked for), then filtered.
 */
export async function loadChildCaseNotes(
  store: Pick<ChallengeStore, "byChild" | "events">,
  protocols: (protocolId: string) => Protocol | undefined,
  unknownProtocol: (protocolId: string) => Error,
  tenantId: string,
  caseRecordId: string,
  since?: string,
  names?: PersonNames,
): Promise<ChildCaseNote[]> {
  const challenges = await allPages((query) => store.byChild(tenantId, caseRecordId, query));
  const from = since === undefined ? Number.NEGATIVE_INFINITY : Date.parse(since);
  const perChallenge = await mapInPool(challenges, EVENT_READS_IN_FLIGHT, async (state) => {
    const [protocol] = protocolsFor([state.protocolId], protocols, unknownProtocol);
    if (protocol === undefined) return [];
    const events = (await store.events(tenantId, state.challengeId)).map((stored) => stored.event);
    return caseNotesFor(state, events, protocol, names)
      .filter((note) => Date.parse(note.at) >= from)
      .map((note): ChildCaseNote => ({ ...note, caseRecordId: state.form.child.caseRecordId }));
  });
  return perChallenge
    .flat()
    .sort(
      (a, b) =>
        Date.parse(a.at) - Date.parse(b.at) || a.challengeId.localeCompare(b.challengeId) || a.seq - b.seq,
    );
}
