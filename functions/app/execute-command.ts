import { ulid } from "ulid";
import { type WorkingDayCalendar, createEnglandCalendar } from "../domain/calendar.js";
import { isCalendarDay, overdueFrom } from "../domain/london-time.js";
import {
  type ChallengeEvent,
  type ChallengeState,
  type Command,
  type DirectoryLookup,
  type DomainError,
  decide,
  evolve,
  initialState,
} from "../domain/challenge/index.js";
import { runStartSeqOf } from "../domain/challenge/runs.js";
import { type Protocol, protocolForTenant } from "../domain/protocol.js";
import type { RetentionSettings } from "../domain/retention.js";
import {
  type ChallengeRead,
  type ChallengeStore,
  ConcurrencyConflictError,
  type StoredTaskToken,
} from "../store/ports.js";

/**
 * The application service every command goes through, whatever its channel (API, email, timer):
 *
 *   read (challenge, task token, tenant version: one consistent read) → tenant config + calendar +
 *   directory (cached at that version) → decide → append (expectedVersion = state.version, one
 *   transaction) → signal the workflow with the token read.
 *
 * Two DynamoDB calls per command when the container's tenant cache is at the version read (a cold
 * container, or a configuration or directory changed since, adds one query: store/tenant-store.ts).
 * No AWS SDK here: storage, tenant configuration, the workflow and the clock are ports.
 *
 * Concurrency: `append` is conditioned on the snapshot version. When another writer wins the race
 * the whole load/decide/append is retried on the fresh state (the command may still be valid:
 * a meeting recorded while the manager acknowledged), up to {@link MAX_ATTEMPTS} times; after
 * that the ConcurrencyConflictError reaches the caller (HTTP 409, retryable).
 *
 * A retry re-decides only what the sender meant: `decide` checks the command's `expected` stage and
 * version first (STAGE_MOVED / VERSION_MISMATCH otherwise), and a command that named no stage is
 * pinned, for its retries, to the stage its first attempt was decided against. So twenty
 * concurrent escalations from one stage escalate once, and the rest are told where it is now.
 */

/** The tenant settings a command needs (a subset of the stored TenantConfig). */
export interface TenantSettings {
  /** The protocol the authority runs (a preset id) for new challenges. */
  readonly protocolId: string;
  /** The authority's own closure days (YYYY-MM-DD, London), on top of weekends and bank holidays. */
  readonly closureDays: readonly string[];
  /** Close of business (HH:MM, London) when deadlines fall; the calendar's default when unset. */
  readonly closeOfBusiness?: string | undefined;
  /** The authority's retention rule for child-protection records (functions/domain/retention.ts). */
  readonly retention?: RetentionSettings | undefined;
  /** Its own reminder timing, over the protocol's (functions/domain/protocol.ts protocolForTenant). */
  readonly reminders?: { readonly workingDaysBeforeDeadline?: number | undefined } | undefined;
}

/**
 * What the application service reads about a tenant. The TenantStore (functions/store/tenant-store.ts)
 * fits it. `atVersion` is the tenant's configuration version read with the challenge: a copy cached
 * at exactly that version may answer; unset, read afresh.
 */
export interface TenantContextSource {
  getConfig(tenantId: string, atVersion?: number): Promise<TenantSettings | undefined>;
  /** The tenant's staff directory as a lookup from a protocol role (and team/agency) to a person. */
  directoryLookup(tenantId: string, atVersion?: number): Promise<DirectoryLookup>;
}

/** What a waiting workflow is told happened. */
export type WorkflowOutcomeKind =
  | "responded"
  | "escalated"
  | "bypassed"
  | "plan_agreed"
  | "action_completed"
  | "action_missed"
  | "resolved"
  | "reopened"
  | "referred"
  | "difference_noted"
  | "withdrawn"
  | "closed"
  | "deadline_shortened";

