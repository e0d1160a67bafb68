import type { AttributeValue, DynamoDBRecord } from "aws-lambda";
import { describe, expect, it } from "vitest";
import {
  INBOUND_ACCEPTANCE_ENTITY,
  INBOUND_REFUSAL_ENTITY,
} from "../../../functions/mail/inbound-records.js";
import { MAIL_OUT_ENTITY } from "../../../functions/mail/deliveries.js";
import { TASK_TOKEN_ENTITY } from "../../../functions/store/dynamo-challenge-store.js";
import { GOOD_PRACTICE_ENTITY } from "../../../functions/store/good-practice-store.js";
import {
  AUDIT_STREAM_FILTERS,
  ENTITY,
  INDEXES,
  MAX_EVENTS_PER_APPEND,
  REACTOR_STREAM_FILTER,
  createTableInput,
  indexKeys,
  isTenantId,
  keys,
  londonMonthOf,
} from "../../../functions/store/table.js";
import { type FilterPattern, passesFilters } from "../../../local/streams.js";

describe("table definition", () => {
  it("declares every key attribute the indexes use, all strings", () => {
    const input = createTableInput("t");
    const declared = new Set(input.AttributeDefinitions?.map((a) => a.AttributeName));
    for (const index of Object.values(INDEXES)) {
      expect(declared.has(index.partitionKey) && declared.has(index.sortKey)).toBe(true);
    }
    expect(input.AttributeDefinitions?.every((a) => a.AttributeType === "S")).toBe(true);
    expect(input.StreamSpecification).toEqual({ StreamEnabled: true, StreamViewType: "NEW_IMAGE" });
    // The trays' indexes hold keys only; the retention index the attributes its job reads, no state.
    const projections = new Map(
      (input.GlobalSecondaryIndexes ?? []).map((g) => [g.IndexName ?? "", g.Projection]),
    );
    for (const index of [
      INDEXES.openByDueDate,
      INDEXES.byRecipient,
      INDEXES.byChild,
      INDEXES.byTeam,
      INDEXES.byMonthRaised,
    ]) {
      expect(projections.get(index.name)).toEqual({ ProjectionType: "KEYS_ONLY" });
    }
    expect(projections.get(INDEXES.byRetentionDate.name)).toEqual({
      ProjectionType: "INCLUDE",
      NonKeyAttributes: ["entity", "challengeId", "retainUntil", "retentionRule", "legalHoldSince"],
    });
  });

  it("leaves room for the snapshot in a 100-item transaction", () => {
    expect(MAX_EVENTS_PER_APPEND + 1).toBe(100);
  });

  it("names every item kind's entity once, as the modules that write them do", () => {
    const values = Object.values(ENTITY);
    expect(new Set(values).size).toBe(values.length);
    expect(ENTITY).toMatchObject({
      taskToken: TASK_TOKEN_ENTITY,
      goodPractice: GOOD_PRACTICE_ENTITY,
      mailOut: MAIL_OUT_ENTITY,
      inboundAcceptance: INBOUND_ACCEPTANCE_ENTITY,
      inboundRefusal: INBOUND_REFUSAL_ENTITY,
    });
  });
});

