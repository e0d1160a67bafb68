import {
  CreateStateMachineCommand,
  DescribeExecutionCommand,
  ExecutionAlreadyExists,
  ExecutionDoesNotExist,
  GetExecutionHistoryCommand,
  InvalidDefinition,
  ListExecutionsCommand,
  SendTaskSuccessCommand,
  SFNClient,
  StartExecutionCommand,
  StateMachineDoesNotExist,
  StopExecutionCommand,
  TaskDoesNotExist,
} from "@aws-sdk/client-sfn";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startStepFunctionsServer } from "../../../local/stepfunctions/server.js";
import {
  cleanUp,
  eventually,
  lambdaArn,
  recorder,
  startHarness,
  statesEntered,
  statusOf,
  type Harness,
} from "./harness.js";

const definition = {
  StartAt: "Open",
  States: {
    Open: { Type: "Task", Resource: lambdaArn("open"), ResultPath: "$.opened", Next: "Await" },
    Await: {
      Type: "Task",
      Resource: "arn:aws:states:::lambda:invoke.waitForTaskToken",
      Parameters: { FunctionName: lambdaArn("notify"), Payload: { "taskToken.$": "$$.Task.Token" } },
      ResultPath: "$.outcome",
      End: true,
    },
  },
};

describe("local Step Functions: executions", () => {
  let harness: Harness;
  let stateMachineArn: string;
  let open: ReturnType<typeof recorder>;
  let notify: ReturnType<typeof recorder<{ taskToken: string }>>;

  beforeEach(async () => {
    open = recorder({ stage: 1 });
    notify = recorder<{ taskToken: string }>();
    harness = await startHarness({ handlers: { [lambdaArn("open")]: open, [lambdaArn("notify")]: notify } });
    ({ stateMachineArn } = await harness.engine.createStateMachine({ name: "challenge", definition }));
  });

  afterEach(async () => {
    await harness.stop();
    await cleanUp();
  });

  const start = (name: string, input: unknown) =>
    harness.sfn.send(new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) }));

  it("returns the same execution when the same name and input are started twice", async () => {
    const [first, second] = await Promise.all([
      start("c-42", { tenantId: "t", challengeId: "c-42" }),
      start("c-42", { tenantId: "t", challengeId: "c-42" }),
    ]);
    const third = await start("c-42", { challengeId: "c-42", tenantId: "t" });
    expect(first.executionArn).toBe("arn:aws:states:eu-west-2:000000000000:execution:challenge:c-42");
    expect(second.executionArn).toBe(first.executionArn);
    expect(third.executionArn).toBe(first.executionArn);
    expect(second.startDate).toEqual(first.startDate);

    await eventually(() => (notify.calls.length > 0 ? true : undefined));
    const { executions } = await harness.sfn.send(new ListExecutionsCommand({ stateMachineArn }));
    expect(executions?.map((execution) => execution.name)).toEqual(["c-42"]);
    expect(open.calls).toHaveLength(1);
  });

  it("refuses the same name with another input, or once the execution has closed", async () => {
    const { executionArn } = await start("c-7", { challengeId: "c-7" });
    await expect(start("c-7", { challengeId: "c-8" })).rejects.toBeInstanceOf(ExecutionAlreadyExists);

    const token = await eventually(() => notify.calls[0]?.taskToken);
    await harness.sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: "{}" }));
    await statusOf(harness.sfn, executionArn ?? "", "SUCCEEDED");
    await expect(start("c-7", { challengeId: "c-7" })).rejects.toBeInstanceOf(ExecutionAlreadyExists);
  });

  it("names the missing state machine or execution", async () => {
    await expect(
      harness.sfn.send(
        new StartExecutionCommand({ stateMachineArn: `${stateMachineArn}-missing`, input: "{}" }),
      ),
    ).rejects.toBeInstanceOf(StateMachineDoesNotExist);
    await expect(
      harness.sfn.send(new DescribeExecutionCommand({ executionArn: `${stateMachineArn}:nope` })),
    ).rejects.toBeInstanceOf(ExecutionDoesNotExist);
    await expect(
      harness.sfn.send(
        new CreateStateMachineCommand({
          name: "broken",
          definition: JSON.stringify({ StartAt: "Nowhere", States: {} }),
          roleArn: "arn:aws:iam::000000000000:role/sfn",
        }),
      ),
    ).rejects.toBeInstanceOf(InvalidDefinition);
  });

  it("stops an execution: ABORTED, and its task token no longer works", async () => {
    const { executionArn = "" } = await start("c-9", {});
    const token = await eventually(() => notify.calls[0]?.taskToken);
    const { stopDate } = await harness.sfn.send(
      new StopExecutionCommand({ executionArn, error: "Withdrawn", cause: "raiser withdrew" }),
    );
    expect(stopDate).toBeInstanceOf(Date);
    const stopped = await statusOf(harness.sfn, executionArn, "ABORTED");
    expect(stopped).toMatchObject({ error: "Withdrawn", cause: "raiser withdrew" });
    await expect(
      harness.sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: "{}" })),
    ).rejects.toBeInstanceOf(TaskDoesNotExist);
    const { executions } = await harness.sfn.send(
      new ListExecutionsCommand({ stateMachineArn, statusFilter: "ABORTED" }),
    );
    expect(executions?.map((execution) => execution.status)).toEqual(["ABORTED"]);
  });

  it("describes the execution and its history through the SDK", async () => {
    const { executionArn = "", startDate } = await start("c-10", { challengeId: "c-10" });
    const token = await eventually(() => notify.calls[0]?.taskToken);
    await harness.sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: '{"action":"resolved"}' }));
    const done = await statusOf(harness.sfn, executionArn, "SUCCEEDED");
    expect(done).toMatchObject({ name: "c-10", stateMachineArn, input: '{"challengeId":"c-10"}' });
    expect(done.startDate).toEqual(startDate);
    expect(done.stopDate?.getTime()).toBeGreaterThanOrEqual(startDate?.getTime() ?? Infinity);

    expect(await statesEntered(harness.sfn, executionArn)).toEqual(["Open", "Await"]);
    const { events = [] } = await harness.sfn.send(
      new GetExecutionHistoryCommand({ executionArn, reverseOrder: true, maxResults: 2 }),
    );
    expect(events.map((event) => event.type)).toEqual(["ExecutionSucceeded", "TaskStateExited"]);
    expect(events[0]?.timestamp).toBeInstanceOf(Date);
  });

  it("is found by an SDK client through AWS_ENDPOINT_URL_SFN, as handlers find it", async () => {
    const saved = process.env.AWS_ENDPOINT_URL_SFN;
    process.env.AWS_ENDPOINT_URL_SFN = harness.server.endpoint;
    const client = new SFNClient({
      region: "eu-west-2",
      credentials: { accessKeyId: "x", secretAccessKey: "y" },
    });
    try {
      const { executionArn = "" } = await client.send(
        new StartExecutionCommand({ stateMachineArn, name: "via-env", input: "{}" }),
      );
      const { status } = await client.send(new DescribeExecutionCommand({ executionArn }));
      expect(status).toBe("RUNNING");
    } finally {
      client.destroy();
      if (saved === undefined) delete process.env.AWS_ENDPOINT_URL_SFN;
      else process.env.AWS_ENDPOINT_URL_SFN = saved;
    }
  });

  it("reports a port already in use clearly", async () => {
    await expect(
      startStepFunctionsServer({ engine: harness.engine, port: harness.server.port }),
    ).rejects.toThrow(/port \d+ on 127\.0\.0\.1 is already in use/);
  });
});
