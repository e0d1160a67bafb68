/**
 * A local Step Functions: runs executions of ASL state machines in this process with
 * `aws-local-stepfunctions`, Lambda tasks resolved to in-process handler functions.
 *
 * What the engine adds to the interpreter (see asl.ts for how the definition is rewritten):
 * - `.waitForTaskToken`: the handler is invoked with the payload (which carries `$$.Task.Token`),
 *   then the state parks until SendTaskSuccess / SendTaskFailure with that token, or until its
 *   timeout (TimeoutSeconds, or TimeoutSecondsPath read from the state's input as on AWS) or
 *   heartbeat passes on the SERVICE clock; then it fails with `States.Timeout` so Catch runs.
 * - All waiting is on the service clock (functions/shared/clock.ts): task timeouts, Wait states
 *   (Seconds, Timestamp, SecondsPath, TimestampPath) and the execution's TimeoutSeconds are due
 *   times checked by a scheduler when the clock moves and on a short real interval. Normal
 *   Lambda tasks have no timeout unless the ASL gives one (the library's 60 s default is gone).
 *   Retry pauses are the exception: the library sleeps them in real time (seconds, by design).
 * - Execution names are idempotent as on AWS. State machines persist to `stepfunctions.json`,
 *   each execution to its own append-only log (execution-log.ts), written off the event loop;
 *   `resume()` restarts the RUNNING ones after a restart.
 */
import "./polyfill.js";
import { randomBytes, randomUUID } from "node:crypto";
import { join } from "node:path";
import { isDeepStrictEqual } from "node:util";
import { ExecutionError, StateMachine, type RunOptions } from "aws-local-stepfunctions";
import * as serviceClock from "../../functions/shared/clock.js";
import {
  DefinitionError,
  LAMBDA_INVOKE,
  TEMPLATE,
  isObject,
  parseDefinition,
  prepare,
  substitute,
  type AslDefinition,
  type PreparedDefinition,
  type StateInfo,
} from "./asl.js";
import {
  ExecutionStoppedError,
  LambdaFunctionError,
  SfnApiError,
  StatesRuntimeError,
  TaskFailureError,
} from "./errors.js";
import { ClockScheduler, type ServiceClock } from "./scheduler.js";
import { statesTimeoutErrors, type TimeoutErrorFactory } from "./states-timeout.js";
import { ExecutionLog } from "./execution-log.js";
import { JsonFile } from "./store.js";

/** An in-process stand-in for a Lambda function: the event in, the result out (throw to fail). */
export type TaskHandler = (payload: unknown) => Promise<unknown>;

export type ExecutionStatus = "RUNNING" | "SUCCEEDED" | "FAILED" | "TIMED_OUT" | "ABORTED";

export interface LocalStepFunctionsOptions {
  /** Folder for `stepfunctions.json` (state machines) and `executions/` (one log each). Created if missing. */
  readonly dataDir: string;
  /**
   * Task handlers by Lambda function ARN (a function name also matches a handler registered under
   * any ARN of that name), or by the Resource ARN of another service integration.
   */
  readonly handlers?: Readonly<Record<string, TaskHandler>>;
  readonly region?: string;
  readonly accountId?: string;
  /** Defaults to the service clock every handler uses. */
  readonly clock?: ServiceClock;
  /** Real-time interval of the due-time check, in ms (the clock moving also triggers it). Default 250. */
  readonly pollIntervalMs?: number;
  /** Replaces every Retry pause with this many (real) ms; tests use it. Default: the ASL's intervals. */
  readonly retryIntervalMs?: number;
  /** Where warnings go. Default: console.warn. */
  readonly log?: (message: string) => void;
}

export interface HistoryEvent {
  readonly id: number;
  readonly previousEventId: number;
  readonly timestamp: string;
  readonly type: string;
  /** The AWS field holding the details, e.g. `stateEnteredEventDetails`. */
  readonly detailsKey?: string;
  readonly details?: Readonly<Record<string, unknown>>;
}

export interface PendingTask {
  readonly token: string;
  readonly stateName: string;
  readonly enteredAt: string;
  /** When TimeoutSeconds(Path) fails the state with States.Timeout (service clock). */
  readonly deadline?: string;
  heartbeatDeadline?: string;
}

export interface ExecutionRecord {
  readonly executionArn: string;
  readonly stateMachineArn: string;
  readonly name: string;
  readonly input: string;
  status: ExecutionStatus;
  readonly startDate: string;
  stopDate?: string;
  output?: string;
  error?: string;
  cause?: string;
  pendingTask?: PendingTask;
  pendingWait?: { readonly stateName: string; readonly until: string };
  /** How many times `resume()` restarted it from the beginning. */
  resumeCount: number;
  history: HistoryEvent[];
}

export interface StateMachineRecord {
  readonly name: string;
  readonly stateMachineArn: string;
  readonly definition: string;
  readonly roleArn: string;
  readonly creationDate: string;
}

export interface ExecutionSummary {
  readonly executionArn: string;
  readonly stateMachineArn: string;
  readonly name: string;
  readonly status: ExecutionStatus;
  readonly startDate: Date;
  readonly stopDate?: Date;
}

export interface ExecutionDescription extends ExecutionSummary {
  readonly input: string;
  readonly output?: string;
  readonly error?: string;
  readonly cause?: string;
  readonly pendingTask?: PendingTask;
}

