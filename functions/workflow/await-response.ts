import * as z from "zod";
import { type AwaitResponseResult, MONITORING_WAIT, awaitResponse } from "../app/workflow-tasks.js";
import { logger } from "../shared/observability.js";
import { type WorkflowDependencies, workflowDependencies, workflowHandler } from "./dependencies.js";

/**
 * AwaitResponse and AwaitMonitoring tasks (`lambda:invoke.waitForTaskToken`). Input: `{ taskToken,
 * tenantId, challengeId, stage }` where `stage` is OpenStage's open view (a stage's wait) or a
 * monitoring view from OpenStage or CheckActions (the action plan's wait, stored under stageId
 * "monitoring"). Stores the token; if the challenge changed since the view was read, completes
 * the wait at once (SendTaskSuccess with `{ action: "stage_changed", ... }`) so the loop re-reads.
 * Sends no email: notifications come from the committed events (functions/events/react.ts). The
 * return value is ignored by Step Functions; the token is never logged.
 */
const version = z.number().int().min(0).optional();

/** What the wait is for: the monitored plan, or the open stage (a view with a stageId). */
const waitSchema = z.union([
  z
    .looseObject({ status: z.literal("monitoring"), version })
    .transform((view) => ({ stageId: MONITORING_WAIT, version: view.version })),
  z
    .looseObject({ stageId: z.string().min(1), version })
    .transform((view) => ({ stageId: view.stageId, version: view.version })),
]);

export const awaitResponseInputSchema = z.object({
  taskToken: z.string().min(1).max(2048),
  tenantId: z.string().min(1),
  challengeId: z.string().min(1),
  stage: waitSchema,
});

export function createHandler(
  deps: () => Pick<WorkflowDependencies, "challenges" | "tenants" | "protocols" | "clock" | "completion">,
) {
  return workflowHandler(async (event): Promise<AwaitResponseResult> => {
    const input = awaitResponseInputSchema.parse(event);
    logger.appendKeys({ tenant_id: input.tenantId, challenge_id: input.challengeId, task: "AwaitResponse" });
    const result = await awaitResponse(deps(), input);
    if (result.waiting) logger.info("waiting for a person", { stageId: result.stageId });
    else
      logger.info("the challenge changed before the wait began: re-reading", {
        completion: result.completion,
      });
    return result;
  });
}

export const handler = createHandler(workflowDependencies);
