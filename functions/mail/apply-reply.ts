import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import { type CommandResult, type ExecuteDependencies, executeCommand } from "../app/execute-command.js";
import type { AbsenceDirectory } from "../app/absences.js";
import { type Actor, type Command, DomainError } from "../domain/challenge/index.js";
import type { ChallengeState } from "../domain/challenge/state.js";
import { challengeReference } from "../domain/email-templates.js";
import { findPreset } from "../domain/presets/index.js";
import { documentClient } from "../shared/clients.js";
import { sfn } from "../shared/sfn-client.js";
import { now } from "../shared/clock.js";
import { config } from "../shared/config.js";
import { DedupeStore } from "../store/dedupe-store.js";
import { DynamoChallengeStore } from "../store/dynamo-challenge-store.js";
import type { ChallengeStore } from "../store/ports.js";
import { type StaffMember, TenantStore } from "../store/tenant-store.js";
import { SfnWorkflowSignal } from "../workflow/sfn-signal.js";
import { type LedgerKey, MAIL_OUT_SK_PREFIX } from "./deliveries.js";
import {
  type InboundAction,
  type InboundContext,
  type InboundDecision,
  type InboundRefusal,
  bounceText,
  decideReply,
} from "./inbound-policy.js";
import { DynamoInboundRecordLog, type InboundRecordLog, recordPartition } from "./inbound-records.js";
import { type VerifiedReply, parseVerifiedReply } from "./inbound-reply.js";
import { parseMailConfig } from "./mail-config.js";
import { MAIL_TAGS } from "./mail-tags.js";
import type { DeliveryOutcome, Mailer } from "./mailer.js";
import type { MailObserver } from "./outbound.js";
import { actOnOutOfOffice } from "./out-of-office.js";
import { mailHandler, mailObserver } from "./production-base.js";
import { productionMailer } from "./production-mailer.js";
import { type ReplyClaims, recipientRefOf } from "./reply-token.js";

/**
 * Applies a verified reply (inbound-reply.ts), which the receiving function (receive-email.ts) has
 * read from the inbound bucket, parsed, authenticated (checks 1-4 of inbound-policy.ts) and
 * matched to its reply token, and put on the inbound replies queue (lib/mail.ts). Per reply: load
 * the challenge and whom it expects → `decideReply` (checks 5-11, fail closed) → act through the
 * application service (channel "email"; it records the events and signals the workflow), or
 * record the refusal and, where the policy says it is safe, send a short bounce-style reply.
 * An out-of-office notice marks its sender absent and passes the stage on (out-of-office.ts).
 *
 * Claims, both in the dedupe store:
 * - the Message-ID (or the raw message's SHA-256 when there is none): a second delivery of the same
 *   reply (the queue delivers at least once; SES may deliver a message twice) is a quiet duplicate;
 * - the token, claimed just before a respond / resolve / escalate, so a token acts once (an
 *   acknowledgement does not use it up).
 * A transient failure before the command commits gives both claims back and fails the message; the
 * queue delivers it again, and after its last attempt keeps it in the dead-letter queue. After the
 * commit nothing is given back. So a reply acts at most once; it is lost only if the process dies
 * between a claim and the commit (the raw message stays in S3, and the duplicate refusal of the
 * retry is recorded, for a person to replay).
 */

// =============================================================================================
// Ports

export interface InboundClaims {
  /** True the first time a key is claimed while the claim lives. */
  claim(tenantId: string, kind: ClaimKind, key: string, ttlSeconds: number): Promise<boolean>;
  release(tenantId: string, kind: ClaimKind, key: string): Promise<void>;
}

export type ClaimKind = "inbound-message" | "reply-token";

export interface InboundPeople {
  getStaff(tenantId: string, personId: string): Promise<StaffMember | undefined>;
  /** Where out-of-office replies record absences (out-of-office.ts); without it they record none. */
  replaceAbsences?: AbsenceDirectory["replaceAbsences"];
}

export interface ApplyDependencies {
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

export type ReplyOutcome =
  | { readonly outcome: "accepted"; readonly action: InboundAction; readonly seqs: readonly number[] }
  | { readonly outcome: "refused"; readonly reason: string; readonly bounced: boolean };

// =============================================================================================
// The challenge

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

async function loadChallenge(deps: ApplyDependencies, claims: ReplyClaims): Promise<LoadedChallenge> {
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

// =============================================================================================
// The flow

/** Applies one verified reply. Throws only when it should be retried. */
export async function applyReply(deps: ApplyDependencies, reply: VerifiedReply): Promise<ReplyOutcome> {
  const at = deps.clock();
  const { token, attribution, sesMessageId } = reply;
  const loaded = token.ok ? await loadChallenge(deps, token.claims) : NO_CHALLENGE;
  const decide = (alreadyProcessed: boolean, tokenSpent: boolean): InboundDecision =>
    decideReply(reply.reply, token, { ...loaded.context, alreadyProcessed, tokenSpent });

  const evidence = {
    receivedAt: reply.receivedAt,
    sesMessageId,
    rawSha256: reply.reply.rawSha256,
    ...reply.evidence,
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
      sesMessageId,
      refusal: decision.reason,
      bounce: decision.bounce,
    });
    let bounced = false;
    if (decision.bounce) {
      const text = "text" in decision ? decision.text : bounceText(decision);
      const outcome = await sendBounce(deps, reply, text);
      bounced = outcome.status === "sent";
    }
    return { outcome: "refused" as const, reason: decision.reason, bounced };
  };

