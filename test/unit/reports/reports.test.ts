import { describe, expect, it } from "vitest";
import {
  csvField,
  describeOverdue,
  median,
  overdueView,
  targetOf,
  themesReport,
  toCsv,
  toHtml,
  type ThemesReport,
} from "../../../functions/reports/reports.js";
import type { ChallengeEvent, ChallengeForm } from "../../../functions/domain/challenge/index.js";
import { getPreset } from "../../../functions/domain/presets/index.js";
import { CPC, IRO, Story, TIMER, aForm, calendar, manager } from "../audit/support.js";

/**
 * The quarterly themes report over ten invented challenges, each run through the real domain
 * (`decide`, then `replay`) under a shipped preset with the real England calendar. Every figure is
 * worked out by hand in the comments below.
 *
 * Period: 1 April to 30 June 2026. Bank holidays in it: Good Friday 3 April, Easter Monday 6 April,
 * Early May 4 May, Spring 25 May. Times are UTC; London is UTC+1 (BST) throughout.
 */

const nottingham = getPreset("nottingham"); // both tracks: Levels 1-4, 5 working days each; target 20
const halton = getPreset("halton"); // LAC: Stage 1 informal, Stages 2-4 formal; target 20
const liquidlogic = getPreset("liquidlogic-cp"); // CP: informal then Stages 1-4, no stated target

const NORTH = { id: "north", name: "North Locality Team" };
// Awkward on purpose: CSV quoting and HTML escaping are tested with it.
const SOUTH = { id: "south", name: 'South & "Central" <Team>, East' };
const RIVERSIDE = { id: "riverside", name: "Riverside Team" };

const form = (overrides: Partial<ChallengeForm>): ChallengeForm => aForm(overrides);

