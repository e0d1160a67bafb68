import { randomBytes } from "node:crypto";
import { MetricUnit } from "@aws-lambda-powertools/metrics";
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SESClient, SendRawEmailCommand } from "@aws-sdk/client-ses";
import {
  DeleteCommand,
  GetCommand,
  PutCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from "@aws-sdk/lib-dynamodb";
import type { AttributeValue, DynamoDBBatchResponse } from "aws-lambda";
import { z } from "zod";
import type { ChallengeEvent } from "../domain/challenge/events.js";
import { replay } from "../domain/challenge/evolve.js";
import type { ChallengeState } from "../domain/challenge/state.js";
import { findPreset } from "../domain/presets/index.js";
import type { Protocol } from "../domain/protocol.js";
import { documentClient } from "../shared/clients.js";
import { now } from "../shared/clock.js";
import { config } from "../shared/config.js";
import { logger, metrics, tracer, withLambdaContext } from "../shared/observability.js";
import { DynamoChallengeStore } from "../store/dynamo-challenge-store.js";
import { eventItemSchema, parseItem } from "../store/items.js";
import type { ChallengeStore } from "../store/ports.js";
import { ENTITY, TABLE, eventSk, keys } from "../store/table.js";
import { type StaffMember, TenantStore, createDirectoryLookup } from "../store/tenant-store.js";
import {
  type MailRecipient,
  type NotificationDirectory,
  type PlannedEmail,
  type RecipientRole,
  type UndeliverableReason,
  authorityNameFromConfig,
  isSuperseded,
  notificationsFor,
  renderPlanned,
  templatesFromConfig,
  undeliverableNotice,
} from "./notifications.js";
import { type ReplyKeyRing, parseReplyKeyRing, replyAddressFor } from "./reply-token.js";
import type { RenderedEmail, TemplateSet } from "./templates.js";

/**
 * The mail sender: a DynamoDB stream consumer (NEW_IMAGE; the mapping filters INSERTs of
 * `entity = "event"` items, and the handler checks again). The table's stream is the outbox: an
 * event is committed once, with the snapshot, and every email it needs is derived from it here
 * (notifications.ts), rendered (templates.ts), given a signed Reply-To (reply-token.ts) and sent
 * with SES SendRawEmail through the configuration set.
 *
 * Delivery semantics, per (event seq × recipient):
 * - Before sending, a delivery record is claimed in the challenge's partition (`MAILOUT#<seq>#<recipient>`,
 *   status `sending`, with a short lease). After SES accepts the message it becomes `sent` (with the
 *   SES message id). A redelivered record, a retried batch or an overlapping replay finds `sent`
 *   and sends nothing.
 * - A throttle or any other transient failure releases the claim and fails the stream record
 *   (`batchItemFailures`): Lambda retries from it, and after the mapping's retries the record goes
 *   to its on-failure destination, so nothing is lost silently. Records after it in the batch are
 *   not attempted (they are redelivered with it).
 * - A permanent refusal (SES `MessageRejected`, an address SES calls illegal) marks the record
 *   `failed`, records the undeliverable email on the challenge and alerts the raiser: it is never
 *   retried.
 * - So: exactly once, except when the process dies between SES accepting a message and the record
 *   becoming `sent`; the lease then expires and the retry sends it again (at-least-once in that
 *   window, which SES offers no idempotency key to close).
 * - An email asking someone to act on a stage visit that has closed since (the stream was late, or
 *   the record was retried after the challenge moved on) is not sent: its reply address could
 *   only be refused (`isSuperseded`). Emails that only inform are sent however late.
 *
 * Also here, shared with receive-email.ts and delivery-events.ts: the mail settings, the reply-key
 * cache, the MIME builder, the delivery ledger, the SES sender and the raiser's undeliverable alert.
 */

// =============================================================================================
// Settings

const optional = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === "" ? undefined : v.trim()));

export const mailConfigSchema = z.object({
  /** The mail domain: notifications are sent from it, and replies are received at it (the receipt rule's recipient). */
  MAIL_DOMAIN: z.string().min(1),
  /** Where reply addresses point, when not the mail domain itself (e.g. a `reply.` subdomain). */
  MAIL_REPLY_DOMAIN: optional,
  /** The From address of every email, in the mail domain. */
  MAIL_FROM: z.email(),
  /** The From display name. */
  MAIL_FROM_NAME: optional,
  /** The SES configuration set that publishes bounces and complaints (delivery-events.ts). */
  SES_CONFIGURATION_SET: z.string().min(1),
  /** Secrets Manager secret holding the reply-token HMAC keys. */
  REPLY_TOKEN_SECRET_ARN: z.string().min(1),
  /** The case-record system's address for a record; needed to render notifications. */
  CASE_RECORD_BASE_URL: optional,
  /** Where SES stores raw inbound mail, and under which prefix (receive-email.ts). */
  MAIL_BUCKET: optional,
  MAIL_PREFIX: optional,
  /** The tenants reply tokens may belong to, comma-separated. Default: AUTHORITY. */
  MAIL_TENANT_IDS: optional,
  AUTHORITY: optional,
  /** Signs emails when the tenant configuration has no name of its own. */
  AUTHORITY_NAME: optional,
});
export type MailConfig = z.infer<typeof mailConfigSchema>;

export class MailConfigurationError extends Error {
  override readonly name = "MailConfigurationError";
}

export function parseMailConfig(env: Record<string, string | undefined>): MailConfig {
  const result = mailConfigSchema.safeParse(env);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const name = issue.path.join(".");
      return env[name] === undefined ? `${name} is not set` : `${name} is invalid (${issue.message})`;
    });
    throw new MailConfigurationError(`Mail configuration error: ${problems.join("; ")}.`);
  }
  return result.data;
}

/** A setting only some of the mail functions need, with a clear error where it is missing. */
export function required(value: string | undefined, name: string): string {
  if (value === undefined) throw new MailConfigurationError(`Mail configuration error: ${name} is not set.`);
  return value;
}

