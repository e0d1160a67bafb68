import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  executeCommand,
  type ExecuteDependencies,
  type WorkflowSignal,
} from "../../../functions/app/execute-command.js";
import { SfnWorkflowSignal } from "../../../functions/workflow/sfn-signal.js";
import { executionName, type WorkflowTaskDependencies } from "../../../functions/workflow/tasks.js";
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
import { createStep as workflowStep } from "../../../functions/workflow/start-execution.js";
import type { ChallengeEvent } from "../../../functions/domain/challenge/events.js";
import type { EventItem } from "../../../functions/store/event-item.js";
import { ENTITY, keys } from "../../../functions/store/table.js";
import { transitionsByStage } from "../../../bench/transitions.js";
import { createTestTable, localDocumentClient } from "../../support/dynamodb-local.js";
import {
  IRO,
  LEVEL_1_DEADLINE,
  LEVEL_1_REMINDER,
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

/** The execution ARN of a challenge's run (1: the run ChallengeRaised started). */
function executionArnOf(challengeId: string, startSeq = 1): string {
  return `${stateMachineArn.replace(":stateMachine:", ":execution:")}:${executionName(TENANT, challengeId, startSeq)}`;
}

/** The executions of one challenge's runs, by name. */
function runsOf(challengeId: string): string[] {
  const prefix = `${TENANT}-${challengeId}-`;
  return harness.engine
    .listExecutions({ stateMachineArn })
    .map((e) => e.name)
    .filter((name) => name.startsWith(prefix))
    .sort();
}

function succeeded(executionArn: string): Promise<true> {
  return eventually(
    () => (harness.engine.describeExecution(executionArn).status === "SUCCEEDED" ? true : undefined),
    WAIT_MS,
  );
}

/** The stored token once it is for `stageId` and differs from `previous`. */
function tokenFor(challengeId: string, stageId: string, previous?: string): Promise<string> {
  return eventually(async () => {
    const stored = await challenges.getTaskToken(TENANT, challengeId);
    return stored?.stageId === stageId && stored.token !== previous ? stored.token : undefined;
  }, WAIT_MS);
}

/** The reactor's workflow step given a committed event, as the reactor hands it over: the stored event item. */
async function workflowStepOn(event: ChallengeEvent | undefined): Promise<void> {
  if (event === undefined) throw new Error("no event committed");
  const item: EventItem = {
    ...keys.event(TENANT, event.challengeId, event.seq),
    entity: ENTITY.event,
    tenantId: TENANT,
    challengeId: event.challengeId,
    type: event.type,
    event,
    prevHash: "",
    hash: "0".repeat(64),
  };
  await workflowStep(() => ({ starter: app.workflow })).begin()(item);
}

/** Real time that may pass while a timeout is set up on a busy machine (see the first test). */
const SLACK_MS = 5_000;

describe("the challenge state machine, locally", () => {
  it("waits at level 1 for the reminder time, reminds, waits for the deadline, auto-escalates to level 2, and finishes when resolved", async () => {
    const challengeId = "01JSTATEMACHINE0000000001";
    clockAt(RAISED_AT);
    const raised = await executeCommand(app, TENANT, raiseCommand(challengeId));
    const executionArn = `${stateMachineArn.replace(":stateMachine:", ":execution:")}:${executionName(TENANT, challengeId)}`;

    // The stream consumer starting the same challenge again does not fork it.
    await workflowStepOn(raised.events[0]);
    expect(harness.engine.listExecutions({ stateMachineArn }).map((e) => e.executionArn)).toEqual([
      executionArn,
    ]);

    // Waiting at level 1, timing out first at its reminder time (Wednesday 27 May 17:00 BST, one
    // working day before the deadline). Whole seconds, rounded up, plus the real time that passes
    // between the task working out its timeout and the engine starting the wait: on a loaded 2-core
    // machine that has reached a second, so allow SLACK_MS. The next instant the timer could wrongly
    // pick (the deadline) is a working day away, so this still pins the right one.
    const remindToken = await tokenFor(challengeId, "level_1");
    const pending = harness.engine.describeExecution(executionArn).pendingTask;
    expect(pending).toMatchObject({ stateName: "AwaitResponse", token: remindToken });
    const remindAt = Date.parse(pending?.deadline ?? "");
    expect(remindAt).toBeGreaterThanOrEqual(Date.parse(LEVEL_1_REMINDER));
    expect(remindAt).toBeLessThan(Date.parse(LEVEL_1_REMINDER) + SLACK_MS);

    // The reminder time passes: TimerThenAwait records the reminder and, in the same task, waits
    // again at level 1, now until its deadline (Thursday 28 May 17:00 BST).
    clockAt(new Date(Date.parse(LEVEL_1_REMINDER) + SLACK_MS));
    const level1Token = await tokenFor(challengeId, "level_1", remindToken);
    const waiting = harness.engine.describeExecution(executionArn).pendingTask;
    expect(waiting).toMatchObject({ stateName: "TimerThenAwait", token: level1Token });
    // That wait was timed in advance from the reminder time (the view's `then`), so it ends as late
    // as the reminder's wait did (here the clock moved SLACK_MS past it), plus the real time again.
    const timeoutAt = Date.parse(waiting?.deadline ?? "");
    expect(timeoutAt).toBeGreaterThanOrEqual(Date.parse(LEVEL_1_DEADLINE));
    expect(timeoutAt).toBeLessThan(Date.parse(LEVEL_1_DEADLINE) + 2 * SLACK_MS);
    const reminded = await challenges.get(TENANT, challengeId);
    expect(reminded?.state).toMatchObject({ version: 3, currentStage: { stageId: "level_1" } });
    expect(reminded?.state.currentStage?.remindedAt).toBeDefined();

    // Past the deadline: the engine times the task out, and TimerThenAwait2 escalates and waits at
    // level 2 in the same task, as the view foresaw (`then.then`).
    clockAt(new Date(Date.parse(LEVEL_1_DEADLINE) + SLACK_MS));
    const level2Token = await tokenFor(challengeId, "level_2");
    const stored = await challenges.get(TENANT, challengeId);
    expect(stored?.state).toMatchObject({
      status: "open",
      autoEscalations: 1,
      currentStage: { stageId: "level_2" },
    });
    // One reminder, then the escalation: the timer's events, in one run.
    const types = (await challenges.events(TENANT, challengeId)).map(({ event }) => [
      event.type,
      event.channel,
    ]);
    expect(types).toEqual([
      ["ChallengeRaised", "api"],
      ["StageOpened", "api"],
      ["ReminderSent", "timer"],
      ["Escalated", "timer"],
      ["StageOpened", "timer"],
    ]);

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
      "TimerThenAwait",
      "TimerThenAwait2",
      "RouteOutcome",
      "OpenStage",
      "RouteStage",
      "AwaitResponse",
      "RouteOutcome",
      "Finished",
    ]);
    expect(failures.calls).toEqual([]);
  }, 60_000);
  it("climbs the whole ladder on the timer alone in at most 6 state transitions a stage (14 in all: one a timer instant, one fresh read)", async () => {
    const challengeId = "01JSTATEMACHINE0000000006";
    clockAt(RAISED_AT);
    await executeCommand(app, TENANT, raiseCommand(challengeId));
    const executionArn = executionArnOf(challengeId);
    // Each wait in turn, once its task has stored the token: the clock moves just past its end.
    let previous: string | undefined;
    for (let wait = 0; wait < 20; wait++) {
      const next = await eventually(async () => {
        const description = harness.engine.describeExecution(executionArn);
        if (description.status !== "RUNNING") return description.status;
        const pending = description.pendingTask;
        const stored = await challenges.getTaskToken(TENANT, challengeId);
        const waiting = pending?.deadline !== undefined && pending.token !== previous;
        return waiting && stored?.token === pending.token ? pending : undefined;
      }, WAIT_MS);
      if (typeof next === "string") break;
      previous = next.token;
      clockAt(new Date(Date.parse(next.deadline ?? "") + 1000));
    }
    await succeeded(executionArn);
    expect((await challenges.get(TENANT, challengeId))?.state).toMatchObject({
      status: "ladder_exhausted",
      autoEscalations: 4,
    });
    const events = (await challenges.events(TENANT, challengeId)).map(({ event }) => event.type);
    expect(events.filter((type) => type === "ReminderSent")).toHaveLength(4);

    const counted = transitionsByStage(await history(harness.sfn, executionArn));
    expect([...counted.perStage.keys()]).toEqual(["level_1", "level_2", "level_3", "level_4"]);
    for (const [stageId, transitions] of counted.perStage)
      expect(transitions, stageId).toBeLessThanOrEqual(6);
    // One state a timer instant (each level's reminder and deadline), level 1's first RouteStage,
    // and StageTimedOut's fresh read at level 3's reminder (the fifth instant: the view foresees
    // four waits after its own). The run starts with OpenStage and ends with the finished wait,
    // RouteOutcome and Finished: 14 in all (35 before the chained waits, 17 with one wait foreseen).
    expect([...counted.perStage.values()]).toEqual([3, 2, 3, 2]);
    expect(counted).toMatchObject({ start: 1, finish: 3, total: 14 });
    expect(failures.calls).toEqual([]);
  }, 60_000);

  it("monitors an agreed plan with a wait that ends when an action falls due or a person acts, and finishes once closed", async () => {
    const challengeId = "01JSTATEMACHINE0000000002";
    clockAt(RAISED_AT);
    await executeCommand(app, TENANT, raiseCommand(challengeId));
    const executionArn = executionArnOf(challengeId);
    await tokenFor(challengeId, "level_1");

    const agreed = await executeCommand(app, TENANT, {
      type: "AgreeActionPlan",
      challengeId,
      actor: IRO,
      channel: "api",
      actions: [
        { action: "Hold a permanence meeting", byWhen: "2026-06-10", byWhom: "Team Manager" },
        { action: "Update the care plan", byWhen: "2026-06-20", byWhom: "Social Worker" },
      ],
    });
    const [first, second] = agreed.state.actionPlan?.actions.map((a) => a.id) ?? [];

    // Monitoring waits on a task token (stored as "monitoring") until the first action falls due:
    // the start of 11 June, London.
    const waiting = await tokenFor(challengeId, "monitoring");
    const pending = harness.engine.describeExecution(executionArn).pendingTask;
    expect(pending).toMatchObject({ stateName: "AwaitMonitoring", token: waiting });
    expect(Date.parse(pending?.deadline ?? "")).toBeGreaterThanOrEqual(Date.parse("2026-06-10T23:00:00Z"));
    expect(Date.parse(pending?.deadline ?? "")).toBeLessThan(Date.parse("2026-06-10T23:00:00Z") + SLACK_MS);

    // It falls due: CheckActions lists it and the wait resumes until the follow-up in 5 working days.
    clockAt(new Date(Date.parse("2026-06-10T23:00:00Z") + SLACK_MS));
    const afterCheck = await tokenFor(challengeId, "monitoring", waiting);
    const checked = (await history(harness.sfn, executionArn)).find(
      (event) => event.stateExitedEventDetails?.name === "CheckActions",
    );
    const output = JSON.parse(checked?.stateExitedEventDetails?.output ?? "{}") as {
      stage?: { current?: unknown };
    };
    expect(output.stage?.current).toEqual({
      status: "monitoring",
      nextActionDueAt: "2026-06-18T16:00:00.000Z",
      timeoutSeconds: expect.any(Number) as unknown,
      version: 4,
      dueActions: [{ actionId: first, byWhen: "2026-06-10" }],
    });
    // It recorded the first action as fallen due (the raiser's email follows from the event), once.
    const fellDue = (await challenges.events(TENANT, challengeId)).filter(
      ({ event }) => event.type === "ActionsFellDue",
    );
    expect(fellDue.map(({ event }) => event.data)).toEqual([{ actionIds: [first] }]);

    // The first action is done: the signal ends the wait at once (no clock move), OpenStage re-reads
    // and the workflow waits again, now for the second action's due time (the start of 21 June).
    await executeCommand(app, TENANT, {
      type: "CompleteAction",
      challengeId,
      actor: IRO,
      channel: "api",
      actionId: first ?? "",
    });
    const afterSignal = await tokenFor(challengeId, "monitoring", afterCheck);
    expect(
      Date.parse(harness.engine.describeExecution(executionArn).pendingTask?.deadline ?? ""),
    ).toBeLessThan(Date.parse("2026-06-20T23:00:00Z") + SLACK_MS);
    expect((await statesEntered(harness.sfn, executionArn)).slice(-4)).toEqual([
      "AwaitMonitoring",
      "OpenStage",
      "RouteStage",
      "AwaitMonitoring",
    ]);

    // The second is done too, and the challenge is closed: the workflow finishes at once.
    await executeCommand(app, TENANT, {
      type: "CompleteAction",
      challengeId,
      actor: IRO,
      channel: "api",
      actionId: second ?? "",
    });
    await tokenFor(challengeId, "monitoring", afterSignal);
    await executeCommand(app, TENANT, {
      type: "Close",
      challengeId,
      actor: IRO,
      channel: "api",
      summary: "Plan completed.",
    });
    await succeeded(executionArn);
    expect((await statesEntered(harness.sfn, executionArn)).slice(-4)).toEqual([
      "AwaitMonitoring",
      "OpenStage",
      "RouteStage",
      "Finished",
    ]);
    expect(runsOf(challengeId)).toEqual([executionName(TENANT, challengeId, 1)]);
    expect(failures.calls).toEqual([]);
  }, 60_000);

  it("a reopen during monitoring wakes the same execution, which waits at the reopened stage: no second run", async () => {
    const challengeId = "01JSTATEMACHINE0000000003";
    clockAt(RAISED_AT);
    await executeCommand(app, TENANT, raiseCommand(challengeId));
    const executionArn = executionArnOf(challengeId);
    await tokenFor(challengeId, "level_1");
    await executeCommand(app, TENANT, {
      type: "AgreeActionPlan",
      challengeId,
      actor: IRO,
      channel: "api",
      actions: [{ action: "Hold a permanence meeting", byWhen: "2026-06-10", byWhom: "Team Manager" }],
    });
    await tokenFor(challengeId, "monitoring");

    // Weeks before the action falls due, the IRO reopens: the monitoring wait ends now.
    clockAt("2026-05-22T09:00:00Z");
    const reopened = await executeCommand(app, TENANT, {
      type: "Reopen",
      challengeId,
      actor: IRO,
      channel: "api",
      reason: "The meeting was cancelled.",
    });
    expect(reopened.events[0]).toMatchObject({ type: "Reopened", data: { fromStatus: "monitoring" } });
    await tokenFor(challengeId, "level_1");
    expect(harness.engine.describeExecution(executionArn).pendingTask?.stateName).toBe("AwaitResponse");

    // The reactor sees the Reopened event too, and starts nothing: a reopen from monitoring is a signal.
    await workflowStepOn(reopened.events[0]);
    expect(runsOf(challengeId)).toEqual([executionName(TENANT, challengeId, 1)]);

    await executeCommand(app, TENANT, {
      type: "MarkResolved",
      challengeId,
      actor: IRO,
      channel: "api",
      summary: "Met.",
    });
    await succeeded(executionArn);
    expect(failures.calls).toEqual([]);
  }, 60_000);

  it("a resolved challenge reopened is timed by a second execution with its own name; the reactor's start does not fork it", async () => {
    const challengeId = "01JSTATEMACHINE0000000004";
    clockAt(RAISED_AT);
    await executeCommand(app, TENANT, raiseCommand(challengeId));
    const firstRun = executionArnOf(challengeId);
    const firstToken = await tokenFor(challengeId, "level_1");
    await executeCommand(app, TENANT, {
      type: "MarkResolved",
      challengeId,
      actor: IRO,
      channel: "api",
      summary: "Agreed.",
    });
    await succeeded(firstRun);

    clockAt("2026-05-25T09:00:00Z");
    const reopened = await executeCommand(app, TENANT, {
      type: "Reopen",
      challengeId,
      actor: IRO,
      channel: "api",
      reason: "The agreed meeting did not happen.",
    });
    const seq = reopened.events[0]?.seq ?? 0;
    expect(reopened.events[0]).toMatchObject({ type: "Reopened", data: { fromStatus: "resolved" } });
    const secondRun = executionArnOf(challengeId, seq);
    expect(secondRun).not.toBe(firstRun);
    await tokenFor(challengeId, "level_1", firstToken);
    expect(harness.engine.describeExecution(secondRun)).toMatchObject({
      status: "RUNNING",
      pendingTask: { stateName: "AwaitResponse" },
    });

    // The reactor starts the same run from the committed Reopened event: same name, no fork.
    await workflowStepOn(reopened.events[0]);
    expect(runsOf(challengeId)).toEqual(
      [executionName(TENANT, challengeId, 1), executionName(TENANT, challengeId, seq)].sort(),
    );

    await executeCommand(app, TENANT, {
      type: "MarkResolved",
      challengeId,
      actor: IRO,
      channel: "api",
      summary: "Met.",
    });
    await succeeded(secondRun);
    expect(failures.calls).toEqual([]);
  }, 60_000);

  it("a run whose resolution signal was lost ends itself at its next look once a later run has started", async () => {
    const challengeId = "01JSTATEMACHINE0000000005";
    clockAt(RAISED_AT);
    await executeCommand(app, TENANT, raiseCommand(challengeId));
    const firstRun = executionArnOf(challengeId);
    const firstToken = await tokenFor(challengeId, "level_1");

    // Resolved, but the signal is lost: the first run still waits for level 1's deadline (28 May).
    const lost: WorkflowSignal = { start: () => Promise.resolve(), notify: () => Promise.resolve() };
    await executeCommand({ ...app, workflow: lost }, TENANT, {
      type: "MarkResolved",
      challengeId,
      actor: IRO,
      channel: "api",
      summary: "Agreed.",
    });
    clockAt("2026-05-22T09:00:00Z");
    const reopened = await executeCommand(app, TENANT, {
      type: "Reopen",
      challengeId,
      actor: IRO,
      channel: "api",
      reason: "It drifted again.",
    });
    const secondRun = executionArnOf(challengeId, reopened.events[0]?.seq ?? 0);
    const secondToken = await tokenFor(challengeId, "level_1", firstToken);

    // The first run's wait ends: its timer finds nothing to do, TimerThenAwait sees a later run has
    // taken over and stores no token, and OpenStage ends the run.
    clockAt(new Date(Date.parse(LEVEL_1_DEADLINE) + SLACK_MS));
    await succeeded(firstRun);
    expect((await statesEntered(harness.sfn, firstRun)).slice(-6)).toEqual([
      "AwaitResponse",
      "TimerThenAwait",
      "RouteOutcome",
      "OpenStage",
      "RouteStage",
      "Finished",
    ]);
    // The second run times the reopened stage, untouched: its token is still the stored one.
    expect(harness.engine.describeExecution(secondRun)).toMatchObject({
      status: "RUNNING",
      pendingTask: { stateName: "AwaitResponse", token: secondToken },
    });
    expect((await challenges.get(TENANT, challengeId))?.state).toMatchObject({
      status: "open",
      autoEscalations: 0,
      currentStage: { stageId: "level_1", via: "reopened" },
    });

    await executeCommand(app, TENANT, {
      type: "Withdraw",
      challengeId,
      actor: IRO,
      channel: "api",
      reason: "Done.",
    });
    await succeeded(secondRun);
    expect(failures.calls).toEqual([]);
  }, 60_000);
});
