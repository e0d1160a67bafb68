import * as z from "zod";
import { raiserRoleSchema, trackSchema } from "../domain/protocol.js";
import { actorRoleSchema, channelSchema } from "../domain/challenge/actor.js";
import {
  caseRecordSystemSchema,
  referralKindSchema,
  type ChallengeForm,
} from "../domain/challenge/commands.js";
import type { ChallengeEvent, ChallengeEventType, EventOf } from "../domain/challenge/events.js";
import type { ChallengeState, OpenStage, TrackedAction } from "../domain/challenge/state.js";
import { RETENTION_RULES, type RetentionRule } from "../domain/retention.js";
import { ENTITY } from "./table.js";

/**
 * zod schemas for what the store reads back: the challenge state, the events and the items that
 * hold them. A corrupt or unexpected item is a clear error naming the item, never a half-typed
 * object. Objects defined here are strict: an attribute this code does not know fails loudly
 * instead of being dropped on the next write. The compile-time checks at the bottom fail the build
 * when the domain types gain or lose a property these schemas do not have.
 *
 * These check structure, not the API's input rules: no trimming, no length limits. Stored records
 * are kept for decades, and must stay readable when the rules for new input are tightened.
 */

const instant = z.iso.datetime({ offset: true });
const day = z.iso.date();
const id = z.string().min(1).max(128);
const hash = z.string().regex(/^[0-9a-f]{64}$/, "a SHA-256 hex digest");

const actorSchema = z.strictObject({ id, role: actorRoleSchema });
const recipientSchema = z.strictObject({ role: z.string().min(1), title: z.string() });

export const assigneeSchema = z.strictObject({
  ...recipientSchema.shape,
  personId: id,
  email: z.string().min(1),
});

const challengeFormSchema = z.strictObject({
  child: z.strictObject({
    name: z.string(),
    dateOfBirth: day,
    caseRecordId: id,
    caseRecordSystem: caseRecordSystemSchema,
  }),
  track: trackSchema,
  raiserRole: raiserRoleSchema,
  socialWorker: z.strictObject({ name: z.string(), email: z.string().optional() }),
  team: z.strictObject({ id, name: z.string() }),
  teamManagerName: z.string(),
  partnerAgency: z.strictObject({ id, name: z.string() }).optional(),
  worries: z.string(),
  actionsTaken: z.string(),
  impactOnChild: z.string(),
  childViews: z.string(),
  whatNeedsToHappen: z.string(),
  desiredOutcome: z.string(),
  timescale: z.string(),
  themes: z.array(z.string()),
  immediateRisk: z.boolean(),
});

const stageOpenedViaSchema = z.enum(["raised", "escalated", "auto_escalated", "bypassed", "reopened"]);
const escalationKindSchema = z.enum(["requested", "no_response", "bypass"]);
const deadlineSituationSchema = z.enum(["no_response", "no_resolution"]);

const openStageSchema = z.strictObject({
  stageId: id,
  stageIndex: z.number().int().min(0),
  via: stageOpenedViaSchema,
  openedAt: instant,
  deadline: instant,
  assignee: assigneeSchema,
  coAssignees: z.array(assigneeSchema).default([]),
  copyTo: z.array(assigneeSchema),
  acknowledgedAt: instant.optional(),
  acknowledgements: z.array(z.strictObject({ personId: id, at: instant, channel: channelSchema })).optional(),
  responses: z.array(z.strictObject({ at: instant, response: z.string() })),
  meetings: z.array(z.strictObject({ heldOn: day, attendees: z.array(z.string()), summary: z.string() })),
  raiserAlertedAt: instant.optional(),
  raiserAlertReason: deadlineSituationSchema.optional(),
  raiserDecisionBy: instant.optional(),
  remindedAt: instant.optional(),
});

const smartActionFields = {
  id,
  action: z.string(),
  byWhen: day,
  byWhom: z.string(),
};

const trackedActionSchema = z.strictObject({
  ...smartActionFields,
  status: z.enum(["open", "completed", "missed"]),
  note: z.string().optional(),
  dueNotifiedAt: instant.optional(),
});

const decisionAfterSchema = z.enum(["difference", "cafcass", "partnership"]);
const decisionRequestedData = {
  after: decisionAfterSchema,
  decidedBy: recipientSchema,
  personId: id,
  dueBy: instant,
  citation: z.string(),
};

