import * as z from "zod/mini";
import { TenantNotConfiguredError, UnknownProtocolError } from "../app/execute-command.js";
import { loadCohort, periodAsAt, periodProblem, protocolsFor, tenantCalendar } from "../reports/readers.js";
import { themesReport, toCsv, toHtml } from "../reports/reports.js";
import { referralKindSchema } from "../domain/challenge/commands.js";
import { startOfLondonDay } from "../domain/london-time.js";
import { raiserRoleSchema, trackSchema } from "../domain/protocol.js";
import { challengeStateSchema } from "../store/items.js";
import type { ApiDependencies } from "./http/dependencies.js";
import { goodPracticeDependencies } from "./http/good-practice-dependencies.js";
import { type ApiResult, createHandler, defineRoute } from "./http/middleware.js";
import { reportInFormat } from "./http/report-format.js";
import { about } from "../domain/about.js";
import { reportsThemesRoute } from "./routes.js";

/**
 * GET /v1/reports/themes?from=YYYY-MM-DD&to=YYYY-MM-DD&format=json|csv|html: the quarterly themes
 * report (functions/reports/reports.ts says what each figure counts) over the challenges raised in
 * the period, as JSON, as CSV (an attachment) or as one printable HTML page.
 *
 * Loads by key only: `raisedInMonth` for each month the period touches, each challenge's events,
 * and the count of good practice notifications recorded in the period. The figures are as at the
 * end of the period, or now while the period is still running (a challenge is not "past target" on
 * a day that has not come yet). Periods run from one London date to another, `from` <= `to`, over
 * at most 13 calendar months; anything else is a 400 problem naming the parameter.
 */

const day = z.iso.date().check(z.maxLength(10));

export const themesQuerySchema = z
  .object({
    from: day.check(z.meta(about("First London date of the period, inclusive (YYYY-MM-DD)", "2026-04-01"))),
    to: day.check(
      z.meta(
        about(
          "Last London date of the period, inclusive (YYYY-MM-DD); at most 13 calendar months on",
          "2026-06-30",
        ),
      ),
    ),
    format: z
      ._default(z.enum(["json", "csv", "html"]), "json")
      .check(z.meta(about("json (default), csv (text/csv attachment) or html (a printable page)", "json"))),
  })
  .check(
    z.superRefine((query, ctx) => {
      const problem = periodProblem(query);
      if (problem !== undefined) ctx.addIssue({ code: "custom", path: ["to"], message: problem });
    }),
  );

const count = z.number().check(z.int(), z.gte(0));
/** A count, described for the OpenAPI document. */
const countOf = (description: string, example: number) => count.check(z.meta(about(description, example)));
const stageCountSchema = z.strictObject({
  protocolId: z.string().check(z.meta(about("The protocol", "halton"))),
  track: trackSchema.check(z.meta(about("CP or LAC", "LAC"))),
  stageId: z
    .nullable(z.string())
    .check(z.meta(about("The stage's id; null: after the last stage", "stage_2"))),
  label: z.string().check(z.meta(about("The stage's label", "Stage 2"))),
  recipient: z.string().check(z.meta(about("Its recipient's title", "Divisional Manager"))),
  count: countOf("How many challenges", 4),
});

