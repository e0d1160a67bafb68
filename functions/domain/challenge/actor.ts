import * as z from "zod/mini";

/** Roles carried in an access token's claims (see the API's authorisation). */
export const actorRoleSchema = z.enum([
  "IRO",
  "CPC",
  "manager",
  "iro_service_manager",
  "case_record_system",
  "auditor",
  "system",
]);
export type ActorRole = z.infer<typeof actorRoleSchema>;

export const actorSchema = z.strictObject({
  /** Stable person or client id (the token's subject); never a name. */
  id: z.string().check(
    z.minLength(1),
    z.maxLength(128),
    z.meta({
      description: "The person's (or client's) id: the access token's subject, never a name",
      examples: ["iro-priya"],
    }),
  ),
  role: actorRoleSchema.check(z.meta({ description: "The role they acted in", examples: ["IRO"] })),
});
export type Actor = z.infer<typeof actorSchema>;

/**
 * How an action reached the service: a case-record system or person over the API, an email reply,
 * the workflow timer, or the signed acknowledgement link in a notification (`link`).
 */
export const channelSchema = z.enum(["api", "email", "timer", "link"]);
export type Channel = z.infer<typeof channelSchema>;

/** The workflow's own identity, used for automatic escalation, reminders and actions falling due. */
export const TIMER_ACTOR: Actor = { id: "workflow-timer", role: "system" };
