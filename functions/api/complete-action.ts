import * as z from "zod/mini";
import { completeActionCommandSchema } from "../domain/challenge/commands.js";
import { COMMAND_ENVELOPE, commandRoute } from "./http/command-route.js";
import { actionIdParam, challengePathSchema } from "./http/path-params.js";
import { createHandler } from "./http/middleware.js";
import { completeActionRoute } from "./routes.js";

/** POST /v1/challenges/{challengeId}/actions/{actionId}/completion: an agreed action was done. */
export const spec = commandRoute({
  route: completeActionRoute,
  type: "CompleteAction",
  command: completeActionCommandSchema,
  body: z.omit(completeActionCommandSchema, { ...COMMAND_ENVELOPE, actionId: true }),
  path: z.extend(challengePathSchema, { actionId: actionIdParam }),
});

export const handler = createHandler(spec);
