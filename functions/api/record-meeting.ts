import * as z from "zod/mini";
import { recordMeetingCommandSchema } from "../domain/challenge/commands.js";
import { COMMAND_ENVELOPE, commandRoute, withStageId } from "./http/command-route.js";
import { createHandler } from "./http/middleware.js";
import { recordMeetingRoute } from "./routes.js";

/** POST /v1/challenges/{challengeId}/meetings: records the stage meeting. */
export const spec = commandRoute({
  route: recordMeetingRoute,
  type: "RecordMeeting",
  command: recordMeetingCommandSchema,
  body: withStageId(z.omit(recordMeetingCommandSchema, COMMAND_ENVELOPE), "optional"),
});

export const handler = createHandler(spec);
