import * as z from "zod/mini";
import { caseRecordIdParam } from "./http/path-params.js";
import { createHandler, defineRoute } from "./http/middleware.js";
import { trayPage, trayPageSchema, trayQuery, trayQuerySchema } from "./http/tray-views.js";
import { childChallengesRoute } from "./routes.js";

/** GET /v1/children/{caseRecordId}/challenges: every challenge about one child, newest first. */
export const spec = defineRoute({
  route: childChallengesRoute,
  path: z.strictObject({ caseRecordId: caseRecordIdParam }),
  query: trayQuerySchema,
  response: { status: 200, description: "Challenges about the child, newest first", schema: trayPageSchema },
  handle: async ({ path, query, principal }, deps) => {
    const result = await deps.challenges.byChild(principal.tenantId, path.caseRecordId, trayQuery(query));
    return { status: 200, body: trayPage(result, deps.clock(), deps.protocols) };
  },
});

export const handler = createHandler(spec);
