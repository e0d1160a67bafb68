import { describe, expect, it } from "vitest";
import { $ZodError } from "zod/v4/core";
import { createEnglandCalendar } from "../../../functions/domain/calendar.js";
import type { ChallengeForm } from "../../../functions/domain/challenge/commands.js";
import {
  DEFAULT_TEMPLATES,
  caseRecordUrl,
  deadlineInWords,
  renderEmail,
  resolveTemplates,
  shortDate,
  type ChallengeFacts,
  type Notification,
  type StageFacts,
} from "../../../functions/mail/templates.js";
import {
  type NotificationKind,
  notificationKinds,
  templateSetSchema,
} from "../../../functions/domain/email-templates.js";
import { escapeHtml } from "../../../functions/shared/html.js";

// Invented child and staff.
const CHILD_NAME = "Rowan Ellery";
const DOB_FORMS = ["2015-03-14", "14/03/2015", "14 March 2015", "14 Mar 2015", "14.03.2015"];

const FORM: ChallengeForm = {
  child: { name: CHILD_NAME, dateOfBirth: "2015-03-14", caseRecordId: "4417203", caseRecordSystem: "LCS" },
  track: "LAC",
  raiserRole: "IRO",
  socialWorker: { name: "Alex Marchetti", email: "alex.marchetti@northby.example" },
  team: { id: "cic-2", name: "Children in Care 2" },
  teamManagerName: "Jo Barnard",
  worries: "The placement request has not gone to panel although it was agreed at the review on 12 October.",
  actionsTaken: "Discussed with the social worker on 19 October and with the team manager on 2 November.",
  impactOnChild: "The child is in an emergency placement, away from school friends, with no date for a move.",
  childViews: "They want to know where they will live by Christmas.",
  whatNeedsToHappen: "The placement request must go to the next resources panel.",
  desiredOutcome: "A matched placement agreed by panel, with a move plan.",
  timescale: "By the next resources panel on 2 December.",
  themes: ["placement"],
  immediateRisk: false,
};

const CHALLENGE: ChallengeFacts = {
  challengeId: "01JD3K8Q6T9X2M4N5P7R8S9V0W",
  form: FORM,
  raiserTitle: "IRO",
  authorityName: "Northby Council Children's Services",
};

const STAGE_2: StageFacts = {
  label: "Stage 2",
  title: "Stage 2 - Service Manager review",
  recipientTitle: "Service Manager",
  deadline: "2026-12-03T17:00:00.000Z",
};
const STAGE_1: StageFacts = {
  label: "Stage 1",
  title: "Stage 1 - Team Manager discussion",
  recipientTitle: "Team Manager",
  deadline: "2026-11-20T17:00:00.000Z",
};

const BASE_URL = "https://lcs.northby.example/cases/";
const REF = "CR-01JD3K8Q6T9X2M4N5P7R8S9V0W";

