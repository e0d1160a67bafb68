import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type {
  Actor,
  ChallengeEvent,
  ChallengeState,
  Command,
  DecideContext,
} from "../../../../functions/domain/challenge/index.js";
import {
  deadlineRule,
  decide,
  DomainError,
  evolve,
  initialState,
  nextDeadlineCheck,
  reminderTime,
  replay,
} from "../../../../functions/domain/challenge/index.js";
import { presets } from "../../../../functions/domain/presets/index.js";
import type { Protocol, Track } from "../../../../functions/domain/protocol.js";
import { calendar, directory, form, personId, testProtocol, TIMER } from "./fixtures.js";

/**
 * Random command sequences from a model of plausible commands (random actors, stages, referral
 * kinds and times moving forward) must never break the aggregate's invariants.
 */

const protocols: Protocol[] = [testProtocol, ...Object.values(presets)];
const CHALLENGE = "ch-prop";
const RAISERS: Record<"IRO" | "CPC", Actor> = {
  IRO: { id: "iro-prop", role: "IRO" },
  CPC: { id: "cpc-prop", role: "CPC" },
};
const STRANGER: Actor = { id: "stranger", role: "manager" };
const ISM: Actor = { id: personId("iro_service_manager"), role: "iro_service_manager" };

const COMMAND_TYPES = [
  "Raise",
  "Acknowledge",
  "Respond",
  "RecordMeeting",
  "AgreeActionPlan",
  "MarkResolved",
  "Escalate",
  "Bypass",
  "AutoEscalate",
  "SendReminder",
  "RecordActionsDue",
  "RequestReferral",
  "ApproveReferral",
  "CompleteAction",
  "MissAction",
  "Reopen",
  "NoteDifference",
  "Withdraw",
  "Close",
] as const satisfies readonly Command["type"][];

/** The random choices of one step; `interpret` turns them into a command against the current state. */
interface Choice {
  readonly type: (typeof COMMAND_TYPES)[number];
  /** 0-6: the command's natural actor; 7 the IRO service manager; 8 the other raiser role; 9 a stranger. */
  readonly who: number;
  readonly pick: number;
  readonly flag: boolean;
  readonly flag2: boolean;
  /** Minutes to move the clock on before the command: up to about three weeks. */
  readonly advance: number;
}

/** How often each command is tried: moves up the ladder often, endings rarely, so runs get deep. */
const WEIGHTS: Record<Choice["type"], number> = {
  Raise: 1,
  Acknowledge: 2,
  Respond: 2,
  RecordMeeting: 2,
  AgreeActionPlan: 2,
  MarkResolved: 1,
  Escalate: 6,
  Bypass: 3,
  AutoEscalate: 6,
  SendReminder: 4,
  RecordActionsDue: 3,
  RequestReferral: 4,
  ApproveReferral: 4,
  CompleteAction: 3,
  MissAction: 3,
  Reopen: 3,
  NoteDifference: 2,
  Withdraw: 1,
  Close: 1,
};

const choiceArb: fc.Arbitrary<Choice> = fc.record({
  type: fc.oneof(...COMMAND_TYPES.map((t) => ({ weight: WEIGHTS[t], arbitrary: fc.constant(t) }))),
  who: fc.nat({ max: 9 }),
  pick: fc.nat({ max: 1000 }),
  flag: fc.boolean(),
  flag2: fc.boolean(),
  advance: fc.oneof(fc.nat({ max: 600 }), fc.nat({ max: 30_000 })),
});

interface Setup {
  readonly protocol: Protocol;
  readonly track: Track;
  readonly raiserRole: "IRO" | "CPC";
  readonly partner: boolean;
  readonly vacant: readonly string[];
  readonly start: number;
}