/** `stepfunctions.json`. Version 1 also held every execution; it is read once and moved into the logs. */
interface PersistedFile {
  readonly version: 1 | 2;
  readonly stateMachines: readonly StateMachineRecord[];
  readonly executions?: readonly ExecutionRecord[];
}

interface Machine {
  readonly record: StateMachineRecord;
  readonly prepared: PreparedDefinition;
  readonly interpreter: StateMachine;
}

type Ending = "stop" | "timeout" | "shutdown";

interface Live {
  readonly record: ExecutionRecord;
  readonly machine: Machine;
  ending?: Ending;
  abort?: () => void;
  /** `$$.Task.Token` read by Parameters and not yet taken by the state's override. */
  unclaimedToken?: string;
  /** Rejecters of everything the interpreter is awaiting in this execution. */
  readonly parks: Set<(error: Error) => void>;
  cancelExecutionTimeout?: () => void;
  /** Settles once the interpreter run has ended and the outcome is recorded. */
  done: Promise<void>;
  /**
   * Service-clock offset from real time as the execution last saw it: when it started, when a
   * task's handler was called, when a wait ended. Its next state is timed from that instant plus
   * the real time since (see {@link LocalStepFunctions.enteredAt}).
   */
  seenOffsetMs: number;
}

interface TokenWait {
  readonly live: Live;
  readonly stateName: string;
  succeed(output: unknown): void;
  fail(error: Error): void;
  heartbeat(): void;
}

type LibraryTaskHandlers = NonNullable<NonNullable<RunOptions["overrides"]>["taskResourceLocalHandlers"]>;
type LibraryJson = Parameters<LibraryTaskHandlers[string]>[0];
type EventLogs = ReturnType<StateMachine["run"]>["eventLogs"];
type LibraryEvent = EventLogs extends AsyncGenerator<infer E> ? E : never;

