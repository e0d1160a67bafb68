import * as z from "zod/mini";
import { type CheckActionsResult, type WorkflowTaskDependencies, checkActions } from "./tasks.js";
import { logger } from "../shared/observability.js";
import { workflowDependencies, workflowHandler } from "./dependencies.js";

/**
 * CheckActions task, when AwaitMonitoring times out (the next action fell due). Input: `{ tenantId,
 * challengeId, dueAt, executionName? }`. Records the actions that fell due and were not yet asked
 * about (RecordActionsDue, through the application service: the raiser's email follows from the
 * committed event), so it writes: it needs read-write access to the table. Output
 * (`$.stage.current`): `{ status: "monitoring", nextActionDueAt, timeoutSeconds, dueActions: [{
 * actionId, byWhen }], version }` while the plan is monitored, otherwise OpenStage's shape (open
 * or finished).
 */
export const checkActionsInputSchema = z.object({
  tenantId: z.string().check(z.minLength(1)),
  challengeId: z.string().check(z.minLength(1)),
  dueAt: z.iso.datetime({ offset: true }),
  executionName: z.optional(z.string().check(z.minLength(1))),
});

export function createHandler(deps: () => WorkflowTaskDependencies) {
  return workflowHandler(async (event): Promise<CheckActionsResult> => {
    const input = checkActionsInputSchema.parse(event);
    logger.appendKeys({ tenant_id: input.tenantId, challenge_id: input.challengeId, task: "CheckActions" });
    const result = await checkActions(deps(), input);
    logger.info("action plan checked", {
      status: result.status,
      ...(result.status === "monitoring"
        ? { dueActionCount: result.dueActions.length, nextActionDueAt: result.nextActionDueAt }
        : {}),
    });
    return result;
  });
}

export const handler = createHandler(workflowDependencies);
