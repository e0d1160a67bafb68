import * as z from "zod/mini";
import { markResolvedCommandSchema } from "../domain/challenge/commands.js";
import { COMMAND_ENVELOPE, commandRoute, withStageId } from "./http/command-route.js";
import { createHandler } from "./http/middleware.js";
import { markResolvedRoute } from "./routes.js";

/** POST /v1/challenges/{challengeId}/resolution: the raiser marks the challenge resolved. */
export const spec = commandRoute({
  route: markResolvedRoute,
  type: "MarkResolved",
  command: markResolvedCommandSchema,
  body: withStageId(z.omit(markResolvedCommandSchema, COMMAND_ENVELOPE), "optional"),
});

export const handler = createHandler(spec);
