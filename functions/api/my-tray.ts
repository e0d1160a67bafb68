import { createHandler, defineRoute } from "./http/middleware.js";
import { trayPage, trayPageSchema, trayQuerySchema } from "./http/views.js";

/** GET /v1/trays/mine: open stages addressed to the caller (the token's subject), earliest deadline first. */
export const spec = defineRoute({
  routeId: "my-tray",
  query: trayQuerySchema,
  response: { status: 200, description: "Open stages addressed to the caller", schema: trayPageSchema },
  handle: async ({ query, principal }, deps) => {
    const result = await deps.challenges.byRecipient(principal.tenantId, principal.actor.id, query);
    return { status: 200, body: trayPage(result, deps.clock(), deps.protocols) };
  },
});

export const handler = createHandler(spec);
