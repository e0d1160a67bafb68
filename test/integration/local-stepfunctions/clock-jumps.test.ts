/**
 * Issue 9 §6: the service clock moved between the moment a task computes a relative timeout and
 * the moment the next state starts waiting must not push the deadline later. On AWS the two are
 * milliseconds apart in real time; locally `POST /_local/clock/advance` can land in between, and
 * the wait must still end at the instant the timeout was computed for.
 */
import { CreateStateMachineCommand, StartExecutionCommand } from "@aws-sdk/client-sfn";
import { afterEach, describe, expect, it } from "vitest";
import { advanceBy, now } from "../../../functions/shared/clock.js";
import {
  DAY_MS,
  cleanUp,
  describeExecution,
  lambdaArn,
  recorder,
  settle,
  startHarness,
  statesEntered,
  statusOf,
  type Harness,
} from "./harness.js";

const FIVE_DAYS_S = 5 * 86_400;

/** OpenStage computes the seconds to the deadline; AwaitResponse waits that long for a person. */
const definition = {
  StartAt: "OpenStage",
  States: {
    OpenStage: {
      Type: "Task",
      Resource: lambdaArn("open-stage"),
      ResultPath: "$.stage",
      Next: "AwaitResponse",
    },
    AwaitResponse: {
      Type: "Task",
      Resource: "arn:aws:states:::lambda:invoke.waitForTaskToken",
      Parameters: { FunctionName: lambdaArn("notify"), Payload: { "taskToken.$": "$$.Task.Token" } },
      TimeoutSecondsPath: "$.stage.timeoutSeconds",
      ResultPath: "$.outcome",
      Catch: [{ ErrorEquals: ["States.Timeout"], ResultPath: "$.timeout", Next: "Escalate" }],
      Next: "Done",
    },
    Escalate: { Type: "Pass", Next: "Done" },
    Done: { Type: "Pass", End: true },
  },
};

describe("local Step Functions: a clock move between computing a timeout and waiting", () => {
  let harness: Harness | undefined;

  afterEach(async () => {
    await harness?.stop();
    harness = undefined;
    await cleanUp();
  });

  async function start(openStage: () => Promise<unknown>): Promise<{ h: Harness; executionArn: string }> {
    const h = await startHarness({
      handlers: { [lambdaArn("open-stage")]: openStage, [lambdaArn("notify")]: recorder({}) },
    });
    harness = h;
    const { stateMachineArn } = await h.sfn.send(
      new CreateStateMachineCommand({
        name: "stage",
        definition: JSON.stringify(definition),
        roleArn: "arn:aws:iam::000000000000:role/sfn",
      }),
    );
    const { executionArn } = await h.sfn.send(new StartExecutionCommand({ stateMachineArn, input: "{}" }));
    return { h, executionArn: executionArn ?? "" };
  }

  it("times out at the computed deadline when the clock passes it while the handler returns", async () => {
    const { h, executionArn } = await start(() => {
      const result = { timeoutSeconds: FIVE_DAYS_S, computedAt: now().toISOString() };
      // The developer's "advance five days" lands after the deadline was computed, before the wait.
      advanceBy(FIVE_DAYS_S * 1000 + 1000);
      return Promise.resolve(result);
    });
    await statusOf(h.sfn, executionArn, "SUCCEEDED");
    expect(await statesEntered(h.sfn, executionArn)).toEqual([
      "OpenStage",
      "AwaitResponse",
      "Escalate",
      "Done",
    ]);
  });

  it("times out at the computed deadline when the clock moves right after the handler has returned", async () => {
    const { h, executionArn } = await start(() => {
      // Moved on the next turn of the event loop: while the interpreter goes from task to task.
      setImmediate(() => advanceBy(FIVE_DAYS_S * 1000 + 1000));
      return Promise.resolve({ timeoutSeconds: FIVE_DAYS_S });
    });
    await statusOf(h.sfn, executionArn, "SUCCEEDED");
    expect(await statesEntered(h.sfn, executionArn)).toEqual([
      "OpenStage",
      "AwaitResponse",
      "Escalate",
      "Done",
    ]);
  });

  it("still waits when the move falls short of the deadline, and times out once it is passed", async () => {
    const { h, executionArn } = await start(() => {
      setImmediate(() => advanceBy(4 * DAY_MS));
      return Promise.resolve({ timeoutSeconds: FIVE_DAYS_S });
    });
    await settle(150);
    expect((await describeExecution(h.sfn, executionArn)).status).toBe("RUNNING");
    advanceBy(DAY_MS + 1000);
    await statusOf(h.sfn, executionArn, "SUCCEEDED");
    expect(await statesEntered(h.sfn, executionArn)).toEqual([
      "OpenStage",
      "AwaitResponse",
      "Escalate",
      "Done",
    ]);
  });
});
