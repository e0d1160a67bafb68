import * as z from "zod/mini";
import { staffMemberSchema } from "../store/tenant-store.js";
import { pathIdSchema } from "./http/path-params.js";
import { tenantWrites } from "./http/dependencies.js";
import { tenantWriteDependencies } from "./http/tenant-write-dependencies.js";
import { createHandler, defineRoute } from "./http/middleware.js";
import { writeAtReadVersion } from "./http/tenant-write.js";
import { staffMemberViewSchema } from "./http/tenant-views.js";
import { about } from "../domain/about.js";
import { putStaffMemberRoute } from "./routes.js";

/**
 * PUT /v1/directory/{personId}: add or replace a member of staff. `personId` (the subject of the
 * person's access token) comes from the path; the body is the directory entry's schema without it.
 * Only at the version read (If-Match), and never a second active holder of a role for the same
 * team, partner agency or authority (409 ROLE_ALREADY_HELD naming the holder): http/tenant-write.ts.
 */
export const spec = defineRoute({
  route: putStaffMemberRoute,
  path: z.strictObject({
    personId: pathIdSchema.check(
      z.meta(about("The person's id in the directory (your identity provider's subject)", "pm-east-lena")),
    ),
  }),
  body: z.omit(staffMemberSchema, { personId: true }),
  response: {
    status: 200,
    description: "The entry as stored; the ETag is the new version",
    schema: staffMemberViewSchema,
  },
  handle: async ({ body, path, principal, event }, deps) => {
    const { value: member, headers } = await writeAtReadVersion(event.headers, (expected) =>
      tenantWrites(deps.tenants).writeStaff(
        principal.tenantId,
        { ...body, personId: path.personId },
        expected,
      ),
    );
    return { status: 200, headers, body: { member } };
  },
});

export const handler = createHandler(spec, tenantWriteDependencies);
