import { describe, expect, it } from "vitest";
import {
  AUDIT_STREAM_FILTER,
  INDEXES,
  MAX_EVENTS_PER_APPEND,
  createTableInput,
  indexKeys,
  keys,
  londonMonthOf,
} from "../../../functions/store/table.js";

describe("table definition", () => {
  it("declares every key attribute the indexes use, all strings", () => {
    const input = createTableInput("t");
    const declared = new Set(input.AttributeDefinitions?.map((a) => a.AttributeName));
    for (const index of Object.values(INDEXES)) {
      expect(declared.has(index.partitionKey) && declared.has(index.sortKey)).toBe(true);
    }
    expect(input.AttributeDefinitions?.every((a) => a.AttributeType === "S")).toBe(true);
    expect(input.StreamSpecification).toEqual({ StreamEnabled: true, StreamViewType: "NEW_IMAGE" });
    expect(input.GlobalSecondaryIndexes?.every((g) => g.Projection?.ProjectionType === "ALL")).toBe(true);
  });

  it("leaves room for the snapshot in a 100-item transaction", () => {
    expect(MAX_EVENTS_PER_APPEND + 1).toBe(100);
  });

  it("gives the audit exporter new event items only", () => {
    expect(AUDIT_STREAM_FILTER).toEqual({
      eventName: ["INSERT"],
      dynamodb: { NewImage: { entity: { S: ["event"] } } },
    });
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
    for (const bad of ["", "a#b", "a b", "x".repeat(65)])
      expect(() => keys.config(bad)).toThrow(/invalid tenant id/);
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
