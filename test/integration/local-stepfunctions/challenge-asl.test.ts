/**
 * The real `statemachines/challenge.asl.json` on the local engine, with fake task handlers that
 * keep a tiny in-memory challenge (three stages, one working week each). Like the real tasks, the
 * fakes' views carry the waits after theirs (`then`, `then.then`, ... FORESEEN_WAITS deep), which
 * TimerThenAwait, TimerThenAwait2, ... time.
 */
import { readFileSync } from "node:fs";
import { SendTaskSuccessCommand, StartExecutionCommand, TaskTimedOut } from "@aws-sdk/client-sfn";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { advanceBy, now } from "../../../functions/shared/clock.js";
import { FORESEEN_WAITS } from "../../../functions/workflow/tasks.js";
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
/** The reminder's wait: five days into the week. */
const REMIND_SECONDS = 5 * 86400;
const STAGES = ["team-manager", "service-manager", "head-of-service"];
const LAST_STAGE = STAGES.length - 1;

interface AwaitPayload {
  readonly taskToken: string;
  readonly challengeId: string;
  readonly wait?: string;
  /** TimerThenAwait: the view whose wait timed out. */
  readonly timedOut?: { readonly stageId: string; readonly onTimeout?: string };
  readonly stage: {
    readonly status: string;
    readonly stageId?: string;
    readonly timeoutSeconds: number;
    readonly nextActionDueAt?: string;
  };
}

/** A monitoring view as OpenStage and CheckActions return it: the next look, and the seconds until it. */
function monitoringView(dueInMs: number, withTimeout = true) {
  return {
    status: "monitoring",
    nextActionDueAt: new Date(now().getTime() + dueInMs).toISOString(),
    ...(withTimeout ? { timeoutSeconds: Math.ceil(dueInMs / 1000) } : {}),
  };
}

