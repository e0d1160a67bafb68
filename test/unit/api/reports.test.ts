import { beforeEach, describe, expect, it, vi } from "vitest";

vi.hoisted(() => {
  process.env.POWERTOOLS_METRICS_DISABLED = "true";
  process.env.POWERTOOLS_LOG_LEVEL = "SILENT";
});

import type { APIGatewayProxyEventV2WithJWTAuthorizer } from "aws-lambda";
import type { ApiDependencies } from "../../../functions/api/http/dependencies.js";
import { createHandler } from "../../../functions/api/http/middleware.js";
import { mayCall } from "../../../functions/api/routes.js";
import { overdueReportSchema, spec as overdueSpec } from "../../../functions/api/reports-overdue.js";
import { HTML_CSP } from "../../../functions/api/http/report-format.js";
import { makeHandler as themesHandler, themesReportSchema } from "../../../functions/api/reports-themes.js";
import { AFTER_EVERY_DEADLINE } from "../../../functions/reports/readers.js";
import { themesReport } from "../../../functions/reports/reports.js";
import { createEnglandCalendar } from "../../../functions/domain/calendar.js";
import type { ChallengeForm } from "../../../functions/domain/challenge/index.js";
import type { GoodPracticeNotification } from "../../../functions/domain/good-practice.js";
import { getPreset } from "../../../functions/domain/presets/index.js";
import {
  OTHER_TENANT,
  TENANT,
  apiEvent,
  callers,
  lambdaContext,
  type Caller,
} from "../../support/api-events.js";
import { IRO, Story, TIMER, aForm, manager } from "../audit/support.js";
import { type Fakes, InMemoryGoodPractice, makeFakes } from "./fakes.js";

/**
 * GET /v1/reports/themes and GET /v1/reports/overdue over the in-memory store, with invented
 * challenges run through the real domain under the tenant's protocol (Nottingham) and the real
 * England calendar. Figures are worked out by hand in the comments.
 *
 * Permissions (functions/api/http/permissions.ts): reports are for managers, IRO service managers
 * and auditors; IROs, CPCs and the case-record system are refused.
 */

const nottingham = getPreset("nottingham");
const NORTH = { id: "north", name: "North Locality Team" };
// Awkward on purpose: CSV quoting and HTML escaping are tested with it.
const SOUTH = { id: "south", name: 'South & "Central" <Team>, East' };
const form = (overrides: Partial<ChallengeForm>): ChallengeForm => aForm(overrides);

/** A good practice store that can count, as the Dynamo one does (from and to inclusive). */
class CountingGoodPractice extends InMemoryGoodPractice {
  readonly counted: { tenantId: string; from: string; to: string }[] = [];
  countRecordedBetween(tenantId: string, from: string, to: string): Promise<number> {
    this.counted.push({ tenantId, from, to });
    return Promise.resolve(
      this.saved.filter(
        (s) =>
          s.tenantId === tenantId && s.notification.recordedAt >= from && s.notification.recordedAt <= to,
      ).length,
    );
  }
}

function notification(recordedAt: string, id: string): GoodPracticeNotification {
  return {
    id,
    protocolId: "nottingham",
    recordedAt,
    recordedBy: IRO,
    channel: "api",
    recordedAs: "case_note",
    child: { caseRecordId: "CR-1" },
    track: "CP",
    practitioner: { name: "Pat Invented", team: { name: "North Locality Team" } },
    firstLineManager: { name: "Fin Madeup" },
    whatWasGood: "Thorough assessment.",
  };
}

