import { appendFile, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  ListExecutionsCommand,
  SendTaskSuccessCommand,
  StartExecutionCommand,
  TaskDoesNotExist,
} from "@aws-sdk/client-sfn";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { advanceBy, now } from "../../../functions/shared/clock.js";
import type { ExecutionRecord } from "../../../local/stepfunctions/engine.js";
import { ExecutionLog } from "../../../local/stepfunctions/execution-log.js";
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

/** The execution logs as a new engine reads them (every `<hash>.jsonl` under executions/). */
function savedExecutions(dataDir: string): ExecutionRecord[] {
  const warnings: string[] = [];
  const records = new ExecutionLog(join(dataDir, "executions"), (message) => warnings.push(message)).load();
  expect(warnings).toEqual([]);
  return records;
}

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
    const saved = savedExecutions(first.dataDir);
    expect(saved).toHaveLength(1);
    expect(saved[0]).toMatchObject({
      status: "RUNNING",
      pendingWait: { stateName: "WaitForNextAction", until: dueAt },
    });
    expect(saved[0]?.history.map((event) => event.type)).toEqual([
      "ExecutionStarted",
      "TaskStateEntered",
      "TaskStateExited",
      "WaitStateEntered",
    ]);
    const files = await readdir(join(first.dataDir, "executions"));
    expect(files.filter((file) => file.endsWith(".tmp"))).toEqual([]);
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

    const [saved] = savedExecutions(first.dataDir);
    expect(saved?.pendingTask?.token).toBe(oldToken);

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

  it("writes a change to one execution as lines appended to its own log, and survives a line cut short", async () => {
    const first = await boot();
    const { stateMachineArn } = await first.engine.createStateMachine({ name: "challenge", definition });
    const start = (name: string) =>
      first.sfn.send(
        new StartExecutionCommand({
          stateMachineArn,
          name,
          input: JSON.stringify({ challengeId: name, dueAt: "2020-01-01T00:00:00Z" }),
        }),
      );
    const [a, b] = [await start("c-a"), await start("c-b")];
    await eventually(() => (notify.calls.length === 2 ? true : undefined));
    await first.stop(); // flushes: both wait for a person
    running.splice(running.indexOf(first), 1);
    const folder = join(first.dataDir, "executions");
    const before = new Map<string, string>();
    for (const name of await readdir(folder)) before.set(name, await readFile(join(folder, name), "utf8"));
    expect(before.size).toBe(2);

    const second = await boot(first.dataDir);
    await second.engine.stopExecution({ executionArn: b.executionArn ?? "", error: "Test" });
    await second.stop();
    running.splice(running.indexOf(second), 1);
    // The other execution's log is untouched; the stopped one's is its old text plus new lines, or
    // (finished executions are compacted) one record line.
    const after = savedExecutions(first.dataDir);
    expect(after.find((r) => r.executionArn === a.executionArn)?.status).toBe("RUNNING");
    expect(after.find((r) => r.executionArn === b.executionArn)?.status).toBe("ABORTED");
    let unchanged = 0;
    for (const [name, text] of before)
      if ((await readFile(join(folder, name), "utf8")) === text) unchanged += 1;
    expect(unchanged).toBe(1);

    // A crash mid-append leaves half a line: the lines before it stand, and the execution resumes.
    for (const name of before.keys()) {
      const text = await readFile(join(folder, name), "utf8");
      if (text.includes('"status":"RUNNING"'))
        await appendFile(join(folder, name), '{"k":"event","e":{"id":');
    }
    const third = await boot(first.dataDir);
    expect(await third.engine.resume()).toBe(1);
    expect(third.warnings.some((w) => w.includes("is not JSON"))).toBe(true);
    expect(third.engine.describeExecution(a.executionArn ?? "").status).toBe("RUNNING");
  });

  it("moves the executions of a version 1 stepfunctions.json into per-execution logs", async () => {
    const first = await boot();
    await first.engine.createStateMachine({ name: "challenge", definition });
    await first.stop();
    running.splice(running.indexOf(first), 1);
    const machines = JSON.parse(await readFile(join(first.dataDir, "stepfunctions.json"), "utf8")) as {
      stateMachines: { stateMachineArn: string }[];
    };
    const stateMachineArn = machines.stateMachines[0]?.stateMachineArn ?? "";
    const executionArn = stateMachineArn.replace(":stateMachine:", ":execution:") + ":old";
    const legacy = {
      version: 1,
      stateMachines: machines.stateMachines,
      executions: [
        {
          executionArn,
          stateMachineArn,
          name: "old",
          input: JSON.stringify({ challengeId: "old", dueAt: "2020-01-01T00:00:00Z" }),
          status: "RUNNING",
          startDate: "2026-01-01T00:00:00.000Z",
          resumeCount: 0,
          history: [
            { id: 1, previousEventId: 0, timestamp: "2026-01-01T00:00:00.000Z", type: "ExecutionStarted" },
          ],
        },
      ],
    };
    await writeFile(join(first.dataDir, "stepfunctions.json"), JSON.stringify(legacy));

    const second = await boot(first.dataDir);
    expect(await second.engine.resume()).toBe(1);
    await second.stop();
    running.splice(running.indexOf(second), 1);
    const [saved] = savedExecutions(first.dataDir);
    expect(saved?.executionArn).toBe(executionArn);
    expect(saved?.history.map((e) => e.type).slice(0, 2)).toEqual(["ExecutionStarted", "ExecutionResumed"]);
    const rewritten = JSON.parse(await readFile(join(first.dataDir, "stepfunctions.json"), "utf8")) as {
      version: number;
      executions?: unknown;
    };
    expect(rewritten).toMatchObject({ version: 2 });
    expect(rewritten.executions).toBeUndefined();
  });
});
