import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";

vi.hoisted(() => {
  process.env.POWERTOOLS_METRICS_DISABLED = "true";
  process.env.POWERTOOLS_LOG_LEVEL = "SILENT";
});

import { GetCommand, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { spec as participationSpec } from "../../../functions/api/benchmark-participation.js";
import { type ApiDependencies, presetProtocol } from "../../../functions/api/http/dependencies.js";
import { createHandler } from "../../../functions/api/http/middleware.js";
import {
  comparisonSchema,
  makeHandler as benchmarkHandler,
} from "../../../functions/api/reports-benchmark.js";
import { getPreset } from "../../../functions/domain/presets/index.js";
import { publishQuarter } from "../../../functions/reports/benchmark.js";
import { BenchmarkStore } from "../../../functions/store/benchmark-store.js";
import { DynamoChallengeStore } from "../../../functions/store/dynamo-challenge-store.js";
import { DynamoGoodPracticeStore } from "../../../functions/store/good-practice-store.js";
import { keys } from "../../../functions/store/table.js";
import { TenantStore } from "../../../functions/store/tenant-store.js";
import { apiEvent, callers, invoke, lambdaContext } from "../../support/api-events.js";
import { createTestTable, localDocumentClient } from "../../support/dynamodb-local.js";
import { IRO, Story, TIMER, aForm } from "../../unit/audit/support.js";
import { FakeWorkflow } from "../../unit/api/fakes.js";

/**
 * The benchmark across authorities on DynamoDB Local: six invented authorities on the Nottingham
 * preset raise challenges in 2026-Q2; five opt in, one does not. The published item holds
 * aggregates only; an authority sees the distribution only once it has opted in; with four
 * authorities every figure is suppressed. Every child and person here is invented.
 */

const nottingham = getPreset("nottingham");
const QUARTER = "2026-Q2";
const NOW = new Date("2026-07-15T09:00:00Z");
const OPTED_IN = ["bench-a", "bench-b", "bench-c", "bench-d", "bench-e"];
const NOT_OPTED_IN = "bench-f";
const ALL = [...OPTED_IN, NOT_OPTED_IN];

let client: DynamoDBDocumentClient;
let tableName: string;
let drop: () => Promise<void>;
let deps: ApiDependencies;
let records: BenchmarkStore;

function caller(tenant: string, role: "iro_service_manager" | "auditor" = "iro_service_manager") {
  return { ...(role === "auditor" ? callers.auditor : callers.serviceManager), tenant };
}

/**
 * Authority `n` (0-5): n + 2 challenges raised in May 2026. One is resolved at stage 1 after `n`
 * working days or so; one is escalated by the timer and resolved at stage 2; the rest stay open.
 * The authority not opted in gets far more, resolved slowly: if it were counted it would move
 * every quartile.
 */
async function seedAuthority(tenantId: string, n: number, store: DynamoChallengeStore): Promise<void> {
  const count = tenantId === NOT_OPTED_IN ? 12 : n + 2;
  for (let i = 0; i < count; i++) {
    const story = new Story(nottingham, `ch-${tenantId}-${i}`);
    const themes = i % 2 === 0 ? ["needs_not_met"] : ["not_safeguarded"];
    story.do({ type: "Raise", actor: IRO, channel: "api", form: aForm({ themes }) }, "2026-05-04T09:00:00Z");
    if (i === 0 || tenantId === NOT_OPTED_IN) {
      const day = tenantId === NOT_OPTED_IN ? 29 : 5 + n;
      story.do(
        { type: "MarkResolved", actor: IRO, channel: "api", summary: "Plan agreed." },
        `2026-05-${String(day).padStart(2, "0")}T15:00:00Z`,
      );
    } else if (i === 1) {
      const stageId = story.state.currentStage?.stageId ?? "";
      story.do({ type: "AutoEscalate", actor: TIMER, channel: "timer", stageId }, "2026-05-12T08:00:00Z");
      story.do(
        { type: "MarkResolved", actor: IRO, channel: "api", summary: "Visited." },
        "2026-05-20T09:00:00Z",
      );
    }
    await store.append(tenantId, 0, story.events, story.state);
  }
}

async function optIn(tenant: string, optedIn: boolean) {
  return invoke(
    createHandler(participationSpec, deps),
    apiEvent("benchmark-participation", {
      caller: caller(tenant),
      body: { optedIn, childrenLookedAfter: 300 + 10 * ALL.indexOf(tenant), childrenOnProtectionPlans: 200 },
    }),
  );
}

async function publish(): Promise<void> {
  const tenants = new TenantStore(client, tableName);
  const published = await publishQuarter(
    {
      challenges: deps.challenges,
      protocols: presetProtocol,
      participation: (tenantId) => records.getParticipation(tenantId),
      config: (tenantId) => tenants.getConfig(tenantId),
    },
    ALL,
    QUARTER,
    NOW,
  );
  await records.putPublished(published);
}

async function report(tenant: string) {
  return invoke(
    benchmarkHandler(deps),
    apiEvent("reports-benchmark", { caller: caller(tenant, "auditor"), query: { quarter: QUARTER } }),
  );
}

beforeAll(async () => {
  client = localDocumentClient();
  ({ tableName, drop } = await createTestTable(client));
  const tenants = new TenantStore(client, tableName, () => NOW);
  const store = new DynamoChallengeStore(client, tableName);
  records = new BenchmarkStore(client, tableName);
  for (const [n, tenant] of ALL.entries()) {
    await tenants.putConfig(tenant, { protocolId: "nottingham", closureDays: [], reminders: {} });
    await seedAuthority(tenant, n, store);
  }
  deps = {
    challenges: store,
    tenants,
    protocols: presetProtocol,
    workflow: new FakeWorkflow(),
    clock: () => NOW,
    goodPractice: new DynamoGoodPracticeStore(client, tableName),
    benchmark: records,
    idempotency: () => {
      throw new Error("these routes never use the idempotency layer");
    },
    idempotencyTtlSeconds: 3600,
  };
  for (const tenant of OPTED_IN) expect((await optIn(tenant, true)).status).toBe(200);
  await publish();
});

afterAll(async () => {
  await drop();
  client.destroy();
});

describe("the benchmark across authorities on DynamoDB Local", () => {
  it("records who opted in, and refuses a body that is not the schema", async () => {
    expect(await records.getParticipation("bench-a")).toMatchObject({
      optedIn: true,
      childrenLookedAfter: 300,
      updatedBy: callers.serviceManager.sub,
      updatedAt: NOW.toISOString(),
    });
    const bad = await invoke(
      createHandler(participationSpec, deps),
      apiEvent("benchmark-participation", { caller: caller("bench-a"), body: { optedIn: "yes" } }),
    );
    expect(bad.status).toBe(400);
    const refused = await invoke(
      createHandler(participationSpec, deps),
      apiEvent("benchmark-participation", { caller: caller("bench-a", "auditor"), body: { optedIn: false } }),
    );
    expect(refused.status).toBe(403);
    expect((await records.getParticipation("bench-a"))?.optedIn).toBe(true);
  });

  it("publishes aggregates of the five opted-in authorities only, with no tenant id in the item", async () => {
    const { Item } = await client.send(
      new GetCommand({ TableName: tableName, Key: keys.benchmarkPublished(QUARTER) }),
    );
    const text = JSON.stringify(Item);
    for (const tenant of ALL) expect(text).not.toContain(tenant);
    const published = await records.getPublished(QUARTER);
    expect(published?.authorities).toBe(5);
    const median = published?.distribution.find((d) => d.key === "median_working_days_to_resolution");
    // Five authorities resolve in 1-5 working days at stage 1 and 12 at stage 2 (the other
    // authority's 19-day resolutions would push the upper quartile): the quartiles stay low.
    expect(median).toMatchObject({ suppressed: false, authorities: 5 });
    if (median?.suppressed === false) {
      expect(median.upperQuartile).toBeLessThan(19);
      expect(median.lowerQuartile).toBeLessThanOrEqual(median.median);
    }
    // No authority resolved anything at stage 5 or later: the figure is 0 for all five, so it shows.
    expect(published?.distribution.find((d) => d.key === "resolved_at_stage.5")).toMatchObject({
      suppressed: false,
      median: 0,
    });
  });

  it("shows an opted-in authority its figures beside the distribution, placed in a band", async () => {
    const response = await report("bench-a");
    expect(response.status).toBe(200);
    const comparison = comparisonSchema.parse(response.body);
    expect(comparison).toMatchObject({ quarter: QUARTER, optedIn: true, note: null });
    expect(comparison.published?.authorities).toBe(5);
    const timer = comparison.rows.find((row) => row.key === "escalated_by_timer");
    expect(timer?.own).toBeCloseTo(1 / 2);
    expect(timer?.band).not.toBeNull();
    const perChild = comparison.rows.find((row) => row.key === "raised_per_100_children.CP");
    expect(perChild?.own).toBeCloseTo((2 / 200) * 100);
    expect(perChild?.distribution).toMatchObject({ suppressed: false, authorities: 5 });
  });

  it("shows an authority that has not opted in its own figures and nobody else's", async () => {
    const comparison = comparisonSchema.parse((await report(NOT_OPTED_IN)).body);
    expect(comparison.optedIn).toBe(false);
    expect(comparison.published).toBeNull();
    expect(comparison.note).toMatch(/not opted in/);
    expect(comparison.rows.every((row) => row.distribution === null && row.band === null)).toBe(true);
    expect(
      comparison.rows.find((row) => row.key === "median_working_days_to_resolution")?.own,
    ).toBeGreaterThan(15);
  });

  it("renders CSV and a printable page", async () => {
    const text = async (format: "csv" | "html") => {
      const event = apiEvent("reports-benchmark", {
        caller: caller("bench-a", "auditor"),
        query: { quarter: QUARTER, format },
      });
      return benchmarkHandler(deps)(event, lambdaContext());
    };
    const csv = await text("csv");
    expect(csv.headers?.["content-type"]).toBe("text/csv; charset=utf-8");
    expect(csv.body).toMatch(
      /^key,label,own,authorities,lower_quartile,median,upper_quartile,band,suppressed\n/,
    );
    expect(csv.body?.split("\n").filter((line) => line !== "").length).toBeGreaterThan(8);
    const html = await text("html");
    expect(html.headers?.["content-type"]).toBe("text/html; charset=utf-8");
    expect(html.body).toContain("<table>");
    expect(html.body).toContain("<svg");
    expect(html.body).not.toContain("bench-");
  });

  it("suppresses every figure once fewer than five authorities take part", async () => {
    expect((await optIn("bench-e", false)).status).toBe(200);
    await publish();
    const published = await records.getPublished(QUARTER);
    expect(published?.authorities).toBe(4);
    expect(published?.distribution.length).toBeGreaterThan(0);
    expect(published?.distribution.every((d) => d.suppressed)).toBe(true);
    const comparison = comparisonSchema.parse((await report("bench-a")).body);
    expect(comparison.rows.every((row) => row.distribution?.suppressed === true && row.band === null)).toBe(
      true,
    );
  });
});