  if (reply.kind === "out_of_office") {
    // Never an answer; but an out-of-office reply marks its sender absent and passes the stage on.
    await actOnOutOfOffice(deps, {
      notice: {
        from: reply.reply.from,
        messageKey: reply.reply.messageId ?? `sha256:${reply.reply.rawSha256}`,
        ...(reply.until === undefined ? {} : { until: reply.until }),
      },
      token,
      loaded,
    });
    return refuse({ reason: "auto_reply", bounce: false, text: "" });
  }

  let decision = decide(false, false);
  const messageKey = reply.reply.messageId ?? `sha256:${reply.reply.rawSha256}`;
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
      // decideReply only acts on a verified token with the expected sender; keep the types honest.
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
      sesMessageId,
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
        sesMessageId,
        errorName: error instanceof Error ? error.name : "unknown",
      });
    }
    return { outcome: "accepted", action: decision.action, seqs };
  } catch (error) {
    if (!committed) {
      // Give the claims back so the queue's next delivery of this reply can act.
      await Promise.allSettled(claimed.map((c) => deps.claims.release(c.tenantId, c.kind, c.key)));
    }
    throw error;
  }
}

async function sendBounce(
  deps: ApplyDependencies,
  reply: VerifiedReply,
  text: string,
): Promise<DeliveryOutcome> {
  const { attribution, sesMessageId } = reply;
  const key: LedgerKey = {
    pk: recordPartition(attribution),
    sk: `${MAIL_OUT_SK_PREFIX}BOUNCE#${sesMessageId}`,
  };
  const outcome = await deps.mailer.deliver({
    key,
    entry: { ...(attribution ?? {}), kind: "bounce", recipientRole: "sender" },
    to: { email: reply.reply.from },
    rendered: {
      // Never the sender's own words: only our reference.
      subject:
        attribution === undefined
          ? "Not recorded: your email to the challenge service"
          : `Not recorded: your email about challenge ${challengeReference(attribution.challengeId)}`,
      text,
    },
    autoSubmitted: "auto-replied",
    ...(reply.reply.messageId === null ? {} : { inReplyTo: reply.reply.messageId }),
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

/**
 * Applies each message of an SQS batch; a message that fails (a transient error, or a body that is
 * not a verified reply) is reported for the queue to deliver again, and after its last attempt to
 * keep in the dead-letter queue: never dropped.
 */
export async function applyQueueEvent(deps: ApplyDependencies, event: SQSEvent): Promise<SQSBatchResponse> {
  const batchItemFailures: SQSBatchResponse["batchItemFailures"] = [];
  for (const record of event.Records) {
    let reply: VerifiedReply;
    try {
      reply = parseVerifiedReply(record.body);
    } catch (error) {
      deps.observer.count("InboundReplyMalformed");
      deps.observer.warn("a queued inbound reply is not a verified reply", {
        messageId: record.messageId,
        errorName: error instanceof Error ? error.name : "unknown",
      });
      batchItemFailures.push({ itemIdentifier: record.messageId });
      continue;
    }
    try {
      await applyReply(deps, reply);
    } catch (error) {
      deps.observer.warn("an inbound reply could not be applied; the queue delivers it again", {
        sesMessageId: reply.sesMessageId,
        errorName: error instanceof Error ? error.name : "unknown",
      });
      batchItemFailures.push({ itemIdentifier: record.messageId });
    }
  }
  return { batchItemFailures };
}

// =============================================================================================
// Storage

/** The claims over the dedupe store; giving one back deletes its item. */
export class DedupeClaims implements InboundClaims {
  constructor(private readonly dedupe: DedupeStore) {}

  claim(tenantId: string, kind: ClaimKind, key: string, ttlSeconds: number): Promise<boolean> {
    return this.dedupe.claimOnce(tenantId, kind, key, ttlSeconds);
  }

  release(tenantId: string, kind: ClaimKind, key: string): Promise<void> {
    return this.dedupe.release(tenantId, kind, key);
  }
}

// =============================================================================================
// Production wiring

export function productionApply(): ApplyDependencies {
  const { TABLE_NAME, STATE_MACHINE_ARN } = config();
  const mail = parseMailConfig(process.env);
  const challenges = new DynamoChallengeStore(documentClient, TABLE_NAME);
  const tenants = new TenantStore(documentClient, TABLE_NAME, now);
  const execution: ExecuteDependencies = {
    challenges,
    tenants,
    protocols: findPreset,
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
    challenges,
    people: tenants,
    claims: new DedupeClaims(new DedupeStore(documentClient, TABLE_NAME, now)),
    records: new DynamoInboundRecordLog(documentClient, TABLE_NAME),
    execute: (tenantId, command) => executeCommand(execution, tenantId, command),
    mailer: productionMailer(mail, TABLE_NAME),
    clock: now,
    observer: mailObserver,
  };
}

let production: ApplyDependencies | undefined;

export function createHandler(deps: () => ApplyDependencies) {
  return mailHandler((event: SQSEvent): Promise<SQSBatchResponse> => applyQueueEvent(deps(), event));
}

export const handler = createHandler(() => (production ??= productionApply()));