/** The themes cohort: A, B, C raised in April-June 2026; D (March), E (July) and F (another tenant) are not. */
function themesStories(): { inTenant: Story[]; foreign: Story } {
  // A: CP, raised Tue 12 May, resolved at Level 1 on Fri 15 May: 13, 14, 15 May = 3 working days.
  const a = new Story(nottingham, "ch-a");
  a.do(
    { type: "Raise", actor: IRO, channel: "api", form: form({ team: NORTH, themes: ["needs_not_met"] }) },
    "2026-05-12T09:00:00Z",
  );
  a.do(
    { type: "Respond", actor: manager("team_manager", "north"), channel: "email", response: "Booked." },
    "2026-05-14T09:00:00Z",
  );
  a.do({ type: "MarkResolved", actor: IRO, channel: "api", summary: "Visited." }, "2026-05-15T13:00:00Z");

  // B: CP, South, raised Mon 11 May; Level 1 (due Mon 18 May) unanswered: escalated automatically on
  //    Tue 19 May; resolved at Level 2 on Fri 22 May: 12-15 (4) + 18-22 (5) = 9 working days.
  const b = new Story(nottingham, "ch-b");
  b.do(
    { type: "Raise", actor: IRO, channel: "api", form: form({ team: SOUTH, themes: ["not_safeguarded"] }) },
    "2026-05-11T09:00:00Z",
  );
  b.do({ type: "AutoEscalate", actor: TIMER, channel: "timer", stageId: "level_1" }, "2026-05-19T08:00:00Z");
  b.do(
    { type: "Respond", actor: manager("service_manager", "south"), channel: "api", response: "Allocated." },
    "2026-05-21T09:00:00Z",
  );
  b.do({ type: "MarkResolved", actor: IRO, channel: "api", summary: "Allocated." }, "2026-05-22T09:00:00Z");

  // C: LAC, raised Thu 4 Jun, withdrawn the next day.
  const c = new Story(nottingham, "ch-c");
  c.do(
    {
      type: "Raise",
      actor: IRO,
      channel: "api",
      form: form({ track: "LAC", team: NORTH, themes: ["needs_not_met"] }),
    },
    "2026-06-04T09:00:00Z",
  );
  c.do({ type: "Withdraw", actor: IRO, channel: "api", reason: "Raised in error." }, "2026-06-05T09:00:00Z");

  const d = new Story(nottingham, "ch-d");
  d.do({ type: "Raise", actor: IRO, channel: "api", form: form({ team: NORTH }) }, "2026-03-20T09:00:00Z");
  const e = new Story(nottingham, "ch-e");
  e.do({ type: "Raise", actor: IRO, channel: "api", form: form({ team: NORTH }) }, "2026-07-02T09:00:00Z");
  const f = new Story(nottingham, "ch-f");
  f.do({ type: "Raise", actor: IRO, channel: "api", form: form({ team: NORTH }) }, "2026-05-13T09:00:00Z");
  return { inTenant: [a, b, c, d, e], foreign: f };
}

const PERIOD = { from: "2026-04-01", to: "2026-06-30" };
/** After the period: the figures are as at its end. */
const AFTER = new Date("2026-07-15T09:00:00Z");
/** The last instant of 30 June in London (BST). */
const END_OF_PERIOD = "2026-06-30T22:59:59.999Z";

let fakes: Fakes;
let goodPractice: CountingGoodPractice;
let deps: ApiDependencies;
let stories: Story[];

beforeEach(async () => {
  fakes = await makeFakes();
  goodPractice = new CountingGoodPractice();
  deps = { ...fakes.deps, goodPractice, clock: () => AFTER };
  const { inTenant, foreign } = themesStories();
  stories = inTenant;
  for (const story of inTenant) await fakes.challenges.append(TENANT, 0, story.events, story.state);
  await fakes.challenges.append(OTHER_TENANT, 0, foreign.events, foreign.state);
  // London 1 April 00:30 (in), 10 April (in), 30 June 23:30 (in), 1 July 00:30 (out); another tenant's (out).
  for (const [at, id] of [
    ["2026-03-31T23:30:00.000Z", "gp-1"],
    ["2026-04-10T09:00:00.000Z", "gp-2"],
    ["2026-06-30T22:30:00.000Z", "gp-3"],
    ["2026-06-30T23:30:00.000Z", "gp-4"],
  ] as const) {
    await goodPractice.put(TENANT, notification(at, id));
  }
  await goodPractice.put(OTHER_TENANT, notification("2026-05-01T09:00:00.000Z", "gp-5"));
});

interface TextResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly text: string;
}

/** Calls a handler and keeps its body as the text it is (CSV and HTML are not JSON). */
async function call(
  handler: (
    event: APIGatewayProxyEventV2WithJWTAuthorizer,
    context: ReturnType<typeof lambdaContext>,
  ) => Promise<unknown>,
  event: APIGatewayProxyEventV2WithJWTAuthorizer,
): Promise<TextResponse> {
  const raw = (await handler(event, lambdaContext())) as {
    statusCode: number;
    headers?: Record<string, string | number | boolean>;
    body?: string;
  };
  return {
    status: raw.statusCode,
    headers: Object.fromEntries(
      Object.entries(raw.headers ?? {}).map(([k, v]) => [k.toLowerCase(), String(v)]),
    ),
    text: raw.body ?? "",
  };
}

