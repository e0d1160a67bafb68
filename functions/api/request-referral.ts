import * as z from "zod/mini";
import { requestReferralCommandSchema } from "../domain/challenge/commands.js";
import { COMMAND_ENVELOPE, commandRoute } from "./http/command-route.js";
import { createHandler } from "./http/middleware.js";
import { requestReferralRoute } from "./routes.js";

/** POST /v1/challenges/{challengeId}/referrals: refer to Cafcass or the safeguarding partnership. */
export const spec = commandRoute({
  route: requestReferralRoute,
  type: "RequestReferral",
  command: requestReferralCommandSchema,
  body: z.omit(requestReferralCommandSchema, COMMAND_ENVELOPE),
});

export const handler = createHandler(spec);
