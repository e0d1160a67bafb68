/**
 * DynamoDB calls per HTTP command and per workflow task (issue 11), counted with an SDK middleware
 * on DynamoDB Local (in memory, started here) through the production adapters: the same journey the
 * calls test asserts (test/support/dynamodb-calls.ts). Counts, not timings: they do not depend on
 * the machine. Printed by `npm run bench` (bench/run.ts).
 */
import { CreateTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { createTableInput } from "../functions/store/table.js";
import { startDynamoDb } from "../local/dynamodb.js";
import { freePort } from "../local/ports.js";

const TABLE_NAME = "crs-bench-calls";

export async function printCalls(): Promise<void> {
  // The API handlers log each request and emit metrics: not wanted between the figures.
  const quiet = { POWERTOOLS_LOG_LEVEL: "SILENT", POWERTOOLS_METRICS_DISABLED: "true" } as const;
  const before = Object.fromEntries(Object.keys(quiet).map((name) => [name, process.env[name]]));
  Object.assign(process.env, quiet);
  // Imported here, after the environment is set: the logger reads it when its module loads.
  const { callsSetup, measureCalls } = await import("../test/support/dynamodb-calls.js");
  const dynamo = await startDynamoDb({ port: await freePort(), region: "eu-west-2" });
  const client = new DynamoDBClient({
    endpoint: dynamo.endpoint,
    region: "eu-west-2",
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
  });
  try {
    await client.send(new CreateTableCommand(createTableInput(TABLE_NAME)));
    const setup = await callsSetup(dynamo.endpoint, TABLE_NAME);
    try {
      const rows = await measureCalls(setup);
      console.log(
        "\nDynamoDB calls (target: 2 per command, one read and one transaction; <= 2 per workflow task)",
      );
      for (const { what, calls } of rows) {
        console.log(`  ${what.padEnd(66)} ${String(calls.length).padStart(2)}   ${calls.join(", ")}`);
      }
    } finally {
      setup.destroy();
    }
  } finally {
    client.destroy();
    await dynamo.stop();
    for (const [name, value] of Object.entries(before)) {
      if (value === undefined) Reflect.deleteProperty(process.env, name);
      else process.env[name] = value;
    }
  }
}
