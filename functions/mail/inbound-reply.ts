import * as z from "zod/mini";
import "../domain/about.js";
import { MAX_REPLY_TEXT } from "./inbound-policy.js";
import type { TokenLookup } from "./reply-token.js";

/**
 * What the receiving function (receive-email.ts: the raw message, postal-mime, the reply token,
 * SES's verdicts, checks 1-4 of inbound-policy.ts) hands on, through the inbound replies queue, to
 * the function that applies it (apply-reply.ts: the challenge, the claims, the command). Small and
 * free of the message's body: the reply's new text (capped, inbound-policy.ts capReplyText), the
 * token's claims, and the evidence the inbound record keeps. The raw message stays in the inbound
 * bucket under the SES message id: the source of truth, as before the hand-over.
 *
 * Checked with this schema on both sides: the sender before it sends, the applier before it acts.
 */

/**
 * How often the replies queue delivers a verified reply before it keeps it in its dead-letter queue
 * (lib/mail.ts, and local/sqs.ts as the local runtime wires it).
 */
export const INBOUND_REPLY_ATTEMPTS = 5;

const iso = z.string().check(z.regex(/^\d{4}-\d{2}-\d{2}T[\d:.]+Z$/, "an ISO 8601 UTC time"));
const id = z.string().check(z.minLength(1), z.maxLength(200));
const sha256 = z.string().check(z.regex(/^[0-9a-f]{64}$/, "a hex SHA-256"));

const claimsSchema = z.object({
  tenantId: id,
  challengeId: id,
  stageRef: id,
  recipientRef: id,
  party: z.enum(["assignee", "raiser"]),
  expiresAt: iso,
  keyId: z.number().check(z.int(), z.gte(0)),
});

const tokenSchema = z.discriminatedUnion("ok", [
  z.object({ ok: z.literal(true), claims: claimsSchema }),
  z.object({
    ok: z.literal(false),
    refusal: z.enum(["missing", "ambiguous", "malformed", "bad_signature", "unknown_key", "expired"]),
    detail: z.string().check(z.maxLength(1000)),
  }),
]);

const attachmentSchema = z.object({
  name: z.nullable(z.string().check(z.maxLength(255))),
  contentType: z.string().check(z.maxLength(255)),
  size: z.number().check(z.int(), z.gte(0)),
  sha256,
});

export const verifiedReplySchema = z.object({
  /** `reply`: an authenticated person's email; `out_of_office`: their automatic out-of-office reply. */
  kind: z.enum(["reply", "out_of_office"]),
  sesMessageId: z.string().check(z.regex(/^[A-Za-z0-9._-]{1,200}$/, "an SES message id")),
  receivedAt: z.string().check(z.maxLength(64)),
  /** The tenant and challenge a verified (or expired but once issued) token names. */
  attribution: z.optional(z.object({ tenantId: id, challengeId: id })),
  token: tokenSchema,
  reply: z.object({
    from: z.string().check(z.minLength(3), z.maxLength(320)),
    messageId: z.nullable(z.string().check(z.maxLength(1000))),
    rawSha256: sha256,
    forwarded: z.boolean(),
    newText: z.string().check(z.maxLength(MAX_REPLY_TEXT + 1)),
  }),
  /** An out-of-office reply's last day away, when it states one (functions/domain/absence-dates.ts). */
  until: z.optional(z.string().check(z.regex(/^\d{4}-\d{2}-\d{2}$/, "a day"))),
  evidence: z.object({
    senderDomain: z.nullable(z.string().check(z.maxLength(320))),
    // At most postal-mime's part limit (parse-reply.ts PARSER_OPTIONS.maxPartCount).
    attachments: z.array(attachmentSchema).check(z.maxLength(500)),
  }),
});

/** The hand-over as it travels (JSON): the token's expiry as an ISO string. */
export type VerifiedReplyMessage = z.infer<typeof verifiedReplySchema>;

/** The hand-over as the applier reads it: the token as reply-token.ts gives it. */
export type VerifiedReply = Omit<VerifiedReplyMessage, "token"> & { readonly token: TokenLookup };

function asMessage(reply: VerifiedReply): unknown {
  const token = reply.token.ok
    ? { ok: true, claims: { ...reply.token.claims, expiresAt: reply.token.claims.expiresAt.toISOString() } }
    : reply.token;
  return { ...reply, token };
}

/** Whether `reply` fits the schema (bounds on every field): one that does not is never handed on. */
export function fitsHandOver(reply: VerifiedReply): boolean {
  return verifiedReplySchema.safeParse(asMessage(reply)).success;
}

/** The message body the receiving function sends; throws when `reply` does not fit the schema. */
export function serialiseVerifiedReply(reply: VerifiedReply): string {
  return JSON.stringify(verifiedReplySchema.parse(asMessage(reply)));
}

/** The hand-over from a queue message's body; throws (a ZodError, a SyntaxError) when it is not one. */
export function parseVerifiedReply(body: string): VerifiedReply {
  const message = verifiedReplySchema.parse(JSON.parse(body));
  const token: TokenLookup = message.token.ok
    ? { ok: true, claims: { ...message.token.claims, expiresAt: new Date(message.token.claims.expiresAt) } }
    : message.token;
  return { ...message, token };
}
