import * as z from "zod";
import {
  type StageTimedOutResult,
  type WorkflowTaskDependencies,
  stageTimedOut,
} from "../app/workflow-tasks.js";
import { logger } from "../shared/observability.js";
import { workflowDependencies, workflowHandler } from "./dependencies.js";

/**
 * StageTimedOut task, the Catch of `States.Timeout` on AwaitResponse. Input: `{ tenantId,
 * challengeId, stage }` (`stage` is OpenStage's output for the stage that timed out). Sends the
 * stage's reminder (SendReminder) when one is due now, else runs AutoEscalate, both through the
 * application service; a deadline not yet passed or a stage already left is a successful no-op
 * (the ASL discards the result and re-runs OpenStage, which then waits for the deadline).
 */
export const stageTimedOutInputSchema = z.object({
  tenantId: z.string().min(1),
  challengeId: z.string().min(1),
  stage: z.looseObject({ stageId: z.string().min(1) }),
});

export function createHandler(deps: () => WorkflowTaskDependencies) {
  return workflowHandler(async (event): Promise<StageTimedOutResult> => {
    const input = stageTimedOutInputSchema.parse(event);
    logger.appendKeys({ tenant_id: input.tenantId, challenge_id: input.challengeId, task: "StageTimedOut" });
    const result = await stageTimedOut(deps(), input);
    logger.info("stage deadline handled", { stageId: input.stage.stageId, ...result });
    return result;
  });
}

export const handler = createHandler(workflowDependencies);
