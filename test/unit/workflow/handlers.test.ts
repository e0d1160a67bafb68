import {
  ExecutionAlreadyExists,
  SFNClient,
  SendTaskSuccessCommand,
  StartExecutionCommand,
  TaskDoesNotExist,
} from "@aws-sdk/client-sfn";
import type { DynamoDBRecord, DynamoDBStreamEvent } from "aws-lambda";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { executeCommand } from "../../../functions/app/execute-command.js";
import { executionName } from "../../../functions/workflow/tasks.js";
import { resetConfigForTests } from "../../../functions/shared/config.js";
import { logger } from "../../../functions/shared/observability.js";
import { createHandler as awaitResponseHandler } from "../../../functions/workflow/await-response.js";
import { createHandler as checkActionsHandler } from "../../../functions/workflow/check-actions.js";
import { SfnTaskCompletion } from "../../../functions/workflow/dependencies.js";
import { createHandler as openStageHandler } from "../../../functions/workflow/open-stage.js";
import {
  createHandler as stageTimedOutHandler,
  waitableViewSchema,
} from "../../../functions/workflow/stage-timed-out.js";
import { FORESEEN_WAITS } from "../../../functions/workflow/tasks.js";
import { workflowStep } from "../../../functions/workflow/start-execution.js";
import { react, route } from "../../../functions/reactor/reactor.js";
import type { EventItem } from "../../../functions/store/event-item.js";
import { ENTITY } from "../../../functions/store/table.js";
import { type Fakes, TENANT, makeFakes, noWorkflow, raiseCommand } from "./fakes.js";

const ARN = "arn:aws:states:eu-west-2:123456789012:stateMachine:challenge";
const sfnMock = mockClient(SFNClient);

/** A stream record as Lambda delivers it (NEW_IMAGE), for an event item of the single table. */
function streamRecord(
  sequenceNumber: string,
  type: string,
  challengeId: string,
  entity = "event",
  event: { seq?: number; fromStatus?: string } = {},
) {
  return {
    eventID: `id-${sequenceNumber}`,
    eventName: "INSERT" as const,
    eventSource: "aws:dynamodb",
    awsRegion: "eu-west-2",
    dynamodb: {
      Keys: { pk: { S: `T#${TENANT}#C#${challengeId}` }, sk: { S: "E#0000000001" } },
      NewImage: {
        pk: { S: `T#${TENANT}#C#${challengeId}` },
        sk: { S: "E#0000000001" },
        entity: { S: entity },
        type: { S: type },
        tenantId: { S: TENANT },
        challengeId: { S: challengeId },
        event: {
          M: {
            type: { S: type },
            ...(event.seq === undefined ? {} : { seq: { N: String(event.seq) } }),
            ...(event.fromStatus === undefined
              ? {}
              : { data: { M: { fromStatus: { S: event.fromStatus }, reason: { S: "Drifting." } } } }),
          },
        },
      },
      SequenceNumber: sequenceNumber,
      SizeBytes: 100,
      StreamViewType: "NEW_IMAGE" as const,
    },
  };
}

/**
 * The fields of an event item the workflow step reads, from these records' partial images (the
 * reactor decodes whole items with the store's schema: test/unit/reactor/reactor.test.ts).
 */
function partialItem(record: DynamoDBRecord): EventItem {
  const image = record.dynamodb?.NewImage ?? {};
  const event = image.event?.M ?? {};
  const seq = event.seq?.N;
  const fromStatus = event.data?.M?.fromStatus?.S;
  // Partial on purpose: only what the step reads, as the records above carry it.
  return {
    entity: image.entity?.S,
    type: image.type?.S,
    tenantId: image.tenantId?.S,
    challengeId: image.challengeId?.S,
    event: {
      type: image.type?.S,
      ...(seq === undefined ? {} : { seq: Number(seq) }),
      ...(fromStatus === undefined ? {} : { data: { fromStatus } }),
    },
  } as unknown as EventItem;
}

/** The event reactor over the workflow step alone. */
async function startExecution(event: DynamoDBStreamEvent) {
  const ignore = (): void => undefined;
  const { batchItemFailures } = await react([route(ENTITY.event, partialItem, [workflowStep])], event, {
    stepFailed: ignore,
    recordFailed: ignore,
  });
  return { batchItemFailures };
}

beforeAll(() => {
  logger.setLogLevel("SILENT");
  process.env.TABLE_NAME = "challenges";
  process.env.STATE_MACHINE_ARN = ARN;
  resetConfigForTests();
});

afterAll(() => {
  delete process.env.TABLE_NAME;
  delete process.env.STATE_MACHINE_ARN;
  resetConfigForTests();
  sfnMock.restore();
});

beforeEach(() => {
  sfnMock.reset();
});

