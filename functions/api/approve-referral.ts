import * as z from "zod/mini";
import { commandSchema, referralKindSchema } from "../domain/challenge/commands.js";
import { COMMAND_ENVELOPE, commandRoute } from "./http/command-route.js";
import { challengePathSchema } from "./http/path-params.js";
import { createHandler } from "./http/middleware.js";
import { about } from "../domain/about.js";
import { approveReferralRoute } from "./routes.js";

const command = commandSchema("ApproveReferral");

/** POST /v1/challenges/{challengeId}/referrals/{kind}/approvals: a role the protocol names approves a referral. */
export const spec = commandRoute({
  route: approveReferralRoute,
  type: "ApproveReferral",
  command,
  body: z.omit(command, { ...COMMAND_ENVELOPE, kind: true }),
  path: z.extend(challengePathSchema, {
    kind: referralKindSchema.check(
      z.meta(about("The referral to approve: cafcass or partnership", "cafcass")),
    ),
  }),
});

export const handler = createHandler(spec);
