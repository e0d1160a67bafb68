import * as z from "zod/mini";
import { commandSchema } from "../domain/challenge/commands.js";
import { COMMAND_ENVELOPE, commandRoute, withStageId } from "./http/command-route.js";
import { createHandler } from "./http/middleware.js";
import { escalateRoute } from "./routes.js";

const command = commandSchema("Escalate");

/** POST /v1/challenges/{challengeId}/escalations: the raiser escalates to the next stage with reasons. */
export const spec = commandRoute({
  route: escalateRoute,
  type: "Escalate",
  command,
  body: withStageId(z.omit(command, COMMAND_ENVELOPE), "required"),
});

export const handler = createHandler(spec);