describe("statemachines/challenge.asl.json on the local engine", () => {
  let harness: Harness;
  let stateMachineArn: string;
  /** The fake challenge: which stage is current, a monitored plan (the view to return), or finished. */
  let fake: {
    stage: number;
    /** Stages whose recipient was reminded (the protocol reminds two days before a week's deadline). */
    reminded: Set<number> | undefined;
    finished: boolean;
    failOpen: boolean;
    monitoring: Record<string, unknown> | undefined;
    /** What CheckActions answers next, worked out when it runs (finished when unset). */
    checked: (() => Record<string, unknown>) | undefined;
  };
  let openStage: ReturnType<typeof recorder<{ executionName?: string }>>;
  let awaitResponse: ReturnType<typeof recorder<AwaitPayload>>;
  let stageTimedOut: ReturnType<typeof recorder<{ stage: { stageId: string; onTimeout?: string } }>>;
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
    fake = {
      stage: 0,
      reminded: undefined,
      finished: false,
      failOpen: false,
      monitoring: undefined,
      checked: undefined,
    };
    /** A stage's wait: for the reminder time first (two days before the deadline), once, with reminders on. */
    const stageWait = (stage: number, reminded: boolean) => {
      if (stage >= STAGES.length) return { status: "finished", timeoutSeconds: 60 };
      const remind = fake.reminded !== undefined && !reminded;
      return {
        status: "open",
        stageId: STAGES[stage],
        timeoutSeconds: remind ? REMIND_SECONDS : WEEK_SECONDS,
        onTimeout: remind ? "remind" : "escalate",
      };
    };
    /**
     * A wait and, `depth` deep, the waits after it if the timer acts at each one's end: after the
     * reminder the rest of the week at the same stage, after the deadline the next stage.
     */
    const chain = (stage: number, reminded: boolean, depth: number, afterReminder = false): object => {
      const wait = stageWait(stage, reminded);
      const current = afterReminder ? { ...wait, timeoutSeconds: WEEK_SECONDS - REMIND_SECONDS } : wait;
      if (depth === 0) return current;
      const then =
        current.onTimeout === "remind"
          ? chain(stage, true, depth - 1, true)
          : chain(stage + 1, false, depth - 1);
      return { ...current, then };
    };
    /** The view OpenStage and StageTimedOut return, with the waits after it if the timer acts first. */
    const view = () => {
      if (fake.finished) return chain(STAGES.length, true, FORESEEN_WAITS);
      if (fake.monitoring !== undefined) return fake.monitoring;
      return chain(fake.stage, fake.reminded?.has(fake.stage) ?? true, FORESEEN_WAITS);
    };
    /** The timer's action at the end of a stage's wait. */
    const timer = (timedOut: { onTimeout?: string }) => {
      if (timedOut.onTimeout === "remind")
        fake.reminded?.add(fake.stage); // the stage stays
      else fake.stage += 1; // the protocol's no-response rule: auto-escalate
    };
    openStage = recorder<{ executionName?: string }>(() => {
      if (fake.failOpen) {
        const error = new Error("challenge not found");
        error.name = "ChallengeNotFound";
        throw error;
      }
      return view();
    });
    awaitResponse = recorder<AwaitPayload>((input) => {
      if (input.timedOut !== undefined) timer(input.timedOut);
      return { notified: true };
    });
    stageTimedOut = recorder<{ stage: { stageId: string; onTimeout?: string } }>((input) => {
      timer(input.stage);
      return view();
    });
    checkActions = recorder(() => {
      const answer = fake.checked?.() ?? { status: "finished" };
      fake.checked = undefined;
      return answer;
    });
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

  it("timeout path: the stage deadline passes on the service clock and TimerThenAwait escalates", async () => {
    const executionArn = await start("c-2");
    const first = await awaiting(1);

    // TimerThenAwait escalates and waits at the next stage in the same task, as OpenStage's view
    // said it would (its `then`).
    advanceBy(WEEK_SECONDS * 1000 + 1000);
    const second = await awaiting(2);
    expect(second.timedOut?.stageId).toBe("team-manager");
    expect(second.stage.stageId).toBe("service-manager");
    expect(stageTimedOut.calls).toHaveLength(0);
    await entered(harness.sfn, executionArn, "TimerThenAwait");

    // A late answer with the first token: the workflow has moved on (SfnWorkflowSignal ignores this).
    await expect(respond(first.taskToken, { action: "responded" })).rejects.toBeInstanceOf(TaskTimedOut);

    await respond(second.taskToken, { action: "resolved" });
    await statusOf(harness.sfn, executionArn, "SUCCEEDED");
    expect(await statesEntered(harness.sfn, executionArn)).toEqual([
      "OpenStage",
      "RouteStage",
      "AwaitResponse",
      "TimerThenAwait",
      "RouteOutcome",
      "Finished",
    ]);
  });

  it("the last stage's deadline: the ladder ends, the wait's own task ends the run", async () => {
    fake.stage = LAST_STAGE;
    const executionArn = await start("c-9");
    await awaiting(1);
    advanceBy(WEEK_SECONDS * 1000 + 1000);
    const last = await awaiting(2);
    expect(last).toMatchObject({ timedOut: { stageId: STAGES[LAST_STAGE] }, stage: { status: "finished" } });
    // The real task ends a finished wait at once (functions/workflow/tasks.ts awaitWait).
    await respond(last.taskToken, { action: "finished", outcome: "ladder_exhausted" });
    await statusOf(harness.sfn, executionArn, "SUCCEEDED");
    expect((await statesEntered(harness.sfn, executionArn)).slice(-3)).toEqual([
      "TimerThenAwait",
      "RouteOutcome",
      "Finished",
    ]);
  });

  it("the timer alone along the whole chain: each reminder and deadline is one state, and the wait after the last one foreseen comes from StageTimedOut", async () => {
    fake.reminded = new Set();
    const executionArn = await start("c-8");
    const first = await awaiting(1);
    expect(first.stage).toMatchObject({ stageId: "team-manager", timeoutSeconds: REMIND_SECONDS });

    // Each wait's end: TimerThenAwait<n> applies the timer's action on the wait that ended and waits
    // in the same task for the next one the view foresaw, with no StageTimedOut between them.
    const foreseen = [
      {
        timedOut: { stageId: "team-manager", onTimeout: "remind" },
        stage: { stageId: "team-manager", timeoutSeconds: WEEK_SECONDS - REMIND_SECONDS },
      },
      {
        timedOut: { stageId: "team-manager", onTimeout: "escalate" },
        stage: { stageId: "service-manager", timeoutSeconds: REMIND_SECONDS },
      },
      {
        timedOut: { stageId: "service-manager", onTimeout: "remind" },
        stage: { stageId: "service-manager", timeoutSeconds: WEEK_SECONDS - REMIND_SECONDS },
      },
      {
        timedOut: { stageId: "service-manager", onTimeout: "escalate" },
        stage: { stageId: "head-of-service", timeoutSeconds: REMIND_SECONDS },
      },
    ];
    let previous = first;
    for (const [i, expected] of foreseen.entries()) {
      advanceBy(previous.stage.timeoutSeconds * 1000 + 1000);
      const next = await awaiting(i + 2);
      expect(next, `wait ${i + 2}`).toMatchObject(expected);
      expect(next.taskToken).not.toBe(previous.taskToken);
      previous = next;
    }
    expect(foreseen).toHaveLength(FORESEEN_WAITS);
    expect(stageTimedOut.calls).toHaveLength(0);
    expect(fake).toMatchObject({ stage: 2, reminded: new Set([0, 1]) });

    // The last foreseen wait (head of service's reminder time) ends: StageTimedOut reminds and reads
    // the challenge afresh, and AwaitResponse waits on the deadline it returns.
    advanceBy(REMIND_SECONDS * 1000 + 1000);
    const fresh = await awaiting(FORESEEN_WAITS + 2);
    expect(fresh.timedOut).toBeUndefined();
    // (The fake reads a reminded stage as a fresh week: only the stage and the timer's next action matter here.)
    expect(fresh.stage).toMatchObject({ stageId: "head-of-service", onTimeout: "escalate" });
    expect(stageTimedOut.calls.map((c) => [c.stage.stageId, c.stage.onTimeout])).toEqual([
      ["head-of-service", "remind"],
    ]);

    await respond(fresh.taskToken, { action: "resolved" });
    await statusOf(harness.sfn, executionArn, "SUCCEEDED");
    expect(await statesEntered(harness.sfn, executionArn)).toEqual([
      "OpenStage",
      "RouteStage",
      "AwaitResponse",
      "TimerThenAwait",
      "TimerThenAwait2",
      "TimerThenAwait3",
      "TimerThenAwait4",
      "StageTimedOut",
      "AwaitResponse",
      "RouteOutcome",
      "Finished",
    ]);
  });

  it("monitoring: an agreed plan waits on a task token until the next action falls due, then checks it", async () => {
    const executionArn = await start("c-3");
    const first = await awaiting(1);
    // The plan is agreed: the person's signal goes back to OpenStage, which reads "monitoring".
    fake.monitoring = monitoringView(20 * DAY_MS);
    const dueAt = fake.monitoring.nextActionDueAt;
    await respond(first.taskToken, { action: "plan_agreed", nextActionDueAt: dueAt });
    const monitoring = await awaiting(2);
    expect(monitoring.stage).toEqual({
      status: "monitoring",
      nextActionDueAt: dueAt,
      timeoutSeconds: 20 * 86400,
    });
    await entered(harness.sfn, executionArn, "AwaitMonitoring");
    expect(checkActions.calls).toHaveLength(0);

    // The action falls due (the wait times out): CheckActions looks, and keeps monitoring a week on.
    fake.checked = () => ({ ...monitoringView(7 * DAY_MS), dueActions: [{ actionId: "a-1" }] });
    advanceBy(20 * DAY_MS + 1000);
    const again = await awaiting(3);
    expect(again.stage.status).toBe("monitoring");
    expect(checkActions.calls).toEqual([
      {
        tenantId: "t-1",
        challengeId: "c-3",
        dueAt,
        executionName: "c-3",
      },
    ]);

    // The next look finds nothing left to monitor.
    advanceBy(8 * DAY_MS);
    await statusOf(harness.sfn, executionArn, "SUCCEEDED");
    expect(await statesEntered(harness.sfn, executionArn)).toEqual([
      "OpenStage",
      "RouteStage",
      "AwaitResponse",
      "RouteOutcome",
      "OpenStage",
      "RouteStage",
      "AwaitMonitoring",
      "CheckActions",
      "RouteCheck",
      "AwaitMonitoring",
      "CheckActions",
      "RouteCheck",
      "Finished",
    ]);
    // The same Lambda stores the monitoring wait's token; OpenStage is told which run asks.
    expect(openStage.calls.map((c) => c.executionName)).toEqual(["c-3", "c-3"]);
  });

  it("monitoring: a person's action ends the wait at once, long before the next action falls due", async () => {
    const executionArn = await start("c-6");
    const first = await awaiting(1);
    fake.monitoring = monitoringView(30 * DAY_MS);
    await respond(first.taskToken, { action: "plan_agreed" });
    const monitoring = await awaiting(2);

    // An action is recorded as done: OpenStage re-reads and the plan is still monitored.
    fake.monitoring = monitoringView(10 * DAY_MS);
    await respond(monitoring.taskToken, { action: "action_completed", status: "monitoring", version: 4 });
    const next = await awaiting(3);
    expect(next.stage.nextActionDueAt).toBe(fake.monitoring.nextActionDueAt);

    // The IRO reopens: the wait ends, OpenStage finds the stage open again.
    fake.monitoring = undefined;
    fake.stage = 1;
    await respond(next.taskToken, { action: "reopened", status: "open", version: 6 });
    const reopened = await awaiting(4);
    expect(reopened.stage).toMatchObject({ status: "open", stageId: "service-manager" });

    await respond(reopened.taskToken, { action: "closed" });
    await statusOf(harness.sfn, executionArn, "SUCCEEDED");
    expect(checkActions.calls).toHaveLength(0);
    expect(await statesEntered(harness.sfn, executionArn)).toEqual([
      "OpenStage",
      "RouteStage",
      "AwaitResponse",
      "RouteOutcome",
      "OpenStage",
      "RouteStage",
      "AwaitMonitoring",
      "OpenStage",
      "RouteStage",
      "AwaitMonitoring",
      "OpenStage",
      "RouteStage",
      "AwaitResponse",
      "RouteOutcome",
      "Finished",
    ]);
  });

  it("monitoring: a view without its timeout is recorded as a failure, not a runtime error", async () => {
    fake.monitoring = monitoringView(DAY_MS, false);
    const executionArn = await start("c-7");
    const failed = await statusOf(harness.sfn, executionArn, "FAILED");
    expect(failed.error).toBe("ChallengeWorkflowFailed");
    expect(publish.calls[0]?.Message).toContain("error=InvalidStageResult");
    expect(awaitResponse.calls).toHaveLength(0);
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
