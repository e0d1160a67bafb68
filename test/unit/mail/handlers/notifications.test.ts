import { describe, expect, it } from "vitest";
import { createEnglandCalendar } from "../../../../functions/domain/calendar.js";
import {
  TIMER_ACTOR,
  type ChallengeEvent,
  type EventOf,
  reminderTime,
} from "../../../../functions/domain/challenge/index.js";
import { getPreset } from "../../../../functions/domain/presets/index.js";
import {
  type NotificationPlan,
  type PlannedEmail,
  REPLY_VALIDITY_DAYS,
  isSuperseded,
  notificationsFor,
  renderPlanned,
  undeliverableNotice,
} from "../../../../functions/mail/notifications.js";
import { recipientTitleFor } from "../../../../functions/domain/email-recipients.js";
import { directoryOf, templatesFromConfig } from "../../../../functions/mail/mail-context.js";
import type { StaffMember } from "../../../../functions/store/tenant-store.js";
import {
  CASE_RECORD_BASE_URL,
  IRO_MORGAN,
  JO,
  MORGAN,
  NORTHBY_STAFF,
  RAISED_AT,
  SAM,
  STAGE_2_OPENED_AT,
  Scenario,
  TEAM_ID,
  lacForm,
} from "./harness.js";

const halton = getPreset("halton");
const AUTHORITY = "Northby Council Children's Services";
const DAY = 24 * 3600 * 1000;

function plan(scenario: Scenario, event: ChallengeEvent, staff = scenario.staff): NotificationPlan {
  return notificationsFor({
    event,
    history: scenario.events,
    protocol: scenario.protocol,
    directory: directoryOf(staff),
    authorityName: AUTHORITY,
  });
}

function only<T extends ChallengeEvent["type"]>(events: readonly ChallengeEvent[], type: T): EventOf<T> {
  const found = events.filter((e): e is EventOf<T> => e.type === type);
  expect(found).toHaveLength(1);
  return found[0] as EventOf<T>;
}

const summary = (emails: readonly PlannedEmail[]) =>
  emails.map((e) => ({
    to: e.to.email.toLowerCase(),
    kind: e.kind,
    role: e.recipientRole,
    reply: e.reply?.party,
  }));

function northby(): Scenario {
  const s = new Scenario(halton, NORTHBY_STAFF);
  s.run(
    { type: "Raise", challengeId: s.challengeId, actor: IRO_MORGAN, channel: "api", form: lacForm() },
    RAISED_AT,
  );
  return s;
}

function atStage2(): Scenario {
  const s = northby();
  s.run(
    {
      type: "Escalate",
      challengeId: s.challengeId,
      actor: IRO_MORGAN,
      channel: "api",
      reasons: "No progress.",
    },
    STAGE_2_OPENED_AT,
  );
  return s;
}

const SAM_ACTOR = { id: SAM.personId, role: "manager" } as const;

