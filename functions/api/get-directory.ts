import { createHandler, defineRoute, etagOf } from "./http/middleware.js";
import { directoryViewSchema } from "./http/tenant-views.js";
import { getDirectoryRoute } from "./routes.js";

/**
 * GET /v1/directory: the tenant's staff directory (who holds which protocol role, for which team).
 * The ETag is the tenant's configuration and directory version, read first (so never newer than
 * the list): send it as If-Match to PUT /v1/directory/{personId} or PUT /v1/config.
 */
export const spec = defineRoute({
  route: getDirectoryRoute,
  response: {
    status: 200,
    description: "The staff directory, by person id; the ETag is the version to write at",
    schema: directoryViewSchema,
  },
  handle: async ({ principal }, deps) => {
    const version = await deps.tenants.version(principal.tenantId);
    const staff = await deps.tenants.listStaff(principal.tenantId, { consistent: true });
    return { status: 200, headers: { etag: etagOf(version) }, body: { staff } };
  },
});

export const handler = createHandler(spec);
