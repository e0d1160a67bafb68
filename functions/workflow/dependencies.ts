import { loggingObserver } from "../app/logging-observer.js";
import { type SFNClient, SendTaskSuccessCommand } from "@aws-sdk/client-sfn";
import { SfnWorkflowSignal } from "./sfn-signal.js";
import type { ExecutionStarter, TaskCompletion, WorkflowTaskDependencies } from "./tasks.js";
import { findPreset } from "../domain/presets/index.js";
import { DynamoChallengeStore } from "../store/dynamo-challenge-store.js";
import { TenantStore } from "../store/tenant-store.js";
import { documentClient } from "../shared/clients.js";
import { sfn } from "../shared/sfn-client.js";
import { now } from "../shared/clock.js";
import { config } from "../shared/config.js";
import { withLambdaContext } from "../shared/observability.js";

/**
 * What the workflow's handlers share: the production adapters of the ports in
 * functions/workflow/tasks.ts (built once per process, on first use) and a small wrapper that
 * gives every invocation its log context and flushes its metrics.
 */

export type WorkflowDependencies = WorkflowTaskDependencies & {
  readonly completion: TaskCompletion;
  readonly starter: ExecutionStarter;
};

/** Token errors meaning the wait is over already (completed, timed out, or never known). */
const TOKEN_GONE = new Set(["TaskDoesNotExist", "TaskTimedOut", "InvalidToken"]);

/** The TaskCompletion port over Step Functions' SendTaskSuccess. */
export class SfnTaskCompletion implements TaskCompletion {
  constructor(private readonly client: SFNClient) {}

  async succeed(taskToken: string, output: unknown): Promise<"sent" | "gone"> {
    try {
      await this.client.send(new SendTaskSuccessCommand({ taskToken, output: JSON.stringify(output) }));
      return "sent";
    } catch (error) {
      if (error instanceof Error && TOKEN_GONE.has(error.name)) return "gone";
      throw error;
    }
  }
}

/** The known protocols: the shipped presets. */
export const presetProtocol = findPreset;

let production: WorkflowDependencies | undefined;

/** The real adapters, from the validated environment (TABLE_NAME, STATE_MACHINE_ARN). */
export function workflowDependencies(): WorkflowDependencies {
  if (production !== undefined) return production;
  const { TABLE_NAME, STATE_MACHINE_ARN } = config();
  const challenges = new DynamoChallengeStore(documentClient, TABLE_NAME);
  production = {
    challenges,
    // Built once per container: its configuration and directory cache serves every task that reads
    // the tenant's version unchanged (store/tenant-store.ts says how it is invalidated).
    tenants: new TenantStore(documentClient, TABLE_NAME, now),
    protocols: presetProtocol,
    clock: now,
    observer: loggingObserver,
    completion: new SfnTaskCompletion(sfn),
    starter: new SfnWorkflowSignal({ sfn, stateMachineArn: STATE_MACHINE_ARN, tokens: challenges }),
  };
  return production;
}

/** Wraps a workflow task handler (see withLambdaContext). */
export const workflowHandler = <R>(run: (event: unknown) => Promise<R>) => withLambdaContext(run);
