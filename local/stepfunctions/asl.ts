/**
 * Amazon States Language handling for the local engine: definition substitutions (what CDK's
 * `DefinitionBody.fromFile` + `definitionSubstitutions` do on AWS), and the rewrite of a definition
 * into the copy that `aws-local-stepfunctions` runs.
 *
 * The interpreter keeps Choice, Pass, Parallel, Map, Succeed, Fail, InputPath/Parameters/
 * ResultSelector/ResultPath/OutputPath, Retry and Catch. The engine takes over what the library
 * gets wrong or cannot do, by rewriting two kinds of state in the library's copy:
 *
 * - Task: the original `Parameters` move under `payload`, and `TimeoutSecondsPath` /
 *   `HeartbeatSecondsPath` become entries of the same template, so the library evaluates them
 *   against the state's input (after InputPath, before Parameters) instead of against the
 *   Parameters output, as it otherwise would. The engine enforces the timeouts on the service
 *   clock; the library's own timer is set to its largest safe value so its 60-second default
 *   (AWS has none) never applies and no Node timer overflows.
 * - Wait: becomes a Task with the same InputPath/OutputPath whose template carries the effective
 *   input and the evaluated Seconds/Timestamp(Path); the engine parks it until the service clock
 *   reaches the time, so moving the clock forward fires waits at once.
 *
 * The top-level `TimeoutSeconds` is removed from the copy for the same reason (the library would
 * arm a real timer that overflows past ~24.8 days); the engine enforces it on the service clock.
 */
import type { StateMachineDefinition } from "aws-local-stepfunctions";

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/** A state as written in ASL; only the fields the engine reads are typed. */
export interface AslState {
  readonly Type: string;
  readonly Resource?: string;
  readonly Parameters?: Json;
  readonly TimeoutSeconds?: number;
  readonly TimeoutSecondsPath?: string;
  readonly HeartbeatSeconds?: number;
  readonly HeartbeatSecondsPath?: string;
  readonly Seconds?: number;
  readonly Timestamp?: string;
  readonly SecondsPath?: string;
  readonly TimestampPath?: string;
  readonly Retry?: readonly unknown[];
  readonly Branches?: readonly AslDefinition[];
  readonly Iterator?: AslDefinition;
  readonly ItemProcessor?: AslDefinition;
  readonly [field: string]: unknown;
}

export interface AslDefinition {
  readonly StartAt: string;
  readonly States: Readonly<Record<string, AslState>>;
  readonly TimeoutSeconds?: number;
  readonly [field: string]: unknown;
}

/** How the engine runs a Task (or rewritten Wait) state. */
export type TaskKind =
  /** `arn:aws:lambda:...:function:name`: the handler's result is the task result. */
  | "lambda"
  /** `arn:aws:states:::lambda:invoke`: Parameters `{FunctionName, Payload}`; result wrapped as AWS does. */
  | "lambda-invoke"
  /** `...waitForTaskToken`: invoke, then park until SendTaskSuccess/Failure or the timeout. */
  | "task-token"
  /** Any other resource: the handler registered for the resource ARN gets the Parameters output. */
  | "resource"
  /** A Wait state, parked on the service clock. */
  | "wait";

export interface StateInfo {
  readonly name: string;
  /** The type in the original definition (a rewritten Wait is still "Wait" here). */
  readonly type: string;
  readonly kind?: TaskKind;
  /** Resource without the `.waitForTaskToken` suffix. */
  readonly resource?: string;
  /** For `lambda:invoke`: `Parameters.FunctionName` when it is a literal (for start-up warnings). */
  readonly functionName?: string;
  readonly timeoutSeconds?: number;
  readonly heartbeatSeconds?: number;
  readonly hasRetry: boolean;
}

export interface PreparedDefinition {
  /** The copy given to aws-local-stepfunctions. */
  readonly library: StateMachineDefinition;
  /** Every state, nested ones included, by name (ASL names are unique machine-wide). */
  readonly states: ReadonlyMap<string, StateInfo>;
  /** The top-level TimeoutSeconds, enforced by the engine on the service clock. */
  readonly executionTimeoutSeconds?: number;
}

