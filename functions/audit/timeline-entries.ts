import { describeLines } from "../domain/challenge/describe.js";
import type { ChallengeEvent } from "../domain/challenge/events.js";
import type { Protocol } from "../domain/protocol.js";
import type { PersonNames } from "../domain/words.js";

/**
 * A challenge's timeline from events already typed (the store's, in seq order): one line each, in
 * plain words, no free text. The audit timeline (timeline.ts) reads export lines and checks each
 * against the event schemas first; the live page passes the store's events, which the store has
 * already checked, so it neither parses them twice nor builds the event schemas at load. Pure.
 */

export interface TimelineEntry {
  readonly seq: number;
  readonly at: string;
  readonly text: string;
}

export function timelineEntries(
  events: readonly ChallengeEvent[],
  protocol?: Protocol,
  names?: PersonNames,
): TimelineEntry[] {
  const entries: TimelineEntry[] = [];
  // A stage opened by the same action is told on that action's line, not again on its own.
  let toldAlready = false;
  for (const { event, line, lineWithOpening } of describeLines(events, {
    protocol,
    names,
    channels: true,
  })) {
    if (!toldAlready) entries.push({ seq: event.seq, at: event.at, text: lineWithOpening ?? line });
    toldAlready = !toldAlready && lineWithOpening !== undefined;
  }
  return entries;
}
