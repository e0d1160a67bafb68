import type {
  APIGatewayProxyEventV2WithJWTAuthorizer,
  APIGatewayProxyStructuredResultV2,
  Context,
} from "aws-lambda";
import * as z from "zod";
import { TenantNotConfiguredError, UnknownProtocolError } from "../app/execute-command.js";
import {
  endOfLondonDay,
  loadCohort,
  periodProblem,
  protocolsFor,
  startOfLondonDay,
  tenantCalendar,
} from "../audit/readers.js";
import { themesReport, toCsv, toHtml } from "../audit/reports.js";
import { referralKindSchema } from "../domain/challenge/commands.js";
import { raiserRoleSchema, trackSchema } from "../domain/protocol.js";
import { challengeStateSchema } from "../store/items.js";
import type { ApiDependencies } from "./http/dependencies.js";
import { type ApiResult, createHandler, defineRoute } from "./http/middleware.js";

/**
 * GET /v1/reports/themes?from=YYYY-MM-DD&to=YYYY-MM-DD&format=json|csv|html: the quarterly themes
 * report (functions/audit/reports.ts says what each figure counts) over the challenges raised in
 * the period, as JSON, as CSV (an attachment) or as one printable HTML page.
 *
 * Loads by key only: `raisedInMonth` for each month the period touches, each challenge's events,
 * and the count of good practice notifications recorded in the period. The figures are as at the
 * end of the period, or now while the period is still running (a challenge is not "past target" on
 * a day that has not come yet). Periods run from one London date to another, `from` <= `to`, over
 * at most 13 calendar months; anything else is a 400 problem naming the parameter.
 */

const day = z.iso.date().max(10);

export const themesQuerySchema = z
  .object({
    from: day.describe("First London date of the period, inclusive (YYYY-MM-DD)"),
    to: day.describe("Last London date of the period, inclusive (YYYY-MM-DD); at most 13 calendar months on"),
    format: z
      .enum(["json", "csv", "html"])
      .default("json")
      .describe("json (default), csv (text/csv attachment) or html (a printable page)"),
  })
  .superRefine((query, ctx) => {
    const problem = periodProblem(query);
    if (problem !== undefined) ctx.addIssue({ code: "custom", path: ["to"], message: problem });
  });

const count = z.number().int().min(0);
const stageCountSchema = z.strictObject({
  protocolId: z.string(),
  track: trackSchema,
  stageId: z.string().nullable().describe("null: after the last stage"),
  label: z.string(),
  recipient: z.string(),
  count,
});

/** The JSON report: the shape of `ThemesReport` (a test parses real reports with it, strictly). */
export const themesReportSchema = z
  .strictObject({
    title: z.string(),
    period: z.strictObject({ from: z.string(), to: z.string() }),
    asAt: z.string().describe("The instant the figures are as at"),
    protocols: z.array(z.strictObject({ id: z.string(), name: z.string() })),
    definitions: z.array(z.string()).describe("How each figure is counted, in plain words"),
    raised: z.strictObject({
      total: count,
      byTrackAndRole: z.array(
        z.strictObject({ track: trackSchema, raiserRole: raiserRoleSchema, raiserTitle: z.string(), count }),
      ),
    }),
    statusAsAt: z.array(
      z.strictObject({ status: challengeStateSchema.shape.status.exclude(["none"]), count }),
    ),
    highestStageReached: z.array(stageCountSchema),
    resolvedAtStage: z.array(stageCountSchema),
    resolution: z.strictObject({
      resolved: count,
      withinTarget: count,
      shareWithinTarget: z.number().min(0).max(1).nullable(),
      medianWorkingDaysToResolution: z.number().min(0).nullable(),
      openPastTarget: count,
      targets: z.array(
        z.strictObject({
          protocolId: z.string(),
          track: trackSchema,
          workingDays: count,
          basis: z.enum(["protocol_total", "sum_of_stage_windows"]),
        }),
      ),
    }),
    noResponse: z.array(
      z.strictObject({
        role: z.string(),
        title: z.string(),
        team: z.string(),
        autoEscalations: count,
        raiserAlerts: count,
      }),
    ),
    referrals: z.array(
      z.strictObject({ kind: referralKindSchema, requested: count, made: count, awaitingApproval: count }),
    ),
    themes: z.array(
      z.strictObject({ protocolId: z.string(), themeId: z.string(), label: z.string(), count }),
    ),
    goodPracticeNotifications: count,
  })
  .meta({ id: "ThemesReport", description: "The themes report for a period (format=json)" });

