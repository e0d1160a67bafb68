import * as z from "zod/mini";
import { about } from "./about.js";

/**
 * The small schemas of a protocol that requests, events and stored items share (tracks, raiser
 * roles, directory roles, windows, deadline actions). The whole protocol's schema builds on them in
 * protocol-schema.ts; protocol.ts re-exports them with the protocol's types.
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
