import * as z from "zod/mini";
import { escalateCommandSchema } from "../domain/challenge/commands.js";
import { COMMAND_ENVELOPE, commandRoute, withStageId } from "./http/command-route.js";
import { createHandler } from "./http/middleware.js";
import { escalateRoute } from "./routes.js";

/** POST /v1/challenges/{challengeId}/escalations: the raiser escalates to the next stage with reasons. */
export const spec = commandRoute({
  route: escalateRoute,
  type: "Escalate",
  command: escalateCommandSchema,
  body: withStageId(z.omit(escalateCommandSchema, COMMAND_ENVELOPE), "required"),
});

export const handler = createHandler(spec);
