import { SFNClient, SendTaskSuccessCommand, StartExecutionCommand, TaskTimedOut } from "@aws-sdk/client-sfn";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import {
  MAX_ATTEMPTS,
  TenantNotConfiguredError,
  executeCommand,
  firstActionDueAt,
  pinnedToStage,
  workflowOutcomeKind,
} from "../../../functions/app/execute-command.js";
import { SfnWorkflowSignal, executionName } from "../../../functions/workflow/sfn-signal.js";
import {
  type ChallengeEvent,
  type Command,
  commandSchema,
} from "../../../functions/domain/challenge/index.js";
import { ConcurrencyConflictError } from "../../../functions/store/ports.js";
import { TENANT, callers } from "../../support/api-events.js";
import { type Fakes, makeFakes, raiseBody } from "./fakes.js";

const ARN = "arn:aws:states:eu-west-2:123456789012:stateMachine:challenge";
const ID = "01JCHALLENGE0000000000000A";

function raiseCommand(): Command {
  return commandSchema("Raise").parse({
    ...raiseBody(),
    type: "Raise",
    challengeId: ID,
    actor: { id: callers.iro.sub, role: "IRO" },
    channel: "api",
  });
}

const respondCommand = (actorId = "tm-1"): Command => ({
  type: "Respond",
  challengeId: ID,
  actor: { id: actorId, role: "manager" },
  channel: "api",
  response: "We will hold a core group.",
});

let fakes: Fakes;
beforeEach(async () => {
  fakes = await makeFakes();
});

describe("executeCommand", () => {
  it("loads, decides, appends at the loaded version and starts the workflow for a raise", async () => {
    const result = await executeCommand(fakes.deps, TENANT, raiseCommand());
    expect(result.attempts).toBe(1);
    expect(result.events.map((e) => e.type)).toEqual(["ChallengeRaised", "StageOpened"]);
    expect(result.state).toMatchObject({ version: 2, status: "open", protocolId: "nottingham" });
    expect(fakes.challenges.snapshots.get(`${TENANT}|${ID}`)?.version).toBe(2);
    expect(fakes.workflow.started).toEqual([{ tenantId: TENANT, challengeId: ID }]);
    expect(fakes.workflow.notified).toEqual([]);
  });

  it("throws the domain's refusal and writes nothing", async () => {
    await executeCommand(fakes.deps, TENANT, raiseCommand());
    fakes.challenges.appendCalls = 0;
    await expect(executeCommand(fakes.deps, TENANT, respondCommand("tm-2"))).rejects.toMatchObject({
      name: "DomainError",
      code: "NOT_RECIPIENT",
    });
    expect(fakes.challenges.appendCalls).toBe(0);
  });

  it("refuses when the tenant has no configuration", async () => {
    fakes.tenants.configs.clear();
    await expect(executeCommand(fakes.deps, TENANT, raiseCommand())).rejects.toBeInstanceOf(
      TenantNotConfiguredError,
    );
  });

  it("re-decides on the fresh state after a conflict: a concurrent acknowledgement does not block a response", async () => {
    await executeCommand(fakes.deps, TENANT, raiseCommand());
    // Record the acknowledgement, then roll the store back: it is replayed "concurrently", just
    // before the response's first append, which therefore loses the race.
    const k = `${TENANT}|${ID}`;
    const before = { state: fakes.challenges.snapshots.get(k), log: fakes.challenges.log.get(k) };
    const ack: Command = {
      type: "Acknowledge",
      challengeId: ID,
      actor: { id: "tm-1", role: "manager" },
      channel: "email",
    };
    await executeCommand(fakes.deps, TENANT, ack);
    const after = { state: fakes.challenges.snapshots.get(k), log: fakes.challenges.log.get(k) };
    const { state: ackState, log: ackLog } = after;
    if (
      before.state === undefined ||
      before.log === undefined ||
      ackState === undefined ||
      ackLog === undefined
    ) {
      throw new Error("setup failed");
    }
    fakes.challenges.snapshots.set(k, before.state);
    fakes.challenges.log.set(k, before.log);
    fakes.challenges.beforeAppend = () => {
      fakes.challenges.beforeAppend = undefined;
      fakes.challenges.snapshots.set(k, ackState);
      fakes.challenges.log.set(k, ackLog);
    };
    const result = await executeCommand(fakes.deps, TENANT, respondCommand());
    expect(result.attempts).toBe(2);
    const types = (await fakes.challenges.events(TENANT, ID)).map((e) => e.event.type);
    expect(types).toEqual(["ChallengeRaised", "StageOpened", "StageAcknowledged", "ResponseRecorded"]);
    expect(result.state.version).toBe(4);
  });

  it(`gives up with ConcurrencyConflictError after ${MAX_ATTEMPTS} attempts`, async () => {
    await executeCommand(fakes.deps, TENANT, raiseCommand());
    for (let i = 0; i < MAX_ATTEMPTS; i++)
      fakes.challenges.appendFailures.push(new ConcurrencyConflictError(ID, 2));
    await expect(executeCommand(fakes.deps, TENANT, respondCommand())).rejects.toBeInstanceOf(
      ConcurrencyConflictError,
    );
    expect(fakes.observed.counts.filter((c) => c === "ConcurrencyRetry")).toHaveLength(MAX_ATTEMPTS - 1);
  });

  it("does not retry other store errors", async () => {
    await executeCommand(fakes.deps, TENANT, raiseCommand());
    fakes.challenges.appendCalls = 0;
    fakes.challenges.appendFailures.push(new Error("boom"));
    await expect(executeCommand(fakes.deps, TENANT, respondCommand())).rejects.toThrow("boom");
    expect(fakes.challenges.appendCalls).toBe(1);
  });

  it("keeps the change when the workflow cannot be signalled, and reports it", async () => {
    await executeCommand(fakes.deps, TENANT, raiseCommand());
    fakes.workflow.notifyError = new Error("throttled");
    const result = await executeCommand(fakes.deps, TENANT, respondCommand());
    expect(result.state.version).toBe(3);
    expect(fakes.challenges.snapshots.get(`${TENANT}|${ID}`)?.version).toBe(3);
    expect(fakes.observed.counts).toContain("WorkflowSignalFailed");
    expect(fakes.observed.error[0]).toMatch(/change is saved/);
  });

  it("keeps a raised challenge when the workflow cannot be started, and reports it", async () => {
    fakes.workflow.startError = new Error("StartExecution failed");
    const result = await executeCommand(fakes.deps, TENANT, raiseCommand());
    expect(result.state.status).toBe("open");
    expect(fakes.observed.counts).toContain("WorkflowStartFailed");
  });

  it("tells the workflow when an action plan's first action falls due", async () => {
    await executeCommand(fakes.deps, TENANT, raiseCommand());
    const plan: Command = {
      type: "AgreeActionPlan",
      challengeId: ID,
      actor: { id: "tm-1", role: "manager" },
      channel: "api",
      actions: [
        { action: "Visit", byWhen: "2026-06-10", byWhom: "Social worker" },
        { action: "Core group", byWhen: "2026-06-05", byWhom: "Social worker" },
      ],
    };
    await executeCommand(fakes.deps, TENANT, plan);
    expect(fakes.workflow.notified.at(-1)?.outcome).toMatchObject({
      action: "plan_agreed",
      status: "monitoring",
      // The day after 5 June, midnight in London (BST).
      nextActionDueAt: "2026-06-05T23:00:00.000Z",
    });
  });
});

