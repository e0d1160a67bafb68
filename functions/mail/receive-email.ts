import { GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { DeleteCommand, PutCommand, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import * as z from "zod/mini";
import { type CommandResult, type ExecuteDependencies, executeCommand } from "../app/execute-command.js";
import { SfnWorkflowSignal } from "../workflow/sfn-signal.js";
import { type Actor, type Command, DomainError } from "../domain/challenge/index.js";
import type { ChallengeState } from "../domain/challenge/state.js";
import { documentClient, sfn } from "../shared/clients.js";
import { now } from "../shared/clock.js";
import { config } from "../shared/config.js";
import { DedupeStore } from "../store/dedupe-store.js";
import { DynamoChallengeStore } from "../store/dynamo-challenge-store.js";
import type { ChallengeStore } from "../store/ports.js";
import { TABLE, keys } from "../store/table.js";
import { type StaffMember, TenantStore } from "../store/tenant-store.js";
import {
  type InboundAction,
  type InboundContext,
  type InboundDecision,
  type InboundRefusal,
  type SesVerdict,
  type SesVerdicts,
  bounceText,
  decideInbound,
} from "./inbound-policy.js";
import { type ParsedInboundEmail, parseInboundEmail } from "./parse-reply.js";
import {
  type ReplyClaims,
  type ReplyParty,
  type TokenLookup,
  locateReplyToken,
  recipientRefOf,
} from "./reply-token.js";
import { type LedgerKey, MAIL_OUT_SK_PREFIX } from "./deliveries.js";
import { parseMailConfig, required, tenantIdsOf } from "./mail-config.js";
import { presetProtocol } from "./mail-context.js";
import { actOnOutOfOffice } from "./out-of-office.js";
import type { AbsenceDirectory } from "../app/absences.js";
import { MAIL_TAGS } from "./mail-tags.js";
import type { DeliveryOutcome, Mailer } from "./mailer.js";
import type { MailObserver } from "./outbound.js";
import { mailHandler, mailObserver, productionMailer, productionReplyKeys } from "./production.js";
import type { ReplyKeySource } from "./reply-keys.js";
import { challengeReference } from "../domain/email-templates.js";

/**
 * The inbound mail handler. The SES receipt rule (lib/mail.ts) runs, in order: (1) an S3 action
 * that stores the raw message under `MAIL_PREFIX` + the SES message id, then (2) a Lambda action
 * (invocation type Event) with this function. The Lambda action's event carries SES's own
 * verdicts (`receipt.spfVerdict`, `dkimVerdict`, `dmarcVerdict`, `spamVerdict`, `virusVerdict`)
 * and the envelope recipients; the message itself is read from S3. `X-SES-*` headers inside the
 * message are never trusted: anyone can write them.
 *
 * Per message: parse (mailparser) → find and verify the reply token among the envelope recipients
 * → load the challenge and whom it expects → `decideInbound` (fail closed) → act through the
 * application service (channel "email"; it records the events and signals the workflow), or record
 * the refusal and, where the policy says it is safe, send a short bounce-style reply.
 *
 * Claims, both in the dedupe store:
 * - the Message-ID (or the raw message's SHA-256 when there is none), claimed only once the sender
 *   is authenticated, so a forged message cannot use up a real reply's Message-ID;
 * - the token, claimed just before a respond / resolve / escalate, so a token acts once (an
 *   acknowledgement does not use it up).
 * A transient failure before the command commits gives both claims back and fails the invocation;
 * SES's asynchronous invocation retries it (twice), then the on-failure queue keeps the event.
 * After the commit nothing is given back. So a reply acts at most once; it is lost only if the
 * process dies between a claim and the commit (the raw message stays in S3, and the duplicate
 * refusal of the retry is recorded, for a person to replay).
 *
 * Records (items in the single table, no body, no addresses): `inbound-acceptance` and
 * `inbound-refusal`, in the challenge's partition when the token names one (sk
 * `MAILIN#<received>#<SES message id>`), else in `MAILIN#UNATTRIBUTED` (kept 90 days, like the raw
 * mail). Attachments are described (name, type, size, SHA-256), never kept or opened.
 */

// =============================================================================================
// Ports

export interface InboundClaims {
  /** True the first time a key is claimed while the claim lives. */
  claim(tenantId: string, kind: ClaimKind, key: string, ttlSeconds: number): Promise<boolean>;
  release(tenantId: string, kind: ClaimKind, key: string): Promise<void>;
}

export type ClaimKind = "inbound-message" | "reply-token";

export interface AttachmentEvidence {
  readonly name: string | null;
  readonly contentType: string;
  readonly size: number;
  readonly sha256: string;
}

export interface InboundRecord {
  readonly outcome: "accepted" | "refused";
  readonly tenantId?: string;
  readonly challengeId?: string;
  readonly receivedAt: string;
  /** The SES message id: the raw message's key in the inbound bucket. */
  readonly sesMessageId: string;
  /** SHA-256 of the raw message: ties the record to the stored message. */
  readonly rawSha256?: string;
  /** A refusal's reason: the policy's code, `domain:<code>` when the challenge refused the command, or `unreadable`. */
  readonly reason?: string;
  readonly action?: InboundAction;
  readonly party?: ReplyParty;
  /** The events the reply recorded. */
  readonly seqs?: readonly number[];
  /** The domain of the From address (or the envelope sender): never the address. */
  readonly senderDomain: string | null;
  /** Whether a bounce-style reply was due. */
  readonly bounce?: boolean;
  readonly attachments: readonly AttachmentEvidence[];
}

export interface InboundRecordLog {
  /** Writes the record once (a retried invocation writes nothing new). */
  record(record: InboundRecord): Promise<void>;
}

export interface InboundPeople {
  getStaff(tenantId: string, personId: string): Promise<StaffMember | undefined>;
  /** Where out-of-office replies record absences (out-of-office.ts); without it they record none. */
  replaceAbsences?: AbsenceDirectory["replaceAbsences"];
}

export interface InboundDependencies {
  readonly s3: Pick<S3Client, "send">;
  readonly bucket: string;
  readonly prefix: string;
  readonly keys: ReplyKeySource;
  readonly tenantIds: readonly string[];
  readonly replyDomain: string;
  readonly challenges: Pick<ChallengeStore, "get">;
  readonly people: InboundPeople;
  readonly claims: InboundClaims;
  readonly records: InboundRecordLog;
  /** The application service (executeCommand with its dependencies). */
  readonly execute: (tenantId: string, command: Command) => Promise<CommandResult>;
  /** Sends bounce-style replies. */
  readonly mailer: Mailer;
  readonly clock: () => Date;
  readonly observer: MailObserver;
}

/** How long a processed Message-ID is remembered: beyond any redelivery, and most replays of a signed message. */
export const MESSAGE_ID_TTL_SECONDS = 180 * 24 * 3600;
const MAX_TTL_SECONDS = 366 * 24 * 3600;
const DAY_SECONDS = 24 * 3600;

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

/** Refusals decided before the sender is known to be an authenticated person: no claims, no bounce. */
const BEFORE_DEDUPE = new Set(["virus", "spam", "auto_reply", "not_authenticated", "no_sender"]);

export type InboundOutcome =
  | { readonly outcome: "accepted"; readonly action: InboundAction; readonly seqs: readonly number[] }
  | { readonly outcome: "refused"; readonly reason: string; readonly bounced: boolean };

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

interface LoadedChallenge {
  readonly state: ChallengeState | undefined;
  readonly context: Omit<InboundContext, "alreadyProcessed" | "tokenSpent">;
  /** Who acts when the reply acts. */
  readonly actor: Actor | undefined;
}

const NO_CHALLENGE: LoadedChallenge = {
  state: undefined,
  context: {
    expectedRecipientEmail: null,
    currentStageId: null,
    currentStageOpenedAt: null,
    challengeStatus: "none",
  },
  actor: undefined,
};

async function loadChallenge(deps: InboundDependencies, claims: ReplyClaims): Promise<LoadedChallenge> {
  const stored = await deps.challenges.get(claims.tenantId, claims.challengeId);
  const state = stored?.state;
  if (state === undefined || state.status === "none") return NO_CHALLENGE;
  const stage = state.currentStage;
  let expectedRecipientEmail: string | null = null;
  let actor: Actor | undefined;
  if (claims.party === "assignee") {
    // Each recipient of the stage (its assignee and any co-equal recipients) has their own token,
    // bound to their address: the reply acts as the person it was sent to.
    const addressee =
      stage === null
        ? undefined
        : [stage.assignee, ...stage.coAssignees].find((a) => recipientRefOf(a.email) === claims.recipientRef);
    if (addressee !== undefined) {
      expectedRecipientEmail = addressee.email;
      // Whoever a stage is addressed to acts as a manager (the protocol's recipient roles).
      actor = { id: addressee.personId, role: "manager" };
    }
  } else {
    const raiser = await deps.people.getStaff(claims.tenantId, state.raiser.id);
    if (raiser?.active === true) {
      expectedRecipientEmail = raiser.email;
      actor = state.raiser;
    }
  }
  return {
    state,
    context: {
      expectedRecipientEmail,
      currentStageId: stage?.stageId ?? null,
      currentStageOpenedAt: stage?.openedAt ?? null,
      challengeStatus: state.status,
    },
    actor,
  };
}

function commandFor(
  decision: Extract<InboundDecision, { act: true }>,
  challengeId: string,
  actor: Actor,
): Command {
  const base = { challengeId, actor, channel: "email" as const };
  switch (decision.action) {
    case "respond":
      return { type: "Respond", ...base, response: decision.text };
    case "acknowledge":
      return { type: "Acknowledge", ...base };
    case "resolved":
      return { type: "MarkResolved", ...base, summary: decision.text };
    case "escalate":
      return { type: "Escalate", ...base, reasons: decision.text };
  }
}

function tokenKeyOf(claims: ReplyClaims): string {
  return [
    claims.challengeId,
    claims.stageRef,
    claims.recipientRef,
    claims.party,
    String(Math.floor(claims.expiresAt.getTime() / 1000)),
  ].join(":");
}

function tokenTtl(claims: ReplyClaims, at: Date): number {
  const seconds = Math.ceil((claims.expiresAt.getTime() - at.getTime()) / 1000) + DAY_SECONDS;
  return Math.min(MAX_TTL_SECONDS, Math.max(DAY_SECONDS, seconds));
}

function domainBounceText(error: DomainError): string {
  return (
    [
      "Your email has not been recorded against the challenge.",
      `Why: ${error.message}.`,
      "What to do instead: please use the case record.",
      "This is an automatic reply. Replies to it are not read.",
    ].join("\n\n") + "\n"
  );
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
  const loaded = token.ok ? await loadChallenge(deps, token.claims) : NO_CHALLENGE;
  const verdicts = verdictsOf(receipt);
  const decide = (alreadyProcessed: boolean, tokenSpent: boolean): InboundDecision =>
    decideInbound(parsed, verdicts, token, { ...loaded.context, alreadyProcessed, tokenSpent });

  const evidence = {
    receivedAt,
    sesMessageId: mail.messageId,
    rawSha256: parsed.rawSha256,
    senderDomain: domainOf(parsed.from?.address ?? mail.source),
    attachments: parsed.attachments
      .filter((a) => !a.inline)
      .map((a) => ({ name: a.filename, contentType: a.contentType, size: a.size, sha256: a.sha256 })),
    ...(attribution ?? {}),
  };
  const refuse = async (decision: InboundRefusal | { reason: string; bounce: boolean; text: string }) => {
    await deps.records.record({
      outcome: "refused",
      ...evidence,
      reason: decision.reason,
      bounce: decision.bounce,
      ...(token.ok ? { party: token.claims.party } : {}),
    });
    deps.observer.count("InboundRefused");
    deps.observer.info("inbound email refused", {
      tenantId: attribution?.tenantId,
      challengeId: attribution?.challengeId,
      sesMessageId: mail.messageId,
      refusal: decision.reason,
      bounce: decision.bounce,
    });
    let bounced = false;
    if (decision.bounce && parsed.from !== null) {
      const text = "text" in decision ? decision.text : bounceText(decision);
      const outcome = await sendBounce(deps, parsed, attribution, mail.messageId, text);
      bounced = outcome.status === "sent";
    }
    return { outcome: "refused" as const, reason: decision.reason, bounced };
  };

  let decision = decide(false, false);
  if (!decision.act && BEFORE_DEDUPE.has(decision.reason)) {
    // Never an answer; but an out-of-office reply marks its sender absent and passes the stage on.
    if (decision.reason === "auto_reply") await actOnOutOfOffice(deps, { parsed, verdicts, token, loaded });
    return refuse(decision);
  }

  const messageKey = parsed.messageId ?? `sha256:${parsed.rawSha256}`;
  const claimed: { tenantId: string; kind: ClaimKind; key: string }[] = [];
  let committed = false;
  try {
    if (attribution !== undefined) {
      const first = await deps.claims.claim(
        attribution.tenantId,
        "inbound-message",
        messageKey,
        MESSAGE_ID_TTL_SECONDS,
      );
      if (!first) {
        const duplicate = decide(true, false);
        return await refuse(duplicate.act ? { reason: "duplicate", bounce: false, text: "" } : duplicate);
      }
      claimed.push({ tenantId: attribution.tenantId, kind: "inbound-message", key: messageKey });
    }
    if (!decision.act) return await refuse(decision);
    if (!token.ok || loaded.actor === undefined) {
      // decideInbound only acts on a verified token with the expected sender; keep the types honest.
      return await refuse({ reason: "wrong_sender", bounce: false, text: "" });
    }
    const claims = token.claims;
    if (decision.action !== "acknowledge") {
      const tokenKey = tokenKeyOf(claims);
      const fresh = await deps.claims.claim(claims.tenantId, "reply-token", tokenKey, tokenTtl(claims, at));
      if (!fresh) {
        decision = decide(false, true);
        if (!decision.act) return await refuse(decision);
      } else {
        claimed.push({ tenantId: claims.tenantId, kind: "reply-token", key: tokenKey });
      }
    }

    let result: CommandResult;
    try {
      // The reply acts on the stage its token names (the policy checked it is the open one): a
      // concurrent escalation makes the command refuse (STAGE_MOVED) rather than act on the next stage.
      const stageId = loaded.context.currentStageId ?? undefined;
      result = await deps.execute(claims.tenantId, {
        ...commandFor(decision, claims.challengeId, loaded.actor),
        ...(stageId === undefined ? {} : { expected: { stageId } }),
      });
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      // The challenge refused it (e.g. already acknowledged): the token was not used.
      const spent = claimed.findIndex((c) => c.kind === "reply-token");
      if (spent >= 0) {
        const [token] = claimed.splice(spent, 1);
        if (token !== undefined) await deps.claims.release(token.tenantId, token.kind, token.key);
      }
      return await refuse({ reason: `domain:${error.code}`, bounce: true, text: domainBounceText(error) });
    }
    committed = true;
    const seqs = result.events.map((e) => e.seq);
    deps.observer.count("InboundAccepted");
    deps.observer.info("inbound email acted on", {
      tenantId: claims.tenantId,
      challengeId: claims.challengeId,
      sesMessageId: mail.messageId,
      inboundAction: decision.action,
      seqs,
    });
    try {
      await deps.records.record({
        outcome: "accepted",
        ...evidence,
        action: decision.action,
        party: claims.party,
        seqs,
      });
    } catch (error) {
      // The events are the record; a missing acceptance note must not make the retry act again.
      deps.observer.count("InboundRecordFailed");
      deps.observer.warn("the acceptance record could not be written", {
        tenantId: claims.tenantId,
        challengeId: claims.challengeId,
        sesMessageId: mail.messageId,
        errorName: error instanceof Error ? error.name : "unknown",
      });
    }
    return { outcome: "accepted", action: decision.action, seqs };
  } catch (error) {
    if (!committed) {
      // Give the claims back so SES's retry of this invocation can act.
      await Promise.allSettled(claimed.map((c) => deps.claims.release(c.tenantId, c.kind, c.key)));
    }
    throw error;
  }
}

async function sendBounce(
  deps: InboundDependencies,
  parsed: ParsedInboundEmail,
  attribution: { tenantId: string; challengeId: string } | undefined,
  sesMessageId: string,
  text: string,
): Promise<DeliveryOutcome> {
  const from = parsed.from;
  if (from === null) return { status: "rejected", code: "NoSender" };
  const key: LedgerKey = {
    pk: recordPartition(attribution),
    sk: `${MAIL_OUT_SK_PREFIX}BOUNCE#${sesMessageId}`,
  };
  const outcome = await deps.mailer.deliver({
    key,
    entry: { ...(attribution ?? {}), kind: "bounce", recipientRole: "sender" },
    to: { email: from.address },
    rendered: {
      // Never the sender's own words: only our reference.
      subject:
        attribution === undefined
          ? "Not recorded: your email to the challenge service"
          : `Not recorded: your email about challenge ${challengeReference(attribution.challengeId)}`,
      text,
    },
    autoSubmitted: "auto-replied",
    ...(parsed.messageId === null ? {} : { inReplyTo: parsed.messageId }),
    tags: {
      [MAIL_TAGS.kind]: "bounce",
      ...(attribution === undefined
        ? {}
        : { [MAIL_TAGS.tenant]: attribution.tenantId, [MAIL_TAGS.challenge]: attribution.challengeId }),
    },
  });
  if (outcome.status === "sent") deps.observer.count("InboundBounceSent");
  return outcome;
}

/** Processes an SES receipt-rule event (normally one record). */
export async function receiveEvent(deps: InboundDependencies, event: unknown): Promise<InboundOutcome[]> {
  const { Records } = sesEventSchema.parse(event);
  const outcomes: InboundOutcome[] = [];
  for (const record of Records) outcomes.push(await receiveMessage(deps, record));
  return outcomes;
}

// =============================================================================================
// Storage

export const INBOUND_ACCEPTANCE_ENTITY = "inbound-acceptance";
export const INBOUND_REFUSAL_ENTITY = "inbound-refusal";
/** The partition of messages no token attributes to a tenant: no tenant data by construction. */
export const UNATTRIBUTED_PARTITION = "MAILIN#UNATTRIBUTED";
const UNATTRIBUTED_TTL_SECONDS = 90 * DAY_SECONDS;

function recordPartition(attribution: { tenantId: string; challengeId: string } | undefined): string {
  return attribution === undefined
    ? UNATTRIBUTED_PARTITION
    : keys.challengePartition(attribution.tenantId, attribution.challengeId);
}

/** Inbound records as items of the single table (layout: functions/store/table.ts). */
export class DynamoInboundRecordLog implements InboundRecordLog {
  constructor(
    private readonly client: Pick<DynamoDBDocumentClient, "send">,
    private readonly tableName: string,
  ) {}

  async record(record: InboundRecord): Promise<void> {
    const attributed =
      record.tenantId === undefined || record.challengeId === undefined
        ? undefined
        : { tenantId: record.tenantId, challengeId: record.challengeId };
    const sk =
      attributed === undefined
        ? `${record.receivedAt}#${record.sesMessageId}`
        : `MAILIN#${record.receivedAt}#${record.sesMessageId}`;
    const received = Date.parse(record.receivedAt);
    const expiresAt =
      attributed === undefined
        ? {
            [TABLE.ttlAttribute]:
              Math.floor((Number.isNaN(received) ? Date.now() : received) / 1000) + UNATTRIBUTED_TTL_SECONDS,
          }
        : {};
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            pk: recordPartition(attributed),
            sk,
            [TABLE.entityAttribute]:
              record.outcome === "accepted" ? INBOUND_ACCEPTANCE_ENTITY : INBOUND_REFUSAL_ENTITY,
            ...Object.fromEntries(Object.entries(record).filter(([, v]) => v !== undefined)),
            ...expiresAt,
          },
          ConditionExpression: "attribute_not_exists(#pk)",
          ExpressionAttributeNames: { "#pk": TABLE.partitionKey },
        }),
      );
    } catch (error) {
      if (!(error instanceof Error && error.name === "ConditionalCheckFailedException")) throw error;
    }
  }
}

