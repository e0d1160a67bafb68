import { z } from "zod";
import { type AwaitResponseResult, awaitResponse } from "../app/workflow-tasks.js";
import { logger } from "../shared/observability.js";
import { type WorkflowDependencies, workflowDependencies, workflowHandler } from "./dependencies.js";

/**
 * AwaitResponse task (`lambda:invoke.waitForTaskToken`). Input: `{ taskToken, tenantId,
 * challengeId, stage }` where `stage` is OpenStage's output. Stores the token for the stage; if the
 * challenge changed since OpenStage read it, completes the wait at once (SendTaskSuccess with
 * `{ action: "stage_changed", ... }`) so the loop re-reads. Sends no email: notifications come
 * from the committed events (the mail stream consumer). The return value is ignored by Step
 * Functions; the token is never logged.
 */
export const awaitResponseInputSchema = z.object({
  taskToken: z.string().min(1).max(2048),
  tenantId: z.string().min(1),
  challengeId: z.string().min(1),
  stage: z.looseObject({
    stageId: z.string().min(1),
    version: z.number().int().min(0).optional(),
  }),
});

export function createHandler(
  deps: () => Pick<WorkflowDependencies, "challenges" | "tenants" | "protocols" | "clock" | "completion">,
) {
  return workflowHandler(async (event): Promise<AwaitResponseResult> => {
    const input = awaitResponseInputSchema.parse(event);
    logger.appendKeys({ tenant_id: input.tenantId, challenge_id: input.challengeId, task: "AwaitResponse" });
    const result = await awaitResponse(deps(), input);
    if (result.waiting) logger.info("waiting for the stage's recipient", { stageId: result.stageId });
    else
      logger.info("the challenge changed before the wait began: re-reading", {
        completion: result.completion,
      });
    return result;
  });
}

export const handler = createHandler(workflowDependencies);
