import { beforeEach, describe, expect, it } from "vitest";
import {
  TenantNotConfiguredError,
  type WorkflowOutcome,
  type WorkflowSignal,
  executeCommand,
  firstActionDueAt,
  runStartSeqOf,
} from "../../../functions/app/execute-command.js";
import {
  ACTION_FOLLOW_UP_WORKING_DAYS,
  ChallengeNotFoundError,
  FIRST_RUN_SEQ,
  FORESEEN_WAITS,
  MONITORING_WAIT,
  type MonitoringView,
  type NextWait,
  type OpenStageView,
  type StageView,
  actionDueAt,
  awaitResponse,
  checkActions,
  executionName,
  openStage,
  runStartSeq,
  runStartedBy,
  stageTimedOut,
  startExecutions,
  waitKeyOf,
} from "../../../functions/workflow/tasks.js";
import { createEnglandCalendar } from "../../../functions/domain/calendar.js";
import { type ChallengeState, type Command, TIMER_ACTOR } from "../../../functions/domain/challenge/index.js";
import { presets } from "../../../functions/domain/presets/index.js";
import { type Protocol } from "../../../functions/domain/protocol.js";
import { parseProtocol } from "../../../functions/domain/protocol-schema.js";
import {
  type Fakes,
  IRO,
  InMemoryTenants,
  LEVEL_1_DEADLINE,
  LEVEL_1_REMINDER,
  LEVEL_2_DEADLINE,
  LEVEL_2_REMINDER,
  RAISED_AT,
  TENANT,
  foreseenTo,
  makeFakes,
  noWorkflow,
  raiseCommand,
  settings,
  staff,
} from "./fakes.js";

const ID = "01JWORKFLOW000000000000001";
const ref = { tenantId: TENANT, challengeId: ID };
const calendar = createEnglandCalendar();

let fakes: Fakes;

async function run(command: Command, f: Fakes = fakes) {
  return executeCommand({ ...f.deps, workflow: noWorkflow }, TENANT, command);
}

async function raise(f: Fakes = fakes) {
  await run(raiseCommand(ID), f);
}

function state(f: Fakes = fakes) {
  const snapshot = f.challenges.snapshots.get(`${TENANT}|${ID}`);
  if (snapshot === undefined) throw new Error("not raised");
  return snapshot;
}

async function openView(f: Fakes = fakes): Promise<OpenStageView> {
  const view = await openStage(f.deps, ref);
  if (view.status !== "open") throw new Error(`expected an open stage, got ${view.status}`);
  return view;
}

const respond = (actorId = "tm-1"): Command => ({
  type: "Respond",
  challengeId: ID,
  actor: { id: actorId, role: "manager" },
  channel: "api",
  response: "We will hold the meeting next week.",
});

const agreePlan = (byWhen: readonly string[]): Command => ({
  type: "AgreeActionPlan",
  challengeId: ID,
  actor: IRO,
  channel: "api",
  actions: byWhen.map((date, i) => ({ action: `Action ${i + 1}`, byWhen: date, byWhom: "Team Manager" })),
});

beforeEach(() => {
  fakes = makeFakes();
});

describe("executionName", () => {
  it("is deterministic, at most 80 characters of [A-Za-z0-9_-], and names tenant, challenge and run", () => {
    const name = executionName(TENANT, ID, 1);
    expect(executionName(TENANT, ID, 1)).toBe(name);
    expect(name).toMatch(/^[A-Za-z0-9_-]{1,80}$/);
    expect(name.startsWith(`${TENANT}-${ID}-1-`)).toBe(true);
    // The first run (ChallengeRaised, seq 1) is the default.
    expect(executionName(TENANT, ID)).toBe(name);
    expect(FIRST_RUN_SEQ).toBe(1);
  });

  it("keeps different challenges, tenants and runs apart, even when the readable parts collide", () => {
    const names = new Set([
      executionName(TENANT, ID, 1),
      executionName(TENANT, ID, 7),
      executionName(TENANT, ID, 9_999_999_999),
      executionName("other-tenant", ID, 1),
      executionName(TENANT, "01JWORKFLOW000000000000002", 1),
      executionName("a.b", "c", 1),
      executionName("a_b", "c", 1),
      executionName("t".repeat(64), "x".repeat(128), 9_999_999_999),
      executionName("t".repeat(64), `${"x".repeat(127)}y`, 9_999_999_999),
    ]);
    expect(names.size).toBe(9);
    for (const name of names) expect(name).toMatch(/^[A-Za-z0-9_-]{1,80}$/);
  });

  it("refuses empty ids and a start seq that is not an event's", () => {
    expect(() => executionName("", ID, 1)).toThrow();
    expect(() => executionName(TENANT, "", 1)).toThrow();
    for (const seq of [0, -1, 1.5, Number.NaN, 10_000_000_000]) {
      expect(() => executionName(TENANT, ID, seq), String(seq)).toThrow(/seq/);
    }
  });

  it("is read back by runStartSeq, which knows only the names it makes", () => {
    expect(runStartSeq(TENANT, ID, executionName(TENANT, ID, 1))).toBe(1);
    expect(runStartSeq(TENANT, ID, executionName(TENANT, ID, 42))).toBe(42);
    // Another challenge's name, a name by hand, a tampered seq.
    expect(runStartSeq(TENANT, ID, executionName(TENANT, "other", 42))).toBeUndefined();
    expect(runStartSeq(TENANT, ID, "c-1")).toBeUndefined();
    expect(runStartSeq(TENANT, ID, executionName(TENANT, ID, 42).replace("-42-", "-43-"))).toBeUndefined();
  });
});