describe("stream filters", () => {
  const NEW_EVENT_ITEMS = {
    eventName: ["INSERT"],
    dynamodb: { NewImage: { entity: { S: ["event"] } } },
  };

  /** A NEW_IMAGE stream record, as Lambda's filter sees it. */
  const record = (
    eventName: "INSERT" | "MODIFY" | "REMOVE",
    image?: Record<string, AttributeValue>,
  ): DynamoDBRecord => ({
    eventName,
    dynamodb: {
      Keys: { pk: { S: "T#lbx#C#01ABC" }, sk: { S: "E#0000000001" } },
      SequenceNumber: "1",
      StreamViewType: "NEW_IMAGE",
      ...(image === undefined ? {} : { NewImage: image }),
    },
  });
  const item = (entity: string | undefined, pk: string, sk: string): Record<string, AttributeValue> => ({
    pk: { S: pk },
    sk: { S: sk },
    ...(entity === undefined ? {} : { entity: { S: entity } }),
  });
  const partition = "T#lbx#C#01ABC";
  /** One item of every other kind the table holds (functions/store/table.ts, layout). */
  const otherItems: readonly [string, Record<string, AttributeValue>][] = [
    ["challenge snapshot", item(ENTITY.challenge, partition, "SNAPSHOT")],
    ["task token", item(ENTITY.taskToken, partition, "TASKTOKEN")],
    ["email delivery record", item(ENTITY.mailOut, partition, "MAILOUT#0000000001#assignee")],
    ["undeliverable email", item(ENTITY.mailUndeliverable, partition, "MAILFAIL#ses-1")],
    ["inbound acceptance", item(ENTITY.inboundAcceptance, partition, "MAILIN#2026-01-05T09:00:00Z#ses-2")],
    ["inbound refusal", item(ENTITY.inboundRefusal, "MAILIN#UNATTRIBUTED", "2026-01-05T09:00:00Z#ses-3")],
    ["tenant configuration", item(ENTITY.config, "T#lbx", "CONFIG")],
    ["staff member", item(ENTITY.staff, "T#lbx", "STAFF#p1")],
    ["configuration and directory version", item(ENTITY.tenantVersion, "T#lbx", "VERSION")],
    ["good practice", item(ENTITY.goodPractice, "T#lbx#GP", "2026-01-05T09:00:00.000Z#gp1")],
    ["dedupe claim", item(ENTITY.dedupe, "T#lbx#D#reply-token#k", "DEDUPE")],
    ["benchmark participation", item(ENTITY.benchmarkParticipation, "T#lbx", "BENCHMARK")],
    ["published benchmark (aggregates only)", item(ENTITY.benchmarkPublished, "BENCHMARK", "Q#2026-Q3")],
    ["idempotency record (no entity)", item(undefined, "T#lbx#IDEMPOTENCY", "api#abc")],
    [
      "retention tombstone, deletion under way",
      { ...item(ENTITY.tombstone, partition, "TOMBSTONE"), status: { S: "deleting" } },
    ],
  ];

  const readers: readonly [string, readonly FilterPattern[]][] = [
    ["audit exporter", AUDIT_STREAM_FILTERS],
    ["event reactor", [REACTOR_STREAM_FILTER]],
  ];
  /** What each reader is given, beyond new event items: the reactor also emails good practice. */
  const alsoPasses: Readonly<Record<string, readonly string[]>> = {
    "audit exporter": [],
    "event reactor": [ENTITY.goodPractice],
  };

  it("give the auditor new event items only, and the reactor new event and good practice items", () => {
    expect(AUDIT_STREAM_FILTERS).toEqual([
      NEW_EVENT_ITEMS,
      {
        eventName: ["INSERT", "MODIFY"],
        dynamodb: { NewImage: { entity: { S: ["tombstone"] }, status: { S: ["deleted"] } } },
      },
    ]);
    expect(REACTOR_STREAM_FILTER).toEqual({
      eventName: ["INSERT"],
      dynamodb: { NewImage: { entity: { S: ["event", "good_practice"] } } },
    });
  });

  it.each(readers)("the %s's filter passes a new event item", (_reader, filters) => {
    expect(passesFilters(filters, record("INSERT", item(ENTITY.event, partition, "E#0000000001")))).toBe(
      true,
    );
  });

  it("the auditor's filter passes a tombstone once its deletion is complete; the reactor's never", () => {
    const finished = { ...item(ENTITY.tombstone, partition, "TOMBSTONE"), status: { S: "deleted" } };
    expect(passesFilters(AUDIT_STREAM_FILTERS, record("MODIFY", finished))).toBe(true);
    expect(passesFilters(AUDIT_STREAM_FILTERS, record("INSERT", finished))).toBe(true);
    expect(passesFilters([REACTOR_STREAM_FILTER], record("MODIFY", finished))).toBe(false);
    const underWay = { ...item(ENTITY.tombstone, partition, "TOMBSTONE"), status: { S: "deleting" } };
    expect(passesFilters(AUDIT_STREAM_FILTERS, record("INSERT", underWay))).toBe(false);
    expect(passesFilters(AUDIT_STREAM_FILTERS, record("MODIFY", underWay))).toBe(false);
    // A deleted status on anything else is not a tombstone.
    const snapshot = { ...item(ENTITY.challenge, partition, "SNAPSHOT"), status: { S: "deleted" } };
    expect(passesFilters(AUDIT_STREAM_FILTERS, record("MODIFY", snapshot))).toBe(false);
  });

  it("the reactor's filter passes a new good practice notification; the auditor's does not", () => {
    const goodPractice = record(
      "INSERT",
      item(ENTITY.goodPractice, "T#lbx#GP", "2026-01-05T09:00:00.000Z#gp1"),
    );
    expect(passesFilters([REACTOR_STREAM_FILTER], goodPractice)).toBe(true);
    expect(passesFilters(AUDIT_STREAM_FILTERS, goodPractice)).toBe(false);
  });

  it.each(readers)("the %s's filter drops every other record", (reader, filters) => {
    const passes = new Set(alsoPasses[reader]);
    // An event item changed or removed: events are immutable, so neither should happen; never react twice.
    expect(passesFilters(filters, record("MODIFY", item(ENTITY.event, partition, "E#0000000001")))).toBe(
      false,
    );
    expect(passesFilters(filters, record("REMOVE"))).toBe(false);
    for (const [what, image] of otherItems) {
      const entity = image.entity?.S;
      const passed = entity !== undefined && passes.has(entity);
      expect(passesFilters(filters, record("INSERT", image)), `INSERT ${what}`).toBe(passed);
      // Nothing a reader is given is ever modified: a MODIFY never passes.
      expect(passesFilters(filters, record("MODIFY", image)), `MODIFY ${what}`).toBe(false);
      // TTL deletions (dedupe, idempotency, unattributed refusals) are REMOVEs with no new image.
      expect(passesFilters(filters, record("REMOVE")), `REMOVE ${what}`).toBe(false);
    }
    // Every kind of item is covered: one of each entity but `event`.
    expect(new Set(otherItems.map(([, image]) => image.entity?.S).filter((e) => e !== undefined))).toEqual(
      new Set(Object.values(ENTITY).filter((e) => e !== ENTITY.event)),
    );
  });
});

