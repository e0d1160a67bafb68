import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import * as z from "zod/mini";
// zod's English messages, which the key-ring errors quote, even when no other schema module is loaded.
import "../domain/about.js";

/**
 * The signed reply id that rides in the Reply-To address of every email a person can answer:
 *
 *     reply+<payload: 40 base32 chars>.<signature: 16 base32 chars>@<inbound-domain>
 *
 * 63 characters of local part (RFC 5321 allows 64), lower-case a-z and 2-7 only, so it survives
 * relays that lower-case (or upper-case) addresses: decoding is case-insensitive and the signature
 * covers the decoded bytes, not the characters.
 *
 * Payload, 25 bytes (200 bits, exactly 40 base32 characters, so there are no padding bits that
 * could let two spellings mean one token):
 *
 *     byte 0       version (3 bits, = 1) | party (1 bit: 0 assignee, 1 raiser) | key id (4 bits)
 *     bytes 1-4    expiry, Unix seconds, unsigned big-endian
 *     bytes 5-20   challenge id: a ULID as its 16 bytes
 *     bytes 21-22  stage ref: SHA-256 of (stage id, the instant the stage was opened), first 2 bytes
 *     bytes 23-24  recipient ref: SHA-256 of the lower-cased address it was sent to, first 2 bytes
 *
 * Signature: HMAC-SHA256 over a domain-separation tag, the tenant id and the payload, truncated to
 * 80 bits (RFC 2104 §5: at least 80 bits and half the hash is the floor we keep to).
 *
 * The tenant id is bound by the signature but not carried: no tenant id, ULID, stage and recipient
 * fit in 63 lower-case characters together. The verifier is given the service's tenant ids and
 * finds the one the signature verifies for (one HMAC per tenant; a few hundred tenants take well
 * under a millisecond). A token minted for one tenant therefore never verifies as another's.
 *
 * The stage ref binds the stage *visit* (id and opening instant), so a stage reopened later does
 * not accept replies to the email of its first opening. The refs are short because the signature
 * already makes them unforgeable; they only have to tell this visit and this address apart from
 * the few others the same challenge has had.
 *
 * Pure: the keys are passed in; fetching them from Secrets Manager lives with the handlers.
 */

const VERSION = 1;
const PREFIX = "reply+";
const PAYLOAD_BYTES = 25;
const SIGNATURE_BYTES = 10;
const PAYLOAD_CHARS = 40;
const SIGNATURE_CHARS = 16;
const MAC_TAG = "crs-reply-token-v1";
const MAX_KEY_ID = 15;
const MIN_SECRET_BYTES = 32;

/** Who the email carrying the token was sent to: the stage's assignee, or the challenge's raiser. */
export type ReplyParty = "assignee" | "raiser";

export interface ReplyKey {
  /** 0-15, carried in the token; rotate through them (only the current and the previous are accepted). */
  readonly id: number;
  /** At least 32 bytes of random key material. */
  readonly secret: Uint8Array;
}

/** Tokens are signed with `current`; verification accepts `current` and `previous` (rotation). */
export interface ReplyKeyRing {
  readonly current: ReplyKey;
  readonly previous?: ReplyKey;
}

const keySchema = z.object({
  id: z.number().check(z.int(), z.gte(0), z.lte(MAX_KEY_ID)),
  /** Base64 (standard or url-safe) of at least 32 bytes. */
  secret: z.string().check(
    z.regex(/^[A-Za-z0-9+/_-]+=*$/, "base64"),
    z.refine((s) => Buffer.from(s, "base64").length >= MIN_SECRET_BYTES, "at least 32 bytes of key material"),
  ),
});

/** The shape of the key secret as stored (e.g. a Secrets Manager JSON string), validated. */
export const replyKeyRingSecretSchema = z
  .object({ current: keySchema, previous: z.optional(keySchema) })
  .check(
    z.refine((ring) => ring.previous === undefined || ring.previous.id !== ring.current.id, {
      message: "the previous key needs a different id from the current key",
      path: ["previous", "id"],
    }),
  );

