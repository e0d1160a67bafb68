import { noteDifferenceCommandSchema } from "../domain/challenge/commands.js";
import { COMMAND_ENVELOPE, commandRoute } from "./http/command-route.js";
import { createHandler } from "./http/middleware.js";

/** POST /v1/challenges/{challengeId}/differences: the raiser maintains their position. */
export const spec = commandRoute({
  routeId: "note-difference",
  type: "NoteDifference",
  command: noteDifferenceCommandSchema,
  body: noteDifferenceCommandSchema.omit(COMMAND_ENVELOPE).strict(),
});

export const handler = createHandler(spec);
