/**
 * statemachines/challenge.asl.json, read as data: valid Amazon States Language, and every Task
 * retries what is safe to retry and catches everything else, so no execution dies silently.
 */
import { readFileSync } from "node:fs";
import validateAsl from "asl-validator";
import { describe, expect, it } from "vitest";
import { FORESEEN_WAITS } from "../../functions/workflow/tasks.js";

interface Retrier {
  readonly ErrorEquals: readonly string[];
  readonly IntervalSeconds?: number;
  readonly MaxAttempts?: number;
  readonly BackoffRate?: number;
}
interface Catcher {
  readonly ErrorEquals: readonly string[];
  readonly Next: string;
  readonly ResultPath?: string | null;
}
interface State {
  readonly Type: string;
  readonly Resource?: string;
  readonly Parameters?: Record<string, unknown>;
  readonly ResultPath?: string | null;
  readonly Retry?: readonly Retrier[];
  readonly Catch?: readonly Catcher[];
  readonly Next?: string;
  readonly TimeoutSecondsPath?: string;
  readonly TimestampPath?: string;
  readonly Choices?: readonly Record<string, unknown>[];
  readonly Default?: string;
  readonly End?: boolean;
}
interface Definition {
  readonly StartAt: string;
  readonly States: Readonly<Record<string, State>>;
}

const ASL_URL = new URL("../../statemachines/challenge.asl.json", import.meta.url);
const text = readFileSync(ASL_URL, "utf8");
const definition = JSON.parse(text) as Definition;
const states = Object.entries(definition.States);
const tasks = states.filter(([, state]) => state.Type === "Task");
const state = (name: string): State => {
  const found = definition.States[name];
  if (found === undefined) throw new Error(`no state ${name}`);
  return found;
};

/** A Choice rule's comparisons in evaluation order (And/Or/Not flattened). */
function flatten(rule: Record<string, unknown>): Record<string, unknown>[] {
  const nested = [rule.And, rule.Or, rule.Not === undefined ? undefined : [rule.Not]].find(Array.isArray) as
    Record<string, unknown>[] | undefined;
  return nested === undefined ? [rule] : nested.flatMap(flatten);
}

const LAMBDA_SERVICE_ERRORS = [
  "Lambda.ClientExecutionTimeoutException",
  "Lambda.ServiceException",
  "Lambda.AWSLambdaException",
  "Lambda.SdkClientException",
  "Lambda.TooManyRequestsException",
];
const FAILURE_PATH = new Set(["RecordWorkflowFailure", "WorkflowFailed"]);
/** The chained waits, one for each wait a view foresees (functions/workflow/tasks.ts FORESEEN_WAITS). */
const TIMER_THEN_AWAIT = Array.from({ length: FORESEEN_WAITS }, (_, i) =>
  i === 0 ? "TimerThenAwait" : `TimerThenAwait${i + 1}`,
);

