import * as z from "zod/mini";
import { about } from "./about.js";
import type { Protocol } from "./protocol-schema.js";

/**
 * A local authority's challenge and resolution protocol, as data.
 *
 * Every seed protocol (docs/seeds) is expressed with this one model; the engine has no
 * authority-specific code paths. Each rule carries a `citation`: the words of the seed it encodes,
 * so a reviewer can check the data against the published text.
 */

export const slug = z
  .string()
  .check(
    z.regex(/^[a-z][a-z0-9_-]*$/, "a lower-case identifier: letters, digits, '-' and '_'"),
    z.maxLength(64),
  );

export const trackSchema = z.enum(["CP", "LAC"]);
export type Track = z.infer<typeof trackSchema>;

/** Who raises challenges: an Independent Reviewing Officer (IRM in Halton) or a Child Protection Chair. */
export const raiserRoleSchema = z.enum(["IRO", "CPC"]);
export type RaiserRole = z.infer<typeof raiserRoleSchema>;

/**
 * A role in the authority's staff directory, e.g. `team_manager`, `head_of_service`. The directory
 * (tenant configuration) says which person holds the role for which team.
 */
export const recipientSchema = z.object({
  role: slug,
  /** The protocol's own words for the role, e.g. "Principal Manager". */
  title: z.string().check(z.minLength(1)),
});
export type Recipient = z.infer<typeof recipientSchema>;

export const citationSchema = z.string().check(z.minLength(1));

/**
 * A length of time as a seed states it: working days (weekends, bank holidays and closure days
 * skipped), calendar days, or weeks (000's "Week 1-2" steps). Every window ends at close of
 * business (17:00 Europe/London unless the tenant says otherwise) on its last day.
 */
export const windowUnitSchema = z.enum(["working_days", "calendar_days", "weeks"]);
export type WindowUnit = z.infer<typeof windowUnitSchema>;

export const windowSchema = z.strictObject({
  length: z.number().check(z.int(), z.gte(1), z.lte(60), z.meta(about("How many units the window lasts", 3))),
  unit: windowUnitSchema.check(
    z.meta(about("The unit: working_days, calendar_days or weeks", "working_days")),
  ),
});
export type Window = z.infer<typeof windowSchema>;

/**
 * What the timer does when a stage's deadline passes and the stage is still open:
 * - `escalate`: it escalates by itself to the next stage (or off the end of the ladder);
 * - `ask_raiser`: the raiser is asked (email and work tray) to resolve the challenge or escalate it
 *   with reasons within the stage's `raiserDecisionWindow`; if they do neither it escalates by
 *   itself and says why;
 * - `alert_raiser`: the raiser is told once and decides; the timer does nothing more (only where
 *   the seed leaves the next step to the raiser).
 */
export const deadlineActionSchema = z.enum(["escalate", "ask_raiser", "alert_raiser"]);
export type DeadlineAction = z.infer<typeof deadlineActionSchema>;

/**
 * The whole protocol's schema (stages, bypass, referral and difference rules) is in
 * protocol-schema.ts. The presets are TypeScript constants of these types, and the tests parse every
 * one with that schema (and check parsing leaves it unchanged), so no Lambda builds it at load:
 * only the schemas above, which requests and stored items reuse, are built there.
 */
export type {
  BypassRule,
  PostLadderDecision,
  Protocol,
  ReferralPolicy,
  Stage,
  Theme,
  TrackProtocol,
} from "./protocol-schema.js";

/** The raiser's decision window when the protocol sets none: one working day. */
export const DEFAULT_RAISER_DECISION_WINDOW: Window = { length: 1, unit: "working_days" };

/**
 * The protocol as one authority runs it: its own reminder timing, when its configuration sets one
 * (`reminders.workingDaysBeforeDeadline`; 0 for none), else the protocol's.
 */
export function protocolForTenant(
  protocol: Protocol,
  settings: { readonly reminders?: { readonly workingDaysBeforeDeadline?: number | undefined } | undefined },
): Protocol {
  const days = settings.reminders?.workingDaysBeforeDeadline;
  return days === undefined || days === protocol.reminderWorkingDaysBeforeDeadline
    ? protocol
    : { ...protocol, reminderWorkingDaysBeforeDeadline: days };
}
