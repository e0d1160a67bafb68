import { createHash } from "node:crypto";
import { isCalendarDay, overdueFrom } from "../domain/london-time.js";
import {
  type ChallengeState,
  type ChallengeStatus,
  type Command,
  type DecideResult,
  type DomainErrorCode,
  DomainError,
  TIMER_ACTOR,
  decide,
  evolve,
  nextDeadlineCheck,
  reminderTime,
} from "../domain/challenge/index.js";
import { startsRun } from "../domain/challenge/runs.js";
import type { Protocol } from "../domain/protocol.js";
import type { ChallengeStore } from "../store/ports.js";
import {
  type CommandRead,
  type Observer,
  type TenantContext,
  type TenantContextSource,
  type WorkflowSignal,
  executeCommand,
  executeFirstAccepted,
  readChallenge,
  tenantContextAt,
  tenantProtocol,
} from "../app/execute-command.js";

/**
 * The work behind the challenge workflow's Lambda tasks (statemachines/challenge.asl.json), pure over
 * ports and the clock: no AWS SDK here. The handlers in functions/workflow parse their input, call
 * one function below and return its result.
 *
 * The loop, per challenge:
 *
 *   OpenStage ─▶ AwaitResponse ─States.Timeout─▶ TimerThenAwait ─States.Timeout─▶ StageTimedOut
 *      ▲              │ a person acted                │ a person acted               │ the fresh view
 *      └──────────────┴───────────────────────────────┘          AwaitResponse ◀─────┘
 *   (TimerThenAwait and StageTimedOut first apply the timer's action; TimerThenAwait then waits
 *   for the view's precomputed `then`: see {@link NextWait}.)
 *   monitoring: AwaitMonitoring (.waitForTaskToken, stageId "monitoring", TimeoutSecondsPath =
 *      seconds until nextActionDueAt) ─ a person acted ─▶ OpenStage
 *                                     └ States.Timeout ─▶ CheckActions ─▶ AwaitMonitoring ...
 *
 * An open stage is waited for in up to two steps: until its reminder time, when the protocol
 * reminds the recipient and no reminder has been sent (StageTimedOut then sends it: SendReminder),
 * then until its deadline (StageTimedOut applies the stage's deadline rule: AutoEscalate), and, when
 * that rule asked the raiser to decide, until the end of their decision window (AutoEscalate again:
 * the stage escalates if they did neither). A response does not end the waiting: a deadline is a
 * resolution deadline (domain: timer.ts `nextDeadlineCheck`). CheckActions
 * records the actions that fell due (RecordActionsDue) before it answers.
 *
 * Every task re-reads the stored challenge and decides from it, never from what the execution
 * remembers: a task re-run (retry, local resume, a late timer) finds the challenge where it is.
 * The timer's commands go through the application service like anyone's, and `decide` refuses
 * what is no longer due, so a re-run writes nothing twice. Notifications are not sent here: the
 * event reactor (functions/reactor/reactor.ts) derives them from committed events (the reminder and
 * the action-due emails included).
 *
 * Runs: an execution ends when the challenge is resolved, withdrawn or closed. A challenge reopened
 * after it was resolved is timed by a new execution (a new run), named from the seq of the
 * `Reopened` event that started it; the first run is named from `ChallengeRaised` (seq 1). A run
 * that finds a later run has started ends itself (OpenStage/CheckActions answer "superseded").
 */

export interface WorkflowTaskDependencies {
  readonly challenges: ChallengeStore;
  readonly tenants: TenantContextSource;
  readonly protocols: (protocolId: string) => Protocol | undefined;
  /** The service clock (functions/shared/clock.ts `now` in production). */
  readonly clock: () => Date;
  readonly observer?: Observer;
}

/** Completes a waiting `.waitForTaskToken` task (SendTaskSuccess). */
export interface TaskCompletion {
  /** "gone" when the token no longer waits (already completed, timed out, or unknown). */
  succeed(taskToken: string, output: unknown): Promise<"sent" | "gone">;
}

/** Starts a run of a challenge's workflow; starting it again must be harmless (see {@link executionName}). */
export type ExecutionStarter = Pick<WorkflowSignal, "start">;

/** The challenge does not exist: the workflow was started or resumed for nothing (a fault: the task fails). */
export class ChallengeNotFoundError extends Error {
  override readonly name = "ChallengeNotFoundError";
  constructor(
    readonly tenantId: string,
    readonly challengeId: string,
  ) {
    super(`no challenge ${challengeId} for tenant ${tenantId}`);
  }
}

/** The stored challenge is in a shape the workflow cannot act on (e.g. open without a stage). */
export class InconsistentChallengeError extends Error {
  override readonly name = "InconsistentChallengeError";
}

/**
 * How long after an unanswered check the workflow looks again when the timer has nothing left to do
 * at an open stage (the recipient answered, the raiser was alerted, nobody holds the next stage's
 * role yet): close of business on the next working day. A person's action wakes it sooner.
 */
export const RECHECK_WORKING_DAYS = 1;

/** How often actions that fell due and are still open are asked about again: every 5 working days. */
export const ACTION_FOLLOW_UP_WORKING_DAYS = 5;

// ---------------------------------------------------------------------------------------------
// Execution names

const NAME_PART = /[^A-Za-z0-9_-]/g;
const DIGEST_HEX = 24;
/** Event seqs have at most 10 digits (the store's sort keys: functions/store/table.ts). */
const MAX_SEQ = 9_999_999_999;
const NAMED_RUN = new RegExp(`-([1-9][0-9]{0,9})-[0-9a-f]{${DIGEST_HEX}}$`);

/** The seq of the event that starts a challenge's first run: `ChallengeRaised` is always event 1. */
export const FIRST_RUN_SEQ = 1;

/**
 * The execution name of one run of a challenge's workflow, derived from the tenant, the challenge
 * id and the seq of the event that started the run (`ChallengeRaised`: 1; a `Reopened` event whose
 * challenge had been resolved: its seq). Every start of the same run (the API after a raise or a
 * reopen, the event reactor, a redelivered stream record, a repair sweep) names the same execution
 * and cannot fork it; a reopened challenge gets a name its first run never had.
 *
 * Step Functions names: 1-80 characters; we keep to [A-Za-z0-9_-] so the name is also a valid
 * CloudWatch Logs name. `<tenant, ≤16>-<challenge, ≤26 (a ULID)>-<seq>-<24 hex of SHA-256(tenant \n
 * id \n seq)>` (at most 79 characters): readable in the console, and the hash of the exact values
 * keeps names of different challenges apart even when the readable parts are truncated or had
 * characters replaced.
 */
