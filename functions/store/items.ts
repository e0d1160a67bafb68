import * as z from "zod/mini";
import { trackSchema } from "../domain/protocol.js";
import { channelSchema } from "../domain/challenge/actor.js";
import {
  challengeFormSchema as requestFormSchema,
  referralKindSchema,
  type ChallengeForm,
} from "../domain/challenge/commands.js";
import { about, documentedLike } from "../domain/about.js";
import {
  assigneeSchema,
  deadlineSituationSchema,
  decisionAfterSchema,
  escalationKindSchema,
  instantSchema as instant,
  londonDateSchema as day,
  stageOpenedViaSchema,
  storedActorSchema,
  storedChallengeFormSchema,
  storedIdSchema as id,
  storedRecipientSchema,
  storedSmartActionSchema,
} from "../domain/challenge/event-parts.js";
import type { ChallengeState, OpenStage, TrackedAction } from "../domain/challenge/state.js";
import { RETENTION_RULES, type RetentionRule } from "../domain/retention.js";
import { ENTITY } from "./table.js";

/**
 * zod schemas for what the store reads back: the challenge state and the items that hold it (the
 * event items are in event-item.ts, with the domain's event schemas: functions/domain/challenge/events.ts). A
 * corrupt or unexpected item is a clear error naming the item, never a half-typed object. Objects defined here are strict: an attribute this code does not know fails loudly
 * instead of being dropped on the next write. The compile-time checks at the bottom fail the build
 * when the domain types gain or lose a property these schemas do not have.
 *
 * These check structure, not the API's input rules: no trimming, no length limits. Stored records
 * are kept for decades, and must stay readable when the rules for new input are tightened.
 */

/** A SHA-256 hex digest: an event's place in its challenge's hash chain. */
export const hashSchema = z.string().check(z.regex(/^[0-9a-f]{64}$/, "a SHA-256 hex digest"));

/** The form as raised; its fields are described where the request defines them (commands.ts). */
const challengeFormSchema = documentedLike(storedChallengeFormSchema, requestFormSchema);

const openStageSchema = z.strictObject({
  stageId: id.check(z.meta(about("The stage's id in the protocol (GET /v1/config lists them)", "stage_1"))),
  stageIndex: z.number().check(z.int(), z.gte(0), z.meta(about("Its place on the ladder, from 0", 0))),
  via: stageOpenedViaSchema.check(
    z.meta(
      about(
        "How it opened: raised, escalated, auto_escalated (deadline passed), bypassed or reopened",
        "raised",
      ),
    ),
  ),
  openedAt: instant.check(z.meta({ description: "When it opened" })),
  deadline: instant.check(
    z.meta({
      description: "When it must be resolved by (a resolution deadline: a response does not stop the clock)",
    }),
  ),
  assignee: assigneeSchema.check(
    z.meta({ description: "Who must answer: the holder of the stage's recipient role" }),
  ),
  coAssignees: z
    ._default(z.array(assigneeSchema), [])
    .check(z.meta({ description: "Who must answer beside the recipient (a partner agency's recipient)" })),
  copyTo: z.array(assigneeSchema).check(z.meta({ description: "Who is copied on the stage's emails" })),
  acknowledgedAt: z.optional(instant).check(z.meta({ description: "When the recipient acknowledged it" })),
  acknowledgements: z
    .optional(
      z.array(
        z.strictObject({
          personId: id.check(z.meta(about("Who acknowledged", "tm-north-carl"))),
          at: instant.check(z.meta({ description: "When" })),
          channel: channelSchema.check(
            z.meta(about("How: link (from the email), email (a reply) or api", "link")),
          ),
        }),
      ),
    )
    .check(z.meta({ description: "Each recipient's acknowledgement, first one each" })),
  responses: z
    .array(
      z.strictObject({
        at: instant.check(z.meta({ description: "When it was recorded" })),
        response: z.string().check(z.meta(about("The response", "The plan will be written by Friday."))),
      }),
    )
    .check(z.meta({ description: "The responses recorded at this stage, oldest first" })),
  meetings: z
    .array(
      z.strictObject({
        heldOn: day.check(z.meta({ description: "The London date it was held" })),
        attendees: z.array(z.string()).check(z.meta(about("Who attended", ["Priya Testwell (IRO)"]))),
        summary: z.string().check(z.meta(about("What it agreed", "Agreed to hold a core group."))),
      }),
    )
    .check(z.meta({ description: "The meetings recorded at this stage" })),
  raiserAlertedAt: z
    .optional(instant)
    .check(z.meta({ description: "When the raiser was told the deadline had passed" })),
  raiserAlertReason: z
    .optional(deadlineSituationSchema)
    .check(z.meta(about("Why the raiser was told: no_response or no_resolution", "no_response"))),
  raiserDecisionBy: z.optional(instant).check(
    z.meta({
      description: "When the raiser must decide by (resolve, or escalate with reasons); it escalates after",
    }),
  ),
  remindedAt: z
    .optional(instant)
    .check(z.meta({ description: "When the recipient was reminded before the deadline" })),
});

