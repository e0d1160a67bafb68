import { createHash, createPublicKey, type KeyObject, verify as verifySignature } from "node:crypto";
import * as z from "zod/mini";
import { canonicalJson } from "../store/event-hash.js";

/**
 * Signed digests of the audit export (after CloudTrail's digest files). The hash chain inside the
 * exports proves events belong together, but anyone able to write the bucket could edit an event
 * and recompute its hash and every hash after it. A digest seals one hour of the export with a
 * signature only the digest writer's KMS key can make, and anyone can check it offline with the
 * key's public half.
 *
 * ## One digest per hour, chained
 *
 *     digests/<YYYY>/<MM>/<DD>/<YYYY-MM-DDTHH>Z.json        (UTC hour the digest seals)
 *
 * The digest of the hour [periodStart, periodEnd) lists every export object whose event `at` falls
 * in that hour, with the SHA-256 and size of its bytes, and names the previous digest (key and the
 * SHA-256 of its whole file, signature included). An hour with no events still gets a digest, so a
 * deleted digest always leaves a visible gap. The first digest ever names no previous one.
 *
 * A digest is written an hour after its period ends ({@link DIGEST_SETTLE_MS}), so events still
 * in the stream (retries, bisected batches) have been exported. An event exported later than that
 * (a backfill after a long outage) is in no digest; the verifier names it.
 *
 * ## What is signed
 *
 * KMS signs at most 4096 bytes of message, and a busy hour's digest is larger. So the signature is
 * over a short statement of the digest's hash, `canonicalJson({ digestSha256, purpose })`, sent with
 * `MessageType: RAW`: KMS hashes it with SHA-256 and signs (ECDSA_SHA_256, DER-encoded signature).
 * Anyone can rebuild the statement from the digest, so checking a digest needs nothing but the
 * public key: `verify("sha256", statement, publicKey, signature)`.
 *
 * The file is `canonicalJson({ digest, signature })` plus a newline; `signature` is base64.
 */

export const DIGEST_PREFIX = "digests";
export const DIGEST_CONTENT_TYPE = "application/json";
export const DIGEST_SIGNING_ALGORITHM = "ECDSA_SHA_256";
export const DIGEST_PERIOD_MS = 3_600_000;
/** How long after its hour ends a digest is written: the time an event may take to be exported. */
export const DIGEST_SETTLE_MS = 3_600_000;
const STATEMENT_PURPOSE = "challenge-resolution-audit-digest/v1";

const sha256Schema = z.string().check(z.regex(/^[0-9a-f]{64}$/, "a SHA-256 hex digest"));
const hourSchema = z.iso
  .datetime()
  .check(z.refine((iso) => Date.parse(iso) % DIGEST_PERIOD_MS === 0, "a whole UTC hour"));

export const digestEntrySchema = z.strictObject({
  key: z.string().check(z.minLength(1)),
  sha256: sha256Schema,
  bytes: z.number().check(z.int(), z.gte(0)),
});
export type DigestEntry = z.infer<typeof digestEntrySchema>;

export const digestBodySchema = z.strictObject({
  version: z.literal(1),
  periodStart: hourSchema,
  periodEnd: hourSchema,
  exports: z.array(digestEntrySchema),
  previous: z.union([
    z.null(),
    z.strictObject({ key: z.string().check(z.minLength(1)), sha256: sha256Schema }),
  ]),
  signingKeyId: z.string().check(z.minLength(1)),
  signingAlgorithm: z.literal(DIGEST_SIGNING_ALGORITHM),
});
export type DigestBody = z.infer<typeof digestBodySchema>;

export const digestFileSchema = z.strictObject({
  digest: digestBodySchema,
  signature: z.base64().check(z.minLength(1)),
});
export type DigestFile = z.infer<typeof digestFileSchema>;

