import type { Protocol } from "../protocol.js";
import { halton } from "./halton.js";
import { lcsIssuesResolution } from "./lcs-issues-resolution.js";
import { liquidlogicCp } from "./liquidlogic-cp.js";
import { nottingham } from "./nottingham.js";
import { rotherham } from "./rotherham.js";

/**
 * The five seed protocols (docs/seeds), shipped as presets a tenant can adopt or copy. They are
 * TypeScript constants of type Protocol, run as written: test/unit/domain/presets/citations.test.ts
 * parses every one with the whole protocol schema (protocol-schema.ts) and checks that parsing
 * changes nothing, so a malformed preset fails the build rather than a challenge, and no Lambda
 * builds that schema at load. Each is deep-frozen, so no caller can change a preset for every
 * other tenant.
 */

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    for (const child of Object.values(value as Record<string, unknown>)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

/** A frozen record of the presets by id. */
function register(protocols: readonly Protocol[]): Readonly<Record<string, Protocol>> {
  const byId: Record<string, Protocol> = {};
  for (const protocol of protocols) {
    if (Object.hasOwn(byId, protocol.id)) throw new Error(`two presets share the id "${protocol.id}"`);
    byId[protocol.id] = deepFreeze(protocol);
  }
  return Object.freeze(byId);
}

export const presets: Readonly<Record<string, Protocol>> = register([
  lcsIssuesResolution,
  rotherham,
  halton,
  liquidlogicCp,
  nottingham,
]);

/** The preset with this id; throws, naming the known ids, when there is none. */
/** The preset with this id, or undefined (own keys only: "constructor" is not a preset). */
export function findPreset(id: string): Protocol | undefined {
  return Object.hasOwn(presets, id) ? presets[id] : undefined;
}

export function getPreset(id: string): Protocol {
  const preset = findPreset(id);
  if (preset === undefined) {
    throw new Error(`Unknown protocol preset "${id}". Known presets: ${Object.keys(presets).join(", ")}.`);
  }
  return preset;
}
