import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { CreateTableCommand, DynamoDBClient, ListTablesCommand } from "@aws-sdk/client-dynamodb";
import { describe, expect, it } from "vitest";
import { superviseDynamoDb } from "../../../local/dynamodb.js";
import { freePort } from "../../../local/ports.js";

/**
 * The local runtime's DynamoDB Local comes back when its JVM dies (issue 10: after a killed
 * DynamoDB Local every request failed until the runtime was restarted by hand), and says so.
 */
describe("supervised DynamoDB Local", () => {
  // On disk (as npm start runs it) the JVM sits behind the commit barrier, which must let go of the
  // port when the JVM dies so the restart can take it; what was written before the kill is still there.
  it.each([
    ["in memory", false],
    ["on disk, behind the commit barrier", true],
  ])(
    "%s: is started again on the same port when its process is killed, and the log says so",
    async (_mode, onDisk) => {
      const port = await freePort();
      const messages: string[] = [];
      const dbPath = onDisk ? await mkdtemp(join(tmpdir(), "crs-ddb-restart-")) : undefined;
      const db = await superviseDynamoDb(
        { port, region: "eu-west-2", ...(dbPath === undefined ? {} : { dbPath }) },
        (message) => messages.push(message),
      );
      const client = new DynamoDBClient({
        endpoint: db.endpoint,
        region: "eu-west-2",
        credentials: { accessKeyId: "local", secretAccessKey: "local" },
        maxAttempts: 1,
      });
      try {
        const firstPid = db.pid;
        expect(firstPid).toBeGreaterThan(1);
        await client.send(
          new CreateTableCommand({
            TableName: "kept",
            AttributeDefinitions: [{ AttributeName: "pk", AttributeType: "S" }],
            KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }],
            BillingMode: "PAY_PER_REQUEST",
          }),
        );

        process.kill(firstPid ?? 0, "SIGKILL");
        for (let waited = 0; db.restarts() === 0 && waited < 90_000; waited += 100) await sleep(100);

        expect(db.restarts()).toBe(1);
        expect(db.pid).not.toBe(firstPid);
        expect(db.endpoint).toBe(`http://127.0.0.1:${String(port)}`);
        const tables = await client.send(new ListTablesCommand({}));
        expect(tables.TableNames ?? []).toEqual(onDisk ? ["kept"] : []);
        expect(
          messages.some((m) => m.includes(`pid ${String(firstPid)}) exited unexpectedly (SIGKILL)`)),
        ).toBe(true);
        expect(messages.some((m) => m.startsWith("DynamoDB Local restarted"))).toBe(true);
      } finally {
        client.destroy();
        await db.stop();
        if (dbPath !== undefined) await rm(dbPath, { recursive: true, force: true });
      }
      // A deliberate stop is not a death: nothing is restarted after it.
      const logged = messages.length;
      await sleep(500);
      expect(messages).toHaveLength(logged);
    },
    180_000,
  );
});
