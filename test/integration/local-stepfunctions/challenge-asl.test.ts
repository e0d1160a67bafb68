/**
 * The real `statemachines/challenge.asl.json` on the local engine, with fake task handlers that
 * keep a tiny in-memory challenge (two stages, one working week each).
 */
import { readFileSync } from "node:fs";
import { SendTaskSuccessCommand, StartExecutionCommand, TaskTimedOut } from "@aws-sdk/client-sfn";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { advanceBy, now } from "../../../functions/shared/clock.js";
import type { TaskHandler } from "../../../local/stepfunctions/engine.js";
import {
  DAY_MS,
  cleanUp,
  entered,
  eventually,
  lambdaArn,
  recorder,
  startHarness,
  statesEntered,
  statusOf,
  type Harness,
} from "./harness.js";

const definition = readFileSync(
  new URL("../../../statemachines/challenge.asl.json", import.meta.url),
  "utf8",
);
const SNS_PUBLISH = "arn:aws:states:::sns:publish";
const substitutions = {
  OpenStageFunctionArn: lambdaArn("open-stage"),
  AwaitResponseFunctionArn: lambdaArn("await-response"),
  CheckActionsFunctionArn: lambdaArn("check-actions"),
  StageTimedOutFunctionArn: lambdaArn("stage-timed-out"),
  WorkflowFailureTopicArn: "arn:aws:sns:eu-west-2:000000000000:workflow-failure",
};
const WEEK_SECONDS = 7 * 86400;
const STAGES = ["team-manager", "service-manager"];

interface AwaitPayload {
  readonly taskToken: string;
  readonly challengeId: string;
  readonly stage: { readonly stageId: string; readonly timeoutSeconds: number };
}

