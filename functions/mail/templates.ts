import { dateInWords, deadlineInWords, shortDate } from "../domain/dates-in-words.js";
import type { ChallengeForm, ReferralKind } from "../domain/challenge/commands.js";
import type {
  DeadlineSituation,
  ReassignedBecause,
  SmartAction,
  TimedOutBecause,
  UndeliverableReason,
} from "../domain/challenge/events.js";
import { timedOutWords } from "../domain/challenge/timer.js";
import { UNDELIVERABLE_WORDS } from "../domain/email-undeliverable.js";
import type { GoodPracticeNotification } from "../domain/good-practice.js";
import { escapeHtml } from "../shared/html.js";
import {
  BLOCK_PARAGRAPH,
  type MailTemplate,
  type NotificationKind,
  PLACEHOLDER,
  type TemplateOverrides,
  type TemplateSet,
  type VariableName,
  challengeReference,
  goodPracticeReference,
  isVariable,
  notificationKinds,
  templateOverridesSchema,
  templateSetSchema,
} from "../domain/email-templates.js";

/**
 * The wording of the emails the service sends, and their rendering as `{ subject, text, html }`.
 *
 * Wording is data: a default template per kind (here), and per-tenant overrides of any subject or
 * body, stored in the tenant configuration and checked against the rules in
 * functions/domain/email-templates.ts (the keys, the variables each kind offers and how each is
 * escaped, what every body must keep). Substitution is one pass (a value containing `{{x}}` stays
 * literal). Who is sent which kind, for each event, is the plan (notifications.ts).
 */

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
    | {
        /** To the raiser: a stage's deadline passed without a response or a resolution. */
        readonly kind: "raiser_alerted";
        readonly challenge: ChallengeFacts;
        readonly stage: StageFacts;
        /** What was missing at the deadline. */
        readonly reason: DeadlineSituation;
        /** When the raiser was asked to decide by (the protocol's ask_raiser rule); absent: theirs to decide. */
        readonly decideBy?: string;
        /** The stage is the informal stage: resolving it or opening the formal stage is the choice. */
        readonly informal: boolean;
      }
    | {
        /** To the raiser: the last stage's deadline passed (the ladder is exhausted). */
        readonly kind: "ladder_exhausted";
        readonly challenge: ChallengeFacts;
        readonly stage: StageFacts;
        readonly timedOut?: TimedOutBecause;
      }
    | {
        /** To the raiser and the stage's recipient. */
        readonly kind: "action_plan_agreed";
        readonly challenge: ChallengeFacts;
        readonly stage: StageFacts;
        readonly actions: readonly SmartAction[];
      }
    | {
        /** To a person the protocol asks to approve a referral. */
        readonly kind: "referral_approval";
        readonly challenge: ChallengeFacts;
        readonly referral: {
          readonly kind: ReferralKind;
          readonly recipientTitle: string;
          readonly rationale: string;
          readonly approverTitle: string;
        };
      }
    | {
        /** To the raiser: an email about their challenge could not be delivered. */
        readonly kind: "undeliverable";
        readonly challenge: ChallengeFacts;
        /** The protocol's title of the person the failed email was for, e.g. "Service Manager". */
        readonly recipientTitle: string;
        readonly reason: UndeliverableReason;
      }
    | {
        /** To the raiser: the timer escalated the challenge onto the next stage. */
        readonly kind: "auto_escalated_raiser";
        readonly challenge: ChallengeFacts;
        /** The stage left. */
        readonly previousStage: StageFacts;
        /** The stage opened. */
        readonly stage: StageFacts;
        /** The timer's reasons, as recorded on the Escalated event. */
        readonly reasons: string;
      }
    | {
        /** To the raiser: the stage passed to the named cover of a recipient who is away. */
        readonly kind: "stage_reassigned";
        readonly challenge: ChallengeFacts;
        /** The stage, as addressed to the absent recipient's role; its deadline unchanged. */
        readonly stage: StageFacts;
        readonly because: ReassignedBecause;
        /** The absence's last day (YYYY-MM-DD); absent: no end was stated. */
        readonly absentUntil?: string;
      }
    | {
        /** To the stage's recipient: its deadline was brought forward. */
        readonly kind: "deadline_shortened";
        readonly challenge: ChallengeFacts;
        /** The stage, with its new deadline. */
        readonly stage: StageFacts;
        readonly previousDeadline: string;
        readonly reason: string;
      }
    | {
        /** To the person who decides after the last stage (copied to the raiser). */
        readonly kind: "decision_requested";
        readonly challenge: ChallengeFacts;
        readonly deciderTitle: string;
        readonly dueBy: string;
        /** The protocol's sentence that names the decision. */
        readonly citation: string;
      }
    | {
        /** To the raiser: the decision after the last stage. */
        readonly kind: "decision_recorded";
        readonly challenge: ChallengeFacts;
        readonly deciderTitle: string;
        readonly upheld: boolean;
        readonly reasons: string;
      }
  );

