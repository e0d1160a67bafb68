import type { ReassignedBecause } from "../domain/challenge/events.js";
import { challengeReference } from "../domain/email-templates.js";
import { escapeHtml } from "../shared/html.js";
import {
  type ChallengeFacts,
  type Notification,
  type RenderedEmail,
  type StageFacts,
  type RenderOptions,
  PLAN_NAMES,
  caseRecordUrl,
  dateInWords,
  deadlineInWords,
  renderEmail,
} from "./templates.js";

/**
 * The wording of an email the plan (notifications.ts) asks for: a template kind, rendered through
 * templates.ts with the tenant's wording, or one of the notices below, whose wording is still fixed
 * here (same rules: no child's name, only references and protocol words in subjects). Each notice
 * can become a template kind (domain/email-templates.ts) the same way raiser_alerted,
 * ladder_exhausted, action_plan_agreed, referral_approval and undeliverable did.
 */

export type NoticeKind =
  | "auto_escalated_raiser"
  | "deadline_shortened"
  | "decision_requested"
  | "decision_recorded"
  | "stage_reassigned";

export type ServiceNotice =
  | {
      readonly kind: "auto_escalated_raiser";
      readonly challenge: ChallengeFacts;
      /** The stage left. */
      readonly stage: StageFacts;
      /** The stage opened. */
      readonly nextStage: StageFacts;
      /** The timer's reasons, as recorded on the Escalated event. */
      readonly reasons: string;
    }
  | {
      readonly kind: "deadline_shortened";
      readonly challenge: ChallengeFacts;
      /** The stage, with its new deadline. */
      readonly stage: StageFacts;
      readonly previousDeadline: string;
      readonly reason: string;
    }
  | {
      readonly kind: "decision_requested";
      readonly challenge: ChallengeFacts;
      readonly deciderTitle: string;
      readonly dueBy: string;
      /** The protocol's sentence that names the decision. */
      readonly citation: string;
    }
  | {
      readonly kind: "decision_recorded";
      readonly challenge: ChallengeFacts;
      readonly deciderTitle: string;
      readonly upheld: boolean;
      readonly reasons: string;
    }
  | {
      readonly kind: "stage_reassigned";
      readonly challenge: ChallengeFacts;
      /** The stage, as addressed to the absent recipient's role; its deadline unchanged. */
      readonly stage: StageFacts;
      readonly because: ReassignedBecause;
      /** The absence's last day (YYYY-MM-DD); absent: no end was stated. */
      readonly absentUntil?: string;
    };

export type EmailContent =
  | { readonly source: "template"; readonly notification: Notification }
  | { readonly source: "notice"; readonly notice: ServiceNotice; readonly recipientName?: string };

/** Renders an email's content: a template kind through templates.ts, a notice with its fixed wording. */
export function renderContent(content: EmailContent, options: RenderOptions): RenderedEmail {
  if (content.source === "template") return renderEmail(content.notification, options);
  return renderNotice(content.notice, content.recipientName, options.caseRecordBaseUrl);
}

/** A paragraph of a notice. */
interface Block {
  readonly text: string;
}