describe("a challenge raised and escalated", () => {
  it("ChallengeRaised needs nothing; its StageOpened one email to the stage's assignee, who can reply", () => {
    const s = northby();
    expect(plan(s, only(s.events, "ChallengeRaised")).emails).toEqual([]);
    const opened = only(s.events, "StageOpened");
    const { emails, unaddressed } = plan(s, opened);
    expect(unaddressed).toEqual([]);
    expect(summary(emails)).toEqual([
      { to: JO.email, kind: "stage_opened", role: "assignee", reply: "assignee" },
    ]);
    const [email] = emails;
    expect(email?.to).toEqual({ email: JO.email, name: "Jo Barnard", personId: JO.personId });
    expect(email?.cc).toEqual([]);
    expect(email?.reply).toEqual({
      party: "assignee",
      stageId: "stage_1",
      stageOpenedAt: RAISED_AT.toISOString(),
      expiresAt: new Date(Date.parse(opened.data.deadline) + REPLY_VALIDITY_DAYS * DAY),
    });
    expect(email?.notification).toMatchObject({
      kind: "stage_opened",
      recipientName: "Jo Barnard",
      stage: { label: "Stage 1", title: "Stage 1 - informal", recipientTitle: "Principal Manager" },
      challenge: { challengeId: s.challengeId, raiserTitle: "IRM", authorityName: AUTHORITY },
    });
  });

  it("an escalation by the raiser: nothing for Escalated, the new stage's assignee for StageOpened", () => {
    const s = atStage2();
    expect(plan(s, only(s.events, "Escalated")).emails).toEqual([]);
    const opened = s.events.at(-1);
    expect(opened?.type).toBe("StageOpened");
    expect(summary(plan(s, opened as ChallengeEvent).emails)).toEqual([
      { to: SAM.email.toLowerCase(), kind: "stage_opened", role: "assignee", reply: "assignee" },
    ]);
  });

  it("a response goes to the raiser, who can answer RESOLVED or ESCALATE for the same stage visit", () => {
    const s = atStage2();
    const [recorded] = s.run(
      {
        type: "Respond",
        challengeId: s.challengeId,
        actor: SAM_ACTOR,
        channel: "email",
        response: "Panel on 2 December.",
      },
      new Date("2026-11-24T09:13:00Z"),
    );
    const { emails } = plan(s, recorded as ChallengeEvent);
    expect(summary(emails)).toEqual([
      { to: MORGAN.email, kind: "response_received", role: "raiser", reply: "raiser" },
    ]);
    expect(emails[0]?.reply).toMatchObject({
      stageId: "stage_2",
      stageOpenedAt: STAGE_2_OPENED_AT.toISOString(),
    });
    expect(emails[0]?.notification).toMatchObject({
      response: "Panel on 2 December.",
      nextStage: { label: "Stage 3", recipientTitle: "Operational Director" },
    });
  });

  it("Resolved and Closed go to the raiser and the last assignee, once each", () => {
    const s = atStage2();
    const [resolved] = s.run(
      {
        type: "MarkResolved",
        challengeId: s.challengeId,
        actor: IRO_MORGAN,
        channel: "api",
        summary: "Panel set.",
      },
      new Date("2026-11-25T10:00:00Z"),
    );
    expect(summary(plan(s, resolved as ChallengeEvent).emails)).toEqual([
      { to: MORGAN.email, kind: "resolved", role: "raiser", reply: undefined },
      { to: SAM.email.toLowerCase(), kind: "resolved", role: "assignee", reply: undefined },
    ]);
    const [closed] = s.run(
      {
        type: "Close",
        challengeId: s.challengeId,
        actor: IRO_MORGAN,
        channel: "api",
        summary: "Placement made.",
      },
      new Date("2026-12-10T10:00:00Z"),
    );
    expect(summary(plan(s, closed as ChallengeEvent).emails)).toEqual([
      { to: MORGAN.email, kind: "closed", role: "raiser", reply: undefined },
      { to: SAM.email.toLowerCase(), kind: "closed", role: "assignee", reply: undefined },
    ]);
  });

  it("a withdrawal tells the manager who was waiting (their replies would no longer count)", () => {
    const s = atStage2();
    const [withdrawn] = s.run(
      {
        type: "Withdraw",
        challengeId: s.challengeId,
        actor: IRO_MORGAN,
        channel: "api",
        reason: "Raised in error.",
      },
      new Date("2026-11-25T10:00:00Z"),
    );
    const { emails } = plan(s, withdrawn as ChallengeEvent);
    expect(summary(emails)).toEqual([
      { to: SAM.email.toLowerCase(), kind: "closed", role: "assignee", reply: undefined },
    ]);
    expect(emails[0]?.notification).toMatchObject({
      summary: expect.stringContaining("Raised in error.") as unknown,
    });
  });

  it("an agreed action plan goes to both parties as a record of it", () => {
    const s = atStage2();
    const [agreed] = s.run(
      {
        type: "AgreeActionPlan",
        challengeId: s.challengeId,
        actor: SAM_ACTOR,
        channel: "api",
        actions: [{ action: "Take the request to panel", byWhen: "2026-12-02", byWhom: "Sam Whitlock" }],
      },
      new Date("2026-11-25T10:00:00Z"),
    );
    const { emails } = plan(s, agreed as ChallengeEvent);
    expect(summary(emails)).toEqual([
      { to: MORGAN.email, kind: "action_plan_agreed", role: "raiser", reply: undefined },
      { to: SAM.email.toLowerCase(), kind: "action_plan_agreed", role: "assignee", reply: undefined },
    ]);
    const rendered = renderPlanned(emails[0] as PlannedEmail, { caseRecordBaseUrl: CASE_RECORD_BASE_URL });
    expect(rendered.subject).toBe(`Action plan agreed: challenge CR-${s.challengeId} (Stage 2)`);
    expect(rendered.text).toContain(
      "- Take the request to panel (by Sam Whitlock, by Wednesday 2 December 2026)",
    );
  });

  it("nothing for acknowledgements and meetings", () => {
    const s = atStage2();
    const [ack] = s.run(
      { type: "Acknowledge", challengeId: s.challengeId, actor: SAM_ACTOR, channel: "email" },
      new Date("2026-11-24T09:00:00Z"),
    );
    expect(plan(s, ack as ChallengeEvent)).toEqual({ emails: [], unaddressed: [] });
  });
});

