import * as z from "zod/mini";
import { commandSchema } from "../domain/challenge/commands.js";
import { COMMAND_ENVELOPE, commandRoute } from "./http/command-route.js";
import { createHandler } from "./http/middleware.js";
import { reopenRoute } from "./routes.js";

const command = commandSchema("Reopen");

/** POST /v1/challenges/{challengeId}/reopenings: reopens at the stage last exited. */
export const spec = commandRoute({
  route: reopenRoute,
  type: "Reopen",
  command,
  body: z.omit(command, COMMAND_ENVELOPE),
});

export const handler = createHandler(spec);