export function executionName(
  tenantId: string,
  challengeId: string,
  startSeq: number = FIRST_RUN_SEQ,
): string {
  if (tenantId.length === 0 || challengeId.length === 0) {
    throw new Error("an execution name needs a tenant id and a challenge id");
  }
  if (!Number.isSafeInteger(startSeq) || startSeq < 1 || startSeq > MAX_SEQ) {
    throw new Error(`an execution name needs the seq of the event that started the run, got ${startSeq}`);
  }
  const digest = createHash("sha256")
    .update(`${tenantId}\n${challengeId}\n${startSeq}`, "utf8")
    .digest("hex")
    .slice(0, DIGEST_HEX);
  const tenant = tenantId.replace(NAME_PART, "_").slice(0, 16);
  const challenge = challengeId.replace(NAME_PART, "_").slice(0, 26);
  return `${tenant}-${challenge}-${startSeq}-${digest}`;
}

/**
 * The start seq of the run an execution name was made for by {@link executionName}, checked by
 * making the name again; undefined for a name this service did not give the challenge (a test, a
 * start by hand), whose run then cannot be superseded.
 */
export function runStartSeq(tenantId: string, challengeId: string, name: string): number | undefined {
  const match = NAMED_RUN.exec(name);
  if (match?.[1] === undefined) return undefined;
  const seq = Number(match[1]);
  return executionName(tenantId, challengeId, seq) === name ? seq : undefined;
}

// ---------------------------------------------------------------------------------------------
// Starting runs: the event reactor's workflow step

/** One record of a DynamoDB stream batch, reduced to what the starter reads from the new image. */
export interface StreamItemRecord {
  /** The record's SequenceNumber: what Lambda's partial batch response names. */
  readonly itemIdentifier: string;
  readonly eventName?: string;
  readonly item?: {
    readonly entity?: string;
    readonly type?: string;
    readonly tenantId?: string;
    readonly challengeId?: string;
    /** The event's seq (`event.seq`). */
    readonly seq?: number;
    /** A `Reopened` event's `event.data.fromStatus`. */
    readonly fromStatus?: string;
  };
}

export interface BatchResult {
  readonly batchItemFailures: { readonly itemIdentifier: string }[];
}

/**
 * Which run of the workflow a stream record starts: the start seq, "none" (most events start
 * nothing; a reopen from monitoring wakes the running execution through its task token instead),
 * or "malformed" (an event that should say and does not: a fault to report, never to drop).
 */
export function runStartedBy(record: StreamItemRecord): number | "none" | "malformed" {
  const item = record.item;
  const inserted = record.eventName === undefined || record.eventName === "INSERT";
  if (!inserted || item?.entity !== "event") return "none";
  let startSeq: number;
  if (item.type === "ChallengeRaised") {
    startSeq = FIRST_RUN_SEQ;
  } else if (item.type === "Reopened") {
    if (item.fromStatus === "monitoring") return "none";
    if (item.fromStatus !== "resolved") return "malformed";
    if (item.seq === undefined || !Number.isSafeInteger(item.seq) || item.seq <= FIRST_RUN_SEQ) {
      return "malformed";
    }
    startSeq = item.seq;
  } else {
    return "none";
  }
  const { tenantId, challengeId } = item;
  if (tenantId === undefined || tenantId === "" || challengeId === undefined || challengeId === "") {
    return "malformed";
  }
  return startSeq;
}

/**
 * Starts one run per `ChallengeRaised` event item inserted, and one per `Reopened` event item
 * whose challenge had been resolved (its run had ended); other records are skipped. Every record
 * is tried even after one fails, and the failures are reported by sequence number, so Lambda
 * checkpoints past the records before the first failure and redelivers from it; a start that
 * already happened is harmless on redelivery (same name and input).
 */
export async function startExecutions(
  records: readonly StreamItemRecord[],
  starter: ExecutionStarter,
  observer?: Observer,
): Promise<BatchResult & { readonly started: number }> {
  const batchItemFailures: { itemIdentifier: string }[] = [];
  let started = 0;
  for (const record of records) {
    const startSeq = runStartedBy(record);
    if (startSeq === "none") continue;
    const tenantId = record.item?.tenantId ?? "";
    const challengeId = record.item?.challengeId ?? "";
    if (startSeq === "malformed") {
      // A run-starting event without its ids, seq or origin is a fault: report it, so it is
      // retried and then reaches the dead-letter queue (with an alarm) instead of being dropped.
      observer?.error(
        "run-starting event record without its ids, seq or fromStatus",
        { itemIdentifier: record.itemIdentifier, type: record.item?.type },
        undefined,
      );
      batchItemFailures.push({ itemIdentifier: record.itemIdentifier });
      continue;
    }
    try {
      await starter.start(tenantId, challengeId, startSeq);
      started += 1;
    } catch (error) {
      observer?.count("WorkflowStartFailed");
      observer?.error("could not start the challenge's workflow", { tenantId, challengeId, startSeq }, error);
      batchItemFailures.push({ itemIdentifier: record.itemIdentifier });
    }
  }
  return { batchItemFailures, started };
}

// ---------------------------------------------------------------------------------------------
// What the workflow sees of a challenge

/** What the timer will do when the wait ends with nobody having acted. */
export type OnTimeout =
  /** The recipient is reminded that the deadline is near (the wait then runs on to the deadline). */
  | "remind"
  /** The protocol escalates to the next stage (or off the end of the ladder). */
  | "escalate"
  /**
   * The protocol asks the raiser to resolve or escalate within a window; the wait then runs on to
   * the end of that window, when the stage escalates by itself if they did neither.
   */
  | "ask_raiser"
  /** The protocol tells the raiser, who decides what happens next. */
  | "alert_raiser"
  /** Nothing the timer can do (raiser told and theirs to decide, escalation stopped): look again later. */
  | "recheck"
  /** The timer would act but cannot (e.g. nobody holds the next stage's role): look again later. */
  | "blocked";

