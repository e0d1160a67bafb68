/**
 * Test harness for the local Step Functions endpoint: an engine on a temporary data folder, its
 * HTTP server, and a real `@aws-sdk/client-sfn` client pointed at it with dummy credentials.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  SFNClient,
  type DescribeExecutionCommandOutput,
  type HistoryEvent,
} from "@aws-sdk/client-sfn";
import { setOffset } from "../../../functions/shared/clock.js";
import { LocalStepFunctions, type TaskHandler } from "../../../local/stepfunctions/engine.js";
import { startStepFunctionsServer, type StepFunctionsServer } from "../../../local/stepfunctions/server.js";

export const REGION = "eu-west-2";
export const ACCOUNT = "000000000000";
export const DAY_MS = 24 * 3600 * 1000;

export function lambdaArn(name: string): string {
  return `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${name}`;
}

export interface Harness {
  readonly engine: LocalStepFunctions;
  readonly server: StepFunctionsServer;
  readonly sfn: SFNClient;
  readonly dataDir: string;
  readonly warnings: string[];
  /** Stops server and engine, keeping the data folder. */
  stop(): Promise<void>;
}

export interface HarnessOptions {
  readonly handlers: Readonly<Record<string, TaskHandler>>;
  /** Reuse a data folder (persistence tests); a fresh temporary one otherwise. */
  readonly dataDir?: string;
  readonly retryIntervalMs?: number;
}

const dataDirs: string[] = [];

export async function startHarness(options: HarnessOptions): Promise<Harness> {
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), "local-sfn-")));
  if (!options.dataDir) dataDirs.push(dataDir);
  const warnings: string[] = [];
  const engine = await LocalStepFunctions.open({
    dataDir,
    handlers: options.handlers,
    region: REGION,
    accountId: ACCOUNT,
    pollIntervalMs: 20,
    retryIntervalMs: options.retryIntervalMs ?? 0,
    log: (message) => warnings.push(message),
  });
  const server = await startStepFunctionsServer({ engine });
  const sfn = new SFNClient({
    endpoint: server.endpoint,
    region: REGION,
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
    maxAttempts: 1,
  });
  return {
    engine,
    server,
    sfn,
    dataDir,
    warnings,
    stop: async () => {
      sfn.destroy();
      await server.stop();
      await engine.stop();
    },
  };
}

/** Resets the service clock and removes temporary data folders (call from afterEach/afterAll). */
export async function cleanUp(): Promise<void> {
  setOffset(0);
  await Promise.all(dataDirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
}

/** Polls `probe` until it returns something other than undefined (5 s at most: CI machines are busy). */
export async function eventually<T>(
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 5000,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > until) {
      throw new Error(
        `condition not met within ${timeoutMs} ms${lastError instanceof Error ? `: ${lastError.message}` : ""}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export function describeExecution(
  sfn: SFNClient,
  executionArn: string,
): Promise<DescribeExecutionCommandOutput> {
  return sfn.send(new DescribeExecutionCommand({ executionArn }));
}

/** Waits until the execution has `status`, then returns its description. */
export function statusOf(
  sfn: SFNClient,
  executionArn: string,
  status: "RUNNING" | "SUCCEEDED" | "FAILED" | "TIMED_OUT" | "ABORTED",
): Promise<DescribeExecutionCommandOutput> {
  return eventually(async () => {
    const description = await describeExecution(sfn, executionArn);
    return description.status === status ? description : undefined;
  });
}

export async function history(sfn: SFNClient, executionArn: string): Promise<HistoryEvent[]> {
  const { events } = await sfn.send(new GetExecutionHistoryCommand({ executionArn }));
  return events ?? [];
}

/** Names of the states entered, in order. */
export async function statesEntered(sfn: SFNClient, executionArn: string): Promise<string[]> {
  return (await history(sfn, executionArn)).flatMap((event) =>
    event.stateEnteredEventDetails?.name === undefined ? [] : [event.stateEnteredEventDetails.name],
  );
}

/** Waits until the execution has entered `state` `times` times. */
export function entered(sfn: SFNClient, executionArn: string, state: string, times = 1): Promise<true> {
  return eventually(async () => {
    const names = await statesEntered(sfn, executionArn);
    return names.filter((name) => name === state).length >= times ? true : undefined;
  });
}

/** What a {@link recorder} returns: a value, or a function of the payload. */
export type RecorderResult<T> = ((payload: T) => unknown) | object | string | number | boolean | null;

/** A fake task that records each payload and returns `result` (or what `result` computes). */
export function recorder<T = Record<string, unknown>>(
  result: RecorderResult<T> = {},
): TaskHandler & { readonly calls: T[] } {
  const calls: T[] = [];
  const handler = (payload: unknown): Promise<unknown> => {
    calls.push(payload as T);
    return Promise.resolve(typeof result === "function" ? result(payload as T) : result);
  };
  return Object.assign(handler, { calls });
}

/** Lets the interpreter run for `ms` of real time (to show that nothing happens). */
export function settle(ms = 60): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