describe("workflowOutcomeKind", () => {
  const ev = (type: ChallengeEvent["type"], data: Record<string, unknown> = {}) =>
    ({ type, data }) as unknown as ChallengeEvent; // only `type` and `data.kind` are read

  it("names what ended the wait, the last significant event winning", () => {
    expect(workflowOutcomeKind([ev("ResponseRecorded")])).toBe("responded");
    expect(workflowOutcomeKind([ev("Escalated", { kind: "requested" }), ev("StageOpened")])).toBe(
      "escalated",
    );
    expect(workflowOutcomeKind([ev("Escalated", { kind: "bypass" }), ev("StageOpened")])).toBe("bypassed");
    expect(workflowOutcomeKind([ev("ActionMissed"), ev("Reopened"), ev("StageOpened")])).toBe("reopened");
    expect(workflowOutcomeKind([ev("ActionCompleted"), ev("Resolved")])).toBe("resolved");
    expect(workflowOutcomeKind([ev("Withdrawn")])).toBe("withdrawn");
    expect(workflowOutcomeKind([ev("Closed")])).toBe("closed");
    // The wait was for the old deadline: a shortened window wakes it so it waits for the new one.
    expect(workflowOutcomeKind([ev("DeadlineShortened")])).toBe("deadline_shortened");
  });

  it("does not wake the workflow for what leaves the deadline running", () => {
    expect(workflowOutcomeKind([ev("StageAcknowledged")])).toBeUndefined();
    expect(workflowOutcomeKind([ev("MeetingRecorded")])).toBeUndefined();
    expect(workflowOutcomeKind([ev("ReferralRequested")])).toBeUndefined();
    expect(workflowOutcomeKind([ev("ReferralApproved")])).toBeUndefined();
    // The timer's own doing: the task that recorded it re-reads next.
    expect(workflowOutcomeKind([ev("RaiserAlerted")])).toBeUndefined();
    expect(workflowOutcomeKind([])).toBeUndefined();
  });

  it("firstActionDueAt is undefined without open actions", async () => {
    const { state } = await executeCommand(fakes.deps, TENANT, raiseCommand());
    expect(firstActionDueAt(state)).toBeUndefined();
  });
});