function build(): Story[] {
  // A: Nottingham CP, IRO. Raised Tue 12 May, resolved at Level 1 on Fri 15 May.
  //    Working days after 12 May up to 15 May: 13, 14, 15 = 3. Within target (3 <= 20).
  const a = new Story(nottingham, "ch-a");
  a.do(
    { type: "Raise", actor: IRO, channel: "api", form: form({ team: NORTH, themes: ["needs_not_met"] }) },
    "2026-05-12T09:00:00Z",
  );
  a.do(
    { type: "Respond", actor: manager("team_manager", "north"), channel: "email", response: "Visit booked." },
    "2026-05-14T09:00:00Z",
  );
  a.do({ type: "MarkResolved", actor: IRO, channel: "api", summary: "Visited." }, "2026-05-15T13:00:00Z");

  // B: Nottingham CP, IRO. Raised Mon 11 May; Level 1 (Team Manager, North) due Mon 18 May 17:00
  //    (12, 13, 14, 15, 18), no response: escalated automatically on Tue 19 May to Level 2;
  //    resolved there Fri 22 May. Days: 12-15 (4) + 18-22 (5) = 9. Within target.
  const b = new Story(nottingham, "ch-b");
  b.do(
    { type: "Raise", actor: IRO, channel: "api", form: form({ team: NORTH, themes: ["not_safeguarded"] }) },
    "2026-05-11T09:00:00Z",
  );
  b.do({ type: "AutoEscalate", actor: TIMER, channel: "timer", stageId: "level_1" }, "2026-05-19T08:00:00Z");
  b.do(
    { type: "Respond", actor: manager("service_manager", "north"), channel: "api", response: "Allocated." },
    "2026-05-21T09:00:00Z",
  );
  b.do({ type: "MarkResolved", actor: IRO, channel: "api", summary: "Allocated." }, "2026-05-22T09:00:00Z");

  // C: Nottingham LAC, IRO, South. Raised Wed 1 Apr, escalated each week up to Level 4 (the
  //    Director answers on 28 Apr), resolved there Fri 8 May. Days after 1 Apr: April 2, 7-10,
  //    13-17, 20-24, 27-30 = 19; May 1, 5-8 = 5; total 24. NOT within target (24 > 20).
  const c = new Story(nottingham, "ch-c");
  c.do(
    {
      type: "Raise",
      actor: IRO,
      channel: "api",
      form: form({ track: "LAC", team: SOUTH, themes: ["needs_not_met", "not_safeguarded"] }),
    },
    "2026-04-01T09:00:00Z",
  );
  c.do({ type: "Escalate", actor: IRO, channel: "api", reasons: "No plan." }, "2026-04-09T09:00:00Z");
  c.do({ type: "Escalate", actor: IRO, channel: "api", reasons: "Still no plan." }, "2026-04-16T09:00:00Z");
  c.do({ type: "Escalate", actor: IRO, channel: "api", reasons: "Still no plan." }, "2026-04-23T09:00:00Z");
  c.do(
    {
      type: "Respond",
      actor: manager("director_childrens_services", "south"),
      channel: "api",
      response: "Funding agreed.",
    },
    "2026-04-28T09:00:00Z",
  );
  c.do(
    { type: "MarkResolved", actor: IRO, channel: "api", summary: "Placement funded." },
    "2026-05-08T09:00:00Z",
  );

  // D: Nottingham LAC, IRO, South. Raised Mon 20 Apr straight at Level 3 (bypass); escalated to
  //    Level 4 on Mon 27 Apr, due Tue 5 May (28, 29, 30, 1 May, 5 May); no response from the
  //    Director: escalated automatically beyond the last stage on Wed 6 May; Cafcass referral
  //    (no approval needed) on 7 May. Not resolved; every stage tried; open past target.
  const d = new Story(nottingham, "ch-d");
  d.do(
    {
      type: "Raise",
      actor: IRO,
      channel: "api",
      form: form({ track: "LAC", team: SOUTH, themes: ["not_safeguarded"] }),
      startAtStageId: "level_3",
      bypassRationale: "Two earlier challenges about this placement failed.",
    },
    "2026-04-20T09:00:00Z",
  );
  d.do({ type: "Escalate", actor: IRO, channel: "api", reasons: "No answer." }, "2026-04-27T09:00:00Z");
  d.do({ type: "AutoEscalate", actor: TIMER, channel: "timer", stageId: "level_4" }, "2026-05-06T08:00:00Z");
  d.do(
    {
      type: "RequestReferral",
      actor: IRO,
      channel: "api",
      kind: "cafcass",
      rationale: "Every level tried.",
      attestations: [
        "legal_advice_sought",
        "discussed_with_service_manager",
        "discussed_with_head_of_safeguarding",
      ],
    },
    "2026-05-07T09:00:00Z",
  );

  // E: Nottingham CP, CPC. Raised Thu 4 Jun, withdrawn the next day.
  const e = new Story(nottingham, "ch-e");
  e.do(
    {
      type: "Raise",
      actor: CPC,
      channel: "api",
      form: form({ raiserRole: "CPC", team: NORTH, themes: ["not_safeguarded"] }),
    },
    "2026-06-04T09:00:00Z",
  );
  e.do({ type: "Withdraw", actor: CPC, channel: "api", reason: "Raised in error." }, "2026-06-05T09:00:00Z");

  // F: Nottingham CP, CPC with a safeguarding concern: raised Mon 1 Jun straight at Level 2; plan
  //    agreed Thu 4 Jun; its action done; resolved Fri 12 Jun (recorded at the plan's stage,
  //    Level 2). Days: 2-5 (4) + 8-12 (5) = 9. Within target.
  const f = new Story(nottingham, "ch-f");
  f.do(
    {
      type: "Raise",
      actor: CPC,
      channel: "api",
      form: form({ raiserRole: "CPC", team: NORTH, themes: ["needs_not_met"] }),
      startAtStageId: "level_2",
      bypassRationale: "Child seen with bruising.",
      safeguardingConcern: true,
    },
    "2026-06-01T09:00:00Z",
  );
  f.do(
    {
      type: "AgreeActionPlan",
      actor: manager("service_manager", "north"),
      channel: "api",
      actions: [{ action: "Strategy discussion", byWhen: "2026-06-10", byWhom: "Team Manager" }],
    },
    "2026-06-04T09:00:00Z",
  );
  f.do(
    { type: "CompleteAction", actor: CPC, channel: "api", actionId: "ch-f-act-1" },
    "2026-06-10T09:00:00Z",
  );
  f.do(
    { type: "MarkResolved", actor: CPC, channel: "api", summary: "Strategy discussion held." },
    "2026-06-12T09:00:00Z",
  );

  // G: Nottingham LAC, IRO. Raised Tue 30 Jun (Level 1 due Tue 7 Jul: 1, 2, 3, 6, 7 Jul) and
  //    resolved on Thu 2 Jul, after the period: open as at the end of June.
  const g = new Story(nottingham, "ch-g");
  g.do(
    {
      type: "Raise",
      actor: IRO,
      channel: "api",
      form: form({ track: "LAC", team: NORTH, themes: ["needs_not_met"] }),
    },
    "2026-06-30T09:00:00Z",
  );
  g.do({ type: "MarkResolved", actor: IRO, channel: "api", summary: "Sorted." }, "2026-07-02T09:00:00Z");

  // H: raised Tue 31 Mar, the day before the period: not in the cohort.
  const h = new Story(nottingham, "ch-h");
  h.do(
    { type: "Raise", actor: IRO, channel: "api", form: form({ team: NORTH, themes: ["needs_not_met"] }) },
    "2026-03-31T09:00:00Z",
  );
  h.do({ type: "MarkResolved", actor: IRO, channel: "api", summary: "Done." }, "2026-04-02T09:00:00Z");

  // J: Halton LAC, IRM. Raised Mon 13 Apr at the informal Stage 1, answered, concurrent Cafcass
  //    referral on 20 Apr, escalated to the formal Stage 2 on Fri 15 May, resolved Wed 20 May.
  //    From raising: April 14-17, 20-24, 27-30 = 13; May 1, 5-8, 11-15, 18-20 = 13; total 26.
  //    The target is for the FORMAL process, from Stage 2 opening on 15 May: 18, 19, 20 = 3.
  //    Within target.
  const j = new Story(halton, "ch-j");
  j.do(
    {
      type: "Raise",
      actor: IRO,
      channel: "api",
      form: form({ track: "LAC", team: RIVERSIDE, themes: ["assessments"] }),
    },
    "2026-04-13T09:00:00Z",
  );
  j.do(
    {
      type: "Respond",
      actor: manager("team_manager", "riverside"),
      channel: "email",
      response: "Assessment under way.",
    },
    "2026-04-15T09:00:00Z",
  );
  j.do(
    {
      type: "RequestReferral",
      actor: IRO,
      channel: "api",
      kind: "cafcass",
      rationale: "Human rights risk.",
      attestations: ["human_rights_risk", "no_one_else_to_bring_proceedings"],
    },
    "2026-04-20T09:00:00Z",
  );
  j.do(
    { type: "Escalate", actor: IRO, channel: "api", reasons: "Assessment still not done." },
    "2026-05-15T09:00:00Z",
  );
  j.do(
    { type: "MarkResolved", actor: IRO, channel: "api", summary: "Assessment done." },
    "2026-05-20T14:00:00Z",
  );

  // L: Liquidlogic CP, CP Chair. Raised Mon 8 Jun at the informal stage (Social Worker, North), due
  //    Mon 15 Jun (9-12, 15); no response: the chair is alerted on Tue 16 Jun (this protocol
  //    leaves the next step to the raiser). Still open, never reached a formal stage.
  const l = new Story(liquidlogic, "ch-l");
  l.do(
    {
      type: "Raise",
      actor: CPC,
      channel: "api",
      form: form({ raiserRole: "CPC", team: NORTH, themes: ["plan_progress"] }),
    },
    "2026-06-08T09:00:00Z",
  );
  l.do({ type: "AutoEscalate", actor: TIMER, channel: "timer", stageId: "informal" }, "2026-06-16T08:00:00Z");

  return [a, b, c, d, e, f, g, h, j, l];
}

