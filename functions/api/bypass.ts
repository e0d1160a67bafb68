import * as z from "zod/mini";
import { commandSchema } from "../domain/challenge/commands.js";
import { COMMAND_ENVELOPE, commandRoute, withStageId } from "./http/command-route.js";
import { createHandler } from "./http/middleware.js";
import { bypassRoute } from "./routes.js";

const command = commandSchema("Bypass");

/** POST /v1/challenges/{challengeId}/bypasses: the raiser skips to a later stage with a rationale. */
export const spec = commandRoute({
  route: bypassRoute,
  type: "Bypass",
  command,
  body: withStageId(z.omit(command, COMMAND_ENVELOPE), "required"),
});

export const handler = createHandler(spec);
