import * as z from "zod/mini";
import { about } from "../about.js";
import { raiserRoleSchema, trackSchema } from "../protocol.js";
import { actorRoleSchema } from "./actor.js";
import { caseRecordSystemSchema } from "./commands.js";

/**
 * What the events and the stored challenge (functions/store/items.ts) share: who acted, roles and
 * assignees, the form as raised, the smart actions, and the enums events record. Apart from the
 * event schemas themselves (events.ts), so that a function that reads and writes challenges but
 * never reads their event history does not build every event's schema at load.
 */

const id = z.string().check(z.minLength(1), z.maxLength(128));
/** ISO-8601 instant (UTC). */
const instant = z.iso.datetime({ offset: true }).check(z.meta({ examples: ["2026-05-14T09:30:00.000Z"] }));
/** A London calendar date, YYYY-MM-DD. */
const day = z.iso.date().check(z.meta({ examples: ["2026-05-29"] }));

/** Who did it, as recorded: the person's (or client's) id and the role they acted in. */
export const storedActorSchema = z.strictObject({
  id: id.check(
    z.meta(about("The person's (or client's) id: the access token's subject, never a name", "iro-priya")),
  ),
  role: actorRoleSchema.check(z.meta(about("The role they acted in", "IRO"))),
});

/** A directory role, with the protocol's own words for it. */
export const storedRecipientSchema = z.strictObject({
  role: z.string().check(z.minLength(1), z.meta(about("The directory role", "team_manager"))),
  title: z.string().check(z.meta(about("The role's title in the protocol's own words", "Principal Manager"))),
});

/** The person a stage is addressed to, resolved from the tenant's staff directory when the stage opens. */
export const assigneeSchema = z.strictObject({
  ...storedRecipientSchema.shape,
  personId: id.check(z.meta(about("The person in the directory who holds the role", "pm-east-lena"))),
  email: z
    .string()
    .check(z.minLength(1), z.meta(about("Where they are emailed", "lena.fictive@example.org"))),
  actingFor: z
    .optional(id)
    .check(
      z.meta(
        about(
          "Set when this is the named cover of an absent holder: the holder's person id",
          "tm-north-carl",
        ),
      ),
    ),
});
export type Assignee = z.infer<typeof assigneeSchema>;

/** The absence a stage was routed around, as recorded on the event (days are London, inclusive). */
export const absenceFactsSchema = z.strictObject({
  /** The absent holder's person id. */
  personId: id,
  from: day,
  /** Absent: no end was stated. */
  to: z.optional(day),
});
export type AbsenceFacts = z.infer<typeof absenceFactsSchema>;

/** The challenge form as raised (the request's rules are in commands.ts; stored, only its structure). */
export const storedChallengeFormSchema = z.strictObject({
  child: z.strictObject({
    name: z.string(),
    dateOfBirth: day,
    caseRecordId: id,
    caseRecordSystem: caseRecordSystemSchema,
  }),
  track: trackSchema,
  raiserRole: raiserRoleSchema,
  socialWorker: z.strictObject({ name: z.string(), email: z.optional(z.string()) }),
  team: z.strictObject({ id, name: z.string() }),
  teamManagerName: z.string(),
  partnerAgency: z.optional(z.strictObject({ id, name: z.string() })),
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

/** How a stage came to be opened. */
export const stageOpenedViaSchema = z.enum(["raised", "escalated", "auto_escalated", "bypassed", "reopened"]);
export type StageOpenedVia = z.infer<typeof stageOpenedViaSchema>;

/** Why an open stage passed from its absent recipient to the role's named cover. */
export const reassignedBecauseSchema = z.enum(["out_of_office", "absence_recorded"]);
export type ReassignedBecause = z.infer<typeof reassignedBecauseSchema>;

export const escalationKindSchema = z.enum(["requested", "no_response", "bypass"]);
export type EscalationKind = z.infer<typeof escalationKindSchema>;

/** What was missing when a stage's deadline passed. */
export const deadlineSituationSchema = z.enum(["no_response", "no_resolution"]);
export type DeadlineSituation = z.infer<typeof deadlineSituationSchema>;

/** Why the timer escalated a stage by itself. */
export const timedOutBecauseSchema = z.enum(["no_response", "no_resolution", "raiser_did_not_decide"]);
export type TimedOutBecause = z.infer<typeof timedOutBecauseSchema>;

/** Where the challenge was reopened from: the workflow's run continues (monitoring) or a new run starts (resolved). */
export const reopenedFromSchema = z.enum(["monitoring", "resolved"]);
export type ReopenedFrom = z.infer<typeof reopenedFromSchema>;

/** What a post-ladder decision follows: a noted difference (000) or a partnership referral made (003). */
export const decisionAfterSchema = z.enum(["difference", "cafcass", "partnership"]);
export type DecisionAfter = z.infer<typeof decisionAfterSchema>;

export const storedSmartActionSchema = z.strictObject({
  id: id.check(z.meta(about("The action's id", "action-1"))),
  action: z.string().check(z.meta(about("What is to be done", "Write the placement plan"))),
  byWhen: day.check(z.meta({ description: "The London date it is to be done by" })),
  byWhom: z.string().check(z.meta(about("Who will do it", "Kit Inventedson, social worker"))),
});
export type SmartAction = z.infer<typeof storedSmartActionSchema>;

/** The ids, instants and London dates events and stored items hold (structure only: stored data is read for decades). */
export { id as storedIdSchema, instant as instantSchema, day as londonDateSchema };
