import { asWritten, dayInShortWords, deadlineInWords } from "../dates-in-words.js";
import type { Protocol, RaiserRole, Recipient, Track } from "../protocol.js";
import { personAndTitle, stageLabel, type PersonNames } from "../words.js";
import type { Actor } from "./actor.js";
import type { Assignee, EventOf, SmartAction } from "./events.js";

/** The describer's walk over a challenge's events (describe.ts), and the words its two sayings share. */

/** What the walk knows before each event. */
export interface History {
  readonly protocol: Protocol | undefined;
  readonly names: PersonNames | undefined;
  readonly channels: boolean;
  track: Track;
  raiserRole: RaiserRole | undefined;
  raiserId: string | undefined;
  raiserTitle: string;
  /** The latest StageOpened of each stage: who it was addressed to. */
  readonly opened: Map<string, EventOf<"StageOpened">["data"]>;
  /** Approvals asked for, per referral kind: for the approver's title. */
  readonly approvers: Map<string, readonly Recipient[]>;
  plan: { stageId: string; actions: (SmartAction & { status: "open" | "done" | "not done" })[] } | null;
  currentStageId: string | null;
  lastStageId: string | null;
}

export function label(history: History, stageId: string): string {
  return stageLabel(history.protocol, history.track, stageId);
}

/** A deadline in words, the year left out when it is the event's own. */
export function due(deadline: string, at: string): string {
  return asWritten(deadline, (value) => deadlineInWords(value, at));
}

/** "Fri 29 May 2026". */
export function day(dayOrInstant: string): string {
  return asWritten(dayOrInstant, dayInShortWords);
}

/** The stage's addressee who the actor is, when the actor is one of them. */
export function addresseeOf(history: History, actor: Actor, stageId: string | null): Assignee | undefined {
  const opened = stageId === null ? undefined : history.opened.get(stageId);
  if (opened === undefined) return undefined;
  return [opened.assignee, ...(opened.coAssignees ?? [])].find((a) => a.personId === actor.id);
}

/** The stage's addressee's title when the actor is one of them. */
export function addresseeTitle(history: History, actor: Actor, stageId: string | null): string | undefined {
  return addresseeOf(history, actor, stageId)?.title;
}

/** The absent holder a named cover acts for: their name when the directory has it. */
export function absentHolder(history: History, cover: Assignee): string {
  const name = cover.actingFor === undefined ? undefined : history.names?.(cover.actingFor);
  return name === undefined ? `the absent ${cover.title}` : name;
}

/** "; sent to Dina X, named cover, acting for Carl Y, who is away and copied": the covers among a stage's addressees. */
export function coversInWords(history: History, data: EventOf<"StageOpened">["data"]): string {
  const covers = [data.assignee, ...(data.coAssignees ?? [])]
    .filter((a) => a.actingFor !== undefined)
    .map(
      (a) =>
        `; sent to ${personAndTitle(history.names, a.personId, "named cover")}, acting for ${absentHolder(history, a)}, who is away and copied`,
    )
    .join("");
  const away = (data.uncovered ?? []).length === 0 ? "" : " (the recipient is away and no cover is named)";
  return `${covers}${away}`;
}

/** Why and until when a stage was passed to a cover, in words. */
export function reassignedInWords(data: EventOf<"StageReassigned">["data"]): { why: string; until: string } {
  return {
    why:
      data.because === "out_of_office" ? "their out-of-office reply" : "an absence recorded in the directory",
    until: data.absence.to === undefined ? "with no end stated" : `until ${day(data.absence.to)}`,
  };
}
