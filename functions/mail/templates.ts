import { dateInWords, deadlineInWords, shortDate } from "../domain/dates-in-words.js";
import * as z from "zod";
import type { ChallengeForm, ReferralKind } from "../domain/challenge/commands.js";
import type { GoodPracticeNotification } from "../domain/good-practice.js";
import { about } from "../domain/about.js";
import { escapeHtml } from "../shared/html.js";

/**
 * The emails the service sends, rendered as `{ subject, text, html }`.
 *
 * Wording is data: a default template set, and per-tenant overrides of any subject or body,
 * validated with zod. Templates are plain text with `{{placeholder}}`s drawn from a fixed set of
 * variables per kind; substitution is one pass (a value containing `{{x}}` stays literal), there is
 * no logic and no code. Each variable has a type that decides how it is escaped:
 *
 * - `line`: one line of text (HTML-escaped; in subjects, line breaks are removed);
 * - `multiline`: free text from a person (HTML-escaped, line breaks kept as `<br>`);
 * - `url`: an http(s) link (an `<a>` in HTML);
 * - `block`: a section the service builds (the challenge details, the reply instructions), which
 *   must stand alone as a paragraph of the template.
 *
 * Minimum personal data: there is no variable for the child's name or date of birth, subjects may
 * use only the variables in {@link SUBJECT_VARIABLES} (references, stage labels, titles, dates),
 * and every subject must carry `{{reference}}`. The child is identified by the case-record id and
 * a link to the record.
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
] as const;
export type NotificationKind = (typeof notificationKinds)[number];

// ---------------------------------------------------------------------------------------------
// What a notification is about

/** The challenge as an email needs it. */
export interface ChallengeFacts {
  readonly challengeId: string;
  readonly form: ChallengeForm;
  /** The protocol's name for the raiser's role (`protocol.raiserTitles`), e.g. "IRO", "IRM", "Child Protection Chair". */
  readonly raiserTitle: string;
  /** Signs the email, e.g. "Northby Council Children's Services". */
  readonly authorityName: string;
}

/** A stage as an email needs it: the protocol's own words, and the deadline as an instant. */
export interface StageFacts {
  /** e.g. "Stage 2". */
  readonly label: string;
  /** The protocol's title for the stage, e.g. "CP- resolution process stage 2". */
  readonly title: string;
  /** The protocol's title for the recipient's role, e.g. "Service Manager". */
  readonly recipientTitle: string;
  /** ISO instant (close of business on the last working day). */
  readonly deadline: string;
}

/** A good practice notification (its own small record), to the practitioner's first line manager. */
export interface GoodPracticeFacts {
  readonly notification: GoodPracticeNotification;
  readonly authorityName: string;
  /** The protocol's name for the sender's role, e.g. "IRM". */
  readonly raiserTitle: string;
}

/** An agreed action as an email needs it. `byWhen` is a London date, YYYY-MM-DD. */
export interface DueActionFacts {
  readonly action: string;
  readonly byWhen: string;
  readonly byWhom: string;
}

interface Addressed {
  /** The person written to, when the directory knows their name; otherwise they are greeted by role. */
  readonly recipientName?: string;
}

export type Notification = Addressed &
  (
    | { readonly kind: "stage_opened"; readonly challenge: ChallengeFacts; readonly stage: StageFacts }
    | { readonly kind: "stage_opened_copy"; readonly challenge: ChallengeFacts; readonly stage: StageFacts }
    | { readonly kind: "reminder"; readonly challenge: ChallengeFacts; readonly stage: StageFacts }
    | {
        /** To the new recipient after the deadline passed unanswered. */
        readonly kind: "auto_escalated";
        readonly challenge: ChallengeFacts;
        readonly stage: StageFacts;
        readonly previousStage: StageFacts;
      }
    | {
        /** To the recipient who did not answer in time. */
        readonly kind: "auto_escalated_previous";
        readonly challenge: ChallengeFacts;
        readonly stage: StageFacts;
        readonly previousStage: StageFacts;
      }
    | {
        /** To the raiser. `nextStage` is null at the last stage of the ladder. */
        readonly kind: "response_received";
        readonly challenge: ChallengeFacts;
        readonly stage: StageFacts;
        readonly response: string;
        readonly nextStage: { readonly label: string; readonly recipientTitle: string } | null;
      }
    | {
        /** To the raiser: the agreed date of these actions passed while they were open. */
        readonly kind: "action_due";
        readonly challenge: ChallengeFacts;
        /** The actions, in the order to list them (at least one). */
        readonly actions: readonly DueActionFacts[];
      }
    | {
        readonly kind: "referral";
        readonly challenge: ChallengeFacts;
        readonly referral: {
          readonly kind: ReferralKind;
          /** The protocol's title for the referral recipient. */
          readonly recipientTitle: string;
          readonly rationale: string;
          readonly documents: readonly string[];
        };
      }
    | { readonly kind: "resolved"; readonly challenge: ChallengeFacts; readonly summary: string }
    | { readonly kind: "closed"; readonly challenge: ChallengeFacts; readonly summary: string }
    | {
        /** To the practitioner's first line manager. */
        readonly kind: "good_practice";
        readonly goodPractice: GoodPracticeFacts;
      }
  );