describe("keys", () => {
  it("puts the tenant first in every key", () => {
    expect(keys.challenge("lbx", "01ABC")).toEqual({ pk: "T#lbx#C#01ABC", sk: "SNAPSHOT" });
    expect(keys.event("lbx", "01ABC", 7)).toEqual({ pk: "T#lbx#C#01ABC", sk: "E#0000000007" });
    expect(keys.config("lbx")).toEqual({ pk: "T#lbx", sk: "CONFIG" });
    expect(keys.staff("lbx", "p1")).toEqual({ pk: "T#lbx", sk: "STAFF#p1" });
    expect(keys.dedupe("lbx", "message-id", "<m@x>")).toEqual({
      pk: "T#lbx#D#message-id#<m@x>",
      sk: "DEDUPE",
    });
    expect(indexKeys.byRecipientPk("lbx", "p1")).toBe("T#lbx#P#p1");
  });

  it("escapes separators in outside ids so distinct ids never share a key", () => {
    expect(keys.challenge("lbx", "a#b").pk).toBe("T#lbx#C#a%23b");
    expect(keys.challenge("lbx", "a%23b").pk).toBe("T#lbx#C#a%2523b");
  });

  it("refuses tenant ids that could forge another tenant's keys", () => {
    for (const bad of ["", "a#b", "a b", "a,b", "x".repeat(65)]) {
      expect(() => keys.config(bad)).toThrow(/invalid tenant id/);
      expect(isTenantId(bad)).toBe(false);
    }
    expect(isTenantId("example-council")).toBe(true);
  });

  it("pads event numbers so string order is number order", () => {
    expect(keys.event("t", "c", 10).sk > keys.event("t", "c", 9).sk).toBe(true);
    expect(() => keys.event("t", "c", 0)).toThrow();
    expect(() => keys.event("t", "c", 1.5)).toThrow();
  });

  it("normalises instants so string order is time order", () => {
    expect(indexKeys.timeSk("2025-03-17T18:00:00+01:00", "c", "deadline")).toBe("2025-03-17T17:00:00.000Z#c");
    expect(indexKeys.timeUpperBound("2025-03-17T17:00:00Z", "dueBy") > "2025-03-17T17:00:00.000Z#zzzz").toBe(
      true,
    );
    expect(indexKeys.timeUpperBound("2025-03-17T17:00:00Z", "dueBy") < "2025-03-17T17:00:00.001Z#a").toBe(
      true,
    );
    expect(() => indexKeys.timeSk("soon", "c", "deadline")).toThrow(/deadline/);
  });

  it("files challenges under the London month, across both clock changes", () => {
    expect(londonMonthOf("2025-03-31T23:30:00Z")).toBe("2025-04"); // BST: 00:30 on 1 April
    expect(londonMonthOf("2025-10-31T23:30:00Z")).toBe("2025-10"); // GMT again: 23:30 on 31 October
    expect(londonMonthOf("2025-01-31T23:59:59Z")).toBe("2025-01");
  });
});