const smartActionFields = storedSmartActionSchema.shape;

const trackedActionSchema = z.strictObject({
  ...smartActionFields,
  status: z.enum(["open", "completed", "missed"]).check(z.meta(about("open, completed or missed", "open"))),
  note: z
    .optional(z.string())
    .check(z.meta(about("How it was done, or why it was missed", "Plan sent to the carers."))),
  dueNotifiedAt: z
    .optional(instant)
    .check(z.meta({ description: "When the raiser was asked whether it was done" })),
});

const decisionRequestedData = {
  after: decisionAfterSchema.check(
    z.meta(
      about(
        "What the decision follows: a noted difference, or a cafcass or partnership referral",
        "difference",
      ),
    ),
  ),
  decidedBy: storedRecipientSchema.check(z.meta({ description: "The role that decides" })),
  personId: id.check(z.meta(about("Who holds that role in the directory", "od-tomas"))),
  dueBy: instant.check(z.meta({ description: "When the decision is due" })),
  citation: z
    .string()
    .check(
      z.meta(about("The protocol's words for this rule", "AD to make decision on upholding differences")),
    ),
};

export const challengeStateSchema = z.strictObject({
  challengeId: id.check(z.meta(about("The challenge's id (a ULID)", "01JV4K8Z3M6N2P9Q5R7S1T3W4X"))),
  version: z
    .number()
    .check(
      z.int(),
      z.gte(0),
      z.meta(about("Its version: one more with each change (the ETag; send it back as If-Match)", 3)),
    ),
  status: z
    .enum(["none", "open", "monitoring", "ladder_exhausted", "resolved", "withdrawn", "closed"])
    .check(
      z.meta(
        about(
          "open (a stage awaits an answer), monitoring (an agreed action plan is followed), ladder_exhausted " +
            "(every stage tried), resolved, withdrawn or closed",
          "open",
        ),
      ),
    ),
  protocolId: z
    .string()
    .check(z.minLength(1), z.meta(about("The protocol (preset) it runs under", "halton"))),
  track: trackSchema.check(z.meta(about("CP (child protection) or LAC (looked-after child)", "LAC"))),
  raiser: storedActorSchema.check(z.meta({ description: "Who raised it" })),
  form: challengeFormSchema.check(z.meta({ description: "The challenge form, as raised" })),
  raisedAt: instant.check(z.meta({ description: "When it was raised" })),
  safeguardingConcern: z
    .boolean()
    .check(
      z.meta(about("Raised at a later stage for a safeguarding concern (Nottingham CPCs' bypass)", false)),
    ),
  currentStage: z.nullable(openStageSchema).check(
    z.meta({
      description: "The open stage; null when none is (monitoring, every stage tried, resolved, closed)",
    }),
  ),
  history: z
    .array(
      z.strictObject({
        stageId: id.check(z.meta(about("The stage's id", "stage_1"))),
        openedAt: instant.check(z.meta({ description: "When it opened" })),
        exitedAt: instant.check(z.meta({ description: "When it was left" })),
        exit: z
          .enum([...escalationKindSchema.options, "plan_agreed", "resolved", "withdrawn", "closed"])
          .check(
            z.meta(
              about(
                "How it was left: requested, no_response or bypass (escalations), plan_agreed, resolved, withdrawn or closed",
                "requested",
              ),
            ),
          ),
      }),
    )
    .check(z.meta({ description: "The stages it has left, oldest first" })),
  lastExitedStageId: z
    .nullable(id)
    .check(z.meta(about("The stage last left (where a reopen starts); null before any", "stage_1"))),
  highestStageIndex: z.number().check(z.int(), z.meta(about("The highest stage reached, from 0", 1))),
  actionPlan: z
    .nullable(
      z.strictObject({
        stageId: id.check(z.meta(about("The stage at which it was agreed", "stage_2"))),
        actions: z.array(trackedActionSchema).check(z.meta({ description: "The agreed actions" })),
      }),
    )
    .check(z.meta({ description: "The agreed action plan, if any" })),
  referrals: z
    .array(
      z.strictObject({
        kind: referralKindSchema.check(z.meta(about("cafcass or partnership", "cafcass"))),
        status: z
          .enum(["awaiting_approval", "made"])
          .check(z.meta(about("awaiting_approval or made", "made"))),
        requestedAt: instant.check(z.meta({ description: "When it was requested" })),
        approvalsNeeded: z
          .array(storedRecipientSchema)
          .check(z.meta({ description: "The roles whose approval it still needs" })),
        approvedBy: z
          .array(z.string())
          .check(z.meta(about("The roles that have approved it", ["head_of_service"]))),
      }),
    )
    .check(z.meta({ description: "Referrals to Cafcass or the safeguarding partnership" })),
  differences: z
    .array(
      z.strictObject({
        at: instant.check(z.meta({ description: "When it was noted" })),
        summary: z
          .string()
          .check(z.meta(about("The difference", "The IRO and the authority disagree on contact."))),
      }),
    )
    .check(z.meta({ description: "Differences noted after the ladder" })),
  pendingDecision: z
    .optional(
      z.strictObject({
        ...decisionRequestedData,
        requestedAt: instant.check(z.meta({ description: "When it was asked for" })),
      }),
    )
    .check(z.meta({ description: "The decision the protocol owes after the ladder, until it is made" })),
  autoEscalations: z
    .number()
    .check(z.int(), z.gte(0), z.meta(about("How many times it escalated by itself", 0))),
  resolvedAt: z.optional(instant).check(z.meta({ description: "When it was resolved" })),
  closedAt: z.optional(instant).check(z.meta({ description: "When it was closed" })),
  legalHold: z
    .optional(
      z.strictObject({
        since: instant.check(z.meta({ description: "When the hold was placed" })),
        by: id.check(z.meta(about("Who placed it", "ism-ola"))),
        reason: z.string().check(z.meta(about("Why", "A disclosure request from the court."))),
      }),
    )
    .check(z.meta({ description: "Set while a legal hold keeps the record beyond its retention date" })),
}) satisfies z.ZodMiniType<ChallengeState>;

