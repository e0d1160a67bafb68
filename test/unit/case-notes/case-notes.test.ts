import { describe, expect, it } from "vitest";
import { caseNotesFor, type CaseNote } from "../../../functions/case-notes/case-notes.js";
import { toExportLine } from "../../../functions/audit/export-format.js";
import { timeline } from "../../../functions/audit/timeline.js";
import { getPreset } from "../../../functions/domain/presets/index.js";
import {
  CHILD_DOB,
  CHILD_NAME,
  CPC,
  IRO,
  Story,
  TENANT,
  TIMER,
  aForm,
  chain,
  manager,
} from "../audit/support.js";

/** Case notes for challenges run through the real domain under two shipped presets. */

/** Personal data the notes must never carry (the child's name and birth date, emails, staff ids, names). */
function expectNoPersonalData(notes: readonly CaseNote[]): void {
  const text = notes.map((n) => `${n.title}\n${n.body}`).join("\n");
  for (const forbidden of [CHILD_NAME, CHILD_DOB, "@", "Sol Madeup", "Tam Fictional", "CR-000777"]) {
    expect(text).not.toContain(forbidden);
  }
}

describe("caseNotesFor: Liquidlogic CP (003), notes titled as the seed names them", () => {
  const protocol = getPreset("liquidlogic-cp");
  const story = new Story(protocol, "ch-notes-003");
  const sm = manager("service_manager", "north");
  story.do(
    {
      type: "Raise",
      actor: CPC,
      channel: "api",
      form: aForm({ raiserRole: "CPC", themes: ["plan_progress"] }),
    },
    "2026-06-08T09:00:00Z",
  );
  story.do(
    { type: "AutoEscalate", actor: TIMER, channel: "timer", stageId: "informal" },
    "2026-06-16T08:00:00Z",
  );
  story.do(
    { type: "Escalate", actor: CPC, channel: "api", reasons: "No reply from the social worker." },
    "2026-06-16T09:00:00Z",
  );
  story.do(
    { type: "Escalate", actor: CPC, channel: "api", reasons: "Team Manager unavailable." },
    "2026-06-17T09:00:00Z",
  );
  story.do(
    {
      type: "RecordMeeting",
      actor: sm,
      channel: "api",
      heldOn: "2026-06-18",
      attendees: ["Service Manager", "CP Chair", "Team Manager"],
      summary: "Agreed to convene the core group.",
    },
    "2026-06-18T14:00:00Z",
  );
  story.do(
    {
      type: "AgreeActionPlan",
      actor: sm,
      channel: "api",
      actions: [{ action: "Convene the core group", byWhen: "2026-06-26", byWhom: "Team Manager" }],
    },
    "2026-06-18T15:00:00Z",
  );
  story.do(
    { type: "CompleteAction", actor: CPC, channel: "api", actionId: "ch-notes-003-act-1" },
    "2026-06-26T10:00:00Z",
  );
  story.do(
    { type: "MarkResolved", actor: CPC, channel: "api", summary: "Core group met." },
    "2026-06-29T10:00:00Z",
  );

  const notes = caseNotesFor(story.state, story.events, protocol);

  it("writes one note per event, in order", () => {
    expect(notes.map((n) => [n.seq, n.eventType])).toEqual(story.events.map((e) => [e.seq, e.type]));
  });

  it("titles each note with the case note of the stage it belongs to", () => {
    const informal = "Case note, Record sheet entry- IRO CP, informal resolution";
    const stage1 = "Case note, Record sheet entry- IRO CP, formal resolution process stage 1- Team Manager";
    const stage2 = "Case note-record sheet entry- IRO CP formal resolution stage 2- Service Manager";
    expect(notes.map((n) => [n.eventType, n.title])).toEqual([
      ["ChallengeRaised", informal],
      ["StageOpened", informal],
      ["RaiserAlerted", informal],
      // An escalation is the outcome of the stage it leaves; the next stage's note is its opening.
      ["Escalated", informal],
      ["StageOpened", stage1],
      ["Escalated", stage1],
      ["StageOpened", stage2],
      ["MeetingRecorded", stage2],
      ["ActionPlanAgreed", stage2],
      // After the plan, its actions and the resolution belong to the stage that agreed it.
      ["ActionCompleted", stage2],
      ["Resolved", stage2],
    ]);
  });

  it("says what happened in plain words, without headings where the protocol lists none", () => {
    expect(notes.every((n) => n.sections === undefined)).toBe(true);
    const [raised, opened, alerted] = notes;
    expect(raised?.body).toBe(
      "The CP Chair raised a challenge about the progress of the child protection plan.\n\n" +
        "Sent to Informal (the Social Worker); a response is due by 5pm on Monday 15 June.",
    );
    expect(opened?.body).toBe(
      "Informal (Form: CP informal resolution) opened: the challenge was sent to the Social Worker, copied to the Team Manager.\n\n" +
        "A response is due by 5pm on Monday 15 June.",
    );
    expect(alerted?.body).toBe(
      "No response was received from the Social Worker at Informal by the deadline, 5pm on Monday 15 June.\n\n" +
        "The CP Chair was asked to resolve the challenge or escalate it with reasons by 5pm on Tuesday 16 June; otherwise it escalates automatically.",
    );
    expect(notes[7]?.body).toBe(
      "A meeting was held on Thu 18 June 2026 at Stage 2. Attendees: Service Manager, CP Chair and Team Manager.\n" +
        "Agreed to convene the core group.\n\n" +
        "Recorded by the Service Manager; the challenge remains at Stage 2.",
    );
    expect(notes[9]?.body).toBe(
      'The agreed action "Convene the core group" (by Team Manager, by Fri 26 June 2026) was recorded as done by the CP Chair.\n\n' +
        "Every agreed action is now recorded.",
    );
    expect(notes[10]?.body).toBe(
      "The CP Chair recorded the challenge as resolved at Stage 2:\nCore group met.\n\nResolved.",
    );
  });

  it("carries no personal data beyond the challenge record's own words", () => {
    expectNoPersonalData(notes);
  });

  it("refuses another protocol's challenge", () => {
    expect(() => caseNotesFor(story.state, story.events, getPreset("nottingham"))).toThrow(
      /runs under protocol "liquidlogic-cp"/,
    );
  });
});