const setupArb: fc.Arbitrary<Setup> = fc
  .record({
    protocol: fc.constantFrom(...protocols),
    trackPick: fc.nat({ max: 1 }),
    raiserRole: fc.constantFrom("IRO" as const, "CPC" as const),
    partner: fc.boolean(),
    vacant: fc.oneof(
      { weight: 5, arbitrary: fc.constant<string[]>([]) },
      { weight: 1, arbitrary: fc.subarray(["team_manager", "head_of_service", "service_manager"]) },
    ),
    // Any instant in 2026-2027, so bank holidays and clock changes are crossed.
    start: fc.integer({ min: Date.UTC(2026, 0, 1), max: Date.UTC(2027, 11, 1) }),
  })
  .map(({ protocol, trackPick, ...rest }) => {
    const tracks = Object.keys(protocol.tracks) as Track[];
    return { protocol, track: tracks[trackPick % tracks.length] ?? "CP", ...rest };
  });

function at<T>(items: readonly T[], pick: number): T | undefined {
  return items.length === 0 ? undefined : items[pick % items.length];
}

function actorFor(choice: Choice, state: ChallengeState, setup: Setup): Actor {
  const raiser = state.status === "none" ? RAISERS[setup.raiserRole] : state.raiser;
  if (choice.who === 7) return ISM;
  if (choice.who === 8) return choice.flag ? TIMER : setup.raiserRole === "IRO" ? RAISERS.CPC : RAISERS.IRO;
  if (choice.who === 9) return STRANGER;
  const assignee = state.currentStage?.assignee;
  const recipient: Actor | undefined =
    assignee === undefined ? undefined : { id: assignee.personId, role: "manager" };
  switch (choice.type) {
    case "Acknowledge":
    case "Respond":
      return recipient ?? raiser;
    case "RecordMeeting":
    case "AgreeActionPlan":
      return choice.who % 2 === 0 ? (recipient ?? raiser) : raiser;
    case "AutoEscalate":
    case "SendReminder":
    case "RecordActionsDue":
      return TIMER;
    case "CompleteAction":
    case "MissAction": {
      const plan = state.actionPlan;
      const stage =
        plan === null
          ? undefined
          : setup.protocol.tracks[state.track]?.stages.find((s) => s.id === plan.stageId);
      return choice.who % 2 === 0 || stage === undefined
        ? raiser
        : { id: personId(stage.recipient.role), role: "manager" };
    }
    default:
      return raiser;
  }
}