/** The page's Content-Security-Policy: nothing may load or run; the inline stylesheet may apply. */
export const HTML_CSP =
  "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/**
 * A report as JSON, as a CSV attachment or as one self-contained printable page (which may load
 * and run nothing), named `name` in the download.
 */
export function reportInFormat<T>(
  format: "json" | "csv" | "html",
  name: string,
  report: T,
  render: { readonly csv: (report: T) => string; readonly html: (report: T) => string },
): ApiResult {
  switch (format) {
    case "json":
      return { status: 200, body: report };
    case "csv":
      return {
        status: 200,
        body: render.csv(report),
        headers: {
          "content-type": "text/csv; charset=utf-8",
          "content-disposition": `attachment; filename="${name}.csv"`,
        },
      };
    case "html":
      return {
        status: 200,
        body: render.html(report),
        headers: {
          "content-type": "text/html; charset=utf-8",
          "content-disposition": `inline; filename="${name}.html"`,
          "content-security-policy": HTML_CSP,
          "x-content-type-options": "nosniff",
        },
      };
  }
}

export const spec = defineRoute({
  routeId: "reports-themes",
  query: themesQuerySchema,
  response: {
    status: 200,
    description:
      "The themes report. format=json: this document; format=csv: text/csv; charset=utf-8, " +
      "Content-Disposition: attachment (section,track,category,label,value); format=html: text/html, " +
      "one self-contained printable page",
    schema: themesReportSchema,
  },
  handle: async ({ query, principal }, deps): Promise<ApiResult> => {
    const { tenantId } = principal;
    const config = await deps.tenants.getConfig(tenantId);
    if (config === undefined) throw new TenantNotConfiguredError(tenantId);
    const goodPractice = deps.goodPractice;
    if (goodPractice.countRecordedBetween === undefined) {
      throw new Error("the good practice store cannot count notifications (countRecordedBetween)");
    }
    const calendar = tenantCalendar(config);
    const period = { from: query.from, to: query.to };
    const now = deps.clock();
    const start = startOfLondonDay(period.from);
    const end = endOfLondonDay(period.to);
    const asAt = end.getTime() > now.getTime() ? now : end;

    const [cohort, goodPracticeNotifications] = await Promise.all([
      loadCohort(deps.challenges, tenantId, period, calendar),
      asAt < start
        ? Promise.resolve(0)
        : goodPractice.countRecordedBetween(tenantId, start.toISOString(), asAt.toISOString()),
    ]);
    // The tenant's own protocol first: the report takes the raisers' titles from the first.
    const protocols = protocolsFor(
      [config.protocolId, ...cohort.challenges.map((c) => c.protocolId)],
      deps.protocols,
      (id) => new UnknownProtocolError(id),
    );
    const report = themesReport(cohort.challenges, cohort.events, protocols, period, calendar, {
      goodPracticeNotifications,
      asAt,
    });

    return reportInFormat(query.format, `themes-report-${period.from}-to-${period.to}`, report, {
      csv: toCsv,
      html: toHtml,
    });
  },
});

type HttpHandler = (
  event: APIGatewayProxyEventV2WithJWTAuthorizer,
  context: Context,
) => Promise<APIGatewayProxyStructuredResultV2>;

/**
 * The handler factory writes every body with `JSON.stringify`, so a CSV or HTML body leaves it as
 * a JSON string literal; this sends the text itself. JSON bodies (problems included) and a body
 * that is already text pass untouched.
 * TODO(api owner): a text-body option in http/middleware.ts would make this unnecessary.
 */
export function sendingText(handler: HttpHandler): HttpHandler {
  return async (event, context) => {
    const response = await handler(event, context);
    const type = response.headers?.["content-type"];
    const body = response.body;
    if (typeof type !== "string" || !/^text\//i.test(type) || body?.startsWith('"') !== true) return response;
    const text: unknown = JSON.parse(body);
    return typeof text === "string" ? { ...response, body: text } : response;
  };
}

/** A route's Lambda handler that may answer with text, over `deps` (default: the production wiring). */
export function makeTextHandler(
  route: Parameters<typeof createHandler>[0],
  deps?: ApiDependencies,
): HttpHandler {
  return sendingText(createHandler(route, deps));
}

/** The route's Lambda handler over `deps` (default: the production wiring, built on first use). */
export function makeHandler(deps?: ApiDependencies): HttpHandler {
  return makeTextHandler(spec, deps);
}

export const handler = makeHandler();