describe("caseNotesFor: LCS Issues Resolution (000), query, action and outcome", () => {
  const protocol = getPreset("lcs-issues-resolution");
  const story = new Story(protocol, "ch-notes-000");
  story.do(
    {
      type: "Raise",
      actor: IRO,
      channel: "api",
      form: aForm({ track: "LAC", themes: ["plan_not_progressed"] }),
    },
    "2026-05-21T09:00:00Z",
  );
  story.do(
    {
      type: "Respond",
      actor: manager("social_worker", "north"),
      channel: "email",
      response: "Waiting for a panel date.",
    },
    "2026-05-22T09:00:00Z",
  );
  story.do(
    { type: "Escalate", actor: IRO, channel: "api", reasons: "A panel date is needed now." },
    "2026-05-26T09:00:00Z",
  );
  story.do(
    {
      type: "Respond",
      actor: manager("team_manager", "north"),
      channel: "api",
      response: "Panel booked for 3 June.",
    },
    "2026-05-27T09:00:00Z",
  );
  story.do(
    { type: "MarkResolved", actor: IRO, channel: "api", summary: "Panel booked." },
    "2026-05-28T09:00:00Z",
  );

  const notes = caseNotesFor(story.state, story.events, protocol);

  it("titles every note with the step's own name", () => {
    expect(notes.map((n) => n.title)).toEqual([
      "IRO Level 1 Discussion (LAC)",
      "IRO Level 1 Discussion (LAC)",
      "IRO Level 1 Discussion (LAC)",
      "IRO Level 1 Discussion (LAC)",
      "IRO Level 2 Discussion (LAC)",
      "IRO Level 2 Discussion (LAC)",
      "IRO Level 2 Discussion (LAC)",
    ]);
  });

  it("has the headings the protocol lists, in its order", () => {
    for (const note of notes) {
      expect(note.sections?.map((s) => s.heading)).toEqual(["query", "action", "outcome"]);
      expect(note.body).toMatch(/^Query:\n[^]*\n\nAction:\n[^]*\n\nOutcome:\n/);
    }
  });

  it("puts the concern in the first query and refers back to it afterwards", () => {
    expect(notes[0]?.sections?.[0]?.text).toBe(
      "Core group meetings have not taken place for eight weeks.\nWhat needs to happen: Core group to meet within ten days.",
    );
    expect(notes[3]?.body).toBe(
      "Query:\nThe challenge raised by the IRO on Thu 21 May 2026 about: Failure to progress the implementation of the plan.\n\n" +
        "Action:\nThe IRO was not satisfied with the outcome at Level 1 and escalated the challenge. Reasons:\n" +
        "A panel date is needed now.\n\n" +
        "Outcome:\nEscalated to Level 2 (the CAS TM).",
    );
    expect(notes[2]?.sections?.[1]?.text).toBe("The SW responded at Level 1:\nWaiting for a panel date.");
    expect(notes[6]?.sections?.[2]?.text).toBe("Resolved.");
  });

  it("carries no personal data beyond the challenge record's own words", () => {
    expectNoPersonalData(notes);
  });
});

