import type { ChallengeEvent } from "../domain/challenge/events.js";
import type { Protocol } from "../domain/protocol.js";
import { plural, type PersonNames } from "../domain/words.js";
import { type TimelineEntry, timelineEntries } from "./timeline-entries.js";
import { challengeEventSchema } from "../domain/challenge/events.js";
import { londonDay } from "../domain/london-time.js";
import { eventOfLine, type ExportLine } from "./export-format.js";
import type { TombstoneRecord } from "./tombstone-format.js";
import { formatDay, formatInstant } from "./words.js";

/**
 * One challenge's events in plain words, one line each, for auditors reading an export:
 *
 *     Thu 21 May 2026 10:00 — Raised by IRO (api) at Level 1: Team Manager, due by 5pm on Friday 29 May
 *
 * A stage opened by the same action as a raise, escalation or reopening is told on that action's
 * line. Free text (worries, responses, reasons) is left out: it is in the export for whoever needs
 * it, and a timeline is printed to screens and terminals. Pure; no AWS imports.
 */

export type { TimelineEntry } from "./timeline-entries.js";

/** The typed event of an export line, or undefined when its data is not what the event type holds. */
export function challengeEventOf(line: ExportLine): ChallengeEvent | undefined {
  const result = challengeEventSchema.safeParse(eventOfLine(line));
  // The schema is checked against the domain's event types in store/items.ts.
  return result.success ? result.data : undefined;
}

/**
 * The timeline of one challenge's events (in seq order, one record per seq). `protocol` gives the
 * stage labels and the raiser's title; without it stage ids are shown.
 */
export function timeline(
  lines: readonly ExportLine[],
  protocol?: Protocol,
  names?: PersonNames,
): TimelineEntry[] {
  const sorted = [...lines].sort((a, b) => a.seq - b.seq);
  const events: ChallengeEvent[] = [];
  const unreadable: TimelineEntry[] = [];
  for (const line of sorted) {
    const event = challengeEventOf(line);
    if (event === undefined) {
      unreadable.push({
        seq: line.seq,
        at: line.at,
        text: `${line.type} (event ${line.seq}): its contents are not those of a ${line.type} event`,
      });
    } else {
      events.push(event);
    }
  }
  return [...unreadable, ...timelineEntries(events, protocol, names)].sort((a, b) => a.seq - b.seq);
}

/** "Thu 21 May 2026 10:00 — Raised by ..." */
export function formatTimelineEntry(entry: TimelineEntry): string {
  return `${formatInstant(entry.at)} — ${entry.text}`;
}

/**
 * The last line of a challenge deleted at the end of its retention period, after its events
 * (`eventsInExport` of the `eventCount` it had may remain in the export).
 */
export function tombstoneTimelineEntry(tombstone: TombstoneRecord, eventsInExport: number): TimelineEntry {
  const remain =
    eventsInExport >= tombstone.eventCount
      ? `all ${plural(tombstone.eventCount, "event")} remain in the export`
      : `${eventsInExport} of its ${plural(tombstone.eventCount, "event")} remain in the export`;
  return {
    seq: tombstone.eventCount + 1,
    at: tombstone.deletionCompletedAt,
    text: `Deleted at retention on ${formatDay(londonDay(tombstone.deletionCompletedAt))} (rule ${tombstone.retentionRule}: ${tombstone.reason}; retention date ${formatDay(tombstone.retainUntil)}): ${remain}`,
  };
}
