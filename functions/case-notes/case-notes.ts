import type { ChallengeEvent } from "../domain/challenge/events.js";
import { describeEvents } from "../domain/challenge/describe.js";
import type { NoteParts } from "../domain/challenge/describe-note.js";
import type { ChallengeState } from "../domain/challenge/state.js";
import type { Protocol, Stage } from "../domain/protocol.js";
import { capitalise, findStage, listInWords, type PersonNames } from "../domain/words.js";
import { formatDay } from "../audit/words.js";

/**
 * Case notes: one for every event of a challenge, for the child's file in the case-record system.
 *
 * - Titled in the protocol's own words: the `caseNoteTitle` of the stage the event belongs to (e.g.
 *   "Case note-record sheet entry- IRO CP formal resolution stage 2- Service Manager"). An event
 *   with no stage of its own (a referral, a withdrawal, a difference noted after the last stage)
 *   belongs to the stage open or last left at the time; an escalation belongs to the stage it left,
 *   whose outcome it is, and the next stage's note is the StageOpened that follows.
 * - Where the stage lists what its note must include (`caseNoteIncludes`, e.g. 000's "query,
 *   action, outcome"), the note has exactly those headings, in that order. A heading this service
 *   has nothing for says so rather than being dropped.
 * - The body is plain words. It carries no more personal data than the challenge record already
 *   holds, and less: never the child's name or date of birth (the note is filed on the child's own
 *   record), never email addresses or staff ids; people appear by the role the protocol gives them.
 *   The professionals' own words (worries, responses, reasons, summaries, agreed actions) are
 *   quoted, because recording them is what the protocols ask the note for.
 *
 * Pure: no clock, no AWS.
 */

export interface CaseNoteSection {
  readonly heading: string;
  readonly text: string;
}

export interface CaseNote {
  readonly challengeId: string;
  readonly seq: number;
  readonly at: string;
  readonly eventType: ChallengeEvent["type"];
  /** The stage the note is filed under; null only when the protocol has no stage for it. */
  readonly stageId: string | null;
  readonly title: string;
  /** The protocol's headings with their text, when the stage lists them (`caseNoteIncludes`). */
  readonly sections?: readonly CaseNoteSection[];
  /** The whole note as plain text (the sections, headed, when there are any). */
  readonly body: string;
}

const NOTHING_RECORDED = "Not recorded by this service.";

/** A note's parts with the query (the challenge it is about) for the protocols that head it so. */
type Parts = NoteParts & { readonly query: string };

export function caseNotesFor(
  state: ChallengeState,
  events: readonly ChallengeEvent[],
  protocol: Protocol,
  /** Names from the tenant's directory, resolved now; without it notes name roles only. */
  names?: PersonNames,
): CaseNote[] {
  if (state.status !== "none" && state.protocolId !== protocol.id) {
    throw new Error(
      `challenge ${state.challengeId} runs under protocol "${state.protocolId}", not "${protocol.id}"`,
    );
  }
  if (protocol.tracks[state.track] === undefined) {
    throw new Error(
      `protocol "${protocol.id}" has no ${state.track} process for challenge ${state.challengeId}`,
    );
  }
  const described = describeEvents(events, {
    protocol,
    names,
    challenge: { track: state.track, raiser: state.raiser, raiserRole: state.form.raiserRole },
  });
  return described.map(({ event, stageId, note }) => {
    const stage = stageId === null ? undefined : findStage(protocol, state.track, stageId)?.stage;
    return layOut(event, stageId, stage, protocol, { ...note, query: query(state, protocol, event) });
  });
}

/** The challenge the note is about: its concern in full on the first note, referred back to after. */
function query(state: ChallengeState, protocol: Protocol, event: ChallengeEvent): string {
  if (event.type === "ChallengeRaised") {
    const lines = [event.data.form.worries, `What needs to happen: ${event.data.form.whatNeedsToHappen}`];
    return lines.join("\n");
  }
  const raiserTitle = protocol.raiserTitles[state.form.raiserRole];
  const themes = state.form.themes.map((id) => protocol.themes.find((t) => t.id === id)?.label ?? id);
  const about = themes.length === 0 ? "" : ` about: ${listInWords(themes)}`;
  return `The challenge raised by the ${raiserTitle} on ${formatDay(state.raisedAt)}${about}.`;
}

/** The text for one of the protocol's headings; headings this service knows nothing about say so. */
function sectionText(heading: string, parts: Parts): string {
  switch (heading.trim().toLowerCase()) {
    case "query":
    case "issue":
    case "concern":
      return parts.query;
    case "action":
    case "actions":
      return parts.detail === undefined ? parts.action : `${parts.action}\n${parts.detail}`;
    case "outcome":
    case "outcomes":
      return parts.outcome;
    default:
      return NOTHING_RECORDED;
  }
}

function layOut(
  event: ChallengeEvent,
  stageId: string | null,
  stage: Stage | undefined,
  protocol: Protocol,
  parts: Parts,
): CaseNote {
  const base = {
    challengeId: event.challengeId,
    seq: event.seq,
    at: event.at,
    eventType: event.type,
    stageId,
    title: stage?.caseNoteTitle ?? `${protocol.name}: case note`,
  };
  const headings = stage?.caseNoteIncludes;
  if (headings === undefined) {
    const body = [
      parts.detail === undefined ? parts.action : `${parts.action}\n${parts.detail}`,
      parts.outcome,
    ].join("\n\n");
    return { ...base, body };
  }
  const sections = headings.map((heading) => ({
    heading,
    text: sectionText(heading, parts),
  }));
  return {
    ...base,
    sections,
    body: sections.map((s) => `${capitalise(s.heading)}:\n${s.text}`).join("\n\n"),
  };
}