/**
 * The output the workflow's waiting task receives (SendTaskSuccess output). After AwaitResponse,
 * statemachines/challenge.asl.json routes on `$.outcome.action`: resolved/withdrawn/closed finish,
 * anything else (plan_agreed included: OpenStage then answers "monitoring") re-reads the challenge
 * in OpenStage. After AwaitMonitoring, every outcome re-reads the challenge in OpenStage.
 */
export interface WorkflowOutcome {
  readonly action: WorkflowOutcomeKind;
  readonly status: ChallengeState["status"];
  /** The stage open after the change, if any. */
  readonly stageId: string | null;
  /** The challenge version after the change: the workflow can tell a stale signal from a fresh one. */
  readonly version: number;
  /** For plan_agreed: when the first open SMART action falls due (the start of the London day after its date). */
  readonly nextActionDueAt?: string;
}

/** The challenge's workflow, seen from the application: start a run, and wake it when a person acts. */
export interface WorkflowSignal {
  /**
   * Starts a run of the challenge's workflow: `startSeq` is the seq of the event that started it
   * (1, `ChallengeRaised`, when omitted; a `Reopened` event's seq when a resolved challenge was
   * reopened). Starting the same run twice must be harmless (the name derives from the ids and the seq).
   */
  start(tenantId: string, challengeId: string, startSeq?: number): Promise<void>;
  /**
   * Ends the workflow's current wait, if it has one. `waiting`: the task token read with the
   * challenge (the commit was conditioned on it being still the stored one); without it the
   * signal reads the token itself.
   */
  notify(
    tenantId: string,
    challengeId: string,
    outcome: WorkflowOutcome,
    waiting?: { readonly taskToken: StoredTaskToken | undefined },
  ): Promise<void>;
}

/** Where the service reports what it could not do but must not fail for (a logger, in production). */
export interface Observer {
  warn(message: string, attributes: Record<string, unknown>): void;
  error(message: string, attributes: Record<string, unknown>, error: unknown): void;
  count(metric: string): void;
}

export interface ExecuteDependencies {
  readonly challenges: ChallengeStore;
  readonly tenants: TenantContextSource;
  readonly protocols: (protocolId: string) => Protocol | undefined;
  readonly workflow: WorkflowSignal;
  readonly clock: () => Date;
  /** Ids of SMART actions. Default: ULIDs. */
  readonly newId?: () => string;
  readonly observer?: Observer;
}

export interface CommandResult {
  readonly state: ChallengeState;
  readonly events: readonly ChallengeEvent[];
  /** 1 when the first attempt succeeded. */
  readonly attempts: number;
}

/**
 * Load/decide/append attempts before a conflict is reported. Enough that a command among twenty
 * concurrent ones on one challenge gets its turn (each attempt only loses to a write that landed).
 */
export const MAX_ATTEMPTS = 8;

/** Full-jitter backoff before retry `attempt` (1, 2, ...): up to 10, 20, 40 ... 250 ms. */
function retryDelayMs(attempt: number): number {
  return Math.floor(Math.random() * Math.min(250, 10 * 2 ** (attempt - 1)));
}

/** The tenant has not chosen its protocol yet (HTTP 409: an administrator must PUT /v1/config). */
export class TenantNotConfiguredError extends Error {
  override readonly name = "TenantNotConfiguredError";
  constructor(readonly tenantId: string) {
    super(
      "This authority has not set up its protocol yet: an administrator must choose it (PUT /v1/config).",
    );
  }
}

/** The protocol a challenge or tenant names is not one the service knows (a deployment or data fault: 500). */
export class UnknownProtocolError extends Error {
  override readonly name = "UnknownProtocolError";
  constructor(readonly protocolId: string) {
    super(`no protocol ${protocolId}`);
  }
}

/**
 * Events that end a waiting workflow's wait, and what to tell it. The last such event of a batch
 * names the outcome (e.g. a missed action that reopens the challenge is "reopened").
 * Not here: ChallengeRaised (the workflow is started instead), StageAcknowledged and
 * MeetingRecorded (the deadline still runs), ReferralRequested/Approved (nothing moved yet),
 * RaiserAlerted, ReminderSent, ActionsFellDue and StageOpened on their own (the workflow's own
 * doing: the task that recorded them re-reads the challenge next).
 */
