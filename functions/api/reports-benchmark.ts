import * as z from "zod/mini";
import { TenantNotConfiguredError } from "../app/execute-command.js";
import { previousQuarter, QUARTER_PATTERN, quarterOf } from "../domain/quarters.js";
import { londonDay } from "../domain/london-time.js";
import { compare, quarterFigures } from "../reports/benchmark.js";
import { BENCHMARK_CSV_HEADER, benchmarkCsv, benchmarkHtml } from "../reports/benchmark-render.js";
import { distributionSchema } from "../store/benchmark-store.js";
import type { ApiDependencies } from "./http/dependencies.js";
import { benchmarkDependencies } from "./http/benchmark-dependencies.js";
import { type ApiResult, createHandler, defineRoute } from "./http/middleware.js";
import { reportInFormat } from "./http/report-format.js";
import { reportsBenchmarkRoute } from "./routes.js";

/**
 * GET /v1/reports/benchmark?quarter=YYYY-Qn&format=json|csv|html: this authority's figures for a
 * calendar quarter (worked out now from its own challenges, as the themes report counts them)
 * beside the anonymised distribution of every authority that opted in (published by the benchmark
 * job; functions/domain/benchmark.ts says what keeps it anonymous). The distribution is shown only
 * to an authority that has opted in. Default quarter: the last complete one.
 */

const metricKindSchema = z.enum(["share", "per_100_children", "working_days"]).check(
  z.meta({
    description: "share: 0-1; per_100_children: a rate; working_days: a count of days",
    example: "share",
  }),
);

export const comparisonSchema = z
  .strictObject({
    quarter: z
      .string()
      .check(z.meta({ description: "The calendar quarter (Q1: January to March)", example: "2026-Q3" })),
    period: z
      .strictObject({
        from: z
          .string()
          .check(z.meta({ description: "First London date of the quarter", example: "2026-07-01" })),
        to: z
          .string()
          .check(z.meta({ description: "Last London date of the quarter", example: "2026-09-30" })),
      })
      .check(z.meta({ description: "The quarter's London dates, inclusive" })),
    asAt: z.string().check(
      z.meta({
        description: "The instant this authority's figures are as at",
        example: "2026-09-30T22:59:59.999Z",
      }),
    ),
    optedIn: z
      .boolean()
      .check(
        z.meta({ description: "Whether this authority takes part (and so sees the others)", example: true }),
      ),
    published: z
      .nullable(
        z.strictObject({
          asAt: z.string().check(
            z.meta({
              description: "The instant the others' figures are as at",
              example: "2026-09-30T22:59:59.999Z",
            }),
          ),
          publishedAt: z.string().check(
            z.meta({
              description: "When the benchmark job published them",
              example: "2026-10-01T01:00:00.000Z",
            }),
          ),
          authorities: z
            .number()
            .check(z.int(), z.gte(0), z.meta({ description: "Authorities that contributed", example: 7 })),
        }),
      )
      .check(z.meta({ description: "The published benchmark shown; null when none is shown (see note)" })),
    note: z
      .nullable(z.string())
      .check(z.meta({ description: "Why no distribution is shown, when none is", example: null })),
    rows: z
      .array(
        z.strictObject({
          key: z
            .string()
            .check(z.meta({ description: "The figure's stable key", example: "resolved_at_stage.1" })),
          label: z.string().check(
            z.meta({
              description: "The figure in words",
              example: "Share of resolved challenges resolved at stage 1",
            }),
          ),
          kind: metricKindSchema,
          own: z
            .nullable(z.number())
            .check(
              z.meta({ description: "This authority's own figure; null where it has none", example: 0.6 }),
            ),
          distribution: z.nullable(distributionSchema).check(
            z.meta({
              description:
                "The others' lower quartile, median and upper quartile (rounded), or why not shown; null when no benchmark is shown",
            }),
          ),
          band: z
            .nullable(
              z.enum([
                "below_lower_quartile",
                "lower_quartile_to_median",
                "median_to_upper_quartile",
                "above_upper_quartile",
              ]),
            )
            .check(
              z.meta({
                description: "Where this authority's figure sits (never a rank)",
                example: "median_to_upper_quartile",
              }),
            ),
          text: z.string().check(
            z.meta({
              description: "The row in plain words",
              example:
                "Share of resolved challenges resolved at stage 1: 60% (others: median 55%, middle half 40% to 70%, 7 authorities); between the median and the upper quartile",
            }),
          ),
        }),
      )
      .check(z.meta({ description: "One row a figure" })),
  })
  .check(
    z.meta({
      id: "BenchmarkComparison",
      description: "This authority's figures beside the anonymised benchmark (format=json)",
    }),
  );

export const benchmarkQuerySchema = z.object({
  quarter: z
    .optional(
      z
        .string()
        .check(
          z.maxLength(7),
          z.regex(QUARTER_PATTERN, "a calendar quarter, YYYY-Qn (Q1: January to March)"),
        ),
    )
    .check(
      z.meta({
        description: "The calendar quarter (YYYY-Qn); default: the last complete quarter",
        example: "2026-Q3",
      }),
    ),
  format: z._default(z.enum(["json", "csv", "html"]), "json").check(
    z.meta({
      description: "json (default), csv (text/csv attachment) or html (a printable page)",
      example: "json",
    }),
  ),
});

export const spec = defineRoute({
  route: reportsBenchmarkRoute,
  query: benchmarkQuerySchema,
  response: {
    status: 200,
    description:
      "The benchmark comparison. format=json: this document; format=csv: text/csv; charset=utf-8, " +
      "Content-Disposition: attachment; format=html: text/html, one self-contained printable page",
    schema: comparisonSchema,
    text: {
      "text/csv": {
        description: `format=csv, sent as an attachment: a header line \`${BENCHMARK_CSV_HEADER.join(",")}\`, then one row per figure`,
        example: `${BENCHMARK_CSV_HEADER.join(",")}\nmedian_working_days_to_resolution,Median working days from raising to resolution,9,7,6,8,11,median_to_upper_quartile,no\n`,
      },
      "text/html": {
        description: "format=html: one printable page, this authority beside the others",
        example: '<!doctype html><html lang="en">...</html>',
      },
    },
  },
  handle: async ({ query, principal }, deps): Promise<ApiResult> => {
    const { tenantId } = principal;
    if (deps.benchmark === undefined)
      throw new Error("the benchmark store is not wired (ApiDependencies.benchmark)");
    const config = await deps.tenants.getConfig(tenantId);
    if (config === undefined) throw new TenantNotConfiguredError(tenantId);
    const now = deps.clock();
    const quarter = query.quarter ?? previousQuarter(quarterOf(londonDay(now)));
    const [participation, published] = await Promise.all([
      deps.benchmark.getParticipation(tenantId),
      deps.benchmark.getPublished(quarter),
    ]);
    const own = await quarterFigures(deps, tenantId, config, quarter, now, participation ?? {});
    const comparison = compare(quarter, own, participation, published);
    return reportInFormat(query.format, `benchmark-${quarter}`, comparison, {
      csv: benchmarkCsv,
      html: benchmarkHtml,
    });
  },
});

/** The route's Lambda handler over `deps` (default: the production wiring, built on first use). */
export function makeHandler(deps?: ApiDependencies) {
  return createHandler(spec, deps ?? benchmarkDependencies);
}

export const handler = makeHandler();