export function sha256OfBytes(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** The start of the UTC hour holding `instant`. */
export function hourStart(instant: Date): Date {
  return new Date(Math.floor(instant.getTime() / DIGEST_PERIOD_MS) * DIGEST_PERIOD_MS);
}

/** The key of the digest sealing the hour that starts at `periodStart`. */
export function digestKey(periodStart: Date): string {
  if (periodStart.getTime() % DIGEST_PERIOD_MS !== 0) {
    throw new RangeError(`a digest period starts on a whole UTC hour, not ${periodStart.toISOString()}`);
  }
  const iso = periodStart.toISOString(); // YYYY-MM-DDTHH:00:00.000Z
  return `${DIGEST_PREFIX}/${iso.slice(0, 4)}/${iso.slice(5, 7)}/${iso.slice(8, 10)}/${iso.slice(0, 13)}Z.json`;
}

/** The folder of one UTC day's digests (for listing). */
export function digestDayPrefix(day: Date): string {
  return digestKey(hourStart(day)).replace(/[^/]+$/, "");
}

/** The newest hour whose digest is due at `now`: its end is at least {@link DIGEST_SETTLE_MS} ago. */
export function latestDuePeriod(now: Date): Date {
  return new Date(hourStart(new Date(now.getTime() - DIGEST_SETTLE_MS)).getTime() - DIGEST_PERIOD_MS);
}

/** A digest body, its exports in key order so the same hour always gives the same digest. */
export function buildDigest(input: {
  readonly periodStart: Date;
  readonly exports: readonly DigestEntry[];
  readonly previous: { readonly key: string; readonly sha256: string } | null;
  readonly signingKeyId: string;
}): DigestBody {
  const start = hourStart(input.periodStart);
  if (start.getTime() !== input.periodStart.getTime()) {
    throw new RangeError(
      `a digest period starts on a whole UTC hour, not ${input.periodStart.toISOString()}`,
    );
  }
  const exports = [...input.exports].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  for (let i = 1; i < exports.length; i++) {
    if (exports[i]?.key === exports[i - 1]?.key) throw new Error(`export ${exports[i]?.key} listed twice`);
  }
  return {
    version: 1,
    periodStart: start.toISOString(),
    periodEnd: new Date(start.getTime() + DIGEST_PERIOD_MS).toISOString(),
    exports: exports.map((e) => ({ key: e.key, sha256: e.sha256, bytes: e.bytes })),
    previous: input.previous === null ? null : { key: input.previous.key, sha256: input.previous.sha256 },
    signingKeyId: input.signingKeyId,
    signingAlgorithm: DIGEST_SIGNING_ALGORITHM,
  };
}

/** The bytes KMS signs for a digest (RAW, well under KMS's 4096-byte limit). */
export function signedStatement(body: DigestBody): Uint8Array {
  const digestSha256 = createHash("sha256").update(canonicalJson(body), "utf8").digest("hex");
  return Buffer.from(canonicalJson({ digestSha256, purpose: STATEMENT_PURPOSE }), "utf8");
}

/** The digest file's text. */
export function formatDigestFile(body: DigestBody, signature: Uint8Array): string {
  return `${canonicalJson({ digest: body, signature: Buffer.from(signature).toString("base64") })}\n`;
}

/** Parses a digest file; throws a zod or syntax error naming what is wrong. */
export function parseDigestFile(text: string): DigestFile {
  return digestFileSchema.parse(JSON.parse(text));
}

/** Whether `signature` is the digest key's signature of `body` (checked offline with the public key). */
export function digestSignatureValid(file: DigestFile, publicKey: KeyObject): boolean {
  try {
    return verifySignature(
      "sha256",
      signedStatement(file.digest),
      { key: publicKey, dsaEncoding: "der" },
      Buffer.from(file.signature, "base64"),
    );
  } catch {
    // A signature that is not even DER, or a key of another type: not a valid signature.
    return false;
  }
}

/**
 * The digest key's public half from what an auditor holds: a PEM file, the DER bytes KMS
 * GetPublicKey returns (X.509 SubjectPublicKeyInfo), or those bytes in base64 (as the AWS CLI prints
 * them). Refuses anything but a P-256 (ECC_NIST_P256) key, the only kind the digests are signed with.
 */
export function publicKeyFrom(bytes: Uint8Array): KeyObject {
  const text = Buffer.from(bytes).toString("utf8").trim();
  let key: KeyObject;
  if (text.startsWith("-----BEGIN")) {
    key = createPublicKey(text);
  } else {
    const der = /^[A-Za-z0-9+/=\s]+$/.test(text) ? Buffer.from(text, "base64") : Buffer.from(bytes);
    key = createPublicKey({ key: der, format: "der", type: "spki" });
  }
  if (key.asymmetricKeyType !== "ec" || key.asymmetricKeyDetails?.namedCurve !== "prime256v1") {
    throw new Error("the digest public key must be an ECC_NIST_P256 (P-256) public key");
  }
  return key;
}