// --- items -------------------------------------------------------------------------------------

export const keyFields = { pk: z.string().check(z.minLength(1)), sk: z.string().check(z.minLength(1)) };
const indexField = z.optional(z.string().check(z.minLength(1)));

/** The challenge snapshot item: the state, its version and chain head, and the sparse index keys. */
export const snapshotItemSchema = z.strictObject({
  ...keyFields,
  entity: z.literal(ENTITY.challenge),
  tenantId: z.string().check(z.minLength(1)),
  challengeId: id,
  /** Copy of state.version, the attribute the append condition tests. */
  version: z.number().check(z.int(), z.gte(1)),
  /** Hash of the latest event: the next append's prevHash. */
  lastEventHash: hashSchema,
  /** Seq of the event that started the current run of the workflow (store/ports.ts `ChallengeHead`). */
  runStartSeq: z.optional(z.number().check(z.int(), z.gte(1))),
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
  retainUntil: z.optional(day),
  retentionRule: z.optional(z.enum(Object.keys(RETENTION_RULES) as [RetentionRule, ...RetentionRule[]])),
  /** Copy of state.legalHold.since, for the retention index, which does not copy the state. */
  legalHoldSince: z.optional(instant),
  gsi6pk: indexField,
  gsi6sk: indexField,
});
export type SnapshotItem = z.infer<typeof snapshotItemSchema>;

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
export function parseItem<S extends z.ZodMiniType>(schema: S, item: unknown, where: string): z.infer<S> {
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

/**
 * The cancellation reason codes of a TransactionCanceledException (one per item, "None" for items
 * that were fine), or undefined for any other error.
 */
export function cancellationReasons(error: unknown): readonly string[] | undefined {
  if (!(error instanceof Error) || error.name !== "TransactionCanceledException") return undefined;
  const reasons = (error as { CancellationReasons?: readonly { Code?: string }[] }).CancellationReasons;
  return (reasons ?? []).map((reason) => reason.Code ?? "None");
}

// --- compile-time checks: the schemas cover the domain types exactly -----------------------------

type SameKeys<A, B> = [Exclude<keyof A, keyof B>, Exclude<keyof B, keyof A>] extends [never, never]
  ? true
  : {
      readonly missingFromSchema: Exclude<keyof A, keyof B>;
      readonly unknownToDomain: Exclude<keyof B, keyof A>;
    };
type Assert<T extends true> = T;

export type _StoreSchemasMatchDomain = [
  Assert<SameKeys<ChallengeState, z.infer<typeof challengeStateSchema>>>,
  Assert<SameKeys<ChallengeForm, z.infer<typeof challengeFormSchema>>>,
  Assert<SameKeys<ChallengeForm["child"], z.infer<typeof challengeFormSchema>["child"]>>,
  Assert<SameKeys<OpenStage, z.infer<typeof openStageSchema>>>,
  Assert<SameKeys<TrackedAction, z.infer<typeof trackedActionSchema>>>,
];
