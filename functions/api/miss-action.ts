import * as z from "zod/mini";
import { commandSchema } from "../domain/challenge/commands.js";
import { COMMAND_ENVELOPE, commandRoute } from "./http/command-route.js";
import { actionIdParam, challengePathSchema } from "./http/path-params.js";
import { createHandler } from "./http/middleware.js";
import { missActionRoute } from "./routes.js";

const command = commandSchema("MissAction");

/** POST /v1/challenges/{challengeId}/actions/{actionId}/miss: an agreed action was not done. */
export const spec = commandRoute({
  route: missActionRoute,
  type: "MissAction",
  command,
  body: z.omit(command, { ...COMMAND_ENVELOPE, actionId: true }),
  path: z.extend(challengePathSchema, { actionId: actionIdParam }),
});

export const handler = createHandler(spec);
