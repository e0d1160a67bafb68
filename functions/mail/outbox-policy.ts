/**
 * The outbox's timing, in one place: how long an email claimed for sending stays claimed, and how
 * long the event reactor's records are retried before they are dead-lettered. The CDK mapping
 * (lib/reactor.ts), the local stream poller (local/runtime.ts) and the mailer read these, and a
 * test checks the one rule that ties them: a claim left by a sender that died must expire well
 * before its record's retries run out, or that email is never sent (issue 10).
 *
 * Dead-lettering is decided by the record's age, not by a count of retries: Lambda documents no
 * delay between retries of a stream batch, so a count says nothing about time, while the age does.
 * The retry count is set to Lambda's maximum so that it never ends the retries first.
 */

/**
 * How long an email claimed for sending stays claimed (functions/mail/mailer.ts): longer than one
 * send can take (the claim, SES SendEmail with the SDK's retries, the mark), so a live sender is
 * never overtaken; after it, a retry takes the claim over and sends.
 */
export const SENDING_LEASE_MS = 90_000;

/** Lambda's maximum retry count for a stream mapping: the record's age decides instead. */
export const REACTOR_RETRY_ATTEMPTS = 10_000;

/**
 * A reactor record still failing after this long goes to the dead-letter queue (an alarm fires;
 * `npm run outbox -- redrive` sends it again). Forty leases: a crash costs one lease, and a record
 * that fails for an hour is a fault for a person, not a wait, while its shard's later records wait
 * behind it. Well inside the stream's 24-hour retention, so a dead letter can still be redriven
 * from the stream.
 */
export const REACTOR_MAX_RECORD_AGE_SECONDS = 3_600;
