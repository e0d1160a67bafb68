import * as z from "zod/mini";
import { about } from "../../domain/about.js";

/**
 * The ids routes take in their paths: here, apart from the command routes' machinery, so a tray or
 * directory route that takes an id bundles no command path.
 */

/** An id in a path (challenge, action, person, team, case record). */
export const pathIdSchema = z.string().check(z.minLength(1), z.maxLength(128));

/** An agreed action's id in a path, as the action plan lists it. */
export const actionIdParam = pathIdSchema.check(
  z.meta(about("The agreed action's id (`challenge.actionPlan.actions[].id`)", "action-1")),
);

/** A child's id in the case-record system, in a path. */
export const caseRecordIdParam = pathIdSchema.check(
  z.meta(about("The child's id in the case-record system, as on the challenge form", "MOS-4821")),
);

/** Path parameters of the routes under /v1/challenges/{challengeId}. */
export const challengePathSchema = z.strictObject({
  challengeId: pathIdSchema.check(
    z.meta(about("The challenge's id (a ULID, as the raise returned it)", "01JV4K8Z3M6N2P9Q5R7S1T3W4X")),
  ),
});