describe("start-execution (the event reactor's workflow step)", () => {
  it("starts one execution per raised challenge, named from tenant and challenge, with { tenantId, challengeId }", async () => {
    sfnMock.on(StartExecutionCommand).resolves({ executionArn: "arn:execution", startDate: new Date() });
    const event: DynamoDBStreamEvent = {
      Records: [
        streamRecord("1", "ChallengeRaised", "c1"),
        streamRecord("2", "StageOpened", "c1"),
        streamRecord("3", "ChallengeRaised", "c2", "challenge"),
      ],
    };
    expect(await startExecution(event)).toEqual({ batchItemFailures: [] });
    const calls = sfnMock.commandCalls(StartExecutionCommand);
    expect(calls.map((c) => c.args[0].input)).toEqual([
      {
        stateMachineArn: ARN,
        name: executionName(TENANT, "c1"),
        input: JSON.stringify({ tenantId: TENANT, challengeId: "c1" }),
      },
    ]);
  });

  it("starts a second run, named from the Reopened event's seq, only when a resolved challenge was reopened", async () => {
    sfnMock.on(StartExecutionCommand).resolves({ executionArn: "arn:execution", startDate: new Date() });
    const result = await startExecution({
      Records: [
        streamRecord("1", "Reopened", "c1", "event", { seq: 7, fromStatus: "resolved" }),
        streamRecord("2", "Reopened", "c2", "event", { seq: 9, fromStatus: "monitoring" }),
        streamRecord("3", "Reopened", "c3", "event", { seq: 4 }),
      ],
    });
    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: "3" }] });
    const calls = sfnMock.commandCalls(StartExecutionCommand).map((c) => c.args[0].input);
    expect(calls).toEqual([
      {
        stateMachineArn: ARN,
        name: executionName(TENANT, "c1", 7),
        input: JSON.stringify({ tenantId: TENANT, challengeId: "c1" }),
      },
    ]);
    expect(calls[0]?.name).not.toBe(executionName(TENANT, "c1", 1));
  });

  it("treats ExecutionAlreadyExists as success (a redelivered record cannot fork a challenge)", async () => {
    sfnMock
      .on(StartExecutionCommand)
      .rejects(new ExecutionAlreadyExists({ message: "Execution Already Exists", $metadata: {} }));
    const result = await startExecution({
      Records: [streamRecord("1", "ChallengeRaised", "c1"), streamRecord("2", "ChallengeRaised", "c1")],
    });
    expect(result).toEqual({ batchItemFailures: [] });
    expect(sfnMock.commandCalls(StartExecutionCommand)).toHaveLength(2);
  });

  it("reports a throttled start in batchItemFailures and still processes the rest of the batch", async () => {
    sfnMock.on(StartExecutionCommand).resolves({ executionArn: "arn:execution", startDate: new Date() });
    sfnMock
      .on(StartExecutionCommand, { name: executionName(TENANT, "c2") })
      .rejects(Object.assign(new Error("Rate exceeded"), { name: "ThrottlingException" }));
    const result = await startExecution({
      Records: [
        streamRecord("1", "ChallengeRaised", "c1"),
        streamRecord("2", "ChallengeRaised", "c2"),
        streamRecord("3", "ChallengeRaised", "c3"),
      ],
    });
    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: "2" }] });
    const started = sfnMock.commandCalls(StartExecutionCommand).map((c) => c.args[0].input.name);
    expect(started).toEqual([
      executionName(TENANT, "c1"),
      executionName(TENANT, "c2"),
      executionName(TENANT, "c3"),
    ]);
  });
});

