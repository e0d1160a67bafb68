import { beforeEach, describe, expect, it } from "vitest";
import { executeCommand } from "../../../functions/app/execute-command.js";
import {
  CHAINED_WAIT_SLACK_MS,
  FORESEEN_WAITS,
  type NextWait,
  type OpenStageView,
  type StageView,
  type WaitResult,
  awaitWait,
  openStage,
  stageTimedOutThenOpen,
} from "../../../functions/workflow/tasks.js";
import type { Command } from "../../../functions/domain/challenge/index.js";
import {
  type Fakes,
  IRO,
  LEVEL_1_REMINDER,
  TENANT,
  foreseenTo,
  makeFakes,
  noWorkflow,
  raiseCommand,
} from "./fakes.js";

/**
 * The waits the state machine chains without a Choice between them (statemachines/challenge.asl.json):
 * AwaitResponse ─timeout─▶ TimerThenAwait (the timer's action, then the view's precomputed `then`)
 * ─timeout─▶ TimerThenAwait2 (`then.then`) ... TimerThenAwait4 ─timeout─▶ StageTimedOut (the
 * timer's action, then the fresh view) ─▶ AwaitResponse.
 */

const ID = "01JCHAINEDWAITS00000000001";
const ref = { tenantId: TENANT, challengeId: ID };
let fakes: Fakes;

async function run(command: Command) {
  return executeCommand({ ...fakes.deps, workflow: noWorkflow }, TENANT, command);
}

beforeEach(async () => {
  fakes = makeFakes();
  await run(raiseCommand(ID));
});

async function openView(): Promise<OpenStageView> {
  const view = await openStage(fakes.deps, ref);
  if (view.status !== "open") throw new Error(`expected an open stage, got ${view.status}`);
  return view;
}

function timerThenAwait(view: OpenStageView, taskToken = "chained") {
  if (view.then === undefined) throw new Error("an open view without its next wait");
  return awaitWait(fakes.deps, { ...ref, taskToken, wait: "stage", stage: view.then, timedOut: view });
}

describe("TimerThenAwait", () => {
  it("at the reminder time sends the reminder and, in the same task, waits for the deadline", async () => {
    const view = await openView();
    expect(view).toMatchObject({ onTimeout: "remind", waitUntil: LEVEL_1_REMINDER });
    fakes.clock.set(view.waitUntil);
    await expect(timerThenAwait(view)).resolves.toEqual({
      waiting: true,
      stageId: "level_1",
      timer: { result: "reminded", stageId: "level_1", version: 3 },
    });
    expect(await fakes.challenges.getTaskToken(TENANT, ID)).toEqual({ stageId: "level_1", token: "chained" });
    expect(fakes.completion.sent).toEqual([]);
    // What it waits for, and the waits foreseen after it, are what OpenStage, reading afresh, would
    // now wait for (it foresees one wait further).
    expect(view.then).toEqual(foreseenTo(await openView(), FORESEEN_WAITS - 1));
  });

  it("climbs the whole ladder on waits worked out in advance, each where the dry run said", async () => {
    let view: StageView = await openView();
    const climbed: string[] = [];
    let freshReads = 0;
    let finished: WaitResult | undefined;
    while (view.status === "open" && finished === undefined && freshReads < 5) {
      // AwaitResponse's wait times out, then TimerThenAwait's, ...2's, ...: each acts on the wait
      // that ended and keeps waiting on the next one the view foresaw.
      let ended: OpenStageView = view;
      for (let depth = 1; depth <= FORESEEN_WAITS && finished === undefined; depth++) {
        const next: NextWait | undefined = ended.then;
        if (next === undefined) throw new Error("a chain shorter than foreseen");
        fakes.clock.set(ended.waitUntil);
        const chained = await awaitWait(fakes.deps, {
          ...ref,
          taskToken: `t-${freshReads}-${depth}`,
          wait: "stage",
          stage: next,
          timedOut: ended,
        });
        climbed.push(`${ended.stageId}:${ended.onTimeout}`);
        if (next.status === "open") {
          expect(chained.waiting, `${ended.stageId} ${ended.onTimeout}`).toBe(true);
          ended = next;
        } else finished = chained;
      }
      if (finished !== undefined) break;
      // The last wait foreseen times out: StageTimedOut acts and returns the next view, AwaitResponse's.
      fakes.clock.set(ended.waitUntil);
      climbed.push(`${ended.stageId}:${ended.onTimeout}`);
      view = await stageTimedOutThenOpen(fakes.deps, { ...ref, stage: ended });
      freshReads += 1;
    }
    // Nottingham: four levels, each reminded a working day before its deadline, then escalated.
    expect(climbed).toEqual([
      "level_1:remind",
      "level_1:escalate",
      "level_2:remind",
      "level_2:escalate",
      "level_3:remind",
      "level_3:escalate",
      "level_4:remind",
      "level_4:escalate",
    ]);
    // Eight timer instants, one fresh read: the other seven were foreseen.
    expect(freshReads).toBe(1);
    // The wait after the ladder's end is finished: its task ends it at once and the run ends.
    expect(finished).toMatchObject({
      waiting: false,
      outcome: { action: "finished", outcome: "ladder_exhausted" },
      timer: { result: "escalated", toStageId: null },
    });
    expect(fakes.completion.sent).toHaveLength(1);
    const timerEvents = fakes.challenges
      .eventsOf(TENANT, ID)
      .filter((event) => event.channel === "timer")
      .map((event) => event.type);
    expect(timerEvents.filter((type) => type === "ReminderSent")).toHaveLength(4);
    expect(timerEvents.filter((type) => type === "Escalated")).toHaveLength(4);
  });

  it("keeps waiting when a person's action leaves the next instant where it was (a response: the deadline still applies)", async () => {
    const view = await openView();
    await run({
      type: "Respond",
      challengeId: ID,
      actor: { id: "tm-1", role: "manager" },
      channel: "api",
      response: "The meeting is booked.",
    });
    fakes.clock.set(view.waitUntil);
    // No reminder once the recipient has responded, but the deadline is a resolution deadline.
    await expect(timerThenAwait(view)).resolves.toMatchObject({
      waiting: true,
      timer: { result: "nothing_to_do" },
    });
    expect(fakes.completion.sent).toEqual([]);
  });

  it("ends its wait at once when the challenge is not where the dry run said: the loop re-reads", async () => {
    const view = await openView();
    // The window is shortened after the view was read (its signal lost): the timer finds the new
    // deadline passed and escalates, so the precomputed wait (level 1's deadline) is wrong.
    await run({
      type: "ShortenDeadline",
      challengeId: ID,
      actor: IRO,
      channel: "api",
      stageId: "level_1",
      window: { length: 2, unit: "working_days" },
      reason: "The child is a newborn.",
    });
    fakes.clock.set(view.waitUntil);
    await expect(timerThenAwait(view)).resolves.toMatchObject({
      waiting: false,
      outcome: { action: "stage_changed", stageId: "level_1" },
      completion: "sent",
      timer: { result: "escalated", toStageId: "level_2" },
    });
    expect(fakes.completion.sent.map((sent) => sent.taskToken)).toEqual(["chained"]);
  });

  it("ends its wait at once when it started later than the slack: the next wait is timed afresh", async () => {
    const view = await openView();
    fakes.clock.set(new Date(Date.parse(view.waitUntil) + CHAINED_WAIT_SLACK_MS + 1000));
    const result = await timerThenAwait(view);
    // The reminder still goes (the deadline has not passed); the wait is not chained.
    expect(result).toMatchObject({ waiting: false, timer: { result: "reminded" } });
    expect(fakes.completion.sent).toHaveLength(1);
  });
});