function sample(kind: NotificationKind, challenge: ChallengeFacts = CHALLENGE): Notification {
  switch (kind) {
    case "stage_opened":
    case "stage_opened_copy":
    case "reminder":
      return { kind, challenge, stage: STAGE_2 };
    case "auto_escalated":
    case "auto_escalated_previous":
      return { kind, challenge, stage: STAGE_2, previousStage: STAGE_1 };
    case "response_received":
      return {
        kind,
        challenge,
        stage: STAGE_2,
        response: "The request goes to panel on 2 December.",
        nextStage: { label: "Stage 3", recipientTitle: "Head of Service" },
      };
    case "action_due":
      return {
        kind,
        challenge,
        actions: [
          {
            action: "Present the placement request to panel.",
            byWhen: "2026-12-02",
            byWhom: "Team Manager",
          },
        ],
      };
    case "referral":
      return {
        kind,
        challenge,
        referral: {
          kind: "cafcass",
          recipientTitle: "Cafcass Service Manager",
          rationale: "The challenge was not resolved at any stage.",
          documents: ["Care plan", "Challenge and Resolution Form"],
        },
      };
    case "resolved":
    case "closed":
      return { kind, challenge, summary: "The placement was agreed at panel." };
    case "good_practice":
      return {
        kind,
        goodPractice: {
          authorityName: "Northby Council Children's Services",
          raiserTitle: "IRO",
          notification: {
            id: "01JD4M2N3P4Q5R6S7T8V9W0X1Y",
            protocolId: "northby",
            recordedAt: "2026-11-24T09:00:00.000Z",
            recordedBy: { id: "iro-morgan-hale", role: "IRO" },
            channel: "api",
            recordedAs: "case_note",
            child: { caseRecordId: "4417203", caseRecordSystem: "LCS" },
            track: "LAC",
            practitioner: { name: "Alex Marchetti", team: { name: "Children in Care 2" } },
            firstLineManager: { name: "Jo Barnard", email: "jo.barnard@northby.example" },
            about: "piece_of_work",
            whatWasGood: "Careful direct work meant the child's wishes shaped the plan.",
          },
        },
      };
    case "raiser_alerted":
      return { kind, challenge, stage: STAGE_2, reason: "no_response", informal: false };
    case "ladder_exhausted":
      return { kind, challenge, stage: STAGE_2, timedOut: "no_resolution" };
    case "action_plan_agreed":
      return {
        kind,
        challenge,
        stage: STAGE_2,
        actions: [
          {
            id: "a1",
            action: "Present the placement request to panel.",
            byWhen: "2026-12-02",
            byWhom: "Team Manager",
          },
        ],
      };
    case "referral_approval":
      return {
        kind,
        challenge,
        referral: {
          kind: "cafcass",
          recipientTitle: "Cafcass Service Manager",
          rationale: "The challenge was not resolved at any stage.",
          approverTitle: "Head of Service",
        },
      };
    case "undeliverable":
      return { kind, challenge, recipientTitle: "Service Manager", reason: "bounced" };
    case "auto_escalated_raiser":
      return {
        kind,
        challenge,
        previousStage: STAGE_1,
        stage: STAGE_2,
        reasons: "No response from the Team Manager by the deadline.",
      };
    case "stage_reassigned":
      return { kind, challenge, stage: STAGE_2, because: "out_of_office", absentUntil: "2026-12-04" };
    case "deadline_shortened":
      return {
        kind,
        challenge,
        stage: STAGE_2,
        previousDeadline: "2026-12-10T17:00:00.000Z",
        reason: "The child moves placement next week.",
      };
    case "decision_requested":
      return {
        kind,
        challenge,
        deciderTitle: "Head of Service",
        dueBy: "2026-12-10T17:00:00.000Z",
        citation: "The Head of Service decides whether to uphold the difference.",
      };
    case "decision_recorded":
      return {
        kind,
        challenge,
        deciderTitle: "Head of Service",
        upheld: true,
        reasons: "The plan had drifted.",
      };
  }
}

const render = (n: Notification) => renderEmail(n, { caseRecordBaseUrl: BASE_URL });