/** The tenant ids reply tokens are checked against. */
export function tenantIdsOf(mail: MailConfig): string[] {
  const ids = (mail.MAIL_TENANT_IDS ?? mail.AUTHORITY ?? "")
    .split(",")
    .map((id) => id.trim())
    .filter((id) => id !== "");
  if (ids.length === 0) {
    throw new MailConfigurationError("Mail configuration error: set MAIL_TENANT_IDS (or AUTHORITY).");
  }
  return ids;
}

export const DEFAULT_AUTHORITY_NAME = "Children's Services";

// =============================================================================================
// Reply keys (Secrets Manager, cached per container)

/** The key ring, from wherever it is kept. `refresh` skips the cache (a token with a key we have not seen). */
export interface ReplyKeySource {
  current(): Promise<ReplyKeyRing>;
  refresh(): Promise<ReplyKeyRing>;
}

const keyShape = z.object({
  id: z.number(),
  secret: z.string().optional(),
  /** Accepted for `secret`. */
  key: z.string().optional(),
});

function normaliseKey(input: unknown): unknown {
  const parsed = keyShape.safeParse(input);
  if (!parsed.success) return input;
  return { id: parsed.data.id, secret: parsed.data.secret ?? parsed.data.key };
}

/** The `previous` key of either shape, when there is one. */
function previousKeyOf(json: object): { previous?: unknown } {
  return "previous" in json && json.previous !== null && json.previous !== undefined
    ? { previous: normaliseKey(json.previous) }
    : {};
}

/**
 * The secret's JSON, in either shape:
 * - `{ "current": { "id": 1, "secret": "<base64>" }, "previous": { "id": 0, "secret": "..." } }`
 *   (a rotation keeps the old key as `previous` until the reply addresses it signed have expired);
 * - `{ "id": 1, "secret": "<base64>", "previous": { "id": 0, "secret": "..." } }`: the flat shape,
 *   as CDK generates it (`secretStringTemplate` `{"id":0}`, `generateStringKey: "secret"`), the
 *   top-level key being the current one and `previous` optional, as above.
 * In both, the previous key needs an id of its own. `key` is accepted for `secret`. The key material
 * never appears in an error.
 */
export function parseReplyKeySecret(secretString: string): ReplyKeyRing {
  let json: unknown;
  try {
    json = JSON.parse(secretString);
  } catch {
    throw new MailConfigurationError("the reply-token secret is not JSON");
  }
  const ring =
    typeof json !== "object" || json === null
      ? { current: json }
      : "current" in json
        ? { current: normaliseKey(json.current), ...previousKeyOf(json) }
        : { current: normaliseKey(json), ...previousKeyOf(json) };
  try {
    return parseReplyKeyRing(ring);
  } catch (error) {
    const paths =
      error instanceof z.ZodError
        ? error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")
        : "unreadable";
    throw new MailConfigurationError(`the reply-token secret is not a valid key ring (${paths})`);
  }
}

/**
 * The key ring from Secrets Manager, cached in the container for `ttlMs` (5 minutes) so a rotation
 * is picked up within minutes without a call per email. When Secrets Manager cannot be reached,
 * the last ring read keeps being used (for up to an hour) rather than stopping the mail.
 */
export class SecretsManagerReplyKeys implements ReplyKeySource {
  private cached: { ring: ReplyKeyRing; at: number } | undefined;
  private loading: Promise<ReplyKeyRing> | undefined;

  constructor(
    private readonly client: Pick<SecretsManagerClient, "send">,
    private readonly secretId: string,
    private readonly options: {
      ttlMs?: number;
      staleForMs?: number;
      minRefreshMs?: number;
      now?: () => number;
    } = {},
  ) {}

  async current(): Promise<ReplyKeyRing> {
    const at = this.now();
    if (this.cached !== undefined && at - this.cached.at < (this.options.ttlMs ?? 5 * 60_000)) {
      return this.cached.ring;
    }
    return this.load();
  }

