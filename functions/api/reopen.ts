import * as z from "zod/mini";
import { reopenCommandSchema } from "../domain/challenge/commands.js";
import { COMMAND_ENVELOPE, commandRoute } from "./http/command-route.js";
import { createHandler } from "./http/middleware.js";
import { reopenRoute } from "./routes.js";

/** POST /v1/challenges/{challengeId}/reopenings: reopens at the stage last exited. */
export const spec = commandRoute({
  route: reopenRoute,
  type: "Reopen",
  command: reopenCommandSchema,
  body: z.omit(reopenCommandSchema, COMMAND_ENVELOPE),
});

export const handler = createHandler(spec);
