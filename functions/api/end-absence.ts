import * as z from "zod/mini";
import { NotInDirectoryError, UnknownAbsenceError, endAbsence } from "../app/absences.js";
import { londonDay } from "../domain/london-time.js";
import { pathIdSchema } from "./http/path-params.js";
import { tenantWrites } from "./http/dependencies.js";
import { tenantWriteDependencies } from "./http/tenant-write-dependencies.js";
import { createHandler, defineRoute } from "./http/middleware.js";
import { problems } from "./http/problem.js";
import { absenceResultSchema } from "./record-absence.js";
import { endAbsenceRoute } from "./routes.js";

/**
 * POST /v1/directory/{personId}/absences/{absenceId}/end: the person is back early, from `backOn`
 * (a London day; today when left out). The absence stays on record with when it ended and who said
 * so; stages opened from that day go to the person again. Ending it twice keeps the first ending.
 */
export const spec = defineRoute({
  route: endAbsenceRoute,
  path: z.strictObject({
    personId: pathIdSchema.check(
      z.meta({
        description: "The person's id in the directory",
        examples: ["tm-north-carl"],
      }),
    ),
    absenceId: pathIdSchema.check(
      z.meta({ description: "The absence's id, as recorded", examples: ["abs-0b5f"] }),
    ),
  }),
  body: z.strictObject({
    backOn: z.optional(z.iso.date().check(z.maxLength(10))).check(
      z.meta({
        description: "The first day the person is back (London); today when left out",
        examples: ["2026-12-10"],
      }),
    ),
  }),
  response: { status: 200, description: "The absence, ended", schema: absenceResultSchema },
  handle: async ({ body, path, principal }, deps) => {
    const backOn = body.backOn ?? londonDay(deps.clock().toISOString());
    try {
      const absence = await endAbsence(
        tenantWrites(deps.tenants),
        principal.tenantId,
        path.personId,
        path.absenceId,
        backOn,
        principal.actor.id,
      );
      return { status: 200, body: { absence } };
    } catch (error) {
      if (error instanceof NotInDirectoryError) {
        throw problems.notFound(`There is no active member of staff ${path.personId} in the directory.`);
      }
      if (error instanceof UnknownAbsenceError) {
        throw problems.notFound(`No absence ${path.absenceId} is recorded for ${path.personId}.`);
      }
      throw error;
    }
  },
});

export const handler = createHandler(spec, tenantWriteDependencies);