describe("the timer's reminders", () => {
  const TIMER = { actor: TIMER_ACTOR, channel: "timer" } as const;

  it("ReminderSent: the stage's assignee is reminded of the deadline and can reply, as to the stage's first email", () => {
    const s = atStage2();
    const opened = s.events.at(-1) as EventOf<"StageOpened">;
    const at = reminderTime(opened.data.deadline, halton, createEnglandCalendar());
    if (at === undefined) throw new Error("Halton reminds before deadlines");
    const [reminder] = s.run(
      { type: "SendReminder", challengeId: s.challengeId, ...TIMER, stageId: "stage_2" },
      at,
    );
    const { emails, unaddressed } = plan(s, reminder as ChallengeEvent);
    expect(unaddressed).toEqual([]);
    expect(summary(emails)).toEqual([
      { to: SAM.email.toLowerCase(), kind: "reminder", role: "assignee", reply: "assignee" },
    ]);
    // The same stage visit and expiry as the StageOpened email's: the same reply address.
    const [first] = plan(s, opened).emails;
    expect(emails[0]?.reply).toEqual(first?.reply);
    expect(emails[0]?.recipientKey).toBe(`assignee:${SAM.personId}`);
    const rendered = renderPlanned(emails[0] as PlannedEmail, { caseRecordBaseUrl: CASE_RECORD_BASE_URL });
    expect(rendered.subject).toMatch(
      new RegExp(
        `^Reminder: challenge CR-${s.challengeId} needs your response by \\w{3} \\d+ \\w{3} \\(Stage 2, `,
      ),
    );
    expect(rendered.text).toContain("This is a reminder that challenge");
    expect(rendered.text).toContain("How to answer by email");
    // Once the stage has moved on, the reminder (sent late by the stream) is not sent.
    s.run(
      { type: "Escalate", challengeId: s.challengeId, actor: IRO_MORGAN, channel: "api", reasons: "x" },
      new Date(at.getTime() + 60_000),
    );
    expect(isSuperseded(emails[0] as PlannedEmail, s.state)).toBe(true);
  });

  it("ActionsFellDue: the raiser is asked whether the actions listed were done, without a reply address", () => {
    const s = atStage2();
    s.run(
      {
        type: "AgreeActionPlan",
        challengeId: s.challengeId,
        actor: SAM_ACTOR,
        channel: "api",
        actions: [
          { action: "Take the request to panel", byWhen: "2026-12-02", byWhom: "Sam Whitlock" },
          { action: "Visit the child", byWhen: "2026-12-01", byWhom: "Social Worker" },
          { action: "Update the care plan", byWhen: "2026-12-20", byWhom: "Social Worker" },
        ],
      },
      new Date("2026-11-25T10:00:00Z"),
    );
    const [due] = s.run(
      { type: "RecordActionsDue", challengeId: s.challengeId, ...TIMER, actionIds: ["action-2", "action-1"] },
      new Date("2026-12-03T00:00:01Z"),
    );
    const { emails, unaddressed } = plan(s, due as ChallengeEvent);
    expect(unaddressed).toEqual([]);
    expect(summary(emails)).toEqual([
      { to: MORGAN.email, kind: "action_due", role: "raiser", reply: undefined },
    ]);
    expect(emails[0]?.notification).toMatchObject({
      kind: "action_due",
      actions: [
        { action: "Visit the child", byWhen: "2026-12-01", byWhom: "Social Worker" },
        { action: "Take the request to panel", byWhen: "2026-12-02", byWhom: "Sam Whitlock" },
      ],
    });
    const rendered = renderPlanned(emails[0] as PlannedEmail, { caseRecordBaseUrl: CASE_RECORD_BASE_URL });
    expect(rendered.subject).toBe(`Agreed actions due by Wed 2 Dec: challenge CR-${s.challengeId}`);
    expect(rendered.text).toContain("- Visit the child (by Social Worker, by Tuesday 1 December 2026)");
    expect(rendered.text).toContain(
      "- Take the request to panel (by Sam Whitlock, by Wednesday 2 December 2026)",
    );
    expect(rendered.text).not.toContain("Update the care plan");
    expect(rendered.text).toContain("whether each was done");
    expect(rendered.subject).not.toContain("Rowan");
  });

  it("ActionsFellDue for a raiser who has left reaches nobody, and says so", () => {
    const s = atStage2();
    s.run(
      {
        type: "AgreeActionPlan",
        challengeId: s.challengeId,
        actor: SAM_ACTOR,
        channel: "api",
        actions: [{ action: "Visit the child", byWhen: "2026-12-01", byWhom: "Social Worker" }],
      },
      new Date("2026-11-25T10:00:00Z"),
    );
    const [due] = s.run(
      { type: "RecordActionsDue", challengeId: s.challengeId, ...TIMER, actionIds: ["action-1"] },
      new Date("2026-12-02T09:00:00Z"),
    );
    const left = s.staff.map((m) => (m.personId === MORGAN.personId ? { ...m, active: false } : m));
    expect(plan(s, due as ChallengeEvent, left)).toEqual({
      emails: [],
      unaddressed: [{ recipientRole: "raiser", reason: "inactive" }],
    });
  });
});

