import * as z from "zod/mini";
import {
  type MailTemplate,
  type NotificationKind,
  notificationKinds,
  perKind,
  templateOverridesSchema,
  templateSchema,
} from "./email-template-overrides.js";

export {
  type MailTemplate,
  type NotificationKind,
  type TemplateOverrides,
  type TemplateSet,
  notificationKinds,
  templateOverridesSchema,
} from "./email-template-overrides.js";

/**
 * What an authority may word in its emails, and the rules every wording keeps: the template keys
 * (one per kind of email) and the overrides' shape (email-template-overrides.ts, re-exported here),
 * the `{{placeholder}}` variables each kind offers, and the checks a template passes before it is
 * stored or used. The default wordings and the rendering live with the mail
 * (functions/mail/templates.ts); the tenant configuration stores overrides checked here when it is
 * written (store/tenant-config-input.ts), so storing a configuration needs none of the default text,
 * and reading one needs none of the rules.
 *
 * Templates are plain text with `{{placeholder}}`s drawn from a fixed set of variables per kind;
 * there is no logic and no code. Each variable has a type that decides how it is escaped:
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

/** The reference people and subjects use for a challenge. */
export function challengeReference(challengeId: string): string {
  return `CR-${challengeId}`;
}

/** The reference of a good practice notification. */
export function goodPracticeReference(id: string): string {
  return `GP-${id}`;
}

// ---------------------------------------------------------------------------------------------
// Variables

export type VariableType = "line" | "multiline" | "url" | "block";

export const VARIABLE_TYPES = {
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
  /** raiser_alerted: "No response by the deadline", after "Your decision needed: " when a decision is asked for. */
  alertHeadline: "line",
  /** raiser_alerted: "had no response from the Service Manager" or "was answered by … but not resolved". */
  alertSituation: "line",
  /** raiser_alerted: what the raiser is asked to do, and by when when the protocol sets a time. */
  alertNextStep: "line",
  /** ladder_exhausted: "had no response" or "had no resolution". */
  ladderOutcome: "line",
  /** action_plan_agreed: the agreed actions, by whom and by when. */
  agreedActions: "block",
  /** referral_approval: the protocol's title of the person asked to approve. */
  approverTitle: "line",
  /** undeliverable: the protocol's title of the person the failed email was for. */
  undeliveredRecipientTitle: "line",
  /** undeliverable: what happened to it, e.g. "could not be delivered: their mail system refused it". */
  undeliverableWords: "line",
  /** auto_escalated_raiser: the timer's reasons, as recorded on the escalation. */
  escalationReasons: "multiline",
  /** stage_reassigned: why and until when the recipient is away, e.g. "is recorded as away until Friday 4 December 2026". */
  absenceWords: "line",
  /** deadline_shortened: why a response is needed more quickly. */
  shortenedReason: "multiline",
  /** decision_requested, decision_recorded: the protocol's title of the person who decides after the last stage. */
  deciderTitle: "line",
  /** decision_requested: when the decision is due, in words. */
  decisionDueWords: "line",
  /** decision_requested: the protocol's sentence that names the decision. */
  decisionCitation: "line",
  /** decision_recorded: "upheld" or "not upheld". */
  decisionOutcome: "line",
  /** decision_recorded: the decider's reasons. */
  decisionReasons: "multiline",
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
  "alertHeadline",
  "ladderOutcome",
  "approverTitle",
  "deadlineWords",
  "deciderTitle",
  "decisionDueWords",
  "decisionOutcome",
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
  raiser_alerted: [
    ...CHALLENGE_VARIABLES,
    ...STAGE_VARIABLES,
    "alertHeadline",
    "alertSituation",
    "alertNextStep",
  ],
  ladder_exhausted: [...CHALLENGE_VARIABLES, ...STAGE_VARIABLES, "ladderOutcome"],
  action_plan_agreed: [...CHALLENGE_VARIABLES, ...STAGE_VARIABLES, "agreedActions"],
  referral_approval: [
    ...CHALLENGE_VARIABLES,
    "referralName",
    "referralRecipientTitle",
    "referralRationale",
    "approverTitle",
  ],
  undeliverable: [...CHALLENGE_VARIABLES, "undeliveredRecipientTitle", "undeliverableWords"],
  auto_escalated_raiser: [
    ...CHALLENGE_VARIABLES,
    ...STAGE_VARIABLES,
    ...PREVIOUS_STAGE_VARIABLES,
    "escalationReasons",
  ],
  stage_reassigned: [...CHALLENGE_VARIABLES, ...STAGE_VARIABLES, "absenceWords"],
  deadline_shortened: [
    ...CHALLENGE_VARIABLES,
    ...STAGE_VARIABLES,
    "previousDeadlineWords",
    "shortenedReason",
  ],
  decision_requested: [...CHALLENGE_VARIABLES, "deciderTitle", "decisionDueWords", "decisionCitation"],
  decision_recorded: [...CHALLENGE_VARIABLES, "deciderTitle", "decisionOutcome", "decisionReasons"],
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
  raiser_alerted: ["alertSituation", "alertNextStep", "caseRecordUrl"],
  ladder_exhausted: ["ladderOutcome", "caseRecordUrl"],
  action_plan_agreed: ["agreedActions", "caseRecordUrl"],
  referral_approval: ["referralRationale", "approverTitle", "caseRecordUrl"],
  undeliverable: ["undeliveredRecipientTitle", "undeliverableWords", "caseRecordUrl"],
  auto_escalated_raiser: ["stageLabel", "deadlineWords", "escalationReasons", "caseRecordUrl"],
  stage_reassigned: ["absenceWords", "deadlineWords", "caseRecordUrl"],
  deadline_shortened: ["deadlineWords", "shortenedReason", "caseRecordUrl"],
  decision_requested: ["decisionDueWords", "decisionCitation", "caseRecordUrl"],
  decision_recorded: ["decisionOutcome", "decisionReasons", "caseRecordUrl"],
};

