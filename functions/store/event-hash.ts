import { createHash } from "node:crypto";

/**
 * The audit hash chain. Each stored event carries `prevHash` (the hash of the previous event of the
 * same challenge, "" for the first) and `hash`:
 *
 *     hash = hex(SHA-256(UTF-8(canonicalJson({ tenantId, event, prevHash }))))
 *
 * The store computes it when writing; the auditors' command-line verifier recomputes it from an
 * export. Both import this module, so there is one definition. No AWS imports here on purpose.
 */

/**
 * JSON with a stable form, after RFC 8785 (JCS): object keys sorted by UTF-16 code units, no
 * whitespace, numbers and strings as ECMAScript's JSON.stringify writes them. Object properties
 * whose value is `undefined` are left out (as JSON.stringify and the DynamoDB marshaller do), so an
 * event hashes the same before it is written and after it is read back. Anything that is not plain
 * JSON data (undefined in an array, NaN, Infinity, bigint, functions, class instances such as Date)
 * is refused rather than silently changed.
 */
export function canonicalJson(value: unknown): string {
  return write(value, "$");
}

function write(value: unknown, path: string): string {
  if (value === null) return "null";
  switch (typeof value) {
    case "string":
    case "boolean":
      return JSON.stringify(value);
    case "number":
      if (!Number.isFinite(value)) throw new TypeError(`${path}: ${String(value)} has no JSON form`);
      return JSON.stringify(value);
    case "object": {
      if (Array.isArray(value)) {
        const items = value.map((item: unknown, i) => {
          if (item === undefined)
            throw new TypeError(`${path}[${i}]: undefined in an array has no JSON form`);
          return write(item, `${path}[${i}]`);
        });
        return `[${items.join(",")}]`;
      }
      const proto = Object.getPrototypeOf(value) as unknown;
      if (proto !== Object.prototype && proto !== null) {
        throw new TypeError(`${path}: only plain objects can be hashed`);
      }
      const record = value as Record<string, unknown>;
      const members = Object.keys(record)
        .filter((key) => record[key] !== undefined)
        .sort()
        .map((key) => `${JSON.stringify(key)}:${write(record[key], `${path}.${key}`)}`);
      return `{${members.join(",")}}`;
    }
    default:
      throw new TypeError(`${path}: a ${typeof value} has no JSON form`);
  }
}

export function sha256Hex(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}

/** The hash of one event given the hash of the one before it ("" for a challenge's first event). */
export function eventHash(tenantId: string, event: unknown, prevHash: string): string {
  return sha256Hex(canonicalJson({ tenantId, event, prevHash }));
}

export interface ChainLink {
  readonly tenantId: string;
  readonly event: { readonly challengeId: string; readonly seq: number };
  readonly prevHash: string;
  readonly hash: string;
}

export type ChainProblem =
  | {
      readonly kind: "hash_mismatch";
      readonly seq: number;
      readonly expected: string;
      readonly stored: string;
    }
  | { readonly kind: "broken_link"; readonly seq: number; readonly expected: string; readonly stored: string }
  | { readonly kind: "gap"; readonly seq: number; readonly expectedSeq: number }
  | { readonly kind: "mixed_challenges"; readonly seq: number };

/**
 * Checks one challenge's events, in order, from its first event: every hash recomputes, every
 * `prevHash` is the hash before it, and `seq` runs 1, 2, 3... Returns the first problem, or
 * undefined when the chain is whole.
 */
export function verifyChain(links: readonly ChainLink[]): ChainProblem | undefined {
  let previous = "";
  let challenge: string | undefined;
  for (const [index, link] of links.entries()) {
    const seq = link.event.seq;
    challenge ??= `${link.tenantId}/${link.event.challengeId}`;
    if (`${link.tenantId}/${link.event.challengeId}` !== challenge) return { kind: "mixed_challenges", seq };
    if (seq !== index + 1) return { kind: "gap", seq, expectedSeq: index + 1 };
    if (link.prevHash !== previous) {
      return { kind: "broken_link", seq, expected: previous, stored: link.prevHash };
    }
    const expected = eventHash(link.tenantId, link.event, link.prevHash);
    if (expected !== link.hash) return { kind: "hash_mismatch", seq, expected, stored: link.hash };
    previous = link.hash;
  }
  return undefined;
}
