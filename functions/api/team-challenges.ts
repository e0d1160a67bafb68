import * as z from "zod/mini";
import { pathIdSchema } from "./http/path-params.js";
import { createHandler, defineRoute } from "./http/middleware.js";
import { trayPage, trayPageSchema, trayQuery, trayQuerySchema } from "./http/tray-views.js";
import { about } from "../domain/about.js";
import { teamChallengesRoute } from "./routes.js";

/** GET /v1/teams/{teamId}/challenges: every challenge about one team's work, newest first. */
export const spec = defineRoute({
  route: teamChallengesRoute,
  path: z.strictObject({
    teamId: pathIdSchema.check(
      z.meta(about("The team's id in the directory (as in a role's team:<id> scope)", "team-east")),
    ),
  }),
  query: trayQuerySchema,
  response: { status: 200, description: "Challenges about the team, newest first", schema: trayPageSchema },
  handle: async ({ path, query, principal }, deps) => {
    const result = await deps.challenges.byTeam(principal.tenantId, path.teamId, trayQuery(query));
    return { status: 200, body: trayPage(result, deps.clock(), deps.protocols) };
  },
});

export const handler = createHandler(spec);
