import * as z from "zod/mini";
import { bypassCommandSchema } from "../domain/challenge/commands.js";
import { COMMAND_ENVELOPE, commandRoute, withStageId } from "./http/command-route.js";
import { createHandler } from "./http/middleware.js";
import { bypassRoute } from "./routes.js";

/** POST /v1/challenges/{challengeId}/bypasses: the raiser skips to a later stage with a rationale. */
export const spec = commandRoute({
  route: bypassRoute,
  type: "Bypass",
  command: bypassCommandSchema,
  body: withStageId(z.omit(bypassCommandSchema, COMMAND_ENVELOPE), "required"),
});

export const handler = createHandler(spec);
