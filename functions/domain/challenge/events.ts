import * as z from "zod/mini";
import { trackSchema } from "../protocol.js";
import { channelSchema } from "./actor.js";
import { referralKindSchema } from "./commands.js";
import {
  absenceFactsSchema,
  assigneeSchema,
  deadlineSituationSchema,
  decisionAfterSchema,
  escalationKindSchema,
  instantSchema as instant,
  londonDateSchema as day,
  reassignedBecauseSchema,
  reopenedFromSchema,
  stageOpenedViaSchema,
  storedActorSchema,
  storedChallengeFormSchema,
  storedIdSchema as id,
  storedRecipientSchema,
  storedSmartActionSchema,
  timedOutBecauseSchema,
} from "./event-parts.js";

export * from "./event-parts.js";

/**
 * Events: immutable facts, the source of truth. Every event says who did it, when and through
 * which channel. `seq` is the challenge's version after the event (1 for the first).
 *
 * Each event is a schema and its type is inferred from it: the store reads stored events back
 * with {@link challengeEventSchema} (functions/store/event-item.ts), and every stream consumer decodes
 * a record with it once (functions/store/stream-image.ts `decodeEventRecord`). The schemas check structure, not the
 * API's input rules (no trimming, no length limits on text): stored events are kept for decades and
 * must stay readable when the rules for new input are tightened. Objects are strict: an attribute
 * this code does not know fails loudly instead of being dropped. What they share with the stored
 * challenge is in event-parts.ts.
 */

/** What every event carries around its type and data. */
export interface EventEnvelope<T extends string, D> {
  readonly type: T;
  readonly challengeId: string;
  readonly seq: number;
  /** ISO-8601 instant (UTC). */
  readonly at: string;
  readonly actor: z.infer<typeof storedActorSchema>;
  readonly channel: z.infer<typeof channelSchema>;
  readonly data: D;
}

/** The schema of one event type: the envelope around its type and data. */
function eventSchema<T extends string, D extends z.core.$ZodLooseShape>(type: T, data: D) {
  return z.strictObject({
    type: z.literal(type),
    challengeId: id,
    seq: z.number().check(z.int(), z.minimum(1)),
    /** ISO-8601 instant (UTC). */
    at: instant,
    actor: storedActorSchema,
    channel: channelSchema,
    data: z.strictObject(data),
  });
}

const stageRef = { stageId: id };

export const challengeRaisedSchema = eventSchema("ChallengeRaised", {
  form: storedChallengeFormSchema,
  protocolId: z.string().check(z.minLength(1)),
  track: trackSchema,
  raiser: storedActorSchema,
  safeguardingConcern: z.boolean(),
  bypassRationale: z.optional(z.string()),
});
export type ChallengeRaised = z.infer<typeof challengeRaisedSchema>;

export const stageOpenedSchema = eventSchema("StageOpened", {
  stageId: id,
  stageIndex: z.number().check(z.int(), z.minimum(0)),
  via: stageOpenedViaSchema,
  openedAt: instant,
  /** ISO instant: close of business on the last working day of the response window. */
  deadline: instant,
  assignee: assigneeSchema,
  /** Co-equal recipients (the stage's `coRecipients`), each able to act as the assignee. Absent on older events: none. */
  coAssignees: z.optional(z.array(assigneeSchema)),
  copyTo: z.array(assigneeSchema),
  /** Copy-to roles nobody holds: named so the gap is seen, not dropped silently. Absent on older events: none. */
  notCopied: z.optional(z.array(storedRecipientSchema)),
  /**
   * Recipients away when the stage opened whose role has no named cover: it was sent to them
   * anyway (there is no one else), and the gap is recorded so it is seen. Absent: none.
   */
  uncovered: z.optional(z.array(absenceFactsSchema)),
});
export type StageOpened = z.infer<typeof stageOpenedSchema>;

/**
 * An open stage passed from a recipient who is away to their role's named cover (the cover's
 * Assignee carries `actingFor`); the absent person is copied from now on. The deadline does not move.
 */
export const stageReassignedSchema = eventSchema("StageReassigned", {
  ...stageRef,
  from: assigneeSchema,
  to: assigneeSchema,
  because: reassignedBecauseSchema,
  absence: absenceFactsSchema,
});
export type StageReassigned = z.infer<typeof stageReassignedSchema>;

export const stageAcknowledgedSchema = eventSchema("StageAcknowledged", stageRef);
export type StageAcknowledged = z.infer<typeof stageAcknowledgedSchema>;

export const responseRecordedSchema = eventSchema("ResponseRecorded", { ...stageRef, response: z.string() });
export type ResponseRecorded = z.infer<typeof responseRecordedSchema>;

