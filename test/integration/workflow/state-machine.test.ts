import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { executeCommand, type ExecuteDependencies } from "../../../functions/app/execute-command.js";
import { SfnWorkflowSignal } from "../../../functions/app/sfn-workflow-signal.js";
import { executionName, type WorkflowTaskDependencies } from "../../../functions/app/workflow-tasks.js";
import type { Command } from "../../../functions/domain/challenge/index.js";
import { now, setOffset } from "../../../functions/shared/clock.js";
import { logger } from "../../../functions/shared/observability.js";
import { DynamoChallengeStore } from "../../../functions/store/dynamo-challenge-store.js";
import { TenantStore } from "../../../functions/store/tenant-store.js";
import { createHandler as awaitResponseHandler } from "../../../functions/workflow/await-response.js";
import { createHandler as checkActionsHandler } from "../../../functions/workflow/check-actions.js";
import { SfnTaskCompletion, presetProtocol } from "../../../functions/workflow/dependencies.js";
import { createHandler as openStageHandler } from "../../../functions/workflow/open-stage.js";
import { createHandler as stageTimedOutHandler } from "../../../functions/workflow/stage-timed-out.js";
import { createHandler as startExecutionHandler } from "../../../functions/workflow/start-execution.js";
import { createTestTable, localDocumentClient } from "../../support/dynamodb-local.js";
import {
  IRO,
  LEVEL_1_DEADLINE,
  RAISED_AT,
  TENANT,
  raiseCommand,
  settings,
  staff,
} from "../../unit/workflow/fakes.js";
import {
  type Harness,
  cleanUp,
  eventually,
  lambdaArn,
  history,
  recorder,
  startHarness,
  statesEntered,
} from "../local-stepfunctions/harness.js";

/**
 * The real statemachines/challenge.asl.json, run by the local Step Functions engine
 * (local/stepfunctions) with the workflow handlers in-process, DynamoDB Local as the store, and
 * the service clock moved forward to pass the stage deadline.
 */

const ASL = fileURLToPath(new URL("../../../statemachines/challenge.asl.json", import.meta.url));
const WAIT_MS = 15_000;

let client: DynamoDBDocumentClient;
let drop: () => Promise<void>;
let harness: Harness;
let stateMachineArn: string;
let challenges: DynamoChallengeStore;
let deps: WorkflowTaskDependencies;
let app: ExecuteDependencies;
const failures = recorder({});

function clockAt(iso: string | Date): void {
  setOffset(new Date(iso).getTime() - Date.now());
}

beforeAll(async () => {
  logger.setLogLevel("SILENT");
  client = localDocumentClient();
  let tableName: string;
  ({ tableName, drop } = await createTestTable(client));
  challenges = new DynamoChallengeStore(client, tableName);
  const tenants = new TenantStore(client, tableName, now);
  await tenants.putConfig(TENANT, { ...settings, reminders: {} });
  for (const member of staff) await tenants.upsertStaff(TENANT, member);
  deps = { challenges, tenants, protocols: presetProtocol, clock: now };

  // The await-response handler needs the harness's SFN client, which exists once the harness runs.
  const late: { completion?: SfnTaskCompletion } = {};
  harness = await startHarness({
    handlers: {
      [lambdaArn("open-stage")]: openStageHandler(() => deps),
      [lambdaArn("await-response")]: awaitResponseHandler(() => {
        if (late.completion === undefined) throw new Error("harness not ready");
        return { ...deps, completion: late.completion };
      }),
      [lambdaArn("stage-timed-out")]: stageTimedOutHandler(() => deps),
      [lambdaArn("check-actions")]: checkActionsHandler(() => deps),
      "arn:aws:states:::sns:publish": failures,
    },
  });
  late.completion = new SfnTaskCompletion(harness.sfn);
  ({ stateMachineArn } = await harness.engine.createStateMachine({
    name: "challenge",
    definition: readFileSync(ASL, "utf8"),
    substitutions: {
      OpenStageFunctionArn: lambdaArn("open-stage"),
      AwaitResponseFunctionArn: lambdaArn("await-response"),
      StageTimedOutFunctionArn: lambdaArn("stage-timed-out"),
      CheckActionsFunctionArn: lambdaArn("check-actions"),
      WorkflowFailureTopicArn: "arn:aws:sns:eu-west-2:000000000000:workflow-failures",
    },
  }));
  // The API's side: commands go through the application service, which starts and wakes the workflow.
  app = {
    ...deps,
    workflow: new SfnWorkflowSignal({ sfn: harness.sfn, stateMachineArn, tokens: challenges }),
  };
}, 60_000);

afterAll(async () => {
  await harness.stop();
  await cleanUp();
  setOffset(0);
  await drop();
  client.destroy();
});

/** The stored token once it is for `stageId` and differs from `previous`. */
function tokenFor(challengeId: string, stageId: string, previous?: string): Promise<string> {
  return eventually(async () => {
    const stored = await challenges.getTaskToken(TENANT, challengeId);
    return stored?.stageId === stageId && stored.token !== previous ? stored.token : undefined;
  }, WAIT_MS);
}