describe("startExecutions", () => {
  const raisedRecord = (seq: string, challengeId: string) => ({
    itemIdentifier: seq,
    eventName: "INSERT",
    item: { entity: "event", type: "ChallengeRaised", tenantId: TENANT, challengeId, seq: 1 },
  });
  const reopenedRecord = (itemIdentifier: string, seq: number | undefined, fromStatus?: string) => ({
    itemIdentifier,
    eventName: "INSERT",
    item: {
      entity: "event",
      type: "Reopened",
      tenantId: TENANT,
      challengeId: "c1",
      ...(seq === undefined ? {} : { seq }),
      ...(fromStatus === undefined ? {} : { fromStatus }),
    },
  });

  it("says which run an event starts: ChallengeRaised the first, a Reopened after resolution its own", () => {
    expect(runStartedBy(raisedRecord("1", "c1"))).toBe(1);
    expect(runStartedBy(reopenedRecord("2", 7, "resolved"))).toBe(7);
    // A reopen from monitoring wakes the running execution instead (its task token).
    expect(runStartedBy(reopenedRecord("3", 7, "monitoring"))).toBe("none");
    expect(runStartedBy(reopenedRecord("4", 7))).toBe("malformed");
    expect(runStartedBy(reopenedRecord("5", undefined, "resolved"))).toBe("malformed");
    expect(runStartedBy(reopenedRecord("6", 1, "resolved"))).toBe("malformed");
    expect(
      runStartedBy({
        itemIdentifier: "7",
        eventName: "MODIFY",
        item: reopenedRecord("7", 7, "resolved").item,
      }),
    ).toBe("none");
  });

  it("starts a new run when a resolved challenge is reopened, and none when it is reopened from monitoring", async () => {
    const started: { challengeId: string; startSeq: number | undefined }[] = [];
    const starter = {
      start: (_tenantId: string, challengeId: string, startSeq?: number) => {
        started.push({ challengeId, startSeq });
        return Promise.resolve();
      },
    };
    const result = await startExecutions(
      [
        raisedRecord("1", "c1"),
        reopenedRecord("2", 9, "monitoring"),
        reopenedRecord("3", 12, "resolved"),
        reopenedRecord("4", undefined, "resolved"),
      ],
      starter,
      fakes.observer,
    );
    expect(started).toEqual([
      { challengeId: "c1", startSeq: 1 },
      { challengeId: "c1", startSeq: 12 },
    ]);
    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: "4" }], started: 2 });
  });

  it("starts one execution per ChallengeRaised insert, skips everything else, and reports failures by record", async () => {
    const started: string[] = [];
    const starter = {
      start: (_tenantId: string, challengeId: string) => {
        if (challengeId === "bad") return Promise.reject(new Error("throttled"));
        started.push(challengeId);
        return Promise.resolve();
      },
    };
    const result = await startExecutions(
      [
        raisedRecord("1", "c1"),
        {
          itemIdentifier: "2",
          eventName: "INSERT",
          item: { entity: "event", type: "StageOpened", tenantId: TENANT, challengeId: "c1" },
        },
        { itemIdentifier: "3", eventName: "INSERT", item: { entity: "challenge", type: "ChallengeRaised" } },
        {
          itemIdentifier: "4",
          eventName: "MODIFY",
          item: { entity: "event", type: "ChallengeRaised", tenantId: TENANT, challengeId: "c9" },
        },
        raisedRecord("5", "bad"),
        raisedRecord("6", "c2"),
        {
          itemIdentifier: "7",
          eventName: "INSERT",
          item: { entity: "event", type: "ChallengeRaised", tenantId: TENANT },
        },
      ],
      starter,
      fakes.observer,
    );
    expect(started).toEqual(["c1", "c2"]);
    expect(result).toEqual({
      batchItemFailures: [{ itemIdentifier: "5" }, { itemIdentifier: "7" }],
      started: 2,
    });
    expect(fakes.observer.counts).toEqual(["WorkflowStartFailed"]);
  });
});

/** The timer at the reminder time: the reminder is sent (the loop then waits for the deadline). */
async function sendReminder(at: string = LEVEL_1_REMINDER, f: Fakes = fakes) {
  const stage = await openView(f);
  f.clock.set(at);
  return stageTimedOut(f.deps, { ...ref, stage });
}

/** Nottingham without reminders, under another id. */
function withoutReminders(): Protocol {
  return parseProtocol({
    ...presets.nottingham,
    id: "nottingham-silent",
    reminderWorkingDaysBeforeDeadline: 0,
  });
}

