import * as z from "zod/mini";
import { commandSchema } from "../domain/challenge/commands.js";
import { COMMAND_ENVELOPE, commandRoute } from "./http/command-route.js";
import { createHandler } from "./http/middleware.js";
import { withdrawRoute } from "./routes.js";

const command = commandSchema("Withdraw");

/** POST /v1/challenges/{challengeId}/withdrawal: the raiser withdraws the challenge. */
export const spec = commandRoute({
  route: withdrawRoute,
  type: "Withdraw",
  command,
  body: z.omit(command, COMMAND_ENVELOPE),
});

export const handler = createHandler(spec);