/** A stage is open and waiting for its recipient. */
export interface OpenStageView {
  readonly status: "open";
  readonly stageId: string;
  /** The stage's deadline (ISO instant): resolved by then, or the protocol's deadline rule applies. */
  readonly deadline: string;
  /** Seconds from now until {@link waitUntil}; at least 1. The AwaitResponse task's TimeoutSecondsPath. */
  readonly timeoutSeconds: number;
  /**
   * When the wait ends if nobody acts: the reminder time (at once when it has passed and the
   * reminder is still to send), the deadline, at once when it has passed, or a later re-check.
   */
  readonly waitUntil: string;
  readonly onTimeout: OnTimeout;
  /** The challenge version read: AwaitResponse tells a stale view from a fresh one. */
  readonly version: number;
  /**
   * The wait after this one, if the timer acts when this one ends and nobody acts first (see
   * {@link NextWait}), and so on: {@link FORESEEN_WAITS} deep in a view OpenStage or StageTimedOut
   * returns, none in the last one worked out.
   */
  readonly then?: NextWait;
}

/** An action plan is being monitored. */
export interface MonitoringView {
  readonly status: "monitoring";
  /** When to look at the plan next (ISO instant; may be past: the workflow then looks at once). */
  readonly nextActionDueAt: string;
  /** Seconds from now until {@link nextActionDueAt}; at least 1. The AwaitMonitoring task's TimeoutSecondsPath. */
  readonly timeoutSeconds: number;
  readonly version: number;
}

/**
 * Nothing left for this run to time: resolved, withdrawn, closed, every stage tried, or
 * "superseded" (the challenge was resolved and reopened since this run started: a later run times it).
 */
export interface FinishedView {
  readonly status: "finished";
  readonly outcome:
    Extract<ChallengeStatus, "resolved" | "withdrawn" | "closed" | "ladder_exhausted"> | "superseded";
  readonly version: number;
}

export type StageView = OpenStageView | MonitoringView | FinishedView;

/**
 * The wait that follows an open stage's wait when the timer acts at its end and nobody acts first,
 * worked out in advance by a dry run of the timer's command (`decide`, nothing written): after the
 * reminder, the deadline; after an escalation, the next stage's reminder time or deadline. The
 * workflow's TimerThenAwait task applies the timer's action and waits for this one in the same
 * task (its TimeoutSecondsPath is `then.timeoutSeconds`); it checks the challenge is where the dry
 * run said (stage, version, deadline, and the instant a fresh read would wait until) and otherwise
 * ends its wait at once, so the loop re-reads.
 * `timeoutSeconds` counts from the end of the wait before. Finished: nothing left to wait for, the
 * task ends its wait at once ({@link SETTLE_SECONDS} only bounds a lost completion).
 */
export type NextWait = OpenStageView | SettlingWait;

/**
 * A view nothing is waited on in a chain of waits (finished; or monitoring, which a stage wait does
 * not wait on): the task ends its wait at once, and {@link SETTLE_SECONDS} only bounds a lost
 * completion. `then` repeats it to the chain's depth, so every path the ASL reads exists.
 */
export type SettlingWait<V extends FinishedView | MonitoringView = FinishedView> = V & {
  readonly timeoutSeconds: number;
  readonly then?: SettlingWait<V>;
};

/** The timeout of a wait that is ended at once by its own task: only a lost completion lets it run. */
export const SETTLE_SECONDS = 60;

/**
 * How many waits after the current one a view works out in advance (`then`, `then.then`, ...): the
 * ASL's TimerThenAwait, TimerThenAwait2, ... each wait on one of them, so a stage's reminder and
 * deadline and the next stage's cost one state transition each, and only every fifth timer
 * instant needs StageTimedOut's fresh read (a four-level ladder: 14 transitions, 17 with one).
 * Changing it means changing statemachines/challenge.asl.json, whose states name each depth.
 */
export const FORESEEN_WAITS = 4;

/** A view padded with settling waits `depth` deep (see {@link SettlingWait}). */
function settling<V extends FinishedView | MonitoringView>(view: V, depth: number): SettlingWait<V> {
  const wait = { ...view, timeoutSeconds: SETTLE_SECONDS };
  return depth <= 0 ? wait : { ...wait, then: settling(view, depth - 1) };
}

/** The tenant's calendar and directory at `version` (the one read with the challenge; unset: read afresh). */
function tenantContext(
  deps: WorkflowTaskDependencies,
  tenantId: string,
  version?: number,
): Promise<TenantContext> {
  return tenantContextAt(deps.tenants, tenantId, version);
}

/** A task's read of the challenge (one consistent read with the tenant's version) and the state in it. */
interface TaskRead {
  readonly read: CommandRead;
  readonly state: ChallengeState;
}

/** The task's one read: the snapshot and the tenant's version (no task token: tasks signal nobody). */
async function readForTask(deps: WorkflowTaskDependencies, ref: ChallengeRef): Promise<TaskRead> {
  const read = await readChallenge(deps.challenges, ref.tenantId, ref.challengeId);
  const stored = read.challenge;
  if (stored === undefined || stored.state.status === "none")
    throw new ChallengeNotFoundError(ref.tenantId, ref.challengeId);
  return { read, state: stored.state };
}

async function loadChallenge(
  deps: WorkflowTaskDependencies,
  tenantId: string,
  challengeId: string,
): Promise<ChallengeState> {
  const stored = await deps.challenges.get(tenantId, challengeId);
  if (stored === undefined || stored.state.status === "none")
    throw new ChallengeNotFoundError(tenantId, challengeId);
  return stored.state;
}

function timerCommand(challengeId: string, stageId: string): Command {
  return { type: "AutoEscalate", challengeId, actor: TIMER_ACTOR, channel: "timer", stageId };
}

function reminderCommand(challengeId: string, stageId: string): Command {
  return { type: "SendReminder", challengeId, actor: TIMER_ACTOR, channel: "timer", stageId };
}

function protocolOf(deps: WorkflowTaskDependencies, state: ChallengeState, context: TenantContext): Protocol {
  return tenantProtocol(deps.protocols, state.protocolId, context.settings);
}