export interface RenderedEmail {
  readonly subject: string;
  readonly text: string;
  readonly html: string;
}

// ---------------------------------------------------------------------------------------------
// Variables

type VariableType = "line" | "multiline" | "url" | "block";

const VARIABLE_TYPES = {
  reference: "line",
  authorityName: "line",
  raiserTitle: "line",
  planName: "line",
  teamName: "line",
  socialWorkerName: "line",
  caseRecordId: "line",
  caseRecordSystem: "line",
  caseRecordUrl: "url",
  greetingName: "line",
  challengeDetails: "block",
  stageLabel: "line",
  stageTitle: "line",
  recipientTitle: "line",
  deadlineWords: "line",
  deadlineShort: "line",
  previousStageLabel: "line",
  previousStageTitle: "line",
  previousRecipientTitle: "line",
  previousDeadlineWords: "line",
  previousDeadlineShort: "line",
  replyInstructions: "block",
  responseText: "multiline",
  dueActions: "block",
  actionDueShort: "line",
  referralName: "line",
  referralRecipientTitle: "line",
  referralRationale: "multiline",
  referralDocuments: "block",
  outcomeSummary: "multiline",
  practitionerName: "line",
  goodPracticeAbout: "line",
  goodPracticeSummary: "multiline",
} as const satisfies Record<string, VariableType>;

export type VariableName = keyof typeof VARIABLE_TYPES;

/** The only variables a subject may use: no names, no free text, no case-record ids. */
export const SUBJECT_VARIABLES: ReadonlySet<VariableName> = new Set<VariableName>([
  "reference",
  "authorityName",
  "raiserTitle",
  "planName",
  "teamName",
  "stageLabel",
  "stageTitle",
  "recipientTitle",
  "deadlineShort",
  "previousStageLabel",
  "previousRecipientTitle",
  "previousDeadlineShort",
  "actionDueShort",
  "referralName",
  "referralRecipientTitle",
]);

const CHALLENGE_VARIABLES = [
  "reference",
  "authorityName",
  "raiserTitle",
  "planName",
  "teamName",
  "socialWorkerName",
  "caseRecordId",
  "caseRecordSystem",
  "caseRecordUrl",
  "greetingName",
  "challengeDetails",
] as const satisfies readonly VariableName[];
const STAGE_VARIABLES = [
  "stageLabel",
  "stageTitle",
  "recipientTitle",
  "deadlineWords",
  "deadlineShort",
] as const satisfies readonly VariableName[];
const PREVIOUS_STAGE_VARIABLES = [
  "previousStageLabel",
  "previousStageTitle",
  "previousRecipientTitle",
  "previousDeadlineWords",
  "previousDeadlineShort",
] as const satisfies readonly VariableName[];

/** The variables each kind of email offers its templates. */
export const KIND_VARIABLES: Readonly<Record<NotificationKind, readonly VariableName[]>> = {
  stage_opened: [...CHALLENGE_VARIABLES, ...STAGE_VARIABLES, "replyInstructions"],
  stage_opened_copy: [...CHALLENGE_VARIABLES, ...STAGE_VARIABLES],
  reminder: [...CHALLENGE_VARIABLES, ...STAGE_VARIABLES, "replyInstructions"],
  auto_escalated: [
    ...CHALLENGE_VARIABLES,
    ...STAGE_VARIABLES,
    ...PREVIOUS_STAGE_VARIABLES,
    "replyInstructions",
  ],
  auto_escalated_previous: [...CHALLENGE_VARIABLES, ...STAGE_VARIABLES, ...PREVIOUS_STAGE_VARIABLES],
  response_received: [...CHALLENGE_VARIABLES, ...STAGE_VARIABLES, "responseText", "replyInstructions"],
  action_due: [...CHALLENGE_VARIABLES, "dueActions", "actionDueShort"],
  referral: [
    ...CHALLENGE_VARIABLES,
    "referralName",
    "referralRecipientTitle",
    "referralRationale",
    "referralDocuments",
  ],
  resolved: [...CHALLENGE_VARIABLES, "outcomeSummary"],
  closed: [...CHALLENGE_VARIABLES, "outcomeSummary"],
  good_practice: [
    "reference",
    "authorityName",
    "raiserTitle",
    "planName",
    "teamName",
    "practitionerName",
    "goodPracticeAbout",
    "goodPracticeSummary",
    "caseRecordId",
    "caseRecordUrl",
    "greetingName",
  ],
};

