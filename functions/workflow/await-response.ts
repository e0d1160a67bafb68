import * as z from "zod/mini";
import { MONITORING_WAIT, type WaitResult, awaitWait } from "./tasks.js";
import { logger } from "../shared/observability.js";
import { type WorkflowDependencies, workflowDependencies, workflowHandler } from "./dependencies.js";

/**
 * The wait tasks (`lambda:invoke.waitForTaskToken`): AwaitResponse, TimerThenAwait and
 * AwaitMonitoring. Input: `{ taskToken, tenantId, challengeId, executionName?, wait?, stage,
 * timedOut? }` where `stage` is the view to wait on (OpenStage's or StageTimedOut's view, a view's
 * `then`, or a monitoring view from OpenStage or CheckActions: stored under stageId "monitoring"),
 * `wait` says which kind of wait the state is ("stage" or "monitoring"; from the view when absent),
 * and `timedOut` (TimerThenAwait) names the stage whose wait just timed out: the timer's action due
 * then (the reminder, or the deadline's rule) is applied first. Stores the token; if the challenge
 * is not where the view says, or there is nothing to wait for, completes the wait at once
 * (SendTaskSuccess with `{ action: "stage_changed" | "finished", ... }`) so the loop re-reads or
 * ends. Sends no email: notifications come from the committed events (functions/reactor/reactor.ts).
 * The return value is ignored by Step Functions; the token is never logged.
 */
const version = z.optional(z.number().check(z.int(), z.gte(0)));

/** The view to wait on: finished (nothing to wait for), a monitored plan, or an open stage (a view with a stageId). */
const viewSchema = z.union([
  z.pipe(
    z.looseObject({
      status: z.literal("finished"),
      outcome: z.enum(["resolved", "withdrawn", "closed", "ladder_exhausted", "superseded"]),
      version: z.number().check(z.int(), z.gte(0)),
    }),
    z.transform((view) => ({ status: view.status, outcome: view.outcome, version: view.version })),
  ),
  z.pipe(
    z.looseObject({ status: z.literal(MONITORING_WAIT), version }),
    z.transform((view) => ({ status: view.status, version: view.version })),
  ),
  z.pipe(
    z.looseObject({
      stageId: z.string().check(z.minLength(1)),
      version,
      deadline: z.optional(z.iso.datetime({ offset: true })),
      waitUntil: z.optional(z.iso.datetime({ offset: true })),
    }),
    z.transform((view) => ({
      status: "open" as const,
      stageId: view.stageId,
      version: view.version,
      deadline: view.deadline,
      waitUntil: view.waitUntil,
    })),
  ),
]);

export const awaitResponseInputSchema = z.object({
  taskToken: z.string().check(z.minLength(1), z.maxLength(2048)),
  tenantId: z.string().check(z.minLength(1)),
  challengeId: z.string().check(z.minLength(1)),
  executionName: z.optional(z.string().check(z.minLength(1))),
  wait: z.optional(z.enum(["stage", MONITORING_WAIT])),
  stage: viewSchema,
  timedOut: z.optional(
    z.pipe(
      z.looseObject({
        stageId: z.optional(z.string().check(z.minLength(1))),
        waitUntil: z.optional(z.iso.datetime({ offset: true })),
      }),
      z.transform((view) => ({ stageId: view.stageId, waitUntil: view.waitUntil })),
    ),
  ),
});

export function createHandler(
  deps: () => Pick<
    WorkflowDependencies,
    "challenges" | "tenants" | "protocols" | "clock" | "completion" | "observer"
  >,
) {
  return workflowHandler(async (event): Promise<WaitResult> => {
    const { wait, timedOut, ...input } = awaitResponseInputSchema.parse(event);
    logger.appendKeys({
      tenant_id: input.tenantId,
      challenge_id: input.challengeId,
      task: timedOut === undefined ? "AwaitResponse" : "TimerThenAwait",
    });
    const result = await awaitWait(deps(), {
      ...input,
      wait: wait ?? (input.stage.status === MONITORING_WAIT ? MONITORING_WAIT : "stage"),
      ...(timedOut === undefined ? {} : { timedOut }),
    });
    if (result.timer !== undefined) logger.info("stage wait timed out", { ...result.timer });
    if (result.waiting) logger.info("waiting for a person", { stageId: result.stageId });
    else logger.info("nothing to wait for here: ending the wait at once", { completion: result.completion });
    return result;
  });
}

export const handler = createHandler(workflowDependencies);
