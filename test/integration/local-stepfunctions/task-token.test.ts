import {
  CreateStateMachineCommand,
  SendTaskFailureCommand,
  SendTaskHeartbeatCommand,
  SendTaskSuccessCommand,
  StartExecutionCommand,
  TaskDoesNotExist,
  TaskTimedOut,
} from "@aws-sdk/client-sfn";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { advanceBy } from "../../../functions/shared/clock.js";
import {
  DAY_MS,
  cleanUp,
  describeExecution,
  eventually,
  lambdaArn,
  recorder,
  settle,
  startHarness,
  statesEntered,
  statusOf,
  type Harness,
} from "./harness.js";

interface NotifyPayload {
  readonly taskToken: string;
  readonly who: string;
}

/** A stage: notify and wait for a person, the deadline read from the input; escalate on timeout. */
function stageMachine(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    StartAt: "AwaitResponse",
    States: {
      AwaitResponse: {
        Type: "Task",
        Resource: "arn:aws:states:::lambda:invoke.waitForTaskToken",
        Parameters: {
          FunctionName: lambdaArn("notify"),
          Payload: { "taskToken.$": "$$.Task.Token", "who.$": "$.who" },
        },
        TimeoutSecondsPath: "$.timeoutSeconds",
        ResultPath: "$.outcome",
        Catch: [
          { ErrorEquals: ["States.Timeout"], ResultPath: "$.timeout", Next: "Escalate" },
          { ErrorEquals: ["States.ALL"], ResultPath: "$.failure", Next: "Done" },
        ],
        Next: "Done",
        ...extra,
      },
      Escalate: { Type: "Task", Resource: lambdaArn("escalate"), ResultPath: "$.escalated", Next: "Done" },
      Done: { Type: "Pass", End: true },
    },
  };
}

