import type { APIGatewayProxyEventV2WithJWTAuthorizer } from "aws-lambda";
import { beforeEach, describe, expect, it } from "vitest";
import type { ApiDependencies } from "../../../functions/api/http/dependencies.js";
import { makeHandler } from "../../../functions/api/reports-live.js";
import { HTML_CSP } from "../../../functions/api/http/report-format.js";
import { getPreset } from "../../../functions/domain/presets/index.js";
import {
  OTHER_TENANT,
  TENANT,
  apiEvent,
  callers,
  lambdaContext,
  type Caller,
} from "../../support/api-events.js";
import { IRO, Story, aForm, manager } from "../audit/support.js";
import { type Fakes, makeFakes } from "./fakes.js";

/**
 * GET /v1/reports/live over the in-memory store, with invented challenges run through the real
 * domain (Nottingham, the fakes' protocol) and the real England calendar. Now: Fri 12 June 2026,
 * 12:00 London.
 */

const nottingham = getPreset("nottingham");
const NOW = new Date("2026-06-12T11:00:00Z");
const NORTH = { id: "north", name: "North Locality Team" };
const SOUTH = { id: "south", name: "South <Team>" };

let fakes: Fakes;
let deps: ApiDependencies;

async function store(tenantId: string, story: Story): Promise<void> {
  await fakes.challenges.append(tenantId, 0, story.events, story.state);
}

beforeEach(async () => {
  fakes = await makeFakes();
  deps = { ...fakes.deps, clock: () => NOW };
  const raise = (id: string, at: string, team = NORTH, caseRecordId = `CR-${id}`): Story => {
    const story = new Story(nottingham, id);
    story.do(
      {
        type: "Raise",
        actor: IRO,
        channel: "api",
        form: aForm({ team, child: { ...aForm().child, caseRecordId }, themes: ["needs_not_met"] }),
      },
      at,
    );
    return story;
  };
  const then = (story: Story, command: Parameters<Story["do"]>[0], at: string): Story => {
    story.do(command, at);
    return story;
  };
  // Overdue (due Mon 8 June), never acknowledged.
  await store(TENANT, raise("ch-late", "2026-06-01T09:00:00Z"));
  // Due Thu 18 June; acknowledged from the link the day it opened.
  await store(
    TENANT,
    then(
      raise("ch-acked", "2026-06-11T09:00:00Z", SOUTH),
      { type: "Acknowledge", actor: manager("team_manager", "south"), channel: "link" },
      "2026-06-11T09:30:00Z",
    ),
  );
  // Resolved in May: counted by quarter, not open.
  await store(
    TENANT,
    then(
      raise("ch-done", "2026-05-04T09:00:00Z"),
      { type: "MarkResolved", actor: IRO, channel: "api", summary: "Done." },
      "2026-05-06T09:00:00Z",
    ),
  );
  // Another tenant's open challenge: never on this tenant's page.
  await store(OTHER_TENANT, raise("ch-foreign", "2026-06-02T09:00:00Z", NORTH, "CR-FOREIGN-CHILD"));
});

interface TextResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly text: string;
}

async function live(caller: Caller = callers.serviceManager): Promise<TextResponse> {
  const event: APIGatewayProxyEventV2WithJWTAuthorizer = apiEvent("reports-live", { caller });
  const raw = await makeHandler(deps)(event, lambdaContext());
  return {
    status: raw.statusCode ?? 0,
    headers: Object.fromEntries(
      Object.entries(raw.headers ?? {}).map(([k, v]) => [k.toLowerCase(), String(v)]),
    ),
    text: raw.body ?? "",
  };
}

describe("GET /v1/reports/live", () => {
  it("is one self-contained HTML page: no script, the reports' content security policy", async () => {
    const response = await live();
    expect(response.status).toBe(200);
    expect(response.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect(response.headers["content-security-policy"]).toBe(HTML_CSP);
    expect(response.text.startsWith("<!doctype html>")).toBe(true);
    expect(response.text).not.toMatch(/<script/i);
    expect(response.text).toContain("South &lt;Team&gt;");
    expect(response.text).not.toContain("<Team>");
  });

  it("lists the open challenges overdue first, with who has each and whether they acknowledged it", async () => {
    const { text } = await live();
    const late = text.indexOf('href="#timeline-ch-late"');
    const acked = text.indexOf('href="#timeline-ch-acked"');
    expect(late).toBeGreaterThan(0);
    expect(acked).toBeGreaterThan(late);
    expect(text).not.toContain('href="#timeline-ch-done"');
    // ch-late: 5pm Mon 8 June; working days after it up to Fri 12 June: 9, 10, 11, 12.
    expect(text).toContain("Overdue by 4 working days");
    expect(text).toContain("<strong>Not acknowledged</strong> within a working day");
    // Not in the directory: shown by person id.
    expect(text).toContain("Yes by team_manager@south");
    expect(text).toContain("from the link in the email");
    // The timeline is on the page, one click (an anchor) from the row.
    expect(text).toContain('id="timeline-ch-late"');
  });

  it("never shows another tenant's challenges", async () => {
    const { text } = await live();
    expect(text).not.toContain("ch-foreign");
    expect(text).not.toContain("CR-FOREIGN-CHILD");
  });

  it("shows children by case-record id only, never by name", async () => {
    const { text } = await live();
    expect(text).toContain("CR-ch-late");
    expect(text).not.toContain(aForm().child.name);
  });

  it("counts the quarters: raised and resolved by quarter raised", async () => {
    const { text } = await live();
    expect(text).toContain("Apr to Jun 2026");
    expect(text).toContain("Jul to Sep 2025");
    // Three raised in April to June, one resolved (ch-done).
    expect(text).toMatch(
      /<th scope="row">Raised<\/th><td class="n">0<\/td><td class="n">0<\/td><td class="n">0<\/td><td class="n">3<\/td>/,
    );
    expect(text).toMatch(/<th scope="row">Resolved<\/th>(<td class="n">0<\/td>){3}<td class="n">1<\/td>/);
  });

  it.each([
    ["auditor", callers.auditor, 200],
    ["manager", callers.teamManager, 200],
    ["IRO", callers.iro, 403],
    ["case_record_system", callers.lcs, 403],
  ])("is for the reports' readers: %s gets %d", async (_, caller, status) => {
    expect((await live(caller)).status).toBe(status);
  });
});
