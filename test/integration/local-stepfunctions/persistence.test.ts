import { readdir, readFile } from "node:fs/promises";
import {
  ListExecutionsCommand,
  SendTaskSuccessCommand,
  StartExecutionCommand,
  TaskDoesNotExist,
} from "@aws-sdk/client-sfn";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { advanceBy, now } from "../../../functions/shared/clock.js";
import {
  DAY_MS,
  cleanUp,
  entered,
  eventually,
  history,
  lambdaArn,
  recorder,
  startHarness,
  statusOf,
  type Harness,
} from "./harness.js";

/** OpenStage (counted), then a Wait on a timestamp, then a token wait, then Finish. */
const definition = {
  StartAt: "OpenStage",
  States: {
    OpenStage: {
      Type: "Task",
      Resource: lambdaArn("open"),
      ResultPath: "$.stage",
      Next: "WaitForNextAction",
    },
    WaitForNextAction: { Type: "Wait", TimestampPath: "$.dueAt", Next: "AwaitResponse" },
    AwaitResponse: {
      Type: "Task",
      Resource: "arn:aws:states:::lambda:invoke.waitForTaskToken",
      Parameters: { FunctionName: lambdaArn("notify"), Payload: { "taskToken.$": "$$.Task.Token" } },
      TimeoutSeconds: 86400,
      ResultPath: "$.outcome",
      Next: "Finish",
    },
    Finish: { Type: "Task", Resource: lambdaArn("finish"), End: true },
  },
};

describe("local Step Functions: persistence and resume", () => {
  const running: Harness[] = [];
  let open: ReturnType<typeof recorder>;
  let notify: ReturnType<typeof recorder<{ taskToken: string }>>;
  let finish: ReturnType<typeof recorder>;

  beforeEach(() => {
    open = recorder({ stage: 1 });
    notify = recorder<{ taskToken: string }>();
    finish = recorder({ finished: true });
  });

  afterEach(async () => {
    for (const harness of running.splice(0)) await harness.stop();
    await cleanUp();
  });

  async function boot(dataDir?: string): Promise<Harness> {
    const handlers = {
      [lambdaArn("open")]: open,
      [lambdaArn("notify")]: notify,
      [lambdaArn("finish")]: finish,
    };
    const harness = await startHarness({ handlers, ...(dataDir ? { dataDir } : {}) });
    running.push(harness);
    return harness;
  }

  it("continues a RUNNING execution after a restart, once, from its first state", async () => {
    const first = await boot();
    const { stateMachineArn } = await first.engine.createStateMachine({ name: "challenge", definition });
    const dueAt = new Date(now().getTime() + 2 * DAY_MS).toISOString();
    const input = JSON.stringify({ challengeId: "c-1", dueAt });
    const { executionArn = "" } = await first.sfn.send(
      new StartExecutionCommand({ stateMachineArn, name: "c-1", input }),
    );
    await entered(first.sfn, executionArn, "WaitForNextAction");

    // Stop mid-wait. The file says RUNNING, with where it was waiting; no temporary files remain.
    await first.stop();
    running.splice(running.indexOf(first), 1);
    const saved = JSON.parse(await readFile(`${first.dataDir}/stepfunctions.json`, "utf8")) as {
      executions: { status: string; pendingWait?: { stateName: string; until: string } }[];
    };
    expect(saved.executions).toHaveLength(1);
    expect(saved.executions[0]).toMatchObject({
      status: "RUNNING",
      pendingWait: { stateName: "WaitForNextAction", until: dueAt },
    });
    expect((await readdir(first.dataDir)).filter((file) => file.endsWith(".tmp"))).toEqual([]);

    // A new engine on the same folder knows the state machine and resumes the execution.
    const second = await boot(first.dataDir);
    expect(await second.engine.resume()).toBe(1);
    expect(await second.engine.resume()).toBe(0);
    await eventually(() => (open.calls.length === 2 ? true : undefined));

    // Starting it again (a retried StartExecution) returns it; nothing forks.
    const again = await second.sfn.send(new StartExecutionCommand({ stateMachineArn, name: "c-1", input }));
    expect(again.executionArn).toBe(executionArn);

    advanceBy(2 * DAY_MS + 1000);
    const token = await eventually(() => notify.calls[0]?.taskToken);
    await second.sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: '{"action":"responded"}' }));
    await statusOf(second.sfn, executionArn, "SUCCEEDED");

    expect(open.calls).toHaveLength(2);
    expect(notify.calls).toHaveLength(1);
    expect(finish.calls).toHaveLength(1);
    const { executions } = await second.sfn.send(new ListExecutionsCommand({ stateMachineArn }));
    expect(executions).toHaveLength(1);
    const types = (await history(second.sfn, executionArn)).map((event) => event.type);
    expect(types.filter((type) => type === "ExecutionStarted")).toHaveLength(1);
    expect(types).toContain("ExecutionResumed");
    expect(types.at(-1)).toBe("ExecutionSucceeded");
  });

  it("saves the pending task token and deadline; after a restart the re-run issues a new token", async () => {
    const first = await boot();
    const { stateMachineArn } = await first.engine.createStateMachine({ name: "challenge", definition });
    const input = JSON.stringify({ challengeId: "c-2", dueAt: "2020-01-01T00:00:00Z" });
    const { executionArn = "" } = await first.sfn.send(
      new StartExecutionCommand({ stateMachineArn, name: "c-2", input }),
    );
    const oldToken = await eventually(() => notify.calls.at(-1)?.taskToken);
    const pending = first.engine.describeExecution(executionArn).pendingTask;
    expect(pending).toMatchObject({ token: oldToken, stateName: "AwaitResponse" });
    expect(Date.parse(pending?.deadline ?? "") - Date.parse(pending?.enteredAt ?? "")).toBe(86400 * 1000);
    await first.stop();
    running.splice(running.indexOf(first), 1);

    const saved = await readFile(`${first.dataDir}/stepfunctions.json`, "utf8");
    expect(saved).toContain(oldToken);

    const second = await boot(first.dataDir);
    // The definition may have changed on disk: the runtime re-creates it with replace.
    await second.engine.createStateMachine({ name: "challenge", definition, replace: true });
    await second.engine.resume();
    const newToken = await eventually(() => {
      const latest = notify.calls.at(-1)?.taskToken;
      return latest !== oldToken ? latest : undefined;
    });
    await expect(
      second.sfn.send(new SendTaskSuccessCommand({ taskToken: oldToken, output: "{}" })),
    ).rejects.toBeInstanceOf(TaskDoesNotExist);
    await second.sfn.send(new SendTaskSuccessCommand({ taskToken: newToken, output: "{}" }));
    await statusOf(second.sfn, executionArn, "SUCCEEDED");
  });
});
