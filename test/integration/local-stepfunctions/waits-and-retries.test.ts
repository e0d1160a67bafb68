import { CreateStateMachineCommand, StartExecutionCommand } from "@aws-sdk/client-sfn";
import { afterEach, describe, expect, it } from "vitest";
import { advanceBy, now } from "../../../functions/shared/clock.js";
import type { TaskHandler } from "../../../local/stepfunctions/engine.js";
import {
  DAY_MS,
  cleanUp,
  describeExecution,
  entered,
  eventually,
  history,
  lambdaArn,
  recorder,
  settle,
  startHarness,
  statesEntered,
  statusOf,
  type Harness,
} from "./harness.js";

describe("local Step Functions: waits, retries and Lambda tasks", () => {
  let harness: Harness | undefined;

  afterEach(async () => {
    await harness?.stop();
    harness = undefined;
    await cleanUp();
  });

  async function run(
    definition: Record<string, unknown>,
    input: Record<string, unknown>,
    handlers: Record<string, TaskHandler> = {},
  ): Promise<{ h: Harness; executionArn: string }> {
    const h = await startHarness({ handlers });
    harness = h;
    const { stateMachineArn } = await h.sfn.send(
      new CreateStateMachineCommand({
        name: "fixture",
        definition: JSON.stringify(definition),
        roleArn: "arn:aws:iam::000000000000:role/sfn",
      }),
    );
    const { executionArn } = await h.sfn.send(
      new StartExecutionCommand({ stateMachineArn, input: JSON.stringify(input) }),
    );
    return { h, executionArn: executionArn ?? "" };
  }

  it("fires a Wait with TimestampPath when the service clock passes the timestamp", async () => {
    const definition = {
      StartAt: "WaitForNextAction",
      States: {
        WaitForNextAction: { Type: "Wait", TimestampPath: "$.dueAt", Next: "CheckActions" },
        CheckActions: { Type: "Task", Resource: lambdaArn("check"), ResultPath: "$.check", End: true },
      },
    };
    const check = recorder({ done: true });
    const dueAt = new Date(now().getTime() + 3 * DAY_MS).toISOString();
    const { h, executionArn } = await run(definition, { dueAt }, { [lambdaArn("check")]: check });
    await entered(h.sfn, executionArn, "WaitForNextAction");

    advanceBy(2 * DAY_MS);
    await settle();
    expect((await describeExecution(h.sfn, executionArn)).status).toBe("RUNNING");
    expect(check.calls).toHaveLength(0);

    advanceBy(DAY_MS + 1000);
    const done = await statusOf(h.sfn, executionArn, "SUCCEEDED");
    expect(JSON.parse(done.output ?? "")).toEqual({ dueAt, check: { done: true } });
    const types = (await history(h.sfn, executionArn)).map((event) => event.type);
    expect(types).toEqual([
      "ExecutionStarted",
      "WaitStateEntered",
      "WaitStateExited",
      "TaskStateEntered",
      "TaskStateExited",
      "ExecutionSucceeded",
    ]);
  });

  it("runs Wait Seconds on the service clock, and a past timestamp at once", async () => {
    const definition = {
      StartAt: "Past",
      States: {
        Past: { Type: "Wait", Timestamp: "2020-01-01T00:00:00Z", Next: "Hour" },
        Hour: { Type: "Wait", Seconds: 3600, InputPath: "$.keep", End: true },
      },
    };
    const { h, executionArn } = await run(definition, { keep: { a: 1 }, drop: true });
    await entered(h.sfn, executionArn, "Hour");
    await settle();
    expect((await describeExecution(h.sfn, executionArn)).status).toBe("RUNNING");
    advanceBy(3600 * 1000);
    const done = await statusOf(h.sfn, executionArn, "SUCCEEDED");
    expect(JSON.parse(done.output ?? "")).toEqual({ a: 1 });
  });

  it("retries a failing Lambda task, then unwraps the lambda:invoke result", async () => {
    let calls = 0;
    const flaky: TaskHandler = (payload) => {
      calls += 1;
      if (calls < 3) {
        const error = new Error("store unavailable");
        error.name = "StoreUnavailable";
        return Promise.reject(error);
      }
      return Promise.resolve({ opened: payload });
    };
    const definition = {
      StartAt: "OpenStage",
      States: {
        OpenStage: {
          Type: "Task",
          Resource: "arn:aws:states:::lambda:invoke",
          Parameters: {
            FunctionName: lambdaArn("open-stage"),
            Payload: { "challengeId.$": "$.challengeId" },
          },
          ResultSelector: { "current.$": "$.Payload", "status.$": "$.StatusCode" },
          ResultPath: "$.stage",
          Retry: [{ ErrorEquals: ["StoreUnavailable"], IntervalSeconds: 10, MaxAttempts: 3 }],
          End: true,
        },
      },
    };
    const { h, executionArn } = await run(
      definition,
      { challengeId: "c-1" },
      { [lambdaArn("open-stage")]: flaky },
    );
    const done = await statusOf(h.sfn, executionArn, "SUCCEEDED");
    expect(calls).toBe(3);
    expect(JSON.parse(done.output ?? "")).toEqual({
      challengeId: "c-1",
      stage: { current: { opened: { challengeId: "c-1" } }, status: 200 },
    });
    expect(await statesEntered(h.sfn, executionArn)).toEqual(["OpenStage"]);
  });

  it("catches a Lambda error after the retries, with the Lambda error document as cause", async () => {
    const failing: TaskHandler = () => Promise.reject(new TypeError("bad stage"));
    const definition = {
      StartAt: "Open",
      States: {
        Open: {
          Type: "Task",
          Resource: lambdaArn("open"),
          Retry: [{ ErrorEquals: ["States.TaskFailed"], MaxAttempts: 2 }],
          Catch: [{ ErrorEquals: ["TypeError"], ResultPath: "$.failure", Next: "Failed" }],
          End: true,
        },
        Failed: { Type: "Fail", Error: "WorkflowFailed", Cause: "see history" },
      },
    };
    let attempts = 0;
    const { h, executionArn } = await run(
      definition,
      {},
      {
        [lambdaArn("open")]: (payload) => {
          attempts += 1;
          return failing(payload);
        },
      },
    );
    const done = await statusOf(h.sfn, executionArn, "FAILED");
    expect(attempts).toBe(3);
    expect(done).toMatchObject({ error: "WorkflowFailed", cause: "see history" });
    const failed = (await history(h.sfn, executionArn)).find((event) => event.type === "TaskFailed");
    expect(failed?.taskFailedEventDetails?.error).toBe("TypeError");
    expect(JSON.parse(failed?.taskFailedEventDetails?.cause ?? "")).toMatchObject({
      errorType: "TypeError",
      errorMessage: "bad stage",
    });
  });

  it("puts no 60-second default timeout on a Lambda task, but honours an explicit TimeoutSeconds", async () => {
    let release: (value: unknown) => void = () => undefined;
    const slow: TaskHandler = () => new Promise((resolve) => (release = resolve));
    const hanging: TaskHandler = () => new Promise(() => undefined);
    const definition = {
      StartAt: "Slow",
      States: {
        Slow: { Type: "Task", Resource: lambdaArn("slow"), ResultPath: "$.slow", Next: "Bounded" },
        Bounded: {
          Type: "Task",
          Resource: lambdaArn("hanging"),
          TimeoutSeconds: 60,
          Catch: [{ ErrorEquals: ["States.Timeout"], ResultPath: "$.timeout", Next: "Done" }],
          Next: "Done",
        },
        Done: { Type: "Succeed" },
      },
    };
    const { h, executionArn } = await run(
      definition,
      {},
      { [lambdaArn("slow")]: slow, [lambdaArn("hanging")]: hanging },
    );
    await entered(h.sfn, executionArn, "Slow");
    advanceBy(5 * 60 * 1000);
    await settle();
    expect((await describeExecution(h.sfn, executionArn)).status).toBe("RUNNING");
    release({ ok: true });

    await entered(h.sfn, executionArn, "Bounded");
    advanceBy(61 * 1000);
    const done = await statusOf(h.sfn, executionArn, "SUCCEEDED");
    expect(JSON.parse(done.output ?? "")).toMatchObject({
      slow: { ok: true },
      timeout: { Error: "States.Timeout" },
    });
  });

  it("enforces the execution's TimeoutSeconds on the service clock", async () => {
    const definition = {
      TimeoutSeconds: 3600,
      StartAt: "Forever",
      States: { Forever: { Type: "Wait", Seconds: 86400, End: true } },
    };
    const { h, executionArn } = await run(definition, {});
    await entered(h.sfn, executionArn, "Forever");
    advanceBy(3601 * 1000);
    const done = await statusOf(h.sfn, executionArn, "TIMED_OUT");
    expect(done.error).toBe("States.Timeout");
    await eventually(async () =>
      (await history(h.sfn, executionArn)).some((event) => event.type === "ExecutionTimedOut")
        ? true
        : undefined,
    );
  });

  it("fails the execution with States.Runtime when TimeoutSecondsPath selects no positive integer", async () => {
    const definition = {
      StartAt: "Await",
      States: {
        Await: {
          Type: "Task",
          Resource: "arn:aws:states:::lambda:invoke.waitForTaskToken",
          Parameters: { FunctionName: lambdaArn("notify"), Payload: { "taskToken.$": "$$.Task.Token" } },
          TimeoutSecondsPath: "$.timeoutSeconds",
          Catch: [{ ErrorEquals: ["States.ALL"], Next: "Caught" }],
          End: true,
        },
        Caught: { Type: "Succeed" },
      },
    };
    const notify = recorder();
    const { h, executionArn } = await run(
      definition,
      { timeoutSeconds: 0 },
      { [lambdaArn("notify")]: notify },
    );
    const done = await statusOf(h.sfn, executionArn, "FAILED");
    expect(done.error).toBe("States.Runtime");
    expect(notify.calls).toHaveLength(0);
  });
});