const DATA_FILE = "stepfunctions.json";
const EXECUTIONS_DIR = "executions";
const validatedDefinitions = new Set<string>();
/** Execution and state machine names: 1-80 characters, none of these nor control characters (AWS's rule). */
const BAD_NAME_CHARACTER = /[\s<>{}[\]?*"#%\\^|~`$&,;:/]/;

export class LocalStepFunctions {
  private readonly machines = new Map<string, Machine>();
  private readonly executions = new Map<string, ExecutionRecord>();
  private readonly live = new Map<string, Live>();
  private readonly tokens = new Map<string, TokenWait>();
  /** Tokens no longer waiting, so a late SendTask* gets the right error. In memory only. */
  private readonly closedTokens = new Map<string, "completed" | "timed-out">();
  private readonly handlers = new Map<string, TaskHandler>();
  private readonly handlersByFunctionName = new Map<string, TaskHandler>();
  private readonly scheduler: ClockScheduler;
  private readonly clock: ServiceClock;
  private readonly region: string;
  private readonly accountId: string;
  private readonly log: (message: string) => void;
  private stopped = false;
  private readonly executionLog: ExecutionLog;

  /** Opens the engine on `options.dataDir`, loading what an earlier run saved. Call `resume()` next. */
  static async open(options: LocalStepFunctionsOptions): Promise<LocalStepFunctions> {
    const timeoutErrors = await statesTimeoutErrors();
    const engine = new LocalStepFunctions(
      options,
      timeoutErrors,
      new JsonFile(join(options.dataDir, DATA_FILE)),
    );
    await engine.load();
    engine.scheduler.start();
    return engine;
  }

  private constructor(
    private readonly options: LocalStepFunctionsOptions,
    private readonly timeoutError: TimeoutErrorFactory,
    private readonly file: JsonFile,
  ) {
    this.executionLog = new ExecutionLog(join(options.dataDir, EXECUTIONS_DIR), (message) => {
      this.log(message);
    });
    this.clock = options.clock ?? serviceClock;
    this.region = options.region ?? "eu-west-2";
    this.accountId = options.accountId ?? "000000000000";
    this.log =
      options.log ??
      ((message) => {
        console.warn(`[local stepfunctions] ${message}`);
      });
    this.scheduler = new ClockScheduler(this.clock, options.pollIntervalMs ?? 250, (error) => {
      this.log(`scheduled item failed: ${String(error)}`);
    });
    for (const [arn, handler] of Object.entries(options.handlers ?? {})) {
      this.handlers.set(arn, handler);
      this.handlersByFunctionName.set(functionNameOf(arn), handler);
    }
  }

  // ---------------------------------------------------------------- state machines

  /**
   * CreateStateMachine. `definition` is ASL (text or object); `substitutions` fill `${Name}`
   * placeholders as CDK's definitionSubstitutions do. The same name with the same definition
   * returns the existing machine; a different definition is StateMachineAlreadyExists unless
   * `replace` (the local runtime reloading the file): running executions keep their version.
   */
  async createStateMachine(params: {
    readonly name: string;
    readonly definition: string | AslDefinition;
    readonly roleArn?: string;
    readonly substitutions?: Readonly<Record<string, string>>;
    readonly replace?: boolean;
  }): Promise<{ stateMachineArn: string; creationDate: Date }> {
    this.assertOpen();
    validateName(params.name, "state machine");
    const raw = typeof params.definition === "string" ? params.definition : JSON.stringify(params.definition);
    let text: string;
    let parsed: AslDefinition;
    try {
      text = params.substitutions ? substitute(raw, params.substitutions) : raw;
      parsed = parseDefinition(text);
      // Full validation by the interpreter (asl-validator: JSONPaths, ARNs, reachability). It
      // compiles its schemas each time (~0.2-0.5 s), so a text validated once is not re-checked.
      if (!validatedDefinitions.has(text)) {
        new StateMachine(parsed as unknown as ConstructorParameters<typeof StateMachine>[0]);
        validatedDefinitions.add(text);
      }
    } catch (error) {
      throw new SfnApiError("InvalidDefinition", (error as Error).message);
    }
    const stateMachineArn = `arn:aws:states:${this.region}:${this.accountId}:stateMachine:${params.name}`;
    const roleArn = params.roleArn ?? `arn:aws:iam::${this.accountId}:role/local-stepfunctions`;
    const existing = this.machines.get(stateMachineArn);
    if (existing) {
      const same = existing.record.definition === text && existing.record.roleArn === roleArn;
      if (same || !params.replace) {
        if (!same)
          throw new SfnApiError(
            "StateMachineAlreadyExists",
            `State Machine Already Exists: '${stateMachineArn}'`,
          );
        return { stateMachineArn, creationDate: new Date(existing.record.creationDate) };
      }
    }
    const record: StateMachineRecord = {
      name: params.name,
      stateMachineArn,
      definition: text,
      roleArn,
      creationDate: existing?.record.creationDate ?? this.nowIso(),
    };
    const machine = this.machine(record, parsed);
    this.machines.set(stateMachineArn, machine);
    this.warnAboutMissingHandlers(machine);
    await this.saveMachines();
    return { stateMachineArn, creationDate: new Date(record.creationDate) };
  }

  describeStateMachine(stateMachineArn: string): StateMachineRecord {
    const machine = this.machines.get(stateMachineArn);
    if (!machine)
      throw new SfnApiError("StateMachineDoesNotExist", `State Machine Does Not Exist: '${stateMachineArn}'`);
    return machine.record;
  }

  listStateMachines(): readonly StateMachineRecord[] {
    return [...this.machines.values()].map((machine) => machine.record);
  }

  // ---------------------------------------------------------------- executions

  /**
   * StartExecution. As on AWS, a name already used by this state machine returns the existing
   * execution when it is RUNNING with the same input (a retried start cannot fork a challenge);
   * otherwise it is ExecutionAlreadyExists.
   */
  async startExecution(params: {
    readonly stateMachineArn: string;
    readonly name?: string;
    readonly input?: string;
  }): Promise<{ executionArn: string; startDate: Date }> {
    this.assertOpen();
    const machine = this.machines.get(params.stateMachineArn);
    if (!machine) {
      throw new SfnApiError(
        "StateMachineDoesNotExist",
        `State Machine Does Not Exist: '${params.stateMachineArn}'`,
      );
    }
    const name = params.name ?? randomUUID();
    validateName(name, "execution");
    const input = params.input ?? "{}";
    const parsedInput = parseJson(input, "InvalidExecutionInput", "Invalid State Machine Execution Input");
    const executionArn = `arn:aws:states:${this.region}:${this.accountId}:execution:${machine.record.name}:${name}`;
    const existing = this.executions.get(executionArn);
    if (existing) {
      if (existing.status === "RUNNING" && isDeepStrictEqual(JSON.parse(existing.input), parsedInput)) {
        return { executionArn, startDate: new Date(existing.startDate) };
      }
      throw new SfnApiError("ExecutionAlreadyExists", `Execution Already Exists: '${executionArn}'`);
    }
    const record: ExecutionRecord = {
      executionArn,
      stateMachineArn: machine.record.stateMachineArn,
      name,
      input,
      status: "RUNNING",
      startDate: this.nowIso(),
      resumeCount: 0,
      history: [],
    };
    this.addHistory(record, "ExecutionStarted", "executionStartedEventDetails", {
      input,
      inputDetails: { truncated: false },
      roleArn: machine.record.roleArn,
    });
    this.executions.set(executionArn, record); // before any await: a concurrent start sees it
    await this.save(record);
    this.launch(record, machine);
    return { executionArn, startDate: new Date(record.startDate) };
  }

  describeExecution(executionArn: string): ExecutionDescription {
    const record = this.execution(executionArn);
    return {
      ...summary(record),
      input: record.input,
      ...(record.output === undefined ? {} : { output: record.output }),
      ...(record.error === undefined ? {} : { error: record.error }),
      ...(record.cause === undefined ? {} : { cause: record.cause }),
      ...(record.pendingTask ? { pendingTask: { ...record.pendingTask } } : {}),
    };
  }

  /** ListExecutions, newest first. */
  listExecutions(params: {
    readonly stateMachineArn: string;
    readonly statusFilter?: ExecutionStatus;
  }): ExecutionSummary[] {
    this.describeStateMachine(params.stateMachineArn);
    return [...this.executions.values()]
      .filter((record) => record.stateMachineArn === params.stateMachineArn)
      .filter((record) => params.statusFilter === undefined || record.status === params.statusFilter)
      .sort((a, b) => b.startDate.localeCompare(a.startDate))
      .map(summary);
  }

  /**
   * Executions running in this engine, and how many of them are parked until a due time more than
   * a minute ahead on the service clock, or for a person with no deadline: when the two are equal,
   * nothing moves until the clock does (scripts and benchmarks wait for that before moving it). A
   * wait due within the minute (the workflow's "at once" re-check) is still moving.
   */
  activity(): { readonly running: number; readonly waiting: number } {
    const nowMs = this.clock.now().getTime() + 60_000;
    let waiting = 0;
    for (const { record } of this.live.values()) {
      const due = record.pendingTask ? record.pendingTask.deadline : record.pendingWait?.until;
      if ((record.pendingTask && due === undefined) || (due !== undefined && Date.parse(due) > nowMs))
        waiting += 1;
    }
    return { running: this.live.size, waiting };
  }

  getExecutionHistory(executionArn: string): readonly HistoryEvent[] {
    return this.execution(executionArn).history;
  }

  /** StopExecution: ABORTED with the given error and cause; its task token stops working. */
  async stopExecution(params: {
    readonly executionArn: string;
    readonly error?: string;
    readonly cause?: string;
  }): Promise<{ stopDate: Date }> {
    const record = this.execution(params.executionArn);
    const live = this.live.get(params.executionArn);
    if (record.status === "RUNNING") {
      if (live) {
        this.end(live, "stop", params.error, params.cause);
      } else {
        // Loaded from disk and not resumed: nothing runs, only the record changes.
        this.close(record, "ABORTED", params.error, params.cause);
        this.addTerminalHistory(record);
      }
      await this.save(record);
    }
    return { stopDate: new Date(record.stopDate ?? this.nowIso()) };
  }

  // ---------------------------------------------------------------- task tokens

  /** SendTaskSuccess: the parked state completes with `output` (JSON text) as its result. */
  sendTaskSuccess(taskToken: string, output: string): void {
    const parsed = parseJson(output, "InvalidOutput", "Invalid Output");
    this.tokenWait(taskToken).succeed(parsed);
  }

  /** SendTaskFailure: the parked state fails with `error` / `cause` (Retry and Catch apply). */
  sendTaskFailure(taskToken: string, error?: string, cause?: string): void {
    this.tokenWait(taskToken).fail(new TaskFailureError(error ?? "", cause ?? ""));
  }

  /** SendTaskHeartbeat: restarts the HeartbeatSeconds countdown (TimeoutSeconds still applies). */
  sendTaskHeartbeat(taskToken: string): void {
    this.tokenWait(taskToken).heartbeat();
  }

  // ---------------------------------------------------------------- lifecycle

  /**
   * Restarts every RUNNING execution loaded from disk from its first state, with its original
   * input. Returns how many. Safe for the challenge state machine because its first task,
   * OpenStage, re-reads the stored challenge and re-derives the current stage and its deadline:
   * running it again picks the challenge up where it is rather than repeating it. (Step state is
   * not persisted; any other machine run here must be equally re-entrant.) The token of a task
   * that was waiting dies with the old process; the re-run issues a new one.
   */
  async resume(): Promise<number> {
    this.assertOpen();
    let resumed = 0;
    const saves: Promise<void>[] = [];
    for (const record of this.executions.values()) {
      if (record.status !== "RUNNING" || this.live.has(record.executionArn)) continue;
      const machine = this.machines.get(record.stateMachineArn);
      if (!machine) {
        this.log(`cannot resume ${record.executionArn}: its state machine is not defined`);
        continue;
      }
      record.resumeCount += 1;
      delete record.pendingTask;
      delete record.pendingWait;
      // Not an AWS event type (AWS cannot restart a process): marks where the re-run begins.
      this.addHistory(record, "ExecutionResumed", undefined, undefined);
      saves.push(this.save(record));
      this.launch(record, machine);
      resumed += 1;
    }
    await Promise.all(saves);
    return resumed;
  }

  /**
   * Stops the engine: what is on disk keeps RUNNING executions RUNNING (with their pending task),
   * for the next engine's `resume()`. In-flight handler calls cannot be cancelled; their results
   * are ignored.
   */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.scheduler.stop();
    const lives = [...this.live.values()];
    for (const live of lives) live.ending = "shutdown";
    await Promise.all(lives.map((live) => this.save(live.record, true)));
    await this.executionLog.close();
    await this.file.close();
    for (const live of lives) this.release(live, "the local Step Functions engine stopped");
    await Promise.allSettled(lives.map((live) => live.done));
    this.live.clear();
    this.tokens.clear();
  }

  // ---------------------------------------------------------------- running

  private launch(record: ExecutionRecord, machine: Machine): void {
    const live: Live = {
      record,
      machine,
      parks: new Set(),
      done: Promise.resolve(),
      seenOffsetMs: this.clockOffsetMs(),
    };
    this.live.set(record.executionArn, live);
    const run = machine.interpreter.run(JSON.parse(record.input) as LibraryJson, {
      overrides: this.overridesFor(live),
      context: this.contextFor(live),
    });
    live.abort = run.abort;
    const events = this.recordEvents(live, run.eventLogs);
    const timeoutSeconds = machine.prepared.executionTimeoutSeconds;
    if (timeoutSeconds !== undefined) {
      live.cancelExecutionTimeout = this.scheduler.at(
        Date.parse(record.startDate) + timeoutSeconds * 1000,
        () => {
          this.end(
            live,
            "timeout",
            "States.Timeout",
            `execution exceeded TimeoutSeconds (${timeoutSeconds})`,
          );
        },
      );
    }
    live.done = run.result.then(
      async (output) => {
        await events;
        this.settle(live, { output });
      },
      async (error: unknown) => {
        await events;
        this.settle(live, { error });
      },
    );
  }

  private settle(live: Live, outcome: { output?: unknown; error?: unknown }): void {
    if (live.ending === "shutdown") return; // stays RUNNING on disk for resume()
    live.cancelExecutionTimeout?.();
    this.live.delete(live.record.executionArn);
    const record = live.record;
    if (!live.ending) {
      if ("error" in outcome) {
        const cause = outcome.error instanceof ExecutionError ? outcome.error.cause : outcome.error;
        const failure = cause instanceof Error ? cause : new Error(String(cause));
        this.close(record, "FAILED", failure.name, failure.message);
      } else {
        this.close(record, "SUCCEEDED");
        record.output = JSON.stringify(outcome.output ?? null);
      }
    }
    this.addTerminalHistory(record);
    void this.save(record);
  }

  /** Ends a live execution from outside the interpreter: StopExecution or its own TimeoutSeconds. */
  private end(live: Live, ending: "stop" | "timeout", error?: string, cause?: string): void {
    if (live.ending) return;
    live.ending = ending;
    this.close(live.record, ending === "stop" ? "ABORTED" : "TIMED_OUT", error, cause);
    this.release(live, ending === "stop" ? "execution stopped" : "execution timed out");
    void this.save(live.record);
  }

  private close(record: ExecutionRecord, status: ExecutionStatus, error?: string, cause?: string): void {
    record.status = status;
    record.stopDate = this.nowIso();
    if (error !== undefined) record.error = error;
    if (cause !== undefined) record.cause = cause;
    delete record.pendingTask;
    delete record.pendingWait;
  }

  /** Aborts the interpreter run and ends whatever it awaits (no Retry, no Catch). */
  private release(live: Live, why: string): void {
    live.cancelExecutionTimeout?.();
    live.abort?.();
    for (const reject of [...live.parks]) reject(new ExecutionStoppedError(why));
  }

  private overridesFor(live: Live): NonNullable<RunOptions["overrides"]> {
    const taskResourceLocalHandlers: LibraryTaskHandlers = {};
    const retryIntervalOverrides: Record<string, number> = {};
    for (const info of live.machine.prepared.states.values()) {
      if (info.kind) {
        // Every value the engine returns has been through JSON (handler results are cloned).
        taskResourceLocalHandlers[info.name] = (input) =>
          this.runTask(live, info, input) as Promise<LibraryJson>;
      }
      if (info.hasRetry && this.options.retryIntervalMs !== undefined) {
        retryIntervalOverrides[info.name] = this.options.retryIntervalMs;
      }
    }
    return { taskResourceLocalHandlers, retryIntervalOverrides };
  }

  private contextFor(live: Live): NonNullable<RunOptions["context"]> {
    const mint = (): string => this.mintToken();
    const { record, machine } = live;
    return {
      Execution: { Id: record.executionArn, Name: record.name, RoleArn: machine.record.roleArn },
      StateMachine: { Id: machine.record.stateMachineArn, Name: machine.record.name },
      // The library copies the context shallowly, so this getter stays live. One token per state
      // entry: Parameters reads it (any number of times), the state's override then claims it.
      Task: {
        get Token(): string {
          live.unclaimedToken ??= mint();
          return live.unclaimedToken;
        },
      },
    };
  }

  /** Runs a Task (or rewritten Wait) state; `input` is the rewritten state's template output. */
  private async runTask(live: Live, info: StateInfo, input: unknown): Promise<unknown> {
    // A retry of a state in an execution being stopped: end it rather than run it again.
    if (live.ending) throw new ExecutionStoppedError("execution is stopping");
    const template = isObject(input) ? input : {};
    if (info.kind === "wait") return this.runWait(live, info, template);
    const token = info.kind === "task-token" ? (live.unclaimedToken ?? this.mintToken()) : undefined;
    live.unclaimedToken = undefined;
    const timeoutSeconds =
      info.timeoutSeconds ?? positiveInteger(template[TEMPLATE.timeoutSeconds], info, "Timeout");
    const heartbeatSeconds =
      info.heartbeatSeconds ?? positiveInteger(template[TEMPLATE.heartbeatSeconds], info, "Heartbeat");
    const parameters = template[TEMPLATE.payload];
    const enteredMs = this.enteredAt(live);
    const deadlineMs = timeoutSeconds === undefined ? undefined : enteredMs + timeoutSeconds * 1000;

    if (token === undefined) {
      // What this handler computes (a relative timeout, say) is computed at the clock as it is now.
      this.sawClock(live);
      return this.park<unknown>(live, (resolve, reject) => {
        this.invoke(info, parameters).then(resolve, reject);
        if (deadlineMs === undefined) return () => undefined;
        return this.scheduler.at(deadlineMs, () => {
          reject(this.timeoutError());
        });
      });
    }

    live.record.pendingTask = {
      token,
      stateName: info.name,
      enteredAt: new Date(enteredMs).toISOString(),
      ...(deadlineMs === undefined ? {} : { deadline: new Date(deadlineMs).toISOString() }),
    };
    void this.save(live.record);
    return this.park<unknown>(live, (resolve, reject) => {
      const cancels: (() => void)[] = [];
      const timedOut = (message?: string): void => {
        this.closedTokens.set(token, "timed-out");
        this.sawClock(live);
        reject(this.timeoutError(message));
      };
      if (deadlineMs !== undefined)
        cancels.push(
          this.scheduler.at(deadlineMs, () => {
            timedOut();
          }),
        );
      let cancelHeartbeat: (() => void) | undefined;
      const heartbeat = (fromMs = this.clock.now().getTime()): void => {
        if (heartbeatSeconds === undefined) return;
        cancelHeartbeat?.();
        const dueMs = fromMs + heartbeatSeconds * 1000;
        if (live.record.pendingTask?.token === token) {
          live.record.pendingTask.heartbeatDeadline = new Date(dueMs).toISOString();
        }
        cancelHeartbeat = this.scheduler.at(dueMs, () => {
          timedOut(`States.HeartbeatTimeout: no heartbeat for ${heartbeatSeconds} seconds`);
        });
      };
      heartbeat(enteredMs);
      // Registered before the handler runs: it may hand the token on and be answered at once.
      this.tokens.set(token, {
        live,
        stateName: info.name,
        succeed: (output) => {
          this.closedTokens.set(token, "completed");
          this.sawClock(live);
          resolve(output);
        },
        fail: (error) => {
          this.closedTokens.set(token, "completed");
          this.sawClock(live);
          reject(error);
        },
        heartbeat: () => {
          heartbeat();
        },
      });
      // A failed invocation fails the state, as a failed Lambda invoke does on AWS.
      this.invoke(info, parameters).catch(reject);
      return () => {
        for (const cancel of cancels) cancel();
        cancelHeartbeat?.();
        this.tokens.delete(token);
        if (live.record.pendingTask?.token === token && live.ending !== "shutdown") {
          delete live.record.pendingTask;
          void this.save(live.record);
        }
      };
    });
  }

  private runWait(live: Live, info: StateInfo, template: Record<string, unknown>): Promise<unknown> {
    const seconds = template[TEMPLATE.seconds];
    const timestamp = template[TEMPLATE.timestamp];
    let dueMs: number;
    if (seconds !== undefined) {
      if (typeof seconds !== "number" || !Number.isInteger(seconds) || seconds < 0) {
        throw new StatesRuntimeError(
          `Wait "${info.name}": seconds must be a non-negative integer, not ${JSON.stringify(seconds)}`,
        );
      }
      dueMs = this.enteredAt(live) + seconds * 1000;
    } else {
      dueMs = typeof timestamp === "string" ? Date.parse(timestamp) : Number.NaN;
      if (Number.isNaN(dueMs)) {
        throw new StatesRuntimeError(`Wait "${info.name}": ${JSON.stringify(timestamp)} is not a timestamp`);
      }
    }
    const pendingWait = { stateName: info.name, until: new Date(dueMs).toISOString() };
    live.record.pendingWait = pendingWait;
    void this.save(live.record);
    return this.park<unknown>(live, (resolve) => {
      const cancel = this.scheduler.at(dueMs, () => {
        this.sawClock(live);
        resolve(template[TEMPLATE.input] ?? null);
      });
      return () => {
        cancel();
        if (live.record.pendingWait === pendingWait && live.ending !== "shutdown")
          delete live.record.pendingWait;
      };
    });
  }

  /**
   * A promise the interpreter awaits, which stopping the execution can end. `setup` wires the
   * ways it settles and returns the cleanup, run exactly once whichever way it settles.
   */
  private park<T>(
    live: Live,
    setup: (resolve: (value: T) => void, reject: (error: unknown) => void) => () => void,
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const state: { settled: boolean; cleanup?: () => void } = { settled: false };
      const finish = (settle: () => void): void => {
        if (state.settled) return;
        state.settled = true;
        live.parks.delete(stop);
        state.cleanup?.();
        settle();
      };
      const fail = (error: unknown): void => {
        finish(() => {
          reject(error instanceof Error ? error : new Error(String(error)));
        });
      };
      const stop = (error: Error): void => {
        fail(error);
      };
      live.parks.add(stop);
      const teardown = setup((value) => {
        finish(() => {
          resolve(value);
        });
      }, fail);
      // setup may settle synchronously, before its cleanup could be registered.
      if (state.settled) teardown();
      else state.cleanup = teardown;
    });
  }

  /** Calls the handler for a task; for `lambda:invoke` unwraps `{FunctionName, Payload}` and wraps the result as AWS does. */
  private async invoke(info: StateInfo, parameters: unknown): Promise<unknown> {
    let target: string;
    let payload: unknown;
    if (info.resource === LAMBDA_INVOKE) {
      if (!isObject(parameters) || typeof parameters.FunctionName !== "string") {
        throw new StatesRuntimeError(`Task "${info.name}": lambda:invoke needs Parameters.FunctionName`);
      }
      target = parameters.FunctionName;
      payload = parameters.Payload ?? {};
    } else {
      target = info.resource ?? "";
      payload = parameters;
    }
    const handler = this.handlers.get(target) ?? this.handlersByFunctionName.get(functionNameOf(target));
    if (!handler) {
      throw new LambdaFunctionError(
        "Lambda.ResourceNotFoundException",
        `Task "${info.name}": no local handler for ${target} (pass it in the engine's handlers)`,
      );
    }
    let result: unknown;
    try {
      // JSON in and out, as over the wire: handlers cannot share objects with the engine.
      result = jsonClone(await handler(jsonClone(payload ?? null)));
    } catch (error) {
      throw error instanceof Error
        ? new LambdaFunctionError(error.name || "Error", error.message)
        : new LambdaFunctionError("Error", String(error));
    }
    if (info.kind !== "lambda-invoke") return result;
    return {
      ExecutedVersion: "$LATEST",
      Payload: result,
      SdkHttpMetadata: { HttpStatusCode: 200 },
      SdkResponseMetadata: { RequestId: randomUUID() },
      StatusCode: 200,
    };
  }

  private tokenWait(taskToken: string): TokenWait {
    const wait = this.tokens.get(taskToken);
    if (wait) return wait;
    if (this.closedTokens.get(taskToken) === "timed-out")
      throw new SfnApiError("TaskTimedOut", "Task Timed Out");
    throw new SfnApiError("TaskDoesNotExist", "Task Does Not Exist");
  }

  private mintToken(): string {
    return randomBytes(48).toString("base64url");
  }

  // ---------------------------------------------------------------- history

  private async recordEvents(live: Live, events: EventLogs): Promise<void> {
    for await (const event of events) this.recordEvent(live, event);
  }

  private recordEvent(live: Live, event: LibraryEvent): void {
    if (!("state" in event) || event.type.startsWith("Map") || event.type.startsWith("Parallel")) return;
    const { name } = event.state;
    const info = live.machine.prepared.states.get(name);
    const type = info?.type ?? event.state.type;
    switch (event.type) {
      case "StateEntered":
        this.addHistory(live.record, `${type}StateEntered`, "stateEnteredEventDetails", {
          name,
          input: JSON.stringify(event.state.input),
        });
        break;
      case "StateExited":
        this.addHistory(live.record, `${type}StateExited`, "stateExitedEventDetails", {
          name,
          output: JSON.stringify(event.state.output ?? null),
        });
        break;
      case "StateFailed": {
        if (type !== "Task" || event.Error === ExecutionStoppedError.errorName) break;
        const timedOut = event.Error === "States.Timeout";
        this.addHistory(
          live.record,
          timedOut ? "TaskTimedOut" : "TaskFailed",
          timedOut ? "taskTimedOutEventDetails" : "taskFailedEventDetails",
          {
            resourceType: info?.kind === "wait" ? "local" : resourceType(info?.resource),
            resource: info?.resource ?? "",
            error: event.Error,
            cause: typeof event.Cause === "string" ? event.Cause : JSON.stringify(event.Cause ?? null),
          },
        );
        break;
      }
      default:
        break;
    }
  }

  private addTerminalHistory(record: ExecutionRecord): void {
    const error = { error: record.error ?? "", cause: record.cause ?? "" };
    switch (record.status) {
      case "SUCCEEDED":
        this.addHistory(record, "ExecutionSucceeded", "executionSucceededEventDetails", {
          output: record.output ?? "null",
        });
        break;
      case "FAILED":
        this.addHistory(record, "ExecutionFailed", "executionFailedEventDetails", error);
        break;
      case "ABORTED":
        this.addHistory(record, "ExecutionAborted", "executionAbortedEventDetails", error);
        break;
      case "TIMED_OUT":
        this.addHistory(record, "ExecutionTimedOut", "executionTimedOutEventDetails", error);
        break;
      case "RUNNING":
        break;
    }
  }

  private addHistory(
    record: ExecutionRecord,
    type: string,
    detailsKey: string | undefined,
    details: Record<string, unknown> | undefined,
  ): void {
    const id = record.history.length + 1;
    record.history.push({
      id,
      previousEventId: id - 1,
      timestamp: this.nowIso(),
      type,
      ...(detailsKey && details ? { detailsKey, details } : {}),
    });
  }

  // ---------------------------------------------------------------- persistence

  private async load(): Promise<void> {
    for (const record of this.executionLog.load()) this.executions.set(record.executionArn, record);
    const data = this.file.read();
    if (data === undefined) return;
    if (
      !isObject(data) ||
      (data.version !== 1 && data.version !== 2) ||
      !Array.isArray(data.stateMachines) ||
      (data.executions !== undefined && !Array.isArray(data.executions))
    ) {
      throw new Error(`${this.file.path} is not a local Step Functions file (version 1 or 2)`);
    }
    const file = data as unknown as PersistedFile;
    for (const record of file.stateMachines) {
      try {
        this.machines.set(record.stateMachineArn, this.machine(record, parseDefinition(record.definition)));
      } catch (error) {
        this.log(`skipping stored state machine ${record.stateMachineArn}: ${(error as Error).message}`);
      }
    }
    if (file.executions === undefined) return;
    // A data folder from before the per-execution logs: move its executions into them, once.
    const imported = file.executions.filter((record) => !this.executions.has(record.executionArn));
    for (const record of imported) this.executions.set(record.executionArn, record);
    await Promise.all(imported.map((record) => this.save(record)));
    await this.saveMachines();
  }

  private saveMachines(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    const file: PersistedFile = {
      version: 2,
      stateMachines: [...this.machines.values()].map((machine) => machine.record),
    };
    return this.file.write(JSON.stringify(file, null, 2)).catch((error: unknown) => {
      this.log(`could not save ${this.file.path}: ${String(error)}`);
    });
  }

  /** Saves what changed in one execution (its log's next lines), off the event loop. */
  private save(record: ExecutionRecord, evenWhenStopped = false): Promise<void> {
    if (this.stopped && !evenWhenStopped) return Promise.resolve();
    return this.executionLog.save(record);
  }

  // ---------------------------------------------------------------- helpers

  private machine(record: StateMachineRecord, definition: AslDefinition): Machine {
    let prepared: PreparedDefinition;
    try {
      prepared = prepare(definition);
    } catch (error) {
      if (error instanceof DefinitionError) throw new SfnApiError("InvalidDefinition", error.message);
      throw error;
    }
    // Validated in createStateMachine; the rewritten copy uses a local Resource for Wait states.
    const interpreter = new StateMachine(prepared.library, { validationOptions: { noValidate: true } });
    return { record, prepared, interpreter };
  }

  private warnAboutMissingHandlers(machine: Machine): void {
    for (const info of machine.prepared.states.values()) {
      const target = info.resource === LAMBDA_INVOKE ? info.functionName : info.resource;
      if (info.kind === "wait" || target === undefined) continue;
      if (!this.handlers.has(target) && !this.handlersByFunctionName.has(functionNameOf(target))) {
        this.log(`${machine.record.name}: Task "${info.name}" has no local handler for ${target}`);
      }
    }
  }

  private execution(executionArn: string): ExecutionRecord {
    const record = this.executions.get(executionArn);
    if (!record)
      throw new SfnApiError("ExecutionDoesNotExist", `Execution Does Not Exist: '${executionArn}'`);
    return record;
  }

  private assertOpen(): void {
    if (this.stopped) throw new Error("the local Step Functions engine is stopped");
  }

  /**
   * The service instant a state is entered at, for its timeouts (issue 9 §6). On AWS a task's
   * result and the next state's start are milliseconds apart, so a relative TimeoutSecondsPath
   * computed by one task ends where that task meant it to. Locally the service clock can jump
   * between the two (`POST /_local/clock/advance` right after a raise); a jump the execution has
   * not seen yet is treated as happening after the state was entered, so the deadline stays the
   * absolute instant it was computed for and the jump brings it nearer, never later. Real time
   * still counts, as on AWS. At worst (a jump while a handler runs) a timeout fires early, and
   * the workflow's OpenStage re-reads the challenge and waits again; it is never late.
   */
  private enteredAt(live: Live): number {
    return Math.min(Date.now() + live.seenOffsetMs, this.clock.now().getTime());
  }

  private sawClock(live: Live): void {
    live.seenOffsetMs = this.clockOffsetMs();
  }

  private clockOffsetMs(): number {
    return this.clock.now().getTime() - Date.now();
  }

  private nowIso(): string {
    return this.clock.now().toISOString();
  }
}