/**
 * Node's timers hold at most 2^31-1 ms (~24.8 days); a longer delay fires after 1 ms. The library
 * arms one timer per Task from TimeoutSeconds: this is the largest value that does not overflow.
 * (So a task or Wait parked for over ~24.8 days of REAL process uptime, with no restart, would
 * still fail with States.Timeout; the service clock moving forward has no effect on this timer.)
 */
export const LIBRARY_TASK_TIMEOUT_SECONDS = Math.floor((2 ** 31 - 1) / 1000);

/** Keys of the template the rewritten states pass to the engine's override. */
export const TEMPLATE = {
  payload: "payload",
  input: "input",
  timeoutSeconds: "timeoutSeconds",
  heartbeatSeconds: "heartbeatSeconds",
  seconds: "seconds",
  timestamp: "timestamp",
} as const;

export const LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke";
const WAIT_FOR_TASK_TOKEN = ".waitForTaskToken";
/** Resource of a rewritten Wait in the library's copy: never called, the override runs instead. */
const LOCAL_WAIT_RESOURCE = "arn:aws:states:::local:wait";

export class DefinitionError extends Error {
  override readonly name = "DefinitionError";
}

/**
 * Replaces `${Name}` with `substitutions[Name]`, as CloudFormation does for CDK's
 * `definitionSubstitutions`. A placeholder without a value is an error naming it.
 */
export function substitute(text: string, substitutions: Readonly<Record<string, string>>): string {
  const missing = new Set<string>();
  const result = text.replace(/\$\{([A-Za-z0-9_]+)\}/g, (placeholder, name: string) => {
    const value = substitutions[name];
    if (value === undefined) {
      missing.add(name);
      return placeholder;
    }
    return value;
  });
  if (missing.size > 0) {
    throw new DefinitionError(
      `no definition substitution for ${[...missing].map((n) => `\${${n}}`).join(", ")}`,
    );
  }
  return result;
}

/** Parses a definition's JSON text into the shape the engine reads. */
export function parseDefinition(text: string): AslDefinition {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new DefinitionError(`definition is not JSON: ${(error as Error).message}`);
  }
  if (!isObject(parsed) || typeof parsed.StartAt !== "string" || !isObject(parsed.States)) {
    throw new DefinitionError("definition needs StartAt and States");
  }
  return parsed as unknown as AslDefinition;
}

/** Builds the library's copy of `definition` and the engine's view of its states. */
export function prepare(definition: AslDefinition): PreparedDefinition {
  const states = new Map<string, StateInfo>();
  const { TimeoutSeconds, ...topLevel } = definition;
  const library = { ...topLevel, States: rewriteStates(definition.States, states) };
  return {
    // The rewritten copy keeps the library's structure; its typings are stricter than ASL's JSON.
    library: library as unknown as StateMachineDefinition,
    states,
    ...(TimeoutSeconds === undefined ? {} : { executionTimeoutSeconds: TimeoutSeconds }),
  };
}

function rewriteStates(
  input: Readonly<Record<string, AslState>>,
  states: Map<string, StateInfo>,
): Record<string, unknown> {
  const output: Record<string, unknown> = {};
  for (const [name, state] of Object.entries(input)) {
    if (states.has(name)) throw new DefinitionError(`state name "${name}" is used twice`);
    const hasRetry = Array.isArray(state.Retry) && state.Retry.length > 0;
    switch (state.Type) {
      case "Task": {
        const info = taskInfo(name, state, hasRetry);
        states.set(name, info);
        output[name] = rewriteTask(state);
        break;
      }
      case "Wait":
        states.set(name, { name, type: "Wait", kind: "wait", hasRetry: false });
        output[name] = rewriteWait(state);
        break;
      case "Parallel":
        states.set(name, { name, type: state.Type, hasRetry });
        output[name] = {
          ...state,
          Branches: (state.Branches ?? []).map((branch) => rewriteNested(branch, states)),
        };
        break;
      case "Map": {
        states.set(name, { name, type: state.Type, hasRetry });
        const copy: Record<string, unknown> = { ...state };
        if (state.Iterator) copy.Iterator = rewriteNested(state.Iterator, states);
        if (state.ItemProcessor) copy.ItemProcessor = rewriteNested(state.ItemProcessor, states);
        output[name] = copy;
        break;
      }
      default:
        states.set(name, { name, type: state.Type, hasRetry });
        output[name] = state;
    }
  }
  return output;
}

