import { GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { SQSClient, SendMessageCommand } from "@aws-sdk/client-sqs";
import * as z from "zod/mini";
import { londonDay } from "../domain/london-time.js";
import { documentClient } from "../shared/clients.js";
import { now } from "../shared/clock.js";
import { config } from "../shared/config.js";
import {
  type InboundRefusal,
  type SesVerdict,
  type SesVerdicts,
  checkMessage,
  replyFactsOf,
} from "./inbound-policy.js";
import { DynamoInboundRecordLog, type InboundRecord, type InboundRecordLog } from "./inbound-records.js";
import { type VerifiedReply, fitsHandOver, serialiseVerifiedReply } from "./inbound-reply.js";
import { parseMailConfig, required, tenantIdsOf } from "./mail-config.js";
import type { MailObserver } from "./outbound.js";
import { outOfOfficeNotice } from "./out-of-office-notice.js";
import { type ParsedInboundEmail, parseInboundEmail } from "./parse-reply.js";
import { mailHandler, mailObserver, productionReplyKeys } from "./production-base.js";
import type { ReplyKeySource } from "./reply-keys.js";
import { type TokenLookup, locateReplyToken } from "./reply-token.js";

/**
 * The inbound mail handler: reads and verifies a message, and hands a verified reply on. The SES
 * receipt rule (lib/mail.ts) runs, in order: (1) an S3 action that stores the raw message under
 * `MAIL_PREFIX` + the SES message id, then (2) a Lambda action (invocation type Event) with this
 * function. The Lambda action's event carries SES's own verdicts (`receipt.spfVerdict`,
 * `dkimVerdict`, `dmarcVerdict`, `spamVerdict`, `virusVerdict`) and the envelope recipients; the
 * message itself is read from S3. `X-SES-*` headers inside the message are never trusted: anyone
 * can write them.
 *
 * Per message: parse (postal-mime) → find and verify the reply token among the envelope recipients
 * → checks 1-4 of inbound-policy.ts (virus, spam, machine-sent, SPF/DKIM/DMARC, one From). A
 * message they refuse is recorded here (never bounced: nothing is said to an unauthenticated or
 * automatic sender). Anything else goes on the inbound replies queue as a verified reply
 * (inbound-reply.ts): small, schema-checked, without the body; apply-reply.ts applies it (the
 * challenge, the claims, the command, the bounce). An out-of-office reply goes on as a notice.
 *
 * Why two functions: the command path (the domain, the five protocols, the stores) and the MIME
 * parser do not fit one 300 KB bundle (README, "Performance: handler bundles and import time").
 * Nothing is lost at the seam: the raw message stays in S3; this function fails (and SES retries
 * it, then keeps the event in the on-failure queue) unless the queue has taken the reply; the queue
 * keeps a reply its applier fails, then its dead-letter queue does; a reply delivered twice is a
 * duplicate by its Message-ID claim (apply-reply.ts).
 */

// =============================================================================================
// Ports

export interface InboundDependencies {
  readonly s3: Pick<S3Client, "send">;
  readonly bucket: string;
  readonly prefix: string;
  readonly keys: ReplyKeySource;
  readonly tenantIds: readonly string[];
  readonly replyDomain: string;
  /** Records what this function refuses itself (inbound-records.ts). */
  readonly records: InboundRecordLog;
  /** Hands a verified reply on to the function that applies it; resolves once it is durably taken. */
  readonly handOn: (reply: VerifiedReply) => Promise<void>;
  readonly clock: () => Date;
  readonly observer: MailObserver;
}

// =============================================================================================
// The SES event

const verdictSchema = z.optional(z.object({ status: z.string() }));

const sesRecordSchema = z.object({
  ses: z.object({
    mail: z.object({
      messageId: z.string().check(z.regex(/^[A-Za-z0-9._-]{1,200}$/, "an SES message id")),
      timestamp: z.string(),
      source: z.optional(z.string()),
      destination: z.optional(z.array(z.string())),
    }),
    receipt: z.object({
      timestamp: z.optional(z.string()),
      recipients: z.optional(z.array(z.string())),
      spamVerdict: verdictSchema,
      virusVerdict: verdictSchema,
      spfVerdict: verdictSchema,
      dkimVerdict: verdictSchema,
      dmarcVerdict: verdictSchema,
    }),
  }),
});
export const sesEventSchema = z.object({ Records: z.array(sesRecordSchema).check(z.minLength(1)) });
type SesRecord = z.infer<typeof sesRecordSchema>;

const VERDICTS: ReadonlySet<string> = new Set<SesVerdict>(["PASS", "FAIL", "GRAY", "PROCESSING_FAILED"]);

/** SES's verdicts as the policy reads them; anything unexpected (DISABLED) is treated as a failure. */
export function verdictsOf(receipt: SesRecord["ses"]["receipt"]): SesVerdicts {
  const of = (v: { status: string } | undefined): SesVerdict | undefined =>
    v === undefined ? undefined : VERDICTS.has(v.status) ? (v.status as SesVerdict) : "PROCESSING_FAILED";
  const dmarc = of(receipt.dmarcVerdict);
  return {
    spf: of(receipt.spfVerdict) ?? "PROCESSING_FAILED",
    dkim: of(receipt.dkimVerdict) ?? "PROCESSING_FAILED",
    spam: of(receipt.spamVerdict) ?? "PROCESSING_FAILED",
    virus: of(receipt.virusVerdict) ?? "PROCESSING_FAILED",
    ...(dmarc === undefined ? {} : { dmarc }),
  };
}

// =============================================================================================
// The flow

export type InboundOutcome =
  | { readonly outcome: "handed_on"; readonly kind: VerifiedReply["kind"] }
  | { readonly outcome: "refused"; readonly reason: string; readonly bounced: false };

function domainOf(address: string | undefined | null): string | null {
  if (address === undefined || address === null) return null;
  const at = address.lastIndexOf("@");
  const domain =
    at < 0
      ? ""
      : address
          .slice(at + 1)
          .trim()
          .toLowerCase()
          .replace(/>$/, "");
  return domain === "" ? null : domain;
}

async function readRaw(deps: InboundDependencies, sesMessageId: string): Promise<Buffer> {
  const output = await deps.s3.send(
    new GetObjectCommand({ Bucket: deps.bucket, Key: `${deps.prefix}${sesMessageId}` }),
  );
  if (output.Body === undefined) throw new Error(`the inbound message ${sesMessageId} has no body`);
  return Buffer.from(await output.Body.transformToByteArray());
}

/** Looks for our token among the envelope recipients; reads the keys again once if it names a key we do not have. */
async function findToken(
  deps: InboundDependencies,
  recipients: readonly string[],
  at: Date,
): Promise<TokenLookup> {
  const lookup = (ring: Awaited<ReturnType<ReplyKeySource["current"]>>) =>
    locateReplyToken(recipients, deps.replyDomain, ring, at, deps.tenantIds);
  const first = lookup(await deps.keys.current());
  if (first.ok || first.refusal !== "unknown_key") return first;
  return lookup(await deps.keys.refresh());
}

/**
 * Which tenant and challenge a refused message is about, for the record: a verified token's, or an
 * expired one's (its signature is checked as of before it expired, so it is still one we issued).
 * A token that does not verify names nothing we can trust.
 */
async function attributionOf(
  deps: InboundDependencies,
  token: TokenLookup,
  recipients: readonly string[],
): Promise<{ tenantId: string; challengeId: string } | undefined> {
  if (token.ok) return { tenantId: token.claims.tenantId, challengeId: token.claims.challengeId };
  if (token.refusal !== "expired") return undefined;
  const asIssued = locateReplyToken(
    recipients,
    deps.replyDomain,
    await deps.keys.current(),
    new Date(0),
    deps.tenantIds,
  );
  return asIssued.ok
    ? { tenantId: asIssued.claims.tenantId, challengeId: asIssued.claims.challengeId }
    : undefined;
}

/** Processes one message of the SES event. Throws only when it should be retried. */
export async function receiveMessage(deps: InboundDependencies, record: SesRecord): Promise<InboundOutcome> {
  const { mail, receipt } = record.ses;
  const at = deps.clock();
  const receivedAt = receipt.timestamp ?? mail.timestamp;
  const raw = await readRaw(deps, mail.messageId);

  let parsed: ParsedInboundEmail;
  try {
    parsed = await parseInboundEmail(raw);
  } catch {
    await deps.records.record({
      outcome: "refused",
      receivedAt,
      sesMessageId: mail.messageId,
      reason: "unreadable",
      senderDomain: domainOf(mail.source),
      attachments: [],
    });
    deps.observer.count("InboundRefused");
    return { outcome: "refused", reason: "unreadable", bounced: false };
  }

  const recipients = receipt.recipients ?? mail.destination ?? [];
  const token = await findToken(deps, recipients, at);
  const attribution = await attributionOf(deps, token, recipients);
  const verdicts = verdictsOf(receipt);
  const evidence = {
    senderDomain: domainOf(parsed.from?.address ?? mail.source),
    attachments: parsed.attachments
      .filter((a) => !a.inline)
      .map((a) => ({ name: a.filename, contentType: a.contentType, size: a.size, sha256: a.sha256 })),
  };
  const refusal = {
    receivedAt,
    sesMessageId: mail.messageId,
    rawSha256: parsed.rawSha256,
    ...evidence,
    ...(attribution ?? {}),
    ...(token.ok ? { party: token.claims.party } : {}),
  };
  const handOn = async (
    kind: VerifiedReply["kind"],
    from: string,
    until: string | undefined,
  ): Promise<InboundOutcome> => {
    const reply: VerifiedReply = {
      kind,
      sesMessageId: mail.messageId,
      receivedAt,
      ...(attribution === undefined ? {} : { attribution }),
      token,
      reply: replyFactsOf(parsed, { address: from, name: "" }),
      ...(until === undefined ? {} : { until }),
      evidence,
    };
    // A field beyond the hand-over's bounds (a 2,000-character Message-ID, a 400-character
    // attachment type) could never be applied: refused here, not retried into the on-failure queue.
    if (!fitsHandOver(reply)) return refuse(deps, "unreadable", refusal);
    await deps.handOn(reply);
    deps.observer.count("InboundHandedOn");
    return { outcome: "handed_on", kind };
  };

  const checked = checkMessage(parsed, verdicts);
  if (checked.ok) return handOn("reply", checked.from.address, undefined);
  if (checked.refusal.reason === "auto_reply") {
    // Never an answer; but an out-of-office reply may mark its sender absent and pass the stage on.
    const notice = outOfOfficeNotice(parsed, verdicts, token, londonDay(at.toISOString()));
    if (notice !== undefined) return handOn("out_of_office", notice.from, notice.until);
  }
  return refuse(deps, checked.refusal.reason, refusal);
}

/** Records a refusal of checks 1-4 (or of a message that does not fit the hand-over): quiet, never bounced. */
async function refuse(
  deps: InboundDependencies,
  reason: InboundRefusal["reason"] | "unreadable",
  evidence: Omit<InboundRecord, "outcome" | "reason" | "bounce">,
): Promise<InboundOutcome> {
  await deps.records.record({ outcome: "refused", ...evidence, reason, bounce: false });
  deps.observer.count("InboundRefused");
  deps.observer.info("inbound email refused", {
    tenantId: evidence.tenantId,
    challengeId: evidence.challengeId,
    sesMessageId: evidence.sesMessageId,
    refusal: reason,
    bounce: false,
  });
  return { outcome: "refused", reason, bounced: false };
}

/** Processes an SES receipt-rule event (normally one record). */
export async function receiveEvent(deps: InboundDependencies, event: unknown): Promise<InboundOutcome[]> {
  const { Records } = sesEventSchema.parse(event);
  const outcomes: InboundOutcome[] = [];
  for (const record of Records) outcomes.push(await receiveMessage(deps, record));
  return outcomes;
}

/** Hands verified replies on through the inbound replies queue (lib/mail.ts), checked by the schema first. */
export function queueHandOff(sqs: Pick<SQSClient, "send">, queueUrl: string): InboundDependencies["handOn"] {
  return async (reply) => {
    await sqs.send(
      new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: serialiseVerifiedReply(reply) }),
    );
  };
}

