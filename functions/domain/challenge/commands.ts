import * as z from "zod/mini";
import { raiserRoleSchema, trackSchema, windowSchema } from "../protocol.js";
import { about } from "../about.js";
import { actorSchema, channelSchema } from "./actor.js";

/**
 * Commands: what a person, a case-record system or the timer asks the challenge to do.
 * The API validates request bodies with these schemas, and the OpenAPI document derives from them.
 */

/**
 * Every request field is bounded and every object strict: an unknown field (a typo such as
 * `socialWorker.emial`) is refused with its path, never silently dropped, and no string is unbounded.
 */
const text = (max: number) => z.string().check(z.trim(), z.minLength(1), z.maxLength(max));
const isoDate = z.iso.date().check(z.maxLength(10));
const id = z.string().check(z.minLength(1), z.maxLength(128));
const email = z.email().check(z.maxLength(254));

export const caseRecordSystemSchema = z.enum(["LCS", "Mosaic", "Eclipse", "other"]);

/** The fields of the seeds' challenge forms (001's Challenge and Resolution Form, 002's alert contents, 004's level forms). */
export const challengeFormSchema = z.strictObject({
  child: z
    .strictObject({
      name: text(200).check(
        z.meta(about("The child's name (shown to staff only, never logged)", "Ava Example")),
      ),
      dateOfBirth: isoDate.check(
        z.meta(about("The child's date of birth; sets how long the record is kept", "2015-04-01")),
      ),
      caseRecordId: text(64).check(z.meta(about("The child's id in the case-record system", "LCS-123"))),
      caseRecordSystem: caseRecordSystemSchema.check(
        z.meta(about("The case-record system that id belongs to", "LCS")),
      ),
    })
    .check(z.meta({ description: "The child the challenge is about" })),
  track: trackSchema.check(
    z.meta(about("The process: CP (child protection) or LAC (looked-after child)", "LAC")),
  ),
  raiserRole: raiserRoleSchema.check(
    z.meta(about("The raiser's role: IRO or CPC (Child Protection Chair)", "IRO")),
  ),
  socialWorker: z
    .strictObject({
      name: text(200).check(z.meta(about("The allocated social worker's name", "Sam Worker"))),
      email: z
        .optional(email)
        .check(
          z.meta(
            about(
              "The social worker's email, copied where the protocol says",
              "sam.worker@authority.example",
            ),
          ),
        ),
    })
    .check(z.meta({ description: "The allocated social worker" })),
  team: z
    .strictObject({
      id: id.check(z.meta(about("The team's id in the directory", "team-a"))),
      name: text(200).check(z.meta(about("The team's name", "Assessment Team A"))),
    })
    .check(z.meta({ description: "The social work team the challenge is about" })),
  teamManagerName: text(200).check(z.meta(about("The team manager's name", "Terry Manager"))),
  partnerAgency: z
    .optional(
      z.strictObject({
        id: id.check(z.meta(about("The agency's id in the directory", "health-trust"))),
        name: text(200).check(z.meta(about("The agency's name", "Halton Health Trust"))),
      }),
    )
    .check(
      z.meta({
        description: "Set when the challenge is with a partner agency rather than children's social care",
      }),
    ),
  worries: text(10_000).check(
    z.meta(
      about('"What are we worried about?" / "What\'s not working well?"', "No core group for eight weeks."),
    ),
  ),
  actionsTaken: text(10_000).check(
    z.meta(
      about(
        '"What actions have taken place to resolve the worries?"',
        "Spoke with the social worker on 12 May.",
      ),
    ),
  ),
  impactOnChild: text(10_000).check(
    z.meta(about('"Outcome and Impact for the Child/Young Person"', "Risks are not being reviewed.")),
  ),
  childViews: text(10_000).check(
    z.meta(about('"The child\'s views" (002)', "Wants to see the social worker more often.")),
  ),
  whatNeedsToHappen: text(10_000).check(
    z.meta(about('"What needs to happen?"', "Hold a core group within five working days.")),
  ),
  desiredOutcome: text(10_000).check(
    z.meta(about('"Desired outcome" (004)', "A core group held and the plan reviewed.")),
  ),
  timescale: text(1_000).check(z.meta(about('"Timescales for resolution" (002)', "Five working days"))),
  themes: z
    .array(id)
    .check(
      z.maxLength(20),
      z.meta(
        about("Theme ids from the tenant's protocol (GET /v1/config lists them)", ["core_group_meetings"]),
      ),
    ),
  immediateRisk: z
    .boolean()
    .check(
      z.meta(
        about(
          '"Immediate risk of significant harm": lets stages be taken out of sequence where the protocol says so (003)',
          false,
        ),
      ),
    ),
});
export type ChallengeForm = z.infer<typeof challengeFormSchema>;

