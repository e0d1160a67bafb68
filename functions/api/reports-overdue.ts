import * as z from "zod/mini";
import { TenantNotConfiguredError } from "../app/execute-command.js";
import { loadOpen, tenantCalendar } from "../reports/readers.js";
import { describeOverdue, overdueView } from "../reports/reports.js";
import type { Protocol } from "../domain/protocol.js";
import { trackSchema } from "../domain/protocol.js";
import { createHandler, defineRoute } from "./http/middleware.js";
import { about } from "../domain/about.js";
import { reportsOverdueRoute } from "./routes.js";

/**
 * GET /v1/reports/overdue?nearWorkingDays=2: every open stage past its deadline, those due
 * within `nearWorkingDays` working days (the tenant's calendar: weekends, bank holidays, its closure
 * days), and those nobody acknowledged within a working day, most urgent first
 * (functions/reports/reports.ts `overdueView`). Read from the open-by-due-date tray, every page. Ids, roles and
 * deadlines only: the manager opens the challenge for its details.
 */

export const overdueRowSchema = z
  .strictObject({
    challengeId: z.string().check(z.meta(about("The challenge's id", "01JV4K8Z3M6N2P9Q5R7S1T3W4X"))),
    caseRecordId: z.string().check(z.meta(about("The child's id in the case-record system", "MOS-4821"))),
    track: trackSchema.check(z.meta(about("CP or LAC", "LAC"))),
    stageId: z.string().check(z.meta(about("The open stage's id", "stage_2"))),
    stageLabel: z.string().check(z.meta(about("Its label", "Stage 2"))),
    assigneeRole: z.string().check(z.meta(about("The recipient's directory role", "service_manager"))),
    assigneeTitle: z.string().check(z.meta(about("Their title in the protocol", "Divisional Manager"))),
    assigneePersonId: z.string().check(z.meta(about("Who must answer", "dm-rhea"))),
    team: z.string().check(z.meta(about("The team the challenge is about", "team-east"))),
    deadline: z
      .string()
      .check(z.meta(about("When the stage must be resolved by", "2026-05-21T16:00:00.000Z"))),
    status: z
      .enum(["overdue", "due_soon", "not_acknowledged"])
      .check(
        z.meta(
          about(
            "overdue, due_soon, or not_acknowledged: due later, but no recipient acknowledged it within one working day",
            "overdue",
          ),
        ),
      ),
    workingDays: z
      .number()
      .check(
        z.int(),
        z.gte(0),
        z.meta(about("Working days past the deadline (overdue) or left before it (due soon); 0 = today", 2)),
      ),
    acknowledgementOverdue: z
      .boolean()
      .check(
        z.meta(about("No recipient acknowledged the stage within one working day of its opening", true)),
      ),
    text: z
      .string()
      .check(z.meta(about("The row in plain words", "Stage 2 (Divisional Manager): 2 working days overdue"))),
  })
  .check(z.meta({ id: "OverdueRow" }));

export const overdueReportSchema = z
  .strictObject({
    asAt: z.string().check(z.meta(about("The instant the view is as at", "2026-05-25T08:00:00.000Z"))),
    nearWorkingDays: z.number().check(z.int(), z.gte(0), z.meta(about("The nearWorkingDays asked for", 2))),
    rows: z
      .array(overdueRowSchema)
      .check(z.meta({ description: "Open stages overdue or due soon, most urgent first" })),
  })
  .check(z.meta({ id: "OverdueReport", description: "Open stages overdue or due soon, most urgent first" }));

export const spec = defineRoute({
  route: reportsOverdueRoute,
  query: z.object({
    nearWorkingDays: z
      ._default(z.coerce.number().check(z.int(), z.gte(0), z.lte(20)), 2)
      .check(z.meta(about("Also list stages due within this many working days (0-20, default 2)", 2))),
  }),
  response: { status: 200, description: "The overdue view", schema: overdueReportSchema },
  handle: async ({ query, principal }, deps) => {
    const { tenantId } = principal;
    const config = await deps.tenants.getConfig(tenantId);
    if (config === undefined) throw new TenantNotConfiguredError(tenantId);
    const calendar = tenantCalendar(config);
    const now = deps.clock();
    // Every open stage, not only those due soon: one not acknowledged within a working day is listed
    // however far off its deadline is.
    const open = await loadOpen(deps.challenges, tenantId);
    // Labels from each challenge's own protocol; a protocol the service no longer knows shows stage ids.
    const protocols = [...new Set(open.map((s) => s.protocolId))]
      .map((id) => deps.protocols(id))
      .filter((p): p is Protocol => p !== undefined);
    const rows = overdueView(open, now, calendar, query.nearWorkingDays, protocols);
    return {
      status: 200,
      body: {
        asAt: now.toISOString(),
        nearWorkingDays: query.nearWorkingDays,
        rows: rows.map((row) => ({ ...row, text: describeOverdue(row) })),
      },
    };
  },
});

export const handler = createHandler(spec);
