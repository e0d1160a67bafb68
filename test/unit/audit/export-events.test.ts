import {
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  type PutObjectCommandInput,
} from "@aws-sdk/client-s3";
// The stream's own marshalling (a dependency of @aws-sdk/lib-dynamodb), so the handler's reading of
// stream images is tested against what DynamoDB really sends rather than against its own inverse.
import { marshall } from "@aws-sdk/util-dynamodb";
import type { AttributeValue, DynamoDBRecord, DynamoDBStreamEvent } from "aws-lambda";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { backfillTenant, monthsBetween } from "../../../functions/audit/backfill.js";
import { makeExportHandler } from "../../../functions/audit/export-events.js";
import { EXPORT_CONTENT_TYPE, exportKey } from "../../../functions/audit/export-format.js";
import { verifyExport } from "../../../functions/audit/verify.js";
import { getPreset } from "../../../functions/domain/presets/index.js";
import type { ChallengeStore, StoredEvent } from "../../../functions/store/ports.js";
import { ENTITY, keys } from "../../../functions/store/table.js";
import { IRO, Story, TENANT, aForm, chain, manager } from "./support.js";

/**
 * The stream exporter and the backfill, against a mocked S3 that behaves like the audit bucket:
 * it keeps what is written and honours `If-None-Match: *` (412 when the key exists).
 */

const BUCKET = "audit-bucket";
const s3Mock = mockClient(S3Client);
let bucket: Map<string, string>;

function s3Behaves(): void {
  s3Mock.on(PutObjectCommand).callsFake((input: PutObjectCommandInput) => {
    const key = input.Key ?? "";
    if (input.IfNoneMatch === "*" && bucket.has(key)) {
      throw new S3ServiceException({
        name: "PreconditionFailed",
        $fault: "client",
        $metadata: { httpStatusCode: 412 },
        message: "At least one of the pre-conditions you specified did not hold",
      });
    }
    // The exporter always sends a string body.
    bucket.set(key, typeof input.Body === "string" ? input.Body : "(not a string)");
    return {};
  });
}

function story(): Story {
  const s = new Story(getPreset("nottingham"), "ch-export-1");
  const tm = manager("team_manager", "north");
  s.do({ type: "Raise", actor: IRO, channel: "api", form: aForm() }, "2026-05-21T09:00:00Z");
  s.do({ type: "Respond", actor: tm, channel: "email", response: "Booked." }, "2026-05-26T13:00:00Z");
  // 00:30 London on 28 May, still 27 May in UTC: the key's date is London's.
  s.do({ type: "MarkResolved", actor: IRO, channel: "api", summary: "Done." }, "2026-05-27T23:30:00Z");
  return s;
}

/** The event item as the store writes it (see functions/store/dynamo-challenge-store.ts). */
function eventItem(stored: StoredEvent): Record<string, unknown> {
  return {
    ...keys.event(stored.tenantId, stored.event.challengeId, stored.event.seq),
    entity: ENTITY.event,
    tenantId: stored.tenantId,
    challengeId: stored.event.challengeId,
    type: stored.event.type,
    event: stored.event,
    prevHash: stored.prevHash,
    hash: stored.hash,
  };
}

function record(
  item: Record<string, unknown>,
  sequenceNumber: string,
  eventName: "INSERT" | "MODIFY" = "INSERT",
): DynamoDBRecord {
  return {
    eventName,
    eventSource: "aws:dynamodb",
    dynamodb: {
      SequenceNumber: sequenceNumber,
      // The SDK's and aws-lambda's AttributeValue types describe the same JSON.
      NewImage: marshall(item, { removeUndefinedValues: true }) as Record<string, AttributeValue>,
      StreamViewType: "NEW_IMAGE",
    },
  };
}

function batch(stored: readonly StoredEvent[]): DynamoDBStreamEvent {
  const records = stored.map((s, i) => record(eventItem(s), `${1000 + i}`));
  // A snapshot update in the same batch: not an event, never exported.
  records.splice(
    1,
    0,
    record({ pk: "T#test-borough#C#ch-export-1", sk: "SNAPSHOT", entity: ENTITY.challenge }, "999", "MODIFY"),
  );
  return { Records: records };
}

const puts = (): PutObjectCommandInput[] =>
  s3Mock.commandCalls(PutObjectCommand).map((call) => call.args[0].input);

beforeEach(() => {
  s3Mock.reset();
  bucket = new Map();
  s3Behaves();
});