function interpret(choice: Choice, state: ChallengeState, setup: Setup, now: Date): Command {
  const { protocol } = setup;
  const track = protocol.tracks[state.status === "none" ? setup.track : state.track];
  const stages = track?.stages ?? [];
  const stageIds = [...stages.map((s) => s.id), "no-such-stage"];
  const actor = actorFor(choice, state, setup);
  const channel =
    actor.role === "system"
      ? ("timer" as const)
      : choice.pick % 4 === 0
        ? ("email" as const)
        : ("api" as const);
  const base = { challengeId: CHALLENGE, actor, channel };
  const today = calendar.londonDate(now);

  switch (choice.type) {
    case "Raise": {
      const start = choice.flag ? at(stageIds, choice.pick) : undefined;
      const themes = protocol.themes.map((t) => t.id).slice(0, choice.pick % 3);
      return {
        type: "Raise",
        ...base,
        form: form({
          track: setup.track,
          raiserRole: setup.raiserRole,
          themes: choice.pick % 17 === 0 ? ["not-a-theme"] : themes,
          immediateRisk: choice.flag2,
          ...(setup.partner ? { partnerAgency: { id: "partner-x", name: "Partner X" } } : {}),
        }),
        ...(start === undefined ? {} : { startAtStageId: start }),
        ...(choice.pick % 5 === 0 ? {} : { bypassRationale: "Child at risk; delay is harmful." }),
        ...(choice.flag2 ? { safeguardingConcern: true } : {}),
      };
    }
    case "Acknowledge":
      return { type: "Acknowledge", ...base };
    case "Respond":
      return { type: "Respond", ...base, response: "We will convene a meeting." };
    case "RecordMeeting":
      return {
        type: "RecordMeeting",
        ...base,
        heldOn: choice.flag ? today : "2099-01-01",
        attendees: ["IRO", "Manager"],
        summary: "Discussed the plan.",
      };
    case "AgreeActionPlan":
      return {
        type: "AgreeActionPlan",
        ...base,
        actions: Array.from({ length: (choice.pick % 3) + 1 }, (_, i) => ({
          action: `Action ${i + 1}`,
          byWhen: today,
          byWhom: "Team Manager",
        })),
      };
    case "MarkResolved":
      return { type: "MarkResolved", ...base, summary: "Resolved." };
    case "Escalate":
      return { type: "Escalate", ...base, reasons: "The response does not resolve the matter." };
    case "Bypass":
      return {
        type: "Bypass",
        ...base,
        toStageId: at(stageIds, choice.pick) ?? "x",
        rationale: "Delay is harming the child.",
        ...(choice.flag ? { safeguardingConcern: choice.flag2 } : {}),
      };
    case "AutoEscalate":
      return {
        type: "AutoEscalate",
        ...base,
        stageId: choice.flag ? (state.currentStage?.stageId ?? "none") : (at(stageIds, choice.pick) ?? "x"),
      };
    case "SendReminder":
      return {
        type: "SendReminder",
        ...base,
        stageId: choice.flag ? (state.currentStage?.stageId ?? "none") : (at(stageIds, choice.pick) ?? "x"),
      };
    case "RecordActionsDue": {
      // Mostly the actions whose date has passed and that are not yet recorded as due (what the
      // workflow sends); sometimes all of them, or an unknown one.
      const actions = state.actionPlan?.actions ?? [];
      const fallen = actions
        .filter((a) => a.status === "open" && a.dueNotifiedAt === undefined && a.byWhen < today)
        .map((a) => a.id);
      const ids = choice.flag
        ? fallen
        : choice.flag2
          ? actions.map((a) => a.id)
          : [...fallen.slice(0, 1), "no-such-action"];
      return { type: "RecordActionsDue", ...base, actionIds: ids.length === 0 ? ["none-due"] : ids };
    }
    case "RequestReferral": {
      const kind = choice.flag ? ("cafcass" as const) : ("partnership" as const);
      const ids = track?.[kind]?.attestations.map((a) => a.id) ?? [];
      return {
        type: "RequestReferral",
        ...base,
        kind,
        rationale: "Acute concern.",
        attestations: choice.flag2 ? ids : ids.slice(0, choice.pick % (ids.length + 1)),
      };
    }
    case "ApproveReferral": {
      const kind = choice.flag ? ("cafcass" as const) : ("partnership" as const);
      const roles = [...(track?.[kind]?.approvalBy.map((r) => r.role) ?? []), "not_an_approver"];
      const approverRole = at(roles, choice.pick) ?? "x";
      return {
        type: "ApproveReferral",
        ...base,
        ...(choice.who < 7
          ? {
              actor: {
                id: personId(approverRole),
                role: approverRole === "iro_service_manager" ? "iro_service_manager" : "manager",
              },
            }
          : {}),
        kind,
        approverRole,
      };
    }
    case "CompleteAction":
    case "MissAction": {
      const ids = [...(state.actionPlan?.actions.map((a) => a.id) ?? []), "no-such-action"];
      const actionId = at(ids, choice.pick) ?? "x";
      return choice.type === "CompleteAction"
        ? { type: "CompleteAction", ...base, actionId }
        : { type: "MissAction", ...base, actionId, note: "Not done." };
    }
    case "Reopen":
      return { type: "Reopen", ...base, reason: "The agreed actions were not implemented." };
    case "NoteDifference":
      return { type: "NoteDifference", ...base, summary: "The IRO maintains their position." };
    case "Withdraw":
      return { type: "Withdraw", ...base, reason: "No longer needed." };
    case "Close":
      return { type: "Close", ...base, summary: "Closed." };
  }
}

/**
 * When the clock stands for the next command: usually as the choice moved it; for some reminders,
 * the stage's reminder time (as the workflow's timer would fire), so reminders are not left to chance.
 */