function summary(record: ExecutionRecord): ExecutionSummary {
  return {
    executionArn: record.executionArn,
    stateMachineArn: record.stateMachineArn,
    name: record.name,
    status: record.status,
    startDate: new Date(record.startDate),
    ...(record.stopDate === undefined ? {} : { stopDate: new Date(record.stopDate) }),
  };
}

function validateName(name: string, what: string): void {
  let control = false;
  for (let index = 0; index < name.length; index++) {
    const code = name.charCodeAt(index);
    if (code < 0x20 || (code >= 0x7f && code <= 0x9f)) control = true;
  }
  if (name.length < 1 || name.length > 80 || control || BAD_NAME_CHARACTER.test(name)) {
    throw new SfnApiError("InvalidName", `Invalid Name: '${name}' is not a valid ${what} name`);
  }
}

function parseJson(text: string, code: "InvalidExecutionInput" | "InvalidOutput", message: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new SfnApiError(code, `${message}: ${(error as Error).message}`);
  }
}

/** TimeoutSecondsPath / HeartbeatSecondsPath must select a positive integer (else States.Runtime). */
function positiveInteger(value: unknown, info: StateInfo, what: "Timeout" | "Heartbeat"): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value === "number" && Number.isInteger(value) && value >= 1) return value;
  throw new StatesRuntimeError(
    `Task "${info.name}": ${what}SecondsPath must select a positive integer, not ${JSON.stringify(value)}`,
  );
}

/** `arn:aws:lambda:region:account:function:name[:qualifier]` or a bare name → the function name. */
function functionNameOf(reference: string): string {
  const match = /^arn:aws[a-z-]*:lambda:[^:]*:[^:]*:function:([^:]+)/.exec(reference);
  return match?.[1] ?? reference;
}

function resourceType(resource: string | undefined): string {
  if (resource === undefined) return "";
  const integration = /^arn:aws[a-z-]*:states:::([^:.]+)/.exec(resource);
  return integration?.[1] ?? (resource.includes(":lambda:") ? "lambda" : "");
}

function jsonClone(value: unknown): unknown {
  const text = JSON.stringify(value ?? null);
  return JSON.parse(text) as unknown;
}