/**
 * What a command expects of the challenge it acts on. Checked before anything else is decided, and
 * again on every retry after a concurrent change, so a double click or a retried request never acts
 * twice: `stageId` (the stage the sender saw open: refused with STAGE_MOVED once it is not) and
 * `version` (the challenge's version, from an If-Match header: refused with VERSION_MISMATCH).
 */
export const commandExpectationSchema = z.strictObject({
  stageId: z.optional(id),
  version: z.optional(z.number().check(z.int(), z.gte(0))),
});
export type CommandExpectation = z.infer<typeof commandExpectationSchema>;

const base = {
  challengeId: id,
  actor: actorSchema,
  channel: channelSchema,
  expected: z.optional(commandExpectationSchema),
};

export const referralKindSchema = z.enum(["cafcass", "partnership"]);
export type ReferralKind = z.infer<typeof referralKindSchema>;

/**
 * A referral made in the same request as the raise, where the protocol allows one at that point
 * (002: "a concurrent referral to CAFCASS at the same time that s/he instigates the dispute
 * resolution process"). Decided as Raise then RequestReferral, all or nothing.
 */
export const raiseReferralSchema = z.strictObject({
  kind: referralKindSchema.check(z.meta(about("The referral: cafcass or partnership", "cafcass"))),
  /** Why the referral is needed. */
  rationale: text(10_000).check(
    z.meta(about("Why the referral is needed", "Risk of breach of the child's right to family life.")),
  ),
  /** Ids of the protocol's attestations the raiser confirms. */
  attestations: z
    .array(id)
    .check(
      z.maxLength(20),
      z.meta(
        about("Ids of the protocol's statements the raiser confirms", [
          "human_rights_risk",
          "no_one_else_to_bring_proceedings",
        ]),
      ),
    ),
});

export const smartActionSchema = z.strictObject({
  action: text(2_000).check(
    z.meta(about("What is to be done (specific and measurable)", "Write the placement plan")),
  ),
  byWhen: isoDate.check(z.meta(about("The London date it is to be done by", "2026-05-29"))),
  byWhom: text(200).check(z.meta(about("Who will do it, by name or role", "Kit Inventedson, social worker"))),
});

/**
 * Each command's schema, built the first time a function asks for it (`commandSchema(type)`): a
 * function handles one command type or a few (an API route one, the timer's tasks theirs), and
 * building all of them at load cost every cold start about 2 ms. Built once each, so a route, the
 * OpenAPI document and `decide` share one schema per type.
 */
