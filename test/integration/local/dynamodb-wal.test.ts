import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DynamoDBClient, GetItemCommand, PutItemCommand } from "@aws-sdk/client-dynamodb";
import { afterEach, describe, expect, it } from "vitest";
import { ensureTable, startDynamoDb } from "../../../local/dynamodb.js";
import { SHARED_DB_FILE, emptyWalDatabase, useWriteAheadLog } from "../../../local/dynamodb-wal.js";
import { freePort } from "../../../local/ports.js";

/**
 * DynamoDB Local's file runs in SQLite's WAL mode (issue 12: one fsync per commit instead of three
 * or four), and what it acknowledged before a SIGKILL is there after a restart. Its calls are counted.
 */

const folders: string[] = [];
async function folder(): Promise<string> {
  const path = await mkdtemp(join(tmpdir(), "crs-ddb-wal-"));
  folders.push(path);
  return path;
}

afterEach(async () => {
  await Promise.all(folders.splice(0).map((path) => rm(path, { recursive: true, force: true })));
});

/** Header bytes 18 and 19: 1 rollback journal, 2 write-ahead log. */
function journalMode(dbPath: string): string {
  const header = readFileSync(join(dbPath, SHARED_DB_FILE)).subarray(18, 20);
  return header[0] === 2 && header[1] === 2 ? "wal" : header[0] === 1 && header[1] === 1 ? "rollback" : "?";
}

describe("DynamoDB Local's database file in WAL mode", () => {
  it("is created in WAL mode, and keeps an acknowledged write across a SIGKILL of the JVM", async () => {
    const dbPath = await folder();
    const region = "eu-west-2";
    let db = await startDynamoDb({ port: await freePort(), dbPath, region });
    const item = { pk: { S: "CHALLENGE#1" }, sk: { S: "STATE" }, stage: { N: "2" } };
    try {
      expect(journalMode(dbPath)).toBe("wal");
      await ensureTable(db.endpoint, region, "wal-kept");
      const client = new DynamoDBClient({
        endpoint: db.endpoint,
        region,
        credentials: { accessKeyId: "local", secretAccessKey: "local" },
        maxAttempts: 1,
      });
      await client.send(new PutItemCommand({ TableName: "wal-kept", Item: item }));
      client.destroy();
      // The barrier counts what it forwards (bench:local reports calls per challenge).
      expect(db.calls()).toMatchObject({ PutItem: 1 });
      expect(existsSync(join(dbPath, `${SHARED_DB_FILE}-wal`))).toBe(true);
      process.kill(db.pid ?? 0, "SIGKILL");
      await db.exited;
    } finally {
      await db.stop();
    }

    db = await startDynamoDb({ port: await freePort(), dbPath, region });
    const client = new DynamoDBClient({
      endpoint: db.endpoint,
      region,
      credentials: { accessKeyId: "local", secretAccessKey: "local" },
    });
    try {
      const { Item } = await client.send(
        new GetItemCommand({ TableName: "wal-kept", Key: { pk: item.pk, sk: item.sk } }),
      );
      expect(Item).toEqual(item);
      expect(journalMode(dbPath)).toBe("wal");
    } finally {
      client.destroy();
      await db.stop();
    }
  });

  it("switches a file in rollback mode, unless a journal left by a crash must be rolled back first", async () => {
    const dbPath = await folder();
    const file = join(dbPath, SHARED_DB_FILE);
    const rollback = emptyWalDatabase();
    rollback[18] = 1;
    rollback[19] = 1;

    writeFileSync(file, rollback);
    writeFileSync(`${file}-journal`, "a hot journal");
    expect(useWriteAheadLog(dbPath)).toBe("left");
    expect(journalMode(dbPath)).toBe("rollback");

    await rm(`${file}-journal`);
    expect(useWriteAheadLog(dbPath)).toBe("switched");
    expect(journalMode(dbPath)).toBe("wal");
    expect(useWriteAheadLog(dbPath)).toBe("already");
  });
});
