import * as z from "zod/mini";
import type { UndeliverableReason } from "../domain/challenge/events.js";
import type { RecipientRole } from "../domain/email-recipients.js";
import { MAIL_TAGS, decodeTagValue } from "./mail-tags.js";
import { type OutboundDependencies, recordUndeliverable } from "./outbound.js";
import { mailHandler, productionOutbound } from "./production.js";

/**
 * SES configuration-set events (Bounce, Complaint, Reject, DeliveryDelay, RenderingFailure) as the
 * configuration set publishes them to SNS, and SNS delivers them to this function.
 *
 * A permanent bounce, a complaint or a rejection of an email about a challenge is recorded on the
 * challenge as a `NotificationUndeliverable` event (deliveries.ts) and the raiser is told by email
 * (the `undeliverable` template), so a manager who never got the challenge does not silently run
 * out the clock. Transient bounces and delivery
 * delays are only logged and counted: SES keeps trying those itself.
 *
 * The email is found from the SES message tags the sender set (send-notification.ts `MAIL_TAGS`):
 * tenant, challenge, event seq, recipient role and kind. No address is read from the event or
 * logged. Redelivery (SNS retries, a replayed event) records nothing twice and alerts once: the
 * record is conditional and the alert has its own delivery record keyed by the SES message id.
 * A failure throws: the asynchronous invocation is retried, then kept by the on-failure queue.
 */

const tagsSchema = z.optional(z.record(z.string(), z.array(z.string())));

const sesEventSchema = z.looseObject({
  eventType: z.optional(z.string()),
  /** Identity notifications (not configuration-set events) name it this way. */
  notificationType: z.optional(z.string()),
  mail: z.looseObject({
    messageId: z.string().check(z.minLength(1)),
    timestamp: z.optional(z.string()),
    tags: tagsSchema,
  }),
  bounce: z.optional(
    z.looseObject({
      bounceType: z.string(),
      bounceSubType: z.optional(z.string()),
      timestamp: z.optional(z.string()),
    }),
  ),
  complaint: z.optional(
    z.looseObject({
      complaintFeedbackType: z.optional(z.string()),
      timestamp: z.optional(z.string()),
    }),
  ),
  reject: z.optional(z.looseObject({ reason: z.optional(z.string()) })),
});
type SesDeliveryEvent = z.infer<typeof sesEventSchema>;

const snsEventSchema = z.object({
  Records: z.array(z.object({ Sns: z.object({ MessageId: z.optional(z.string()), Message: z.string() }) })),
});

const ROLES: ReadonlySet<string> = new Set<RecipientRole>([
  "assignee",
  "previous_assignee",
  "copy",
  "raiser",
  "referral_recipient",
  "referral_approver",
  "decider",
]);

export type DeliveryEventOutcome =
  "recorded" | "already_recorded" | "ignored_transient" | "ignored_untagged" | "ignored_bounce_reply";

/** Permanent failures only: what they mean for the recipient, and SES's own detail. */
export function classify(
  event: SesDeliveryEvent,
): { reason: UndeliverableReason; detail: string; at?: string } | undefined {
  const type = event.eventType ?? event.notificationType;
  if (type === "Bounce" && event.bounce?.bounceType === "Permanent") {
    return {
      reason: "bounced",
      detail: event.bounce.bounceSubType ?? "Permanent",
      ...(event.bounce.timestamp === undefined ? {} : { at: event.bounce.timestamp }),
    };
  }
  if (type === "Complaint") {
    return {
      reason: "complaint",
      detail: event.complaint?.complaintFeedbackType ?? "complaint",
      ...(event.complaint?.timestamp === undefined ? {} : { at: event.complaint.timestamp }),
    };
  }
  if (type === "Reject") return { reason: "rejected", detail: event.reject?.reason ?? "rejected" };
  return undefined;
}

function tag(event: SesDeliveryEvent, name: string): string | undefined {
  const value = event.mail.tags?.[name]?.[0];
  return value === undefined ? undefined : decodeTagValue(value);
}

/** Handles one SES event (the JSON of one SNS message). */
export async function handleDeliveryEvent(
  deps: OutboundDependencies,
  message: unknown,
): Promise<DeliveryEventOutcome> {
  const event = sesEventSchema.parse(message);
  const failure = classify(event);
  const type = event.eventType ?? event.notificationType ?? "unknown";
  const sesMessageId = event.mail.messageId;
  if (failure === undefined) {
    deps.observer.count("MailDeliveryTransient");
    deps.observer.info("mail delivery event needs nothing", {
      sesEventType: type,
      bounceType: event.bounce?.bounceType,
      sesMessageId,
    });
    return "ignored_transient";
  }
  const kind = tag(event, MAIL_TAGS.kind);
  if (kind === "bounce") {
    // Our own bounce-style reply to an inbound email failed: nothing to tell anyone.
    deps.observer.info("a bounce reply could not be delivered", {
      sesMessageId,
      undeliverable: failure.reason,
    });
    return "ignored_bounce_reply";
  }
  const tenantId = tag(event, MAIL_TAGS.tenant);
  const challengeId = tag(event, MAIL_TAGS.challenge);
  const role = tag(event, MAIL_TAGS.role);
  if (tenantId === undefined || challengeId === undefined || role === undefined || !ROLES.has(role)) {
    deps.observer.count("MailDeliveryUntagged");
    deps.observer.warn("an undeliverable email carries no challenge tags", {
      sesEventType: type,
      sesMessageId,
    });
    return "ignored_untagged";
  }
  const seqTag = tag(event, MAIL_TAGS.seq);
  const seq = seqTag !== undefined && /^\d{1,10}$/.test(seqTag) ? Number(seqTag) : undefined;
  const { recorded } = await recordUndeliverable(deps, {
    tenantId,
    challengeId,
    ...(seq === undefined ? {} : { seq }),
    recipientRole: role as RecipientRole,
    kind: kind ?? "unknown",
    reason: failure.reason,
    detail: failure.detail,
    at: failure.at ?? deps.clock().toISOString(),
    sourceId: sesMessageId,
  });
  return recorded ? "recorded" : "already_recorded";
}

/** Handles an SNS delivery of SES events. */
export async function handleSnsEvent(
  deps: OutboundDependencies,
  event: unknown,
): Promise<DeliveryEventOutcome[]> {
  const { Records } = snsEventSchema.parse(event);
  const outcomes: DeliveryEventOutcome[] = [];
  for (const record of Records) {
    let message: unknown;
    try {
      message = JSON.parse(record.Sns.Message);
    } catch {
      deps.observer.count("MailDeliveryUnreadable");
      deps.observer.warn("an SNS message is not JSON", { snsMessageId: record.Sns.MessageId });
      continue;
    }
    outcomes.push(await handleDeliveryEvent(deps, message));
  }
  return outcomes;
}

export function createHandler(deps: () => OutboundDependencies) {
  return mailHandler(async (event: unknown): Promise<void> => {
    await handleSnsEvent(deps(), event);
  });
}

export const handler = createHandler(productionOutbound);