function timerMoment(choice: Choice, state: ChallengeState, setup: Setup, now: number): number {
  const stage = state.currentStage;
  if (choice.type !== "SendReminder" || !choice.flag2 || stage === null) return now;
  const at = reminderTime(stage.deadline, setup.protocol, calendar)?.getTime();
  return at === undefined || at <= now ? now : at + (choice.pick % 120) * 60_000;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

function checkInvariants(state: ChallengeState, events: readonly ChallengeEvent[], setup: Setup): void {
  expect(state.version).toBe(events.length);
  expect(replay(events)).toEqual(state);
  if (state.status === "none") return;

  const track = setup.protocol.tracks[state.track];
  expect(track).toBeDefined();
  const stages = track?.stages ?? [];
  const open = state.currentStage;
  expect(open !== null).toBe(state.status === "open");
  if (open !== null) {
    expect(stages[open.stageIndex]?.id).toBe(open.stageId);
    expect(Date.parse(open.deadline)).toBeGreaterThan(Date.parse(open.openedAt));
    expect(state.highestStageIndex).toBeGreaterThanOrEqual(open.stageIndex);
  }
  if (open !== null) {
    // A challenge can never stall: an open stage always has a next deadline check for the timer
    // (its deadline; once the raiser is asked, the end of their decision window), unless the
    // protocol's rule left the next step to the raiser alone (alert_raiser).
    const stage = stages[open.stageIndex];
    const check = nextDeadlineCheck(open);
    if (open.raiserAlertedAt === undefined) {
      expect(check?.getTime()).toBe(Date.parse(open.deadline));
    } else {
      expect(Date.parse(open.raiserAlertedAt)).toBeGreaterThanOrEqual(Date.parse(open.deadline));
      const rule =
        stage === undefined ? undefined : deadlineRule(stage, open.raiserAlertReason ?? "no_response").action;
      if (rule === "ask_raiser") {
        expect(check).toBeDefined();
        expect(Date.parse(open.raiserDecisionBy ?? "")).toBeGreaterThan(Date.parse(open.raiserAlertedAt));
      } else {
        expect(rule).toBe("alert_raiser");
        expect(check).toBeUndefined();
      }
    }
  }
  expect(state.highestStageIndex).toBeLessThan(stages.length);
  for (const visit of state.history) {
    expect(stages.some((s) => s.id === visit.stageId)).toBe(true);
    expect(Date.parse(visit.exitedAt)).toBeGreaterThanOrEqual(Date.parse(visit.openedAt));
  }
  expect(state.lastExitedStageId).toBe(state.history.at(-1)?.stageId ?? null);
  expect(state.autoEscalations).toBe(state.history.filter((v) => v.exit === "no_response").length);
  if (state.status === "monitoring") expect(state.actionPlan).not.toBeNull();

  // Reminders: at most one per stage visit, between its opening and its deadline, and only while
  // it had no response; the stage's state says when.
  let visit: { deadline: string; openedAt: string; reminders: number; responded: boolean } | undefined;
  for (const event of events) {
    if (event.type === "StageOpened") {
      visit = {
        deadline: event.data.deadline,
        openedAt: event.data.openedAt,
        reminders: 0,
        responded: false,
      };
    } else if (event.type === "ResponseRecorded" && visit !== undefined) {
      visit.responded = true;
    } else if (event.type === "ReminderSent") {
      expect(visit).toBeDefined();
      if (visit === undefined) continue;
      visit.reminders += 1;
      expect(visit.reminders).toBe(1);
      expect(visit.responded).toBe(false);
      expect(event.data.deadline).toBe(visit.deadline);
      expect(Date.parse(event.at)).toBeGreaterThan(Date.parse(visit.openedAt));
      expect(Date.parse(event.at)).toBeLessThan(Date.parse(visit.deadline));
      expect(event.actor).toEqual(TIMER);
    }
  }
  if (open?.remindedAt !== undefined) {
    const reminder = events.filter((e) => e.type === "ReminderSent").at(-1);
    expect(reminder?.at).toBe(open.remindedAt);
    expect(Date.parse(open.remindedAt)).toBeLessThan(Date.parse(open.deadline));
    expect(setup.protocol.reminderWorkingDaysBeforeDeadline).toBeGreaterThan(0);
  }

  // Actions fall due once each, and only after their date (London).
  const fellDue = events.flatMap((e) => (e.type === "ActionsFellDue" ? e.data.actionIds : []));
  expect(new Set(fellDue).size).toBe(fellDue.length);
  for (const action of state.actionPlan?.actions ?? []) {
    if (action.dueNotifiedAt === undefined) continue;
    expect(fellDue).toContain(action.id);
    expect(action.byWhen < calendar.londonDate(new Date(action.dueNotifiedAt))).toBe(true);
  }
}

describe("the challenge aggregate under random command sequences", () => {
  it("keeps its invariants: replay equals the fold, versions count events, stages stay on the ladder", () => {
    // The timer's reminders and actions falling due are reached, so their invariants are exercised.
    const accepted = { ReminderSent: 0, ActionsFellDue: 0 };
    fc.assert(
      fc.property(
        setupArb,
        fc.array(choiceArb, { minLength: 10, maxLength: 50, size: "max" }),
        (setup, choices) => {
          let now = setup.start;
          let ids = 0;
          let state = deepFreeze(initialState(CHALLENGE));
          const events: ChallengeEvent[] = [];
          // Most sequences start by raising, so they get somewhere.
          const steps: Choice[] = [
            { type: "Raise", who: 0, pick: 1, flag: false, flag2: false, advance: 0 },
            ...choices,
          ];

          for (const choice of steps) {
            now = timerMoment(choice, state, setup, now + choice.advance * 60_000);
            const idsFrom = (first: number) => {
              let n = first;
              return () => `a-${++n}`;
            };
            const ctx: DecideContext = {
              protocol: setup.protocol,
              calendar,
              directory: directory(setup.vacant),
              now: new Date(now),
              newId: idsFrom(ids),
            };
            const command = interpret(choice, state, setup, ctx.now);
            const result = decide(state, command, ctx);
            // Deterministic: the same inputs (and the same id sequence) give the same answer.
            expect(decide(state, command, { ...ctx, newId: idsFrom(ids) })).toEqual(result);
            ids += 100;
            if (!result.ok) {
              expect(result.error).toBeInstanceOf(DomainError);
              expect(result.error.message.length).toBeGreaterThan(10);
              continue;
            }
            // The one accepted no-op: a recipient acknowledging again records nothing new.
            if (result.events.length === 0) {
              expect(command.type).toBe("Acknowledge");
              continue;
            }
            result.events.forEach((event, i) => {
              expect(event.seq).toBe(state.version + i + 1);
              expect(event.challengeId).toBe(CHALLENGE);
              expect(event.at).toBe(ctx.now.toISOString());
              expect(event.actor).toEqual(command.actor);
            });
            const before = state.version;
            state = deepFreeze(result.events.reduce(evolve, state));
            expect(state.version).toBe(before + result.events.length);
            events.push(...result.events);
            for (const event of result.events) {
              if (event.type === "ReminderSent" || event.type === "ActionsFellDue") accepted[event.type] += 1;
            }
            checkInvariants(state, events, setup);
          }
        },
      ),
      { numRuns: 200 },
    );
    expect(accepted.ReminderSent).toBeGreaterThan(0);
    expect(accepted.ActionsFellDue).toBeGreaterThan(0);
  });

  it("never throws and never emits for a refused command, whatever the state", () => {
    fc.assert(
      fc.property(setupArb, fc.array(choiceArb, { minLength: 1, maxLength: 15 }), (setup, choices) => {
        let state = initialState(CHALLENGE);
        let now = setup.start;
        for (const choice of choices) {
          now += choice.advance * 60_000;
          const ctx: DecideContext = {
            protocol: setup.protocol,
            calendar,
            directory: directory(setup.vacant),
            now: new Date(now),
            newId: () => "a",
          };
          const result = decide(state, interpret(choice, state, setup, ctx.now), ctx);
          if (result.ok) state = result.events.reduce(evolve, state);
          else expect(Object.keys(result)).toEqual(["ok", "error"]);
        }
      }),
      { numRuns: 200 },
    );
  });
});
