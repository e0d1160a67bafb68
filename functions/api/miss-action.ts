import { missActionCommandSchema } from "../domain/challenge/commands.js";
import { COMMAND_ENVELOPE, actionIdParam, challengePathSchema, commandRoute } from "./http/command-route.js";
import { createHandler } from "./http/middleware.js";

/** POST /v1/challenges/{challengeId}/actions/{actionId}/miss: an agreed action was not done. */
export const spec = commandRoute({
  routeId: "miss-action",
  type: "MissAction",
  command: missActionCommandSchema,
  body: missActionCommandSchema.omit({ ...COMMAND_ENVELOPE, actionId: true }).strict(),
  path: challengePathSchema.extend({ actionId: actionIdParam }),
});

export const handler = createHandler(spec);
