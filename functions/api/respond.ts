import * as z from "zod/mini";
import { commandSchema } from "../domain/challenge/commands.js";
import { COMMAND_ENVELOPE, commandRoute, withStageId } from "./http/command-route.js";
import { createHandler } from "./http/middleware.js";
import { respondRoute } from "./routes.js";

const command = commandSchema("Respond");

/** POST /v1/challenges/{challengeId}/responses: the current recipient responds (only the stage's recipient may). */
export const spec = commandRoute({
  route: respondRoute,
  type: "Respond",
  command,
  body: withStageId(z.omit(command, COMMAND_ENVELOPE), "optional"),
});

export const handler = createHandler(spec);
