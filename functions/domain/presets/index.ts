import { parseProtocol, type Protocol } from "../protocol.js";
import { halton } from "./halton.js";
import { lcsIssuesResolution } from "./lcs-issues-resolution.js";
import { liquidlogicCp } from "./liquidlogic-cp.js";
import { nottingham } from "./nottingham.js";
import { rotherham } from "./rotherham.js";

/**
 * The five seed protocols (docs/seeds), shipped as presets a tenant can adopt or copy. Each is
 * checked by `parseProtocol` on first use (a Lambda serves a few authorities, each running one
 * preset: parsing all five at module load cost every cold start ~5 ms for the four it never reads)
 * and deep-frozen, so no caller can change a preset for every other tenant.
 * test/unit/domain/presets/citations.test.ts parses every preset, so a malformed one fails the
 * build rather than a challenge.
 */

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    for (const child of Object.values(value as Record<string, unknown>)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

/** A frozen record of the presets by id, each parsed and frozen the first time it is read. */
function register(protocols: readonly Protocol[]): Readonly<Record<string, Protocol>> {
  const byId: Record<string, Protocol> = {};
  for (const candidate of protocols) {
    const id = candidate.id;
    if (Object.hasOwn(byId, id)) throw new Error(`two presets share the id "${id}"`);
    let parsed: Protocol | undefined;
    Object.defineProperty(byId, id, {
      enumerable: true,
      get: () => (parsed ??= deepFreeze(parseProtocol(candidate))),
    });
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