  /**
   * Reads the secret again, unless it was read in the last `minRefreshMs` (a minute): a token
   * naming a key we do not hold cannot make every message call Secrets Manager.
   */
  async refresh(): Promise<ReplyKeyRing> {
    const cached = this.cached;
    if (cached !== undefined && this.now() - cached.at < (this.options.minRefreshMs ?? 60_000)) {
      return cached.ring;
    }
    return this.load();
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  private load(): Promise<ReplyKeyRing> {
    this.loading ??= (async () => {
      try {
        const output = await this.client.send(new GetSecretValueCommand({ SecretId: this.secretId }));
        if (output.SecretString === undefined) {
          throw new MailConfigurationError("the reply-token secret has no SecretString");
        }
        const ring = parseReplyKeySecret(output.SecretString);
        this.cached = { ring, at: this.now() };
        return ring;
      } catch (error) {
        const stale = this.cached;
        if (
          stale !== undefined &&
          !(error instanceof MailConfigurationError) &&
          this.now() - stale.at < (this.options.staleForMs ?? 60 * 60_000)
        ) {
          logger.warn("could not refresh the reply-token keys; using the cached ones", {
            errorName: error instanceof Error ? error.name : "unknown",
          });
          return stale.ring;
        }
        throw error;
      } finally {
        this.loading = undefined;
      }
    })();
    return this.loading;
  }
}

// =============================================================================================
// MIME (RFC 5322 / 2045-2047), for SendRawEmail

export interface RawEmail {
  readonly from: { readonly address: string; readonly name?: string };
  readonly to: readonly MailRecipient[];
  readonly cc?: readonly MailRecipient[];
  readonly replyTo?: string;
  readonly subject: string;
  readonly text: string;
  readonly html?: string;
  readonly date: Date;
  /** Further headers, e.g. Auto-Submitted, In-Reply-To. Values are sanitised. */
  readonly headers?: readonly (readonly [string, string])[];
}

const ADDRESS = /^[^\s<>()[\]\\,;:"@]+@[^\s<>()[\]\\,;:"@]+$/;
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

/** One line, no control characters: nothing a value holds can start another header. */
function headerText(value: string): string {
  return value
    .replace(/[\p{Cc}\u2028\u2029]+/gu, " ")
    .replace(/\s+/g, " ")
    .trim();
}

/** RFC 2047 encoded words (UTF-8, base64), at most 45 bytes of text each, folded. */
function encodedWords(text: string): string {
  const words: string[] = [];
  let chunk = "";
  for (const char of text) {
    if (Buffer.byteLength(chunk + char, "utf8") > 45) {
      words.push(chunk);
      chunk = "";
    }
    chunk += char;
  }
  if (chunk !== "") words.push(chunk);
  return words.map((w) => `=?UTF-8?B?${Buffer.from(w, "utf8").toString("base64")}?=`).join("\r\n ");
}

/** Folds an ASCII header at spaces so lines stay under 78 characters where the words allow. */
function fold(name: string, value: string): string {
  let line = `${name}:`;
  const lines: string[] = [];
  for (const word of value.split(" ")) {
    if (line.length + 1 + word.length > 78 && line.trim() !== `${name}:`) {
      lines.push(line);
      line = "";
    }
    line += ` ${word}`;
  }
  lines.push(line);
  return lines.join("\r\n");
}

function header(name: string, value: string): string {
  const clean = headerText(value);
  return PRINTABLE_ASCII.test(clean) ? fold(name, clean) : `${name}: ${encodedWords(clean)}`;
}

function formatAddress(address: string, name?: string): string {
  const email = address.trim();
  if (!ADDRESS.test(email)) throw new Error("an email address is not in a form this sender accepts");
  const display = name === undefined ? "" : headerText(name);
  if (display === "") return email;
  const phrase = PRINTABLE_ASCII.test(display)
    ? `"${display.replace(/(["\\])/g, "\\$1")}"`
    : encodedWords(display);
  return `${phrase} <${email}>`;
}

function addressHeader(name: string, addresses: readonly string[]): string {
  return `${name}: ${addresses.join(",\r\n ")}`;
}

/** Quoted-printable (RFC 2045 §6.7), CRLF line ends, soft breaks before 76 characters. */
export function quotedPrintable(text: string): string {
  return text
    .replace(/\r\n?/g, "\n")
    .split("\n")
    .map((line) => {
      const bytes = Buffer.from(line, "utf8");
      let out = "";
      let current = "";
      bytes.forEach((byte, index) => {
        const last = index === bytes.length - 1;
        const literal = (byte >= 33 && byte <= 126 && byte !== 61) || ((byte === 32 || byte === 9) && !last);
        const token = literal
          ? String.fromCharCode(byte)
          : `=${byte.toString(16).toUpperCase().padStart(2, "0")}`;
        if (current.length + token.length > 75) {
          out += `${current}=\r\n`;
          current = "";
        }
        current += token;
      });
      return out + current;
    })
    .join("\r\n");
}

function rfc5322Date(date: Date): string {
  return date.toUTCString().replace(/GMT$/, "+0000");
}

/** The whole message, CRLF line ends. The boundary cannot occur in quoted-printable text ("=_"). */
export function buildRawEmail(email: RawEmail): Buffer {
  const lines: string[] = [
    `From: ${formatAddress(email.from.address, email.from.name)}`,
    addressHeader(
      "To",
      email.to.map((r) => formatAddress(r.email, r.name)),
    ),
  ];
  if (email.cc !== undefined && email.cc.length > 0) {
    lines.push(
      addressHeader(
        "Cc",
        email.cc.map((r) => formatAddress(r.email, r.name)),
      ),
    );
  }
  if (email.replyTo !== undefined) lines.push(`Reply-To: ${formatAddress(email.replyTo)}`);
  lines.push(header("Subject", email.subject), `Date: ${rfc5322Date(email.date)}`, "MIME-Version: 1.0");
  for (const [name, value] of email.headers ?? []) {
    if (!/^[A-Za-z][A-Za-z0-9-]*$/.test(name)) throw new Error(`invalid header name ${name}`);
    lines.push(header(name, value));
  }
  const part = (type: string, body: string): string[] => [
    `Content-Type: ${type}; charset=utf-8`,
    "Content-Transfer-Encoding: quoted-printable",
    "",
    quotedPrintable(body),
  ];
  if (email.html === undefined) {
    lines.push(...part("text/plain", email.text));
  } else {
    const boundary = `=_crs_${randomBytes(12).toString("hex")}`;
    lines.push(
      `Content-Type: multipart/alternative; boundary="${boundary}"`,
      "",
      `--${boundary}`,
      ...part("text/plain", email.text),
      `--${boundary}`,
      ...part("text/html", email.html),
      `--${boundary}--`,
    );
  }
  return Buffer.from(`${lines.join("\r\n")}\r\n`, "utf8");
}

// =============================================================================================
// SES message tags: how a bounce finds its way back to the challenge

export const MAIL_TAGS = {
  tenant: "crs-tenant",
  challenge: "crs-challenge",
  seq: "crs-seq",
  role: "crs-role",
  kind: "crs-kind",
} as const;

/**
 * SES tag values allow only letters, digits, `_` and `-`. Tenant ids may hold `.`: such values are
 * sent as `_` + hex (tenant ids never start with `_`, so the two forms cannot be confused).
 */
export function encodeTagValue(value: string): string {
  return /^[A-Za-z0-9-][A-Za-z0-9_-]{0,254}$/.test(value)
    ? value
    : `_${Buffer.from(value, "utf8").toString("hex")}`;
}

export function decodeTagValue(value: string): string {
  return value.startsWith("_") && /^_(?:[0-9a-f]{2})+$/.test(value)
    ? Buffer.from(value.slice(1), "hex").toString("utf8")
    : value;
}

// =============================================================================================
// The delivery ledger: one record per email, claimed before sending

export interface LedgerKey {
  readonly pk: string;
  readonly sk: string;
}

/** What the delivery record says about the email (ids and codes only: no addresses, no content). */
export interface LedgerEntry {
  readonly tenantId?: string;
  readonly challengeId?: string;
  readonly seq?: number;
  readonly kind: string;
  readonly recipientRole: string;
  readonly recipientPersonId?: string;
}

export type ClaimResult =
  | { readonly status: "claimed" | "sent" | "in_flight" }
  | { readonly status: "failed"; readonly code: string };

export interface OutboundLedger {
  /** Claims the email for sending for `leaseMs`; says why not when it is sent, failed or being sent. */
  claim(key: LedgerKey, entry: LedgerEntry, at: Date, leaseMs: number): Promise<ClaimResult>;
  markSent(key: LedgerKey, sesMessageId: string, at: Date): Promise<void>;
  markFailed(key: LedgerKey, code: string, at: Date): Promise<void>;
  /** Gives the claim up after a transient failure, so the retry can claim it again. */
  release(key: LedgerKey): Promise<void>;
}

export const MAIL_OUT_ENTITY = "mail-out";
export const MAIL_OUT_SK_PREFIX = "MAILOUT#";

/** The delivery record of an event's email: beside the event, in the challenge's partition. */
export function eventMailKey(
  tenantId: string,
  challengeId: string,
  seq: number,
  recipientKey: string,
): LedgerKey {
  return {
    pk: keys.challengePartition(tenantId, challengeId),
    sk: `${MAIL_OUT_SK_PREFIX}${eventSk(seq).slice(2)}#${recipientKey}`,
  };
}

/**
 * The ledger as items in the single table (entity `mail-out`, sort key `MAILOUT#...` in the
 * challenge's partition). Stream consumers filter on entity, so these reach none of them; the
 * challenge store reads `SNAPSHOT` and `E#` keys only. TODO(store owner): list the item in table.ts.
 */
export class DynamoOutboundLedger implements OutboundLedger {
  constructor(
    private readonly client: Pick<DynamoDBDocumentClient, "send">,
    private readonly tableName: string,
  ) {}

