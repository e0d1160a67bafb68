import * as z from "zod/mini";
import { agreeActionPlanCommandSchema } from "../domain/challenge/commands.js";
import { COMMAND_ENVELOPE, commandRoute, withStageId } from "./http/command-route.js";
import { createHandler } from "./http/middleware.js";
import { agreeActionPlanRoute } from "./routes.js";

/** POST /v1/challenges/{challengeId}/action-plan: records an agreed SMART action plan. */
export const spec = commandRoute({
  route: agreeActionPlanRoute,
  type: "AgreeActionPlan",
  command: agreeActionPlanCommandSchema,
  body: withStageId(z.omit(agreeActionPlanCommandSchema, COMMAND_ENVELOPE), "optional"),
});

export const handler = createHandler(spec);
