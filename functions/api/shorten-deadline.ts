import * as z from "zod/mini";
import { commandSchema } from "../domain/challenge/commands.js";
import { COMMAND_ENVELOPE, commandRoute, withStageId } from "./http/command-route.js";
import { createHandler } from "./http/middleware.js";
import { shortenDeadlineRoute } from "./routes.js";

const command = commandSchema("ShortenDeadline");

/**
 * POST /v1/challenges/{challengeId}/deadline-shortenings: the raiser (or an IRO service manager)
 * shortens the open stage's window for this challenge, with a reason (000 §2.4). A shortening is a
 * thing recorded with its own reason and person, like an escalation, so it is a collection the
 * client POSTs to rather than a PATCH of the deadline. The body's `stageId` names the stage
 * shortened and is the precondition: a repeat after the stage moved is a 409, never a second change.
 */
export const spec = commandRoute({
  route: shortenDeadlineRoute,
  type: "ShortenDeadline",
  command,
  body: withStageId(z.omit(command, { ...COMMAND_ENVELOPE, stageId: true }), "required"),
  commandNamesStage: true,
  description: "The challenge with the open stage's new deadline, and the DeadlineShortened event",
});

export const handler = createHandler(spec);
