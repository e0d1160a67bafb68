import { z } from "zod";
import { raiserRoleSchema, trackSchema, windowSchema } from "../protocol.js";
import { actorSchema, channelSchema } from "./actor.js";

/**
 * Commands: what a person, a case-record system or the timer asks the challenge to do.
 * The API validates request bodies with these schemas, and the OpenAPI document derives from them.
 */

/**
 * Every request field is bounded and every object strict: an unknown field (a typo such as
 * `socialWorker.emial`) is refused with its path, never silently dropped, and no string is unbounded.
 */
const text = (max: number) => z.string().trim().min(1).max(max);
const isoDate = z.iso.date().max(10);
const id = z.string().min(1).max(128);
const email = z.email().max(254);

export const caseRecordSystemSchema = z.enum(["LCS", "Mosaic", "Eclipse", "other"]);

/** The fields of the seeds' challenge forms (001's Challenge and Resolution Form, 002's alert contents, 004's level forms). */
export const challengeFormSchema = z.strictObject({
  child: z.strictObject({
    name: text(200),
    dateOfBirth: isoDate,
    caseRecordId: text(64),
    caseRecordSystem: caseRecordSystemSchema,
  }),
  track: trackSchema,
  raiserRole: raiserRoleSchema,
  socialWorker: z.strictObject({ name: text(200), email: email.optional() }),
  team: z.strictObject({ id: id, name: text(200) }),
  teamManagerName: text(200),
  /** Set when the challenge is with a partner agency rather than children's social care. */
  partnerAgency: z.strictObject({ id: id, name: text(200) }).optional(),
  /** "What are we worried about?" / "What's not working well?" */
  worries: text(10_000),
  /** "What actions have taken place to resolve the worries?" */
  actionsTaken: text(10_000),
  /** "Outcome and Impact for the Child/Young Person" */
  impactOnChild: text(10_000),
  /** "The child's views" (002) */
  childViews: text(10_000),
  /** "What needs to happen?" */
  whatNeedsToHappen: text(10_000),
  /** "Desired outcome" (004) */
  desiredOutcome: text(10_000),
  /** "Timescales for resolution" (002) */
  timescale: text(1_000),
  /** Theme ids from the tenant's protocol (001's tick boxes). */
  themes: z.array(id).max(20),
  /** "Immediate risk of significant harm": lets stages be taken out of sequence where the protocol says so (003). */
  immediateRisk: z.boolean(),
});
export type ChallengeForm = z.infer<typeof challengeFormSchema>;

/**
 * What a command expects of the challenge it acts on. Checked before anything else is decided, and
 * again on every retry after a concurrent change, so a double click or a retried request never acts
 * twice: `stageId` (the stage the sender saw open: refused with STAGE_MOVED once it is not) and
 * `version` (the challenge's version, from an If-Match header: refused with VERSION_MISMATCH).
 */
export const commandExpectationSchema = z.strictObject({
  stageId: id.optional(),
  version: z.number().int().min(0).optional(),
});
export type CommandExpectation = z.infer<typeof commandExpectationSchema>;

const base = {
  challengeId: id,
  actor: actorSchema,
  channel: channelSchema,
  expected: commandExpectationSchema.optional(),
};

export const referralKindSchema = z.enum(["cafcass", "partnership"]);
export type ReferralKind = z.infer<typeof referralKindSchema>;

/**
 * A referral made in the same request as the raise, where the protocol allows one at that point
 * (002: "a concurrent referral to CAFCASS at the same time that s/he instigates the dispute
 * resolution process"). Decided as Raise then RequestReferral, all or nothing.
 */
export const raiseReferralSchema = z.strictObject({
  kind: referralKindSchema,
  /** Why the referral is needed. */
  rationale: text(10_000),
  /** Ids of the protocol's attestations the raiser confirms (GET /v1/config lists them). */
  attestations: z.array(id).max(20),
});

export const raiseCommandSchema = z.strictObject({
  type: z.literal("Raise"),
  ...base,
  form: challengeFormSchema,
  /** Open the challenge at this stage instead of the first (a bypass: needs a rationale and the protocol's leave). */
  startAtStageId: id.optional(),
  bypassRationale: text(5_000).optional(),
  /** Nottingham CPCs may bypass only with a safeguarding concern. */
  safeguardingConcern: z.boolean().optional(),
  /** A concurrent referral (Cafcass, partnership) made with the raise, where the protocol allows it. */
  referral: raiseReferralSchema.optional(),
});

export const acknowledgeCommandSchema = z.strictObject({ type: z.literal("Acknowledge"), ...base });

export const respondCommandSchema = z.strictObject({
  type: z.literal("Respond"),
  ...base,
  /** "Response to what's not working well" */
  response: text(10_000),
});

export const recordMeetingCommandSchema = z.strictObject({
  type: z.literal("RecordMeeting"),
  ...base,
  heldOn: isoDate,
  attendees: z.array(text(200)).min(1).max(50),
  summary: text(10_000),
});

