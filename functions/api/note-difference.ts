import * as z from "zod/mini";
import { noteDifferenceCommandSchema } from "../domain/challenge/commands.js";
import { COMMAND_ENVELOPE, commandRoute } from "./http/command-route.js";
import { createHandler } from "./http/middleware.js";
import { noteDifferenceRoute } from "./routes.js";

/** POST /v1/challenges/{challengeId}/differences: the raiser maintains their position. */
export const spec = commandRoute({
  route: noteDifferenceRoute,
  type: "NoteDifference",
  command: noteDifferenceCommandSchema,
  body: z.omit(noteDifferenceCommandSchema, COMMAND_ENVELOPE),
});

export const handler = createHandler(spec);