describe("a wait given a view it cannot wait on ends at once", () => {
  it("finished: the finishing outcome, for RouteOutcome to end the run; no token stored", async () => {
    const result = await awaitWait(fakes.deps, {
      ...ref,
      taskToken: "last",
      wait: "stage",
      stage: { status: "finished", outcome: "ladder_exhausted", version: 12 },
    });
    expect(result).toMatchObject({ waiting: false, completion: "sent" });
    expect(fakes.completion.sent).toEqual([
      { taskToken: "last", output: { action: "finished", outcome: "ladder_exhausted", version: 12 } },
    ]);
    expect(await fakes.challenges.getTaskToken(TENANT, ID)).toBeUndefined();
  });

  it("a finished view's settling wait that timed out: nothing for the timer, the run still ends", async () => {
    const finished = { status: "finished" as const, outcome: "ladder_exhausted" as const, version: 12 };
    const result = await awaitWait(fakes.deps, {
      ...ref,
      taskToken: "settle",
      wait: "stage",
      stage: finished,
      timedOut: {},
    });
    expect(result).toMatchObject({ waiting: false, outcome: { action: "finished" } });
    expect(result.timer).toBeUndefined();
    expect(fakes.challenges.eventsOf(TENANT, ID)).toHaveLength(2); // raised and opened: nothing more
  });

  it("a monitored plan at a stage's wait, and an open stage at the monitoring wait", async () => {
    const view = await openView();
    await expect(
      awaitWait(fakes.deps, {
        ...ref,
        taskToken: "a",
        wait: "stage",
        stage: { status: "monitoring", version: 4 },
      }),
    ).resolves.toMatchObject({ waiting: false, outcome: { action: "stage_changed", status: "monitoring" } });
    await expect(
      awaitWait(fakes.deps, { ...ref, taskToken: "b", wait: "monitoring", stage: view }),
    ).resolves.toMatchObject({ waiting: false, outcome: { action: "stage_changed", stageId: "level_1" } });
    expect(await fakes.challenges.getTaskToken(TENANT, ID)).toBeUndefined();
  });
});
