import * as z from "zod/mini";
import { commandSchema } from "../domain/challenge/commands.js";
import { COMMAND_ENVELOPE, commandRoute } from "./http/command-route.js";
import { createHandler } from "./http/middleware.js";
import { closeRoute } from "./routes.js";

const command = commandSchema("Close");

/** POST /v1/challenges/{challengeId}/closure: closes the challenge. */
export const spec = commandRoute({
  route: closeRoute,
  type: "Close",
  command,
  body: z.omit(command, COMMAND_ENVELOPE),
});

export const handler = createHandler(spec);