describe("the challenge state machine, locally", () => {
  it("waits at level 1 until the deadline, auto-escalates to level 2, and finishes when resolved", async () => {
    const challengeId = "01JSTATEMACHINE0000000001";
    clockAt(RAISED_AT);
    await executeCommand(app, TENANT, raiseCommand(challengeId));
    const executionArn = `${stateMachineArn.replace(":stateMachine:", ":execution:")}:${executionName(TENANT, challengeId)}`;

    // The stream consumer starting the same challenge again does not fork it.
    const starter = startExecutionHandler(() => ({ starter: app.workflow }));
    const raised = {
      eventName: "INSERT",
      dynamodb: {
        SequenceNumber: "1",
        NewImage: {
          entity: { S: "event" },
          type: { S: "ChallengeRaised" },
          tenantId: { S: TENANT },
          challengeId: { S: challengeId },
        },
      },
    };
    expect(await starter({ Records: [raised] })).toEqual({ batchItemFailures: [] });
    expect(harness.engine.listExecutions({ stateMachineArn }).map((e) => e.executionArn)).toEqual([
      executionArn,
    ]);

    // Waiting at level 1, timing out at its deadline (Thursday 28 May 17:00 BST).
    const level1Token = await tokenFor(challengeId, "level_1");
    const pending = harness.engine.describeExecution(executionArn).pendingTask;
    expect(pending).toMatchObject({ stateName: "AwaitResponse", token: level1Token });
    // Whole seconds, rounded up: the timeout falls within a second after the deadline.
    const timeoutAt = Date.parse(pending?.deadline ?? "");
    expect(timeoutAt).toBeGreaterThanOrEqual(Date.parse(LEVEL_1_DEADLINE));
    expect(timeoutAt).toBeLessThan(Date.parse(LEVEL_1_DEADLINE) + 1_000);

    // Past the deadline: the engine times the task out, StageTimedOut escalates, the loop opens level 2.
    clockAt(new Date(Date.parse(LEVEL_1_DEADLINE) + 2_000));
    const level2Token = await tokenFor(challengeId, "level_2");
    const stored = await challenges.get(TENANT, challengeId);
    expect(stored?.state).toMatchObject({
      status: "open",
      autoEscalations: 1,
      currentStage: { stageId: "level_2" },
    });

    // The Service Manager responds (the loop re-reads and waits again), then the IRO resolves it.
    const respond: Command = {
      type: "Respond",
      challengeId,
      actor: { id: "sm-1", role: "manager" },
      channel: "email",
      response: "A permanence meeting is booked.",
    };
    await executeCommand(app, TENANT, respond);
    await tokenFor(challengeId, "level_2", level2Token);
    await executeCommand(app, TENANT, {
      type: "MarkResolved",
      challengeId,
      actor: IRO,
      channel: "api",
      summary: "Resolved.",
    });

    await eventually(
      () => (harness.engine.describeExecution(executionArn).status === "SUCCEEDED" ? true : undefined),
      WAIT_MS,
    );
    expect(await statesEntered(harness.sfn, executionArn)).toEqual([
      "OpenStage",
      "RouteStage",
      "AwaitResponse",
      "StageTimedOut",
      "OpenStage",
      "RouteStage",
      "AwaitResponse",
      "RouteOutcome",
      "OpenStage",
      "RouteStage",
      "AwaitResponse",
      "RouteOutcome",
      "Finished",
    ]);
    expect(failures.calls).toEqual([]);
  }, 60_000);
  it("monitors an agreed action plan: asks when an action falls due, and finishes once the challenge is closed", async () => {
    const challengeId = "01JSTATEMACHINE0000000002";
    clockAt(RAISED_AT);
    await executeCommand(app, TENANT, raiseCommand(challengeId));
    const executionArn = `${stateMachineArn.replace(":stateMachine:", ":execution:")}:${executionName(TENANT, challengeId)}`;
    await tokenFor(challengeId, "level_1");
    const waits = async (times: number) =>
      eventually(async () => {
        const entered = await statesEntered(harness.sfn, executionArn);
        return entered.filter((name) => name === "WaitForNextAction").length >= times ? true : undefined;
      }, WAIT_MS);

    const agreed = await executeCommand(app, TENANT, {
      type: "AgreeActionPlan",
      challengeId,
      actor: IRO,
      channel: "api",
      actions: [{ action: "Hold a permanence meeting", byWhen: "2026-06-10", byWhom: "Team Manager" }],
    });
    const actionId = agreed.state.actionPlan?.actions[0]?.id ?? "";
    await waits(1);

    // The action falls due at the start of 11 June (London): CheckActions lists it, and looks again in 5 working days.
    clockAt("2026-06-10T23:00:01Z");
    await waits(2);
    const checked = (await history(harness.sfn, executionArn)).find(
      (event) => event.stateExitedEventDetails?.name === "CheckActions",
    );
    const output = JSON.parse(checked?.stateExitedEventDetails?.output ?? "{}") as {
      stage?: { current?: unknown };
    };
    expect(output.stage?.current).toEqual({
      status: "monitoring",
      nextActionDueAt: "2026-06-18T16:00:00.000Z",
      version: 3,
      dueActions: [{ actionId, byWhen: "2026-06-10" }],
    });

    // Done, and closed: the workflow sees it at its next look and finishes.
    await executeCommand(app, TENANT, {
      type: "CompleteAction",
      challengeId,
      actor: IRO,
      channel: "api",
      actionId,
    });
    await executeCommand(app, TENANT, {
      type: "Close",
      challengeId,
      actor: IRO,
      channel: "api",
      summary: "Plan completed.",
    });
    clockAt("2026-06-18T16:00:01Z");
    await eventually(
      () => (harness.engine.describeExecution(executionArn).status === "SUCCEEDED" ? true : undefined),
      WAIT_MS,
    );
    expect((await statesEntered(harness.sfn, executionArn)).slice(-4)).toEqual([
      "WaitForNextAction",
      "CheckActions",
      "RouteCheck",
      "Finished",
    ]);
    expect(failures.calls).toEqual([]);
  }, 60_000);
});