/**
 * When the open stage's reminder is to be sent, if one still is: its reminder time, or now when
 * that has passed but the deadline has not. `decide` run as a dry run of SendReminder then, so
 * the rules (reminders on in the protocol, not yet sent, no response yet, before the deadline)
 * stay in the domain. Undefined when no reminder is to be sent.
 */
function reminderDue(
  deps: WorkflowTaskDependencies,
  state: ChallengeState,
  stageId: string,
  deadline: string,
  context: TenantContext,
  now: Date,
): Date | undefined {
  const protocol = protocolOf(deps, state, context);
  const at = reminderTime(deadline, protocol, context.calendar);
  if (at === undefined) return undefined;
  const when = new Date(Math.max(at.getTime(), now.getTime()));
  return dryRun(deps, state, reminderCommand(state.challengeId, stageId), context, when).ok
    ? when
    : undefined;
}

/**
 * `decide` as a dry run at `at` (its result is never written), so what the timer would do stays
 * the domain's rule.
 */
function dryRun(
  deps: WorkflowTaskDependencies,
  state: ChallengeState,
  command: Command,
  context: TenantContext,
  at: Date,
): DecideResult {
  return decide(state, command, {
    protocol: protocolOf(deps, state, context),
    calendar: context.calendar,
    directory: context.directory,
    now: at,
    newId: () => "dry-run",
  });
}

/** Codes of a refused AutoEscalate that mean "the timer would act, but cannot yet". */
const BLOCKED: ReadonlySet<DomainErrorCode> = new Set(["NO_RECIPIENT"]);

/** What the timer would do at `at` if nothing else happened first. */
function timerOutcomeAt(
  deps: WorkflowTaskDependencies,
  state: ChallengeState,
  stageId: string,
  context: TenantContext,
  at: Date,
): OnTimeout {
  const decision = dryRun(deps, state, timerCommand(state.challengeId, stageId), context, at);
  if (!decision.ok) return BLOCKED.has(decision.error.code) ? "blocked" : "recheck";
  const alerted = decision.events.find((e) => e.type === "RaiserAlerted");
  if (alerted === undefined) return "escalate";
  return alerted.data.decideBy === undefined ? "alert_raiser" : "ask_raiser";
}

/** The start of the London day after `byWhen`: an action due "by 10 March" is overdue from 11 March 00:00 London. */
export function actionDueAt(byWhen: string): Date {
  if (!isCalendarDay(byWhen))
    throw new InconsistentChallengeError(`action date ${JSON.stringify(byWhen)} is not a date`);
  return overdueFrom(byWhen);
}

function openActions(state: ChallengeState) {
  return (state.actionPlan?.actions ?? []).filter((a) => a.status === "open");
}

function secondsUntil(when: Date, now: Date): number {
  return Math.max(1, Math.ceil((when.getTime() - now.getTime()) / 1000));
}

function viewOf(
  deps: WorkflowTaskDependencies,
  state: ChallengeState,
  context: TenantContext,
  now: Date,
  /** How many waits after this one to work out (`then`, `then.then`, ...). */
  foresee = FORESEEN_WAITS,
): StageView {
  const version = state.version;
  switch (state.status) {
    case "open": {
      const stage = state.currentStage;
      if (stage === null) {
        throw new InconsistentChallengeError(`challenge ${state.challengeId} is open without an open stage`);
      }
      const deadline = new Date(stage.deadline);
      if (Number.isNaN(deadline.getTime())) {
        throw new InconsistentChallengeError(`stage ${stage.stageId} has no valid deadline`);
      }
      let waitUntil: Date;
      let onTimeout: OnTimeout;
      const reminder = reminderDue(deps, state, stage.stageId, stage.deadline, context, now);
      // The domain says when its deadline rule next applies: the deadline, then (the raiser asked
      // to decide) the end of their decision window; nothing once the raiser alone decides.
      const check = nextDeadlineCheck(stage);
      if (reminder !== undefined) {
        // Wait for the reminder time first; StageTimedOut sends it, and the loop then waits for the deadline.
        waitUntil = reminder;
        onTimeout = "remind";
      } else if (check === undefined) {
        // The raiser was told and the next step is theirs: their action wakes the task; look again later.
        onTimeout = "recheck";
        waitUntil = context.calendar.deadlineAfter(now, RECHECK_WORKING_DAYS);
      } else if (check.getTime() > now.getTime()) {
        // Wait for that instant; say what the timer will then do if nothing changes.
        waitUntil = check;
        onTimeout = timerOutcomeAt(deps, state, stage.stageId, context, check);
      } else {
        onTimeout = timerOutcomeAt(deps, state, stage.stageId, context, now);
        // Past it: time out at once when the timer has work to do, else wait for a person (their
        // action wakes the task) and look again on the next working day.
        waitUntil =
          onTimeout === "escalate" || onTimeout === "alert_raiser" || onTimeout === "ask_raiser"
            ? now
            : context.calendar.deadlineAfter(now, RECHECK_WORKING_DAYS);
      }
      const view: OpenStageView = {
        status: "open",
        stageId: stage.stageId,
        deadline: deadline.toISOString(),
        timeoutSeconds: secondsUntil(waitUntil, now),
        waitUntil: new Date(Math.max(waitUntil.getTime(), now.getTime() + 1000)).toISOString(),
        onTimeout,
        version,
      };
      if (foresee <= 0) return view;
      const ends = new Date(Math.max(waitUntil.getTime(), now.getTime()));
      return { ...view, then: nextWait(deps, state, stage.stageId, context, ends, foresee - 1) };
    }
    case "monitoring": {
      // The first open action's due time; none open (every action recorded): look again later,
      // until the raiser closes, resolves or reopens the challenge.
      const first = openActions(state)
        .map((a) => actionDueAt(a.byWhen))
        .sort((a, b) => a.getTime() - b.getTime())[0];
      const next = first ?? context.calendar.deadlineAfter(now, ACTION_FOLLOW_UP_WORKING_DAYS);
      return {
        status: "monitoring",
        nextActionDueAt: next.toISOString(),
        timeoutSeconds: secondsUntil(next, now),
        version,
      };
    }
    case "resolved":
    case "withdrawn":
    case "closed":
    case "ladder_exhausted":
      return { status: "finished", outcome: state.status, version };
    case "none":
      throw new InconsistentChallengeError(`challenge ${state.challengeId} has not been raised`);
  }
}