  async claim(key: LedgerKey, entry: LedgerEntry, at: Date, leaseMs: number): Promise<ClaimResult> {
    const values: Record<string, unknown> = {
      ":entity": MAIL_OUT_ENTITY,
      ":sending": "sending",
      ":lease": new Date(at.getTime() + leaseMs).toISOString(),
      ":now": at.toISOString(),
      ":one": 1,
    };
    const names: Record<string, string> = {
      "#pk": TABLE.partitionKey,
      "#entity": TABLE.entityAttribute,
      "#status": "status",
      "#leaseUntil": "leaseUntil",
      "#claimedAt": "claimedAt",
      "#attempts": "attempts",
    };
    const sets = ["#entity = :entity", "#status = :sending", "#leaseUntil = :lease", "#claimedAt = :now"];
    for (const [field, value] of Object.entries(entry)) {
      if (value === undefined) continue;
      names[`#${field}`] = field;
      values[`:${field}`] = value;
      sets.push(`#${field} = :${field}`);
    }
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: key,
          UpdateExpression: `SET ${sets.join(", ")} ADD #attempts :one`,
          ConditionExpression: "attribute_not_exists(#pk) OR (#status = :sending AND #leaseUntil < :now)",
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
      return { status: "claimed" };
    } catch (error) {
      if (!(error instanceof Error && error.name === "ConditionalCheckFailedException")) throw error;
    }
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true }),
    );
    const status: unknown = Item?.status;
    if (status === "failed") {
      return { status: "failed", code: typeof Item?.failure === "string" ? Item.failure : "unknown" };
    }
    return { status: status === "sent" ? "sent" : "in_flight" };
  }

  async markSent(key: LedgerKey, sesMessageId: string, at: Date): Promise<void> {
    await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: key,
        UpdateExpression: "SET #status = :sent, #sentAt = :at, #sesMessageId = :id REMOVE #leaseUntil",
        ExpressionAttributeNames: {
          "#status": "status",
          "#sentAt": "sentAt",
          "#sesMessageId": "sesMessageId",
          "#leaseUntil": "leaseUntil",
        },
        ExpressionAttributeValues: { ":sent": "sent", ":at": at.toISOString(), ":id": sesMessageId },
      }),
    );
  }

  async markFailed(key: LedgerKey, code: string, at: Date): Promise<void> {
    await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: key,
        UpdateExpression: "SET #status = :failed, #failedAt = :at, #failure = :code REMOVE #leaseUntil",
        ExpressionAttributeNames: {
          "#status": "status",
          "#failedAt": "failedAt",
          "#failure": "failure",
          "#leaseUntil": "leaseUntil",
        },
        ExpressionAttributeValues: { ":failed": "failed", ":at": at.toISOString(), ":code": code },
      }),
    );
  }

  async release(key: LedgerKey): Promise<void> {
    try {
      await this.client.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: key,
          ConditionExpression: "#status = :sending",
          ExpressionAttributeNames: { "#status": "status" },
          ExpressionAttributeValues: { ":sending": "sending" },
        }),
      );
    } catch (error) {
      if (!(error instanceof Error && error.name === "ConditionalCheckFailedException")) throw error;
    }
  }
}

// =============================================================================================
// Sending

/** How long a claimed email stays claimed while it is being sent: longer than the sender's timeout. */
export const SENDING_LEASE_MS = 90_000;

/** The send failed for a reason that may pass (throttling, a network fault, SES unavailable): retry. */
export class TransientDeliveryError extends Error {
  override readonly name = "TransientDeliveryError";
}

