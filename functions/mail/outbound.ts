import { keys } from "../store/table.js";
import {
  type LedgerKey,
  MAIL_OUT_SK_PREFIX,
  type UndeliverableLog,
  type UndeliverableRecord,
} from "./deliveries.js";
import type { ChallengeMailContext, MailContextLoader } from "./mail-context.js";
import { MAIL_TAGS } from "./mail-tags.js";
import type { DeliveryOutcome, Mailer } from "./mailer.js";
import {
  type PlannedEmail,
  type RecipientRole,
  renderPlanned,
  undeliverableNotice,
} from "./notifications.js";
import type { ReplyKeySource } from "./reply-keys.js";
import { ackLinkUrl, signAckLinkToken, withAckLink } from "./ack-link.js";
import { replyAddressFor } from "./reply-token.js";

// Sending a challenge's planned emails (the stream handler and delivery-events.ts), and the
// undeliverable-alert step

/** Where the mail functions report (ids, codes and counts only). */
export interface MailObserver {
  info(message: string, attributes: Record<string, unknown>): void;
  warn(message: string, attributes: Record<string, unknown>): void;
  count(metric: string, value?: number): void;
}

export interface OutboundDependencies {
  readonly contexts: MailContextLoader;
  readonly keys: ReplyKeySource;
  readonly mailer: Mailer;
  readonly undeliverable: UndeliverableLog;
  /** Reply addresses are `reply+<token>@<replyDomain>`. */
  readonly replyDomain: string;
  readonly caseRecordBaseUrl: string;
  /** The API's base URL for the acknowledgement link in a stage's notification (ack-link.ts); none when unset. */
  readonly ackLinkBaseUrl?: string;
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
export async function sendPlanned(
  deps: OutboundDependencies,
  tenantId: string,
  challengeId: string,
  context: ChallengeMailContext,
  planned: PlannedEmail,
  key: LedgerKey,
  seq: number | "alert",
): Promise<DeliveryOutcome> {
  const plain = renderPlanned(planned, {
    caseRecordBaseUrl: deps.caseRecordBaseUrl,
    ...(context.templates === undefined ? {} : { templates: context.templates }),
  });
  const grant = planned.reply;
  // The stage's recipient may acknowledge from a link as well as by reply: their own, signed link.
  const rendered =
    grant?.party === "assignee" && deps.ackLinkBaseUrl !== undefined
      ? withAckLink(
          plain,
          ackLinkUrl(
            deps.ackLinkBaseUrl,
            signAckLinkToken(
              {
                tenantId,
                challengeId,
                stageId: grant.stageId,
                stageOpenedAt: grant.stageOpenedAt,
                recipientEmail: planned.to.email,
                expiresAt: grant.expiresAt,
              },
              await deps.keys.current(),
            ),
          ),
        )
      : plain;
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