describe("openStage", () => {
  it("returns the stage and its deadline after a bank holiday weekend, waiting first for the reminder time", async () => {
    await raise();
    const view = await openStage(fakes.deps, ref);
    expect(foreseenTo(view, 1)).toEqual({
      status: "open",
      stageId: "level_1",
      deadline: LEVEL_1_DEADLINE,
      timeoutSeconds: (Date.parse(LEVEL_1_REMINDER) - RAISED_AT.getTime()) / 1000,
      waitUntil: LEVEL_1_REMINDER,
      onTimeout: "remind",
      version: 2,
      // Once reminded (a dry run of SendReminder at the reminder time): the deadline, a day later.
      then: {
        status: "open",
        stageId: "level_1",
        deadline: LEVEL_1_DEADLINE,
        timeoutSeconds: 86_400,
        waitUntil: LEVEL_1_DEADLINE,
        onTimeout: "escalate",
        version: 3,
      },
    });
    // Wednesday 20 May 10:00 to Wednesday 27 May 17:00 (BST).
    expect(view.status === "open" && view.timeoutSeconds).toBe(7 * 86_400 + 7 * 3_600);
  });

  it("foresees FORESEEN_WAITS waits after the current one, each timed from the end of the one before", async () => {
    await raise();
    const chain: (StageView | NextWait)[] = [];
    let wait: StageView | NextWait | undefined = await openStage(fakes.deps, ref);
    for (; wait !== undefined; wait = "then" in wait ? wait.then : undefined) chain.push(wait);
    expect(chain).toHaveLength(FORESEEN_WAITS + 1);
    // Nottingham: each level reminded a working day before its deadline, then escalated.
    expect(chain.map((w) => (w.status === "open" ? `${w.stageId}:${w.onTimeout}` : w.status))).toEqual([
      "level_1:remind",
      "level_1:escalate",
      "level_2:remind",
      "level_2:escalate",
      "level_3:remind",
    ]);
    expect(chain.map((w) => (w.status === "open" ? w.waitUntil : ""))).toEqual([
      LEVEL_1_REMINDER,
      LEVEL_1_DEADLINE,
      LEVEL_2_REMINDER,
      LEVEL_2_DEADLINE,
      expect.any(String),
    ]);
    for (const [i, w] of chain.entries()) {
      if (i === 0 || w.status !== "open") continue;
      const before = chain[i - 1];
      const from = before?.status === "open" ? Date.parse(before.waitUntil) : Number.NaN;
      expect(w.timeoutSeconds, w.waitUntil).toBe((Date.parse(w.waitUntil) - from) / 1000);
    }
    // Each escalation is two events (Escalated and the next stage's StageOpened), a reminder one.
    expect(chain.map((w) => (w.status === "open" ? w.version : undefined))).toEqual([2, 3, 5, 6, 8]);
  });

  it("waits for the deadline once the reminder is sent", async () => {
    await raise();
    expect(await sendReminder()).toEqual({ result: "reminded", stageId: "level_1", version: 3 });
    expect(foreseenTo(await openView(), 1)).toEqual({
      status: "open",
      stageId: "level_1",
      deadline: LEVEL_1_DEADLINE,
      timeoutSeconds: 86_400,
      waitUntil: LEVEL_1_DEADLINE,
      onTimeout: "escalate",
      version: 3,
      // Once escalated at the deadline (a dry run of AutoEscalate): level 2, its reminder first.
      then: {
        status: "open",
        stageId: "level_2",
        deadline: LEVEL_2_DEADLINE,
        timeoutSeconds: (Date.parse(LEVEL_2_REMINDER) - Date.parse(LEVEL_1_DEADLINE)) / 1000,
        waitUntil: LEVEL_2_REMINDER,
        onTimeout: "remind",
        version: 5,
      },
    });
  });

  it("follows the tenant's own reminder timing over the protocol's (reminders.workingDaysBeforeDeadline)", async () => {
    // Two working days before the deadline instead of Nottingham's one; the reminder is then sent then.
    fakes = makeFakes({
      tenants: new InMemoryTenants({ ...settings, reminders: { workingDaysBeforeDeadline: 2 } }),
    });
    await raise();
    const twoDaysBefore = createEnglandCalendar()
      .workingDaysBefore(new Date(LEVEL_1_DEADLINE), 2)
      .toISOString();
    expect(twoDaysBefore < LEVEL_1_REMINDER).toBe(true);
    expect(await openView()).toMatchObject({ waitUntil: twoDaysBefore, onTimeout: "remind" });
    expect(await sendReminder(twoDaysBefore)).toMatchObject({ result: "reminded", stageId: "level_1" });

    // 0: no reminders for this authority, whatever the protocol says.
    fakes = makeFakes({
      tenants: new InMemoryTenants({ ...settings, reminders: { workingDaysBeforeDeadline: 0 } }),
    });
    await raise();
    expect(await openView()).toMatchObject({ waitUntil: LEVEL_1_DEADLINE, onTimeout: "escalate" });
  });

  it("waits for the deadline straight away where the protocol sends no reminders", async () => {
    const silent = withoutReminders();
    fakes = makeFakes({ tenants: new InMemoryTenants({ ...settings, protocolId: silent.id }) });
    fakes = {
      ...fakes,
      deps: { ...fakes.deps, protocols: (id: string) => (id === silent.id ? silent : undefined) },
    };
    await raise();
    expect(await openView()).toMatchObject({
      waitUntil: LEVEL_1_DEADLINE,
      timeoutSeconds: 8 * 86_400 + 7 * 3_600,
      onTimeout: "escalate",
    });
  });

  it("times out at once when the reminder time passed and the reminder is still to send", async () => {
    await raise();
    fakes.clock.set("2026-05-28T08:00:00Z"); // Thursday morning: the reminder is late, the deadline not yet
    expect(await openView()).toMatchObject({ onTimeout: "remind", timeoutSeconds: 1, version: 2 });
  });

  it("waits for no reminder once the recipient has responded, but still for the deadline: it is a resolution deadline", async () => {
    await raise();
    await run(respond());
    // 004: "If the matter is not resolved within the 5 working days, then the IRO/CPC should state why".
    expect(await openView()).toMatchObject({ onTimeout: "ask_raiser", waitUntil: LEVEL_1_DEADLINE });
  });

  it("a shortened window moves the wait to the new deadline (000 2.4: 'a response is required more quickly')", async () => {
    await raise();
    expect(await openView()).toMatchObject({ waitUntil: LEVEL_1_REMINDER, onTimeout: "remind" });
    // Raised Wed 20 May; 2 working days: Fri 22 May, 17:00 BST, reminded a working day before.
    await run({
      type: "ShortenDeadline",
      challengeId: ID,
      actor: IRO,
      channel: "api",
      stageId: "level_1",
      window: { length: 2, unit: "working_days" },
      reason: "The child is a newborn.",
    });
    const view = await openView();
    expect(view.deadline).toBe("2026-05-22T16:00:00.000Z");
    expect(view).toMatchObject({ onTimeout: "remind", waitUntil: "2026-05-21T16:00:00.000Z" });
    await sendReminder("2026-05-21T16:00:00.000Z");
    expect(await openView()).toMatchObject({ onTimeout: "escalate", waitUntil: "2026-05-22T16:00:00.000Z" });
  });

  it("is idempotent: the same answer every time and nothing written", async () => {
    await raise();
    const first = await openStage(fakes.deps, ref);
    const second = await openStage(fakes.deps, ref);
    expect(second).toEqual(first);
    expect(state().version).toBe(2);
    expect(fakes.challenges.eventsOf(TENANT, ID)).toHaveLength(2);
  });

  it("rounds the remaining time up, and never returns less than 1 second", async () => {
    await raise();
    await sendReminder();
    fakes.clock.set(new Date(Date.parse(LEVEL_1_DEADLINE) - 1_500));
    expect((await openView()).timeoutSeconds).toBe(2);
    fakes.clock.set(new Date(Date.parse(LEVEL_1_DEADLINE) - 1));
    expect((await openView()).timeoutSeconds).toBe(1);
  });

  it("times out at once when the deadline passed and the timer has work to do", async () => {
    await raise();
    fakes.clock.set("2026-05-29T08:00:00Z");
    const view = await openView();
    expect(view).toMatchObject({ stageId: "level_1", timeoutSeconds: 1, onTimeout: "escalate" });
  });

  it("after a holding reply: asks the raiser at the deadline, then wakes at the end of their window and escalates", async () => {
    await raise();
    await run(respond());
    // Friday 29 May, after the deadline: answered but not resolved, so the raiser is asked at once.
    fakes.clock.set("2026-05-29T08:00:00Z");
    const atDeadline = await openView();
    expect(atDeadline).toMatchObject({ onTimeout: "ask_raiser", timeoutSeconds: 1, version: 3 });
    expect(await stageTimedOut(fakes.deps, { ...ref, stage: atDeadline })).toEqual({
      result: "raiser_alerted",
      version: 4,
    });
    // The loop then waits for the end of the raiser's working day to decide, counted from the
    // deadline (Thursday 28 May, 17:00), not from when the timer fired: Friday 29 May, 17:00 BST.
    const waiting = await openView();
    expect(waiting).toMatchObject({
      stageId: "level_1",
      onTimeout: "escalate",
      waitUntil: "2026-05-29T16:00:00.000Z",
      version: 4,
    });
    expect(waiting.timeoutSeconds).toBe(
      (Date.parse("2026-05-29T16:00:00Z") - Date.parse("2026-05-29T08:00:00Z")) / 1000,
    );
    // A timer that fires early does nothing; at the end of the window the stage escalates by itself.
    expect(await stageTimedOut(fakes.deps, { ...ref, stage: waiting })).toEqual({
      result: "nothing_to_do",
      code: "DEADLINE_NOT_PASSED",
    });
    fakes.clock.set("2026-05-29T16:00:00Z");
    expect(await stageTimedOut(fakes.deps, { ...ref, stage: waiting })).toEqual({
      result: "escalated",
      toStageId: "level_2",
      version: 6,
    });
    expect(fakes.challenges.eventsOf(TENANT, ID).map((e) => e.type)).toEqual([
      "ChallengeRaised",
      "StageOpened",
      "ResponseRecorded",
      "RaiserAlerted",
      "Escalated",
      "StageOpened",
    ]);
    expect(await openView()).toMatchObject({ stageId: "level_2" });
  });

  it("says before the deadline when nobody holds the next stage's role, and keeps looking after it", async () => {
    fakes = makeFakes({
      tenants: new InMemoryTenants(
        settings,
        staff.filter((m) => m.personId !== "sm-1"),
      ),
    });
    await raise();
    // The reminder needs nobody else; once it is sent, the deadline's rule is what is blocked.
    expect((await openView()).onTimeout).toBe("remind");
    expect(fakes.observer.counts).not.toContain("AutoEscalationBlocked");
    expect((await sendReminder()).result).toBe("reminded");
    expect((await openView()).onTimeout).toBe("blocked");
    expect(fakes.observer.counts).toContain("AutoEscalationBlocked");
    fakes.clock.set("2026-05-29T08:00:00Z");
    expect(await openView()).toMatchObject({ onTimeout: "blocked", waitUntil: "2026-06-01T16:00:00.000Z" });
  });

  it("monitors an agreed plan from the first action's due time, as the application service does", async () => {
    await raise();
    await run(agreePlan(["2026-06-20", "2026-06-10"]));
    const view = await openStage(fakes.deps, ref);
    expect(view).toEqual({
      status: "monitoring",
      nextActionDueAt: "2026-06-10T23:00:00.000Z",
      // AwaitMonitoring's timeout: from 20 May 09:00 UTC to 10 June 23:00 UTC.
      timeoutSeconds: (Date.parse("2026-06-10T23:00:00.000Z") - RAISED_AT.getTime()) / 1000,
      version: 3,
    });
    expect((view as MonitoringView).nextActionDueAt).toBe(firstActionDueAt(state()));
  });

  it("finishes when nothing is left to time", async () => {
    await raise();
    await run({
      type: "Withdraw",
      challengeId: ID,
      actor: IRO,
      channel: "api",
      reason: "Resolved informally.",
    });
    expect(await openStage(fakes.deps, ref)).toEqual({
      status: "finished",
      outcome: "withdrawn",
      version: 3,
    });
  });

  it("fails for a challenge that does not exist or a tenant without a protocol", async () => {
    await expect(openStage(fakes.deps, ref)).rejects.toBeInstanceOf(ChallengeNotFoundError);
    await raise();
    const unconfigured = { ...fakes.deps, tenants: new InMemoryTenants(null) };
    await expect(openStage(unconfigured, ref)).rejects.toBeInstanceOf(TenantNotConfiguredError);
  });
});