export function workflowOutcomeKind(events: readonly ChallengeEvent[]): WorkflowOutcomeKind | undefined {
  let kind: WorkflowOutcomeKind | undefined;
  for (const event of events) {
    switch (event.type) {
      case "ResponseRecorded":
        kind = "responded";
        break;
      case "Escalated":
        kind = event.data.kind === "bypass" ? "bypassed" : "escalated";
        break;
      case "ActionPlanAgreed":
        kind = "plan_agreed";
        break;
      case "ActionCompleted":
        kind = "action_completed";
        break;
      case "ActionMissed":
        kind = "action_missed";
        break;
      case "Resolved":
        kind = "resolved";
        break;
      case "Reopened":
        kind = "reopened";
        break;
      case "ReferralMade":
        kind = "referred";
        break;
      case "DifferenceNoted":
        kind = "difference_noted";
        break;
      case "Withdrawn":
        kind = "withdrawn";
        break;
      case "Closed":
        kind = "closed";
        break;
      case "DeadlineShortened":
        // The wait was for the old deadline: the loop re-reads and waits for the new one.
        kind = "deadline_shortened";
        break;
      default:
        break;
    }
  }
  return kind;
}

/** A read a command starts from: {@link ChallengeRead}, or (a store without `read`) the snapshot alone. */
export type CommandRead = Omit<ChallengeRead, "tenantVersion"> & { readonly tenantVersion?: number };

/**
 * The one strongly consistent read a command or workflow task starts from: the snapshot, the task
 * token when `taskToken`, and the tenant's configuration version (ChallengeStore.read); a store
 * without `read` is read with `get`, and the configuration is then read afresh.
 */
export async function readChallenge(
  challenges: ChallengeStore,
  tenantId: string,
  challengeId: string,
  options: { readonly taskToken?: boolean } = {},
): Promise<CommandRead> {
  if (challenges.read !== undefined) return challenges.read(tenantId, challengeId, options);
  return { challenge: await challenges.get(tenantId, challengeId) };
}

/** What a command needs of its tenant to apply the protocol. */
export interface TenantContext {
  readonly settings: TenantSettings;
  readonly calendar: WorkingDayCalendar;
  readonly directory: DirectoryLookup;
}

/** The protocol a challenge runs under, as this tenant runs it; an id the service does not know throws. */
export function tenantProtocol(
  protocols: (protocolId: string) => Protocol | undefined,
  protocolId: string,
  settings: TenantSettings,
): Protocol {
  const protocol = protocols(protocolId);
  if (protocol === undefined) throw new UnknownProtocolError(protocolId);
  return protocolForTenant(protocol, settings);
}

/** The tenant's settings, calendar and directory at the version read with the challenge (cached there). */
export async function tenantContextAt(
  tenants: TenantContextSource,
  tenantId: string,
  version: number | undefined,
): Promise<TenantContext> {
  const settings = await tenants.getConfig(tenantId, version);
  if (settings === undefined) throw new TenantNotConfiguredError(tenantId);
  const calendar = createEnglandCalendar({
    closureDays: settings.closureDays,
    ...(settings.closeOfBusiness === undefined ? {} : { closeOfBusiness: settings.closeOfBusiness }),
  });
  return { settings, calendar, directory: await tenants.directoryLookup(tenantId, version) };
}

export interface ExecuteOptions {
  /** The read the caller already made (a workflow task): the first attempt decides on it. */
  readonly read?: CommandRead;
  /**
   * False when the caller is the workflow itself (its tasks' timer commands): nothing to start or
   * wake, so the task token is neither read nor signalled. Default true.
   */
  readonly signal?: boolean;
}