/** The JSON report: the shape of `ThemesReport` (a test parses real reports with it, strictly). */
export const themesReportSchema = z
  .strictObject({
    title: z.string().check(z.meta(about("The report's title", "Challenge and resolution: themes report"))),
    period: z
      .strictObject({
        from: z.string().check(z.meta(about("First London date, inclusive", "2026-04-01"))),
        to: z.string().check(z.meta(about("Last London date, inclusive", "2026-06-30"))),
      })
      .check(z.meta({ description: "The period: challenges raised in it" })),
    asAt: z.string().check(z.meta(about("The instant the figures are as at", "2026-07-01T08:00:00.000Z"))),
    protocols: z
      .array(
        z.strictObject({
          id: z.string().check(z.meta(about("The protocol's id", "halton"))),
          name: z.string().check(z.meta(about("Its name", "Halton: IRM Dispute Resolution process"))),
        }),
      )
      .check(z.meta({ description: "The protocols the challenges ran under" })),
    definitions: z
      .array(z.string())
      .check(
        z.meta(
          about("How each figure is counted, in plain words", ["Raised: challenges raised in the period."]),
        ),
      ),
    raised: z
      .strictObject({
        total: countOf("Challenges raised in the period", 12),
        byTrackAndRole: z
          .array(
            z.strictObject({
              track: trackSchema.check(z.meta(about("CP or LAC", "LAC"))),
              raiserRole: raiserRoleSchema.check(z.meta(about("IRO or CPC", "IRO"))),
              raiserTitle: z.string().check(z.meta(about("The protocol's title for the raiser", "IRM"))),
              count: countOf("How many", 9),
            }),
          )
          .check(z.meta({ description: "By track and raiser" })),
      })
      .check(z.meta({ description: "Challenges raised" })),
    statusAsAt: z
      .array(
        z.strictObject({
          status: z
            .enum(challengeStateSchema.shape.status.options.filter((s) => s !== "none"))
            .check(z.meta(about("A status", "resolved"))),
          count: countOf("How many are in it", 7),
        }),
      )
      .check(z.meta({ description: "Where the period's challenges stand at asAt" })),
    highestStageReached: z
      .array(stageCountSchema)
      .check(z.meta({ description: "The highest stage each challenge reached" })),
    resolvedAtStage: z
      .array(stageCountSchema)
      .check(z.meta({ description: "The stage at which each was resolved" })),
    resolution: z
      .strictObject({
        resolved: countOf("Challenges resolved", 7),
        withinTarget: countOf("Of those, resolved within the protocol's timescale", 5),
        shareWithinTarget: z
          .nullable(z.number().check(z.gte(0), z.lte(1)))
          .check(z.meta(about("withinTarget / resolved; null when none was resolved", 0.71))),
        medianWorkingDaysToResolution: z
          .nullable(z.number().check(z.gte(0)))
          .check(
            z.meta(about("Median working days from raise to resolution; null when none was resolved", 6)),
          ),
        openPastTarget: countOf("Still open and past the protocol's timescale", 1),
        targets: z
          .array(
            z.strictObject({
              protocolId: z.string().check(z.meta(about("The protocol", "halton"))),
              track: trackSchema.check(z.meta(about("CP or LAC", "LAC"))),
              workingDays: countOf("The timescale in working days", 20),
              basis: z
                .enum(["protocol_total", "sum_of_stage_windows"])
                .check(
                  z.meta(
                    about(
                      "protocol_total (the protocol states one) or sum_of_stage_windows (it does not)",
                      "sum_of_stage_windows",
                    ),
                  ),
                ),
            }),
          )
          .check(z.meta({ description: "The timescale each protocol and track is measured against" })),
      })
      .check(z.meta({ description: "How fast challenges were resolved" })),
    noResponse: z
      .array(
        z.strictObject({
          role: z.string().check(z.meta(about("The recipient's directory role", "team_manager"))),
          title: z.string().check(z.meta(about("Its title in the protocol", "Principal Manager"))),
          team: z.string().check(z.meta(about("The team", "team-east"))),
          autoEscalations: countOf("Stages that escalated by themselves at the deadline", 2),
          raiserAlerts: countOf("Times the raiser was asked or told at the deadline", 1),
        }),
      )
      .check(z.meta({ description: "Deadlines missed, by role and team" })),
    referrals: z
      .array(
        z.strictObject({
          kind: referralKindSchema.check(z.meta(about("cafcass or partnership", "cafcass"))),
          requested: countOf("Referrals requested", 1),
          made: countOf("Referrals made", 1),
          awaitingApproval: countOf("Referrals still awaiting approval", 0),
        }),
      )
      .check(z.meta({ description: "Referrals to Cafcass and the safeguarding partnership" })),
    themes: z
      .array(
        z.strictObject({
          protocolId: z.string().check(z.meta(about("The protocol", "halton"))),
          themeId: z.string().check(z.meta(about("The theme's id", "placement_choice"))),
          label: z.string().check(z.meta(about("Its label", "Placement choice/standard of care"))),
          count: countOf("Challenges tagged with it", 3),
        }),
      )
      .check(z.meta({ description: "How often each theme was raised" })),
    goodPracticeNotifications: countOf("Good practice notifications recorded in the period", 4),
  })
  .check(z.meta({ id: "ThemesReport", description: "The themes report for a period (format=json)" }));

export const spec = defineRoute({
  route: reportsThemesRoute,
  query: themesQuerySchema,
  response: {
    status: 200,
    description:
      "The themes report. format=json: this document; format=csv: text/csv; charset=utf-8, " +
      "Content-Disposition: attachment (section,track,category,label,value); format=html: text/html, " +
      "one self-contained printable page",
    schema: themesReportSchema,
    text: {
      "text/csv": {
        description:
          "format=csv, sent as an attachment: a header line `section,track,category,label,value`, then one row per figure",
        example: "section,track,category,label,value\nraised,LAC,raiser,IRO,12\n",
      },
      "text/html": {
        description: "format=html: one printable page with every figure",
        example: '<!doctype html><html lang="en">...</html>',
      },
    },
  },
  handle: async ({ query, principal }, deps): Promise<ApiResult> => {
    const { tenantId } = principal;
    const config = await deps.tenants.getConfig(tenantId);
    if (config === undefined) throw new TenantNotConfiguredError(tenantId);
    const goodPractice = deps.goodPractice;
    if (goodPractice?.countRecordedBetween === undefined) {
      throw new Error("the good practice store is not wired or cannot count (countRecordedBetween)");
    }
    const calendar = tenantCalendar(config);
    const period = { from: query.from, to: query.to };
    const now = deps.clock();
    const start = startOfLondonDay(period.from);
    const asAt = periodAsAt(period, now);

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

/** The route's Lambda handler over `deps` (default: the production wiring, built on first use). */
export function makeHandler(deps?: ApiDependencies) {
  return createHandler(spec, deps ?? goodPracticeDependencies);
}

export const handler = makeHandler();
