import { randomUUID } from "node:crypto";
import { createServer } from "node:net";
import {
  CreateTableCommand,
  DeleteTableCommand,
  DynamoDBClient,
  UpdateTimeToLiveCommand,
} from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { inject } from "vitest";
import { TABLE, createTableInput } from "../../functions/store/table.js";
import { startDynamoDb } from "../../local/dynamodb.js";
import { PortInUseError } from "../../local/ports.js";

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
 * Starts DynamoDB Local in memory on a free port with the local runtime's own start function
 * (local/dynamodb.ts: the bundled jar, its JVM options, telemetry off, Java 17+ needed) and
 * resolves once it answers ListTables.
 */
export async function startDynamoDbLocal(): Promise<RunningDynamoDbLocal> {
  let lastError: unknown;
  // A free port can be taken between probing and the JVM binding it: try a fresh one a few times.
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startDynamoDb({
        port: await freePort(),
        region: REGION,
        startupTimeoutMs: STARTUP_TIMEOUT_MS,
      });
    } catch (error) {
      lastError = error;
      if (error instanceof PortInUseError) continue;
      if (error instanceof Error && /Address already in use|BindException/.test(error.message)) continue;
      throw error;
    }
  }
  throw lastError;
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