/**
 * What every body of a kind must keep, whatever a tenant's wording: the deadline, the link and
 * the seeds' alert contents where a decision is asked for, and the reply instructions wherever
 * the email can be answered (they name the words the inbound parser looks for).
 */
const REQUIRED_BODY_VARIABLES: Readonly<Record<NotificationKind, readonly VariableName[]>> = {
  stage_opened: ["deadlineWords", "challengeDetails", "caseRecordUrl", "replyInstructions"],
  stage_opened_copy: ["deadlineWords", "caseRecordUrl"],
  reminder: ["deadlineWords", "caseRecordUrl", "replyInstructions"],
  auto_escalated: ["deadlineWords", "challengeDetails", "caseRecordUrl", "replyInstructions"],
  auto_escalated_previous: ["caseRecordUrl"],
  response_received: ["responseText", "caseRecordUrl", "replyInstructions"],
  action_due: ["dueActions", "caseRecordUrl"],
  referral: ["referralRationale", "challengeDetails", "referralDocuments"],
  resolved: ["outcomeSummary", "caseRecordUrl"],
  closed: ["outcomeSummary", "caseRecordUrl"],
  good_practice: ["practitionerName", "goodPracticeSummary"],
};

// ---------------------------------------------------------------------------------------------
// Templates as data

const PLACEHOLDER = /\{\{\s*([A-Za-z][A-Za-z0-9]*)\s*\}\}/g;
const BLOCK_PARAGRAPH = /^\{\{\s*([A-Za-z][A-Za-z0-9]*)\s*\}\}$/;

const templateSchema = z.strictObject({
  subject: z
    .string()
    .trim()
    .min(1)
    .max(300)
    .refine((s) => !/[\r\n]/.test(s), "a subject is one line")
    .meta(
      about(
        "The subject: one line, carrying {{reference}}; only the subject variables (no child's name)",
        "Challenge {{reference}}: your response is needed by {{deadlineShort}}",
      ),
    ),
  body: z
    .string()
    .trim()
    .min(1)
    .max(20_000)
    .meta(
      about(
        "The body: paragraphs separated by blank lines, with {{placeholders}}; must keep the reply instructions and the case-record link",
        "Dear {{greetingName}},\n\n{{replyInstructions}}\n\n{{authorityName}}",
      ),
    ),
});
export type MailTemplate = z.infer<typeof templateSchema>;
export type TemplateSet = Readonly<Record<NotificationKind, MailTemplate>>;

function perKind<T>(value: T): Record<NotificationKind, T> {
  // Object.fromEntries cannot know its keys are exactly the kinds; they are, by construction.
  return Object.fromEntries(notificationKinds.map((kind) => [kind, value])) as Record<NotificationKind, T>;
}

function placeholdersIn(text: string): string[] {
  return [...text.matchAll(PLACEHOLDER)].map((m) => m[1] ?? "");
}

function isVariable(name: string): name is VariableName {
  return Object.hasOwn(VARIABLE_TYPES, name);
}

function checkTemplate(kind: NotificationKind, template: MailTemplate, ctx: z.RefinementCtx): void {
  const allowed = new Set<string>(KIND_VARIABLES[kind]);
  const issue = (field: "subject" | "body", message: string): void => {
    ctx.addIssue({ code: "custom", path: [kind, field], message });
  };

  for (const field of ["subject", "body"] as const) {
    const text = template[field];
    if (/\{\{|\}\}/.test(text.replace(PLACEHOLDER, ""))) {
      issue(field, "stray '{{' or '}}': placeholders are {{name}} with a letter-and-digit name");
    }
    for (const name of placeholdersIn(text)) {
      if (!allowed.has(name)) {
        issue(
          field,
          `{{${name}}} is not a variable of ${kind} emails; use one of: ${[...allowed].join(", ")}`,
        );
      } else if (field === "subject" && !(isVariable(name) && SUBJECT_VARIABLES.has(name))) {
        issue(field, `{{${name}}} cannot appear in a subject (only ${[...SUBJECT_VARIABLES].join(", ")})`);
      }
    }
  }
  if (!placeholdersIn(template.subject).includes("reference")) {
    issue("subject", "a subject must include {{reference}}");
  }
  const used = new Set(placeholdersIn(template.body));
  for (const required of REQUIRED_BODY_VARIABLES[kind]) {
    if (!used.has(required)) issue("body", `the body must include {{${required}}}`);
  }
  for (const paragraph of template.body.split(/\n[ \t]*\n/)) {
    const trimmed = paragraph.trim();
    for (const name of placeholdersIn(trimmed)) {
      if (isVariable(name) && VARIABLE_TYPES[name] === "block" && !BLOCK_PARAGRAPH.test(trimmed)) {
        issue("body", `{{${name}}} is a section: put it in a paragraph of its own`);
      }
    }
  }
}

