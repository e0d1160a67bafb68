/**
 * DynamoDB calls per HTTP command and per workflow task (issue 11), counted with an SDK middleware
 * on DynamoDB Local (in memory, started here) through the production adapters: the same journey the
 * calls test asserts (test/support/dynamodb-calls.ts), and the write units each one consumed, as
 * DynamoDB Local reports them (table and each index apart), split by item. Counts, not timings:
 * they do not depend on the machine. Printed by `npm run bench` (bench/run.ts).
 */
import { CreateTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { createTableInput } from "../functions/store/table.js";
import { startDynamoDb } from "../local/dynamodb.js";
import { freePort } from "../local/ports.js";
import { capacityMeter, describeWrites, totalOf } from "../test/support/consumed-capacity.js";
import type { BenchFigure } from "./figures.js";

const TABLE_NAME = "crs-bench-calls";

/** Commands and tasks whose rows are the summary's figures (the cold raise and the idempotent respond are printed only). */
const COMMANDS = ["raise", "respond", "escalate", "resolve"];
const TASKS = [
  "OpenStage",
  "AwaitResponse",
  "StageTimedOut (the reminder)",
  "StageTimedOut (the deadline's rule)",
];

export async function printCalls(): Promise<BenchFigure[]> {
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
    const meter = capacityMeter();
    meter.attach(setup.documents);
    try {
      const rows = await measureCalls(setup, meter);
      console.log(
        "\nDynamoDB calls (target: 2 per command, one read and one transaction; <= 2 per workflow task)",
      );
      for (const { what, calls } of rows) {
        console.log(`  ${what.padEnd(66)} ${String(calls.length).padStart(2)}   ${calls.join(", ")}`);
      }
      console.log(
        "\nDynamoDB write units (as DynamoDB Local reports them; a transaction writes at twice the units)",
      );
      for (const { what, capacity = [] } of rows) {
        const { writeUnits, readUnits } = totalOf(capacity);
        console.log(
          `  ${what.padEnd(66)} ${String(writeUnits).padStart(3)} WRU ${String(readUnits).padStart(4)} RRU   ${describeWrites(capacity)}`,
        );
      }
      const calls = (names: readonly string[]) =>
        names.map((name) => rows.find((row) => row.what === name)?.calls.length ?? Number.NaN);
      const units = (names: readonly string[]) =>
        names.map((name) => totalOf(rows.find((row) => row.what === name)?.capacity ?? []).writeUnits);
      const commandCalls = calls(COMMANDS);
      const taskCalls = calls(TASKS);
      return [
        {
          figure: "DynamoDB calls per command (raise/respond/escalate/resolve)",
          now: commandCalls.join(" / "),
          target: "2",
          met: commandCalls.every((n) => n <= 2),
        },
        {
          figure: "DynamoDB calls per task (open/await/reminder/deadline)",
          now: taskCalls.join(" / "),
          target: "<= 2 each",
          met: taskCalls.every((n) => n <= 2),
        },
        {
          figure: "DynamoDB WRU per command (raise/respond/escalate/resolve)",
          now: units(COMMANDS).join(" / "),
          target: "-",
        },
      ];
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