describe("whom the directory cannot reach", () => {
  it("a raiser missing from the directory, or who has left, is reported, not guessed", () => {
    const s = atStage2();
    const [recorded] = s.run(
      { type: "Respond", challengeId: s.challengeId, actor: SAM_ACTOR, channel: "api", response: "Done." },
      new Date("2026-11-24T09:13:00Z"),
    );
    const withoutMorgan = NORTHBY_STAFF.filter((m) => m.personId !== MORGAN.personId);
    expect(plan(s, recorded as ChallengeEvent, withoutMorgan)).toEqual({
      emails: [],
      unaddressed: [{ recipientRole: "raiser", reason: "not_in_directory" }],
    });
    const left = [...withoutMorgan, { ...MORGAN, active: false }];
    expect(plan(s, recorded as ChallengeEvent, left).unaddressed).toEqual([
      { recipientRole: "raiser", reason: "inactive" },
    ]);
  });

  it("an assignee who has since left the directory receives nothing new", () => {
    const s = atStage2();
    const opened = s.events.at(-1) as ChallengeEvent;
    const samLeft = NORTHBY_STAFF.map((m) => (m.personId === SAM.personId ? { ...m, active: false } : m));
    expect(plan(s, opened, samLeft)).toEqual({
      emails: [],
      unaddressed: [{ recipientRole: "assignee", role: "service_manager", reason: "inactive" }],
    });
  });
});

// --- Nottingham: automatic escalation on no response ---------------------------------------------

const nottingham = getPreset("nottingham");
function staffMember(personId: string, role: string, email = `${personId}@nottingham.example`): StaffMember {
  const scope =
    role === "head_of_service" || role === "director_childrens_services"
      ? ({ kind: "authority" } as const)
      : ({ kind: "team", teamId: TEAM_ID } as const);
  return { personId, displayName: `Invented ${personId}`, email, active: true, roles: [{ role, scope }] };
}
const NOTTINGHAM_STAFF: StaffMember[] = [
  { ...MORGAN, roles: [] },
  staffMember("tm-1", "team_manager"),
  staffMember("sm-1", "service_manager"),
  staffMember("hos-1", "head_of_service"),
  staffMember("dir-1", "director_childrens_services"),
];

function nottinghamRaised(staff: readonly StaffMember[] = NOTTINGHAM_STAFF): Scenario {
  const s = new Scenario(nottingham, staff);
  s.run(
    {
      type: "Raise",
      challengeId: s.challengeId,
      actor: IRO_MORGAN,
      channel: "api",
      form: lacForm({ themes: ["needs_not_met"] }),
    },
    new Date("2026-05-20T09:00:00Z"),
  );
  return s;
}

function autoEscalate(s: Scenario): ChallengeEvent[] {
  const open = s.state.currentStage;
  if (open === null) throw new Error("no open stage");
  return s.run(
    {
      type: "AutoEscalate",
      challengeId: s.challengeId,
      actor: TIMER_ACTOR,
      channel: "timer",
      stageId: open.stageId,
    },
    new Date(Date.parse(open.deadline) + 60_000),
  );
}