/** Parses stored key material (already JSON-decoded) into a key ring; throws a ZodError naming what is wrong. */
export function parseReplyKeyRing(input: unknown): ReplyKeyRing {
  const parsed = replyKeyRingSecretSchema.parse(input);
  const toKey = (k: { id: number; secret: string }): ReplyKey => ({
    id: k.id,
    secret: new Uint8Array(Buffer.from(k.secret, "base64")),
  });
  return parsed.previous === undefined
    ? { current: toKey(parsed.current) }
    : { current: toKey(parsed.current), previous: toKey(parsed.previous) };
}

export interface ReplyTokenInput {
  readonly tenantId: string;
  /** A canonical (upper-case) ULID. */
  readonly challengeId: string;
  readonly stageId: string;
  /** When the stage was opened (StageOpened.data.openedAt): binds the token to this visit of the stage. */
  readonly stageOpenedAt: string;
  readonly party: ReplyParty;
  /** The address the email is sent to; only replies from it can act. */
  readonly recipientEmail: string;
  /** Stored to the second, rounded down. */
  readonly expiresAt: Date;
}

export interface ReplyClaims {
  readonly tenantId: string;
  readonly challengeId: string;
  /** Compare with {@link stageRefOf}(current stage id, its openedAt). */
  readonly stageRef: string;
  /** Compare with {@link recipientRefOf}(From address). */
  readonly recipientRef: string;
  readonly party: ReplyParty;
  readonly expiresAt: Date;
  readonly keyId: number;
}

export type ReplyTokenRefusal = "malformed" | "bad_signature" | "unknown_key" | "expired";

export type ReplyTokenResult =
  | { readonly ok: true; readonly claims: ReplyClaims }
  | { readonly ok: false; readonly refusal: ReplyTokenRefusal; readonly detail: string };

/** What looking for our reply address among a message's recipients can find. */
export type TokenLookup =
  | ReplyTokenResult
  | { readonly ok: false; readonly refusal: "missing" | "ambiguous"; readonly detail: string };

// ---------------------------------------------------------------------------------------------
// Encodings

const BASE32 = "abcdefghijklmnopqrstuvwxyz234567";
const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const ULID = /^[0-7][0-9A-HJKMNP-TV-Z]{25}$/;

/** RFC 4648 base32, lower case, no padding. Only used for lengths that are whole multiples of 5 bytes. */
function base32Encode(bytes: Uint8Array): string {
  let out = "";
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += BASE32.charAt((buffer >>> bits) & 31);
    }
    buffer &= (1 << bits) - 1;
  }
  if (bits > 0) out += BASE32.charAt((buffer << (5 - bits)) & 31);
  return out;
}

/** Case-insensitive; undefined on any character outside the alphabet or a length that is not whole bytes. */
function base32Decode(text: string): Uint8Array | undefined {
  if ((text.length * 5) % 8 !== 0) return undefined;
  const out = new Uint8Array((text.length * 5) / 8);
  let buffer = 0;
  let bits = 0;
  let index = 0;
  for (const char of text.toLowerCase()) {
    const value = BASE32.indexOf(char);
    if (value < 0) return undefined;
    buffer = (buffer << 5) | value;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out[index++] = (buffer >>> bits) & 0xff;
    }
    buffer &= (1 << bits) - 1;
  }
  return out;
}

function ulidToBytes(ulid: string): Uint8Array {
  let value = 0n;
  for (const char of ulid) value = (value << 5n) | BigInt(CROCKFORD.indexOf(char));
  const out = new Uint8Array(16);
  for (let i = 15; i >= 0; i--) {
    out[i] = Number(value & 0xffn);
    value >>= 8n;
  }
  return out;
}