describe("the default templates", () => {
  it("pass their own validation", () => {
    expect(() => templateSetSchema.parse(DEFAULT_TEMPLATES)).not.toThrow();
    expect(resolveTemplates()).toEqual(DEFAULT_TEMPLATES);
  });

  it("name the challenge and stage in the subject, with the deadline day, as the design asks", () => {
    expect(render(sample("stage_opened")).subject).toBe(
      `Challenge ${REF} needs your response by Thu 3 Dec (Stage 2, Service Manager)`,
    );
  });

  it.each(notificationKinds)("%s: no child name or date of birth in the subject or body", (kind) => {
    const email = render(sample(kind));
    for (const part of [email.subject, email.text, email.html]) {
      expect(part).not.toContain(CHILD_NAME);
      expect(part).not.toContain("Rowan");
      expect(part).not.toContain("Ellery");
      for (const dob of DOB_FORMS) expect(part).not.toContain(dob);
    }
    expect(email.subject).toContain(kind === "good_practice" ? "GP-01JD4M2N3P4Q5R6S7T8V9W0X1Y" : REF);
    expect(email.subject).not.toMatch(/[\r\n]/);
  });

  it("keep the child's name out of every subject, whatever the kind, even with hostile data elsewhere", () => {
    const hostile: ChallengeFacts = {
      ...CHALLENGE,
      form: { ...FORM, team: { id: "t", name: `Team\r\nBcc: attacker@evil.example` } },
    };
    for (const kind of notificationKinds) {
      const { subject } = render(sample(kind, hostile));
      expect(subject).not.toMatch(/[\r\n]/);
      expect(subject).not.toContain(CHILD_NAME);
    }
  });

  it("carry what the seeds require of an alert, the link, the protocol's stage title and the deadline in words", () => {
    const { text, html } = render(sample("stage_opened"));
    for (const field of [
      FORM.worries,
      FORM.actionsTaken,
      FORM.impactOnChild,
      FORM.childViews,
      FORM.whatNeedsToHappen,
      FORM.desiredOutcome,
      FORM.timescale,
    ]) {
      expect(text).toContain(field);
      expect(html).toContain(escapeHtml(field));
    }
    expect(text).toContain("https://lcs.northby.example/cases/4417203");
    expect(html).toContain('<a href="https://lcs.northby.example/cases/4417203">');
    expect(text).toContain("Stage 2 - Service Manager review");
    expect(text).toContain("by 5pm on Thursday 3 December 2026");
    expect(text).toContain("Dear Service Manager,");
    expect(text).toContain("Team: Children in Care 2");
  });

  it("tell the assignee how to answer by reply: write the response, or ACK", () => {
    const { text } = render(sample("stage_opened"));
    expect(text).toContain("How to answer by email");
    expect(text).toContain("reply with ACK as the first word");
    expect(text).toContain("Write your response above the quoted text");
    expect(text).toContain("Do not forward this email");
  });

  it("tell the raiser to start with RESOLVED or ESCALATE, naming the next stage", () => {
    const { text } = render(sample("response_received"));
    expect(text).toContain("RESOLVED, followed by a short summary");
    expect(text).toContain("ESCALATE, followed by your reasons");
    expect(text).toContain("Stage 3 (Head of Service)");
    expect(text).toContain("The request goes to panel on 2 December.");
    const last = render({
      ...(sample("response_received") as Notification & { kind: "response_received" }),
      nextStage: null,
    });
    expect(last.text).toContain("to record that the last stage has not resolved it");
  });

  it("give copies no reply instructions: their replies do not act", () => {
    const { text, subject } = render(sample("stage_opened_copy"));
    expect(subject).toBe(`For information: challenge ${REF} is with the Service Manager (Stage 2)`);
    expect(text).not.toContain("ACK");
    expect(text).toContain("Replies to this email are not recorded");
  });

  it("tell both sides of an automatic escalation what happened", () => {
    const toNew = render(sample("auto_escalated"));
    expect(toNew.subject).toBe(
      `Challenge ${REF} escalated to you: response needed by Thu 3 Dec (Stage 2, Service Manager)`,
    );
    expect(toNew.text).toContain(
      "had no response at Stage 1 (Team Manager) by 5pm on Friday 20 November 2026",
    );
    const toPrevious = render(sample("auto_escalated_previous"));
    expect(toPrevious.subject).toBe(`Challenge ${REF} has moved to Stage 2: no response by Fri 20 Nov`);
    expect(toPrevious.text).toContain("Dear Team Manager,");
    expect(toPrevious.text).toContain("Replies to the earlier email are no longer recorded");
  });

  it("render the action due, referral, resolved, closed and good practice emails", () => {
    expect(render(sample("action_due")).subject).toBe(`Agreed actions due by Wed 2 Dec: challenge ${REF}`);
    expect(render(sample("action_due")).text).toContain(
      "- Present the placement request to panel. (by Team Manager, by Wednesday 2 December 2026)",
    );
    const referral = render(sample("referral"));
    expect(referral.subject).toBe(`Referral to Cafcass: challenge ${REF}`);
    expect(referral.text).toContain("- Challenge and Resolution Form");
    expect(referral.html).toContain("<li>Care plan</li>");
    expect(render(sample("resolved")).subject).toBe(`Challenge ${REF} resolved`);
    expect(render(sample("closed")).text).toContain("The placement was agreed at panel.");
    const goodPractice = render(sample("good_practice"));
    expect(goodPractice.subject).toBe(
      "Good practice notification GP-01JD4M2N3P4Q5R6S7T8V9W0X1Y (Children in Care 2)",
    );
    expect(goodPractice.text).toContain("Dear Jo Barnard,");
    expect(goodPractice.text).toContain(
      "good practice by Alex Marchetti (Children in Care 2) in a piece of work within a child's care plan",
    );
    expect(goodPractice.text).toContain("Case record 4417203: https://lcs.northby.example/cases/4417203");
  });

  it("list every action that fell due, with who and by when, and ask whether each was done", () => {
    const email = render({
      kind: "action_due",
      challenge: CHALLENGE,
      actions: [
        { action: "Hold a core group.", byWhen: "2026-11-30", byWhom: "Social Worker" },
        { action: "Share the plan\nwith <the child>.", byWhen: "2026-12-02", byWhom: "Team Manager" },
      ],
    });
    // The subject's date is the latest: every action listed was due by then.
    expect(email.subject).toBe(`Agreed actions due by Wed 2 Dec: challenge ${REF}`);
    expect(email.text).toContain("The actions\nWhat was agreed, by whom, and by when:");
    expect(email.text).toContain("- Hold a core group. (by Social Worker, by Monday 30 November 2026)");
    expect(email.text).toContain(
      "- Share the plan with <the child>. (by Team Manager, by Wednesday 2 December 2026)",
    );
    expect(email.text).toContain("Please record on the case record whether each was done.");
    expect(email.html).toContain(
      "<li>Share the plan with &lt;the child&gt;. (by Team Manager, by Wednesday 2 December 2026)</li>",
    );
    expect(email.text).not.toContain("How to answer by email");
  });

  it("remind the assignee of the deadline, with the reply instructions", () => {
    const email = render(sample("reminder"));
    expect(email.subject).toBe(
      `Reminder: challenge ${REF} needs your response by Thu 3 Dec (Stage 2, Service Manager)`,
    );
    expect(email.text).toContain("needs your response by 5pm on Thursday 3 December 2026");
    expect(email.text).toContain("reply with ACK as the first word");
  });

  it("greet a named recipient by name", () => {
    expect(render({ ...sample("stage_opened"), recipientName: "Sam Whitlock" }).text).toContain(
      "Dear Sam Whitlock,",
    );
  });

  it("render the same bytes every time", () => {
    expect(render(sample("stage_opened"))).toEqual(render(sample("stage_opened")));
  });
});