/** A complete template set, every template checked against its kind's variables. */
export const templateSetSchema = z.strictObject(perKind(templateSchema)).superRefine((set, ctx) => {
  for (const kind of notificationKinds) checkTemplate(kind, set[kind], ctx);
});

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
};

/** A tenant's overrides: any subject or body of any kind; the rest comes from the defaults. */
export const templateOverridesSchema = z.strictObject(
  Object.fromEntries(
    notificationKinds.map((kind) => [
      kind,
      templateSchema
        .partial()
        .optional()
        .meta({
          description: `${NOTIFICATION_DESCRIPTIONS[kind]}: its subject or body; unset keeps the default`,
        }),
    ]),
  ) as Record<
    NotificationKind,
    z.ZodOptional<
      z.ZodObject<{
        [K in keyof typeof templateSchema.shape]: z.ZodOptional<(typeof templateSchema.shape)[K]>;
      }>
    >
  >,
);
export type TemplateOverrides = z.infer<typeof templateOverridesSchema>;

const REPLY_PARAGRAPH = "{{replyInstructions}}";
const LINK_PARAGRAPH = "Case record ({{caseRecordSystem}} {{caseRecordId}}): {{caseRecordUrl}}";

export const DEFAULT_TEMPLATES: TemplateSet = {
  stage_opened: {
    subject:
      "Challenge {{reference}} needs your response by {{deadlineShort}} ({{stageLabel}}, {{recipientTitle}})",
    body: [
      "Dear {{greetingName}},",
      "The {{raiserTitle}} has raised a challenge about a child's {{planName}}. It is now with you, as {{recipientTitle}}, at {{stageLabel}}: {{stageTitle}}.",
      "Please respond by {{deadlineWords}}.",
      "{{challengeDetails}}",
      LINK_PARAGRAPH,
      REPLY_PARAGRAPH,
      "{{authorityName}}",
    ].join("\n\n"),
  },
  stage_opened_copy: {
    subject: "For information: challenge {{reference}} is with the {{recipientTitle}} ({{stageLabel}})",
    body: [
      "Dear {{greetingName}},",
      "For your information: the {{raiserTitle}} has raised a challenge about a child's {{planName}} in {{teamName}}. It is with the {{recipientTitle}} at {{stageLabel}}: {{stageTitle}}, who is asked to respond by {{deadlineWords}}.",
      "{{challengeDetails}}",
      LINK_PARAGRAPH,
      "You have been copied in under the protocol. Replies to this email are not recorded against the challenge.",
      "{{authorityName}}",
    ].join("\n\n"),
  },
  reminder: {
    subject:
      "Reminder: challenge {{reference}} needs your response by {{deadlineShort}} ({{stageLabel}}, {{recipientTitle}})",
    body: [
      "Dear {{greetingName}},",
      "This is a reminder that challenge {{reference}} ({{stageLabel}}: {{stageTitle}}) needs your response by {{deadlineWords}}. If there is no response by then, the protocol's next step follows.",
      "{{challengeDetails}}",
      LINK_PARAGRAPH,
      REPLY_PARAGRAPH,
      "{{authorityName}}",
    ].join("\n\n"),
  },
  auto_escalated: {
    subject:
      "Challenge {{reference}} escalated to you: response needed by {{deadlineShort}} ({{stageLabel}}, {{recipientTitle}})",
    body: [
      "Dear {{greetingName}},",
      "Challenge {{reference}} about a child's {{planName}} had no response at {{previousStageLabel}} ({{previousRecipientTitle}}) by {{previousDeadlineWords}}. Under the protocol it has moved to {{stageLabel}}: {{stageTitle}}, and is now with you as {{recipientTitle}}.",
      "Please respond by {{deadlineWords}}.",
      "{{challengeDetails}}",
      LINK_PARAGRAPH,
      REPLY_PARAGRAPH,
      "{{authorityName}}",
    ].join("\n\n"),
  },
  auto_escalated_previous: {
    subject: "Challenge {{reference}} has moved to {{stageLabel}}: no response by {{previousDeadlineShort}}",
    body: [
      "Dear {{greetingName}},",
      "Challenge {{reference}} was with you at {{previousStageLabel}}: {{previousStageTitle}}. No response was recorded by {{previousDeadlineWords}}, so under the protocol it has moved to {{stageLabel}} and is now with the {{recipientTitle}}.",
      "Replies to the earlier email are no longer recorded. If you have information that would help, please contact the {{raiserTitle}} or add it to the case record.",
      LINK_PARAGRAPH,
      "{{authorityName}}",
    ].join("\n\n"),
  },
  response_received: {
    subject: "Response received: challenge {{reference}} ({{stageLabel}}, {{recipientTitle}})",
    body: [
      "Dear {{greetingName}},",
      "The {{recipientTitle}} has responded to challenge {{reference}} at {{stageLabel}}: {{stageTitle}}.",
      "Their response:\n{{responseText}}",
      LINK_PARAGRAPH,
      REPLY_PARAGRAPH,
      "{{authorityName}}",
    ].join("\n\n"),
  },
  action_due: {
    subject: "Agreed actions due by {{actionDueShort}}: challenge {{reference}}",
    body: [
      "Dear {{greetingName}},",
      "The date agreed for the actions below, from the action plan for challenge {{reference}} about a child's {{planName}}, has passed, and they are not yet recorded as done or not done.",
      "{{dueActions}}",
      "Please record on the case record whether each was done. If an action was not done, the challenge can be reopened at the stage it last left.",
      LINK_PARAGRAPH,
      "{{authorityName}}",
    ].join("\n\n"),
  },
  referral: {
    subject: "Referral to {{referralName}}: challenge {{reference}}",
    body: [
      "Dear {{greetingName}},",
      "The {{raiserTitle}} for {{authorityName}} is referring challenge {{reference}}, about a child's {{planName}}, to {{referralName}} ({{referralRecipientTitle}}).",
      "Why the referral is being made:\n{{referralRationale}}",
      "{{challengeDetails}}",
      "{{referralDocuments}}",
      "The documents follow through the authority's secure route. Please quote {{reference}} in any reply.",
      "{{authorityName}}",
    ].join("\n\n"),
  },
  resolved: {
    subject: "Challenge {{reference}} resolved",
    body: [
      "Dear {{greetingName}},",
      "Challenge {{reference}} about a child's {{planName}} has been resolved.",
      "Summary:\n{{outcomeSummary}}",
      LINK_PARAGRAPH,
      "{{authorityName}}",
    ].join("\n\n"),
  },
  closed: {
    subject: "Challenge {{reference}} closed",
    body: [
      "Dear {{greetingName}},",
      "Challenge {{reference}} about a child's {{planName}} has been closed.",
      "Summary:\n{{outcomeSummary}}",
      LINK_PARAGRAPH,
      "{{authorityName}}",
    ].join("\n\n"),
  },
  good_practice: {
    subject: "Good practice notification {{reference}} ({{teamName}})",
    body: [
      "Dear {{greetingName}},",
      "The {{raiserTitle}} has recognised good practice by {{practitionerName}} ({{teamName}}) in {{goodPracticeAbout}}, and asked that you, as their first line manager, know about it.",
      "What was good:\n{{goodPracticeSummary}}",
      "Case record {{caseRecordId}}: {{caseRecordUrl}}",
      "{{authorityName}}",
    ].join("\n\n"),
  },
};