export const meetingRecordedSchema = eventSchema("MeetingRecorded", {
  ...stageRef,
  heldOn: day,
  attendees: z.array(z.string()),
  summary: z.string(),
});
export type MeetingRecorded = z.infer<typeof meetingRecordedSchema>;

export const actionPlanAgreedSchema = eventSchema("ActionPlanAgreed", {
  ...stageRef,
  actions: z.array(storedSmartActionSchema),
});
export type ActionPlanAgreed = z.infer<typeof actionPlanAgreedSchema>;

export const escalatedSchema = eventSchema("Escalated", {
  fromStageId: id,
  /** null when the last stage was left: the ladder is exhausted. */
  toStageId: z.nullable(id),
  kind: escalationKindSchema,
  /** Reasons the response was unsatisfactory, or the bypass rationale. */
  reasons: z.string(),
  safeguardingConcern: z.optional(z.boolean()),
  /**
   * Why the timer escalated (kind "no_response" is every automatic escalation): nobody responded,
   * a response came but the stage was not resolved, or the raiser was asked to decide and did not.
   * Absent on events recorded before this was kept: read them as "no_response".
   */
  timedOut: z.optional(timedOutBecauseSchema),
});
export type Escalated = z.infer<typeof escalatedSchema>;

/**
 * The deadline passed and the protocol puts the next step to the raiser. With `decideBy` (the
 * protocol's `ask_raiser` rule): resolve the challenge, or escalate it with reasons, by then, or it
 * escalates by itself. Without: the raiser decides, and the timer does nothing more.
 */
export const raiserAlertedSchema = eventSchema("RaiserAlerted", {
  ...stageRef,
  reason: deadlineSituationSchema,
  decideBy: z.optional(instant),
});
export type RaiserAlerted = z.infer<typeof raiserAlertedSchema>;

/**
 * The raiser (or an IRO service manager) shortened an open stage's window for this challenge (000
 * §2.4: the child's age or the nature of the concern): the stage is now due by `deadline`.
 */
export const deadlineShortenedSchema = eventSchema("DeadlineShortened", {
  ...stageRef,
  /** The new deadline (ISO instant): the end of `window` counted from when the stage opened. */
  deadline: instant,
  previousDeadline: instant,
  window: z.strictObject({
    length: z.number().check(z.int(), z.minimum(1)),
    unit: z.enum(["working_days", "calendar_days", "weeks"]),
  }),
  reason: z.string(),
});
export type DeadlineShortened = z.infer<typeof deadlineShortenedSchema>;

/** The stage's recipient was reminded, before its deadline, that a response is due. */
export const reminderSentSchema = eventSchema("ReminderSent", { ...stageRef, deadline: instant });
export type ReminderSent = z.infer<typeof reminderSentSchema>;

/** The date agreed for these actions passed while they were open: the raiser is asked whether they were done. */
export const actionsFellDueSchema = eventSchema("ActionsFellDue", { actionIds: z.array(id) });
export type ActionsFellDue = z.infer<typeof actionsFellDueSchema>;

export const resolvedSchema = eventSchema("Resolved", { stageId: z.nullable(id), summary: z.string() });
export type Resolved = z.infer<typeof resolvedSchema>;

export const referralRequestedSchema = eventSchema("ReferralRequested", {
  kind: referralKindSchema,
  rationale: z.string(),
  attestations: z.array(z.string()),
  approvalsNeeded: z.array(storedRecipientSchema),
});
export type ReferralRequested = z.infer<typeof referralRequestedSchema>;

export const referralApprovedSchema = eventSchema("ReferralApproved", {
  kind: referralKindSchema,
  approverRole: z.string(),
  /** Set when the approver was the role's named cover in the directory, not its holder. */
  asCover: z.optional(z.boolean()),
  comment: z.optional(z.string()),
});
export type ReferralApproved = z.infer<typeof referralApprovedSchema>;

export const referralMadeSchema = eventSchema("ReferralMade", {
  kind: referralKindSchema,
  recipient: storedRecipientSchema,
  documents: z.array(z.string()),
});
export type ReferralMade = z.infer<typeof referralMadeSchema>;

export const actionCompletedSchema = eventSchema("ActionCompleted", {
  actionId: id,
  note: z.optional(z.string()),
});
export type ActionCompleted = z.infer<typeof actionCompletedSchema>;

export const actionMissedSchema = eventSchema("ActionMissed", { actionId: id, note: z.string() });
export type ActionMissed = z.infer<typeof actionMissedSchema>;

export const reopenedSchema = eventSchema("Reopened", {
  atStageId: id,
  reason: z.string(),
  fromStatus: reopenedFromSchema,
});
export type Reopened = z.infer<typeof reopenedSchema>;