describe("awaitResponse", () => {
  it("stores the token for the stage and keeps waiting", async () => {
    await raise();
    const stage = await openView();
    const result = await awaitResponse(fakes.deps, { ...ref, taskToken: "token-1", stage });
    expect(result).toEqual({ waiting: true, stageId: "level_1" });
    expect(await fakes.challenges.getTaskToken(TENANT, ID)).toEqual({ stageId: "level_1", token: "token-1" });
    expect(fakes.completion.sent).toEqual([]);
  });

  it("replaces the previous token", async () => {
    await raise();
    const stage = await openView();
    await awaitResponse(fakes.deps, { ...ref, taskToken: "token-1", stage });
    await awaitResponse(fakes.deps, { ...ref, taskToken: "token-2", stage });
    expect(await fakes.challenges.getTaskToken(TENANT, ID)).toEqual({ stageId: "level_1", token: "token-2" });
  });

  it("completes at once when the stage moved on after OpenStage read it", async () => {
    await raise();
    const stale = await openView();
    fakes.clock.set("2026-05-29T08:00:00Z");
    await stageTimedOut(fakes.deps, { ...ref, stage: stale });
    const result = await awaitResponse(fakes.deps, { ...ref, taskToken: "token-1", stage: stale });
    const outcome = { action: "stage_changed", status: "open", stageId: "level_2", version: 4 };
    expect(result).toEqual({ waiting: false, outcome, completion: "sent" });
    expect(fakes.completion.sent).toEqual([{ taskToken: "token-1", output: outcome }]);
  });

  it("completes at once when the challenge changed after OpenStage read it (a signal sent before the token was stored)", async () => {
    await raise();
    const stale = await openView();
    await run(respond());
    const result = await awaitResponse(fakes.deps, { ...ref, taskToken: "token-1", stage: stale });
    expect(result).toMatchObject({
      waiting: false,
      outcome: { action: "stage_changed", stageId: "level_1", version: 3 },
    });
  });

  it("sees a change committed just after the token was saved", async () => {
    await raise();
    const stage = await openView();
    fakes.challenges.afterTokenSave = async () => {
      fakes.challenges.afterTokenSave = undefined;
      await run({ type: "MarkResolved", challengeId: ID, actor: IRO, channel: "api", summary: "Agreed." });
    };
    const result = await awaitResponse(fakes.deps, { ...ref, taskToken: "token-1", stage });
    expect(result).toMatchObject({ waiting: false, outcome: { status: "resolved", stageId: null } });
  });

  it("treats a token somebody else already completed as done", async () => {
    await raise();
    const stale = await openView();
    await run(respond());
    fakes.completion.result = "gone";
    await expect(awaitResponse(fakes.deps, { ...ref, taskToken: "t", stage: stale })).resolves.toMatchObject({
      waiting: false,
      completion: "gone",
    });
  });

  it("cannot wait without a store that keeps tokens", async () => {
    await raise();
    const stage = await openView();
    // The same store, seen through an object whose saveTaskToken is missing.
    const challenges = Object.create(fakes.challenges) as typeof fakes.challenges;
    Object.defineProperty(challenges, "saveTaskToken", { value: undefined });
    await expect(
      awaitResponse({ ...fakes.deps, challenges }, { ...ref, taskToken: "t", stage }),
    ).rejects.toThrow(/task tokens/);
  });
});