function bytesToUlid(bytes: Uint8Array): string {
  let value = 0n;
  for (const byte of bytes) value = (value << 8n) | BigInt(byte);
  let out = "";
  for (let i = 0; i < 26; i++) {
    out = CROCKFORD.charAt(Number(value & 31n)) + out;
    value >>= 5n;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// References

/** Addresses compare case-insensitively (local parts too: the relays our replies cross treat them so). */
export function normaliseEmail(address: string): string {
  return address.trim().toLowerCase();
}

function shortHash(tag: string, ...parts: string[]): string {
  const hash = createHash("sha256").update(tag);
  for (const part of parts) hash.update("\0").update(part, "utf8");
  return hash.digest().subarray(0, 2).toString("hex");
}

function canonicalInstant(iso: string): string {
  const time = Date.parse(iso);
  return Number.isNaN(time) ? iso : new Date(time).toISOString();
}

/** The stage ref a token carries for a visit of a stage: stage id plus the instant it was opened. */
export function stageRefOf(stageId: string, openedAt: string): string {
  return shortHash("crs-stage", stageId, canonicalInstant(openedAt));
}

/** The recipient ref a token carries for an address (case-insensitive). */
export function recipientRefOf(email: string): string {
  return shortHash("crs-recipient", normaliseEmail(email));
}

// ---------------------------------------------------------------------------------------------
// Sign and verify

function checkKey(key: ReplyKey, which: string): void {
  if (!Number.isInteger(key.id) || key.id < 0 || key.id > MAX_KEY_ID) {
    throw new Error(`${which} reply key id must be an integer 0-${MAX_KEY_ID}, got ${key.id}`);
  }
  if (key.secret.length < MIN_SECRET_BYTES) {
    throw new Error(`${which} reply key must have at least ${MIN_SECRET_BYTES} bytes of key material`);
  }
}

function mac(secret: Uint8Array, tenantId: string, payload: Uint8Array): Buffer {
  const tenant = Buffer.from(tenantId, "utf8");
  const length = Buffer.alloc(2);
  length.writeUInt16BE(tenant.length);
  return createHmac("sha256", secret)
    .update(MAC_TAG)
    .update(length)
    .update(tenant)
    .update(payload)
    .digest()
    .subarray(0, SIGNATURE_BYTES);
}

/** The local part (`reply+<payload>.<sig>`, 63 characters) for an email to one person about one stage visit. */
export function signReplyToken(input: ReplyTokenInput, keys: ReplyKeyRing): string {
  checkKey(keys.current, "current");
  if (!ULID.test(input.challengeId)) {
    throw new Error(
      `reply tokens need the challenge id as a canonical upper-case ULID, got "${input.challengeId}"`,
    );
  }
  const tenantBytes = Buffer.byteLength(input.tenantId, "utf8");
  if (tenantBytes === 0 || tenantBytes > 0xffff) throw new Error("tenantId must be 1-65535 bytes");
  const expiry = Math.floor(input.expiresAt.getTime() / 1000);
  if (!Number.isSafeInteger(expiry) || expiry <= 0 || expiry > 0xffffffff) {
    throw new Error("expiresAt must be a valid instant between 1970 and 2106");
  }
  const payload = new Uint8Array(PAYLOAD_BYTES);
  const view = new DataView(payload.buffer);
  payload[0] = (VERSION << 5) | ((input.party === "raiser" ? 1 : 0) << 4) | keys.current.id;
  view.setUint32(1, expiry);
  payload.set(ulidToBytes(input.challengeId), 5);
  payload.set(Buffer.from(stageRefOf(input.stageId, input.stageOpenedAt), "hex"), 21);
  payload.set(Buffer.from(recipientRefOf(input.recipientEmail), "hex"), 23);
  const signature = mac(keys.current.secret, input.tenantId, payload);
  return `${PREFIX}${base32Encode(payload)}.${base32Encode(signature)}`;
}

/** The whole Reply-To address. */
export function replyAddressFor(input: ReplyTokenInput, keys: ReplyKeyRing, inboundDomain: string): string {
  return `${signReplyToken(input, keys)}@${inboundDomain.toLowerCase()}`;
}

const refuse = (refusal: ReplyTokenRefusal, detail: string): ReplyTokenResult => ({
  ok: false,
  refusal,
  detail,
});

/**
 * Checks a reply address (or just its local part). Order: shape, key id, signature, then expiry, so
 * `expired` is only ever said of a token we really issued. Signatures compare in constant time.
 *
 * @param tenantIds every tenant the service serves: the one the signature verifies for is the token's.
 */
export function verifyReplyToken(
  address: string,
  keys: ReplyKeyRing,
  now: Date,
  tenantIds: Iterable<string>,
): ReplyTokenResult {
  const at = address.lastIndexOf("@");
  const local = (at >= 0 ? address.slice(0, at) : address).trim();
  if (local.length !== PREFIX.length + PAYLOAD_CHARS + 1 + SIGNATURE_CHARS) {
    return refuse("malformed", "the reply address has the wrong length");
  }
  if (local.slice(0, PREFIX.length).toLowerCase() !== PREFIX) {
    return refuse("malformed", "the reply address does not start with reply+");
  }
  const body = local.slice(PREFIX.length);
  if (body.charAt(PAYLOAD_CHARS) !== ".")
    return refuse("malformed", "the reply address has no signature part");
  const payload = base32Decode(body.slice(0, PAYLOAD_CHARS));
  const signature = base32Decode(body.slice(PAYLOAD_CHARS + 1));
  if (payload?.length !== PAYLOAD_BYTES || signature?.length !== SIGNATURE_BYTES) {
    return refuse("malformed", "the reply address is not valid base32");
  }
  const header = payload[0] ?? 0;
  if (header >> 5 !== VERSION) return refuse("malformed", `unsupported token version ${header >> 5}`);
  const keyId = header & 0x0f;
  const key = [keys.current, keys.previous].find((k) => k?.id === keyId);
  if (key === undefined)
    return refuse("unknown_key", `key ${keyId} is neither the current nor the previous key`);
  checkKey(key, keyId === keys.current.id ? "current" : "previous");

  let tenantId: string | undefined;
  const given = Buffer.from(signature);
  for (const candidate of tenantIds) {
    // Keep looping after a match: the time taken must not depend on which tenant matched.
    if (timingSafeEqual(mac(key.secret, candidate, payload), given) && tenantId === undefined) {
      tenantId = candidate;
    }
  }
  if (tenantId === undefined) return refuse("bad_signature", "the reply address's signature does not verify");

  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const expiresAt = new Date(view.getUint32(1) * 1000);
  if (now.getTime() >= expiresAt.getTime()) {
    return refuse("expired", `the reply address expired at ${expiresAt.toISOString()}`);
  }
  return {
    ok: true,
    claims: {
      tenantId,
      challengeId: bytesToUlid(payload.subarray(5, 21)),
      stageRef: Buffer.from(payload.subarray(21, 23)).toString("hex"),
      recipientRef: Buffer.from(payload.subarray(23, 25)).toString("hex"),
      party: (header >> 4) & 1 ? "raiser" : "assignee",
      expiresAt,
      keyId,
    },
  };
}

/** Our reply addresses among `addresses`: in the inbound domain and starting `reply+`, lower-cased, de-duplicated. */
export function replyAddressesIn(addresses: Iterable<string>, inboundDomain: string): string[] {
  const domain = `@${inboundDomain.trim().toLowerCase()}`;
  const found = new Set<string>();
  for (const address of addresses) {
    const normal = normaliseEmail(address);
    if (normal.endsWith(domain) && normal.startsWith(PREFIX)) found.add(normal);
  }
  return [...found];
}

/**
 * Finds and verifies the token among a message's recipients: pass SES's envelope recipients (or
 * the To and Cc addresses), never anything from the body, so a token quoted in a forwarded
 * message is never picked up. One valid token is the answer; none is `missing`; two valid tokens
 * for different things (a reply to two notifications at once) is `ambiguous`.
 */
export function locateReplyToken(
  addresses: Iterable<string>,
  inboundDomain: string,
  keys: ReplyKeyRing,
  now: Date,
  tenantIds: Iterable<string>,
): TokenLookup {
  const candidates = replyAddressesIn(addresses, inboundDomain);
  if (candidates.length === 0) {
    return { ok: false, refusal: "missing", detail: "no reply address of ours among the recipients" };
  }
  const tenants = [...tenantIds];
  const results = candidates.map((candidate) => verifyReplyToken(candidate, keys, now, tenants));
  const valid = new Map<string, ReplyTokenResult & { ok: true }>();
  for (const result of results) {
    if (result.ok) {
      const c = result.claims;
      valid.set([c.tenantId, c.challengeId, c.stageRef, c.recipientRef, c.party].join("|"), result);
    }
  }
  const [first, ...others] = [...valid.values()];
  if (first !== undefined && others.length === 0) return first;
  if (first !== undefined) {
    return { ok: false, refusal: "ambiguous", detail: "the message was sent to more than one reply address" };
  }
  // No valid token: report the first failure (results is non-empty and holds only failures here).
  return (
    results[0] ?? { ok: false, refusal: "missing", detail: "no reply address of ours among the recipients" }
  );
}
