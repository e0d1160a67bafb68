/**
 * End to end on `npm start`'s runtime: the demo authority has opted in to the benchmark across
 * authorities, the daily benchmark job runs at start-up on the service clock, and
 * GET /v1/reports/benchmark shows the authority's own figures with every comparison suppressed (it
 * is the only authority, and a figure needs at least five). Opting out over the API hides the
 * distribution altogether. Every person here is invented.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { comparisonSchema } from "../../functions/api/reports-benchmark.js";
import { previousQuarter, quarterOf } from "../../functions/domain/quarters.js";
import { DEMO_TENANT } from "../../local/demo.js";
import type { LocalRuntime } from "../../local/runtime.js";
import { type E2eRuntime, api, eventually, londonDate, startE2eRuntime } from "../support/e2e-harness.js";

let e2e: E2eRuntime;
const rt = (): LocalRuntime => e2e.current();

beforeAll(async () => {
  e2e = await startE2eRuntime();
}, 120_000);

afterAll(async () => {
  await e2e.dispose();
});

describe("the benchmark across authorities on the local runtime", () => {
  it("shows the demo authority its figures, suppresses a cohort of one, and hides everything after opting out", async () => {
    const manager = await rt().mintToken({
      sub: "ism-jo",
      role: "iro_service_manager",
      tenant_id: DEMO_TENANT,
      scope: "challenges/read config/read config/write reports/read",
    });
    const quarter = previousQuarter(quarterOf(londonDate(new Date())));
    const path = `/v1/reports/benchmark?quarter=${quarter}`;

    const comparison = await eventually("the benchmark job's first publication", async () => {
      const response = await api(rt(), "GET", path, manager);
      if (response.status !== 200)
        throw new Error(`GET ${path}: ${response.status} ${JSON.stringify(response.body)}`);
      const parsed = comparisonSchema.parse(response.body);
      return parsed.published === null ? undefined : parsed;
    });
    expect(comparison.optedIn).toBe(true);
    expect(comparison.published?.authorities).toBe(1);
    expect(comparison.rows.length).toBeGreaterThan(5);
    expect(comparison.rows.every((row) => row.distribution?.suppressed === true && row.band === null)).toBe(
      true,
    );

    const page = await fetch(`${rt().urls.api}${path}&format=html`, {
      headers: { authorization: `Bearer ${manager}` },
    });
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(await page.text()).toContain("Not shown: fewer than 5 authorities have this figure");

    const out = await api(rt(), "PUT", "/v1/benchmark/participation", manager, { optedIn: false });
    expect(out.status).toBe(200);
    const after = comparisonSchema.parse((await api(rt(), "GET", path, manager)).body);
    expect(after.optedIn).toBe(false);
    expect(after.rows.every((row) => row.distribution === null)).toBe(true);
  });
});