export const challengeStateSchema = z.strictObject({
  challengeId: id,
  version: z.number().int().min(0),
  status: z.enum(["none", "open", "monitoring", "ladder_exhausted", "resolved", "withdrawn", "closed"]),
  protocolId: z.string().min(1),
  track: trackSchema,
  raiser: actorSchema,
  form: challengeFormSchema,
  raisedAt: instant,
  safeguardingConcern: z.boolean(),
  currentStage: openStageSchema.nullable(),
  history: z.array(
    z.strictObject({
      stageId: id,
      openedAt: instant,
      exitedAt: instant,
      exit: z.enum([...escalationKindSchema.options, "plan_agreed", "resolved", "withdrawn", "closed"]),
    }),
  ),
  lastExitedStageId: id.nullable(),
  highestStageIndex: z.number().int(),
  actionPlan: z
    .strictObject({
      stageId: id,
      actions: z.array(trackedActionSchema),
    })
    .nullable(),
  referrals: z.array(
    z.strictObject({
      kind: referralKindSchema,
      status: z.enum(["awaiting_approval", "made"]),
      requestedAt: instant,
      approvalsNeeded: z.array(recipientSchema),
      approvedBy: z.array(z.string()),
    }),
  ),
  differences: z.array(z.strictObject({ at: instant, summary: z.string() })),
  pendingDecision: z.strictObject({ ...decisionRequestedData, requestedAt: instant }).optional(),
  autoEscalations: z.number().int().min(0),
  resolvedAt: instant.optional(),
  closedAt: instant.optional(),
  legalHold: z.strictObject({ since: instant, by: id, reason: z.string() }).optional(),
}) satisfies z.ZodType<ChallengeState>;

// --- events ------------------------------------------------------------------------------------

function eventSchema<T extends ChallengeEventType, D extends z.core.$ZodLooseShape>(type: T, data: D) {
  return z.strictObject({
    type: z.literal(type),
    challengeId: id,
    seq: z.number().int().min(1),
    at: instant,
    actor: actorSchema,
    channel: channelSchema,
    data: z.strictObject(data),
  });
}

const stageRef = { stageId: id };

export const challengeEventSchema = z.discriminatedUnion("type", [
  eventSchema("ChallengeRaised", {
    form: challengeFormSchema,
    protocolId: z.string().min(1),
    track: trackSchema,
    raiser: actorSchema,
    safeguardingConcern: z.boolean(),
    bypassRationale: z.string().optional(),
  }),
  eventSchema("StageOpened", {
    stageId: id,
    stageIndex: z.number().int().min(0),
    via: stageOpenedViaSchema,
    openedAt: instant,
    deadline: instant,
    assignee: assigneeSchema,
    coAssignees: z.array(assigneeSchema).optional(),
    copyTo: z.array(assigneeSchema),
    notCopied: z.array(recipientSchema).optional(),
  }),
  eventSchema("StageAcknowledged", stageRef),
  eventSchema("ResponseRecorded", { ...stageRef, response: z.string() }),
  eventSchema("MeetingRecorded", {
    ...stageRef,
    heldOn: day,
    attendees: z.array(z.string()),
    summary: z.string(),
  }),
  eventSchema("ActionPlanAgreed", { ...stageRef, actions: z.array(z.strictObject(smartActionFields)) }),
  eventSchema("Escalated", {
    fromStageId: id,
    toStageId: id.nullable(),
    kind: escalationKindSchema,
    reasons: z.string(),
    safeguardingConcern: z.boolean().optional(),
    timedOut: z.enum(["no_response", "no_resolution", "raiser_did_not_decide"]).optional(),
  }),
  eventSchema("RaiserAlerted", {
    ...stageRef,
    reason: deadlineSituationSchema,
    decideBy: instant.optional(),
  }),
  eventSchema("DeadlineShortened", {
    ...stageRef,
    deadline: instant,
    previousDeadline: instant,
    window: z.strictObject({
      length: z.number().int().min(1),
      unit: z.enum(["working_days", "calendar_days", "weeks"]),
    }),
    reason: z.string(),
  }),
  eventSchema("ReminderSent", { ...stageRef, deadline: instant }),
  eventSchema("Resolved", { stageId: id.nullable(), summary: z.string() }),
  eventSchema("ReferralRequested", {
    kind: referralKindSchema,
    rationale: z.string(),
    attestations: z.array(z.string()),
    approvalsNeeded: z.array(recipientSchema),
  }),
  eventSchema("ReferralApproved", {
    kind: referralKindSchema,
    approverRole: z.string(),
    asCover: z.boolean().optional(),
    comment: z.string().optional(),
  }),
  eventSchema("ReferralMade", {
    kind: referralKindSchema,
    recipient: recipientSchema,
    documents: z.array(z.string()),
  }),
  eventSchema("ActionCompleted", { actionId: id, note: z.string().optional() }),
  eventSchema("ActionMissed", { actionId: id, note: z.string() }),
  eventSchema("ActionsFellDue", { actionIds: z.array(id) }),
  eventSchema("Reopened", {
    atStageId: id,
    reason: z.string(),
    fromStatus: z.enum(["monitoring", "resolved"]),
  }),
  eventSchema("DifferenceNoted", { summary: z.string(), decidedBy: recipientSchema }),
  eventSchema("DecisionRequested", decisionRequestedData),
  eventSchema("DecisionRecorded", {
    after: decisionAfterSchema,
    decidedBy: recipientSchema,
    upheld: z.boolean(),
    reasons: z.string(),
    asCover: z.literal(true).optional(),
  }),
  eventSchema("Withdrawn", { reason: z.string() }),
  eventSchema("Closed", { summary: z.string() }),
  eventSchema("LegalHoldPlaced", { reason: z.string() }),
  eventSchema("LegalHoldLifted", { reason: z.string() }),
]) satisfies z.ZodType<ChallengeEvent>;

