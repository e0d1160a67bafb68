import { createHandler, defineRoute } from "./http/middleware.js";
import { trayPage, trayPageSchema, trayQuery, trayQuerySchema } from "./http/tray-views.js";
import { myTrayRoute } from "./routes.js";

/**
 * GET /v1/trays/mine: open challenges whose next move is the caller's (the token's subject): stages
 * addressed to them, and challenges they raised that wait for their decision (resolve or escalate)
 * after a deadline passed; earliest due first.
 */
export const spec = defineRoute({
  route: myTrayRoute,
  query: trayQuerySchema,
  response: {
    status: 200,
    description: "Open challenges whose next move is the caller's",
    schema: trayPageSchema,
  },
  handle: async ({ query, principal }, deps) => {
    const result = await deps.challenges.byRecipient(
      principal.tenantId,
      principal.actor.id,
      trayQuery(query),
    );
    return { status: 200, body: trayPage(result, deps.clock(), deps.protocols) };
  },
});

export const handler = createHandler(spec);