/**
 * A tenant's template set: the defaults with the tenant's overrides laid over them, all checked.
 * Throws a ZodError whose paths name the kind and field at fault.
 */
export function resolveTemplates(overrides: unknown = {}): TemplateSet {
  return templateSetSchema.parse(withDefaults(templateOverridesSchema.parse(overrides)));
}

function withDefaults(overrides: TemplateOverrides): Record<NotificationKind, MailTemplate | undefined> {
  const merged = perKind<MailTemplate | undefined>(undefined);
  for (const kind of notificationKinds) merged[kind] = { ...DEFAULT_TEMPLATES[kind], ...overrides[kind] };
  return merged;
}

/**
 * A tenant's overrides as stored in its configuration: refused at the door when, merged with the
 * defaults, any template would break the rules (unknown placeholders, a subject without the
 * reference, a body without the reply instructions or link), so a bad wording is never stored.
 */
export const storedTemplateOverridesSchema = templateOverridesSchema.superRefine((overrides, ctx) => {
  const result = templateSetSchema.safeParse(withDefaults(overrides));
  if (!result.success) {
    for (const issue of result.error.issues)
      ctx.addIssue({ code: "custom", path: issue.path, message: issue.message });
  }
});

// ---------------------------------------------------------------------------------------------
// Dates in words: the domain's one wording (London time), re-exported for the notifications.