/**
 * The challenge as the timer would leave it at `at` if nobody acted first: the stage's reminder when
 * one is due, else its deadline rule, in that order (as {@link stageTimedOut} applies them), by a
 * dry run of `decide` folded with `evolve`; unchanged when neither applies.
 */
function afterTimer(
  deps: WorkflowTaskDependencies,
  state: ChallengeState,
  stageId: string,
  context: TenantContext,
  at: Date,
): ChallengeState {
  const ctx = {
    protocol: protocolOf(deps, state, context),
    calendar: context.calendar,
    directory: context.directory,
    now: at,
    newId: () => "dry-run",
  };
  for (const command of [
    reminderCommand(state.challengeId, stageId),
    timerCommand(state.challengeId, stageId),
  ]) {
    const decision = decide(state, command, ctx);
    if (decision.ok) return decision.events.reduce(evolve, state);
  }
  return state;
}

/** The {@link NextWait} after an open stage's wait that ends at `at`, with `foresee` more after it. */
function nextWait(
  deps: WorkflowTaskDependencies,
  state: ChallengeState,
  stageId: string,
  context: TenantContext,
  at: Date,
  foresee: number,
): NextWait {
  const view = viewOf(deps, afterTimer(deps, state, stageId, context, at), context, at, foresee);
  if (view.status === "open") return view;
  // The timer never starts monitoring; a finished challenge needs no wait.
  if (view.status === "finished") return settling(view, foresee);
  throw new InconsistentChallengeError(`the timer would leave challenge ${state.challengeId} monitoring`);
}

// ---------------------------------------------------------------------------------------------
// OpenStage

export interface ChallengeRef {
  readonly tenantId: string;
  readonly challengeId: string;
}

/** Which run is asking: the execution's name (`$$.Execution.Name`), when the ASL passes it. */
export interface RunRef extends ChallengeRef {
  readonly executionName?: string | undefined;
}

/**
 * The seq of the `Reopened` event that started a run later than the caller's, if any: the caller
 * is then a stale run (its Resolved signal was lost, so it was still waiting when the challenge was
 * reopened) and must end rather than time the challenge beside the new run. A run whose name this
 * service did not make (tests, a start by hand) is never superseded. The snapshot carries the
 * current run's start seq (store/ports.ts `ChallengeHead`); only a snapshot written before it was
 * kept sends this to the challenge's events.
 */
async function supersededBy(
  deps: WorkflowTaskDependencies,
  ref: RunRef,
  read?: CommandRead,
): Promise<number | undefined> {
  if (ref.executionName === undefined) return undefined;
  const startSeq = runStartSeq(ref.tenantId, ref.challengeId, ref.executionName);
  if (startSeq === undefined) return undefined;
  // Without the task's read (a caller that made none), the snapshot alone: one GetItem.
  const stored =
    read === undefined ? await deps.challenges.get(ref.tenantId, ref.challengeId) : read.challenge;
  const current = stored?.head?.runStartSeq;
  if (current !== undefined) return current > startSeq ? current : undefined;
  const events = await deps.challenges.events(ref.tenantId, ref.challengeId);
  const later = events.find(({ event }) => startsRun(event) && event.seq > startSeq);
  return later?.event.seq;
}

/** "superseded" when a later run has taken over the challenge (see {@link supersededBy}). */
async function supersededView(
  deps: WorkflowTaskDependencies,
  ref: RunRef,
  { read, state }: TaskRead,
): Promise<FinishedView | undefined> {
  const laterRun = await supersededBy(deps, ref, read);
  if (laterRun === undefined) return undefined;
  deps.observer?.warn("a later run of the workflow times this challenge: this run ends", {
    tenantId: ref.tenantId,
    challengeId: ref.challengeId,
    laterRunStartSeq: laterRun,
  });
  return { status: "finished", outcome: "superseded", version: state.version };
}

/**
 * Reads the challenge and says where it is: the open stage with its deadline and how long to wait,
 * the next time to look at an action plan, or that nothing is left to time. Writes nothing, so it
 * can run any number of times (every loop, every retry, every local resume).
 */
export async function openStage(deps: WorkflowTaskDependencies, ref: RunRef): Promise<StageView> {
  const taskRead = await readForTask(deps, ref);
  return stageViewOf(deps, ref, taskRead);
}

/**
 * OpenStage's answer from a read already made: a task merged with OpenStage (e.g. StageTimedOut
 * followed by OpenStage in one Lambda) passes what it read or wrote, and needs no second read.
 */
export async function stageViewOf(
  deps: WorkflowTaskDependencies,
  ref: RunRef,
  taskRead: { readonly read: CommandRead; readonly state: ChallengeState },
): Promise<StageView> {
  const context = await tenantContext(deps, ref.tenantId, taskRead.read.tenantVersion);
  const view = viewOf(deps, taskRead.state, context, deps.clock());
  if (view.status !== "finished") {
    const superseded = await supersededView(deps, ref, taskRead);
    if (superseded !== undefined) return superseded;
  }
  if (view.status === "open" && view.onTimeout === "blocked") {
    deps.observer?.count("AutoEscalationBlocked");
    deps.observer?.warn("the stage's no-response rule cannot be applied: check the staff directory", {
      tenantId: ref.tenantId,
      challengeId: ref.challengeId,
      stageId: view.stageId,
    });
  }
  return view;
}

// ---------------------------------------------------------------------------------------------
// AwaitResponse (and AwaitMonitoring, the same task for a monitored action plan)

/** The stageId a monitoring wait's token is stored under: the plan is monitored between stages. */
export const MONITORING_WAIT = "monitoring";

/** What a wait is for: the open stage's id, or {@link MONITORING_WAIT}; null when nothing waits. */
export function waitKeyOf(state: ChallengeState): string | null {
  if (state.status === "open") return state.currentStage?.stageId ?? null;
  if (state.status === "monitoring") return MONITORING_WAIT;
  return null;
}

export interface AwaitResponseInput extends ChallengeRef {
  readonly taskToken: string;
  /** The view the wait is for: its stage id (or {@link MONITORING_WAIT}), version and (a stage's) deadline. */
  readonly stage: {
    readonly stageId: string;
    readonly version?: number | undefined;
    readonly deadline?: string | undefined;
  };
}