describe("awaitResponse for a monitored plan (AwaitMonitoring)", () => {
  async function monitoringView(): Promise<MonitoringView> {
    await raise();
    await run(agreePlan(["2026-06-10"]));
    const view = await openStage(fakes.deps, ref);
    if (view.status !== "monitoring") throw new Error(`expected monitoring, got ${view.status}`);
    return view;
  }

  it("stores the token under the monitoring wait and keeps waiting", async () => {
    const view = await monitoringView();
    expect(waitKeyOf(state())).toBe(MONITORING_WAIT);
    const result = await awaitResponse(fakes.deps, {
      ...ref,
      taskToken: "token-m",
      stage: { stageId: MONITORING_WAIT, version: view.version },
    });
    expect(result).toEqual({ waiting: true, stageId: "monitoring" });
    expect(await fakes.challenges.getTaskToken(TENANT, ID)).toEqual({
      stageId: "monitoring",
      token: "token-m",
    });
    expect(fakes.completion.sent).toEqual([]);
  });

  it("completes at once when an action was recorded after the view was read", async () => {
    const view = await monitoringView();
    const actionId = state().actionPlan?.actions[0]?.id ?? "";
    await run({ type: "CompleteAction", challengeId: ID, actor: IRO, channel: "api", actionId });
    const result = await awaitResponse(fakes.deps, {
      ...ref,
      taskToken: "token-m",
      stage: { stageId: MONITORING_WAIT, version: view.version },
    });
    expect(result).toMatchObject({
      waiting: false,
      outcome: { action: "stage_changed", status: "monitoring", stageId: null, version: 4 },
    });
  });

  it("a stage's wait is not a monitoring wait, and the reverse", async () => {
    await raise();
    const open = await openView();
    expect(waitKeyOf(state())).toBe("level_1");
    const asMonitoring = await awaitResponse(fakes.deps, {
      ...ref,
      taskToken: "t1",
      stage: { stageId: MONITORING_WAIT, version: open.version },
    });
    expect(asMonitoring.waiting).toBe(false);
  });
});

describe("runs: a resolved challenge reopened is timed by a new run", () => {
  const resolve: Command = {
    type: "MarkResolved",
    challengeId: ID,
    actor: IRO,
    channel: "api",
    summary: "Agreed.",
  };
  const reopen: Command = {
    type: "Reopen",
    challengeId: ID,
    actor: IRO,
    channel: "api",
    reason: "It drifted again.",
  };

  it("the first run ends itself once a later run has started; the later run and unnamed runs carry on", async () => {
    await raise();
    await run(resolve);
    const reopened = await run(reopen);
    const startSeq = runStartSeqOf(reopened.events);
    expect(startSeq).toBe(4); // ChallengeRaised 1, StageOpened 2, Resolved 3, Reopened 4
    const first = { ...ref, executionName: executionName(TENANT, ID, 1) };
    const second = { ...ref, executionName: executionName(TENANT, ID, startSeq) };

    expect(await openStage(fakes.deps, first)).toEqual({
      status: "finished",
      outcome: "superseded",
      version: 5,
    });
    expect(fakes.observer.warnings).toContain(
      "a later run of the workflow times this challenge: this run ends",
    );
    expect(await openStage(fakes.deps, second)).toMatchObject({ status: "open", stageId: "level_1" });
    expect(await openStage(fakes.deps, ref)).toMatchObject({ status: "open", stageId: "level_1" });
    expect(await openStage(fakes.deps, { ...ref, executionName: "by-hand" })).toMatchObject({
      status: "open",
    });
  });

  it("a reopen from monitoring keeps the run (no new run, nothing superseded)", async () => {
    await raise();
    await run(agreePlan(["2026-06-10"]));
    const reopened = await run(reopen);
    expect(reopened.events[0]).toMatchObject({ type: "Reopened", data: { fromStatus: "monitoring" } });
    expect(runStartSeqOf(reopened.events)).toBeUndefined();
    const first = { ...ref, executionName: executionName(TENANT, ID, 1) };
    expect(await openStage(fakes.deps, first)).toMatchObject({ status: "open", stageId: "level_1" });
  });

  it("CheckActions ends a superseded run that was monitoring the plan", async () => {
    await raise();
    await run(resolve);
    await run(reopen);
    await run(agreePlan(["2026-06-10"]));
    const dueAt = actionDueAt("2026-06-10").toISOString();
    fakes.clock.set(dueAt);
    const first = { ...ref, executionName: executionName(TENANT, ID, 1), dueAt };
    expect(await checkActions(fakes.deps, first)).toMatchObject({
      status: "finished",
      outcome: "superseded",
    });
    const second = { ...ref, executionName: executionName(TENANT, ID, 4), dueAt };
    expect(await checkActions(fakes.deps, second)).toMatchObject({ status: "monitoring", dueActions: [{}] });
  });
});

