import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { executeCommand } from "../../../functions/app/execute-command.js";
import {
  MONITORING_WAIT,
  type OpenStageView,
  type WorkflowTaskDependencies,
  awaitResponse,
  checkActions,
  executionName,
  openStage,
  stageTimedOut,
} from "../../../functions/workflow/tasks.js";
import { now, setOffset } from "../../../functions/shared/clock.js";
import { DynamoChallengeStore } from "../../../functions/store/dynamo-challenge-store.js";
import { TenantStore } from "../../../functions/store/tenant-store.js";
import { presetProtocol } from "../../../functions/workflow/dependencies.js";
import { createTestTable, localDocumentClient } from "../../support/dynamodb-local.js";
import {
  FakeCompletion,
  IRO,
  LEVEL_1_DEADLINE,
  LEVEL_1_REMINDER,
  LEVEL_2_DEADLINE,
  LEVEL_2_REMINDER,
  RAISED_AT,
  TENANT,
  noWorkflow,
  raiseCommand,
  settings,
  staff,
} from "../../unit/workflow/fakes.js";

/**
 * The workflow tasks against DynamoDB Local, on the service clock (functions/shared/clock.ts), with
 * the Nottingham preset: raise on Wednesday 20 May 2026, the week before the Spring bank holiday.
 */

let client: DynamoDBDocumentClient;
let drop: () => Promise<void>;
let challenges: DynamoChallengeStore;
let deps: WorkflowTaskDependencies;
const completion = new FakeCompletion();

/** Puts the service clock at `iso` (an offset from real time, as the local runtime does). */
function clockAt(iso: string | Date): void {
  setOffset(new Date(iso).getTime() - Date.now());
}

beforeAll(async () => {
  client = localDocumentClient();
  let tableName: string;
  ({ tableName, drop } = await createTestTable(client));
  challenges = new DynamoChallengeStore(client, tableName);
  const tenants = new TenantStore(client, tableName, now);
  await tenants.putConfig(TENANT, { ...settings, reminders: {} });
  for (const member of staff) await tenants.upsertStaff(TENANT, member);
  deps = { challenges, tenants, protocols: presetProtocol, clock: now };
});

afterEach(() => {
  setOffset(0);
});

afterAll(async () => {
  setOffset(0);
  await drop();
  client.destroy();
});

async function openView(ref: { tenantId: string; challengeId: string }): Promise<OpenStageView> {
  const view = await openStage(deps, ref);
  if (view.status !== "open") throw new Error(`expected an open stage, got ${view.status}`);
  return view;
}

describe("a holding reply, end to end on the stored challenge (issue 9)", () => {
  it("respond → the deadline still runs → the IRO is asked and sees it in their tray → nobody decides → it escalates by itself", async () => {
    // 004: "If the matter is not resolved within the 5 working days, then the IRO/CPC should state
    // why on the Practice Resolution Protocol document and then automatically send to the next level".
    const ref = { tenantId: TENANT, challengeId: "01JINTEGRATION0000000HOLD1" };
    clockAt(RAISED_AT);
    await executeCommand({ ...deps, workflow: noWorkflow }, TENANT, raiseCommand(ref.challengeId));
    clockAt("2026-05-26T09:00:00Z");
    await executeCommand({ ...deps, workflow: noWorkflow }, TENANT, {
      type: "Respond",
      challengeId: ref.challengeId,
      actor: { id: "tm-1", role: "manager" },
      channel: "api",
      response: "Holding reply: we will look at it after the review.",
    });
    // The response does not end the wait: the loop waits for the deadline, where the IRO is asked.
    const atDeadline = await openView(ref);
    expect(atDeadline).toMatchObject({ waitUntil: LEVEL_1_DEADLINE, onTimeout: "ask_raiser" });

    clockAt(new Date(Date.parse(LEVEL_1_DEADLINE) + 1_000));
    expect(await stageTimedOut(deps, { ...ref, stage: atDeadline })).toMatchObject({
      result: "raiser_alerted",
    });
    const tray = await challenges.byRecipient(TENANT, IRO.id);
    expect(tray.items.map((s) => s.challengeId)).toContain(ref.challengeId);
    expect((await challenges.byRecipient(TENANT, "tm-1")).items.map((s) => s.challengeId)).not.toContain(
      ref.challengeId,
    );

    // The loop wakes at the end of the IRO's working day to decide: Friday 29 May, 17:00 BST.
    const decision = await openView(ref);
    expect(decision).toMatchObject({ waitUntil: "2026-05-29T16:00:00.000Z", onTimeout: "escalate" });
    clockAt("2026-05-29T16:00:01Z");
    expect(await stageTimedOut(deps, { ...ref, stage: decision })).toMatchObject({
      result: "escalated",
      toStageId: "level_2",
    });
    const events = (await challenges.events(TENANT, ref.challengeId)).map((e) => e.event);
    expect(events.map((e) => e.type)).toEqual([
      "ChallengeRaised",
      "StageOpened",
      "ResponseRecorded",
      "RaiserAlerted",
      "Escalated",
      "StageOpened",
    ]);
    expect(events[4]).toMatchObject({ data: { kind: "no_response", timedOut: "raiser_did_not_decide" } });
    expect(await openView(ref)).toMatchObject({ stageId: "level_2" });
  });
});