// --- items -------------------------------------------------------------------------------------

const keyFields = { pk: z.string().min(1), sk: z.string().min(1) };
const indexField = z.string().min(1).optional();

/** The challenge snapshot item: the state, its version and chain head, and the sparse index keys. */
export const snapshotItemSchema = z.strictObject({
  ...keyFields,
  entity: z.literal(ENTITY.challenge),
  tenantId: z.string().min(1),
  challengeId: id,
  /** Copy of state.version, the attribute the append condition tests. */
  version: z.number().int().min(1),
  /** Hash of the latest event: the next append's prevHash. */
  lastEventHash: hash,
  state: challengeStateSchema,
  gsi1pk: indexField,
  gsi1sk: indexField,
  gsi2pk: indexField,
  gsi2sk: indexField,
  gsi3pk: indexField,
  gsi3sk: indexField,
  gsi4pk: indexField,
  gsi4sk: indexField,
  gsi5pk: indexField,
  gsi5sk: indexField,
  /** The last day the record must be kept and the rule that set it (functions/domain/retention.ts). */
  retainUntil: day.optional(),
  retentionRule: z.enum(Object.keys(RETENTION_RULES) as [RetentionRule, ...RetentionRule[]]).optional(),
  gsi6pk: indexField,
  gsi6sk: indexField,
});
export type SnapshotItem = z.infer<typeof snapshotItemSchema>;

/** An event item: the domain event untouched, its place in the hash chain, and its type for stream filters. */
export const eventItemSchema = z.strictObject({
  ...keyFields,
  entity: z.literal(ENTITY.event),
  tenantId: z.string().min(1),
  challengeId: id,
  /** Copy of event.type, so stream consumers can filter without parsing the event. Not hashed. */
  type: z.string().min(1),
  event: challengeEventSchema,
  prevHash: z.union([z.literal(""), hash]),
  hash,
  /** The challenge's retention date when the event was written: the audit copy's Object Lock date. Not hashed. */
  retainUntil: day.optional(),
});
export type EventItem = z.infer<typeof eventItemSchema>;

/** Raised when an item read back does not have the shape this code wrote. */
export class CorruptItemError extends Error {
  override readonly name = "CorruptItemError";
  constructor(
    readonly where: string,
    detail: string,
  ) {
    super(`corrupt item ${where}: ${detail}`);
  }
}

/** Parses an item read from the table, naming the item (by key) and the problem when it does not fit. */
export function parseItem<S extends z.ZodType>(schema: S, item: unknown, where: string): z.infer<S> {
  const result = schema.safeParse(item);
  if (!result.success) throw new CorruptItemError(where, z.prettifyError(result.error));
  return result.data;
}

/**
 * A copy of plain data without `undefined` object properties. The repositories cannot rely on the
 * caller's document client having `removeUndefinedValues`, and the marshaller throws on undefined.
 */
export function withoutUndefined<T>(value: T): T {
  if (Array.isArray(value)) return value.map((item: unknown) => withoutUndefined(item)) as T;
  if (value !== null && typeof value === "object") {
    const copy: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value)) {
      if (inner !== undefined) copy[key] = withoutUndefined(inner);
    }
    return copy as T;
  }
  return value;
}

// --- compile-time checks: the schemas cover the domain types exactly -----------------------------

type SameKeys<A, B> = [Exclude<keyof A, keyof B>, Exclude<keyof B, keyof A>] extends [never, never]
  ? true
  : {
      readonly missingFromSchema: Exclude<keyof A, keyof B>;
      readonly unknownToDomain: Exclude<keyof B, keyof A>;
    };
type Assert<T extends true> = T;

type EventDataKeysMatch = {
  [T in ChallengeEventType]: SameKeys<
    EventOf<T>["data"],
    Extract<z.infer<typeof challengeEventSchema>, { type: T }>["data"]
  >;
}[ChallengeEventType];

export type _StoreSchemasMatchDomain = [
  Assert<SameKeys<ChallengeState, z.infer<typeof challengeStateSchema>>>,
  Assert<SameKeys<ChallengeForm, z.infer<typeof challengeFormSchema>>>,
  Assert<SameKeys<ChallengeForm["child"], z.infer<typeof challengeFormSchema>["child"]>>,
  Assert<SameKeys<OpenStage, z.infer<typeof openStageSchema>>>,
  Assert<SameKeys<TrackedAction, z.infer<typeof trackedActionSchema>>>,
  Assert<EventDataKeysMatch>,
];
