import { recordMeetingCommandSchema } from "../domain/challenge/commands.js";
import { COMMAND_ENVELOPE, commandRoute } from "./http/command-route.js";
import { createHandler } from "./http/middleware.js";

/** POST /v1/challenges/{challengeId}/meetings: records the stage meeting. */
export const spec = commandRoute({
  routeId: "record-meeting",
  type: "RecordMeeting",
  command: recordMeetingCommandSchema,
  body: recordMeetingCommandSchema.omit(COMMAND_ENVELOPE).strict(),
});

export const handler = createHandler(spec);