export { dateInWords, deadlineInWords, shortDate } from "../domain/dates-in-words.js";

// ---------------------------------------------------------------------------------------------
// Rendering

type Value =
  | { readonly type: "line" | "multiline"; readonly value: string }
  | { readonly type: "url"; readonly value: string }
  | { readonly type: "block"; readonly text: string; readonly html: string };

type Variables = Partial<Record<VariableName, Value>>;

/** Free text as one list item: line breaks become spaces. */
const oneLine = (text: string): string => text.replace(/\s+/g, " ").trim();
const multilineHtml = (text: string): string => escapeHtml(text).replace(/\r?\n/g, "<br>\n");
const line = (value: string): Value => ({ type: "line", value });
const multiline = (value: string): Value => ({
  type: "multiline",
  value: value.replace(/\r\n?/g, "\n").trim(),
});

export interface RenderOptions {
  /** The case-record system's address for a record; the case-record id is appended (URL-encoded). */
  readonly caseRecordBaseUrl: string;
  /** The tenant's templates ({@link resolveTemplates}); the defaults otherwise. */
  readonly templates?: TemplateSet;
}

/** `caseRecordBaseUrl` + the encoded id; a "/" is added unless the base already ends in "/", "=" or "#". */
export function caseRecordUrl(baseUrl: string, caseRecordId: string): string {
  const separator = /[/=#]$/.test(baseUrl) ? "" : "/";
  const url = `${baseUrl}${separator}${encodeURIComponent(caseRecordId)}`;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`caseRecordBaseUrl must be an absolute http(s) URL, got "${baseUrl}"`);
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") {
    throw new Error(`caseRecordBaseUrl must be an http(s) URL, got "${baseUrl}"`);
  }
  return url;
}

/** The reference people and subjects use for a challenge. */
export function challengeReference(challengeId: string): string {
  return `CR-${challengeId}`;
}

/** The reference of a good practice notification. */
export function goodPracticeReference(id: string): string {
  return `GP-${id}`;
}

function section(headingsAndText: readonly (readonly [string, string])[]): Value {
  const present = headingsAndText.filter(([, text]) => text.trim() !== "");
  return {
    type: "block",
    text: present.map(([heading, text]) => `${heading}\n${text.trim()}`).join("\n\n"),
    html: present
      .map(([heading, text]) => `<h3>${escapeHtml(heading)}</h3>\n<p>${multilineHtml(text.trim())}</p>`)
      .join("\n"),
  };
}

function list(heading: string, intro: string, items: readonly string[]): Value {
  return {
    type: "block",
    text: [heading, intro, ...items.map((item) => `- ${item}`)].join("\n"),
    html: [
      `<h3>${escapeHtml(heading)}</h3>`,
      `<p>${escapeHtml(intro)}</p>`,
      "<ul>",
      ...items.map((item) => `<li>${escapeHtml(item)}</li>`),
      "</ul>",
    ].join("\n"),
  };
}

/** The seeds' contents of an alert (002: "For all alerts…"; 001's form; 004's level forms). */
function challengeDetails(form: ChallengeForm): Value {
  return section([
    ["What is not working well, and what we are worried about", form.worries],
    ["What has been done so far to resolve it", form.actionsTaken],
    ["The impact, or likely impact, on the child if it is not resolved", form.impactOnChild],
    ["The child's views", form.childViews],
    ["What needs to happen", form.whatNeedsToHappen],
    ["The outcome sought for the child", form.desiredOutcome],
    ["Timescale for resolution", form.timescale],
    [
      "The child's plan",
      [
        `Team: ${form.team.name}`,
        `Team manager: ${form.teamManagerName}`,
        `Social worker: ${form.socialWorker.name}`,
        ...(form.partnerAgency ? [`Partner agency: ${form.partnerAgency.name}`] : []),
        ...(form.immediateRisk
          ? ["The raiser has said the child is at immediate risk of significant harm."]
          : []),
      ].join("\n"),
    ],
  ]);
}

function assigneeReplyInstructions(raiserTitle: string): Value {
  return list("How to answer by email", "Reply to this email:", [
    "Write your response above the quoted text. It is recorded as your response to the challenge.",
    "To acknowledge the challenge without responding yet, reply with ACK as the first word. Nothing else in that reply is recorded.",
    `The ${raiserTitle} decides whether your response resolves the challenge, or escalates it.`,
    "Replies are recorded only from the address this email was sent to, and only while the challenge is at this stage. Do not forward this email: replies to forwarded copies are not recorded.",
    "You can also respond on the case record.",
  ]);
}

