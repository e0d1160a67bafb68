import * as z from "zod/mini";
import { type StageView, type WorkflowTaskDependencies, openStage } from "./tasks.js";
import { logger } from "../shared/observability.js";
import { workflowDependencies, workflowHandler } from "./dependencies.js";

/**
 * OpenStage task (statemachines/challenge.asl.json). Input: `{ tenantId, challengeId,
 * executionName? }` (`$$.Execution.Name`: which run is asking). Output (`$.stage.current`):
 * `{ status: "open", stageId, deadline, timeoutSeconds, waitUntil, onTimeout, version }` (waiting
 * for the reminder time first, `onTimeout: "remind"`, when a reminder is still to be sent),
 * `{ status: "monitoring", nextActionDueAt, timeoutSeconds, version }` or `{ status: "finished",
 * outcome, version }` (outcome "superseded": a later run times the challenge). Reads only: safe to
 * run on every loop, retry and local resume.
 */
export const openStageInputSchema = z.object({
  tenantId: z.string().check(z.minLength(1)),
  challengeId: z.string().check(z.minLength(1)),
  executionName: z.optional(z.string().check(z.minLength(1))),
});

export function createHandler(deps: () => WorkflowTaskDependencies) {
  return workflowHandler(async (event): Promise<StageView> => {
    const input = openStageInputSchema.parse(event);
    logger.appendKeys({ tenant_id: input.tenantId, challenge_id: input.challengeId, task: "OpenStage" });
    const view = await openStage(deps(), input);
    logger.info("stage read", {
      status: view.status,
      ...(view.status === "open"
        ? { stageId: view.stageId, timeoutSeconds: view.timeoutSeconds, onTimeout: view.onTimeout }
        : view.status === "monitoring"
          ? { nextActionDueAt: view.nextActionDueAt, timeoutSeconds: view.timeoutSeconds }
          : { outcome: view.outcome }),
    });
    return view;
  });
}

export const handler = createHandler(workflowDependencies);
