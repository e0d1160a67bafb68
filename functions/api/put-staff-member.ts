import * as z from "zod/mini";
import { staffMemberSchema } from "../store/tenant-store.js";
import { pathIdSchema } from "./http/command-route.js";
import { createHandler, defineRoute } from "./http/middleware.js";
import { staffMemberViewSchema } from "./http/views.js";
import { about } from "../domain/about.js";

/**
 * PUT /v1/directory/{personId}: add or replace a member of staff. `personId` (the subject of the
 * person's access token) comes from the path; the body is the directory entry's schema without it.
 */
export const spec = defineRoute({
  routeId: "put-staff-member",
  path: z.strictObject({
    personId: pathIdSchema.check(
      z.meta(about("The person's id in the directory (your identity provider's subject)", "pm-east-lena")),
    ),
  }),
  body: z.omit(staffMemberSchema, { personId: true }),
  response: { status: 200, description: "The entry as stored", schema: staffMemberViewSchema },
  handle: async ({ body, path, principal }, deps) => ({
    status: 200,
    body: {
      member: await deps.tenants.upsertStaff(principal.tenantId, { ...body, personId: path.personId }),
    },
  }),
});

export const handler = createHandler(spec);