describe("SfnWorkflowSignal", () => {
  const sfnMock = mockClient(SFNClient);
  beforeEach(() => {
    sfnMock.reset();
  });
  const signal = (onSkipped?: (reason: string) => void) =>
    new SfnWorkflowSignal({
      sfn: new SFNClient({ region: "eu-west-2" }),
      stateMachineArn: ARN,
      tokens: fakes.challenges,
      ...(onSkipped === undefined ? {} : { onSkipped }),
    });
  const outcome = { action: "responded", status: "open", stageId: "level_1", version: 3 } as const;

  it("starts one execution named after the challenge, and a second start is harmless", async () => {
    sfnMock
      .on(StartExecutionCommand)
      .resolvesOnce({ executionArn: "arn" })
      .rejectsOnce(Object.assign(new Error("exists"), { name: "ExecutionAlreadyExists" }));
    await signal().start(TENANT, ID);
    await signal().start(TENANT, ID);
    const calls = sfnMock.commandCalls(StartExecutionCommand);
    expect(calls).toHaveLength(2);
    expect(calls[0]?.args[0].input).toEqual({
      stateMachineArn: ARN,
      name: executionName(TENANT, ID),
      input: JSON.stringify({ tenantId: TENANT, challengeId: ID }),
    });
    expect(calls[1]?.args[0].input.name).toBe(calls[0]?.args[0].input.name);
  });

  it("sends the outcome with the stored task token", async () => {
    await fakes.challenges.saveTaskToken(TENANT, ID, "level_1", "token-123");
    sfnMock.on(SendTaskSuccessCommand).resolves({});
    await signal().notify(TENANT, ID, outcome);
    expect(sfnMock.commandCalls(SendTaskSuccessCommand)[0]?.args[0].input).toEqual({
      taskToken: "token-123",
      output: JSON.stringify(outcome),
    });
  });

  it("does nothing when no workflow is waiting, or the workflow has moved on", async () => {
    const skipped: string[] = [];
    await signal((reason) => skipped.push(reason)).notify(TENANT, ID, outcome);
    expect(sfnMock.commandCalls(SendTaskSuccessCommand)).toHaveLength(0);
    await fakes.challenges.saveTaskToken(TENANT, ID, "level_1", "old-token");
    sfnMock.on(SendTaskSuccessCommand).rejects(new TaskTimedOut({ message: "timed out", $metadata: {} }));
    await signal((reason) => skipped.push(reason)).notify(TENANT, ID, outcome);
    expect(skipped).toEqual(["no workflow is waiting", "the workflow already moved on (TaskTimedOut)"]);
  });

  it("throws other SendTaskSuccess failures for the application service to log", async () => {
    await fakes.challenges.saveTaskToken(TENANT, ID, "level_1", "token");
    sfnMock
      .on(SendTaskSuccessCommand)
      .rejects(Object.assign(new Error("Rate exceeded"), { name: "ThrottlingException" }));
    await expect(signal().notify(TENANT, ID, outcome)).rejects.toThrow("Rate exceeded");
  });

  it("through the application service: SendTaskSuccess failing does not fail the command", async () => {
    sfnMock.on(StartExecutionCommand).resolves({});
    sfnMock
      .on(SendTaskSuccessCommand)
      .rejects(Object.assign(new Error("Rate exceeded"), { name: "ThrottlingException" }));
    const deps = { ...fakes.deps, workflow: signal() };
    await executeCommand(deps, TENANT, raiseCommand());
    await fakes.challenges.saveTaskToken(TENANT, ID, "level_1", "token");
    const result = await executeCommand(deps, TENANT, respondCommand());
    expect(result.events.map((e) => e.type)).toEqual(["ResponseRecorded"]);
    expect(sfnMock.commandCalls(SendTaskSuccessCommand)).toHaveLength(1);
    expect(fakes.observed.counts).toContain("WorkflowSignalFailed");
  });
});