export const differenceNotedSchema = eventSchema("DifferenceNoted", {
  summary: z.string(),
  decidedBy: storedRecipientSchema,
});
export type DifferenceNoted = z.infer<typeof differenceNotedSchema>;

/** A post-ladder decision falls due: who must make it (the directory's holder at the time) and by when. */
export const decisionRequestedSchema = eventSchema("DecisionRequested", {
  after: decisionAfterSchema,
  decidedBy: storedRecipientSchema,
  personId: id,
  dueBy: instant,
  citation: z.string(),
});
export type DecisionRequested = z.infer<typeof decisionRequestedSchema>;

/** The post-ladder decision, made by the event's actor (the holder or their named cover). */
export const decisionRecordedSchema = eventSchema("DecisionRecorded", {
  after: decisionAfterSchema,
  decidedBy: storedRecipientSchema,
  upheld: z.boolean(),
  reasons: z.string(),
  asCover: z.optional(z.literal(true)),
});
export type DecisionRecorded = z.infer<typeof decisionRecordedSchema>;

export const withdrawnSchema = eventSchema("Withdrawn", { reason: z.string() });
export type Withdrawn = z.infer<typeof withdrawnSchema>;

export const closedSchema = eventSchema("Closed", { summary: z.string() });
export type Closed = z.infer<typeof closedSchema>;

/** A legal hold placed on the record, or lifted; the envelope's actor is the person who did it. */
export const legalHoldPlacedSchema = eventSchema("LegalHoldPlaced", { reason: z.string() });
export type LegalHoldPlaced = z.infer<typeof legalHoldPlacedSchema>;
export const legalHoldLiftedSchema = eventSchema("LegalHoldLifted", { reason: z.string() });
export type LegalHoldLifted = z.infer<typeof legalHoldLiftedSchema>;

/** Why an email could not be delivered: a permanent bounce, a complaint, or SES refusing to send it. */
export const undeliverableReasonSchema = z.enum(["bounced", "complaint", "rejected"]);
export type UndeliverableReason = z.infer<typeof undeliverableReasonSchema>;

/**
 * An email about the challenge could not be delivered (functions/mail/deliveries.ts): recorded so
 * the audit export and the timeline show that a person may never have been told. It names the
 * email (`notificationId`, one event per failed email however often the failure is reported), the
 * person and why they were written to; never their address. The actor is the mail system.
 */
export const notificationUndeliverableSchema = eventSchema("NotificationUndeliverable", {
  /** The failed email: its SES message id, or `send#<seq>#<recipient key>` when SES refused to send it. */
  notificationId: z.string().check(z.minLength(1)),
  /** The event whose email failed; absent for an email that was not an event's (an alert). */
  eventSeq: z.optional(z.number().check(z.int(), z.positive())),
  /** The kind of email (a template key, or the notice's kind). */
  kind: z.string().check(z.minLength(1)),
  /** Why the person was written to (the delivery record's recipient role, e.g. "assignee"). */
  recipientRole: z.string().check(z.minLength(1)),
  /** The protocol's title of the person it was for, e.g. "Service Manager". */
  recipientTitle: z.string(),
  /** The person it was for, when the delivery record names them. */
  recipientPersonId: z.optional(z.string().check(z.minLength(1))),
  reason: undeliverableReasonSchema,
});
export type NotificationUndeliverable = z.infer<typeof notificationUndeliverableSchema>;

/** Every event, by its `type`. */
export const challengeEventSchema = z.discriminatedUnion("type", [
  challengeRaisedSchema,
  stageOpenedSchema,
  stageReassignedSchema,
  stageAcknowledgedSchema,
  responseRecordedSchema,
  meetingRecordedSchema,
  actionPlanAgreedSchema,
  escalatedSchema,
  raiserAlertedSchema,
  deadlineShortenedSchema,
  reminderSentSchema,
  resolvedSchema,
  referralRequestedSchema,
  referralApprovedSchema,
  referralMadeSchema,
  actionCompletedSchema,
  actionMissedSchema,
  actionsFellDueSchema,
  reopenedSchema,
  differenceNotedSchema,
  decisionRequestedSchema,
  decisionRecordedSchema,
  withdrawnSchema,
  closedSchema,
  legalHoldPlacedSchema,
  legalHoldLiftedSchema,
  notificationUndeliverableSchema,
]);
export type ChallengeEvent = z.infer<typeof challengeEventSchema>;

export type ChallengeEventType = ChallengeEvent["type"];
export type EventOf<T extends ChallengeEventType> = Extract<ChallengeEvent, { type: T }>;