/** SES refused this message for good: retrying cannot help. */
export function permanentRejectionCode(error: unknown): string | undefined {
  if (!(error instanceof Error)) return undefined;
  if (error.name === "MessageRejected") return "MessageRejected";
  if (error.name === "InvalidParameterValue" && /address/i.test(error.message)) return "InvalidAddress";
  return undefined;
}

export interface OutboundEmail {
  readonly key: LedgerKey;
  readonly entry: LedgerEntry;
  readonly to: MailRecipient;
  readonly cc?: readonly MailRecipient[];
  readonly rendered: RenderedEmail | { readonly subject: string; readonly text: string };
  /** The signed reply address, when the recipient may act by replying. */
  readonly replyTo?: string;
  /** RFC 3834: notifications are auto-generated, bounces auto-replied. */
  readonly autoSubmitted: "auto-generated" | "auto-replied";
  /** The Message-ID this answers (bounces). */
  readonly inReplyTo?: string;
  readonly tags: Readonly<Record<string, string>>;
}

export type DeliveryOutcome =
  | { readonly status: "sent"; readonly sesMessageId: string }
  | { readonly status: "already"; readonly previously: "sent" }
  /** Refused for good earlier (a redelivery): the caller makes sure the failure was recorded. */
  | { readonly status: "already"; readonly previously: "failed"; readonly code: string }
  | { readonly status: "rejected"; readonly code: string };

export interface MailerSettings {
  readonly from: { readonly address: string; readonly name?: string };
  readonly configurationSet: string;
}

/** Sends one email once: claim, SendRawEmail, mark. Throws {@link TransientDeliveryError} when it should be retried. */
export class Mailer {
  constructor(
    private readonly ses: Pick<SESClient, "send">,
    private readonly ledger: OutboundLedger,
    private readonly settings: MailerSettings,
    private readonly clock: () => Date,
  ) {}

  async deliver(email: OutboundEmail): Promise<DeliveryOutcome> {
    const claim = await this.ledger.claim(email.key, email.entry, this.clock(), SENDING_LEASE_MS);
    if (claim.status === "sent") return { status: "already", previously: "sent" };
    if (claim.status === "failed") return { status: "already", previously: "failed", code: claim.code };
    if (claim.status === "in_flight") {
      throw new TransientDeliveryError("the email is being sent by another invocation");
    }

    const headers: [string, string][] = [
      ["Auto-Submitted", email.autoSubmitted],
      // Out-of-office replies to a notification are refused anyway; ask Exchange not to send them.
      ["X-Auto-Response-Suppress", "OOF, AutoReply"],
    ];
    if (email.inReplyTo !== undefined && /^<[^<>\s]+>$/.test(email.inReplyTo)) {
      headers.push(["In-Reply-To", email.inReplyTo], ["References", email.inReplyTo]);
    }
    let raw: Buffer;
    try {
      raw = buildRawEmail({
        from: this.settings.from,
        to: [email.to],
        cc: email.cc ?? [],
        ...(email.replyTo === undefined ? {} : { replyTo: email.replyTo }),
        subject: email.rendered.subject,
        text: email.rendered.text,
        ...("html" in email.rendered ? { html: email.rendered.html } : {}),
        date: this.clock(),
        headers,
      });
    } catch (error) {
      // An address this sender cannot write: as permanent as SES refusing it.
      await this.ledger.markFailed(email.key, "InvalidAddress", this.clock());
      logger.warn("email not sent: an address cannot be written", {
        errorName: error instanceof Error ? error.name : "unknown",
      });
      return { status: "rejected", code: "InvalidAddress" };
    }
    let sesMessageId: string;
    try {
      const output = await this.ses.send(
        new SendRawEmailCommand({
          RawMessage: { Data: raw },
          Source: this.settings.from.address,
          Destinations: [email.to.email, ...(email.cc ?? []).map((c) => c.email)],
          ConfigurationSetName: this.settings.configurationSet,
          Tags: Object.entries(email.tags).map(([Name, Value]) => ({ Name, Value: encodeTagValue(Value) })),
        }),
      );
      sesMessageId = output.MessageId ?? "";
    } catch (error) {
      const code = permanentRejectionCode(error);
      if (code !== undefined) {
        await this.ledger.markFailed(email.key, code, this.clock());
        return { status: "rejected", code };
      }
      await this.ledger.release(email.key).catch(() => undefined);
      throw new TransientDeliveryError(
        `SES did not accept the email (${error instanceof Error ? error.name : "unknown error"})`,
        { cause: error },
      );
    }
    try {
      await this.ledger.markSent(email.key, sesMessageId, this.clock());
    } catch (error) {
      // SES has the message. The claim is kept (not released), so a retry before the lease ends
      // sends nothing; after it, the email goes again: the at-least-once window.
      throw new TransientDeliveryError("the email was sent but could not be marked sent", { cause: error });
    }
    return { status: "sent", sesMessageId };
  }
}

// =============================================================================================
// What the mail needs to know about a tenant and a challenge

/** The tenant store as the mail reads it (TenantStore fits). */
export interface MailTenantSource {
  listStaff(tenantId: string): Promise<readonly StaffMember[]>;
  getConfig(tenantId: string): Promise<unknown>;
}

export interface ChallengeMailContext {
  /** Every event of the challenge, as stored when it was loaded. */
  readonly history: readonly ChallengeEvent[];
  /** The challenge now (after every event in `history`). */
  readonly current: ChallengeState;
  readonly protocol: Protocol;
  readonly directory: NotificationDirectory;
  readonly templates?: TemplateSet;
  readonly authorityName: string;
}

/** The known protocols: the shipped presets. */
export const presetProtocol = findPreset;

/** The challenge has no protocol this service knows: a data or deployment fault. */
export class MailContextError extends Error {
  override readonly name = "MailContextError";
}