/** SendTaskSuccess output when AwaitResponse ends its own wait: anything but a finishing action, so the loop re-reads. */
export interface StageChangedOutcome {
  readonly action: "stage_changed";
  readonly status: ChallengeState["status"];
  readonly stageId: string | null;
  readonly version: number;
}

export type AwaitResponseResult =
  | { readonly waiting: true; readonly stageId: string }
  | { readonly waiting: false; readonly outcome: StageChangedOutcome; readonly completion: "sent" | "gone" };

/**
 * Stores the task token for the stage, or for the monitored plan (replacing the previous one), then
 * re-reads the challenge. The order closes the race with a person acting at the same moment: a
 * command committed before the re-read is seen here (the challenge changed since OpenStage or
 * CheckActions read it: the wait is completed at once so the loop re-reads), and a command
 * committed after it reads the token stored here.
 */
export async function awaitResponse(
  deps: WorkflowTaskDependencies & { readonly completion: TaskCompletion },
  input: AwaitResponseInput,
): Promise<AwaitResponseResult> {
  const save = deps.challenges.saveTaskToken?.bind(deps.challenges);
  if (save === undefined)
    throw new Error("the challenge store keeps no task tokens: the workflow cannot wait");
  await save(input.tenantId, input.challengeId, input.stage.stageId, input.taskToken);

  const state = await loadChallenge(deps, input.tenantId, input.challengeId);
  const expectedDeadline = input.stage.deadline;
  const moved =
    waitKeyOf(state) !== input.stage.stageId ||
    (input.stage.version !== undefined && input.stage.version !== state.version) ||
    (expectedDeadline !== undefined &&
      Date.parse(state.currentStage?.deadline ?? "") !== Date.parse(expectedDeadline));
  if (!moved) return { waiting: true, stageId: input.stage.stageId };

  const outcome: StageChangedOutcome = {
    action: "stage_changed",
    status: state.status,
    stageId: state.currentStage?.stageId ?? null,
    version: state.version,
  };
  // "gone": somebody's action completed this token first; the loop re-reads either way.
  const completion = await deps.completion.succeed(input.taskToken, outcome);
  return { waiting: false, outcome, completion };
}

// ---------------------------------------------------------------------------------------------
// StageTimedOut

export type StageTimedOutResult =
  | { readonly result: "reminded"; readonly stageId: string; readonly version: number }
  | { readonly result: "escalated"; readonly toStageId: string | null; readonly version: number }
  | { readonly result: "raiser_alerted"; readonly version: number }
  | { readonly result: "nothing_to_do"; readonly code: DomainErrorCode };

/** Refusals of AutoEscalate that mean the timer has nothing to do now: the loop re-reads. */
const NOTHING_TO_DO: ReadonlySet<DomainErrorCode> = new Set([
  "DEADLINE_NOT_PASSED",
  "WRONG_STATUS",
  "NO_RECIPIENT",
]);

/** The workflow runs its timer commands itself and re-reads next: nothing to wake. */
const SELF: WorkflowSignal = {
  start: () => Promise.resolve(),
  notify: () => Promise.resolve(),
};

/**
 * The stage's wait timed out. First the reminder: when one is due now (the wait was until the
 * reminder time) it is sent (SendReminder) and that is all; the loop then waits for the deadline.
 * Otherwise the protocol's no-response rule (AutoEscalate). Both by the timer (channel "timer"),
 * through the application service, decided on one read and written in at most one transaction.
 * The domain decides: remind, escalate, alert the raiser, or refuse because the deadline has not
 * passed or the stage has moved on, which is a successful no-op here. Nobody holding the next
 * stage's role is a no-op too, reported: OpenStage then waits a working day and the timer tries
 * again, rather than the workflow dying. A late or repeated timeout sends no second reminder and
 * no reminder after the deadline: `decide` refuses both.
 */
export async function stageTimedOut(
  deps: WorkflowTaskDependencies,
  input: ChallengeRef & { readonly stage: { readonly stageId: string } },
): Promise<StageTimedOutResult> {
  try {
    // The workflow runs these itself and re-reads next: nothing to wake (signal: false).
    const { events, state } = await executeFirstAccepted(
      { ...deps, workflow: SELF },
      input.tenantId,
      [
        reminderCommand(input.challengeId, input.stage.stageId),
        timerCommand(input.challengeId, input.stage.stageId),
      ],
      { signal: false },
    );
    if (events.some((e) => e.type === "ReminderSent")) {
      deps.observer?.count("ReminderSent");
      return { result: "reminded", stageId: input.stage.stageId, version: state.version };
    }
    const escalated = events.find((e) => e.type === "Escalated");
    if (escalated !== undefined) {
      deps.observer?.count("AutoEscalated");
      return { result: "escalated", toStageId: escalated.data.toStageId, version: state.version };
    }
    deps.observer?.count("RaiserAlerted");
    return { result: "raiser_alerted", version: state.version };
  } catch (error) {
    if (!(error instanceof DomainError)) throw error;
    if (error.code === "NOT_FOUND") throw new ChallengeNotFoundError(input.tenantId, input.challengeId);
    if (!NOTHING_TO_DO.has(error.code)) throw error;
    if (BLOCKED.has(error.code)) {
      deps.observer?.count("AutoEscalationBlocked");
      deps.observer?.error(
        "the deadline passed but the challenge cannot move on: nobody holds the next stage's role",
        { tenantId: input.tenantId, challengeId: input.challengeId, stageId: input.stage.stageId },
        error,
      );
    }
    return { result: "nothing_to_do", code: error.code };
  }
}

// ---------------------------------------------------------------------------------------------
// CheckActions

export interface DueAction {
  readonly actionId: string;
  /** The agreed date (YYYY-MM-DD). Only ids and dates: the action's words stay in the table. */
  readonly byWhen: string;
}

export type CheckActionsResult =
  (MonitoringView & { readonly dueActions: readonly DueAction[] }) | OpenStageView | FinishedView;

/** Attempts at recording the actions that fell due when a person's action races the check. */
const RECORD_ATTEMPTS = 3;

/**
 * Records, through the application service (RecordActionsDue, by the timer), the open actions
 * whose date has passed and that the raiser has not yet been asked about. Returns the challenge as
 * it then stands. A refusal means the challenge changed meanwhile (an action recorded, the plan
 * reopened): it is read again and the rest recorded, a few times at most.
 */
