import type { KeyObject } from "node:crypto";
import {
  type DigestFile,
  digestKey,
  digestSignatureValid,
  DIGEST_PREFIX,
  parseDigestFile,
  sha256OfBytes,
} from "./digest-format.js";
import { EXPORT_PREFIX } from "./export-format.js";
import { exportedRecordInstant } from "./tombstone-format.js";

/**
 * Offline check of the signed digests (digest-format.ts) against the export objects, with nothing
 * but the digest key's public half:
 *
 * - every digest parses and its signature verifies (`digest_signature_invalid`);
 * - every digest is stored under its own period's key (a digest copied over another hour);
 * - the chain: each digest's `previous` is present and is byte for byte the file it names
 *   (`digest_chain_gap` for a deleted or missing digest or a chain that starts again,
 *   `digest_chain_broken` for a named digest whose bytes differ);
 * - every export object a digest lists is present (`export_missing`) with the same SHA-256
 *   (`export_changed`: this is what catches an event edited with its chain hash recomputed);
 * - every export object whose event falls inside the sealed hours is listed (`export_not_in_digest`:
 *   added by hand, or exported after its hour was sealed).
 *
 * Files are matched to S3 keys by the `exports/` and `digests/` folders in their paths, so a copy of
 * the bucket (`aws s3 sync s3://<bucket> ./audit`) is checked as it is. Limits: the newest digests
 * could be deleted without a gap (nothing comes after them): the summary states the last hour sealed,
 * which an auditor compares with the time of the download. Objects newer than that are not yet sealed.
 */

/** A file as read from the auditor's copy, with its bytes. */
export interface ObjectSource {
  readonly file: string;
  readonly bytes: Uint8Array;
}

export type DigestProblemKind =
  | "digest_unreadable"
  | "digest_signature_invalid"
  | "digest_misplaced"
  | "digest_chain_gap"
  | "digest_chain_broken"
  | "export_missing"
  | "export_changed"
  | "export_not_in_digest";

export interface DigestProblem {
  readonly file: string;
  readonly line: 0;
  readonly kind: DigestProblemKind;
  readonly message: string;
}

export interface DigestReport {
  /** Digests whose signature verified. */
  readonly digestsChecked: number;
  /** The sealed span: first periodStart and last periodEnd among valid digests. */
  readonly sealedFrom?: string;
  readonly sealedTo?: string;
  /** Export objects listed by a valid digest and matching it. */
  readonly exportsSealed: number;
  /** Export objects whose events come after the last sealed hour (not yet due). */
  readonly exportsNotYetSealed: number;
  /** Export objects whose events come before the first digest's hour (before digests began). */
  readonly exportsBeforeFirstDigest: number;
  readonly problems: readonly DigestProblem[];
}

/** The S3 key a file had, from the last `<prefix>/` folder in its path; undefined outside that layout. */
export function objectKeyOf(file: string, prefix: string): string | undefined {
  const normal = file.split(/[\\/]+/).join("/");
  if (normal.startsWith(`${prefix}/`)) return normal;
  const at = normal.lastIndexOf(`/${prefix}/`);
  return at < 0 ? undefined : normal.slice(at + 1);
}

/** Whether a file is a digest in the bucket layout. */
export function isDigestFile(file: string): boolean {
  return file.endsWith(".json") && objectKeyOf(file, DIGEST_PREFIX) !== undefined;
}

interface LoadedDigest {
  readonly source: ObjectSource;
  readonly key: string;
  readonly sha256: string;
  readonly file: DigestFile;
}

