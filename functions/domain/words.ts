import type { Actor } from "./challenge/actor.js";
import type { Protocol, Stage, Track } from "./protocol.js";

/**
 * The small words every rendering of a challenge shares: stage labels and role titles as the
 * protocol writes them, people by name and title, lists and counts. Pure.
 */

/**
 * A person's name from the tenant's staff directory, by person id, resolved when a timeline, case
 * note or summary is rendered. Events keep ids only: names are personal data kept in one place (the
 * directory), so a correction or an erasure there is honoured by every later rendering, and the
 * export (ids) stays free of them.
 */
export type PersonNames = (personId: string) => string | undefined;

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

/** "Jo Bloggs, Head of Safeguarding" when the directory names the person, else "the Head of Safeguarding". */
export function personAndTitle(names: PersonNames | undefined, personId: string, title: string): string {
  const name = names?.(personId);
  return name === undefined ? `the ${title}` : `${name}, ${title}`;
}

/** What the protocol calls the raiser ("IRM" in Halton), else the role as written. */
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

/** "1 action", "3 actions". */
export function plural(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`;
}

export function referralTitle(kind: "cafcass" | "partnership"): string {
  return kind === "cafcass" ? "Cafcass referral" : "safeguarding partnership referral";
}

export function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
