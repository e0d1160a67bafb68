import type { ChallengeEvent, EventOf } from "./challenge/events.js";

/**
 * Who an email about a challenge is for, as far as the challenge's events say: shared by the mail's
 * plan (functions/mail/notifications.ts) and the record of an undeliverable email, which names the
 * person's role and title but never their address.
 */

/** Why a person is written to: recorded on the delivery record and carried in the SES message tags. */
export type RecipientRole =
  | "assignee"
  | "previous_assignee"
  | "copy"
  | "raiser"
  | "referral_recipient"
  | "referral_approver"
  | "decider";

/** The StageOpened events before `seq`, latest last. */
export function openingsBefore(history: readonly ChallengeEvent[], seq: number): EventOf<"StageOpened">[] {
  return history
    .filter((e): e is EventOf<"StageOpened"> => e.type === "StageOpened" && e.seq < seq)
    .sort((a, b) => a.seq - b.seq);
}

const RECIPIENT_ROLE_WORDS: Record<RecipientRole, string> = {
  assignee: "recipient",
  previous_assignee: "previous recipient",
  copy: "person copied in",
  raiser: "raiser",
  referral_recipient: "referral recipient",
  referral_approver: "person asked to approve the referral",
  decider: "person asked to decide after the last stage",
};

/** The protocol's title of whoever an event's email of this role went to, as far as the events say. */
export function recipientTitleFor(
  history: readonly ChallengeEvent[],
  seq: number | undefined,
  role: RecipientRole,
): string {
  const event = seq === undefined ? undefined : history.find((e) => e.seq === seq);
  if (event === undefined) return RECIPIENT_ROLE_WORDS[role];
  if (role === "referral_recipient" && event.type === "ReferralMade") return event.data.recipient.title;
  if (role === "assignee" && event.type === "StageOpened") return event.data.assignee.title;
  if (role === "assignee" || role === "previous_assignee") {
    // Before a StageOpened: the stage it replaced; before any other event: the stage last opened.
    const opening = openingsBefore(history, event.seq).at(-1);
    if (opening !== undefined) return opening.data.assignee.title;
  }
  return RECIPIENT_ROLE_WORDS[role];
}