describe("export-events handler", () => {
  const stored = chain(TENANT, story().events);
  const handler = makeExportHandler({ s3: new S3Client({ region: "eu-west-2" }), bucket: BUCKET });

  it("locks each object (COMPLIANCE) until the day after the record's own retention date", async () => {
    const [first] = stored;
    if (first === undefined) throw new Error("no events");
    const item = { ...eventItem(first), retainUntil: "2090-01-09" };
    expect(await handler({ Records: [record(item, "1")] })).toEqual({ batchItemFailures: [] });
    expect(puts()[0]).toMatchObject({
      ObjectLockMode: "COMPLIANCE",
      ObjectLockRetainUntilDate: new Date("2090-01-10T00:00:00.000Z"),
    });
    // A date that is not one is refused (reported for retry), never exported with the bucket's default.
    s3Mock.resetHistory();
    const bad = await handler({ Records: [record({ ...item, retainUntil: "2090-13-45" }, "2")] });
    expect(bad).toEqual({ batchItemFailures: [{ itemIdentifier: "2" }] });
    expect(puts()).toHaveLength(0);
  });

  it("writes one object per event, keyed by tenant, London date, challenge and seq", async () => {
    expect(await handler(batch(stored))).toEqual({ batchItemFailures: [] });
    const inputs = puts();
    expect(inputs.map((i) => i.Key)).toEqual([
      "exports/tenant=test-borough/date=2026-05-21/ch-export-1-0000000001.ndjson",
      "exports/tenant=test-borough/date=2026-05-21/ch-export-1-0000000002.ndjson",
      "exports/tenant=test-borough/date=2026-05-26/ch-export-1-0000000003.ndjson",
      "exports/tenant=test-borough/date=2026-05-28/ch-export-1-0000000004.ndjson",
    ]);
    for (const input of inputs) {
      expect(input).toMatchObject({
        Bucket: BUCKET,
        ContentType: EXPORT_CONTENT_TYPE,
        IfNoneMatch: "*",
        ChecksumAlgorithm: "SHA256",
      });
      // Retention is the bucket's default: the writer sets none.
      expect(input.ObjectLockMode).toBeUndefined();
      expect(input.ObjectLockRetainUntilDate).toBeUndefined();
    }
  });

  it("writes exactly the stored event, in the documented field order, nothing added", async () => {
    await handler(batch(stored));
    const body =
      bucket.get("exports/tenant=test-borough/date=2026-05-26/ch-export-1-0000000003.ndjson") ?? "";
    expect(body.endsWith("\n")).toBe(true);
    expect(body.trimEnd()).not.toContain("\n");
    const line = JSON.parse(body) as Record<string, unknown>;
    expect(Object.keys(line)).toEqual([
      "tenantId",
      "challengeId",
      "seq",
      "type",
      "at",
      "actor",
      "channel",
      "data",
      "prevHash",
      "hash",
    ]);
    const third = stored[2];
    expect(line).toEqual({
      tenantId: TENANT,
      ...third?.event,
      prevHash: third?.prevHash,
      hash: third?.hash,
    });
  });

  it("replaying the same batch writes the same keys and bodies, so the bucket holds one line per event", async () => {
    const event = batch(stored);
    expect(await handler(event)).toEqual({ batchItemFailures: [] });
    const first = puts().map((i) => [i.Key, i.Body]);
    s3Mock.resetHistory();
    // Redelivered (Lambda retries from a checkpoint, or bisects): every PUT meets an existing key.
    expect(await handler(event)).toEqual({ batchItemFailures: [] });
    expect(puts().map((i) => [i.Key, i.Body])).toEqual(first);

    expect(bucket.size).toBe(stored.length);
    const lines = [...bucket.values()].flatMap((body) => body.trimEnd().split("\n"));
    expect(lines).toHaveLength(stored.length);
    const report = verifyExport([...bucket].map(([key, text]) => ({ file: key, text })));
    expect(report.problems).toEqual([]);
  });

  it("reports only the record whose PutObject failed", async () => {
    const failing = "exports/tenant=test-borough/date=2026-05-26/ch-export-1-0000000003.ndjson";
    s3Mock.on(PutObjectCommand, { Key: failing }).rejects(
      new S3ServiceException({
        name: "InternalError",
        $fault: "server",
        $metadata: { httpStatusCode: 500 },
        message: "We encountered an internal error.",
      }),
    );
    const result = await handler(batch(stored));
    // Records 1000..1003 are the events; 1002 is the third.
    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: "1002" }] });
    expect([...bucket.keys()]).toHaveLength(3);
    expect(bucket.has(failing)).toBe(false);

    // Lambda retries from the failed record: now it succeeds and nothing is written twice.
    s3Mock.reset();
    s3Behaves();
    const retry = batch(stored);
    expect(await handler({ Records: retry.Records.slice(3) })).toEqual({ batchItemFailures: [] });
    expect(bucket.size).toBe(4);
  });

  it("fails a record whose image is not a stored event, and still exports the rest", async () => {
    const event = batch(stored);
    const broken = eventItem(stored[1] as StoredEvent);
    delete broken.hash;
    event.Records.push(record(broken, "2000"));
    const logged: string[] = [];
    const withLog = makeExportHandler({
      s3: new S3Client({ region: "eu-west-2" }),
      bucket: BUCKET,
      log: {
        info: () => undefined,
        error: (message, attributes) => logged.push(`${message} ${JSON.stringify(attributes)}`),
      },
    });
    expect(await withLog(event)).toEqual({ batchItemFailures: [{ itemIdentifier: "2000" }] });
    expect(bucket.size).toBe(4);
    // The log names the record and the item key, never the event's contents.
    expect(logged.join("\n")).toMatch(/"sequenceNumber":"2000"/);
    expect(logged.join("\n")).not.toMatch(/Booked|Invented|example\.org/);
  });
});