async function recordActionsDue(
  deps: WorkflowTaskDependencies,
  ref: ChallengeRef,
  taskRead: TaskRead,
  now: Date,
): Promise<ChallengeState> {
  let { read, state: current } = taskRead;
  for (let attempt = 1; attempt <= RECORD_ATTEMPTS; attempt++) {
    if (current.status !== "monitoring") return current;
    const fallen = openActions(current)
      .filter((a) => a.dueNotifiedAt === undefined && actionDueAt(a.byWhen).getTime() <= now.getTime())
      .sort((a, b) => a.byWhen.localeCompare(b.byWhen) || a.id.localeCompare(b.id))
      .map((a) => a.id);
    if (fallen.length === 0) return current;
    try {
      const command: Command = {
        type: "RecordActionsDue",
        challengeId: ref.challengeId,
        actor: TIMER_ACTOR,
        channel: "timer",
        actionIds: fallen,
      };
      // Decided first on the task's own read (no second read); the workflow wakes nobody.
      const { state: after } = await executeCommand({ ...deps, workflow: SELF }, ref.tenantId, command, {
        read,
        signal: false,
      });
      deps.observer?.count("ActionsFellDue");
      return after;
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      if (error.code === "NOT_FOUND") throw new ChallengeNotFoundError(ref.tenantId, ref.challengeId);
      if (!NOTHING_TO_DO.has(error.code) && error.code !== "UNKNOWN_ACTION") throw error;
      ({ read, state: current } = await readForTask(deps, ref));
    }
  }
  return current;
}

/**
 * An action plan's check fell due. First records the actions that have fallen due and not yet
 * been asked about (RecordActionsDue: the raiser is emailed once per action, from the committed
 * event), then reports the actions due by then and still open and when to look next: the next
 * action's due time, or for actions still open after their date, again
 * {@link ACTION_FOLLOW_UP_WORKING_DAYS} working days on. Always later than now, so the monitoring
 * loop never spins. When the challenge is no longer being monitored, or a later run has taken
 * over, answers as OpenStage does (and records nothing). Re-runnable: a retry or a later check
 * finds the actions already recorded and writes nothing more; the same due date gives the same
 * answer.
 */
export async function checkActions(
  deps: WorkflowTaskDependencies,
  input: RunRef & { readonly dueAt: string },
): Promise<CheckActionsResult> {
  const taskRead = await readForTask(deps, input);
  const loaded = taskRead.state;
  const context = await tenantContext(deps, input.tenantId, taskRead.read.tenantVersion);
  const now = deps.clock();
  if (loaded.status !== "monitoring") {
    // Left monitoring: OpenStage (next in the ASL) reads it again, and ends a superseded run.
    const view = viewOf(deps, loaded, context, now);
    return view.status === "monitoring" ? { ...view, dueActions: [] } : view;
  }
  const superseded = await supersededView(deps, input, taskRead);
  if (superseded !== undefined) return superseded;

  const state = await recordActionsDue(deps, input, taskRead, now);
  if (state.status !== "monitoring") {
    const view = viewOf(deps, state, context, now);
    return view.status === "monitoring" ? { ...view, dueActions: [] } : view;
  }
  const dueAt = new Date(input.dueAt);
  const base = new Date(Math.max(now.getTime(), Number.isNaN(dueAt.getTime()) ? 0 : dueAt.getTime()));
  const open = openActions(state).map((action) => ({ action, due: actionDueAt(action.byWhen) }));
  const due = open.filter((a) => a.due.getTime() <= base.getTime());
  // The next action to fall due; and any due by `base` but not yet by the clock (a timer that
  // fired early): look again when it falls due, to record it then.
  const upcoming = open
    .filter(
      (a) =>
        a.due.getTime() > base.getTime() ||
        (a.action.dueNotifiedAt === undefined && a.due.getTime() > now.getTime()),
    )
    .map((a) => a.due.getTime())
    .sort((a, b) => a - b)[0];
  const followUp =
    due.length > 0 || open.length === 0
      ? context.calendar.deadlineAfter(base, ACTION_FOLLOW_UP_WORKING_DAYS).getTime()
      : undefined;
  const next = Math.min(upcoming ?? Number.POSITIVE_INFINITY, followUp ?? Number.POSITIVE_INFINITY);
  if (due.length > 0) deps.observer?.count("ActionsDue");
  return {
    status: "monitoring",
    nextActionDueAt: new Date(next).toISOString(),
    timeoutSeconds: secondsUntil(new Date(next), now),
    version: state.version,
    dueActions: due
      .sort((a, b) => a.due.getTime() - b.due.getTime() || a.action.id.localeCompare(b.action.id))
      .map(({ action }) => ({ actionId: action.id, byWhen: action.byWhen })),
  };
}

// ---------------------------------------------------------------------------------------------
// Waits chained without Choice states (statemachines/challenge.asl.json): AwaitResponse ─timeout─▶
// TimerThenAwait (the timer's action, then the view's `then` wait) ─timeout─▶ StageTimedOut (the
// timer's action, then the fresh view) ─▶ AwaitResponse. A reminder and a deadline cost three state
// transitions a stage instead of eight. Each task re-reads the challenge and ends its wait at once
// when it is not where the view said, so the loop re-reads it through OpenStage and RouteStage.

/** A wait ended by its own task because the challenge is finished: RouteOutcome ends the run. */
export interface FinishedOutcome {
  readonly action: "finished";
  readonly outcome: FinishedView["outcome"];
  readonly version: number;
}

/** What a wait task (AwaitResponse, TimerThenAwait, AwaitMonitoring) is given. */
export interface WaitInput extends RunRef {
  readonly taskToken: string;
  /** What the state waits for: an open stage, or a monitored plan (AwaitMonitoring). */
  readonly wait: "stage" | typeof MONITORING_WAIT;
  /** The view to wait on: a StageView, or a view's {@link NextWait}. */
  readonly stage:
    | {
        readonly status: "open";
        readonly stageId: string;
        readonly version?: number;
        readonly deadline?: string;
        /** When the wait ends: TimerThenAwait checks a fresh read would wait until the same instant. */
        readonly waitUntil?: string;
      }
    | { readonly status: "monitoring"; readonly version?: number }
    | { readonly status: "finished"; readonly outcome: FinishedView["outcome"]; readonly version: number };
  /**
   * TimerThenAwait: the stage whose wait timed out (and when it was to end); the timer's action due
   * then comes first. Without a stage id (a finished view's settling wait) there is nothing to act on.
   */
  readonly timedOut?: { readonly stageId?: string | undefined; readonly waitUntil?: string | undefined };
}