describe("the task handlers", () => {
  let fakes: Fakes;
  const ID = "01JWORKFLOW000000000000009";

  beforeEach(async () => {
    fakes = makeFakes();
    await executeCommand({ ...fakes.deps, workflow: noWorkflow }, TENANT, raiseCommand(ID));
  });

  it("open-stage parses its input and returns the view", async () => {
    const handler = openStageHandler(() => fakes.deps);
    await expect(handler({ tenantId: TENANT, challengeId: ID })).resolves.toMatchObject({
      status: "open",
      stageId: "level_1",
    });
    await expect(handler({ challengeId: ID })).rejects.toThrow(/tenantId/);
  });

  it("await-response completes a stale wait through SendTaskSuccess, and a token already gone is fine", async () => {
    const completion = new SfnTaskCompletion(new SFNClient({ region: "eu-west-2" }));
    const handler = awaitResponseHandler(() => ({ ...fakes.deps, completion }));
    const stale = { status: "open", stageId: "level_1", version: 1 };
    sfnMock.on(SendTaskSuccessCommand).resolves({});
    await expect(
      handler({ taskToken: "tok", tenantId: TENANT, challengeId: ID, stage: stale }),
    ).resolves.toMatchObject({
      waiting: false,
      completion: "sent",
    });
    expect(sfnMock.commandCalls(SendTaskSuccessCommand)[0]?.args[0].input).toEqual({
      taskToken: "tok",
      output: JSON.stringify({ action: "stage_changed", status: "open", stageId: "level_1", version: 2 }),
    });
    sfnMock.on(SendTaskSuccessCommand).rejects(new TaskDoesNotExist({ message: "gone", $metadata: {} }));
    await expect(
      handler({ taskToken: "tok", tenantId: TENANT, challengeId: ID, stage: stale }),
    ).resolves.toMatchObject({
      completion: "gone",
    });
    sfnMock
      .on(SendTaskSuccessCommand)
      .rejects(Object.assign(new Error("Rate exceeded"), { name: "ThrottlingException" }));
    await expect(
      handler({ taskToken: "tok", tenantId: TENANT, challengeId: ID, stage: stale }),
    ).rejects.toThrow("Rate exceeded");
  });

  it("await-response waits without calling Step Functions when the stage is current", async () => {
    const completion = new SfnTaskCompletion(new SFNClient({ region: "eu-west-2" }));
    const handler = awaitResponseHandler(() => ({ ...fakes.deps, completion }));
    const stage = await openStageHandler(() => fakes.deps)({ tenantId: TENANT, challengeId: ID });
    await expect(handler({ taskToken: "tok", tenantId: TENANT, challengeId: ID, stage })).resolves.toEqual({
      waiting: true,
      stageId: "level_1",
    });
    expect(sfnMock.commandCalls(SendTaskSuccessCommand)).toHaveLength(0);
    await expect(handler({ taskToken: "", tenantId: TENANT, challengeId: ID, stage })).rejects.toThrow();
  });

  it("await-response waits on a monitored plan under the monitoring wait", async () => {
    const completion = new SfnTaskCompletion(new SFNClient({ region: "eu-west-2" }));
    const handler = awaitResponseHandler(() => ({ ...fakes.deps, completion }));
    await executeCommand({ ...fakes.deps, workflow: noWorkflow }, TENANT, {
      type: "AgreeActionPlan",
      challengeId: ID,
      actor: { id: "iro-1", role: "IRO" },
      channel: "api",
      actions: [{ action: "Hold the meeting", byWhen: "2026-06-10", byWhom: "Team Manager" }],
    });
    const view = await openStageHandler(() => fakes.deps)({ tenantId: TENANT, challengeId: ID });
    expect(view).toMatchObject({ status: "monitoring", timeoutSeconds: expect.any(Number) as unknown });
    await expect(
      handler({ taskToken: "tok", tenantId: TENANT, challengeId: ID, stage: view }),
    ).resolves.toEqual({
      waiting: true,
      stageId: "monitoring",
    });
    expect(await fakes.challenges.getTaskToken(TENANT, ID)).toEqual({ stageId: "monitoring", token: "tok" });
    // Neither a stage nor a monitoring view: refused.
    await expect(
      handler({ taskToken: "tok", tenantId: TENANT, challengeId: ID, stage: { status: "open" } }),
    ).rejects.toThrow();
  });

  it("stage-timed-out returns only views every chained wait can time: FORESEEN_WAITS deep", () => {
    type Chain = { timeoutSeconds: number; then?: Chain };
    const chain = (depth: number): Chain =>
      depth === 0 ? { timeoutSeconds: 60 } : { timeoutSeconds: 60, then: chain(depth - 1) };
    expect(waitableViewSchema.safeParse({ status: "finished", ...chain(FORESEEN_WAITS) }).success).toBe(true);
    // One wait short: TimerThenAwait<FORESEEN_WAITS>'s TimeoutSecondsPath would be an uncatchable runtime error.
    expect(waitableViewSchema.safeParse({ status: "finished", ...chain(FORESEEN_WAITS - 1) }).success).toBe(
      false,
    );
    expect(waitableViewSchema.safeParse({ status: "paused", ...chain(FORESEEN_WAITS) }).success).toBe(false);
  });

  it("stage-timed-out and check-actions parse their input and call through", async () => {
    const timedOut = stageTimedOutHandler(() => fakes.deps);
    await expect(
      timedOut({ tenantId: TENANT, challengeId: ID, stage: { status: "open", stageId: "level_1" } }),
    ).resolves.toMatchObject({
      // Nothing due yet; then the challenge read again, as OpenStage reads it, for AwaitResponse.
      timer: { result: "nothing_to_do", code: "DEADLINE_NOT_PASSED" },
      status: "open",
      stageId: "level_1",
      timeoutSeconds: expect.any(Number) as unknown,
      then: { stageId: "level_1", timeoutSeconds: 86_400 },
    });
    await expect(timedOut({ tenantId: TENANT, challengeId: ID, stage: { stageId: "" } })).rejects.toThrow(
      /stageId/,
    );
    // A finished view's settling wait timed out: no timer action, only the re-read.
    await expect(timedOut({ tenantId: TENANT, challengeId: ID, stage: {} })).resolves.toMatchObject({
      timer: { result: "nothing_to_do" },
      status: "open",
    });
    const check = checkActionsHandler(() => fakes.deps);
    await expect(
      check({ tenantId: TENANT, challengeId: ID, dueAt: "2026-06-01T00:00:00Z" }),
    ).resolves.toMatchObject({
      status: "open",
    });
    await expect(check({ tenantId: TENANT, challengeId: ID, dueAt: "not a time" })).rejects.toThrow();
  });
});