function themes(query: Record<string, string>, caller: Caller = callers.auditor): Promise<TextResponse> {
  return call(themesHandler(deps), apiEvent("reports-themes", { caller, query }));
}

function json(response: TextResponse): unknown {
  return JSON.parse(response.text) as unknown;
}

describe("GET /v1/reports/themes as JSON", () => {
  it("gives the figures of the known set: the challenges raised in the period, by key reads", async () => {
    const spy = vi.spyOn(fakes.challenges, "raisedInMonth");
    const response = await themes(PERIOD);
    expect(response.status).toBe(200);
    expect(response.headers["content-type"]).toBe("application/json");
    expect(response.headers["cache-control"]).toBe("no-store");
    // One query per month of the period (never a scan); D (March) and E (July) are never read.
    expect(spy.mock.calls.map(([tenant, month]) => `${tenant} ${month}`)).toEqual([
      `${TENANT} 2026-04`,
      `${TENANT} 2026-05`,
      `${TENANT} 2026-06`,
    ]);

    const body = themesReportSchema.parse(json(response));
    expect(body.asAt).toBe(END_OF_PERIOD);
    expect(body.raised).toEqual({
      total: 3, // A, B, C; D, E are outside the period, F is another tenant's
      byTrackAndRole: [
        { track: "CP", raiserRole: "IRO", raiserTitle: "IRO", count: 2 },
        { track: "LAC", raiserRole: "IRO", raiserTitle: "IRO", count: 1 },
      ],
    });
    expect(body.statusAsAt).toEqual([
      { status: "resolved", count: 2 },
      { status: "withdrawn", count: 1 },
    ]);
    // A 3 and B 9 working days: median 6; both within Nottingham's 20.
    expect(body.resolution).toMatchObject({
      resolved: 2,
      withinTarget: 2,
      shareWithinTarget: 1,
      medianWorkingDaysToResolution: 6,
      openPastTarget: 0,
    });
    expect(body.noResponse).toEqual([
      { role: "team_manager", title: "Team Manager", team: SOUTH.name, autoEscalations: 1, raiserAlerts: 0 },
    ]);
    expect(body.themes.filter((t) => t.count > 0).map((t) => `${t.themeId}: ${t.count}`)).toEqual([
      "needs_not_met: 2",
      "not_safeguarded: 1",
    ]);
    // gp-1, gp-2, gp-3: London dates 1 April to 30 June; counted over exactly the period's instants.
    expect(body.goodPracticeNotifications).toBe(3);
    expect(goodPractice.counted).toEqual([
      { tenantId: TENANT, from: "2026-03-31T23:00:00.000Z", to: END_OF_PERIOD },
    ]);

    // The route adds nothing of its own: it is the pure report over what it loaded.
    const [a, b, c] = stories;
    if (a === undefined || b === undefined || c === undefined) throw new Error("stories missing");
    const expected = themesReport(
      [a.state, b.state, c.state],
      [...a.events, ...b.events, ...c.events],
      [nottingham],
      PERIOD,
      createEnglandCalendar(),
      { goodPracticeNotifications: 3, asAt: new Date(END_OF_PERIOD) },
    );
    expect(body).toEqual(JSON.parse(JSON.stringify(expected)));
  });

  it("is as at now while the period is still running", async () => {
    const now = new Date("2026-06-01T09:00:00Z");
    deps = { ...deps, clock: () => now };
    const body = themesReportSchema.parse(json(await themes(PERIOD)));
    expect(body.asAt).toBe(now.toISOString());
    // C is raised on 4 June, after now.
    expect(body.raised.total).toBe(2);
    expect(goodPractice.counted.at(-1)).toEqual({
      tenantId: TENANT,
      from: "2026-03-31T23:00:00.000Z",
      to: now.toISOString(),
    });
  });

  it("takes the closure days from the tenant's configuration", async () => {
    // With 13 and 14 May closed, A took 1 working day (15 May) and B 7 (12, 15, 18-22): median 4.
    await fakes.tenants.putConfig(TENANT, {
      protocolId: "nottingham",
      closureDays: ["2026-05-13", "2026-05-14"],
      reminders: {},
    });
    const body = themesReportSchema.parse(json(await themes(PERIOD)));
    expect(body.resolution.medianWorkingDaysToResolution).toBe(4);
  });

  it("answers 409 for a tenant that has not chosen its protocol", async () => {
    const foreignAuditor = { ...callers.auditor, tenant: OTHER_TENANT };
    const response = await themes(PERIOD, foreignAuditor);
    expect(response.status).toBe(409);
    expect(json(response)).toMatchObject({ code: "TENANT_NOT_CONFIGURED" });
  });
});

