import * as z from "zod/mini";
import { acknowledgeCommandSchema } from "../domain/challenge/commands.js";
import { COMMAND_ENVELOPE, commandRoute, withStageId } from "./http/command-route.js";
import { createHandler } from "./http/middleware.js";
import { acknowledgeRoute } from "./routes.js";

/** POST /v1/challenges/{challengeId}/acknowledgements: the current recipient acknowledges the stage. */
export const spec = commandRoute({
  route: acknowledgeRoute,
  type: "Acknowledge",
  command: acknowledgeCommandSchema,
  body: withStageId(z.omit(acknowledgeCommandSchema, COMMAND_ENVELOPE), "optional"),
});

export const handler = createHandler(spec);