export const smartActionSchema = z.strictObject({
  action: text(2_000),
  byWhen: isoDate,
  byWhom: text(200),
});

export const agreeActionPlanCommandSchema = z.strictObject({
  type: z.literal("AgreeActionPlan"),
  ...base,
  actions: z.array(smartActionSchema).min(1).max(30),
});

export const markResolvedCommandSchema = z.strictObject({
  type: z.literal("MarkResolved"),
  ...base,
  summary: text(10_000),
});

export const escalateCommandSchema = z.strictObject({
  type: z.literal("Escalate"),
  ...base,
  /** "Reasons why the level N response is unsatisfactory" (004). */
  reasons: text(10_000),
});

export const bypassCommandSchema = z.strictObject({
  type: z.literal("Bypass"),
  ...base,
  toStageId: id,
  rationale: text(5_000),
  safeguardingConcern: z.boolean().optional(),
});

export const autoEscalateCommandSchema = z.strictObject({
  type: z.literal("AutoEscalate"),
  ...base,
  /** The stage whose deadline passed: a late timer for a stage already left does nothing. */
  stageId: id,
});

export const sendReminderCommandSchema = z.strictObject({
  type: z.literal("SendReminder"),
  ...base,
  /** The stage whose recipient is reminded: a late timer for a stage already left does nothing. */
  stageId: id,
});

export const shortenDeadlineCommandSchema = z.strictObject({
  type: z.literal("ShortenDeadline"),
  ...base,
  /** The open stage whose window is shortened: a command about a stage already left does nothing. */
  stageId: id,
  /** The stage's new window, counted from when it opened: it must end before the current deadline. */
  window: windowSchema,
  /** Why a response is needed more quickly (the child's age, the nature of the concern). */
  reason: text(5_000),
});

export const recordActionsDueCommandSchema = z.strictObject({
  type: z.literal("RecordActionsDue"),
  ...base,
  /** Agreed actions whose date has passed: the raiser is asked, once, whether they were done. */
  actionIds: z.array(id).min(1).max(100),
});

export const requestReferralCommandSchema = z.strictObject({
  type: z.literal("RequestReferral"),
  ...base,
  kind: referralKindSchema,
  rationale: text(10_000),
  /** Ids of the protocol's attestations the raiser confirms (e.g. legal advice sought). */
  attestations: z.array(id).max(20),
});

export const approveReferralCommandSchema = z.strictObject({
  type: z.literal("ApproveReferral"),
  ...base,
  kind: referralKindSchema,
  /** The directory role the approver holds (must be one the protocol names). */
  approverRole: text(200),
  comment: text(5_000).optional(),
});

export const completeActionCommandSchema = z.strictObject({
  type: z.literal("CompleteAction"),
  ...base,
  actionId: id,
  note: text(5_000).optional(),
});

export const missActionCommandSchema = z.strictObject({
  type: z.literal("MissAction"),
  ...base,
  actionId: id,
  note: text(5_000),
});

export const reopenCommandSchema = z.strictObject({
  type: z.literal("Reopen"),
  ...base,
  reason: text(10_000),
});

export const noteDifferenceCommandSchema = z.strictObject({
  type: z.literal("NoteDifference"),
  ...base,
  summary: text(10_000),
});

export const withdrawCommandSchema = z.strictObject({
  type: z.literal("Withdraw"),
  ...base,
  reason: text(5_000),
});

export const closeCommandSchema = z.strictObject({
  type: z.literal("Close"),
  ...base,
  summary: text(10_000),
});

/**
 * Places (`hold: true`) or lifts (`hold: false`) a legal hold: while held, the record is never
 * deleted at the end of its retention period (functions/domain/retention.ts). Names the change it
 * makes, so a retry of a placement never lifts a hold and the other way round.
 */
export const setLegalHoldCommandSchema = z.strictObject({
  type: z.literal("SetLegalHold"),
  ...base,
  hold: z.boolean(),
  reason: text(5_000),
});

export const commandSchema = z.discriminatedUnion("type", [
  raiseCommandSchema,
  acknowledgeCommandSchema,
  respondCommandSchema,
  recordMeetingCommandSchema,
  agreeActionPlanCommandSchema,
  markResolvedCommandSchema,
  escalateCommandSchema,
  bypassCommandSchema,
  autoEscalateCommandSchema,
  sendReminderCommandSchema,
  shortenDeadlineCommandSchema,
  recordActionsDueCommandSchema,
  requestReferralCommandSchema,
  approveReferralCommandSchema,
  completeActionCommandSchema,
  missActionCommandSchema,
  reopenCommandSchema,
  noteDifferenceCommandSchema,
  withdrawCommandSchema,
  closeCommandSchema,
  setLegalHoldCommandSchema,
]);
export type Command = z.infer<typeof commandSchema>;
export type CommandType = Command["type"];
export type CommandOf<T extends CommandType> = Extract<Command, { type: T }>;