describe("commands act once: what a command expects", () => {
  const escalateCommand = (expected?: Command["expected"]): Command => ({
    type: "Escalate",
    challengeId: ID,
    actor: { id: callers.iro.sub, role: "IRO" },
    channel: "api",
    reasons: "The response does not answer the worry.",
    ...(expected === undefined ? {} : { expected }),
  });

  /** Escalates "concurrently", just before the next append, which therefore loses the race. */
  async function escalateConcurrentlyBeforeNextAppend(): Promise<void> {
    const k = `${TENANT}|${ID}`;
    const before = { state: fakes.challenges.snapshots.get(k), log: fakes.challenges.log.get(k) };
    await executeCommand(fakes.deps, TENANT, escalateCommand({ stageId: "level_1" }));
    const after = { state: fakes.challenges.snapshots.get(k), log: fakes.challenges.log.get(k) };
    if (
      before.state === undefined ||
      before.log === undefined ||
      after.state === undefined ||
      after.log === undefined
    )
      throw new Error("setup failed");
    const [escalated, escalatedLog] = [after.state, after.log];
    fakes.challenges.snapshots.set(k, before.state);
    fakes.challenges.log.set(k, before.log);
    fakes.challenges.beforeAppend = () => {
      fakes.challenges.beforeAppend = undefined;
      fakes.challenges.snapshots.set(k, escalated);
      fakes.challenges.log.set(k, escalatedLog);
    };
  }

  it("an escalation that lost the race to another from the same stage is refused (STAGE_MOVED), not applied again", async () => {
    await executeCommand(fakes.deps, TENANT, raiseCommand());
    await escalateConcurrentlyBeforeNextAppend();
    await expect(
      executeCommand(fakes.deps, TENANT, escalateCommand({ stageId: "level_1" })),
    ).rejects.toMatchObject({ name: "DomainError", code: "STAGE_MOVED" });
    const types = (await fakes.challenges.events(TENANT, ID)).map((e) => e.event.type);
    expect(types.filter((t) => t === "Escalated")).toHaveLength(1);
  });

  it("a retry is pinned to the stage first decided against, even when the command named none", async () => {
    await executeCommand(fakes.deps, TENANT, raiseCommand());
    await escalateConcurrentlyBeforeNextAppend();
    const error: unknown = await executeCommand(fakes.deps, TENANT, escalateCommand()).catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ name: "DomainError", code: "STAGE_MOVED" });
    // It says where the challenge is now.
    expect((error as Error).message).toContain('"level_2"');
    const types = (await fakes.challenges.events(TENANT, ID)).map((e) => e.event.type);
    expect(types.filter((t) => t === "Escalated")).toHaveLength(1);
  });

  it("a version that no longer matches is VERSION_MISMATCH, naming the current version; a matching one acts", async () => {
    const raised = await executeCommand(fakes.deps, TENANT, raiseCommand());
    await executeCommand(fakes.deps, TENANT, respondCommand());
    fakes.challenges.appendCalls = 0;
    const error: unknown = await executeCommand(
      fakes.deps,
      TENANT,
      escalateCommand({ version: raised.state.version }),
    ).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: "DomainError", code: "VERSION_MISMATCH" });
    expect((error as Error).message).toContain(`now at version ${String(raised.state.version + 1)}`);
    expect(fakes.challenges.appendCalls).toBe(0);
    const ok = await executeCommand(
      fakes.deps,
      TENANT,
      escalateCommand({ version: raised.state.version + 1, stageId: "level_1" }),
    );
    expect(ok.state.currentStage?.stageId).toBe("level_2");
  });

  it("several responses to one open stage are allowed: naming the stage does not stop a second one", async () => {
    await executeCommand(fakes.deps, TENANT, raiseCommand());
    const withStage = { ...respondCommand(), expected: { stageId: "level_1" } } as Command;
    await executeCommand(fakes.deps, TENANT, withStage);
    const second = await executeCommand(fakes.deps, TENANT, withStage);
    expect(second.state.currentStage?.responses).toHaveLength(2);
  });
});

describe("pinnedToStage", () => {
  it("pins a person's command to the open stage, but leaves the timer's and an explicit stage alone", async () => {
    const raised = await executeCommand(fakes.deps, TENANT, raiseCommand());
    const open = raised.state.currentStage?.stageId;
    expect(pinnedToStage(respondCommand(), raised.state).expected).toEqual({ stageId: open });
    const timer: Command = {
      type: "AutoEscalate",
      challengeId: ID,
      actor: { id: "workflow-timer", role: "system" },
      channel: "timer",
      stageId: "level_1",
    };
    expect(pinnedToStage(timer, raised.state)).toBe(timer);
    const named = { ...respondCommand(), expected: { stageId: "level_9" } } as Command;
    expect(pinnedToStage(named, raised.state)).toBe(named);
  });
});