/** A notice's subject and paragraphs. Subjects carry the reference and protocol words only. */
function noticeParts(n: ServiceNotice, greeting: string | undefined): { subject: string; blocks: Block[] } {
  const ref = challengeReference(n.challenge.challengeId);
  const plan = PLAN_NAMES[n.challenge.form.track];
  const hello = (fallback: string): Block => ({ text: `Dear ${greeting ?? fallback},` });
  switch (n.kind) {
    case "auto_escalated_raiser":
      return {
        subject: `Escalated automatically: challenge ${ref} is now at ${n.nextStage.label} (${n.nextStage.recipientTitle})`,
        blocks: [
          hello(n.challenge.raiserTitle),
          {
            text: `Challenge ${ref} about a child's ${plan} has escalated automatically from ${n.stage.label}: ${n.stage.title} to ${n.nextStage.label}: ${n.nextStage.title}. The ${n.nextStage.recipientTitle} has been asked to respond by ${deadlineInWords(n.nextStage.deadline)}.`,
          },
          { text: `Why:\n${n.reasons}` },
        ],
      };
    case "decision_requested":
      return {
        subject: `Your decision needed by ${deadlineInWords(n.dueBy)}: challenge ${ref}`,
        blocks: [
          hello(n.deciderTitle),
          {
            text: `Challenge ${ref} about a child's ${plan} has been through every stage of the protocol without resolution. The protocol asks the ${n.deciderTitle} to decide: "${n.citation}"`,
          },
          {
            text: `Please record your decision, with your reasons, on the case record by ${deadlineInWords(n.dueBy)}. Until you do it stays in your work tray, and in the overdue view once that time has passed.`,
          },
        ],
      };
    case "decision_recorded":
      return {
        subject: `Decision recorded: challenge ${ref} ${n.upheld ? "upheld" : "not upheld"} by the ${n.deciderTitle}`,
        blocks: [
          hello(n.challenge.raiserTitle),
          {
            text: `The ${n.deciderTitle} has decided on challenge ${ref} about a child's ${plan}: ${n.upheld ? "upheld" : "not upheld"}.`,
          },
          {
            text: `Their reasons:
${n.reasons}`,
          },
        ],
      };
    case "deadline_shortened":
      return {
        subject: `Earlier deadline: challenge ${ref} (${n.stage.label}) is now due by ${deadlineInWords(n.stage.deadline)}`,
        blocks: [
          hello(n.stage.recipientTitle),
          {
            text: `The deadline for challenge ${ref} about a child's ${plan}, at ${n.stage.label}: ${n.stage.title}, has been brought forward from ${deadlineInWords(n.previousDeadline)} to ${deadlineInWords(n.stage.deadline)}.`,
          },
          { text: `Why a response is needed more quickly:\n${n.reason}` },
          { text: "Please respond on the case record by the new deadline." },
        ],
      };
    case "stage_reassigned": {
      const why =
        n.because === "out_of_office" ? "replied that they are out of the office" : "is recorded as away";
      const until =
        n.absentUntil === undefined ? "and did not say until when" : `until ${dateInWords(n.absentUntil)}`;
      return {
        subject: `Passed to cover: challenge ${ref} (${n.stage.label}, ${n.stage.recipientTitle} away)`,
        blocks: [
          hello(n.challenge.raiserTitle),
          {
            text: `The ${n.stage.recipientTitle} who has challenge ${ref} about a child's ${plan} at ${n.stage.label}: ${n.stage.title} ${why} ${until}. The challenge has been passed to the named cover for the ${n.stage.recipientTitle}, who acts for them; they are copied.`,
          },
          {
            text: `The deadline has not changed: a response is due by ${deadlineInWords(n.stage.deadline)}.`,
          },
        ],
      };
    }
  }
}

function renderNotice(n: ServiceNotice, recipientName: string | undefined, baseUrl: string): RenderedEmail {
  const { subject: rawSubject, blocks: body } = noticeParts(n, recipientName?.trim() || undefined);
  const subject = rawSubject
    .replace(/[\p{Cc}\u2028\u2029]+/gu, " ")
    .replace(/\s+/g, " ")
    .trim();
  const form = n.challenge.form;
  const url = caseRecordUrl(baseUrl, form.child.caseRecordId);
  const link = `Case record (${form.child.caseRecordSystem} ${form.child.caseRecordId}): `;
  const blocks: Block[] = [...body, { text: `${link}${url}` }, { text: n.challenge.authorityName }];
  const text = blocks.map((b) => b.text).join("\n\n");
  const paragraph = (t: string): string => `<p>${escapeHtml(t).replace(/\r?\n/g, "<br>\n")}</p>`;
  const html = blocks.map((b) => {
    if (b.text.startsWith(link)) {
      return `<p>${escapeHtml(link)}<a href="${escapeHtml(url)}">${escapeHtml(url)}</a></p>`;
    }
    return paragraph(b.text);
  });
  return {
    subject,
    text: `${text.trim()}\n`,
    html: [
      "<!doctype html>",
      '<html lang="en-GB">',
      '<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">',
      `<title>${escapeHtml(subject)}</title></head>`,
      '<body style="font-family: Arial, sans-serif; font-size: 16px; line-height: 1.5; color: #0b0c0c;">',
      ...html,
      "</body>",
      "</html>",
      "",
    ].join("\n"),
  };
}