describe("automatic escalation", () => {
  it("the new assignee is told it was escalated to them, the one who did not answer that it moved on, and the raiser why", () => {
    const s = nottinghamRaised();
    const events = autoEscalate(s);
    expect(plan(s, only(events, "Escalated")).emails).toEqual([]);
    const opened = only(events, "StageOpened");
    const { emails } = plan(s, opened);
    expect(summary(emails)).toEqual([
      { to: "sm-1@nottingham.example", kind: "auto_escalated", role: "assignee", reply: "assignee" },
      {
        to: "tm-1@nottingham.example",
        kind: "auto_escalated_previous",
        role: "previous_assignee",
        reply: undefined,
      },
      { to: MORGAN.email, kind: "auto_escalated_raiser", role: "raiser", reply: undefined },
    ]);
    const told = renderPlanned(emails[2] as PlannedEmail, { caseRecordBaseUrl: CASE_RECORD_BASE_URL });
    expect(told.subject).toBe(
      `Escalated automatically: challenge CR-${s.challengeId} is now at Level 2 (Service Manager)`,
    );
    expect(told.text).toContain("No response from the Team Manager to Level 1 by the deadline");
    expect(emails[0]?.notification).toMatchObject({
      previousStage: { label: "Level 1" },
      stage: { label: "Level 2" },
    });
  });

  it("after a holding reply the raiser is asked to decide by a time, and told when it then escalates anyway", () => {
    const s = nottinghamRaised();
    const open = s.state.currentStage;
    if (open === null) throw new Error("no open stage");
    s.run(
      {
        type: "Respond",
        challengeId: s.challengeId,
        actor: { id: "tm-1", role: "manager" },
        channel: "api",
        response: "Holding reply: we will review.",
      },
      new Date(Date.parse(open.deadline) - DAY),
    );
    const asked = only(autoEscalate(s), "RaiserAlerted");
    const { emails } = plan(s, asked);
    expect(summary(emails)).toEqual([
      { to: MORGAN.email, kind: "raiser_alerted", role: "raiser", reply: undefined },
    ]);
    const rendered = renderPlanned(emails[0] as PlannedEmail, { caseRecordBaseUrl: CASE_RECORD_BASE_URL });
    expect(rendered.subject).toContain("Your decision needed: Answered but not resolved by the deadline");
    expect(rendered.text).toContain("was answered by the Team Manager but not resolved at Level 1");
    expect(rendered.text).toContain("please mark it resolved, or escalate it with your reasons by");
    const decideBy = s.state.currentStage?.raiserDecisionBy ?? "";
    const moved = s.run(
      {
        type: "AutoEscalate",
        challengeId: s.challengeId,
        actor: TIMER_ACTOR,
        channel: "timer",
        stageId: "level_1",
      },
      new Date(decideBy),
    );
    const raiserEmail = plan(s, only(moved, "StageOpened")).emails.find((e) => e.recipientRole === "raiser");
    expect(raiserEmail?.kind).toBe("auto_escalated_raiser");
    const text = renderPlanned(raiserEmail as PlannedEmail, { caseRecordBaseUrl: CASE_RECORD_BASE_URL }).text;
    expect(text).toContain("did neither, so it escalated automatically");
  });

  it("a shortened window: the recipient is emailed the new deadline and the reason", () => {
    const s = nottinghamRaised();
    const shortened = only(
      s.run(
        {
          type: "ShortenDeadline",
          challengeId: s.challengeId,
          actor: IRO_MORGAN,
          channel: "api",
          stageId: "level_1",
          window: { length: 2, unit: "working_days" },
          reason: "The child is a newborn.",
        },
        new Date("2026-05-20T10:00:00Z"),
      ),
      "DeadlineShortened",
    );
    const { emails } = plan(s, shortened);
    expect(summary(emails)).toEqual([
      { to: "tm-1@nottingham.example", kind: "deadline_shortened", role: "assignee", reply: undefined },
    ]);
    const rendered = renderPlanned(emails[0] as PlannedEmail, { caseRecordBaseUrl: CASE_RECORD_BASE_URL });
    // Wed 20 May + 2 working days: Fri 22 May 17:00; it was Thu 28 May 17:00 (25 May a bank holiday).
    expect(rendered.subject).toContain("is now due by");
    expect(rendered.text).toContain("The child is a newborn.");
    expect(rendered.text).toMatch(
      /brought forward from 5pm on Thursday 28 May 2026 to 5pm on Friday 22 May 2026/,
    );
  });

  it("a decision owed after the ladder: the decider the event names is emailed the deadline and the protocol's words, the raiser copied", () => {
    const s = nottinghamRaised();
    const last = s.events.at(-1) as ChallengeEvent;
    // The domain's scenarios prove when this event is emitted (000 difference, 003 referral); here
    // the mail rule for it, on a challenge whose history it follows.
    const requested: EventOf<"DecisionRequested"> = {
      type: "DecisionRequested",
      challengeId: s.challengeId,
      seq: last.seq + 1,
      at: "2026-07-20T08:00:00.000Z",
      actor: IRO_MORGAN,
      channel: "api",
      data: {
        after: "difference",
        decidedBy: { role: "director_childrens_services", title: "AD" },
        personId: "dir-1",
        dueBy: "2026-08-03T16:00:00.000Z",
        citation: "AD to make decision on upholding differences.",
      },
    };
    s.events.push(requested);
    const { emails } = plan(s, requested);
    expect(
      emails.map((e) => ({ role: e.recipientRole, kind: e.kind, cc: e.cc.map((c) => c.email) })),
    ).toEqual([{ role: "decider", kind: "decision_requested", cc: [MORGAN.email] }]);
    expect(emails[0]?.to.personId).toBe("dir-1");
    const rendered = renderPlanned(emails[0] as PlannedEmail, { caseRecordBaseUrl: CASE_RECORD_BASE_URL });
    expect(rendered.subject).toContain("Your decision needed by 5pm on Monday 3 August 2026");
    expect(rendered.text).toContain('"AD to make decision on upholding differences."');
  });

  it("one person holding both roles gets one email: the one they can act on", () => {
    const both = NOTTINGHAM_STAFF.map((m) =>
      m.personId === "sm-1" ? { ...m, email: "tm-1@nottingham.example" } : m,
    );
    const s = nottinghamRaised(both);
    const opened = only(autoEscalate(s), "StageOpened");
    expect(summary(plan(s, opened).emails)).toEqual([
      { to: "tm-1@nottingham.example", kind: "auto_escalated", role: "assignee", reply: "assignee" },
      { to: MORGAN.email, kind: "auto_escalated_raiser", role: "raiser", reply: undefined },
    ]);
  });

  it("no response at the last stage: the raiser is told every stage has been tried", () => {
    const s = nottinghamRaised();
    for (let i = 0; i < 3; i++) autoEscalate(s);
    const last = autoEscalate(s);
    const escalated = only(last, "Escalated");
    expect(escalated.data.toStageId).toBeNull();
    const { emails } = plan(s, escalated);
    expect(summary(emails)).toEqual([
      { to: MORGAN.email, kind: "ladder_exhausted", role: "raiser", reply: undefined },
    ]);
    const rendered = renderPlanned(emails[0] as PlannedEmail, { caseRecordBaseUrl: CASE_RECORD_BASE_URL });
    expect(rendered.subject).toBe(
      `Every stage tried: challenge CR-${s.challengeId} had no response at Level 4`,
    );
  });
});

