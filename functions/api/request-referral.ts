import * as z from "zod/mini";
import { commandSchema } from "../domain/challenge/commands.js";
import { COMMAND_ENVELOPE, commandRoute } from "./http/command-route.js";
import { createHandler } from "./http/middleware.js";
import { requestReferralRoute } from "./routes.js";

const command = commandSchema("RequestReferral");

/** POST /v1/challenges/{challengeId}/referrals: refer to Cafcass or the safeguarding partnership. */
export const spec = commandRoute({
  route: requestReferralRoute,
  type: "RequestReferral",
  command,
  body: z.omit(command, COMMAND_ENVELOPE),
});

export const handler = createHandler(spec);
