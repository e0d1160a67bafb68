import * as z from "zod/mini";
import { about } from "./about.js";

/**
 * The shape of an authority's email wording: the kinds of email, one template's fields, and the
 * overrides a tenant configuration may carry, with the descriptions the OpenAPI document shows.
 * The rules a wording must keep (its placeholders, the reference in every subject, the sections a
 * body must hold) are in email-templates.ts: checked where a configuration is written and where the
 * mail uses it, and not needed by the many functions that only read a configuration to route a
 * challenge, which import this module alone.
 */

export const notificationKinds = [
  "stage_opened",
  "stage_opened_copy",
  "reminder",
  "auto_escalated",
  "auto_escalated_previous",
  "response_received",
  "action_due",
  "referral",
  "resolved",
  "closed",
  "good_practice",
  "raiser_alerted",
  "ladder_exhausted",
  "action_plan_agreed",
  "referral_approval",
  "undeliverable",
  "auto_escalated_raiser",
  "stage_reassigned",
  "deadline_shortened",
  "decision_requested",
  "decision_recorded",
] as const;
export type NotificationKind = (typeof notificationKinds)[number];

/** What each notification is, for the OpenAPI document's description of a tenant's overrides. */
const NOTIFICATION_DESCRIPTIONS: Record<NotificationKind, string> = {
  stage_opened: "To a stage's recipient when the challenge reaches them",
  stage_opened_copy: "To those copied when a stage opens",
  reminder: "To the recipient, before the deadline",
  auto_escalated: "To the next recipient when a deadline passed and it escalated by itself",
  auto_escalated_previous:
    "To the previous stage's recipient when their deadline passed and it escalated by itself",
  response_received: "To the raiser when a response is recorded",
  action_due: "To the raiser when agreed actions fall due",
  referral: "To the referral's recipient (Cafcass or the partnership) when a referral is made",
  resolved: "To the raiser and the last recipient when it is resolved",
  closed:
    "To the raiser and the last recipient when it is closed (and to the last recipient on a withdrawal)",
  good_practice: "To a practitioner's first line manager with a good practice notification",
  raiser_alerted:
    "To the raiser when a stage's deadline passed without a response or a resolution and the protocol leaves the next step to them",
  ladder_exhausted: "To the raiser when the last stage's deadline passed and every stage has been tried",
  action_plan_agreed: "To the raiser and the stage's recipient when an action plan is agreed",
  referral_approval: "To each person the protocol asks to approve a referral before it is made",
  undeliverable: "To the raiser when an email about their challenge could not be delivered",
  auto_escalated_raiser: "To the raiser when a deadline passed and the challenge escalated by itself",
  stage_reassigned: "To the raiser when a stage passed to the named cover of a recipient who is away",
  deadline_shortened: "To a stage's recipient when its deadline is brought forward",
  decision_requested:
    "To the person the protocol asks to decide after every stage was tried (copied to the raiser)",
  decision_recorded: "To the raiser when that decision is recorded",
};

export const templateSchema = z.strictObject({
  subject: z.string().check(
    z.trim(),
    z.minLength(1),
    z.maxLength(300),
    z.refine((s) => !/[\r\n]/.test(s), "a subject is one line"),
    z.meta(
      about(
        "The subject: one line, carrying {{reference}}; only the subject variables (no child's name)",
        "Challenge {{reference}}: your response is needed by {{deadlineShort}}",
      ),
    ),
  ),
  body: z
    .string()
    .check(
      z.trim(),
      z.minLength(1),
      z.maxLength(20_000),
      z.meta(
        about(
          "The body: paragraphs separated by blank lines, with {{placeholders}}; must keep the reply instructions and the case-record link",
          "Dear {{greetingName}},\n\n{{replyInstructions}}\n\n{{authorityName}}",
        ),
      ),
    ),
});
export type MailTemplate = z.infer<typeof templateSchema>;
export type TemplateSet = Readonly<Record<NotificationKind, MailTemplate>>;

export function perKind<T>(value: T): Record<NotificationKind, T> {
  // Object.fromEntries cannot know its keys are exactly the kinds; they are, by construction.
  return Object.fromEntries(notificationKinds.map((kind) => [kind, value])) as Record<NotificationKind, T>;
}

/** A tenant's overrides: any subject or body of any kind; the rest comes from the defaults. */
/** One override: a template's subject or body, or both (one schema for every kind: built once). */
const templateOverrideSchema = z.partial(templateSchema);

export const templateOverridesSchema = z.strictObject(
  Object.fromEntries(
    notificationKinds.map((kind) => [
      kind,
      z.optional(templateOverrideSchema).check(
        z.meta({
          description: `${NOTIFICATION_DESCRIPTIONS[kind]}: its subject or body; unset keeps the default`,
        }),
      ),
    ]),
  ) as Record<
    NotificationKind,
    z.ZodMiniOptional<
      z.ZodMiniObject<
        { [K in keyof typeof templateSchema.shape]: z.ZodMiniOptional<(typeof templateSchema.shape)[K]> },
        z.core.$strict
      >
    >
  >,
);
export type TemplateOverrides = z.infer<typeof templateOverridesSchema>;