// --- Liquidlogic CP: copies, and the raiser decides after no response -----------------------------

describe("copies and raiser alerts (Liquidlogic CP)", () => {
  const liquidlogic = getPreset("liquidlogic-cp");
  const staff: StaffMember[] = [
    { ...MORGAN, personId: "cpc-1" },
    staffMember("sw-1", "social_worker"),
    staffMember("tm-1", "team_manager"),
  ];
  const raise = (s: Scenario) =>
    s.run(
      {
        type: "Raise",
        challengeId: s.challengeId,
        actor: { id: "cpc-1", role: "CPC" },
        channel: "api",
        form: lacForm({ track: "CP", raiserRole: "CPC", themes: ["plan_progress"] }),
      },
      new Date("2026-06-01T09:00:00Z"),
    );

  it("the stage's assignee can reply; each person copied in gets their own copy, without a reply address", () => {
    const s = new Scenario(liquidlogic, staff);
    const opened = only(raise(s), "StageOpened");
    expect(summary(plan(s, opened).emails)).toEqual([
      { to: "sw-1@nottingham.example", kind: "stage_opened", role: "assignee", reply: "assignee" },
      { to: "tm-1@nottingham.example", kind: "stage_opened_copy", role: "copy", reply: undefined },
    ]);
  });

  it("a copy to the assignee's own (shared) mailbox is not sent twice", () => {
    const shared = staff.map((m) => (m.personId === "tm-1" ? { ...m, email: "SW-1@nottingham.example" } : m));
    const s = new Scenario(liquidlogic, shared);
    const opened = only(raise(s), "StageOpened");
    expect(summary(plan(s, opened).emails)).toEqual([
      { to: "sw-1@nottingham.example", kind: "stage_opened", role: "assignee", reply: "assignee" },
    ]);
  });

  it("RaiserAlerted: the raiser is asked to resolve the informal stage or open the formal one by a time, or it escalates", () => {
    const s = new Scenario(liquidlogic, staff);
    raise(s);
    const alerted = only(autoEscalate(s), "RaiserAlerted");
    const { emails } = plan(s, alerted);
    expect(summary(emails)).toEqual([
      { to: MORGAN.email, kind: "raiser_alerted", role: "raiser", reply: undefined },
    ]);
    const rendered = renderPlanned(emails[0] as PlannedEmail, { caseRecordBaseUrl: CASE_RECORD_BASE_URL });
    expect(rendered.subject).toBe(
      `Your decision needed: No response by the deadline: challenge CR-${s.challengeId} (Informal, Social Worker)`,
    );
    expect(rendered.text).toContain(
      "resolve it, or open the formal stage by escalating it with your reasons by",
    );
    expect(rendered.text).toContain("If you do neither, it escalates to the next stage automatically");
    expect(rendered.text).toContain(`${CASE_RECORD_BASE_URL}LCS-449120`);
  });
});

// --- Rotherham: a Cafcass referral that needs two approvals --------------------------------------