export interface RenderedEmail {
  readonly subject: string;
  readonly text: string;
  readonly html: string;
}

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
  raiser_alerted: {
    subject: "{{alertHeadline}}: challenge {{reference}} ({{stageLabel}}, {{recipientTitle}})",
    body: [
      "Dear {{greetingName}},",
      "Challenge {{reference}} about a child's {{planName}} {{alertSituation}} at {{stageLabel}}: {{stageTitle}} by {{deadlineWords}}.",
      "{{alertNextStep}}",
      LINK_PARAGRAPH,
      "{{authorityName}}",
    ].join("\n\n"),
  },
  ladder_exhausted: {
    subject: "Every stage tried: challenge {{reference}} {{ladderOutcome}} at {{stageLabel}}",
    body: [
      "Dear {{greetingName}},",
      "Challenge {{reference}} about a child's {{planName}} {{ladderOutcome}} from the {{recipientTitle}} at {{stageLabel}}: {{stageTitle}} by {{deadlineWords}}. That was the last stage of the protocol.",
      "Please decide what happens next on the case record: a referral, where the protocol provides one, noting a difference, or closing the challenge.",
      LINK_PARAGRAPH,
      "{{authorityName}}",
    ].join("\n\n"),
  },
  action_plan_agreed: {
    subject: "Action plan agreed: challenge {{reference}} ({{stageLabel}})",
    body: [
      "Dear {{greetingName}},",
      "An action plan has been agreed for challenge {{reference}} at {{stageLabel}}: {{stageTitle}}.",
      "{{agreedActions}}",
      "Whether each action was done is recorded on the case record. If an action is missed, the challenge can be reopened at the stage it last left.",
      LINK_PARAGRAPH,
      "{{authorityName}}",
    ].join("\n\n"),
  },
  referral_approval: {
    subject: "Approval needed: referral to {{referralName}}, challenge {{reference}}",
    body: [
      "Dear {{greetingName}},",
      "The {{raiserTitle}} has asked for challenge {{reference}}, about a child's {{planName}}, to be referred to {{referralName}} ({{referralRecipientTitle}}). Under the protocol the referral needs the approval of the {{approverTitle}} before it is made.",
      "Why the referral is requested:\n{{referralRationale}}",
      "Please record your decision on the case record.",
      LINK_PARAGRAPH,
      "{{authorityName}}",
    ].join("\n\n"),
  },
  undeliverable: {
    subject: "Email not delivered: challenge {{reference}}",
    body: [
      "Dear {{greetingName}},",
      "An email about challenge {{reference}} to the {{undeliveredRecipientTitle}} {{undeliverableWords}}. They may not know that the challenge is waiting for them.",
      "Please contact them another way, and ask the service administrator to check their address in the staff directory.",
      LINK_PARAGRAPH,
      "{{authorityName}}",
    ].join("\n\n"),
  },
  auto_escalated_raiser: {
    subject: "Escalated automatically: challenge {{reference}} is now at {{stageLabel}} ({{recipientTitle}})",
    body: [
      "Dear {{greetingName}},",
      "Challenge {{reference}} about a child's {{planName}} has escalated automatically from {{previousStageLabel}}: {{previousStageTitle}} to {{stageLabel}}: {{stageTitle}}. The {{recipientTitle}} has been asked to respond by {{deadlineWords}}.",
      "Why:\n{{escalationReasons}}",
      LINK_PARAGRAPH,
      "{{authorityName}}",
    ].join("\n\n"),
  },
  stage_reassigned: {
    subject: "Passed to cover: challenge {{reference}} ({{stageLabel}}, {{recipientTitle}} away)",
    body: [
      "Dear {{greetingName}},",
      "The {{recipientTitle}} who has challenge {{reference}} about a child's {{planName}} at {{stageLabel}}: {{stageTitle}} {{absenceWords}}. The challenge has been passed to the named cover for the {{recipientTitle}}, who acts for them; they are copied.",
      "The deadline has not changed: a response is due by {{deadlineWords}}.",
      LINK_PARAGRAPH,
      "{{authorityName}}",
    ].join("\n\n"),
  },
  deadline_shortened: {
    subject: "Earlier deadline: challenge {{reference}} ({{stageLabel}}) is now due by {{deadlineWords}}",
    body: [
      "Dear {{greetingName}},",
      "The deadline for challenge {{reference}} about a child's {{planName}}, at {{stageLabel}}: {{stageTitle}}, has been brought forward from {{previousDeadlineWords}} to {{deadlineWords}}.",
      "Why a response is needed more quickly:\n{{shortenedReason}}",
      "Please respond on the case record by the new deadline.",
      LINK_PARAGRAPH,
      "{{authorityName}}",
    ].join("\n\n"),
  },
  decision_requested: {
    subject: "Your decision needed by {{decisionDueWords}}: challenge {{reference}}",
    body: [
      "Dear {{greetingName}},",
      'Challenge {{reference}} about a child\'s {{planName}} has been through every stage of the protocol without resolution. The protocol asks the {{deciderTitle}} to decide: "{{decisionCitation}}"',
      "Please record your decision, with your reasons, on the case record by {{decisionDueWords}}. Until you do it stays in your work tray, and in the overdue view once that time has passed.",
      LINK_PARAGRAPH,
      "{{authorityName}}",
    ].join("\n\n"),
  },
  decision_recorded: {
    subject: "Decision recorded: challenge {{reference}} {{decisionOutcome}} by the {{deciderTitle}}",
    body: [
      "Dear {{greetingName}},",
      "The {{deciderTitle}} has decided on challenge {{reference}} about a child's {{planName}}: {{decisionOutcome}}.",
      "Their reasons:\n{{decisionReasons}}",
      LINK_PARAGRAPH,
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

function withDefaults(overrides: TemplateOverrides): Record<NotificationKind, MailTemplate> {
  return Object.fromEntries(
    notificationKinds.map((kind) => [kind, { ...DEFAULT_TEMPLATES[kind], ...overrides[kind] }]),
  ) as Record<NotificationKind, MailTemplate>;
}

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

/** A headed list with no introduction (the agreed actions of a plan). */
function bareList(heading: string, items: readonly string[]): Value {
  return {
    type: "block",
    text: [heading, ...items.map((item) => `- ${item}`)].join("\n"),
    html: [
      `<h3>${escapeHtml(heading)}</h3>`,
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

/** The plan a challenge is about, in words. */
export const PLAN_NAMES = { CP: "child protection plan", LAC: "care plan" } as const;

/** Who a referral goes to, in words. */
export const REFERRAL_NAMES: Record<ReferralKind, string> = {
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
    case "raiser_alerted": {
      const recipient = n.stage.recipientTitle;
      const choice = n.informal
        ? "resolve it, or open the formal stage by escalating it with your reasons"
        : "mark it resolved, or escalate it with your reasons";
      return {
        ...challengeVariables(n.challenge, name || n.challenge.raiserTitle, baseUrl),
        ...stageVariables(n.stage),
        alertHeadline: line(
          `${n.decideBy === undefined ? "" : "Your decision needed: "}${timedOutWords(n.reason)}`,
        ),
        alertSituation: line(
          n.reason === "no_response"
            ? `had no response from the ${recipient}`
            : `was answered by the ${recipient} but not resolved`,
        ),
        alertNextStep: line(
          n.decideBy === undefined
            ? "Under the protocol, what happens next is your decision: you can escalate the challenge with your reasons, or record what you have agreed instead, on the case record."
            : `Under the protocol, please ${choice} by ${deadlineInWords(n.decideBy)}. If you do neither, it escalates to the next stage automatically, and the record will say why.`,
        ),
      };
    }
    case "ladder_exhausted":
      return {
        ...challengeVariables(n.challenge, name || n.challenge.raiserTitle, baseUrl),
        ...stageVariables(n.stage),
        ladderOutcome: line(
          (n.timedOut ?? "no_response") === "no_response" ? "had no response" : "had no resolution",
        ),
      };
    case "action_plan_agreed":
      return {
        ...challengeVariables(n.challenge, name || "colleague", baseUrl),
        ...stageVariables(n.stage),
        agreedActions: bareList(
          "The agreed actions",
          n.actions.map((a) => `${a.action} (by ${a.byWhom}, by ${dateInWords(a.byWhen)})`),
        ),
      };
    case "referral_approval":
      return {
        ...challengeVariables(n.challenge, name || n.referral.approverTitle, baseUrl),
        referralName: line(REFERRAL_NAMES[n.referral.kind]),
        referralRecipientTitle: line(n.referral.recipientTitle),
        referralRationale: multiline(n.referral.rationale),
        approverTitle: line(n.referral.approverTitle),
      };
    case "undeliverable":
      return {
        ...challengeVariables(n.challenge, name || n.challenge.raiserTitle, baseUrl),
        undeliveredRecipientTitle: line(n.recipientTitle),
        undeliverableWords: line(UNDELIVERABLE_WORDS[n.reason]),
      };
    case "auto_escalated_raiser":
      return {
        ...challengeVariables(n.challenge, name || n.challenge.raiserTitle, baseUrl),
        ...stageVariables(n.stage),
        ...previousStageVariables(n.previousStage),
        escalationReasons: multiline(n.reasons),
      };
    case "stage_reassigned": {
      const why =
        n.because === "out_of_office" ? "replied that they are out of the office" : "is recorded as away";
      const until =
        n.absentUntil === undefined ? "and did not say until when" : `until ${dateInWords(n.absentUntil)}`;
      return {
        ...challengeVariables(n.challenge, name || n.challenge.raiserTitle, baseUrl),
        ...stageVariables(n.stage),
        absenceWords: line(`${why} ${until}`),
      };
    }
    case "deadline_shortened":
      return {
        ...challengeVariables(n.challenge, name || n.stage.recipientTitle, baseUrl),
        ...stageVariables(n.stage),
        previousDeadlineWords: line(deadlineInWords(n.previousDeadline)),
        shortenedReason: multiline(n.reason),
      };
    case "decision_requested":
      return {
        ...challengeVariables(n.challenge, name || n.deciderTitle, baseUrl),
        deciderTitle: line(n.deciderTitle),
        decisionDueWords: line(deadlineInWords(n.dueBy)),
        decisionCitation: line(n.citation),
      };
    case "decision_recorded":
      return {
        ...challengeVariables(n.challenge, name || n.challenge.raiserTitle, baseUrl),
        deciderTitle: line(n.deciderTitle),
        decisionOutcome: line(n.upheld ? "upheld" : "not upheld"),
        decisionReasons: multiline(n.reasons),
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