const commandBuilders = {
  Raise: () =>
    z.strictObject({
      type: z.literal("Raise"),
      ...base,
      form: challengeFormSchema.check(
        z.meta({
          description: "The challenge form: the child, the team, the worries and what needs to happen",
        }),
      ),
      /** Open the challenge at this stage instead of the first (a bypass: needs a rationale and the protocol's leave). */
      startAtStageId: z
        .optional(id)
        .check(
          z.meta(
            about(
              "Open at this stage instead of the first (a bypass: needs bypassRationale and the protocol's leave)",
              "stage_3",
            ),
          ),
        ),
      bypassRationale: z
        .optional(text(5_000))
        .check(
          z.meta(
            about(
              "Why the earlier stages are bypassed; required with startAtStageId",
              "Delay in an adoptive placement.",
            ),
          ),
        ),
      /** Nottingham CPCs may bypass only with a safeguarding concern. */
      safeguardingConcern: z
        .optional(z.boolean())
        .check(
          z.meta(
            about("The bypass is for a safeguarding concern (Nottingham CPCs may bypass only then)", true),
          ),
        ),
      /** A concurrent referral (Cafcass, partnership) made with the raise, where the protocol allows it. */
      referral: z.optional(raiseReferralSchema).check(
        z.meta({
          description:
            "A concurrent referral made with the raise, where the protocol allows one; all or nothing",
        }),
      ),
    }),
  Acknowledge: () => z.strictObject({ type: z.literal("Acknowledge"), ...base }),
  Respond: () =>
    z.strictObject({
      type: z.literal("Respond"),
      ...base,
      /** "Response to what's not working well" */
      response: text(10_000).check(
        z.meta(
          about(
            "The recipient's response to what is not working well",
            "A placement review is booked for Monday; the plan will be updated by Friday.",
          ),
        ),
      ),
    }),
  RecordMeeting: () =>
    z.strictObject({
      type: z.literal("RecordMeeting"),
      ...base,
      heldOn: isoDate.check(z.meta(about("The London date the stage's meeting was held", "2026-05-18"))),
      attendees: z
        .array(text(200))
        .check(
          z.minLength(1),
          z.maxLength(50),
          z.meta(
            about("Who attended, by name and role", [
              "Priya Testwell (IRO)",
              "Lena Fictive (Principal Manager)",
            ]),
          ),
        ),
      summary: text(10_000).check(
        z.meta(about("What the meeting agreed", "Agreed to hold a core group within five working days.")),
      ),
    }),
  AgreeActionPlan: () =>
    z.strictObject({
      type: z.literal("AgreeActionPlan"),
      ...base,
      actions: z
        .array(smartActionSchema)
        .check(
          z.minLength(1),
          z.maxLength(30),
          z.meta({ description: "The agreed actions (1 to 30); each is tracked until completed or missed" }),
        ),
    }),
  MarkResolved: () =>
    z.strictObject({
      type: z.literal("MarkResolved"),
      ...base,
      summary: text(10_000).check(
        z.meta(
          about(
            "How the challenge was resolved",
            "The placement plan was written and shared with the carers.",
          ),
        ),
      ),
    }),
  Escalate: () =>
    z.strictObject({
      type: z.literal("Escalate"),
      ...base,
      /** "Reasons why the level N response is unsatisfactory" (004). */
      reasons: text(10_000).check(
        z.meta(
          about(
            "Why the response at this stage is unsatisfactory (004: the reasons the form asks for)",
            "The reply gives no date for the placement plan.",
          ),
        ),
      ),
    }),
  Bypass: () =>
    z.strictObject({
      type: z.literal("Bypass"),
      ...base,
      toStageId: id.check(
        z.meta(about("The later stage to go to (GET /v1/config lists the stage ids)", "stage_3")),
      ),
      rationale: text(5_000).check(
        z.meta(
          about(
            "Why the stages in between are bypassed",
            "Delay in an adoptive placement; the child is waiting.",
          ),
        ),
      ),
      safeguardingConcern: z
        .optional(z.boolean())
        .check(
          z.meta(
            about("The bypass is for a safeguarding concern (Nottingham CPCs may bypass only then)", true),
          ),
        ),
    }),
  AutoEscalate: () =>
    z.strictObject({
      type: z.literal("AutoEscalate"),
      ...base,
      /** The stage whose deadline passed: a late timer for a stage already left does nothing. */
      stageId: id,
    }),
  SendReminder: () =>
    z.strictObject({
      type: z.literal("SendReminder"),
      ...base,
      /** The stage whose recipient is reminded: a late timer for a stage already left does nothing. */
      stageId: id,
    }),
  ShortenDeadline: () =>
    z.strictObject({
      type: z.literal("ShortenDeadline"),
      ...base,
      /** The open stage whose window is shortened: a command about a stage already left does nothing. */
      stageId: id,
      /** The stage's new window, counted from when it opened: it must end before the current deadline. */
      window: windowSchema.check(
        z.meta({
          description:
            "The stage's new window, counted from when it opened; it must end before the current deadline",
        }),
      ),
      /** Why a response is needed more quickly (the child's age, the nature of the concern). */
      reason: text(5_000).check(
        z.meta(
          about(
            "Why a response is needed more quickly",
            "The child is under one; the concern cannot wait a week.",
          ),
        ),
      ),
    }),
  RecordActionsDue: () =>
    z.strictObject({
      type: z.literal("RecordActionsDue"),
      ...base,
      /** Agreed actions whose date has passed: the raiser is asked, once, whether they were done. */
      actionIds: z.array(id).check(z.minLength(1), z.maxLength(100)),
    }),
  RequestReferral: () =>
    z.strictObject({
      type: z.literal("RequestReferral"),
      ...base,
      kind: referralKindSchema.check(z.meta(about("The referral: cafcass or partnership", "cafcass"))),
      rationale: text(10_000).check(
        z.meta(about("Why the referral is needed", "The ladder is exhausted and the plan still drifts.")),
      ),
      /** Ids of the protocol's attestations the raiser confirms (e.g. legal advice sought). */
      attestations: z
        .array(id)
        .check(
          z.maxLength(20),
          z.meta(
            about("Ids of the protocol's statements the raiser confirms (GET /v1/config lists them)", [
              "legal_advice_sought",
            ]),
          ),
        ),
    }),
  ApproveReferral: () =>
    z.strictObject({
      type: z.literal("ApproveReferral"),
      ...base,
      kind: referralKindSchema,
      /** The directory role the approver holds (must be one the protocol names). */
      approverRole: text(200).check(
        z.meta(about("The directory role the approver holds (one the protocol names)", "head_of_service")),
      ),
      comment: z
        .optional(text(5_000))
        .check(z.meta(about("The approver's comment", "Approved: legal advice confirms the referral."))),
    }),
  CompleteAction: () =>
    z.strictObject({
      type: z.literal("CompleteAction"),
      ...base,
      actionId: id,
      note: z
        .optional(text(5_000))
        .check(z.meta(about("How the action was done", "Plan written and sent to the carers on 27 May."))),
    }),
  MissAction: () =>
    z.strictObject({
      type: z.literal("MissAction"),
      ...base,
      actionId: id,
      note: text(5_000).check(z.meta(about("Why the action was missed", "The social worker was off sick."))),
    }),
  Reopen: () =>
    z.strictObject({
      type: z.literal("Reopen"),
      ...base,
      reason: text(10_000).check(
        z.meta(
          about(
            "Why the challenge is reopened (at the stage last exited)",
            "The agreed contact stopped again.",
          ),
        ),
      ),
    }),
  NoteDifference: () =>
    z.strictObject({
      type: z.literal("NoteDifference"),
      ...base,
      summary: text(10_000).check(
        z.meta(
          about(
            "The difference that remains after the ladder",
            "The IRO and the authority disagree on contact.",
          ),
        ),
      ),
    }),
  /**
   * The decision the protocol owes after the ladder (a noted difference upheld or not; the
   * partnership manager's course of action), recorded by the person the directory names for it.
   */
  DecideAfterLadder: () =>
    z.strictObject({
      type: z.literal("DecideAfterLadder"),
      ...base,
      /** Whether the raiser's position is upheld. */
      upheld: z.boolean().check(z.meta(about("Whether the raiser's position is upheld", true))),
      /** The decision and its reasons (003: the course of action determined). */
      reasons: text(10_000).check(
        z.meta(
          about(
            "The decision and its reasons (003: the course of action determined)",
            "Contact to restart weekly.",
          ),
        ),
      ),
    }),
  Withdraw: () =>
    z.strictObject({
      type: z.literal("Withdraw"),
      ...base,
      reason: text(5_000).check(
        z.meta(about("Why the challenge is withdrawn", "Raised on the wrong child's record.")),
      ),
    }),
  Close: () =>
    z.strictObject({
      type: z.literal("Close"),
      ...base,
      summary: text(10_000).check(
        z.meta(about("Why the challenge is closed, and how it ended", "Resolved and the plan is on track.")),
      ),
    }),
  /**
   * Places (`hold: true`) or lifts (`hold: false`) a legal hold: while held, the record is never
   * deleted at the end of its retention period (functions/domain/retention.ts). Names the change it
   * makes, so a retry of a placement never lifts a hold and the other way round.
   */
  SetLegalHold: () =>
    z.strictObject({
      type: z.literal("SetLegalHold"),
      ...base,
      hold: z.boolean().check(z.meta(about("true places a legal hold, false lifts it", true))),
      reason: text(5_000).check(
        z.meta(about("Why the hold is placed or lifted", "A disclosure request from the court.")),
      ),
    }),
  /**
   * Passes the open stage from its recipient, who is away, to their role's named cover (the
   * directory's): from an out-of-office reply to the stage's email, or an absence recorded for them.
   * The actor is whoever made it known (the absent person's own mail system, or the directory's
   * administrator). The deadline does not move.
   */
  RouteToCover: () =>
    z.strictObject({
      type: z.literal("RouteToCover"),
      ...base,
      /** The open stage to pass on: a command about a stage already left does nothing. */
      stageId: id,
      /** The recipient who is away. */
      personId: id,
      because: z.enum(["out_of_office", "absence_recorded"]),
    }),
};

type CommandSchemas = {
  readonly [T in keyof typeof commandBuilders]: ReturnType<(typeof commandBuilders)[T]>;
};
export type CommandType = keyof CommandSchemas;
export type CommandOf<T extends CommandType> = z.infer<CommandSchemas[T]>;
export type Command = { [T in CommandType]: CommandOf<T> }[CommandType];

const built: { [T in CommandType]?: CommandSchemas[T] } = {};

/** The schema of one command type (strict: a field it does not know is refused). */
export function commandSchema<T extends CommandType>(type: T): CommandSchemas[T] {
  const schema = built[type] ?? (commandBuilders[type]() as CommandSchemas[T]);
  built[type] = schema;
  return schema;
}

/** Every command type. */
export const commandTypes = Object.keys(commandBuilders) as readonly CommandType[];

/** Whether `type` names a command. */
export function isCommandType(type: unknown): type is CommandType {
  return typeof type === "string" && Object.hasOwn(commandBuilders, type);
}