function raiserReplyInstructions(
  nextStage: { readonly label: string; readonly recipientTitle: string } | null,
): Value {
  const escalateTo = nextStage
    ? `to move the challenge to ${nextStage.label} (${nextStage.recipientTitle})`
    : "to record that the last stage has not resolved it";
  return list("How to answer by email", "Reply to this email with one of these words first:", [
    "RESOLVED, followed by a short summary, if the response resolves the challenge.",
    `ESCALATE, followed by your reasons why the response is not satisfactory, ${escalateTo}.`,
    "Replies without one of these words are not recorded. You can also act on the case record.",
  ]);
}

const PLAN_NAMES = { CP: "child protection plan", LAC: "care plan" } as const;

const REFERRAL_NAMES: Record<ReferralKind, string> = {
  cafcass: "Cafcass",
  partnership: "the safeguarding children partnership",
};

function challengeVariables(challenge: ChallengeFacts, greeting: string, baseUrl: string): Variables {
  const { form } = challenge;
  return {
    reference: line(challengeReference(challenge.challengeId)),
    authorityName: line(challenge.authorityName),
    raiserTitle: line(challenge.raiserTitle),
    planName: line(PLAN_NAMES[form.track]),
    teamName: line(form.team.name),
    socialWorkerName: line(form.socialWorker.name),
    caseRecordId: line(form.child.caseRecordId),
    caseRecordSystem: line(form.child.caseRecordSystem),
    caseRecordUrl: { type: "url", value: caseRecordUrl(baseUrl, form.child.caseRecordId) },
    greetingName: line(greeting),
    challengeDetails: challengeDetails(form),
  };
}

function stageVariables(stage: StageFacts): Variables {
  return {
    stageLabel: line(stage.label),
    stageTitle: line(stage.title),
    recipientTitle: line(stage.recipientTitle),
    deadlineWords: line(deadlineInWords(stage.deadline)),
    deadlineShort: line(shortDate(stage.deadline)),
  };
}

function previousStageVariables(stage: StageFacts): Variables {
  return {
    previousStageLabel: line(stage.label),
    previousStageTitle: line(stage.title),
    previousRecipientTitle: line(stage.recipientTitle),
    previousDeadlineWords: line(deadlineInWords(stage.deadline)),
    previousDeadlineShort: line(shortDate(stage.deadline)),
  };
}

function variablesFor(n: Notification, baseUrl: string): Variables {
  const name = n.recipientName?.trim();
  switch (n.kind) {
    case "good_practice": {
      const g = n.goodPractice.notification;
      const planName = PLAN_NAMES[g.track];
      const team = g.partnerAgency
        ? `${g.practitioner.team.name}, ${g.partnerAgency.name}`
        : g.practitioner.team.name;
      return {
        reference: line(goodPracticeReference(g.id)),
        authorityName: line(n.goodPractice.authorityName),
        raiserTitle: line(n.goodPractice.raiserTitle),
        planName: line(planName),
        teamName: line(team),
        practitionerName: line(g.practitioner.name),
        goodPracticeAbout: line(
          g.about === "piece_of_work"
            ? `a piece of work within a child's ${planName}`
            : g.about === "overall_progress"
              ? `the overall progress of a child's ${planName}`
              : `work on a child's ${planName}`,
        ),
        goodPracticeSummary: multiline(g.whatWasGood),
        caseRecordId: line(g.child.caseRecordId),
        caseRecordUrl: { type: "url", value: caseRecordUrl(baseUrl, g.child.caseRecordId) },
        greetingName: line(name || g.firstLineManager.name),
      };
    }
    case "stage_opened":
    case "reminder":
      return {
        ...challengeVariables(n.challenge, name || n.stage.recipientTitle, baseUrl),
        ...stageVariables(n.stage),
        replyInstructions: assigneeReplyInstructions(n.challenge.raiserTitle),
      };
    case "stage_opened_copy":
      return {
        ...challengeVariables(n.challenge, name || "colleague", baseUrl),
        ...stageVariables(n.stage),
      };
    case "auto_escalated":
      return {
        ...challengeVariables(n.challenge, name || n.stage.recipientTitle, baseUrl),
        ...stageVariables(n.stage),
        ...previousStageVariables(n.previousStage),
        replyInstructions: assigneeReplyInstructions(n.challenge.raiserTitle),
      };
    case "auto_escalated_previous":
      return {
        ...challengeVariables(n.challenge, name || n.previousStage.recipientTitle, baseUrl),
        ...stageVariables(n.stage),
        ...previousStageVariables(n.previousStage),
      };
    case "response_received":
      return {
        ...challengeVariables(n.challenge, name || n.challenge.raiserTitle, baseUrl),
        ...stageVariables(n.stage),
        responseText: multiline(n.response),
        replyInstructions: raiserReplyInstructions(n.nextStage),
      };
    case "action_due": {
      // The subject's date: the latest of them, so "due by" is true of every action listed.
      const latest = n.actions
        .map((a) => a.byWhen)
        .sort()
        .at(-1);
      return {
        ...challengeVariables(n.challenge, name || n.challenge.raiserTitle, baseUrl),
        dueActions: list(
          n.actions.length === 1 ? "The action" : "The actions",
          "What was agreed, by whom, and by when:",
          n.actions.map((a) => `${oneLine(a.action)} (by ${a.byWhom}, by ${dateInWords(a.byWhen)})`),
        ),
        actionDueShort: line(latest === undefined ? "" : shortDate(latest)),
      };
    }
    case "referral":
      return {
        ...challengeVariables(n.challenge, name || n.referral.recipientTitle, baseUrl),
        referralName: line(REFERRAL_NAMES[n.referral.kind]),
        referralRecipientTitle: line(n.referral.recipientTitle),
        referralRationale: multiline(n.referral.rationale),
        referralDocuments: list(
          "Documents",
          n.referral.documents.length > 0
            ? "These documents accompany the referral:"
            : "No documents are listed for this referral.",
          n.referral.documents,
        ),
      };
    case "resolved":
    case "closed":
      return {
        ...challengeVariables(n.challenge, name || "colleague", baseUrl),
        outcomeSummary: multiline(n.summary),
      };
  }
}

