import * as z from "zod/mini";
import { commandSchema } from "../domain/challenge/commands.js";
import { COMMAND_ENVELOPE, commandRoute, withStageId } from "./http/command-route.js";
import { createHandler } from "./http/middleware.js";
import { agreeActionPlanRoute } from "./routes.js";

const command = commandSchema("AgreeActionPlan");

/** POST /v1/challenges/{challengeId}/action-plan: records an agreed SMART action plan. */
export const spec = commandRoute({
  route: agreeActionPlanRoute,
  type: "AgreeActionPlan",
  command,
  body: withStageId(z.omit(command, COMMAND_ENVELOPE), "optional"),
});

export const handler = createHandler(spec);
