import * as z from "zod/mini";
import { commandSchema } from "../domain/challenge/commands.js";
import { COMMAND_ENVELOPE, commandRoute } from "./http/command-route.js";
import { createHandler } from "./http/middleware.js";
import { decideAfterLadderRoute } from "./routes.js";

const command = commandSchema("DecideAfterLadder");

/**
 * POST /v1/challenges/{challengeId}/decisions: the decision the protocol owes after the last stage
 * (000's AD on a noted difference; 003's Safeguarding Children Partnership Manager), made by the
 * person the directory names for it or their cover. No stage is open by then, so there is no
 * `stageId`; a repeat is refused by the state (the decision is no longer awaited), and If-Match works.
 */
export const spec = commandRoute({
  route: decideAfterLadderRoute,
  type: "DecideAfterLadder",
  command,
  body: z.omit(command, COMMAND_ENVELOPE),
});

export const handler = createHandler(spec);
