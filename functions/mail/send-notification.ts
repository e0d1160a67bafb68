import type { EventItem } from "../store/event-item.js";
import { eventMailKey } from "./deliveries.js";
import { TransientDeliveryError } from "./mailer.js";
import { isSuperseded, notificationsFor } from "./notifications.js";
import { type OutboundDependencies, recordUndeliverable, sendPlanned } from "./outbound.js";

/**
 * The mail sender: the event reactor's notifications step (the outbox:
 * functions/reactor/reactor.ts, which decodes each new event item once and hands it here). Every
 * email an event needs is derived from it here
 * (notifications.ts), rendered (templates.ts), given a signed Reply-To (reply-token.ts) and sent
 * with SES v2 SendEmail (a Simple message: SES builds the MIME) through the configuration set.
 *
 * Delivery semantics, per (event seq × recipient):
 * - Before sending, a delivery record is claimed in the challenge's partition (`MAILOUT#<seq>#<recipient>`,
 *   status `sending`, with a short lease). After SES accepts the message it becomes `sent` (with the
 *   SES message id). A redelivered record, a retried batch or an overlapping replay finds `sent`
 *   and sends nothing.
 * - A throttle or any other transient failure releases the claim and fails the stream record
 *   (`batchItemFailures`): Lambda retries from it, and after the mapping's retries the record goes
 *   to its on-failure destination, so nothing is lost silently. The same challenge's later records
 *   in the batch are held back and redelivered with it (the reactor's order).
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
 * Shared with receive-email.ts and delivery-events.ts, in their own modules: the mail settings
 * (mail-config.ts), the reply-key cache (reply-keys.ts), addresses and headers for SES (mime.ts), the delivery
 * ledger and undeliverable log (deliveries.ts), the SES sender (mailer.ts), the mail context
 * (mail-context.ts), the raiser's undeliverable alert (outbound.ts) and the wiring (production.ts).
 */

/** Counts and logs a record whose emails were not all sent (it will be retried). */
export function reportNotDone(
  deps: OutboundDependencies,
  ids: Record<string, unknown>,
  error: unknown,
): void {
  deps.observer.count(error instanceof TransientDeliveryError ? "NotificationRetry" : "NotificationFailed");
  deps.observer.warn("stream record not done; it will be retried", {
    ...ids,
    errorName: error instanceof Error ? error.name : "unknown",
    errorMessage: error instanceof Error ? error.message : String(error),
  });
}

/**
 * Sends the emails one new event item calls for (the event reactor hands it the item it decoded).
 * Throws when a send could not be done, so the record is retried.
 */
export async function sendEventEmails(deps: OutboundDependencies, item: EventItem): Promise<void> {
  const { tenantId, event: domainEvent } = item;
  const ids = { tenantId, challengeId: domainEvent.challengeId, seq: domainEvent.seq };
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
      deps.observer.count("NotificationSent");
    } else if (!(outcome.status === "already" && outcome.previously === "sent")) {
      // Refused now, or refused on an earlier delivery whose record or alert may not have
      // been written: recording is idempotent and the alert has its own delivery record.
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
}