describe("deadlines in words, Europe/London", () => {
  it.each([
    // GMT: 17:00Z is 5pm.
    ["2026-12-03T17:00:00.000Z", "5pm on Thursday 3 December 2026", "Thu 3 Dec"],
    // BST: 16:00Z is 5pm.
    ["2026-07-02T16:00:00.000Z", "5pm on Thursday 2 July 2026", "Thu 2 Jul"],
    // The first working day after the clocks go forward (Sunday 29 March 2026).
    ["2026-03-30T16:00:00.000Z", "5pm on Monday 30 March 2026", "Mon 30 Mar"],
    // The first working day after the clocks go back (Sunday 25 October 2026).
    ["2026-10-26T17:00:00.000Z", "5pm on Monday 26 October 2026", "Mon 26 Oct"],
    // Late on a UTC day in summer is already the next London day.
    ["2026-06-30T23:30:00.000Z", "12:30am on Wednesday 1 July 2026", "Wed 1 Jul"],
    ["2026-01-15T12:00:00.000Z", "midday on Thursday 15 January 2026", "Thu 15 Jan"],
    ["2026-08-14T23:00:00.000Z", "midnight on Saturday 15 August 2026", "Sat 15 Aug"],
    ["2026-09-09T15:45:00.000Z", "4:45pm on Wednesday 9 September 2026", "Wed 9 Sep"],
  ])("%s is %s", (iso, words, short) => {
    expect(deadlineInWords(iso)).toBe(words);
    expect(shortDate(iso)).toBe(short);
  });

  it("says 5pm for deadlines the working-day calendar computes, in summer and in winter", () => {
    const calendar = createEnglandCalendar();
    // Raised Thursday 26 March 2026 (GMT); five working days later is Thursday 2 April (BST).
    const summer = calendar.deadlineAfter(new Date("2026-03-26T10:00:00Z"), 5).toISOString();
    expect(deadlineInWords(summer)).toBe("5pm on Thursday 2 April 2026");
    // Raised Thursday 22 October 2026 (BST); five working days later is Thursday 29 October (GMT).
    const winter = calendar.deadlineAfter(new Date("2026-10-22T10:00:00Z"), 5).toISOString();
    expect(deadlineInWords(winter)).toBe("5pm on Thursday 29 October 2026");
    const email = render({
      kind: "stage_opened",
      challenge: CHALLENGE,
      stage: { ...STAGE_2, deadline: summer },
    });
    expect(email.subject).toContain("by Thu 2 Apr (");
    expect(email.text).toContain("by 5pm on Thursday 2 April 2026");
  });

  it("refuses what is not a date", () => {
    expect(() => deadlineInWords("next Tuesday")).toThrow(/ISO/);
  });
});

