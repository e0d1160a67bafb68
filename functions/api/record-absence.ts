import { randomUUID } from "node:crypto";
import * as z from "zod/mini";
import { NotInDirectoryError, recordAbsence } from "../app/absences.js";
import { absenceSchema, recordAbsenceRequestSchema } from "../domain/absence.js";
import { pathIdSchema } from "./http/path-params.js";
import { tenantWrites } from "./http/dependencies.js";
import { tenantWriteDependencies } from "./http/tenant-write-dependencies.js";
import { createHandler, defineRoute } from "./http/middleware.js";
import { problems } from "./http/problem.js";
import { recordAbsenceRoute } from "./routes.js";

/** The absence as recorded. */
export const absenceResultSchema = z
  .object({
    absence: absenceSchema.check(z.meta({ description: "The absence, with its id for ending it early" })),
  })
  .check(z.meta({ id: "AbsenceResult", description: "An absence as the staff directory records it" }));

/**
 * POST /v1/directory/{personId}/absences: records that a member of staff is away from `from` to
 * `to` (London days, inclusive; no `to` when no end is known), recorded by the caller. While it
 * lasts, a stage opened for a role they hold goes to the role's named cover, with them copied.
 * With an Idempotency-Key, a retry records nothing twice.
 */
export const spec = defineRoute({
  route: recordAbsenceRoute,
  path: z.strictObject({
    personId: pathIdSchema.check(
      z.meta({
        description: "The absent person's id in the directory",
        examples: ["tm-north-carl"],
      }),
    ),
  }),
  body: recordAbsenceRequestSchema,
  response: { status: 201, description: "The absence as recorded", schema: absenceResultSchema },
  handle: async ({ body, path, principal }, deps) => {
    try {
      const absence = await recordAbsence(tenantWrites(deps.tenants), principal.tenantId, path.personId, {
        absenceId: `abs-${randomUUID()}`,
        from: body.from,
        ...(body.to === undefined ? {} : { to: body.to }),
        source: "api",
        recordedBy: principal.actor.id,
        recordedAt: deps.clock().toISOString(),
      });
      return { status: 201, body: { absence } };
    } catch (error) {
      if (error instanceof NotInDirectoryError) {
        throw problems.notFound(`There is no active member of staff ${path.personId} in the directory.`);
      }
      throw error;
    }
  },
});

export const handler = createHandler(spec, tenantWriteDependencies);