/**
 * Decides and records one command. Returns the new state and the events written (none when the
 * command changed nothing). Throws the DomainError when refused, TenantNotConfiguredError,
 * ConcurrencyConflictError after {@link MAX_ATTEMPTS}, and whatever the store throws otherwise.
 */
export async function executeCommand(
  deps: ExecuteDependencies,
  tenantId: string,
  command: Command,
  options: ExecuteOptions = {},
): Promise<CommandResult> {
  return executeFirstAccepted(deps, tenantId, [command], options);
}

/**
 * Like {@link executeCommand} for the first of `commands` (all for one challenge) that `decide`
 * accepts on the state read, so that trying one command after another costs one read and at most
 * one write (the timer: a reminder, else the deadline's rule). Throws the last refusal when all
 * are refused.
 */
export async function executeFirstAccepted(
  deps: ExecuteDependencies,
  tenantId: string,
  commands: readonly [Command, ...Command[]],
  options: ExecuteOptions = {},
): Promise<CommandResult> {
  const challengeId = commands[0].challengeId;
  const signal = options.signal ?? true;
  const newId = deps.newId ?? (() => ulid());

  let attemptCommands: readonly Command[] = commands;
  for (let attempt = 1; ; attempt++) {
    const read =
      attempt === 1 && options.read !== undefined
        ? options.read
        : await readChallenge(deps.challenges, tenantId, challengeId, { taskToken: signal });
    const tenant = await tenantContextAt(deps.tenants, tenantId, read.tenantVersion);
    const state = read.challenge?.state ?? initialState(challengeId);
    // A challenge keeps the protocol it was raised under, even if the tenant later changes its choice.
    const protocolId = state.status === "none" ? tenant.settings.protocolId : state.protocolId;
    const protocol = tenantProtocol(deps.protocols, protocolId, tenant.settings);

    const context = {
      protocol,
      calendar: tenant.calendar,
      directory: tenant.directory,
      now: deps.clock(),
      newId,
    };
    let decided: { command: Command; events: readonly ChallengeEvent[] } | undefined;
    let refusal: DomainError | undefined;
    for (const command of attemptCommands) {
      const decision = decide(state, command, context);
      if (decision.ok) {
        decided = { command, events: decision.events };
        break;
      }
      refusal = decision.error;
    }
    if (decided === undefined) throw refusal ?? new RangeError("no command to decide");
    const { command, events } = decided;
    if (events.length === 0) return { state, events: [], attempts: attempt };

    const newState = events.reduce(evolve, state);
    // When a waiting workflow is to be woken with the token read, commit only while it is still
    // the stored one (store/ports.ts AppendOptions): a wait begun since then re-reads and sees this.
    const wakes = signal && runStartSeqOf(events) === undefined && workflowOutcomeKind(events) !== undefined;
    try {
      await deps.challenges.append(tenantId, state.version, events, newState, tenant.settings.retention, {
        ...(read.challenge?.head === undefined ? {} : { head: read.challenge.head }),
        ...(wakes && read.waiting !== undefined ? { waitingOn: read.waiting } : {}),
      });
    } catch (error) {
      if (error instanceof ConcurrencyConflictError && attempt < MAX_ATTEMPTS) {
        attemptCommands = attemptCommands.map((c) => pinnedToStage(c, state));
        deps.observer?.count("ConcurrencyRetry");
        deps.observer?.warn("concurrent change: retrying the command on the fresh state", {
          tenantId,
          challengeId,
          commandType: command.type,
          attempt,
        });
        // Spread the racers out, so the same ones do not collide again at once.
        await new Promise((resolve) => setTimeout(resolve, retryDelayMs(attempt)));
        continue;
      }
      throw error;
    }

    // Committed. From here on nothing may fail the command: the events are the truth.
    if (signal) await signalWorkflow(deps, tenantId, command, events, newState, read.waiting);
    return { state: newState, events, attempts: attempt };
  }
}

/**
 * The command as it is retried after a concurrent change: still expecting the stage that was open
 * when it was first decided (unless it named one itself, none was open, or it is the timer's). The version is not
 * pinned: a meeting recorded while the manager acknowledged is still a meeting recorded.
 */
