import { createHandler, defineRoute } from "./http/middleware.js";
import { directoryViewSchema } from "./http/views.js";

/** GET /v1/directory: the tenant's staff directory (who holds which protocol role, for which team). */
export const spec = defineRoute({
  routeId: "get-directory",
  response: { status: 200, description: "The staff directory, by person id", schema: directoryViewSchema },
  handle: async ({ principal }, deps) => ({
    status: 200,
    body: { staff: await deps.tenants.listStaff(principal.tenantId) },
  }),
});

export const handler = createHandler(spec);