function lookup(variables: Variables, name: string, kind: NotificationKind): Value {
  const value = isVariable(name) ? variables[name] : undefined;
  if (value === undefined) throw new Error(`template for ${kind} uses {{${name}}}, which it does not offer`);
  return value;
}

function textOf(value: Value): string {
  return value.type === "block" ? value.text : value.value;
}

function htmlOf(value: Value): string {
  switch (value.type) {
    case "line":
      return escapeHtml(value.value);
    case "multiline":
      return multilineHtml(value.value);
    case "url":
      return `<a href="${escapeHtml(value.value)}">${escapeHtml(value.value)}</a>`;
    case "block":
      return value.html;
  }
}

function renderSubject(template: string, variables: Variables, kind: NotificationKind): string {
  return (
    template
      .replace(PLACEHOLDER, (_, name: string) => textOf(lookup(variables, name, kind)))
      // One line, no control characters: a subject is a header, and a line break would start another.
      .replace(/[\p{Cc}\u2028\u2029]+/gu, " ")
      .replace(/\s+/g, " ")
      .trim()
  );
}

function renderText(template: string, variables: Variables, kind: NotificationKind): string {
  const text = template.replace(PLACEHOLDER, (_, name: string) => textOf(lookup(variables, name, kind)));
  return `${text.replace(/\n{3,}/g, "\n\n").trim()}\n`;
}

function renderHtml(template: string, subject: string, variables: Variables, kind: NotificationKind): string {
  const paragraphs = template
    .split(/\n[ \t]*\n/)
    .map((p) => p.trim())
    .filter((p) => p !== "")
    .map((paragraph) => {
      const alone = BLOCK_PARAGRAPH.exec(paragraph);
      const only = alone?.[1] !== undefined ? lookup(variables, alone[1], kind) : undefined;
      if (only?.type === "block") return only.html;
      const lines = paragraph.split("\n").map((lineText) => {
        let out = "";
        let last = 0;
        for (const match of lineText.matchAll(PLACEHOLDER)) {
          out += escapeHtml(lineText.slice(last, match.index));
          out += htmlOf(lookup(variables, match[1] ?? "", kind));
          last = match.index + match[0].length;
        }
        return out + escapeHtml(lineText.slice(last));
      });
      return `<p>${lines.join("<br>\n")}</p>`;
    });
  return [
    "<!doctype html>",
    '<html lang="en-GB">',
    '<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(subject)}</title></head>`,
    '<body style="font-family: Arial, sans-serif; font-size: 16px; line-height: 1.5; color: #0b0c0c;">',
    ...paragraphs,
    "</body>",
    "</html>",
    "",
  ].join("\n");
}

/** Renders one email. Pure: the same notification and templates always give the same bytes. */
export function renderEmail(notification: Notification, options: RenderOptions): RenderedEmail {
  const template = (options.templates ?? DEFAULT_TEMPLATES)[notification.kind];
  const variables = variablesFor(notification, options.caseRecordBaseUrl);
  const subject = renderSubject(template.subject, variables, notification.kind);
  return {
    subject,
    text: renderText(template.body, variables, notification.kind),
    html: renderHtml(template.body, subject, variables, notification.kind),
  };
}
