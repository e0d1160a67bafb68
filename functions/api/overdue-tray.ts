import * as z from "zod/mini";
import { createHandler, defineRoute } from "./http/middleware.js";
import { trayPage, trayPageSchema, trayQuery, trayQuerySchema } from "./http/tray-views.js";
import { about } from "../domain/about.js";
import { overdueTrayRoute } from "./routes.js";

/** GET /v1/trays/overdue?dueBy=: open stages due on or before `dueBy` (default: now), earliest first. */
export const spec = defineRoute({
  route: overdueTrayRoute,
  query: z.extend(trayQuerySchema, {
    dueBy: z
      .optional(z.iso.datetime({ offset: true }).check(z.maxLength(40)))
      .check(
        z.meta(about("Open stages due on or before this instant; default now", "2026-05-29T17:00:00.000Z")),
      ),
  }),
  response: {
    status: 200,
    description: "Open stages due by the date, earliest first",
    schema: trayPageSchema,
  },
  handle: async ({ query, principal }, deps) => {
    const now = deps.clock();
    const { dueBy, ...page } = query;
    const result = await deps.challenges.openByDueDate(
      principal.tenantId,
      dueBy ?? now.toISOString(),
      trayQuery(page),
    );
    return { status: 200, body: trayPage(result, now, deps.protocols) };
  },
});

export const handler = createHandler(spec);
