import { challengePathSchema } from "./http/path-params.js";
import { createHandler, defineRoute, etagOf } from "./http/middleware.js";
import { problems } from "./http/problem.js";
import { challengeWithTimelineSchema, timelineEntries } from "./http/views.js";
import { getChallengeRoute } from "./routes.js";

/**
 * GET /v1/challenges/{challengeId}: the snapshot and its timeline (every event in order, in plain
 * words). A challenge of another tenant is simply not found: the tenant comes from the token.
 */
export const spec = defineRoute({
  route: getChallengeRoute,
  path: challengePathSchema,
  response: {
    status: 200,
    description: "The challenge and its timeline",
    schema: challengeWithTimelineSchema,
  },
  handle: async ({ path, principal }, deps) => {
    const [stored, firstRead] = await Promise.all([
      deps.challenges.get(principal.tenantId, path.challengeId),
      deps.challenges.events(principal.tenantId, path.challengeId),
    ]);
    if (stored === undefined)
      throw problems.notFound(`There is no challenge ${path.challengeId} in this authority.`);
    // The two reads run side by side, so a command can commit between them: the events may stop
    // short of the snapshot. Events and snapshot commit together, so a second read now has them all.
    const events =
      firstRead.length < stored.state.version
        ? await deps.challenges.events(principal.tenantId, path.challengeId)
        : firstRead;
    return {
      status: 200,
      // The version, for If-Match on a command: it acts only if nothing changed since this read.
      headers: { etag: etagOf(stored.state.version) },
      // Keep the timeline to the events the snapshot has folded (a later command may have added more).
      body: {
        challenge: stored.state,
        timeline: timelineEntries(
          events.filter((e) => e.event.seq <= stored.state.version).map((e) => e.event),
          deps.protocols(stored.state.protocolId),
        ),
      },
    };
  },
});

export const handler = createHandler(spec);
