import * as z from "zod/mini";
import {
  FORESEEN_WAITS,
  type WaitableView,
  type WorkflowTaskDependencies,
  stageTimedOutThenOpen,
} from "./tasks.js";
import { logger } from "../shared/observability.js";
import { workflowDependencies, workflowHandler } from "./dependencies.js";

/**
 * StageTimedOut task, the Catch of `States.Timeout` on the last TimerThenAwait of the chain. Input:
 * `{ tenantId, challengeId, stage, executionName? }` (`stage` is the wait that timed out: the view's
 * last foreseen wait, `then` {@link FORESEEN_WAITS} deep).
 * Sends the stage's reminder (SendReminder) when one is due now, else runs AutoEscalate, both
 * through the application service; a deadline not yet passed or a stage already left is a
 * successful no-op. Then reads the challenge as OpenStage does and returns its view
 * (`$.stage.current`) with `timer` (what the timer did): the state machine goes straight on to
 * AwaitResponse, without a Choice, so the view's shape is checked here, where a failure can be
 * caught (a missing TimeoutSecondsPath field would be an uncatchable States.Runtime error there).
 */
export const stageTimedOutInputSchema = z.object({
  tenantId: z.string().check(z.minLength(1)),
  challengeId: z.string().check(z.minLength(1)),
  /** The wait that timed out; without a stage id (a finished view's settling wait) only the re-read runs. */
  stage: z.looseObject({ stageId: z.optional(z.string().check(z.minLength(1))) }),
  executionName: z.optional(z.string().check(z.minLength(1))),
});

const waitSeconds = z.number().check(z.int(), z.gte(1));

/** A wait's timeout and the {@link FORESEEN_WAITS} waits worked out after it, each with its own. */
function foreseenWaits(): z.ZodMiniType {
  let chain: z.ZodMiniType = z.looseObject({ timeoutSeconds: waitSeconds });
  for (let depth = 0; depth < FORESEEN_WAITS; depth++)
    chain = z.looseObject({ timeoutSeconds: waitSeconds, then: chain });
  return chain;
}

/**
 * What AwaitResponse and each TimerThenAwait read from the view: their TimeoutSecondsPath fields,
 * `timeoutSeconds`, `then.timeoutSeconds`, ... {@link FORESEEN_WAITS} deep.
 */
export const waitableViewSchema = z.intersection(
  z.looseObject({ status: z.enum(["open", "monitoring", "finished"]) }),
  foreseenWaits(),
);

export function createHandler(deps: () => WorkflowTaskDependencies) {
  return workflowHandler(async (event): Promise<WaitableView> => {
    const input = stageTimedOutInputSchema.parse(event);
    logger.appendKeys({ tenant_id: input.tenantId, challenge_id: input.challengeId, task: "StageTimedOut" });
    const view = await stageTimedOutThenOpen(deps(), input);
    waitableViewSchema.parse(view);
    logger.info("stage wait timed out", { stageId: input.stage.stageId, ...view.timer, status: view.status });
    return view;
  });
}

export const handler = createHandler(workflowDependencies);
