import * as z from "zod/mini";
import { commandSchema } from "../domain/challenge/commands.js";
import { COMMAND_ENVELOPE, commandRoute, withStageId } from "./http/command-route.js";
import { createHandler } from "./http/middleware.js";
import { acknowledgeRoute } from "./routes.js";

const command = commandSchema("Acknowledge");

/** POST /v1/challenges/{challengeId}/acknowledgements: the current recipient acknowledges the stage. */
export const spec = commandRoute({
  route: acknowledgeRoute,
  type: "Acknowledge",
  command,
  body: withStageId(z.omit(command, COMMAND_ENVELOPE), "optional"),
});

export const handler = createHandler(spec);