// =============================================================================================
// Production wiring

/**
 * The replies queue's URL (lib/mail.ts). Only this function reads it, so it is read here rather
 * than in mail-config.ts, whose schema every mail function bundles.
 */
export function repliesQueueUrl(env: Record<string, string | undefined>): string {
  const url = env.INBOUND_REPLY_QUEUE_URL?.trim();
  return required(url === "" ? undefined : url, "INBOUND_REPLY_QUEUE_URL");
}

let s3Client: S3Client | undefined;
let sqsClient: SQSClient | undefined;

export function productionInbound(): InboundDependencies {
  const { TABLE_NAME } = config();
  const mail = parseMailConfig(process.env);
  s3Client ??= new S3Client({});
  sqsClient ??= new SQSClient({});
  return {
    s3: s3Client,
    bucket: required(mail.MAIL_BUCKET, "MAIL_BUCKET"),
    prefix: mail.MAIL_PREFIX ?? "",
    keys: productionReplyKeys(mail),
    tenantIds: tenantIdsOf(mail),
    replyDomain: mail.MAIL_REPLY_DOMAIN ?? mail.MAIL_DOMAIN,
    records: new DynamoInboundRecordLog(documentClient, TABLE_NAME),
    handOn: queueHandOff(sqsClient, repliesQueueUrl(process.env)),
    clock: now,
    observer: mailObserver,
  };
}

let production: InboundDependencies | undefined;

export function createHandler(deps: () => InboundDependencies) {
  return mailHandler(async (event: unknown): Promise<void> => {
    await receiveEvent(deps(), event);
  });
}

export const handler = createHandler(() => (production ??= productionInbound()));