describe("referrals (Rotherham)", () => {
  const rotherham = getPreset("rotherham");
  const staff: StaffMember[] = [
    MORGAN,
    staffMember("sw-1", "social_worker"),
    staffMember("tm-1", "team_manager"),
    staffMember("irosm-1", "iro_service_manager"),
    staffMember("hos-s", "head_of_safeguarding", "hos.safeguarding@rotherham.example"),
    {
      ...staffMember("cafcass", "cafcass", "referrals@cafcass.example"),
      roles: [{ role: "cafcass", scope: { kind: "authority" } }],
    },
  ];
  const requested = () => {
    const s = new Scenario(
      rotherham,
      staff.map((m) =>
        m.personId === "hos-s"
          ? { ...m, roles: [{ role: "head_of_safeguarding", scope: { kind: "authority" as const } }] }
          : m,
      ),
    );
    s.run(
      {
        type: "Raise",
        challengeId: s.challengeId,
        actor: IRO_MORGAN,
        channel: "api",
        form: lacForm({ themes: ["placement"] }),
      },
      new Date("2026-06-01T09:00:00Z"),
    );
    const events = s.run(
      {
        type: "RequestReferral",
        challengeId: s.challengeId,
        actor: IRO_MORGAN,
        channel: "api",
        kind: "cafcass",
        rationale: "The plan has drifted for a year.",
        attestations: ["warrants_external_challenge", "acute_concern", "impact_on_child_considered"],
      },
      new Date("2026-06-02T09:00:00Z"),
    );
    return { s, events };
  };

  it("each approver the policy names is asked, by role", () => {
    const { s, events } = requested();
    const { emails } = plan(s, only(events, "ReferralRequested"));
    expect(summary(emails)).toEqual([
      {
        to: "irosm-1@nottingham.example",
        kind: "referral_approval",
        role: "referral_approver",
        reply: undefined,
      },
      {
        to: "hos.safeguarding@rotherham.example",
        kind: "referral_approval",
        role: "referral_approver",
        reply: undefined,
      },
    ]);
    const rendered = renderPlanned(emails[1] as PlannedEmail, { caseRecordBaseUrl: CASE_RECORD_BASE_URL });
    expect(rendered.subject).toBe(`Approval needed: referral to Cafcass, challenge CR-${s.challengeId}`);
    expect(rendered.text).toContain("The plan has drifted for a year.");
  });

  it("once made, the referral goes to the policy's recipient with the raiser copied in", () => {
    const { s } = requested();
    s.run(
      {
        type: "ApproveReferral",
        challengeId: s.challengeId,
        actor: { id: "irosm-1", role: "iro_service_manager" },
        channel: "api",
        kind: "cafcass",
        approverRole: "iro_service_manager",
      },
      new Date("2026-06-03T09:00:00Z"),
    );
    const events = s.run(
      {
        type: "ApproveReferral",
        challengeId: s.challengeId,
        actor: { id: "hos-s", role: "manager" },
        channel: "api",
        kind: "cafcass",
        approverRole: "head_of_safeguarding",
      },
      new Date("2026-06-03T10:00:00Z"),
    );
    const made = only(events, "ReferralMade");
    const { emails } = plan(s, made);
    expect(summary(emails)).toEqual([
      { to: "referrals@cafcass.example", kind: "referral", role: "referral_recipient", reply: undefined },
    ]);
    expect(emails[0]?.cc.map((c) => c.email)).toEqual([MORGAN.email]);
    expect(emails[0]?.notification).toMatchObject({
      referral: { rationale: "The plan has drifted for a year.", recipientTitle: "CAFCASS" },
    });
    expect(recipientTitleFor(s.events, made.seq, "referral_recipient")).toBe("CAFCASS");
  });
});

describe("the plan is stable and safe to render", () => {
  it("the same event plans the same emails and recipient keys (a redelivery is recognised)", () => {
    const s = atStage2();
    const opened = s.events.at(-1) as ChallengeEvent;
    const first = plan(s, opened);
    const second = plan(s, opened);
    expect(second).toEqual(first);
    expect(first.emails.map((e) => e.recipientKey)).toEqual([`assignee:${SAM.personId}`]);
  });

  it("no subject names the child, and every notice links the case record", () => {
    const s = atStage2();
    const [agreed] = s.run(
      {
        type: "AgreeActionPlan",
        challengeId: s.challengeId,
        actor: SAM_ACTOR,
        channel: "api",
        actions: [{ action: "Visit <Rowan> & record views", byWhen: "2026-12-02", byWhom: "SW" }],
      },
      new Date("2026-11-25T10:00:00Z"),
    );
    for (const email of plan(s, agreed as ChallengeEvent).emails) {
      const rendered = renderPlanned(email, { caseRecordBaseUrl: CASE_RECORD_BASE_URL });
      expect(rendered.subject).not.toContain("Rowan");
      expect(rendered.html).toContain("Visit &lt;Rowan&gt; &amp; record views");
      expect(rendered.html).toContain(`<a href="${CASE_RECORD_BASE_URL}LCS-449120">`);
    }
  });

  it("a tenant's own wording is used where its configuration carries it", () => {
    const s = atStage2();
    const templates = templatesFromConfig({
      mailTemplates: { stage_opened: { subject: "Northby: {{reference}} is with you ({{stageLabel}})" } },
    });
    expect(templatesFromConfig({})).toBeUndefined();
    expect(templatesFromConfig(undefined)).toBeUndefined();
    const [email] = plan(s, s.events.at(-1) as ChallengeEvent).emails;
    const rendered = renderPlanned(email as PlannedEmail, {
      caseRecordBaseUrl: CASE_RECORD_BASE_URL,
      ...(templates === undefined ? {} : { templates }),
    });
    expect(rendered.subject).toBe(`Northby: CR-${s.challengeId} is with you (Stage 2)`);
  });
});

