import * as z from "zod/mini";
import { commandSchema } from "../domain/challenge/commands.js";
import { COMMAND_ENVELOPE, commandRoute } from "./http/command-route.js";
import { createHandler } from "./http/middleware.js";
import { legalHoldRoute } from "./routes.js";

const command = commandSchema("SetLegalHold");

/**
 * POST /v1/challenges/{challengeId}/legal-hold: the IRO service manager places (`hold: true`) or
 * lifts (`hold: false`) a legal hold, with a reason; while held, the record is never deleted.
 */
export const spec = commandRoute({
  route: legalHoldRoute,
  type: "SetLegalHold",
  command,
  body: z.omit(command, COMMAND_ENVELOPE),
});

export const handler = createHandler(spec);