describe("escaping", () => {
  const hostile: ChallengeFacts = {
    ...CHALLENGE,
    authorityName: `Northby <b>Council</b>`,
    form: {
      ...FORM,
      worries: `<script>alert("worries")</script> & "quotes" 'too'`,
      childViews: "Line one\nLine <two>",
      socialWorker: { name: `<img src=x onerror=alert(1)>` },
      child: { ...FORM.child, caseRecordId: `44"><script>alert(1)</script>` },
    },
  };

  it("escapes every value in the HTML and leaves the text as written", () => {
    const { html, text } = render(sample("stage_opened", hostile));
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toContain("<img");
    expect(html).not.toContain("<b>Council");
    expect(html).toContain(
      "&lt;script&gt;alert(&quot;worries&quot;)&lt;/script&gt; &amp; &quot;quotes&quot; &#39;too&#39;",
    );
    expect(html).toContain("Line one<br>\nLine &lt;two&gt;");
    expect(text).toContain(`<script>alert("worries")</script>`);
  });

  it("URL-encodes the case-record id in the link", () => {
    const { html, text } = render(sample("stage_opened", hostile));
    const encoded = "https://lcs.northby.example/cases/44%22%3E%3Cscript%3Ealert(1)%3C%2Fscript%3E";
    expect(text).toContain(encoded);
    expect(html).toContain(`<a href="${encoded}">`);
  });

  it("never expands placeholders inside values", () => {
    const sneaky: ChallengeFacts = {
      ...CHALLENGE,
      form: { ...FORM, worries: "{{caseRecordUrl}} {{reference}}" },
    };
    const { text } = render(sample("stage_opened", sneaky));
    expect(text).toContain("{{caseRecordUrl}} {{reference}}");
  });

  it("escapes a tenant's own wording too", () => {
    const templates = resolveTemplates({
      resolved: {
        body: "<b>Good news</b>: {{reference}} is resolved.\n\n{{outcomeSummary}}\n\n{{caseRecordUrl}}",
      },
    });
    const { html } = renderEmail(sample("resolved"), { caseRecordBaseUrl: BASE_URL, templates });
    expect(html).toContain("&lt;b&gt;Good news&lt;/b&gt;");
  });
});

