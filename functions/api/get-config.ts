import { createHandler, defineRoute } from "./http/middleware.js";
import { problems } from "./http/problem.js";
import { tenantSettingsViewSchema } from "./http/views.js";

/** GET /v1/config: the tenant's protocol choice and calendar settings. */
export const spec = defineRoute({
  routeId: "get-config",
  response: { status: 200, description: "The tenant's settings", schema: tenantSettingsViewSchema },
  handle: async ({ principal }, deps) => {
    const config = await deps.tenants.getConfig(principal.tenantId);
    if (config === undefined) {
      throw problems.notFound("This authority has not set up its protocol yet (PUT /v1/config).");
    }
    const protocol = deps.protocols(config.protocolId);
    return {
      status: 200,
      body: { config, protocol: protocol === undefined ? null : { id: protocol.id, name: protocol.name } },
    };
  },
});

export const handler = createHandler(spec);