describe("statemachines/challenge.asl.json", () => {
  it("passes asl-validator (schema, JSONPath syntax, ARNs, transitions, terminal states)", () => {
    const result = validateAsl(definition, { checkPaths: true, checkArn: true });
    expect(result.errorsText("\n")).toBe("");
    expect(result.isValid).toBe(true);
  });

  it("has the workflow's states, starting at OpenStage", () => {
    expect(definition.StartAt).toBe("OpenStage");
    expect(tasks.map(([name]) => name).sort()).toEqual(
      [
        "AwaitMonitoring",
        "AwaitResponse",
        "CheckActions",
        "OpenStage",
        "RecordWorkflowFailure",
        "StageTimedOut",
        ...TIMER_THEN_AWAIT,
      ].sort(),
    );
    // No Wait state: every wait is a task token a person's action can end.
    expect(states.filter(([, s]) => s.Type === "Wait")).toEqual([]);
    expect(state("Finished").Type).toBe("Succeed");
    expect(state("WorkflowFailed").Type).toBe("Fail");
  });

  it.each(tasks)("Task %s retries with backoff and catches States.ALL last", (name, task) => {
    const retry = task.Retry ?? [];
    expect(retry.length).toBeGreaterThan(0);
    for (const retrier of retry) {
      expect(retrier.ErrorEquals).not.toContain("States.ALL");
      expect(retrier.ErrorEquals).not.toContain("States.Timeout");
      expect(retrier.MaxAttempts ?? 3).toBeGreaterThan(0);
      expect(retrier.BackoffRate ?? 2).toBeGreaterThan(1);
    }
    const catchers = task.Catch ?? [];
    const last = catchers.at(-1);
    expect(last?.ErrorEquals).toEqual(["States.ALL"]);
    expect(FAILURE_PATH.has(last?.Next ?? "")).toBe(true);
    // The error goes beside the state data, never over it: the failure report needs the ids.
    expect(last?.ResultPath).toMatch(/^\$\.\w+$/);
    if (name !== "RecordWorkflowFailure") expect(last?.Next).toBe("RecordWorkflowFailure");
  });

  it("retries Lambda service errors and throttles on every Lambda task", () => {
    const lambdaTasks = tasks.filter(([, task]) =>
      task.Resource?.startsWith("arn:aws:states:::lambda:invoke"),
    );
    expect(lambdaTasks).toHaveLength(5 + FORESEEN_WAITS);
    for (const [, task] of lambdaTasks) {
      expect(task.Retry?.[0]?.ErrorEquals).toEqual(LAMBDA_SERVICE_ERRORS);
    }
  });

  it("retries States.TaskFailed only where the task is idempotent (not the callback)", () => {
    const retriesTaskFailed = (name: string) =>
      state(name).Retry?.some((r) => r.ErrorEquals.includes("States.TaskFailed")) ?? false;
    // TimerThenAwait's Lambda applies the timer's action as StageTimedOut does (idempotent), and
    // nobody fails its token: a failed invocation is retried like StageTimedOut's.
    for (const name of [
      "OpenStage",
      "CheckActions",
      "StageTimedOut",
      ...TIMER_THEN_AWAIT,
      "RecordWorkflowFailure",
    ]) {
      expect(retriesTaskFailed(name)).toBe(true);
    }
    // SendTaskFailure from a person's action is deliberate: it must not re-notify the recipient.
    expect(retriesTaskFailed("AwaitResponse")).toBe(false);
    expect(retriesTaskFailed("AwaitMonitoring")).toBe(false);
  });

  it("AwaitResponse is a callback task whose timeout is the view's next timer instant", () => {
    const task = state("AwaitResponse");
    expect(task.Resource).toBe("arn:aws:states:::lambda:invoke.waitForTaskToken");
    expect(task.TimeoutSecondsPath).toBe("$.stage.current.timeoutSeconds");
    expect(task.Parameters?.Payload).toMatchObject({
      "taskToken.$": "$$.Task.Token",
      wait: "stage",
      "stage.$": "$.stage.current",
    });
    expect(task.Catch?.[0]).toMatchObject({ ErrorEquals: ["States.Timeout"], Next: "TimerThenAwait" });
    expect(task.Next).toBe("RouteOutcome");
  });

  it("a timed-out wait goes straight on along the view's chain: TimerThenAwait, ...2, ...3, ...4, then StageTimedOut, then AwaitResponse", () => {
    // Each waits on the next wait the view foresaw and acts on the one that ended (`then` k deep).
    const view = (depth: number) => `$.stage.current${".then".repeat(depth)}`;
    TIMER_THEN_AWAIT.forEach((name, i) => {
      const chained = state(name);
      expect(chained.Resource, name).toBe("arn:aws:states:::lambda:invoke.waitForTaskToken");
      // The same Lambda as AwaitResponse, told which wait ended: it applies the timer's action first,
      // then waits for the view's precomputed next wait.
      expect(chained.Parameters?.FunctionName, name).toBe(state("AwaitResponse").Parameters?.FunctionName);
      expect(chained.Parameters?.Payload, name).toMatchObject({
        "taskToken.$": "$$.Task.Token",
        "executionName.$": "$$.Execution.Name",
        wait: "stage",
        "stage.$": view(i + 1),
        "timedOut.$": view(i),
      });
      expect(chained.TimeoutSecondsPath, name).toBe(`${view(i + 1)}.timeoutSeconds`);
      expect(chained.Catch?.[0], name).toMatchObject({
        ErrorEquals: ["States.Timeout"],
        Next: TIMER_THEN_AWAIT[i + 1] ?? "StageTimedOut",
      });
      expect(chained.Next, name).toBe("RouteOutcome");
    });
    // StageTimedOut acts on the wait that ended (the last one foreseen) and returns the fresh view,
    // which AwaitResponse waits on with no Choice between (its Lambda checks the view's shape).
    const timedOut = state("StageTimedOut");
    expect(timedOut.Parameters?.Payload).toMatchObject({
      "stage.$": view(FORESEEN_WAITS),
      "executionName.$": "$$.Execution.Name",
    });
    expect(timedOut.ResultPath).toBe("$.stage");
    expect(timedOut.Next).toBe("AwaitResponse");
  });

  it("AwaitMonitoring is a wakeable wait: a person's action re-reads, the next action's due time checks", () => {
    const task = state("AwaitMonitoring");
    const awaitResponse = state("AwaitResponse");
    expect(task.Resource).toBe("arn:aws:states:::lambda:invoke.waitForTaskToken");
    // The same Lambda (it stores the token under stageId "monitoring") and payload, for a monitoring wait.
    expect(task.Parameters).toEqual({
      ...awaitResponse.Parameters,
      Payload: { ...(awaitResponse.Parameters?.Payload as object), wait: "monitoring" },
    });
    expect(task.TimeoutSecondsPath).toBe("$.stage.current.timeoutSeconds");
    expect(task.Catch?.[0]).toMatchObject({ ErrorEquals: ["States.Timeout"], Next: "CheckActions" });
    expect(task.Next).toBe("OpenStage");
    expect(state("CheckActions").Next).toBe("RouteCheck");
    const route = (name: string) => JSON.stringify(state(name).Choices);
    expect(route("RouteStage")).toContain('"Next":"AwaitMonitoring"');
    expect(route("RouteCheck")).toContain('"Next":"AwaitMonitoring"');
    expect(state("RouteCheck").Default).toBe("OpenStage");
  });

  it("tells every task that reads the challenge which run is asking (a superseded run ends itself)", () => {
    for (const name of ["OpenStage", "CheckActions", "StageTimedOut", ...TIMER_THEN_AWAIT, "AwaitResponse"]) {
      expect(state(name).Parameters?.Payload).toMatchObject({ "executionName.$": "$$.Execution.Name" });
    }
  });

  it("checks a stage's timeout and a plan's due date before using them (States.Runtime cannot be caught)", () => {
    // The open stage's view also carries the waits after it, which TimerThenAwait, ...2, ... time.
    const routeStage = JSON.stringify(state("RouteStage").Choices);
    for (let depth = 1; depth <= FORESEEN_WAITS; depth++) {
      const timeout = `$.stage.current${".then".repeat(depth)}.timeoutSeconds`;
      expect(routeStage).toContain(`"Variable":"${timeout}","IsNumeric":true`);
      expect(routeStage).toContain(`"Variable":"${timeout}","NumericGreaterThanEquals":1`);
    }
    for (const name of ["RouteStage", "RouteCheck"]) {
      const choices = JSON.stringify(state(name).Choices);
      expect(choices, name).toContain('"Variable":"$.stage.current.timeoutSeconds","IsNumeric":true');
      expect(choices, name).toContain(
        '"Variable":"$.stage.current.timeoutSeconds","NumericGreaterThanEquals":1',
      );
      expect(choices, name).toContain('"Variable":"$.stage.current.nextActionDueAt","IsTimestamp":true');
    }
    expect(state("RouteStage").Default).toBe("InvalidStageResult");
    // A comparison on a missing field is itself a States.Runtime error: every rule tests IsPresent
    // before anything else about a field (And is evaluated in order).
    const choiceStates = states.filter(([, s]) => s.Type === "Choice");
    expect(choiceStates.length).toBeGreaterThan(0);
    for (const [name, choice] of choiceStates) {
      for (const rule of choice.Choices ?? []) {
        const conditions = flatten(rule);
        const seen = new Set<string>();
        for (const condition of conditions) {
          const variable = condition.Variable;
          if (typeof variable !== "string" || seen.has(variable)) continue;
          seen.add(variable);
          expect(condition, `${name}: ${variable}`).toMatchObject({ IsPresent: true });
        }
        expect(seen.size, name).toBeGreaterThan(0);
      }
    }
    // Every outcome that does not finish re-reads the challenge: no path uses the signal's data.
    expect(state("RouteOutcome").Default).toBe("OpenStage");
    expect(JSON.stringify(state("RouteOutcome").Choices)).not.toContain("nextActionDueAt");
  });

  it("names its substitutions ${...} and nothing else", () => {
    const placeholders = [...text.matchAll(/\$\{(\w+)\}/g)].map((m) => m[1]);
    expect(new Set(placeholders)).toEqual(
      new Set([
        "OpenStageFunctionArn",
        "AwaitResponseFunctionArn",
        "StageTimedOutFunctionArn",
        "CheckActionsFunctionArn",
        "WorkflowFailureTopicArn",
      ]),
    );
  });

  it("reports a failure with identifiers only (no state data, which may hold personal data)", () => {
    const message = state("RecordWorkflowFailure").Parameters?.["Message.$"];
    expect(message).toBe(
      "States.Format('Challenge workflow failed. tenant={} challenge={} error={} execution={}', $.tenantId, $.challengeId, $.failure.Error, $$.Execution.Id)",
    );
  });
});