export function verifyDigests(input: {
  readonly digests: readonly ObjectSource[];
  readonly exports: readonly ObjectSource[];
  readonly publicKey: KeyObject;
}): DigestReport {
  const problems: DigestProblem[] = [];
  const problem = (file: string, kind: DigestProblemKind, message: string): void => {
    problems.push({ file, line: 0, kind, message });
  };

  // Digests: parse, place, signature. Only signed digests are trusted for anything after.
  const valid: LoadedDigest[] = [];
  for (const source of input.digests) {
    const key = objectKeyOf(source.file, DIGEST_PREFIX) ?? source.file;
    let file: DigestFile;
    try {
      file = parseDigestFile(Buffer.from(source.bytes).toString("utf8"));
    } catch (error) {
      problem(
        source.file,
        "digest_unreadable",
        `is not a digest file: ${error instanceof Error ? error.message : String(error)}`,
      );
      continue;
    }
    if (!digestSignatureValid(file, input.publicKey)) {
      problem(
        source.file,
        "digest_signature_invalid",
        `the signature does not verify with the public key given: the digest for ${file.digest.periodStart} was changed, or was signed by another key`,
      );
      continue;
    }
    const ownKey = digestKey(new Date(file.digest.periodStart));
    if (ownKey !== key) {
      problem(
        source.file,
        "digest_misplaced",
        `holds the digest of ${file.digest.periodStart}, whose key is ${ownKey}`,
      );
      continue;
    }
    valid.push({ source, key, sha256: sha256OfBytes(source.bytes), file });
  }
  valid.sort((a, b) => (a.file.digest.periodStart < b.file.digest.periodStart ? -1 : 1));

  // The chain.
  const byKey = new Map(valid.map((d) => [d.key, d]));
  const presentKeys = new Set(input.digests.map((s) => objectKeyOf(s.file, DIGEST_PREFIX) ?? s.file));
  valid.forEach((digest, index) => {
    const { previous, periodStart } = digest.file.digest;
    const before = valid[index - 1];
    if (previous === null) {
      if (before !== undefined) {
        problem(
          digest.source.file,
          "digest_chain_gap",
          `starts a new chain at ${periodStart}: hours from ${before.file.digest.periodEnd} are sealed by no digest linked to the one before`,
        );
      }
      return;
    }
    const named = byKey.get(previous.key);
    if (named === undefined) {
      problem(
        digest.source.file,
        "digest_chain_gap",
        presentKeys.has(previous.key)
          ? `the previous digest ${previous.key} it names is not a valid digest (see its own problem)`
          : `the previous digest ${previous.key} it names is missing: a digest was deleted (or not copied)`,
      );
    } else if (named.sha256 !== previous.sha256) {
      problem(
        digest.source.file,
        "digest_chain_broken",
        `the previous digest ${previous.key} is not the one it was chained to (its SHA-256 differs): it was replaced`,
      );
    } else if (named.file.digest.periodEnd !== periodStart) {
      problem(
        digest.source.file,
        "digest_chain_gap",
        `the previous digest it names ends at ${named.file.digest.periodEnd}, not at ${periodStart}`,
      );
    }
  });

  // Export objects against the digests.
  const exportsByKey = new Map<string, ObjectSource>();
  for (const source of input.exports) {
    exportsByKey.set(objectKeyOf(source.file, EXPORT_PREFIX) ?? source.file, source);
  }
  const listed = new Set<string>();
  let exportsSealed = 0;
  for (const digest of valid) {
    for (const entry of digest.file.digest.exports) {
      listed.add(entry.key);
      const source = exportsByKey.get(entry.key);
      if (source === undefined) {
        problem(
          digest.source.file,
          "export_missing",
          `lists export ${entry.key}, which is missing: the object was deleted (or not copied)`,
        );
      } else if (sha256OfBytes(source.bytes) !== entry.sha256 || source.bytes.length !== entry.bytes) {
        problem(
          source.file,
          "export_changed",
          `does not match the digest ${digest.key}: the object was changed after it was sealed (even if its chain hashes were recomputed)`,
        );
      } else {
        exportsSealed++;
      }
    }
  }

  const first = valid[0];
  const last = valid.at(-1);
  let exportsNotYetSealed = 0;
  let exportsBeforeFirstDigest = 0;
  if (first !== undefined && last !== undefined) {
    const from = Date.parse(first.file.digest.periodStart);
    const to = Date.parse(last.file.digest.periodEnd);
    for (const [key, source] of exportsByKey) {
      if (listed.has(key)) continue;
      const at = exportedRecordInstant(source.bytes);
      if (at === undefined) continue;
      if (at >= to) exportsNotYetSealed++;
      else if (at < from) exportsBeforeFirstDigest++;
      else {
        problem(
          source.file,
          "export_not_in_digest",
          `its event falls in a sealed hour, but no digest lists it: it was added to the bucket afterwards (by hand, or by a backfill after the hour was sealed)`,
        );
      }
    }
  }

  return {
    digestsChecked: valid.length,
    ...(first === undefined ? {} : { sealedFrom: first.file.digest.periodStart }),
    ...(last === undefined ? {} : { sealedTo: last.file.digest.periodEnd }),
    exportsSealed,
    exportsNotYetSealed,
    exportsBeforeFirstDigest,
    problems: problems.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0)),
  };
}