describe("undeliverable emails", () => {
  it("the raiser is alerted that the manager's email bounced, naming the manager's role", () => {
    const s = atStage2();
    const opened = s.events.at(-1) as ChallengeEvent;
    const { emails } = undeliverableNotice({
      history: s.events,
      protocol: halton,
      directory: directoryOf(NORTHBY_STAFF),
      authorityName: AUTHORITY,
      failed: { seq: opened.seq, recipientRole: "assignee", kind: "stage_opened", reason: "bounced" },
    });
    expect(summary(emails)).toEqual([
      { to: MORGAN.email, kind: "undeliverable", role: "raiser", reply: undefined },
    ]);
    const rendered = renderPlanned(emails[0] as PlannedEmail, { caseRecordBaseUrl: CASE_RECORD_BASE_URL });
    expect(rendered.subject).toBe(`Email not delivered: challenge CR-${s.challengeId}`);
    expect(rendered.text).toContain("to the Divisional Manager could not be delivered");
  });

  it("no alert when the raiser's own email failed, or the alert itself did (no loops)", () => {
    const s = atStage2();
    const base = {
      history: s.events,
      protocol: halton,
      directory: directoryOf(NORTHBY_STAFF),
      authorityName: AUTHORITY,
    };
    expect(
      undeliverableNotice({
        ...base,
        failed: { recipientRole: "raiser", kind: "response_received", reason: "bounced" },
      }).emails,
    ).toEqual([]);
    expect(
      undeliverableNotice({
        ...base,
        failed: { recipientRole: "assignee", kind: "undeliverable", reason: "complaint" },
      }).emails,
    ).toEqual([]);
  });
});

// --- 003 stage 3: both Heads of Service, each their own email and reply address ---------------------

describe("co-equal recipients (Liquidlogic CP stage 3)", () => {
  const liquidlogic = getPreset("liquidlogic-cp");
  const staff: StaffMember[] = [
    { ...MORGAN, personId: "cpc-1" },
    staffMember("hos-ai", "head_of_service"),
    {
      ...staffMember("hos-cpru", "head_of_service"),
      roles: [{ role: "head_of_service_cpru", scope: { kind: "authority" } }],
    },
  ];
  function atStage3(): { s: Scenario; opened: EventOf<"StageOpened"> } {
    const s = new Scenario(liquidlogic, staff);
    const events = s.run(
      {
        type: "Raise",
        challengeId: s.challengeId,
        actor: { id: "cpc-1", role: "CPC" },
        channel: "api",
        form: lacForm({ track: "CP", raiserRole: "CPC", themes: ["plan_progress"], immediateRisk: true }),
        startAtStageId: "stage_3",
        bypassRationale: "Escalating risk at home.",
      },
      new Date("2026-06-01T09:00:00Z"),
    );
    return { s, opened: only(events, "StageOpened") };
  }

  it("'The Heads of Service (from A & I and CPRU)': each is sent the stage and can reply as its recipient", () => {
    const { s, opened } = atStage3();
    const { emails } = plan(s, opened);
    expect(summary(emails)).toEqual([
      { to: "hos-ai@nottingham.example", kind: "stage_opened", role: "assignee", reply: "assignee" },
      { to: "hos-cpru@nottingham.example", kind: "stage_opened", role: "assignee", reply: "assignee" },
    ]);
    // Each is greeted by their own title, and each gets a distinct email (and so reply token).
    const rendered = emails.map((e) => renderPlanned(e, { caseRecordBaseUrl: CASE_RECORD_BASE_URL }));
    expect(rendered[0]?.subject).toContain("Head of Service (A & I)");
    expect(rendered[1]?.subject).toContain("Head of Service (CPRU)");
    expect(new Set(emails.map((e) => e.to.personId))).toEqual(new Set(["hos-ai", "hos-cpru"]));
  });

  it("the reminder goes to both, each with a reply address", () => {
    const { s } = atStage3();
    const open = s.state.currentStage;
    if (open === null) throw new Error("no open stage");
    const reminded = s.run(
      {
        type: "SendReminder",
        challengeId: s.challengeId,
        actor: TIMER_ACTOR,
        channel: "timer",
        stageId: open.stageId,
      },
      reminderTime(open.deadline, liquidlogic, createEnglandCalendar()) ?? new Date(open.deadline),
    );
    expect(summary(plan(s, only(reminded, "ReminderSent")).emails)).toEqual([
      { to: "hos-ai@nottingham.example", kind: "reminder", role: "assignee", reply: "assignee" },
      { to: "hos-cpru@nottingham.example", kind: "reminder", role: "assignee", reply: "assignee" },
    ]);
  });
});