const stories = build();
const states = stories.map((s) => s.state);
const events: ChallengeEvent[] = stories.flatMap((s) => s.events);
const protocols = [nottingham, halton, liquidlogic];
const PERIOD = { from: "2026-04-01", to: "2026-06-30" };
const report: ThemesReport = themesReport(states, events, protocols, PERIOD, calendar, {
  goodPracticeNotifications: 3,
});

describe("themesReport", () => {
  it("counts the challenges raised in the period, by track and raiser (H, raised 31 March, is out)", () => {
    // CP IRO: A, B. CP CPC: E, F, L. LAC IRO: C, D, G, J.
    expect(report.raised).toEqual({
      total: 9,
      byTrackAndRole: [
        { track: "CP", raiserRole: "IRO", raiserTitle: "IRO", count: 2 },
        { track: "CP", raiserRole: "CPC", raiserTitle: "CPC", count: 3 },
        { track: "LAC", raiserRole: "IRO", raiserTitle: "IRO", count: 4 },
      ],
    });
    // The last instant of 30 June in London (BST): 22:59:59.999Z.
    expect(report.asAt).toBe("2026-06-30T22:59:59.999Z");
    expect(report.protocols.map((p) => p.id)).toEqual(["nottingham", "halton", "liquidlogic-cp"]);
  });

  it("says where they stand as at the end of the period (G's resolution on 2 July is not yet counted)", () => {
    expect(report.statusAsAt).toEqual([
      { status: "open", count: 2 }, // G, L
      { status: "ladder_exhausted", count: 1 }, // D
      { status: "resolved", count: 5 }, // A, B, C, F, J
      { status: "withdrawn", count: 1 }, // E
    ]);
  });

  it("counts the highest stage reached per stage label, every stage of the ladder listed", () => {
    const rows = report.highestStageReached.map((r) => `${r.protocolId} ${r.track} ${r.label}: ${r.count}`);
    expect(rows).toEqual([
      // Nottingham CP: A, E stopped at Level 1; B (automatically) and F (bypass) reached Level 2.
      "nottingham CP Level 1: 2",
      "nottingham CP Level 2: 2",
      "nottingham CP Level 3: 0",
      "nottingham CP Level 4: 0",
      // Nottingham LAC: G at Level 1; C and D reached Level 4.
      "nottingham LAC Level 1: 1",
      "nottingham LAC Level 2: 0",
      "nottingham LAC Level 3: 0",
      "nottingham LAC Level 4: 2",
      "halton LAC Stage 1: 0",
      "halton LAC Stage 2: 1",
      "halton LAC Stage 3: 0",
      "halton LAC Stage 4: 0",
      "liquidlogic-cp CP Informal: 1",
      "liquidlogic-cp CP Stage 1: 0",
      "liquidlogic-cp CP Stage 2: 0",
      "liquidlogic-cp CP Stage 3: 0",
      "liquidlogic-cp CP Stage 4: 0",
    ]);
  });

  it("counts the stage each challenge was resolved at", () => {
    const rows = report.resolvedAtStage
      .filter((r) => r.count > 0)
      .map((r) => `${r.protocolId} ${r.track} ${r.label}: ${r.count}`);
    // A at Level 1; B at Level 2; F at Level 2 (the stage that agreed its plan); C at Level 4; J at Stage 2.
    expect(rows).toEqual([
      "nottingham CP Level 1: 1",
      "nottingham CP Level 2: 2",
      "nottingham LAC Level 4: 1",
      "halton LAC Stage 2: 1",
    ]);
  });

  it("works out resolution times, the share within target and the median", () => {
    // Working days from raising to resolution: A 3, B 9, C 24, F 9, J 26. Sorted 3, 9, 9, 24, 26:
    // the median is 9. Within target (formal process <= 20 days): A 3, B 9, F 9, J 3 (from its
    // first formal stage); C 24 is not. 4 of 5 = 0.8. Open past target: D (formal since 20 April);
    // G has just started; L never reached a formal stage.
    expect(report.resolution).toEqual({
      resolved: 5,
      withinTarget: 4,
      shareWithinTarget: 0.8,
      medianWorkingDaysToResolution: 9,
      openPastTarget: 1,
      targets: [
        { protocolId: "nottingham", track: "CP", workingDays: 20, basis: "protocol_total" },
        { protocolId: "nottingham", track: "LAC", workingDays: 20, basis: "protocol_total" },
        { protocolId: "halton", track: "LAC", workingDays: 20, basis: "protocol_total" },
        // No stated total: Stages 1-4 at 5 working days each (the informal stage is not formal).
        { protocolId: "liquidlogic-cp", track: "CP", workingDays: 20, basis: "sum_of_stage_windows" },
      ],
    });
  });

  it("counts unanswered stages by the role and team they were sent to", () => {
    // L: the Social Worker (North) did not answer: raiser alert. B: the Team Manager (North) did
    // not answer: automatic escalation. D: the Director (South) did not answer: automatic.
    expect(report.noResponse).toEqual([
      {
        role: "social_worker",
        title: "Social Worker",
        team: "North Locality Team",
        autoEscalations: 0,
        raiserAlerts: 1,
      },
      {
        role: "team_manager",
        title: "Team Manager",
        team: "North Locality Team",
        autoEscalations: 1,
        raiserAlerts: 0,
      },
      {
        role: "director_childrens_services",
        title: "Director of Children's Integrated Services",
        team: SOUTH.name,
        autoEscalations: 1,
        raiserAlerts: 0,
      },
    ]);
  });

  it("counts referrals, themes with the protocol's labels, and good practice notifications", () => {
    // Cafcass: D (after the last level) and J (concurrent); neither needed approval.
    expect(report.referrals).toEqual([
      { kind: "cafcass", requested: 2, made: 2, awaitingApproval: 0 },
      { kind: "partnership", requested: 0, made: 0, awaitingApproval: 0 },
    ]);
    const counted = report.themes
      .filter((t) => t.count > 0)
      .map((t) => `${t.protocolId}: ${t.label}: ${t.count}`);
    // Nottingham needs_not_met: A, C, F, G = 4; not_safeguarded: B, C, D, E = 4.
    expect(counted).toEqual([
      "nottingham: Child's needs not being properly met: 4",
      "nottingham: Child not being properly safeguarded: 4",
      "halton: Assessments: 1",
      "liquidlogic-cp: Progress with the child protection plan: 1",
    ]);
    // Every theme of a protocol in use is listed, ticked or not.
    expect(report.themes.filter((t) => t.protocolId === "halton")).toHaveLength(halton.themes.length);
    expect(report.goodPracticeNotifications).toBe(3);
  });

  it("gives a later picture of the same cohort when asked as at a later date", () => {
    const later = themesReport(states, events, protocols, PERIOD, calendar, {
      asAt: new Date("2026-07-31T12:00:00Z"),
    });
    // G resolved on Thu 2 Jul: 1, 2 July = 2 working days. Days 2, 3, 9, 9, 24, 26: median (9 + 9) / 2 = 9.
    expect(later.raised.total).toBe(9);
    expect(later.resolution).toMatchObject({
      resolved: 6,
      withinTarget: 5,
      medianWorkingDaysToResolution: 9,
    });
  });

  it("refuses a cohort whose events or protocol were not given", () => {
    expect(() => themesReport(states, [], protocols, PERIOD, calendar)).toThrow(
      /no events were given for challenge ch-/,
    );
    expect(() => themesReport(states, events, [nottingham], PERIOD, calendar)).toThrow(
      /protocol "halton", which was not given/,
    );
  });

  it("derives a target from the formal stages' windows where the protocol states none", () => {
    const lcs = getPreset("lcs-issues-resolution").tracks.CP;
    const rotherham = getPreset("rotherham").tracks.LAC;
    if (lcs === undefined || rotherham === undefined) throw new Error("preset tracks missing");
    expect(targetOf(lcs)).toEqual({ workingDays: 40, basis: "sum_of_stage_windows" }); // four steps of two weeks
    // 5 + 5 + 5 + 5 (stage 4: the form's 5 working days, shorter than the guidance's 10), informal not counted
    expect(targetOf(rotherham)).toEqual({ workingDays: 20, basis: "sum_of_stage_windows" });
    expect(median([])).toBeNull();
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });
});