export function directoryOf(staff: readonly StaffMember[]): NotificationDirectory {
  const byId = new Map(staff.map((m) => [m.personId, m]));
  return {
    person: (personId) => {
      const m = byId.get(personId);
      return m === undefined ? undefined : { email: m.email, name: m.displayName, active: m.active };
    },
    holder: createDirectoryLookup(staff),
  };
}

/** Loads what rendering a challenge's emails needs; caches tenant data for the life of the loader. */
export class MailContextLoader {
  private readonly tenantCache = new Map<
    string,
    Promise<{ directory: NotificationDirectory; templates?: TemplateSet; authorityName: string }>
  >();
  private readonly challengeCache = new Map<string, Promise<ChallengeMailContext>>();

  constructor(
    private readonly challenges: Pick<ChallengeStore, "events">,
    private readonly tenants: MailTenantSource,
    private readonly protocols: (protocolId: string) => Protocol | undefined,
    private readonly defaultAuthorityName: string,
  ) {}

  load(tenantId: string, challengeId: string): Promise<ChallengeMailContext> {
    const cacheKey = `${tenantId}\n${challengeId}`;
    let pending = this.challengeCache.get(cacheKey);
    if (pending === undefined) {
      pending = this.loadChallenge(tenantId, challengeId);
      this.challengeCache.set(cacheKey, pending);
      pending.catch(() => this.challengeCache.delete(cacheKey));
    }
    return pending;
  }

  private tenant(tenantId: string) {
    let pending = this.tenantCache.get(tenantId);
    if (pending === undefined) {
      pending = (async () => {
        const [staff, tenantConfig] = await Promise.all([
          this.tenants.listStaff(tenantId),
          this.tenants.getConfig(tenantId),
        ]);
        const templates = templatesFromConfig(tenantConfig);
        return {
          directory: directoryOf(staff),
          ...(templates === undefined ? {} : { templates }),
          authorityName: authorityNameFromConfig(tenantConfig) ?? this.defaultAuthorityName,
        };
      })();
      this.tenantCache.set(tenantId, pending);
      pending.catch(() => this.tenantCache.delete(tenantId));
    }
    return pending;
  }

  private async loadChallenge(tenantId: string, challengeId: string): Promise<ChallengeMailContext> {
    const [stored, tenant] = await Promise.all([
      this.challenges.events(tenantId, challengeId),
      this.tenant(tenantId),
    ]);
    const history = stored.map((s) => s.event);
    const raised = history.find((e) => e.type === "ChallengeRaised");
    const protocolId = raised?.type === "ChallengeRaised" ? raised.data.protocolId : undefined;
    const protocol = protocolId === undefined ? undefined : this.protocols(protocolId);
    if (protocol === undefined) {
      throw new MailContextError(
        `challenge ${challengeId} has no known protocol (${protocolId ?? "not raised"})`,
      );
    }
    return { history, current: replay(history, challengeId), protocol, ...tenant };
  }
}

// =============================================================================================
// Undeliverable emails: recorded on the challenge, the raiser alerted

export const MAIL_UNDELIVERABLE_ENTITY = "mail-undeliverable";

export interface UndeliverableRecord {
  readonly tenantId: string;
  readonly challengeId: string;
  /** The event whose email failed, when it was an event's email. */
  readonly seq?: number;
  readonly recipientRole: string;
  readonly kind: string;
  readonly reason: UndeliverableReason;
  /** The SES bounce subtype, complaint type or error code. */
  readonly detail?: string;
  readonly at: string;
  /** Unique per failure: the SES message id (a delivery event) or `send#<seq>#<recipient>` (refused at sending). */
  readonly sourceId: string;
}

export interface UndeliverableLog {
  /** Records the failure once; false when it was recorded before. */
  record(failure: UndeliverableRecord): Promise<boolean>;
}

/**
 * Undeliverable emails as items in the challenge's partition (sk `MAILFAIL#<sourceId>`, entity
 * `mail-undeliverable`): the record of the proposed `NotificationUndeliverable` event, which the
 * domain does not have yet (see the report; TODO(domain + store owners)).
 */
export class DynamoUndeliverableLog implements UndeliverableLog {
  constructor(
    private readonly client: Pick<DynamoDBDocumentClient, "send">,
    private readonly tableName: string,
  ) {}

  async record(failure: UndeliverableRecord): Promise<boolean> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            pk: keys.challengePartition(failure.tenantId, failure.challengeId),
            sk: `MAILFAIL#${failure.sourceId}`,
            [TABLE.entityAttribute]: MAIL_UNDELIVERABLE_ENTITY,
            ...Object.fromEntries(Object.entries(failure).filter(([, v]) => v !== undefined)),
          },
          ConditionExpression: "attribute_not_exists(#pk)",
          ExpressionAttributeNames: { "#pk": TABLE.partitionKey },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof Error && error.name === "ConditionalCheckFailedException") return false;
      throw error;
    }
  }
}

/** Where the mail functions report (ids, codes and counts only). */
export interface MailObserver {
  info(message: string, attributes: Record<string, unknown>): void;
  warn(message: string, attributes: Record<string, unknown>): void;
  count(metric: string, value?: number): void;
}

export const mailObserver: MailObserver = {
  info: (message, attributes) => {
    logger.info(message, attributes);
  },
  warn: (message, attributes) => {
    logger.warn(message, attributes);
  },
  count: (metric, value = 1) => {
    metrics.addMetric(metric, MetricUnit.Count, value);
  },
};

export interface OutboundDependencies {
  readonly contexts: MailContextLoader;
  readonly keys: ReplyKeySource;
  readonly mailer: Mailer;
  readonly undeliverable: UndeliverableLog;
  /** Reply addresses are `reply+<token>@<replyDomain>`. */
  readonly replyDomain: string;
  readonly caseRecordBaseUrl: string;
  readonly clock: () => Date;
  readonly observer: MailObserver;
}

