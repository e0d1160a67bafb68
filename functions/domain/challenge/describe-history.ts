import { asWritten, dayInShortWords, deadlineInWords } from "../dates-in-words.js";
import type { Protocol, RaiserRole, Recipient, Track } from "../protocol.js";
import { stageLabel, type PersonNames } from "../words.js";
import type { Actor } from "./actor.js";
import type { EventOf, SmartAction } from "./events.js";

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

/** The stage's addressees who the actor is, when the actor is one of them. */
export function addresseeTitle(history: History, actor: Actor, stageId: string | null): string | undefined {
  const opened = stageId === null ? undefined : history.opened.get(stageId);
  if (opened === undefined) return undefined;
  return [opened.assignee, ...(opened.coAssignees ?? [])].find((a) => a.personId === actor.id)?.title;
}
