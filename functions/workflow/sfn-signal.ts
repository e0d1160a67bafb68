import { type SFNClient, SendTaskSuccessCommand, StartExecutionCommand } from "@aws-sdk/client-sfn";
import type { ChallengeStore, StoredTaskToken } from "../store/ports.js";
import type { WorkflowOutcome, WorkflowSignal } from "../app/execute-command.js";
import { FIRST_RUN_SEQ, executionName } from "./tasks.js";

/**
 * The WorkflowSignal port over Step Functions.
 *
 * - start: StartExecution of one run, named after the tenant, the challenge id and the seq of the
 *   event that started the run (see {@link executionName}), input `{ tenantId, challengeId }` (the
 *   tasks read the run from `$$.Execution.Name`). A second start of the same run is harmless: Step
 *   Functions returns the running execution for the same name and input, and a name already used
 *   is reported as ExecutionAlreadyExists, which we treat as success. The API (after a raise or a
 *   reopen of a resolved challenge) and the event reactor both start runs here, with the same name.
 * - notify: takes the task token read with the challenge (the command's one read), or else reads
 *   the one the workflow stored (ChallengeStore.getTaskToken), and calls SendTaskSuccess with the {@link WorkflowOutcome} as output: the stage's wait (AwaitResponse) or
 *   the action plan's (AwaitMonitoring, stageId "monitoring"), so a completed or missed action, a
 *   reopen, a resolution, a withdrawal or a closure during monitoring wakes the workflow at once.
 *   No stored token: nothing waits, nothing to do. A token the workflow has already moved past
 *   (TaskTimedOut, TaskDoesNotExist, InvalidToken) is not an error either. Anything else is thrown;
 *   the application service logs it and does not fail the request (see execute-command.ts for how
 *   the workflow recovers).
 */

/** What the notify side needs from the store. */
export type TaskTokenSource = Pick<ChallengeStore, "getTaskToken">;

/** Execution names derive from tenant, challenge id and the run's start seq; one definition for every starter (functions/workflow/tasks.ts). */
export { executionName };

const MOVED_ON = new Set(["TaskTimedOut", "TaskDoesNotExist", "InvalidToken"]);

export interface SfnWorkflowSignalOptions {
  readonly sfn: SFNClient;
  readonly stateMachineArn: string;
  readonly tokens: TaskTokenSource;
  /** Told when a signal found nothing to wake (debugging aid); optional. */
  readonly onSkipped?: (reason: string, ids: { tenantId: string; challengeId: string }) => void;
}

export class SfnWorkflowSignal implements WorkflowSignal {
  constructor(private readonly options: SfnWorkflowSignalOptions) {}

  async start(tenantId: string, challengeId: string, startSeq: number = FIRST_RUN_SEQ): Promise<void> {
    try {
      await this.options.sfn.send(
        new StartExecutionCommand({
          stateMachineArn: this.options.stateMachineArn,
          name: executionName(tenantId, challengeId, startSeq),
          input: JSON.stringify({ tenantId, challengeId }),
        }),
      );
    } catch (error) {
      if (error instanceof Error && error.name === "ExecutionAlreadyExists") return;
      throw error;
    }
  }

  async notify(
    tenantId: string,
    challengeId: string,
    outcome: WorkflowOutcome,
    waiting?: { readonly taskToken: StoredTaskToken | undefined },
  ): Promise<void> {
    const getTaskToken = this.options.tokens.getTaskToken?.bind(this.options.tokens);
    if (waiting === undefined && getTaskToken === undefined) {
      this.options.onSkipped?.("the store keeps no task tokens", { tenantId, challengeId });
      return;
    }
    const stored = waiting === undefined ? await getTaskToken?.(tenantId, challengeId) : waiting.taskToken;
    if (stored === undefined) {
      this.options.onSkipped?.("no workflow is waiting", { tenantId, challengeId });
      return;
    }
    try {
      await this.options.sfn.send(
        new SendTaskSuccessCommand({ taskToken: stored.token, output: JSON.stringify(outcome) }),
      );
    } catch (error) {
      if (error instanceof Error && MOVED_ON.has(error.name)) {
        this.options.onSkipped?.(`the workflow already moved on (${error.name})`, { tenantId, challengeId });
        return;
      }
      throw error;
    }
  }
}