/**
 * How late TimerThenAwait may start and still wait for its precomputed `then`: its timeout counts
 * from its own start, so a wait that ended late ends the next one as late. Later than this (a
 * paused local runtime, a clock moved on, a backlog), it ends its wait at once and the loop times
 * the next wait afresh from OpenStage.
 */
export const CHAINED_WAIT_SLACK_MS = 30_000;

export type WaitResult = (
  | { readonly waiting: true; readonly stageId: string }
  | {
      readonly waiting: false;
      readonly outcome: StageChangedOutcome | FinishedOutcome;
      readonly completion: "sent" | "gone";
    }
) & { readonly timer?: StageTimedOutResult };

/**
 * A wait task: applies the timer's action first when the wait before it timed out (TimerThenAwait),
 * then waits on the view ({@link awaitResponse}: the token is stored, the challenge re-read). A
 * view it cannot wait on (finished; monitoring where a stage wait is asked, or the reverse: after
 * StageTimedOut, which routes no Choice) or a run a later run has superseded ends the wait at once.
 */
export async function awaitWait(
  deps: WorkflowTaskDependencies & { readonly completion: TaskCompletion },
  input: WaitInput,
): Promise<WaitResult> {
  const ref = { tenantId: input.tenantId, challengeId: input.challengeId };
  const timedOutStage = input.timedOut?.stageId;
  const timer =
    timedOutStage === undefined
      ? undefined
      : await stageTimedOut(deps, { ...ref, stage: { stageId: timedOutStage } });
  const withTimer = <R extends object>(result: R) => (timer === undefined ? result : { ...result, timer });
  const view = input.stage;
  const endNow = async (outcome: FinishedOutcome | StageChangedOutcome) =>
    withTimer({
      waiting: false as const,
      outcome,
      completion: await deps.completion.succeed(input.taskToken, outcome),
    });
  if (view.status === "finished") {
    return endNow({ action: "finished", outcome: view.outcome, version: view.version });
  }
  const endedAt = Date.parse(input.timedOut?.waitUntil ?? "");
  const late = deps.clock().getTime() - endedAt > CHAINED_WAIT_SLACK_MS;
  // After the timer's action, one read answers both checks of a chained wait.
  const reread = input.timedOut === undefined ? undefined : await readForTask(deps, ref);
  const superseded = reread !== undefined && (await supersededBy(deps, input, reread.read)) !== undefined;
  const unforeseen =
    reread !== undefined &&
    view.status === "open" &&
    !(await waitsAsForeseen(deps, ref.tenantId, reread, view));
  if (
    (view.status === "monitoring") !== (input.wait === MONITORING_WAIT) ||
    late ||
    superseded ||
    unforeseen
  ) {
    return endNow({
      action: "stage_changed",
      status: view.status,
      stageId: view.status === "open" ? view.stageId : null,
      version: view.version ?? 0,
    });
  }
  const stage =
    view.status === "open"
      ? { stageId: view.stageId, version: view.version, deadline: view.deadline }
      : { stageId: MONITORING_WAIT, version: view.version };
  return withTimer(await awaitResponse(deps, { ...input, stage }));
}

/**
 * Whether a fresh read of the challenge (as OpenStage reads it) would wait at the same stage until
 * the same instant as the wait worked out in advance: anything a person did meanwhile that moves
 * the next timer instant (a response that cancels the reminder, a shortened window, ...) shows here.
 */
async function waitsAsForeseen(
  deps: WorkflowTaskDependencies,
  tenantId: string,
  { read, state }: TaskRead,
  foreseen: { readonly stageId: string; readonly waitUntil?: string },
): Promise<boolean> {
  const context = await tenantContext(deps, tenantId, read.tenantVersion);
  const fresh = viewOf(deps, state, context, deps.clock(), 0);
  return (
    fresh.status === "open" &&
    fresh.stageId === foreseen.stageId &&
    Date.parse(fresh.waitUntil) === Date.parse(foreseen.waitUntil ?? "")
  );
}

/**
 * Every view the StageTimedOut task returns has what the TimeoutSecondsPath of AwaitResponse and
 * of each TimerThenAwait reads: `timeoutSeconds`, `then.timeoutSeconds`, ... {@link FORESEEN_WAITS} deep.
 */
export type WaitableView = StageView & {
  readonly timeoutSeconds: number;
  readonly then: NextWait | SettlingWait<MonitoringView>;
  readonly timer: StageTimedOutResult;
};

/**
 * StageTimedOut as the workflow runs it: the timer's action ({@link stageTimedOut}), then the
 * challenge read again as OpenStage reads it ({@link openStage}), so the next wait starts without
 * another task. A view with nothing to wait on gets {@link SETTLE_SECONDS}: AwaitResponse ends it.
 */
export async function stageTimedOutThenOpen(
  deps: WorkflowTaskDependencies,
  input: RunRef & { readonly stage: { readonly stageId?: string | undefined } },
): Promise<WaitableView> {
  // A settling wait (a finished view's) that timed out: nothing for the timer, only the re-read.
  const stageId = input.stage.stageId;
  const timer: StageTimedOutResult =
    stageId === undefined
      ? { result: "nothing_to_do", code: "WRONG_STATUS" }
      : await stageTimedOut(deps, { ...input, stage: { stageId } });
  const view = await openStage(deps, input);
  switch (view.status) {
    case "open":
      if (view.then === undefined)
        throw new InconsistentChallengeError("an open stage's view without its next wait");
      return { ...view, then: view.then, timer };
    case "monitoring":
      return { ...view, then: settling(view, FORESEEN_WAITS - 1), timer };
    case "finished":
      return { ...view, timeoutSeconds: SETTLE_SECONDS, then: settling(view, FORESEEN_WAITS - 1), timer };
  }
}