describe("a stage's deadline, end to end on the stored challenge", () => {
  it("raise → OpenStage's reminder time → the reminder, once → the deadline → no escalation before it → auto-escalation after it → the next stage", async () => {
    const ref = { tenantId: TENANT, challengeId: "01JINTEGRATION00000000001" };
    clockAt(RAISED_AT);
    await executeCommand({ ...deps, workflow: noWorkflow }, TENANT, raiseCommand(ref.challengeId));

    // OpenStage: the reminder first, Wednesday 27 May 17:00 BST (one working day before the
    // deadline, Thursday 28 May 17:00; Monday 25 May is a bank holiday), 7 days 7 hours away.
    const before = now().getTime();
    const reminderWait = await openView(ref);
    const after = now().getTime();
    expect(reminderWait).toMatchObject({
      stageId: "level_1",
      deadline: LEVEL_1_DEADLINE,
      waitUntil: LEVEL_1_REMINDER,
      onTimeout: "remind",
      version: 2,
    });
    expect(reminderWait.timeoutSeconds).toBeGreaterThanOrEqual(
      Math.ceil((Date.parse(LEVEL_1_REMINDER) - after) / 1000),
    );
    expect(reminderWait.timeoutSeconds).toBeLessThanOrEqual(
      Math.ceil((Date.parse(LEVEL_1_REMINDER) - before) / 1000),
    );
    expect(reminderWait.timeoutSeconds).toBeGreaterThan(7 * 86_400 + 7 * 3_600 - 60);

    // AwaitResponse stores the token in the table.
    await expect(
      awaitResponse({ ...deps, completion }, { ...ref, taskToken: "token-level-1", stage: reminderWait }),
    ).resolves.toEqual({
      waiting: true,
      stageId: "level_1",
    });
    expect(await challenges.getTaskToken(TENANT, ref.challengeId)).toEqual({
      stageId: "level_1",
      token: "token-level-1",
    });

    // The reminder time: the timer records the reminder, once (a retried task writes nothing).
    clockAt(new Date(Date.parse(LEVEL_1_REMINDER) + 1_000));
    expect(await stageTimedOut(deps, { ...ref, stage: reminderWait })).toEqual({
      result: "reminded",
      stageId: "level_1",
      version: 3,
    });
    expect(await stageTimedOut(deps, { ...ref, stage: reminderWait })).toEqual({
      result: "nothing_to_do",
      code: "DEADLINE_NOT_PASSED",
    });
    const stored = await challenges.get(TENANT, ref.challengeId);
    // The service clock runs on from where it was put: the reminder is recorded a moment after it.
    const remindedAt = Date.parse(stored?.state.currentStage?.remindedAt ?? "");
    expect(remindedAt).toBeGreaterThanOrEqual(Date.parse(LEVEL_1_REMINDER) + 1_000);
    expect(remindedAt).toBeLessThan(Date.parse(LEVEL_1_REMINDER) + 60_000);
    expect((await challenges.events(TENANT, ref.challengeId)).at(-1)?.event).toMatchObject({
      type: "ReminderSent",
      seq: 3,
      actor: { id: "workflow-timer", role: "system" },
      channel: "timer",
      data: { stageId: "level_1", deadline: LEVEL_1_DEADLINE },
    });

    // Then OpenStage waits for the deadline.
    const level1 = await openView(ref);
    expect(level1).toMatchObject({
      stageId: "level_1",
      waitUntil: LEVEL_1_DEADLINE,
      onTimeout: "escalate",
      version: 3,
    });
    expect(level1.timeoutSeconds).toBeLessThanOrEqual(86_400 - 1);
    expect(level1.timeoutSeconds).toBeGreaterThan(86_400 - 60);

    // A timer that fires early (one minute before the deadline) does nothing.
    clockAt(new Date(Date.parse(LEVEL_1_DEADLINE) - 60_000));
    expect(await stageTimedOut(deps, { ...ref, stage: level1 })).toEqual({
      result: "nothing_to_do",
      code: "DEADLINE_NOT_PASSED",
    });
    expect((await challenges.get(TENANT, ref.challengeId))?.state.version).toBe(3);

    // Past the deadline: the timer escalates to level 2 (the Service Manager).
    clockAt(new Date(Date.parse(LEVEL_1_DEADLINE) + 1_000));
    expect(await stageTimedOut(deps, { ...ref, stage: level1 })).toEqual({
      result: "escalated",
      toStageId: "level_2",
      version: 5,
    });
    const events = (await challenges.events(TENANT, ref.challengeId)).map((e) => e.event);
    expect(events.map((e) => e.type)).toEqual([
      "ChallengeRaised",
      "StageOpened",
      "ReminderSent",
      "Escalated",
      "StageOpened",
    ]);
    expect(events[3]).toMatchObject({
      actor: { id: "workflow-timer", role: "system" },
      channel: "timer",
      data: { kind: "no_response" },
    });
    expect(events[4]).toMatchObject({
      data: { stageId: "level_2", via: "auto_escalated", assignee: { personId: "sm-1" } },
    });

    // OpenStage now returns level 2, its own deadline and its own reminder (none sent there yet).
    const level2 = await openView(ref);
    expect(level2).toMatchObject({
      stageId: "level_2",
      deadline: LEVEL_2_DEADLINE,
      waitUntil: LEVEL_2_REMINDER,
      onTimeout: "remind",
      version: 5,
    });
    expect(level2.timeoutSeconds).toBeGreaterThan(5 * 86_400);

    // The late timer of level 1 does nothing; AwaitResponse with the stale level 1 view completes at once.
    expect(await stageTimedOut(deps, { ...ref, stage: level1 })).toEqual({
      result: "nothing_to_do",
      code: "WRONG_STATUS",
    });
    await expect(
      awaitResponse({ ...deps, completion }, { ...ref, taskToken: "stale", stage: level1 }),
    ).resolves.toMatchObject({
      waiting: false,
      outcome: { action: "stage_changed", stageId: "level_2", version: 5 },
    });
    expect(completion.sent.at(-1)?.taskToken).toBe("stale");
  });

  it("keeps the task token out of the snapshot", async () => {
    const ref = { tenantId: TENANT, challengeId: "01JINTEGRATION00000000002" };
    clockAt(RAISED_AT);
    await executeCommand({ ...deps, workflow: noWorkflow }, TENANT, raiseCommand(ref.challengeId));
    const stage = await openView(ref);
    await awaitResponse({ ...deps, completion }, { ...ref, taskToken: "secret-token", stage });
    await awaitResponse({ ...deps, completion }, { ...ref, taskToken: "newer-token", stage });
    expect(await challenges.getTaskToken(TENANT, ref.challengeId)).toEqual({
      stageId: "level_1",
      token: "newer-token",
    });
    const snapshot = await challenges.get(TENANT, ref.challengeId);
    expect(JSON.stringify(snapshot)).not.toContain("token");
    expect(await challenges.getTaskToken(TENANT, "01JNOSUCHCHALLENGE0000000")).toBeUndefined();
  });

  it("stores the monitoring wait's token, and tells a superseded run from the current one by the stored events", async () => {
    const ref = { tenantId: TENANT, challengeId: "01JINTEGRATION00000000003" };
    const app = { ...deps, workflow: noWorkflow };
    clockAt(RAISED_AT);
    await executeCommand(app, TENANT, raiseCommand(ref.challengeId));
    await executeCommand(app, TENANT, {
      type: "AgreeActionPlan",
      challengeId: ref.challengeId,
      actor: IRO,
      channel: "api",
      actions: [{ action: "Hold a permanence meeting", byWhen: "2026-06-10", byWhom: "Team Manager" }],
    });
    const monitoring = await openStage(deps, ref);
    expect(monitoring).toMatchObject({ status: "monitoring", nextActionDueAt: "2026-06-10T23:00:00.000Z" });
    await expect(
      awaitResponse(
        { ...deps, completion },
        {
          ...ref,
          taskToken: "token-monitoring",
          stage: { stageId: MONITORING_WAIT, version: monitoring.version },
        },
      ),
    ).resolves.toEqual({ waiting: true, stageId: "monitoring" });
    expect(await challenges.getTaskToken(TENANT, ref.challengeId)).toEqual({
      stageId: "monitoring",
      token: "token-monitoring",
    });

    // Resolved, then reopened: the Reopened event is stored with where it came from.
    await executeCommand(app, TENANT, {
      type: "MarkResolved",
      challengeId: ref.challengeId,
      actor: IRO,
      channel: "api",
      summary: "Done.",
    });
    await executeCommand(app, TENANT, {
      type: "Reopen",
      challengeId: ref.challengeId,
      actor: IRO,
      channel: "api",
      reason: "It drifted again.",
    });
    const reopened = (await challenges.events(TENANT, ref.challengeId)).find(
      (e) => e.event.type === "Reopened",
    );
    expect(reopened?.event).toMatchObject({ seq: 5, data: { fromStatus: "resolved" } });

    const firstRun = { ...ref, executionName: executionName(TENANT, ref.challengeId, 1) };
    const secondRun = { ...ref, executionName: executionName(TENANT, ref.challengeId, 5) };
    expect(await openStage(deps, firstRun)).toEqual({
      status: "finished",
      outcome: "superseded",
      version: 6,
    });
    expect(await openStage(deps, secondRun)).toMatchObject({
      status: "open",
      stageId: "level_1",
      version: 6,
    });
  });

  it("records the actions that fell due once, in the table, and the snapshot still reads back", async () => {
    const ref = { tenantId: TENANT, challengeId: "01JINTEGRATION00000000004" };
    const app = { ...deps, workflow: noWorkflow };
    clockAt(RAISED_AT);
    await executeCommand(app, TENANT, raiseCommand(ref.challengeId));
    const agreed = await executeCommand(app, TENANT, {
      type: "AgreeActionPlan",
      challengeId: ref.challengeId,
      actor: IRO,
      channel: "api",
      actions: [
        { action: "Hold a permanence meeting", byWhen: "2026-06-10", byWhom: "Team Manager" },
        { action: "Update the care plan", byWhen: "2026-06-20", byWhom: "Social Worker" },
      ],
    });
    const [first, second] = agreed.state.actionPlan?.actions.map((a) => a.id) ?? [];

    // The first falls due at the start of 11 June (London); CheckActions runs a second later.
    clockAt("2026-06-10T23:00:01Z");
    const checked = await checkActions(deps, { ...ref, dueAt: "2026-06-10T23:00:00.000Z" });
    expect(checked).toMatchObject({ status: "monitoring", version: 4, dueActions: [{ actionId: first }] });
    // Re-run (a retried task, or the follow-up): nothing more is written.
    await checkActions(deps, { ...ref, dueAt: "2026-06-10T23:00:00.000Z" });
    const events = (await challenges.events(TENANT, ref.challengeId)).map((e) => e.event);
    expect(events.map((e) => e.type)).toEqual([
      "ChallengeRaised",
      "StageOpened",
      "ActionPlanAgreed",
      "ActionsFellDue",
    ]);
    expect(events[3]).toMatchObject({ channel: "timer", data: { actionIds: [first] } });
    const stored = await challenges.get(TENANT, ref.challengeId);
    const [one, two] = stored?.state.actionPlan?.actions ?? [];
    expect(one).toMatchObject({ id: first, status: "open", dueNotifiedAt: events[3]?.at });
    expect(two).toMatchObject({ id: second, status: "open" });
    expect(two?.dueNotifiedAt).toBeUndefined();
  });
});