describe("GET /v1/reports/themes as CSV and HTML", () => {
  it("sends CSV as an attachment, text/csv, quoted per RFC 4180", async () => {
    const response = await themes({ ...PERIOD, format: "csv" });
    expect(response.status).toBe(200);
    expect(response.headers["content-type"]).toBe("text/csv; charset=utf-8");
    expect(response.headers["content-disposition"]).toBe(
      'attachment; filename="themes-report-2026-04-01-to-2026-06-30.csv"',
    );
    // The text itself, not a JSON string of it.
    expect(response.text.startsWith("section,track,category,label,value\r\n")).toBe(true);
    const lines = response.text.split("\r\n");
    expect(lines).toContain("raised,,,Total,3");
    expect(lines).toContain("good_practice_notifications,,,Good practice notifications,3");
    expect(lines).toContain(`auto_escalations,,"South & ""Central"" <Team>, East",Team Manager,1`);
  });

  it("sends the printable page as text/html, every text escaped, nothing allowed to load or run", async () => {
    const response = await themes({ ...PERIOD, format: "html" });
    expect(response.status).toBe(200);
    expect(response.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect(response.headers["content-security-policy"]).toBe(HTML_CSP);
    expect(response.headers["x-content-type-options"]).toBe("nosniff");
    expect(response.text.startsWith("<!doctype html>")).toBe(true);
    expect(response.text).toContain("South &amp; &quot;Central&quot; &lt;Team&gt;, East");
    expect(response.text).not.toContain("<Team>");
    expect(response.text).not.toMatch(/<script/i);
    expect(response.text).toContain("<td>Challenges raised</td>");
  });

  it("keeps errors as problem+json whatever format was asked for", async () => {
    const response = await themes({ from: "2026-06-30", to: "2026-04-01", format: "html" });
    expect(response.status).toBe(400);
    expect(response.headers["content-type"]).toBe("application/problem+json");
  });
});

describe("GET /v1/reports/themes: the period", () => {
  it.each([
    [{ from: "2026-06-30", to: "2026-04-01" }, "to", /ends \(2026-04-01\) before it starts \(2026-06-30\)/],
    [{ from: "2025-04-01", to: "2026-05-31" }, "to", /spans 14 calendar months; a report covers at most 13/],
    [{ from: "2026-02-30", to: "2026-03-31" }, "from", /date/i],
    [{ to: "2026-03-31" }, "from", /required/],
    [{ ...PERIOD, format: "xlsx" }, "format", /json|csv|html/],
  ])("refuses %j with a 400 naming %s", async (query, parameter, detail) => {
    const response = await themes(query);
    expect(response.status).toBe(400);
    const problem = json(response) as { code: string; errors: { parameter?: string; detail: string }[] };
    expect(problem.code).toBe("VALIDATION_ERROR");
    expect(problem.errors).toEqual([{ parameter, detail: expect.stringMatching(detail) as unknown }]);
  });

  it("accepts 13 calendar months and a one-day period", async () => {
    expect((await themes({ from: "2025-06-01", to: "2026-06-30" })).status).toBe(200);
    expect((await themes({ from: "2026-05-12", to: "2026-05-12" })).status).toBe(200);
  });
});

describe("who may read the reports", () => {
  it.each([
    ["auditor", callers.auditor, 200],
    ["manager", callers.teamManager, 200],
    ["iro_service_manager", callers.serviceManager, 200],
    ["IRO", callers.iro, 403],
    ["CPC", callers.cpc, 403],
    ["case_record_system (no reports/read scope)", callers.lcs, 403],
  ])("the themes report: %s gets %i", async (_, caller, status) => {
    expect((await themes(PERIOD, caller)).status).toBe(status);
  });

  it("the permission table says the same for every report", () => {
    for (const route of ["reports-themes", "reports-overdue", "reports-live"]) {
      expect(
        ["auditor", "manager", "iro_service_manager"].every((role) => mayCall(route, role as never)),
      ).toBe(true);
      expect(
        ["IRO", "CPC", "case_record_system", "system"].some((role) => mayCall(route, role as never)),
      ).toBe(false);
    }
  });
});

describe("GET /v1/reports/overdue", () => {
  // Now: Fri 12 Jun 2026, 12:00 London. Nottingham Level 1 answers within 5 working days.
  const NOW = new Date("2026-06-12T11:00:00Z");

  beforeEach(async () => {
    fakes = await makeFakes();
    deps = { ...fakes.deps, clock: () => NOW };
    const raise = async (id: string, at: string, resolveAt?: string) => {
      const story = new Story(nottingham, id);
      story.do({ type: "Raise", actor: IRO, channel: "api", form: form({ team: NORTH }) }, at);
      if (resolveAt !== undefined) {
        story.do({ type: "MarkResolved", actor: IRO, channel: "api", summary: "Done." }, resolveAt);
      }
      await fakes.challenges.append(TENANT, 0, story.events, story.state);
    };
    await raise("ch-o1", "2026-06-01T09:00:00Z"); // due Mon 8 Jun: 9, 10, 11, 12 = 4 working days overdue
    await raise("ch-o2", "2026-06-11T09:00:00Z"); // due Thu 18 Jun: 15, 16, 17, 18 = 4 working days left
    await raise("ch-o3", "2026-06-08T09:00:00Z"); // due Mon 15 Jun: 1 working day left
    await raise("ch-o4", "2026-06-01T10:00:00Z", "2026-06-02T09:00:00Z"); // resolved: no open stage
  });

  const overdue = (query: Record<string, string> | undefined, caller: Caller = callers.serviceManager) =>
    call(
      createHandler(overdueSpec, deps),
      apiEvent("reports-overdue", { caller, ...(query ? { query } : {}) }),
    );

  it("lists stages overdue and due within 2 working days (the default), most urgent first", async () => {
    const spy = vi.spyOn(fakes.challenges, "openByDueDate");
    const response = await overdue(undefined);
    expect(response.status).toBe(200);
    const body = overdueReportSchema.parse(json(response));
    expect(body.nearWorkingDays).toBe(2);
    expect(body.asAt).toBe(NOW.toISOString());
    expect(body.rows.map((r) => [r.challengeId, r.status, r.workingDays, r.stageLabel])).toEqual([
      ["ch-o1", "overdue", 4, "Level 1"],
      ["ch-o3", "due_soon", 1, "Level 1"],
    ]);
    expect(body.rows[0]?.text).toBe(
      "ch-o1 Level 1 (Team Manager), North Locality Team: 4 working days overdue (due by 5pm on Monday 8 June 2026); not acknowledged within a working day",
    );
    // Every open stage is read: one nobody acknowledged is listed however far off its deadline.
    expect(spy.mock.calls[0]?.[1]).toBe(AFTER_EVERY_DEADLINE);
    // ch-o2 opened yesterday morning: its acknowledgement is due by close of business today.
    expect(body.rows.map((r) => [r.challengeId, r.acknowledgementOverdue])).toEqual([
      ["ch-o1", true],
      ["ch-o3", true],
    ]);
  });

  it("reaches further with nearWorkingDays", async () => {
    const body = overdueReportSchema.parse(json(await overdue({ nearWorkingDays: "4" })));
    expect(body.rows.map((r) => [r.challengeId, r.status, r.workingDays])).toEqual([
      ["ch-o1", "overdue", 4],
      ["ch-o3", "due_soon", 1],
      ["ch-o2", "due_soon", 4],
    ]);
  });

  it("refuses a negative or fractional nearWorkingDays, and IROs", async () => {
    expect((await overdue({ nearWorkingDays: "-1" })).status).toBe(400);
    expect((await overdue({ nearWorkingDays: "1.5" })).status).toBe(400);
    expect((await overdue(undefined, callers.iro)).status).toBe(403);
    expect((await overdue(undefined, callers.auditor)).status).toBe(200);
  });
});