function rewriteNested(definition: AslDefinition, states: Map<string, StateInfo>): Record<string, unknown> {
  return { ...definition, States: rewriteStates(definition.States, states) };
}

function taskInfo(name: string, state: AslState, hasRetry: boolean): StateInfo {
  const raw = state.Resource;
  if (typeof raw !== "string") throw new DefinitionError(`Task "${name}" has no Resource`);
  const tokenTask = raw.endsWith(WAIT_FOR_TASK_TOKEN);
  const resource = tokenTask ? raw.slice(0, -WAIT_FOR_TASK_TOKEN.length) : raw;
  let kind: TaskKind;
  if (tokenTask) kind = "task-token";
  else if (resource === LAMBDA_INVOKE) kind = "lambda-invoke";
  else if (/^arn:aws[a-z-]*:lambda:/.test(resource)) kind = "lambda";
  else kind = "resource";
  const parameters = state.Parameters;
  const functionName =
    resource === LAMBDA_INVOKE && isObject(parameters) && typeof parameters.FunctionName === "string"
      ? parameters.FunctionName
      : undefined;
  return {
    name,
    type: "Task",
    kind,
    resource,
    hasRetry,
    ...(functionName === undefined ? {} : { functionName }),
    ...(state.TimeoutSeconds === undefined ? {} : { timeoutSeconds: state.TimeoutSeconds }),
    ...(state.HeartbeatSeconds === undefined ? {} : { heartbeatSeconds: state.HeartbeatSeconds }),
  };
}

function rewriteTask(state: AslState): Record<string, unknown> {
  const {
    Parameters,
    TimeoutSeconds: _timeoutSeconds,
    TimeoutSecondsPath,
    HeartbeatSeconds: _heartbeatSeconds,
    HeartbeatSecondsPath,
    ...rest
  } = state;
  const template: Record<string, Json> =
    Parameters === undefined ? { [`${TEMPLATE.payload}.$`]: "$" } : { [TEMPLATE.payload]: Parameters };
  if (TimeoutSecondsPath !== undefined) template[`${TEMPLATE.timeoutSeconds}.$`] = TimeoutSecondsPath;
  if (HeartbeatSecondsPath !== undefined) template[`${TEMPLATE.heartbeatSeconds}.$`] = HeartbeatSecondsPath;
  return { ...rest, Parameters: template, TimeoutSeconds: LIBRARY_TASK_TIMEOUT_SECONDS };
}

function rewriteWait(state: AslState): Record<string, unknown> {
  const { Type: _type, Seconds, Timestamp, SecondsPath, TimestampPath, ...rest } = state;
  const template: Record<string, Json> = { [`${TEMPLATE.input}.$`]: "$" };
  if (Seconds !== undefined) template[TEMPLATE.seconds] = Seconds;
  else if (Timestamp !== undefined) template[TEMPLATE.timestamp] = Timestamp;
  else if (SecondsPath !== undefined) template[`${TEMPLATE.seconds}.$`] = SecondsPath;
  else if (TimestampPath !== undefined) template[`${TEMPLATE.timestamp}.$`] = TimestampPath;
  else throw new DefinitionError("a Wait state needs Seconds, Timestamp, SecondsPath or TimestampPath");
  return {
    ...rest,
    Type: "Task",
    Resource: LOCAL_WAIT_RESOURCE,
    Parameters: template,
    TimeoutSeconds: LIBRARY_TASK_TIMEOUT_SECONDS,
  };
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