describe("toCsv", () => {
  const csv = toCsv(report);
  const lines = csv.split("\r\n");

  it("is one long table with CRLF line ends (RFC 4180)", () => {
    expect(lines[0]).toBe("section,track,category,label,value");
    expect(csv.endsWith("\r\n")).toBe(true);
    expect(csv.replaceAll("\r\n", "")).not.toMatch(/[\r\n]/);
    expect(lines).toContain("raised,,,Total,9");
    expect(lines).toContain("raised,LAC,IRO,IRO,4");
    expect(lines).toContain("resolution,,,Share resolved within target,0.8");
    expect(lines).toContain("resolution,,,Median working days to resolution,9");
    expect(lines).toContain("target_working_days,CP,liquidlogic-cp,sum_of_stage_windows,20");
    expect(lines).toContain("referrals,,cafcass,made,2");
    expect(lines).toContain("good_practice_notifications,,,Good practice notifications,3");
  });

  it("quotes fields with commas and quotes, doubling the quotes", () => {
    expect(lines).toContain(
      `auto_escalations,,"South & ""Central"" <Team>, East",Director of Children's Integrated Services,1`,
    );
  });

  it("defuses text a spreadsheet would run as a formula", () => {
    expect(csvField('=HYPERLINK("x")')).toBe(`"'=HYPERLINK(""x"")"`);
    expect(csvField("-1 + 2")).toBe("'-1 + 2");
    expect(csvField("two\nlines")).toBe('"two\nlines"');
    expect(csvField(0.25)).toBe("0.25");
  });
});

