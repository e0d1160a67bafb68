import type { Actor } from "../domain/challenge/actor.js";
import type { Protocol, Stage, Track } from "../domain/protocol.js";

/**
 * Plain-words helpers shared by the audit timeline, the case notes and the reports: London dates and
 * times as people write them, and protocol stage and role names. Pure; no AWS imports.
 */

const ZONE = "Europe/London";

const PARTS = new Intl.DateTimeFormat("en-GB", {
  timeZone: ZONE,
  weekday: "long",
  day: "numeric",
  month: "long",
  year: "numeric",
  hour: "2-digit",
  minute: "2-digit",
  hourCycle: "h23",
});

interface LondonParts {
  readonly weekday: string;
  readonly day: string;
  readonly month: string;
  readonly year: string;
  readonly hour: number;
  readonly minute: string;
}

function partsOf(date: Date): LondonParts | undefined {
  if (Number.isNaN(date.getTime())) return undefined;
  const parts = PARTS.formatToParts(date);
  const get = (type: Intl.DateTimeFormatPartTypes): string => parts.find((p) => p.type === type)?.value ?? "";
  return {
    weekday: get("weekday"),
    day: get("day"),
    month: get("month"),
    year: get("year"),
    hour: Number(get("hour")),
    minute: get("minute"),
  };
}

/** "Thu 21 May 2026 10:00" (London time). Unparseable input is returned as it is. */
export function formatInstant(iso: string): string {
  const p = partsOf(new Date(iso));
  if (p === undefined) return iso;
  return `${p.weekday.slice(0, 3)} ${p.day} ${p.month} ${p.year} ${String(p.hour).padStart(2, "0")}:${p.minute}`;
}

/** "Thu 21 May 2026" for an instant (its London date) or a YYYY-MM-DD day. */
export function formatDay(isoOrDay: string): string {
  const date = /^\d{4}-\d{2}-\d{2}$/.test(isoOrDay) ? new Date(`${isoOrDay}T12:00:00Z`) : new Date(isoOrDay);
  const p = partsOf(date);
  if (p === undefined) return isoOrDay;
  return `${p.weekday.slice(0, 3)} ${p.day} ${p.month} ${p.year}`;
}

/** "5pm", "5:30pm", "12pm", "9am". */
function clock(hour: number, minute: string): string {
  const suffix = hour < 12 ? "am" : "pm";
  const h = hour % 12 === 0 ? 12 : hour % 12;
  return minute === "00" ? `${h}${suffix}` : `${h}:${minute}${suffix}`;
}

/**
 * A deadline as people say it: "5pm on Friday 29 May"; the year is added when it differs from the
 * year of `relativeTo` (or always, without it).
 */
export function formatDeadline(iso: string, relativeTo?: string): string {
  const p = partsOf(new Date(iso));
  if (p === undefined) return iso;
  const ref = relativeTo === undefined ? undefined : partsOf(new Date(relativeTo));
  const year = ref?.year === p.year ? "" : ` ${p.year}`;
  return `${clock(p.hour, p.minute)} on ${p.weekday} ${p.day} ${p.month}${year}`;
}

/** The stage of a track by id, with its position on the ladder. */
export function findStage(
  protocol: Protocol | undefined,
  track: Track,
  stageId: string,
): { readonly stage: Stage; readonly index: number } | undefined {
  const stages = protocol?.tracks[track]?.stages ?? [];
  const index = stages.findIndex((s) => s.id === stageId);
  const stage = stages[index];
  return stage === undefined ? undefined : { stage, index };
}

/** "Level 2" (the protocol's label), or the stage id when the protocol does not know it. */
export function stageLabel(protocol: Protocol | undefined, track: Track, stageId: string): string {
  return findStage(protocol, track, stageId)?.stage.label ?? stageId;
}

/** What the protocol calls the raiser ("IRM" in Halton), else the role as written. */
/**
 * A person's name from the tenant's staff directory, by person id, resolved when a timeline or case
 * note is rendered. Events keep ids only: names are personal data kept in one place (the
 * directory), so a correction or an erasure there is honoured by every later rendering, and the
 * export (ids) stays free of them.
 */
export type PersonNames = (personId: string) => string | undefined;

/** "Jo Bloggs, Head of Safeguarding" when the directory names the person, else "the Head of Safeguarding". */
export function personAndTitle(names: PersonNames | undefined, personId: string, title: string): string {
  const name = names?.(personId);
  return name === undefined ? `the ${title}` : `${name}, ${title}`;
}

export function actorTitle(protocol: Protocol | undefined, actor: Actor): string {
  switch (actor.role) {
    case "IRO":
    case "CPC":
      return protocol?.raiserTitles[actor.role] ?? actor.role;
    case "system":
      return "the workflow timer";
    case "iro_service_manager":
      return "IRO service manager";
    case "case_record_system":
      return "case record system";
    default:
      return actor.role;
  }
}

/** "a, b and c". */
export function listInWords(items: readonly string[]): string {
  if (items.length <= 1) return items.join("");
  return `${items.slice(0, -1).join(", ")} and ${items.at(-1) ?? ""}`;
}

export function plural(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`;
}

export function referralTitle(kind: "cafcass" | "partnership"): string {
  return kind === "cafcass" ? "Cafcass referral" : "safeguarding partnership referral";
}
