import * as z from "zod/mini";
import { commandSchema } from "../domain/challenge/commands.js";
import { COMMAND_ENVELOPE, commandRoute } from "./http/command-route.js";
import { createHandler } from "./http/middleware.js";
import { noteDifferenceRoute } from "./routes.js";

const command = commandSchema("NoteDifference");

/** POST /v1/challenges/{challengeId}/differences: the raiser maintains their position. */
export const spec = commandRoute({
  route: noteDifferenceRoute,
  type: "NoteDifference",
  command,
  body: z.omit(command, COMMAND_ENVELOPE),
});

export const handler = createHandler(spec);