describe("toHtml", () => {
  const html = toHtml(report);

  it("is one self-contained page: inline CSS and SVG, no scripts or external assets", () => {
    expect(html.startsWith("<!doctype html>")).toBe(true);
    expect(html).toContain("<style>");
    expect(html).toContain('<svg role="img"');
    expect(html).not.toMatch(/<script|<link|<img|<iframe|url\(|src=|href=/i);
    // The only URL is the SVG namespace, which is a name, not something fetched.
    expect(new Set(html.match(/https?:\/\/[^"]+/g))).toEqual(new Set(["http://www.w3.org/2000/svg"]));
    expect(html).toContain("@media print");
  });

  it("escapes every text", () => {
    expect(html).not.toContain("<Team>");
    expect(html).toContain("South &amp; &quot;Central&quot; &lt;Team&gt;, East");
    expect(html).toContain("Child&#39;s needs not being properly met");
  });

  it("shows the headline figures", () => {
    expect(html).toContain("Challenges raised Wed 1 April 2026 to Tue 30 June 2026");
    expect(html).toContain("<td>Resolved within target</td><td>4 (80%)</td>");
    expect(html).toContain('<td>Median working days to resolution</td><td class="n">9</td>');
  });
});

describe("overdueView", () => {
  // G as at the end of June (Level 1 due Tue 7 Jul 17:00) and L (informal stage due Mon 15 Jun
  // 17:00, raiser alerted, still open), among states that have no open stage.
  const g = stories.find((s) => s.challengeId === "ch-g");
  const open = [...states.filter((s) => s.challengeId !== "ch-g"), g?.stateAt("2026-06-30T23:00:00Z")].filter(
    (s) => s !== undefined,
  );
  const now = new Date("2026-07-03T11:00:00Z"); // Fri 3 Jul, 12:00 London

  it("lists stages past their deadline and those within N working days of it, most urgent first", () => {
    const rows = overdueView(open, now, calendar, 2, protocols);
    // L: working days after 15 Jun up to 3 Jul: 16-19, 22-26, 29, 30, 1-3 Jul = 14 overdue.
    // G: working days after 3 Jul up to 7 Jul: 6, 7 = 2 left.
    expect(rows.map((r) => [r.challengeId, r.status, r.workingDays, r.stageLabel, r.assigneeTitle])).toEqual([
      ["ch-l", "overdue", 14, "Informal", "Social Worker"],
      ["ch-g", "due_soon", 2, "Level 1", "Team Manager"],
    ]);
    expect(rows[0]).toMatchObject({
      caseRecordId: "CR-000777",
      team: "North Locality Team",
      assigneePersonId: "social_worker@north",
    });
    expect(rows.map(describeOverdue)).toEqual([
      "ch-l Informal (Social Worker), North Locality Team: 14 working days overdue (due by 5pm on Monday 15 June 2026); not acknowledged within a working day",
      "ch-g Level 1 (Team Manager), North Locality Team: due in 2 working days (due by 5pm on Tuesday 7 July 2026); not acknowledged within a working day",
    ]);
  });

  it("leaves out stages further off than N working days, unless nobody acknowledged them within a working day", () => {
    const rows = overdueView(open, now, calendar, 1);
    expect(rows.map((r) => [r.challengeId, r.stageLabel, r.status, r.acknowledgementOverdue])).toEqual([
      ["ch-l", "informal", "overdue", true],
      ["ch-g", "level_1", "not_acknowledged", true],
    ]);
    const acknowledged = open.map((s) =>
      s.challengeId === "ch-g" && s.currentStage !== null
        ? { ...s, currentStage: { ...s.currentStage, acknowledgedAt: "2026-06-30T09:00:00.000Z" } }
        : s,
    );
    expect(overdueView(acknowledged, now, calendar, 1).map((r) => r.challengeId)).toEqual(["ch-l"]);
  });

  it("calls a deadline later today due in 0 working days", () => {
    const rows = overdueView(open, new Date("2026-07-07T08:00:00Z"), calendar, 0, protocols);
    expect(rows.find((r) => r.challengeId === "ch-g")).toMatchObject({ status: "due_soon", workingDays: 0 });
  });
});