describe("the application's signals to the workflow", () => {
  class RecordingSignal implements WorkflowSignal {
    readonly started: { challengeId: string; startSeq: number | undefined }[] = [];
    readonly notified: WorkflowOutcome[] = [];
    start(_tenantId: string, challengeId: string, startSeq?: number): Promise<void> {
      this.started.push({ challengeId, startSeq });
      return Promise.resolve();
    }
    notify(_tenantId: string, _challengeId: string, outcome: WorkflowOutcome): Promise<void> {
      this.notified.push(outcome);
      return Promise.resolve();
    }
  }
  let signal: RecordingSignal;
  const act = (command: Command) => executeCommand({ ...fakes.deps, workflow: signal }, TENANT, command);
  const actionIds = () => (state().actionPlan?.actions ?? []).map((a) => a.id);

  beforeEach(async () => {
    signal = new RecordingSignal();
    await act(raiseCommand(ID));
    await act(agreePlan(["2026-06-10", "2026-06-12", "2026-06-20"]));
    signal.notified.length = 0;
  });

  it("starts the first run on a raise", () => {
    expect(signal.started).toEqual([{ challengeId: ID, startSeq: 1 }]);
  });

  it("wakes the monitoring wait for every command that matters during monitoring", async () => {
    const [a1, a2] = actionIds();
    await act({ type: "CompleteAction", challengeId: ID, actor: IRO, channel: "api", actionId: a1 ?? "" });
    await act({
      type: "MissAction",
      challengeId: ID,
      actor: IRO,
      channel: "api",
      actionId: a2 ?? "",
      note: "Not held.",
    });
    await act({ type: "Reopen", challengeId: ID, actor: IRO, channel: "api", reason: "Drifting." });
    expect(signal.notified.map((o) => [o.action, o.status])).toEqual([
      ["action_completed", "monitoring"],
      ["action_missed", "monitoring"],
      ["reopened", "open"],
    ]);
    expect(signal.started).toHaveLength(1); // a reopen from monitoring starts no run
  });

  it.each([
    ["MarkResolved", { type: "MarkResolved", summary: "Done." }, "resolved"],
    ["Close", { type: "Close", summary: "Plan completed." }, "closed"],
    ["Withdraw", { type: "Withdraw", reason: "No longer needed." }, "withdrawn"],
  ] as const)("wakes the monitoring wait on %s", async (_name, body, action) => {
    // Closing needs every action recorded first.
    for (const actionId of actionIds()) {
      await act({ type: "CompleteAction", challengeId: ID, actor: IRO, channel: "api", actionId });
    }
    signal.notified.length = 0;
    await act({ ...body, challengeId: ID, actor: IRO, channel: "api" });
    expect(signal.notified.map((o) => o.action)).toEqual([action]);
  });

  it("starts a new run, named from the Reopened event's seq, when a resolved challenge is reopened", async () => {
    await act({ type: "MarkResolved", challengeId: ID, actor: IRO, channel: "api", summary: "Done." });
    signal.notified.length = 0;
    const reopened = await act({
      type: "Reopen",
      challengeId: ID,
      actor: IRO,
      channel: "api",
      reason: "Drifting.",
    });
    const seq = reopened.events.find((e) => e.type === "Reopened")?.seq;
    expect(signal.started).toEqual([
      { challengeId: ID, startSeq: 1 },
      { challengeId: ID, startSeq: seq },
    ]);
    expect(signal.notified).toEqual([]); // the ended run has no wait to wake
  });
});

