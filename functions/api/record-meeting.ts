import * as z from "zod/mini";
import { commandSchema } from "../domain/challenge/commands.js";
import { COMMAND_ENVELOPE, commandRoute, withStageId } from "./http/command-route.js";
import { createHandler } from "./http/middleware.js";
import { recordMeetingRoute } from "./routes.js";

const command = commandSchema("RecordMeeting");

/** POST /v1/challenges/{challengeId}/meetings: records the stage meeting. */
export const spec = commandRoute({
  route: recordMeetingRoute,
  type: "RecordMeeting",
  command,
  body: withStageId(z.omit(command, COMMAND_ENVELOPE), "optional"),
});

export const handler = createHandler(spec);