export function pinnedToStage(command: Command, decidedAgainst: ChallengeState): Command {
  const open = decidedAgainst.currentStage;
  // Timer commands name their stage themselves, and a late timer for a stage already left does nothing.
  if (open === null || command.type === "Raise" || command.channel === "timer") return command;
  if (command.expected?.stageId !== undefined) return command;
  return { ...command, expected: { ...command.expected, stageId: open.stageId } };
}

/**
 * Starts or wakes the workflow after a commit. Failures are logged and counted, never thrown:
 *
 * How it recovers when a signal is lost:
 * - notify (SendTaskSuccess) failed: the workflow keeps waiting on its stored task token until the
 *   stage's deadline (`TimeoutSecondsPath`). Its timeout path sends AutoEscalate for that stage;
 *   the stage has already been answered or left, so `decide` refuses or ignores it ("a late timer
 *   for a stage already left does nothing"), and the workflow carries on from the stored snapshot.
 *   Any later successful command on the challenge also notifies again with the same stored token.
 * - start (StartExecution) failed after a raise, or after reopening a resolved challenge: the
 *   execution name derives from the tenant, the challenge id and the seq of the event that started
 *   the run (workflow/tasks.ts `executionName`), so any other start of the same run is safe and
 *   cannot fork it: the event reactor that starts runs from the committed ChallengeRaised or
 *   Reopened event (functions/reactor/reactor.ts, with its own retries), or a repair sweep over open
 *   challenges. The `WorkflowStartFailed` metric counts it.
 * - A reopen from monitoring is a signal like any other: the running execution waits on its
 *   monitoring task token (AwaitMonitoring) and re-reads the challenge when woken.
 */
async function signalWorkflow(
  deps: ExecuteDependencies,
  tenantId: string,
  command: Command,
  events: readonly ChallengeEvent[],
  state: ChallengeState,
  waiting: CommandRead["waiting"],
): Promise<void> {
  const ids = {
    tenantId,
    challengeId: command.challengeId,
    commandType: command.type,
    version: state.version,
  };
  const startSeq = runStartSeqOf(events);
  if (startSeq !== undefined) {
    try {
      await deps.workflow.start(tenantId, command.challengeId, startSeq);
    } catch (error) {
      deps.observer?.count("WorkflowStartFailed");
      deps.observer?.error(
        "could not start the challenge's workflow; the challenge is saved",
        { ...ids, startSeq },
        error,
      );
    }
    return;
  }
  const action = workflowOutcomeKind(events);
  if (action === undefined) return;
  const nextActionDueAt = action === "plan_agreed" ? firstActionDueAt(state) : undefined;
  try {
    await deps.workflow.notify(
      tenantId,
      command.challengeId,
      {
        action,
        status: state.status,
        stageId: state.currentStage?.stageId ?? null,
        version: state.version,
        ...(nextActionDueAt === undefined ? {} : { nextActionDueAt }),
      },
      waiting,
    );
  } catch (error) {
    deps.observer?.count("WorkflowSignalFailed");
    deps.observer?.error(
      "could not signal the challenge's workflow; the change is saved and the stage timer will catch up",
      { ...ids, action },
      error,
    );
  }
}

/** Which event starts a new run of the workflow: one rule, in the domain. */
export { runStartSeqOf };

/**
 * When monitoring should first look at the plan: the start of the London day after the earliest
 * open action's `byWhen` date (an action due "by 10 March" is overdue from 11 March 00:00 London).
 */
export function firstActionDueAt(state: ChallengeState): string | undefined {
  const dates = (state.actionPlan?.actions ?? [])
    .filter((a) => a.status === "open")
    .map((a) => a.byWhen)
    .sort();
  const first = dates[0];
  if (first === undefined) return undefined;
  return isCalendarDay(first) ? overdueFrom(first).toISOString() : undefined;
}
