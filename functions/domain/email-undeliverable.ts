import type { Actor } from "./challenge/actor.js";
import type { ChallengeEvent, NotificationUndeliverable, UndeliverableReason } from "./challenge/events.js";
import { evolve } from "./challenge/evolve.js";
import type { ChallengeState } from "./challenge/state.js";
import { type PersonNames, personAndTitle } from "./words.js";

/**
 * An email about a challenge that could not be delivered, as an event of the challenge: decided
 * here (pure), appended by functions/mail/deliveries.ts through the challenge store's conditional
 * append. The failure is named by the email it is about, so however often SES or the sender reports
 * it (SNS redelivery, a bounce then a complaint, a retried batch), it is recorded once.
 */

/** The mail system's identity on the events it records. */
export const MAIL_DELIVERY_ACTOR: Actor = { id: "mail-delivery", role: "system" };

/** What happened to the email, in words (the timeline, the case note and the raiser's alert). */
export const UNDELIVERABLE_WORDS: Readonly<Record<UndeliverableReason, string>> = {
  bounced: "could not be delivered: their mail system refused it",
  complaint: "was reported as unwanted by their mail system, so further emails to them may not arrive",
  rejected: "could not be sent",
};

export type UndeliverableFacts = NotificationUndeliverable["data"];

/**
 * The event that records an undeliverable email, with the challenge after it; undefined when the
 * challenge does not exist (deleted at the end of its retention) or the history already records
 * this email as undeliverable.
 */
export function recordUndeliverable(
  state: ChallengeState,
  history: readonly ChallengeEvent[],
  facts: UndeliverableFacts,
  at: string,
): { event: NotificationUndeliverable; state: ChallengeState } | undefined {
  if (state.status === "none") return undefined;
  const recorded = history.some(
    (e) => e.type === "NotificationUndeliverable" && e.data.notificationId === facts.notificationId,
  );
  if (recorded) return undefined;
  const event: NotificationUndeliverable = {
    type: "NotificationUndeliverable",
    challengeId: state.challengeId,
    seq: state.version + 1,
    at,
    actor: MAIL_DELIVERY_ACTOR,
    channel: "email",
    data: facts,
  };
  return { event, state: evolve(state, event) };
}

/** "Jo Bloggs, Service Manager" or "the Service Manager": whom the failed email was for. */
export function undeliveredTo(
  history: { readonly names?: PersonNames | undefined },
  data: Pick<UndeliverableFacts, "recipientPersonId" | "recipientTitle">,
): string {
  return data.recipientPersonId === undefined
    ? `the ${data.recipientTitle}`
    : personAndTitle(history.names, data.recipientPersonId, data.recipientTitle);
}