function tagsFor(
  tenantId: string,
  challengeId: string,
  seq: number | "alert",
  role: RecipientRole,
  kind: string,
): Record<string, string> {
  return {
    [MAIL_TAGS.tenant]: tenantId,
    [MAIL_TAGS.challenge]: challengeId,
    [MAIL_TAGS.seq]: String(seq),
    [MAIL_TAGS.role]: role,
    [MAIL_TAGS.kind]: kind,
  };
}

/** Renders, signs and sends one planned email of a challenge. */
async function sendPlanned(
  deps: OutboundDependencies,
  tenantId: string,
  challengeId: string,
  context: ChallengeMailContext,
  planned: PlannedEmail,
  key: LedgerKey,
  seq: number | "alert",
): Promise<DeliveryOutcome> {
  const rendered = renderPlanned(planned, {
    caseRecordBaseUrl: deps.caseRecordBaseUrl,
    ...(context.templates === undefined ? {} : { templates: context.templates }),
  });
  const grant = planned.reply;
  const replyTo =
    grant === undefined
      ? undefined
      : replyAddressFor(
          {
            tenantId,
            challengeId,
            stageId: grant.stageId,
            stageOpenedAt: grant.stageOpenedAt,
            party: grant.party,
            recipientEmail: planned.to.email,
            expiresAt: grant.expiresAt,
          },
          await deps.keys.current(),
          deps.replyDomain,
        );
  return deps.mailer.deliver({
    key,
    entry: {
      tenantId,
      challengeId,
      ...(seq === "alert" ? {} : { seq }),
      kind: planned.kind,
      recipientRole: planned.recipientRole,
      ...(planned.to.personId === undefined ? {} : { recipientPersonId: planned.to.personId }),
    },
    to: planned.to,
    cc: planned.cc,
    rendered,
    ...(replyTo === undefined ? {} : { replyTo }),
    autoSubmitted: "auto-generated",
    tags: tagsFor(tenantId, challengeId, seq, planned.recipientRole, planned.kind),
  });
}

/**
 * Records an undeliverable email on its challenge and alerts the raiser (once: the alert has its
 * own delivery record, keyed by the failure). Shared by the sender (SES refused the message) and
 * delivery-events.ts (a permanent bounce or a complaint later).
 */
export async function recordUndeliverable(
  deps: OutboundDependencies,
  failure: Omit<UndeliverableRecord, "recipientRole"> & { readonly recipientRole: RecipientRole },
): Promise<{ recorded: boolean; alert: DeliveryOutcome | "none" }> {
  const recorded = await deps.undeliverable.record(failure);
  deps.observer.count("NotificationUndeliverable");
  deps.observer.warn("an email about a challenge could not be delivered", {
    tenantId: failure.tenantId,
    challengeId: failure.challengeId,
    seq: failure.seq,
    recipientRole: failure.recipientRole,
    kind: failure.kind,
    undeliverable: failure.reason,
    detail: failure.detail,
  });
  const context = await deps.contexts.load(failure.tenantId, failure.challengeId);
  const plan = undeliverableNotice({
    history: context.history,
    protocol: context.protocol,
    directory: context.directory,
    authorityName: context.authorityName,
    failed: {
      ...(failure.seq === undefined ? {} : { seq: failure.seq }),
      recipientRole: failure.recipientRole,
      kind: failure.kind,
      reason: failure.reason,
    },
  });
  const alert = plan.emails[0];
  if (alert === undefined) return { recorded, alert: "none" };
  const outcome = await sendPlanned(
    deps,
    failure.tenantId,
    failure.challengeId,
    context,
    alert,
    {
      pk: keys.challengePartition(failure.tenantId, failure.challengeId),
      sk: `${MAIL_OUT_SK_PREFIX}ALERT#${failure.sourceId}`,
    },
    "alert",
  );
  return { recorded, alert: outcome };
}

// =============================================================================================
// The stream handler

/** The plain JSON of a stream image (event items hold strings, numbers, booleans, nulls, maps and lists). */
function fromAttributeValue(value: AttributeValue): unknown {
  if (value.S !== undefined) return value.S;
  if (value.N !== undefined) return Number(value.N);
  if (value.BOOL !== undefined) return value.BOOL;
  if (value.NULL !== undefined) return null;
  if (value.M !== undefined) {
    return Object.fromEntries(Object.entries(value.M).map(([k, v]) => [k, fromAttributeValue(v)]));
  }
  if (value.L !== undefined) return value.L.map(fromAttributeValue);
  throw new Error("an attribute type event items never hold");
}

const streamRecordSchema = z.object({
  eventName: z.string().optional(),
  dynamodb: z.object({
    SequenceNumber: z.string().min(1),
    NewImage: z
      .record(
        z.string(),
        z.custom<AttributeValue>((v) => typeof v === "object" && v !== null),
      )
      .optional(),
  }),
});
const streamEventSchema = z.object({ Records: z.array(streamRecordSchema) });

export interface BatchSummary {
  sent: number;
  already: number;
  rejected: number;
  /** Emails asking someone to act on a stage that has closed since: not sent. */
  superseded: number;
  /** Records that are not new events. */
  skipped: number;
}

/**
 * Sends the emails of every new event item in a stream batch, in order. Stops at the first record
 * that fails and reports it (and the records after it are redelivered with it).
 */