describe("local Step Functions: .waitForTaskToken", () => {
  let harness: Harness;
  let notify: ReturnType<typeof recorder<NotifyPayload>>;
  let escalate: ReturnType<typeof recorder>;

  beforeEach(async () => {
    notify = recorder<NotifyPayload>({ queued: true });
    escalate = recorder({ escalatedTo: "service-manager" });
    harness = await startHarness({
      handlers: { [lambdaArn("notify")]: notify, [lambdaArn("escalate")]: escalate },
    });
  });

  afterEach(async () => {
    await harness.stop();
    await cleanUp();
  });

  async function start(definition: Record<string, unknown>, input: Record<string, unknown>): Promise<string> {
    const { stateMachineArn } = await harness.sfn.send(
      new CreateStateMachineCommand({
        name: "stage",
        definition: JSON.stringify(definition),
        roleArn: "arn:aws:iam::000000000000:role/sfn",
      }),
    );
    const { executionArn } = await harness.sfn.send(
      new StartExecutionCommand({ stateMachineArn, name: "challenge-1", input: JSON.stringify(input) }),
    );
    return executionArn ?? "";
  }

  const tokenNumber = (n: number): Promise<string> =>
    eventually(() => (notify.calls.length >= n ? notify.calls[n - 1]?.taskToken : undefined));

  it("completes on SendTaskSuccess and passes the output on", async () => {
    const executionArn = await start(stageMachine(), { who: "team-manager", timeoutSeconds: 7 * 86400 });
    const token = await tokenNumber(1);
    expect(notify.calls[0]?.who).toBe("team-manager");
    expect(token.length).toBeGreaterThan(20);
    expect((await describeExecution(harness.sfn, executionArn)).status).toBe("RUNNING");

    await harness.sfn.send(
      new SendTaskHeartbeatCommand({ taskToken: token }), // accepted without HeartbeatSeconds
    );
    await harness.sfn.send(
      new SendTaskSuccessCommand({ taskToken: token, output: JSON.stringify({ action: "responded" }) }),
    );

    const done = await statusOf(harness.sfn, executionArn, "SUCCEEDED");
    expect(JSON.parse(done.output ?? "")).toEqual({
      who: "team-manager",
      timeoutSeconds: 7 * 86400,
      outcome: { action: "responded" },
    });
    expect(await statesEntered(harness.sfn, executionArn)).toEqual(["AwaitResponse", "Done"]);
    expect(escalate.calls).toHaveLength(0);
  });

  it("runs the States.Timeout Catch when the service clock passes the TimeoutSecondsPath deadline", async () => {
    const executionArn = await start(stageMachine(), { who: "team-manager", timeoutSeconds: 7 * 86400 });
    const token = await tokenNumber(1);

    advanceBy(6 * DAY_MS);
    await settle();
    expect((await describeExecution(harness.sfn, executionArn)).status).toBe("RUNNING");

    advanceBy(1 * DAY_MS + 1000);
    const done = await statusOf(harness.sfn, executionArn, "SUCCEEDED");
    const output = JSON.parse(done.output ?? "") as Record<string, unknown>;
    expect(output.timeout).toMatchObject({ Error: "States.Timeout" });
    expect(output.escalated).toEqual({ escalatedTo: "service-manager" });
    expect(await statesEntered(harness.sfn, executionArn)).toEqual(["AwaitResponse", "Escalate", "Done"]);

    // The person answers too late: the token timed out, as on AWS.
    await expect(
      harness.sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: "{}" })),
    ).rejects.toBeInstanceOf(TaskTimedOut);
  });

  it("does not overflow Node's timers: a 30-day deadline waits for the clock", async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error): void => {
      warnings.push(warning.name);
    };
    process.on("warning", onWarning);
    try {
      const executionArn = await start(stageMachine(), { who: "director", timeoutSeconds: 30 * 86400 });
      await tokenNumber(1);
      await settle(100);
      expect((await describeExecution(harness.sfn, executionArn)).status).toBe("RUNNING");
      advanceBy(30 * DAY_MS + 1000);
      await statusOf(harness.sfn, executionArn, "SUCCEEDED");
      expect(escalate.calls).toHaveLength(1);
      expect(warnings).not.toContain("TimeoutOverflowWarning");
    } finally {
      process.off("warning", onWarning);
    }
  });

  it("answers TaskDoesNotExist for an unknown token and for one already used", async () => {
    const executionArn = await start(stageMachine(), { who: "team-manager", timeoutSeconds: 3600 });
    const token = await tokenNumber(1);

    await expect(
      harness.sfn.send(new SendTaskSuccessCommand({ taskToken: "not-a-token", output: "{}" })),
    ).rejects.toBeInstanceOf(TaskDoesNotExist);

    await harness.sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: "{}" }));
    await statusOf(harness.sfn, executionArn, "SUCCEEDED");
    const again = harness.sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: "{}" }));
    await expect(again).rejects.toBeInstanceOf(TaskDoesNotExist);
    await expect(again).rejects.toMatchObject({
      name: "TaskDoesNotExist",
      $metadata: { httpStatusCode: 400 },
    });
    await expect(harness.sfn.send(new SendTaskHeartbeatCommand({ taskToken: token }))).rejects.toBeInstanceOf(
      TaskDoesNotExist,
    );
  });

  it("fails the state on SendTaskFailure with the given error and cause", async () => {
    const executionArn = await start(stageMachine(), { who: "team-manager", timeoutSeconds: 3600 });
    const token = await tokenNumber(1);
    await harness.sfn.send(
      new SendTaskFailureCommand({ taskToken: token, error: "Declined", cause: "not mine" }),
    );
    const done = await statusOf(harness.sfn, executionArn, "SUCCEEDED");
    expect((JSON.parse(done.output ?? "") as Record<string, unknown>).failure).toEqual({
      Error: "Declined",
      Cause: "not mine",
    });
  });

  it("keeps States.Timeout out of a States.TaskFailed Retry, and issues a new token per attempt", async () => {
    const retryTaskFailed = { Retry: [{ ErrorEquals: ["States.TaskFailed"], MaxAttempts: 2 }] };
    const executionArn = await start(stageMachine(retryTaskFailed), {
      who: "team-manager",
      timeoutSeconds: 3600,
    });

    // A failure is retried (States.TaskFailed matches it): the handler runs again with a new token.
    const first = await tokenNumber(1);
    await harness.sfn.send(new SendTaskFailureCommand({ taskToken: first, error: "MailboxFull" }));
    const second = await tokenNumber(2);
    expect(second).not.toBe(first);

    // A timeout is not: straight to the States.Timeout Catch.
    advanceBy(3600 * 1000 + 1000);
    await statusOf(harness.sfn, executionArn, "SUCCEEDED");
    expect(notify.calls).toHaveLength(2);
    expect(escalate.calls).toHaveLength(1);
  });

  it("times out when heartbeats stop, and SendTaskHeartbeat keeps the task alive", async () => {
    const heartbeat = { TimeoutSecondsPath: undefined, TimeoutSeconds: 86400, HeartbeatSeconds: 3600 };
    const executionArn = await start(stageMachine(heartbeat), { who: "team-manager" });
    const token = await tokenNumber(1);

    advanceBy(50 * 60 * 1000);
    await harness.sfn.send(new SendTaskHeartbeatCommand({ taskToken: token }));
    advanceBy(50 * 60 * 1000);
    await settle();
    expect((await describeExecution(harness.sfn, executionArn)).status).toBe("RUNNING");

    advanceBy(11 * 60 * 1000);
    const done = await statusOf(harness.sfn, executionArn, "SUCCEEDED");
    expect((JSON.parse(done.output ?? "") as Record<string, unknown>).timeout).toMatchObject({
      Error: "States.Timeout",
    });
  });
});