// ---------------------------------------------------------------------------------------------
// Templates as data

/** A `{{name}}` placeholder (global: use with matchAll or replace). */
export const PLACEHOLDER = /\{\{\s*([A-Za-z][A-Za-z0-9]*)\s*\}\}/g;
/** A paragraph that is one placeholder and nothing else (where a block variable must stand). */
export const BLOCK_PARAGRAPH = /^\{\{\s*([A-Za-z][A-Za-z0-9]*)\s*\}\}$/;

function placeholdersIn(text: string): string[] {
  return [...text.matchAll(PLACEHOLDER)].map((m) => m[1] ?? "");
}

export function isVariable(name: string): name is VariableName {
  return Object.hasOwn(VARIABLE_TYPES, name);
}

/**
 * Checks the fields a template has against its kind's rules. Every rule is about one field (the
 * subject's variables and reference; the body's variables, required variables and sections), so
 * an override of one field is checked alone and the other keeps the default, which passes.
 */
function checkTemplate(
  kind: NotificationKind,
  template: Partial<MailTemplate>,
  ctx: z.core.$RefinementCtx,
): void {
  const allowed = new Set<string>(KIND_VARIABLES[kind]);
  const issue = (field: "subject" | "body", message: string): void => {
    ctx.addIssue({ code: "custom", path: [kind, field], message });
  };

  for (const field of ["subject", "body"] as const) {
    const text = template[field];
    if (text === undefined) continue;
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
  if (template.subject !== undefined && !placeholdersIn(template.subject).includes("reference")) {
    issue("subject", "a subject must include {{reference}}");
  }
  if (template.body === undefined) return;
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
export const templateSetSchema = z.strictObject(perKind(templateSchema)).check(
  z.superRefine((set, ctx) => {
    for (const kind of notificationKinds) checkTemplate(kind, set[kind], ctx);
  }),
);

/**
 * A tenant's overrides as a configuration write takes them (store/tenant-config-input.ts): refused at
 * the door when any overriding subject or body breaks the rules (unknown placeholders, a subject
 * without the reference, a body without the reply instructions or link), so a bad wording is never stored.
 */
export const storedTemplateOverridesSchema = templateOverridesSchema.check(
  z.superRefine((overrides, ctx) => {
    for (const kind of notificationKinds) {
      const override = overrides[kind];
      if (override !== undefined) checkTemplate(kind, override, ctx);
    }
  }),
);
