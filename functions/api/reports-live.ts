import * as z from "zod/mini";
import { TenantNotConfiguredError, UnknownProtocolError } from "../app/execute-command.js";
import { livePage, quartersEnding, timelineOfEvents, toLiveHtml } from "../reports/live-page.js";
import { loadCohort, loadOpen, mapInPool, protocolsFor, tenantCalendar } from "../reports/readers.js";
import type { ApiDependencies } from "./http/dependencies.js";
import { type ApiResult, createHandler, defineRoute } from "./http/middleware.js";
import { HTML_CSP } from "./http/report-format.js";
import { reportsLiveRoute } from "./routes.js";

/**
 * GET /v1/reports/live: the live page for service managers (functions/reports/live-page.ts says what
 * it shows), one server-rendered, printable HTML page behind the reports' authorisation. Loads by
 * key only: the open-by-due-date tray (every page) and each open challenge's events (its timeline),
 * `raisedInMonth` for the last four quarters and those challenges' events, and the directory (names
 * at read time). The tenant comes from the token: no other tenant's challenge can be read.
 */

const TIMELINE_READS_IN_FLIGHT = 8;

export const spec = defineRoute({
  route: reportsLiveRoute,
  query: z.strictObject({}),
  response: {
    status: 200,
    description:
      "text/html: one self-contained page: open challenges (overdue first, days to deadline, who has " +
      "each and whether they acknowledged it), resolution and stage reached by quarter, themes over time, " +
      "and each open challenge's timeline",
    text: {
      "text/html": {
        description: "The live page: one printable, self-contained HTML page",
        example: '<!doctype html><html lang="en-GB">...</html>',
      },
    },
  },
  handle: async ({ principal }, deps: ApiDependencies): Promise<ApiResult> => {
    const { tenantId } = principal;
    const config = await deps.tenants.getConfig(tenantId);
    if (config === undefined) throw new TenantNotConfiguredError(tenantId);
    const calendar = tenantCalendar(config);
    const now = deps.clock();
    const quarters = quartersEnding(now, calendar);
    const period = { from: quarters[0]?.period.from ?? "", to: quarters.at(-1)?.period.to ?? "" };

    const [open, cohort, staff] = await Promise.all([
      loadOpen(deps.challenges, tenantId),
      loadCohort(deps.challenges, tenantId, period, calendar),
      deps.tenants.listStaff(tenantId),
    ]);
    const protocols = protocolsFor(
      [config.protocolId, ...open.map((c) => c.protocolId), ...cohort.challenges.map((c) => c.protocolId)],
      deps.protocols,
      (id) => new UnknownProtocolError(id),
    );
    const names = new Map(staff.map((member) => [member.personId, member.displayName]));
    const lookup = (personId: string): string | undefined => names.get(personId);
    const timelines = new Map(
      await mapInPool(open, TIMELINE_READS_IN_FLIGHT, async (state) => {
        const stored = await deps.challenges.events(tenantId, state.challengeId);
        const protocol = protocols.find((p) => p.id === state.protocolId);
        const events = stored.map((s) => s.event);
        return [state.challengeId, timelineOfEvents(events, protocol, lookup)] as const;
      }),
    );
    const page = livePage({
      open,
      raised: cohort.challenges,
      raisedEvents: cohort.events,
      protocols,
      calendar,
      now,
      names: lookup,
      timelines,
    });
    return {
      status: 200,
      text: toLiveHtml(page),
      headers: {
        "content-type": "text/html; charset=utf-8",
        "content-security-policy": HTML_CSP,
        "x-content-type-options": "nosniff",
        "cache-control": "no-store",
      },
    };
  },
});

/** The route's Lambda handler over `deps` (default: the production wiring, built on first use). */
export function makeHandler(deps?: ApiDependencies) {
  return createHandler(spec, deps);
}

export const handler = makeHandler();