describe("export-events handler: retention tombstones", () => {
  const handler = makeExportHandler({ s3: new S3Client({ region: "eu-west-2" }), bucket: BUCKET });
  /** The tombstone as the retention store leaves it (functions/store/retention-store.ts). */
  const tombstoneItem = (status: "deleting" | "deleted"): Record<string, unknown> => ({
    pk: "T#test-borough#C#ch-gone-1",
    sk: "TOMBSTONE",
    entity: ENTITY.tombstone,
    tenantId: TENANT,
    challengeId: "ch-gone-1",
    status,
    retainUntil: "2026-05-20",
    retentionRule: "lac_75th_birthday",
    reason: "kept until the 75th birthday",
    decidedOn: "2026-05-21",
    deletionStartedAt: "2026-05-21T01:00:00.000Z",
    eventCount: 7,
    itemsDeleted: status === "deleted" ? 12 : 1,
    ...(status === "deleted"
      ? { deletionCompletedAt: "2026-05-21T01:00:02.000Z" }
      : { gsi6pk: "T#test-borough#RETAIN", gsi6sk: "2026-05-20#ch-gone-1" }),
  });
  const KEY = "exports/tenant=test-borough/date=2026-05-21/tombstones/ch-gone-1.json";

  it("exports a finished tombstone as its own object, write-once, with ids, dates, rule and counts only", async () => {
    expect(await handler({ Records: [record(tombstoneItem("deleted"), "5", "MODIFY")] })).toEqual({
      batchItemFailures: [],
    });
    const [put, ...others] = puts();
    expect(others).toHaveLength(0);
    expect(put).toMatchObject({
      Bucket: BUCKET,
      Key: KEY,
      ContentType: "application/json",
      IfNoneMatch: "*",
      ChecksumAlgorithm: "SHA256",
    });
    // No date of its own: nothing personal in it, so the bucket's default lock applies.
    expect(put?.ObjectLockRetainUntilDate).toBeUndefined();
    expect(JSON.parse(bucket.get(KEY) ?? "")).toEqual({
      record: "retention-tombstone",
      tenantId: TENANT,
      challengeId: "ch-gone-1",
      retainUntil: "2026-05-20",
      retentionRule: "lac_75th_birthday",
      reason: "kept until the 75th birthday",
      decidedOn: "2026-05-21",
      deletionStartedAt: "2026-05-21T01:00:00.000Z",
      deletionCompletedAt: "2026-05-21T01:00:02.000Z",
      eventCount: 7,
      itemsDeleted: 12,
    });
  });

  it("a redelivered tombstone meets its key and is not written twice", async () => {
    const event = { Records: [record(tombstoneItem("deleted"), "5", "MODIFY")] };
    await handler(event);
    const first = bucket.get(KEY);
    expect(await handler(event)).toEqual({ batchItemFailures: [] });
    expect(puts()).toHaveLength(2);
    expect(puts()[1]?.IfNoneMatch).toBe("*");
    expect(bucket.size).toBe(1);
    expect(bucket.get(KEY)).toBe(first);
  });

  it("exports nothing while the deletion is under way", async () => {
    expect(await handler({ Records: [record(tombstoneItem("deleting"), "4")] })).toEqual({
      batchItemFailures: [],
    });
    expect(puts()).toHaveLength(0);
  });

  it("fails a finished tombstone that carries a field the store never writes, and logs no values", async () => {
    const logged: string[] = [];
    const withLog = makeExportHandler({
      s3: new S3Client({ region: "eu-west-2" }),
      bucket: BUCKET,
      log: { info: () => undefined, error: (m, a) => logged.push(`${m} ${JSON.stringify(a)}`) },
    });
    const smuggled = { ...tombstoneItem("deleted"), childName: "Invented Child" };
    expect(await withLog({ Records: [record(smuggled, "6", "MODIFY")] })).toEqual({
      batchItemFailures: [{ itemIdentifier: "6" }],
    });
    expect(puts()).toHaveLength(0);
    expect(logged.join("\n")).toMatch(/tombstone T#test-borough#C#ch-gone-1 TOMBSTONE/);
    expect(logged.join("\n")).not.toMatch(/Invented/);
  });
});

describe("exportKey", () => {
  it("uses the London date and escapes unusual challenge ids", () => {
    expect(exportKey({ tenantId: "t1", challengeId: "a/b c", seq: 12, at: "2026-03-29T00:30:00Z" })).toBe(
      "exports/tenant=t1/date=2026-03-29/a%2Fb%20c-0000000012.ndjson",
    );
    // British Summer Time: 23:30 UTC is 00:30 the next day in London.
    expect(exportKey({ tenantId: "t1", challengeId: "c", seq: 1, at: "2026-06-30T23:30:00Z" })).toMatch(
      /date=2026-07-01\//,
    );
    expect(() =>
      exportKey({ tenantId: "t/1", challengeId: "c", seq: 1, at: "2026-06-30T23:30:00Z" }),
    ).toThrow(/invalid tenant id/);
  });
});

describe("backfill", () => {
  /** A store holding one challenge raised in May 2026 (the two methods backfill uses). */
  function fakeStore(s: Story): Pick<ChallengeStore, "raisedInMonth" | "events"> {
    return {
      raisedInMonth: (tenantId, month) =>
        Promise.resolve({ items: tenantId === TENANT && month === "2026-05" ? [s.state] : [] }),
      events: (tenantId, challengeId) =>
        Promise.resolve(tenantId === TENANT && challengeId === s.challengeId ? chain(TENANT, s.events) : []),
    };
  }

  it("writes the same objects as the stream, and nothing twice", async () => {
    const s = story();
    // The stream delivered the first two events before the outage.
    const handler = makeExportHandler({ s3: new S3Client({ region: "eu-west-2" }), bucket: BUCKET });
    await handler(batch(chain(TENANT, s.events).slice(0, 2)));
    const fromStream = new Map(bucket);

    const options = {
      store: fakeStore(s),
      s3: new S3Client({ region: "eu-west-2" }),
      bucket: BUCKET,
      tenantId: TENANT,
      fromMonth: "2026-04",
      toMonth: "2026-06",
    };
    expect(await backfillTenant(options)).toEqual({
      months: 3,
      challenges: 1,
      events: 4,
      written: 2,
      alreadyExported: 2,
    });
    for (const [key, body] of fromStream) expect(bucket.get(key)).toBe(body);
    expect(bucket.size).toBe(4);

    // Again: idempotent.
    expect(await backfillTenant(options)).toMatchObject({ written: 0, alreadyExported: 4 });
    expect(verifyExport([...bucket].map(([key, text]) => ({ file: key, text }))).problems).toEqual([]);
  });

  it("skips events before `since`", async () => {
    const summary = await backfillTenant({
      store: fakeStore(story()),
      s3: new S3Client({ region: "eu-west-2" }),
      bucket: BUCKET,
      tenantId: TENANT,
      fromMonth: "2026-05",
      toMonth: "2026-05",
      since: "2026-05-26T00:00:00Z",
    });
    expect(summary).toMatchObject({ events: 2, written: 2 });
  });

  it("counts months across a year end", () => {
    expect(monthsBetween("2025-11", "2026-02")).toEqual(["2025-11", "2025-12", "2026-01", "2026-02"]);
    expect(() => monthsBetween("2026-02", "2025-11")).toThrow(/before/);
  });
});