export async function sendBatch(
  deps: OutboundDependencies,
  event: unknown,
): Promise<DynamoDBBatchResponse & { summary: BatchSummary }> {
  const { Records } = streamEventSchema.parse(event);
  const summary: BatchSummary = { sent: 0, already: 0, rejected: 0, superseded: 0, skipped: 0 };
  for (const record of Records) {
    const image = record.dynamodb.NewImage;
    if (record.eventName !== "INSERT" || image?.[TABLE.entityAttribute]?.S !== ENTITY.event) {
      summary.skipped++;
      continue;
    }
    const where = `${image[TABLE.partitionKey]?.S ?? "?"} ${image[TABLE.sortKey]?.S ?? "?"}`;
    const ids: Record<string, unknown> = { sequenceNumber: record.dynamodb.SequenceNumber };
    try {
      const item = parseItem(eventItemSchema, fromAttributeValue({ M: image }), where);
      const { tenantId, event: domainEvent } = item;
      Object.assign(ids, { tenantId, challengeId: domainEvent.challengeId, seq: domainEvent.seq });
      const context = await deps.contexts.load(tenantId, domainEvent.challengeId);
      const history = context.history.some((e) => e.seq === domainEvent.seq)
        ? context.history
        : [...context.history.filter((e) => e.seq < domainEvent.seq), domainEvent];
      const plan = notificationsFor({
        event: domainEvent,
        history,
        protocol: context.protocol,
        directory: context.directory,
        authorityName: context.authorityName,
      });
      for (const missing of plan.unaddressed) {
        deps.observer.count("NotificationUnaddressed");
        deps.observer.warn("a notification has nobody to go to", { ...ids, ...missing });
      }
      for (const planned of plan.emails) {
        if (isSuperseded(planned, context.current)) {
          summary.superseded++;
          deps.observer.count("NotificationSuperseded");
          deps.observer.info("not sent: the stage it asks about has closed", {
            ...ids,
            kind: planned.kind,
            recipientRole: planned.recipientRole,
          });
          continue;
        }
        const key = eventMailKey(tenantId, domainEvent.challengeId, domainEvent.seq, planned.recipientKey);
        const outcome = await sendPlanned(
          deps,
          tenantId,
          domainEvent.challengeId,
          context,
          planned,
          key,
          domainEvent.seq,
        );
        if (outcome.status === "sent") {
          summary.sent++;
          deps.observer.count("NotificationSent");
        } else if (outcome.status === "already" && outcome.previously === "sent") {
          summary.already++;
        } else {
          // Refused now, or refused on an earlier delivery whose record or alert may not have
          // been written: recording is idempotent and the alert has its own delivery record.
          if (outcome.status === "rejected") summary.rejected++;
          else summary.already++;
          await recordUndeliverable(deps, {
            tenantId,
            challengeId: domainEvent.challengeId,
            seq: domainEvent.seq,
            recipientRole: planned.recipientRole,
            kind: planned.kind,
            reason: "rejected",
            detail: outcome.code,
            at: deps.clock().toISOString(),
            sourceId: `send#${domainEvent.seq}#${planned.recipientKey}`,
          });
        }
      }
    } catch (error) {
      deps.observer.count(
        error instanceof TransientDeliveryError ? "NotificationRetry" : "NotificationFailed",
      );
      deps.observer.warn("stream record not done; it will be retried", {
        ...ids,
        errorName: error instanceof Error ? error.name : "unknown",
        errorMessage: error instanceof Error ? error.message : String(error),
      });
      return { batchItemFailures: [{ itemIdentifier: record.dynamodb.SequenceNumber }], summary };
    }
  }
  return { batchItemFailures: [], summary };
}

// =============================================================================================
// Production wiring

/** Wraps a mail handler (see withLambdaContext). */
export const mailHandler = withLambdaContext;

let sesClient: SESClient | undefined;
let secretsClient: SecretsManagerClient | undefined;
let replyKeys: SecretsManagerReplyKeys | undefined;

export function productionSes(): SESClient {
  sesClient ??= tracer.captureAWSv3Client(new SESClient({}));
  return sesClient;
}

/** The reply keys, cached for the life of the container. */
export function productionReplyKeys(mail: MailConfig): ReplyKeySource {
  secretsClient ??= tracer.captureAWSv3Client(new SecretsManagerClient({}));
  replyKeys ??= new SecretsManagerReplyKeys(secretsClient, mail.REPLY_TOKEN_SECRET_ARN);
  return replyKeys;
}

export function productionMailer(mail: MailConfig, tableName: string): Mailer {
  return new Mailer(
    productionSes(),
    new DynamoOutboundLedger(documentClient, tableName),
    {
      from: {
        address: mail.MAIL_FROM,
        ...(mail.MAIL_FROM_NAME === undefined ? {} : { name: mail.MAIL_FROM_NAME }),
      },
      configurationSet: mail.SES_CONFIGURATION_SET,
    },
    now,
  );
}

/**
 * The outbound dependencies from the environment. The context loader caches tenants and challenges,
 * so a fresh one is made per invocation (`fresh`); the clients and the key cache live for the container.
 */
export function productionOutbound(): OutboundDependencies {
  const { TABLE_NAME } = config();
  const mail = parseMailConfig(process.env);
  const challenges = new DynamoChallengeStore(documentClient, TABLE_NAME);
  return {
    contexts: new MailContextLoader(
      challenges,
      new TenantStore(documentClient, TABLE_NAME, now),
      presetProtocol,
      mail.AUTHORITY_NAME ?? DEFAULT_AUTHORITY_NAME,
    ),
    keys: productionReplyKeys(mail),
    mailer: productionMailer(mail, TABLE_NAME),
    undeliverable: new DynamoUndeliverableLog(documentClient, TABLE_NAME),
    replyDomain: mail.MAIL_REPLY_DOMAIN ?? mail.MAIL_DOMAIN,
    caseRecordBaseUrl: required(mail.CASE_RECORD_BASE_URL, "CASE_RECORD_BASE_URL"),
    clock: now,
    observer: mailObserver,
  };
}

/** The stream handler over the given dependencies (built per invocation: the loader's caches are per batch). */
export function createHandler(deps: () => OutboundDependencies) {
  return mailHandler(async (event: unknown): Promise<DynamoDBBatchResponse> => {
    const d = deps();
    const { batchItemFailures, summary } = await sendBatch(d, event);
    d.observer.info("notification batch processed", { ...summary, failed: batchItemFailures.length });
    return { batchItemFailures };
  });
}

export const handler = createHandler(productionOutbound);