describe("statemachines/challenge.asl.json on the local engine", () => {
  let harness: Harness;
  let stateMachineArn: string;
  /** The fake challenge: which stage is current, or finished. */
  let fake: { stage: number; finished: boolean; failOpen: boolean };
  let openStage: ReturnType<typeof recorder>;
  let awaitResponse: ReturnType<typeof recorder<AwaitPayload>>;
  let stageTimedOut: ReturnType<typeof recorder<{ stage: { stageId: string } }>>;
  let checkActions: ReturnType<typeof recorder>;
  let publish: ReturnType<typeof recorder<{ Message: string; TopicArn: string }>>;

  function handlers(): Record<string, TaskHandler> {
    return {
      [lambdaArn("open-stage")]: openStage,
      [lambdaArn("await-response")]: awaitResponse,
      [lambdaArn("stage-timed-out")]: stageTimedOut,
      [lambdaArn("check-actions")]: checkActions,
      [SNS_PUBLISH]: publish,
    };
  }

  beforeEach(async () => {
    fake = { stage: 0, finished: false, failOpen: false };
    openStage = recorder(() => {
      if (fake.failOpen) {
        const error = new Error("challenge not found");
        error.name = "ChallengeNotFound";
        throw error;
      }
      if (fake.finished) return { status: "finished" };
      return {
        status: "open",
        stageId: STAGES[fake.stage],
        deadline: new Date(now().getTime() + WEEK_SECONDS * 1000).toISOString(),
        timeoutSeconds: WEEK_SECONDS,
      };
    });
    awaitResponse = recorder<AwaitPayload>({ notified: true });
    stageTimedOut = recorder(() => {
      fake.stage += 1; // the protocol's no-response rule: auto-escalate
      return { escalated: true };
    });
    checkActions = recorder({ status: "finished" });
    publish = recorder({ MessageId: "m-1" });
    harness = await startHarness({ handlers: handlers() });
    ({ stateMachineArn } = await harness.engine.createStateMachine({
      name: "challenge",
      definition,
      substitutions,
    }));
    expect(harness.warnings).toEqual([]); // every Task has a handler
  });

  afterEach(async () => {
    await harness.stop();
    await cleanUp();
  });

  async function start(challengeId: string): Promise<string> {
    const { executionArn = "" } = await harness.sfn.send(
      new StartExecutionCommand({
        stateMachineArn,
        name: challengeId,
        input: JSON.stringify({ tenantId: "t-1", challengeId }),
      }),
    );
    return executionArn;
  }

  const awaiting = (n: number): Promise<AwaitPayload> =>
    eventually(() => (awaitResponse.calls.length >= n ? awaitResponse.calls[n - 1] : undefined));

  const respond = (token: string, outcome: Record<string, unknown>) =>
    harness.sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: JSON.stringify(outcome) }));

  it("happy path: a response moves the challenge on, resolution finishes it", async () => {
    const executionArn = await start("c-1");
    const first = await awaiting(1);
    expect(first).toMatchObject({
      challengeId: "c-1",
      stage: { stageId: "team-manager", timeoutSeconds: WEEK_SECONDS },
    });

    fake.stage = 1; // the person's action recorded its events (escalated) before signalling
    await respond(first.taskToken, { action: "escalated" });
    const second = await awaiting(2);
    expect(second.stage.stageId).toBe("service-manager");

    await respond(second.taskToken, { action: "resolved" });
    await statusOf(harness.sfn, executionArn, "SUCCEEDED");
    expect(await statesEntered(harness.sfn, executionArn)).toEqual([
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
    expect(stageTimedOut.calls).toHaveLength(0);
  });

  it("timeout path: the stage deadline passes on the service clock and StageTimedOut escalates", async () => {
    const executionArn = await start("c-2");
    const first = await awaiting(1);

    advanceBy(WEEK_SECONDS * 1000 + 1000);
    const second = await awaiting(2);
    expect(stageTimedOut.calls).toHaveLength(1);
    expect(stageTimedOut.calls[0]?.stage.stageId).toBe("team-manager");
    expect(second.stage.stageId).toBe("service-manager");

    // A late answer with the first token: the workflow has moved on (SfnWorkflowSignal ignores this).
    await expect(respond(first.taskToken, { action: "responded" })).rejects.toBeInstanceOf(TaskTimedOut);

    await respond(second.taskToken, { action: "resolved" });
    await statusOf(harness.sfn, executionArn, "SUCCEEDED");
    expect(await statesEntered(harness.sfn, executionArn)).toContain("StageTimedOut");
  });

  it("monitoring: an agreed plan waits until the next action falls due, then checks it", async () => {
    const executionArn = await start("c-3");
    const first = await awaiting(1);
    const nextActionDueAt = new Date(now().getTime() + 20 * DAY_MS).toISOString();
    await respond(first.taskToken, { action: "plan_agreed", nextActionDueAt });
    await entered(harness.sfn, executionArn, "WaitForNextAction");
    expect(checkActions.calls).toHaveLength(0);

    advanceBy(20 * DAY_MS + 1000);
    await statusOf(harness.sfn, executionArn, "SUCCEEDED");
    expect(checkActions.calls).toEqual([{ tenantId: "t-1", challengeId: "c-3", dueAt: nextActionDueAt }]);
  });

  it("failure: OpenStage keeps failing, the operators are told, and the execution fails", async () => {
    fake.failOpen = true;
    const executionArn = await start("c-4");
    const failed = await statusOf(harness.sfn, executionArn, "FAILED");
    expect(failed.error).toBe("ChallengeWorkflowFailed");
    expect(openStage.calls).toHaveLength(4); // once, then the States.TaskFailed retrier's 3 attempts
    expect(publish.calls).toHaveLength(1);
    expect(publish.calls[0]?.TopicArn).toBe(substitutions.WorkflowFailureTopicArn);
    expect(publish.calls[0]?.Message).toBe(
      `Challenge workflow failed. tenant=t-1 challenge=c-4 error=ChallengeNotFound execution=${executionArn}`,
    );
  });

  it("restart: a resumed execution re-opens the current stage and waits again with a new token", async () => {
    const executionArn = await start("c-5");
    const first = await awaiting(1);
    const dataDir = harness.dataDir;
    await harness.stop();

    harness = await startHarness({ handlers: handlers(), dataDir });
    await harness.engine.createStateMachine({ name: "challenge", definition, substitutions, replace: true });
    expect(await harness.engine.resume()).toBe(1);
    const second = await awaiting(2);
    expect(second.stage.stageId).toBe("team-manager");
    expect(second.taskToken).not.toBe(first.taskToken);
    expect(openStage.calls).toHaveLength(2);

    await respond(second.taskToken, { action: "withdrawn" });
    await statusOf(harness.sfn, executionArn, "SUCCEEDED");
  });
});
