import * as z from "zod/mini";
import { closeCommandSchema } from "../domain/challenge/commands.js";
import { COMMAND_ENVELOPE, commandRoute } from "./http/command-route.js";
import { createHandler } from "./http/middleware.js";
import { closeRoute } from "./routes.js";

/** POST /v1/challenges/{challengeId}/closure: closes the challenge. */
export const spec = commandRoute({
  route: closeRoute,
  type: "Close",
  command: closeCommandSchema,
  body: z.omit(closeCommandSchema, COMMAND_ENVELOPE),
});

export const handler = createHandler(spec);