describe("per-tenant wording", () => {
  it("overrides a subject and a body, keeping the rest", () => {
    const templates = resolveTemplates({
      reminder: { subject: "Please respond to {{reference}} by {{deadlineShort}} ({{stageLabel}})" },
      resolved: {
        body: "Challenge {{reference}} is resolved.\n\n{{outcomeSummary}}\n\nRecord: {{caseRecordUrl}}",
      },
    });
    expect(renderEmail(sample("reminder"), { caseRecordBaseUrl: BASE_URL, templates }).subject).toBe(
      `Please respond to ${REF} by Thu 3 Dec (Stage 2)`,
    );
    expect(renderEmail(sample("resolved"), { caseRecordBaseUrl: BASE_URL, templates }).text).toBe(
      `Challenge ${REF} is resolved.\n\nThe placement was agreed at panel.\n\nRecord: https://lcs.northby.example/cases/4417203\n`,
    );
    expect(templates.stage_opened).toEqual(DEFAULT_TEMPLATES.stage_opened);
  });

  const refused = (overrides: unknown, message: RegExp): void => {
    expect(() => resolveTemplates(overrides)).toThrow(message);
  };

  it("refuses variables that do not exist, such as the child's name or date of birth", () => {
    refused(
      { stage_opened: { body: `${DEFAULT_TEMPLATES.stage_opened.body}\n\n{{childName}}` } },
      /childName/,
    );
    refused({ resolved: { subject: "{{reference}} {{childDateOfBirth}}" } }, /childDateOfBirth/);
  });

  it("refuses names, ids and free text in subjects", () => {
    refused(
      { stage_opened: { subject: "{{reference}} for {{socialWorkerName}}" } },
      /cannot appear in a subject/,
    );
    refused({ stage_opened: { subject: "{{reference}} ({{caseRecordId}})" } }, /cannot appear in a subject/);
    refused(
      { response_received: { subject: "{{reference}}: {{responseText}}" } },
      /cannot appear in a subject/,
    );
  });

  it("requires the reference in every subject", () => {
    refused({ closed: { subject: "A challenge was closed" } }, /must include \{\{reference\}\}/);
  });

  it("refuses a variable another kind offers but this one does not", () => {
    refused({ resolved: { subject: "{{reference}} by {{deadlineShort}}" } }, /not a variable of resolved/);
  });

  it("keeps what an email must carry: reply instructions, deadline, link, the alert contents", () => {
    refused(
      { stage_opened: { body: "Please look at {{reference}} by {{deadlineWords}}: {{caseRecordUrl}}" } },
      /replyInstructions/,
    );
    refused({ reminder: { body: "{{replyInstructions}}\n\n{{caseRecordUrl}}" } }, /deadlineWords/);
  });

  it("keeps sections in paragraphs of their own", () => {
    refused(
      {
        stage_opened: {
          body: DEFAULT_TEMPLATES.stage_opened.body.replace(
            "{{replyInstructions}}",
            "Reply: {{replyInstructions}}",
          ),
        },
      },
      /paragraph of its own/,
    );
  });

  it("refuses stray braces, line breaks in subjects, unknown kinds and unknown fields", () => {
    refused({ closed: { subject: "{{reference}} {{ oops" } }, /stray/);
    refused({ closed: { subject: "{{reference}}\nBcc: x@y.example" } }, /one line/);
    refused({ overdue: { subject: "{{reference}}" } }, /overdue|Unrecognized/i);
    refused({ closed: { subject: "{{reference}}", footer: "x" } }, /footer|Unrecognized/i);
  });

  it("names the kind and field at fault", () => {
    const result = ((): unknown => {
      try {
        return resolveTemplates({ closed: { subject: "no reference" } });
      } catch (error) {
        return error;
      }
    })();
    expect(result).toBeInstanceOf($ZodError);
    if (result instanceof $ZodError)
      expect(result.issues.map((i) => i.path)).toEqual([["closed", "subject"]]);
  });
});

describe("case record links", () => {
  it("join the base and the id", () => {
    expect(caseRecordUrl("https://lcs.northby.example/cases", "44 17")).toBe(
      "https://lcs.northby.example/cases/44%2017",
    );
    expect(caseRecordUrl("https://mosaic.example/view?personId=", "P-1")).toBe(
      "https://mosaic.example/view?personId=P-1",
    );
  });

  it("must be http(s)", () => {
    expect(() => caseRecordUrl("javascript:alert(1)//", "1")).toThrow(/http/);
    expect(() => caseRecordUrl("not a url", "1")).toThrow(/absolute/);
  });
});