describe("the timer's reminders and actions falling due, in the case notes and the audit timeline", () => {
  const protocol = getPreset("liquidlogic-cp");
  const story = new Story(protocol, "ch-notes-timer");
  story.do(
    { type: "Raise", actor: CPC, channel: "api", form: aForm({ raiserRole: "CPC" }) },
    "2026-06-08T09:00:00Z",
  );
  // One working day before the deadline (Monday 15 June, 5pm): Friday 12 June, 5pm.
  story.do(
    { type: "SendReminder", actor: TIMER, channel: "timer", stageId: "informal" },
    "2026-06-12T16:00:00Z",
  );
  story.do(
    {
      type: "AgreeActionPlan",
      actor: CPC,
      channel: "api",
      actions: [
        { action: "Convene the core group", byWhen: "2026-06-19", byWhom: "Team Manager" },
        { action: "Visit the child", byWhen: "2026-06-22", byWhom: "Social Worker" },
      ],
    },
    "2026-06-15T10:00:00Z",
  );
  story.do(
    {
      type: "RecordActionsDue",
      actor: TIMER,
      channel: "timer",
      actionIds: ["ch-notes-timer-act-1", "ch-notes-timer-act-2"],
    },
    "2026-06-23T08:00:00Z",
  );
  const notes = caseNotesFor(story.state, story.events, protocol);
  const informal = "Case note, Record sheet entry- IRO CP, informal resolution";

  it("notes the reminder under its stage, and the actions that fell due under the plan's stage", () => {
    expect(notes.map((n) => [n.eventType, n.title])).toEqual([
      ["ChallengeRaised", informal],
      ["StageOpened", informal],
      ["ReminderSent", informal],
      ["ActionPlanAgreed", informal],
      ["ActionsFellDue", informal],
    ]);
    expect(notes[2]?.body).toBe(
      "The Social Worker was reminded that a response at Informal is due by 5pm on Monday 15 June.\n\n" +
        "Awaiting a response.",
    );
    expect(notes[4]?.body).toBe(
      "The date agreed for 2 actions passed without them being recorded as done or not done:\n" +
        "1. Convene the core group (by Team Manager, by Fri 19 June 2026)\n" +
        "2. Visit the child (by Social Worker, by Mon 22 June 2026)\n\n" +
        "The CP Chair was asked to record whether they were done.",
    );
    expectNoPersonalData(notes);
  });

  it("tells both in the audit timeline, as the timer's doing", () => {
    const lines = chain(TENANT, story.events).map(toExportLine);
    const entries = timeline(lines, protocol).map((e) => e.text);
    expect(entries[1]).toBe(
      "Reminder sent by the workflow timer to the Social Worker at Informal: response due by 5pm on Monday 15 June",
    );
    expect(entries[3]).toBe(
      "Actions 1 and 2 of the plan fell due: the workflow timer asked the CP Chair whether they were done",
    );
  });
});
