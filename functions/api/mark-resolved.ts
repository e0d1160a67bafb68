import * as z from "zod/mini";
import { commandSchema } from "../domain/challenge/commands.js";
import { COMMAND_ENVELOPE, commandRoute, withStageId } from "./http/command-route.js";
import { createHandler } from "./http/middleware.js";
import { markResolvedRoute } from "./routes.js";

const command = commandSchema("MarkResolved");

/** POST /v1/challenges/{challengeId}/resolution: the raiser marks the challenge resolved. */
export const spec = commandRoute({
  route: markResolvedRoute,
  type: "MarkResolved",
  command,
  body: withStageId(z.omit(command, COMMAND_ENVELOPE), "optional"),
});

export const handler = createHandler(spec);