describe("stageTimedOut", () => {
  it("does nothing before the reminder time", async () => {
    await raise();
    const stage = await openView();
    fakes.clock.set(new Date(Date.parse(LEVEL_1_REMINDER) - 1_000));
    expect(await stageTimedOut(fakes.deps, { ...ref, stage })).toEqual({
      result: "nothing_to_do",
      code: "DEADLINE_NOT_PASSED",
    });
    expect(state().version).toBe(2);
  });

  it("sends the reminder at the reminder time, as the timer, once; then nothing until the deadline", async () => {
    await raise();
    const stage = await openView();
    fakes.clock.set(LEVEL_1_REMINDER);
    expect(await stageTimedOut(fakes.deps, { ...ref, stage })).toEqual({
      result: "reminded",
      stageId: "level_1",
      version: 3,
    });
    expect(fakes.challenges.eventsOf(TENANT, ID).slice(2)).toEqual([
      expect.objectContaining({
        type: "ReminderSent",
        actor: TIMER_ACTOR,
        channel: "timer",
        data: { stageId: "level_1", deadline: LEVEL_1_DEADLINE },
      }),
    ]);
    expect(fakes.observer.counts).toContain("ReminderSent");
    // A retried task, or a timer firing again before the deadline: no second reminder.
    fakes.clock.set(new Date(Date.parse(LEVEL_1_DEADLINE) - 1_000));
    expect(await stageTimedOut(fakes.deps, { ...ref, stage })).toEqual({
      result: "nothing_to_do",
      code: "DEADLINE_NOT_PASSED",
    });
    expect(state().version).toBe(3);
    expect(state().currentStage?.remindedAt).toBe(LEVEL_1_REMINDER);
  });

  it("a timer after the response sends no reminder, and at the deadline asks the raiser rather than nothing", async () => {
    await raise();
    const stage = await openView(); // waiting for the reminder time
    await run(respond());
    fakes.clock.set(LEVEL_1_REMINDER);
    expect(await stageTimedOut(fakes.deps, { ...ref, stage })).toEqual({
      result: "nothing_to_do",
      code: "DEADLINE_NOT_PASSED",
    });
    fakes.clock.set(new Date(Date.parse(LEVEL_1_DEADLINE) + 1_000));
    expect(await stageTimedOut(fakes.deps, { ...ref, stage })).toEqual({
      result: "raiser_alerted",
      version: 4,
    });
    // Run again (a retry): asked once only.
    expect(await stageTimedOut(fakes.deps, { ...ref, stage })).toEqual({
      result: "nothing_to_do",
      code: "DEADLINE_NOT_PASSED",
    });
    expect(fakes.challenges.eventsOf(TENANT, ID).map((e) => e.type)).toEqual([
      "ChallengeRaised",
      "StageOpened",
      "ResponseRecorded",
      "RaiserAlerted",
    ]);
  });

  it("sends no reminder after the deadline (a timer that woke late): the no-response rule applies", async () => {
    await raise();
    const stage = await openView();
    fakes.clock.set(new Date(Date.parse(LEVEL_1_DEADLINE) + 1_000));
    expect(await stageTimedOut(fakes.deps, { ...ref, stage })).toMatchObject({ result: "escalated" });
    expect(fakes.challenges.eventsOf(TENANT, ID).some((e) => e.type === "ReminderSent")).toBe(false);
  });

  it("after the deadline, escalates to the next level as the timer, and OpenStage returns it", async () => {
    await raise();
    const stage = await openView();
    fakes.clock.set(new Date(Date.parse(LEVEL_1_DEADLINE) + 1_000));
    expect(await stageTimedOut(fakes.deps, { ...ref, stage })).toEqual({
      result: "escalated",
      toStageId: "level_2",
      version: 4,
    });
    const [escalated, opened] = fakes.challenges.eventsOf(TENANT, ID).slice(2);
    expect(escalated).toMatchObject({
      type: "Escalated",
      actor: TIMER_ACTOR,
      channel: "timer",
      data: { fromStageId: "level_1", toStageId: "level_2", kind: "no_response" },
    });
    expect(opened).toMatchObject({
      type: "StageOpened",
      data: { stageId: "level_2", via: "auto_escalated", deadline: LEVEL_2_DEADLINE },
    });
    // Level 2 is waited for in the same two steps: its reminder, then its deadline.
    expect(await openView()).toMatchObject({
      stageId: "level_2",
      deadline: LEVEL_2_DEADLINE,
      waitUntil: LEVEL_2_REMINDER,
      onTimeout: "remind",
      version: 4,
    });
    expect(fakes.observer.counts).toContain("AutoEscalated");
  });

  it("is a no-op for a stage already left (a late timer or a retried task)", async () => {
    await raise();
    const stage = await openView();
    fakes.clock.set("2026-05-29T08:00:00Z");
    await stageTimedOut(fakes.deps, { ...ref, stage });
    expect(await stageTimedOut(fakes.deps, { ...ref, stage })).toEqual({
      result: "nothing_to_do",
      code: "WRONG_STATUS",
    });
    expect(state().version).toBe(4);
  });

  it("leaves the ladder after the last level, and the workflow finishes", async () => {
    await raise();
    for (let level = 1; level <= 4; level++) {
      const stage = await openView();
      expect(stage.stageId).toBe(`level_${level}`);
      fakes.clock.set(new Date(Date.parse(stage.deadline) + 1_000));
      await stageTimedOut(fakes.deps, { ...ref, stage });
    }
    expect(await openStage(fakes.deps, ref)).toMatchObject({
      status: "finished",
      outcome: "ladder_exhausted",
    });
  });

  it("alerts the raiser where the protocol says so, and then waits for the raiser", async () => {
    const nottingham = presets.nottingham as Protocol;
    const alerting = parseProtocol({
      ...nottingham,
      id: "nottingham-alert",
      tracks: Object.fromEntries(
        Object.entries(nottingham.tracks).map(([k, t]) => [
          k,
          { ...t, stages: t.stages.map((s) => ({ ...s, onNoResponse: "alert_raiser" })) },
        ]),
      ),
    });
    fakes = makeFakes({ tenants: new InMemoryTenants({ ...settings, protocolId: "nottingham-alert" }) });
    const deps = { ...fakes.deps, protocols: (id: string) => (id === alerting.id ? alerting : undefined) };
    fakes = { ...fakes, deps };
    await raise();
    expect((await openView()).onTimeout).toBe("remind");
    expect((await sendReminder()).result).toBe("reminded");
    const stage = await openView();
    expect(stage.onTimeout).toBe("alert_raiser");
    fakes.clock.set("2026-05-29T08:00:00Z");
    expect(await stageTimedOut(deps, { ...ref, stage })).toEqual({ result: "raiser_alerted", version: 4 });
    expect(await openView()).toMatchObject({ stageId: "level_1", onTimeout: "recheck", version: 4 });
    expect(await stageTimedOut(deps, { ...ref, stage })).toEqual({
      result: "nothing_to_do",
      code: "WRONG_STATUS",
    });
  });

  it("reports, and does not fail the workflow, when nobody holds the next level's role", async () => {
    fakes = makeFakes({
      tenants: new InMemoryTenants(
        settings,
        staff.filter((m) => m.personId !== "sm-1"),
      ),
    });
    await raise();
    const stage = await openView();
    fakes.clock.set("2026-05-29T08:00:00Z");
    expect(await stageTimedOut(fakes.deps, { ...ref, stage })).toEqual({
      result: "nothing_to_do",
      code: "NO_RECIPIENT",
    });
    expect(fakes.observer.errors).toHaveLength(1);
    expect(state().version).toBe(2);
  });

  it("fails for a challenge that does not exist", async () => {
    await expect(stageTimedOut(fakes.deps, { ...ref, stage: { stageId: "level_1" } })).rejects.toBeInstanceOf(
      ChallengeNotFoundError,
    );
  });
});

