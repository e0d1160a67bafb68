import { closeCommandSchema } from "../domain/challenge/commands.js";
import { COMMAND_ENVELOPE, commandRoute } from "./http/command-route.js";
import { createHandler } from "./http/middleware.js";

/** POST /v1/challenges/{challengeId}/closure: closes the challenge. */
export const spec = commandRoute({
  routeId: "close",
  type: "Close",
  command: closeCommandSchema,
  body: closeCommandSchema.omit(COMMAND_ENVELOPE).strict(),
});

export const handler = createHandler(spec);
