import { setTimeout as sleep } from "node:timers/promises";
import { DynamoDBClient, ListTablesCommand } from "@aws-sdk/client-dynamodb";
import { describe, expect, it } from "vitest";
import { superviseDynamoDb } from "../../../local/dynamodb.js";
import { freePort } from "../../../local/ports.js";

/**
 * The local runtime's DynamoDB Local comes back when its JVM dies (issue 10: after a killed
 * DynamoDB Local every request failed until the runtime was restarted by hand), and says so.
 */
describe("supervised DynamoDB Local", () => {
  it("is started again on the same port when its process is killed, and the log says so", async () => {
    const port = await freePort();
    const messages: string[] = [];
    const db = await superviseDynamoDb({ port, region: "eu-west-2" }, (message) => messages.push(message));
    const client = new DynamoDBClient({
      endpoint: db.endpoint,
      region: "eu-west-2",
      credentials: { accessKeyId: "local", secretAccessKey: "local" },
      maxAttempts: 1,
    });
    try {
      const firstPid = db.pid;
      expect(firstPid).toBeGreaterThan(1);
      await client.send(new ListTablesCommand({}));

      process.kill(firstPid ?? 0, "SIGKILL");
      for (let waited = 0; db.restarts() === 0 && waited < 90_000; waited += 100) await sleep(100);

      expect(db.restarts()).toBe(1);
      expect(db.pid).not.toBe(firstPid);
      expect(db.endpoint).toBe(`http://127.0.0.1:${String(port)}`);
      await expect(client.send(new ListTablesCommand({}))).resolves.toBeDefined();
      expect(messages.some((m) => m.includes(`pid ${String(firstPid)}) exited unexpectedly (SIGKILL)`))).toBe(
        true,
      );
      expect(messages.some((m) => m.startsWith("DynamoDB Local restarted"))).toBe(true);
    } finally {
      client.destroy();
      await db.stop();
    }
    // A deliberate stop is not a death: nothing is restarted after it.
    const logged = messages.length;
    await sleep(500);
    expect(messages).toHaveLength(logged);
  }, 180_000);
});
