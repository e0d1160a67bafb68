import { readFileSync } from "node:fs";
import { expect } from "vitest";
import type { Protocol, Stage, Track, TrackProtocol } from "../../../../functions/domain/protocol.js";

/** Helpers for testing presets against the text of their seed protocols (docs/seeds). */

const seedsDir = new URL("../../../../docs/seeds/", import.meta.url);

/**
 * Collapses whitespace and folds typographic quotes and dashes to ASCII, so a citation typed with
 * straight quotes matches the seed's curly ones. With `markdown`, also drops `*` emphasis markers
 * (003 is Markdown); citations are checked without it.
 */
export function normalise(text: string, options: { markdown?: boolean } = {}): string {
  const folded = text
    .replace(/[\u2018\u2019\u201A\u201B\u2032]/g, "'")
    .replace(/[\u201C\u201D\u201E\u201F\u2033]/g, '"')
    .replace(/[\u2010-\u2015\u2212]/g, "-");
  return (options.markdown === true ? folded.replace(/\*+/g, "") : folded).replace(/\s+/g, " ").trim();
}

export function seedText(protocol: Protocol): string {
  return readFileSync(new URL(protocol.source.file, seedsDir), "utf8");
}

/** The seed's non-blank lines, normalised. */
export function seedLines(protocol: Protocol, options: { markdown?: boolean } = {}): string[] {
  return seedText(protocol)
    .split(/\r?\n/)
    .map((line) => normalise(line, options))
    .filter((line) => line.length > 0);
}

export function seedContains(
  protocol: Protocol,
  quote: string,
  options: { markdown?: boolean } = {},
): boolean {
  const needle = normalise(quote, options);
  return needle.length > 0 && normalise(seedText(protocol), options).includes(needle);
}

/** Asserts that the seed says `quote` (so a test's quotation cannot drift from the seed). */
export function expectSeedSays(
  protocol: Protocol,
  quote: string,
  options: { markdown?: boolean } = {},
): void {
  expect(seedContains(protocol, quote, options), `${protocol.source.file} should say: ${quote}`).toBe(true);
}

export interface FoundCitation {
  readonly path: string;
  readonly citation: string;
}

/** Every `citation` (and second `alsoCitation`) string anywhere in a value, with its path. */
export function collectCitations(value: unknown, path = "$"): FoundCitation[] {
  if (Array.isArray(value)) {
    return value.flatMap((item: unknown, index) => collectCitations(item, `${path}[${index}]`));
  }
  if (typeof value === "object" && value !== null) {
    return Object.entries(value).flatMap(([key, child]: [string, unknown]) =>
      (key === "citation" || key === "alsoCitation") && typeof child === "string"
        ? [{ path: `${path}.${key}`, citation: child }]
        : collectCitations(child, `${path}.${key}`),
    );
  }
  return [];
}

/** The stage ids of a track, in order. */
export function stageIds(protocol: Protocol, track: Track): string[] {
  return (protocol.tracks[track]?.stages ?? []).map((stage) => stage.id);
}

/** A track that must exist. */
export function trackOf(protocol: Protocol, track: Track): TrackProtocol {
  const found = protocol.tracks[track];
  if (found === undefined) throw new Error(`${protocol.id} has no ${track} track`);
  return found;
}

/** A stage that must exist. */
export function stageOf(protocol: Protocol, track: Track, stageId: string): Stage {
  const found = trackOf(protocol, track).stages.find((stage) => stage.id === stageId);
  if (found === undefined) throw new Error(`${protocol.id} ${track} has no stage ${stageId}`);
  return found;
}

/** A deep, mutable copy of a (frozen) preset, for building malformed variants. */
export function mutableCopy(protocol: Protocol): Protocol {
  return structuredClone(protocol);
}
