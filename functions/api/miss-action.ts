import * as z from "zod/mini";
import { missActionCommandSchema } from "../domain/challenge/commands.js";
import { COMMAND_ENVELOPE, commandRoute } from "./http/command-route.js";
import { actionIdParam, challengePathSchema } from "./http/path-params.js";
import { createHandler } from "./http/middleware.js";
import { missActionRoute } from "./routes.js";

/** POST /v1/challenges/{challengeId}/actions/{actionId}/miss: an agreed action was not done. */
export const spec = commandRoute({
  route: missActionRoute,
  type: "MissAction",
  command: missActionCommandSchema,
  body: z.omit(missActionCommandSchema, { ...COMMAND_ENVELOPE, actionId: true }),
  path: z.extend(challengePathSchema, { actionId: actionIdParam }),
});

export const handler = createHandler(spec);