describe("checkActions", () => {
  async function monitoring(byWhen: readonly string[]) {
    await raise();
    await run(agreePlan(byWhen));
    return state().actionPlan?.actions ?? [];
  }

  it("records the actions that fell due, lists those still open, and looks again at the next action or a follow-up", async () => {
    const actions = await monitoring(["2026-06-10", "2026-06-20"]);
    const first = actions.find((a) => a.byWhen === "2026-06-10")?.id ?? "";
    const dueAt = actionDueAt("2026-06-10").toISOString();
    fakes.clock.set(dueAt);
    const result = await checkActions(fakes.deps, { ...ref, dueAt });
    // Follow-up: 5 working days after Thursday 11 June is Thursday 18 June, 17:00 BST (before the
    // second action's due time, 21 June 00:00).
    expect(result).toEqual({
      status: "monitoring",
      nextActionDueAt: "2026-06-18T16:00:00.000Z",
      timeoutSeconds: (Date.parse("2026-06-18T16:00:00.000Z") - Date.parse(dueAt)) / 1000,
      // After the ActionsFellDue it recorded: AwaitMonitoring sees the view is current.
      version: 4,
      dueActions: [{ actionId: first, byWhen: "2026-06-10" }],
    });
    expect(calendar.deadlineAfter(new Date(dueAt), ACTION_FOLLOW_UP_WORKING_DAYS).toISOString()).toBe(
      "2026-06-18T16:00:00.000Z",
    );
    expect(fakes.challenges.eventsOf(TENANT, ID).slice(3)).toEqual([
      expect.objectContaining({
        type: "ActionsFellDue",
        actor: TIMER_ACTOR,
        channel: "timer",
        data: { actionIds: [first] },
      }),
    ]);
    expect(fakes.observer.counts).toContain("ActionsFellDue");
    // Re-runnable: the same due date gives the same answer, and nothing is recorded twice.
    expect(await checkActions(fakes.deps, { ...ref, dueAt })).toEqual(result);
    // The follow-up still lists the open action, but asks the raiser nothing more.
    fakes.clock.set("2026-06-18T16:00:01Z");
    const followUp = await checkActions(fakes.deps, { ...ref, dueAt: "2026-06-18T16:00:00.000Z" });
    expect(followUp).toMatchObject({ version: 4, dueActions: [{ actionId: first }] });
    expect(fakes.challenges.eventsOf(TENANT, ID)).toHaveLength(4);
  });

  it("records every action that fell due in one event, the earliest first", async () => {
    const actions = await monitoring(["2026-06-12", "2026-06-10"]);
    fakes.clock.set("2026-06-15T08:00:00Z");
    await checkActions(fakes.deps, { ...ref, dueAt: actionDueAt("2026-06-10").toISOString() });
    const ids = ["2026-06-10", "2026-06-12"].map((d) => actions.find((a) => a.byWhen === d)?.id);
    expect(fakes.challenges.eventsOf(TENANT, ID).at(-1)).toMatchObject({
      type: "ActionsFellDue",
      data: { actionIds: ids },
    });
    expect(state().actionPlan?.actions.every((a) => a.dueNotifiedAt === "2026-06-15T08:00:00.000Z")).toBe(
      true,
    );
  });

  it("records what is still due when a person records an action at the same moment", async () => {
    const actions = await monitoring(["2026-06-10", "2026-06-11"]);
    const [early, late] = ["2026-06-10", "2026-06-11"].map(
      (d) => actions.find((a) => a.byWhen === d)?.id ?? "",
    );
    // CheckActions reads the plan; before its command is decided, the IRO records the first as done.
    let stale: ChallengeState | undefined = structuredClone(state());
    await run({ type: "CompleteAction", challengeId: ID, actor: IRO, channel: "api", actionId: early ?? "" });
    const challenges = new Proxy(fakes.challenges, {
      get(target, prop, receiver) {
        if (prop === "get" && stale !== undefined) {
          const snapshot = stale;
          stale = undefined;
          return () => Promise.resolve({ tenantId: TENANT, state: snapshot });
        }
        const value: unknown = Reflect.get(target, prop, receiver);
        return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
    fakes.clock.set("2026-06-12T08:00:00Z");
    const result = await checkActions(
      { ...fakes.deps, challenges },
      { ...ref, dueAt: "2026-06-10T23:00:00.000Z" },
    );
    expect(fakes.challenges.eventsOf(TENANT, ID).at(-1)).toMatchObject({
      type: "ActionsFellDue",
      data: { actionIds: [late] },
    });
    expect(result).toMatchObject({ status: "monitoring", version: 5, dueActions: [{ actionId: late }] });
  });

  it("waits for the next action when nothing due is open", async () => {
    const actions = await monitoring(["2026-06-10", "2026-06-12"]);
    const first = actions.find((a) => a.byWhen === "2026-06-10");
    await run({
      type: "CompleteAction",
      challengeId: ID,
      actor: IRO,
      channel: "api",
      actionId: first?.id ?? "",
    });
    const dueAt = actionDueAt("2026-06-10").toISOString();
    fakes.clock.set(dueAt);
    expect(await checkActions(fakes.deps, { ...ref, dueAt })).toMatchObject({
      status: "monitoring",
      nextActionDueAt: "2026-06-12T23:00:00.000Z",
      dueActions: [],
    });
  });

  it("keeps looking, later than now, when every action is recorded or overdue", async () => {
    await monitoring(["2026-06-10"]);
    // Far behind (e.g. a resumed execution): the next look is still in the future.
    fakes.clock.set("2026-09-01T08:00:00Z");
    const result = await checkActions(fakes.deps, { ...ref, dueAt: actionDueAt("2026-06-10").toISOString() });
    expect(result.status).toBe("monitoring");
    if (result.status !== "monitoring") return;
    expect(Date.parse(result.nextActionDueAt)).toBeGreaterThan(Date.parse("2026-09-01T08:00:00Z"));
    expect(result.dueActions).toHaveLength(1);
  });

  it("answers as OpenStage does once the challenge is no longer monitored", async () => {
    await monitoring(["2026-06-10"]);
    await run({
      type: "Reopen",
      challengeId: ID,
      actor: IRO,
      channel: "api",
      reason: "The plan is not working.",
    });
    fakes.clock.set(actionDueAt("2026-06-10"));
    const result = await checkActions(fakes.deps, { ...ref, dueAt: actionDueAt("2026-06-10").toISOString() });
    expect(result).toMatchObject({ status: "open", stageId: "level_1", onTimeout: "escalate" });
  });
});