/** The claims over the dedupe store; giving one back deletes its item. */
export class DedupeClaims implements InboundClaims {
  constructor(
    private readonly dedupe: DedupeStore,
    private readonly client: Pick<DynamoDBDocumentClient, "send">,
    private readonly tableName: string,
  ) {}

  claim(tenantId: string, kind: ClaimKind, key: string, ttlSeconds: number): Promise<boolean> {
    return this.dedupe.claimOnce(tenantId, kind, key, ttlSeconds);
  }

  async release(tenantId: string, kind: ClaimKind, key: string): Promise<void> {
    await this.client.send(
      new DeleteCommand({ TableName: this.tableName, Key: keys.dedupe(tenantId, kind, key) }),
    );
  }
}

// =============================================================================================
// Production wiring

let s3Client: S3Client | undefined;

export function productionInbound(): InboundDependencies {
  const { TABLE_NAME, STATE_MACHINE_ARN } = config();
  const mail = parseMailConfig(process.env);
  s3Client ??= new S3Client({});
  const challenges = new DynamoChallengeStore(documentClient, TABLE_NAME);
  const tenants = new TenantStore(documentClient, TABLE_NAME, now);
  const execution: ExecuteDependencies = {
    challenges,
    tenants,
    protocols: presetProtocol,
    workflow: new SfnWorkflowSignal({ sfn, stateMachineArn: STATE_MACHINE_ARN, tokens: challenges }),
    clock: now,
    observer: {
      warn: (message, attributes) => {
        mailObserver.warn(message, attributes);
      },
      error: (message, attributes, error) => {
        mailObserver.warn(message, {
          ...attributes,
          errorName: error instanceof Error ? error.name : "unknown",
        });
      },
      count: (metric) => {
        mailObserver.count(metric);
      },
    },
  };
  return {
    s3: s3Client,
    bucket: required(mail.MAIL_BUCKET, "MAIL_BUCKET"),
    prefix: mail.MAIL_PREFIX ?? "",
    keys: productionReplyKeys(mail),
    tenantIds: tenantIdsOf(mail),
    replyDomain: mail.MAIL_REPLY_DOMAIN ?? mail.MAIL_DOMAIN,
    challenges,
    people: tenants,
    claims: new DedupeClaims(new DedupeStore(documentClient, TABLE_NAME, now), documentClient, TABLE_NAME),
    records: new DynamoInboundRecordLog(documentClient, TABLE_NAME),
    execute: (tenantId, command) => executeCommand(execution, tenantId, command),
    mailer: productionMailer(mail, TABLE_NAME),
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
