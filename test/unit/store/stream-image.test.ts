import { marshall } from "@aws-sdk/util-dynamodb";
import type { AttributeValue } from "aws-lambda";
import { describe, expect, it } from "vitest";
import { fromAttributeValue, StreamImageError } from "../../../functions/store/stream-image.js";

describe("fromAttributeValue: stream images as plain JSON", () => {
  it("reads back what DynamoDB's own marshalling writes", () => {
    const item = {
      pk: "T#demo#C#01J",
      seq: 3,
      ok: true,
      none: null,
      tags: ["a", "b"],
      nested: { at: "2026-05-21" },
    };
    const image = marshall(item, { removeUndefinedValues: true }) as Record<string, AttributeValue>;
    expect(fromAttributeValue({ M: image })).toEqual(item);
  });

  it("refuses sets, binary and numbers JavaScript cannot hold exactly, naming the attribute", () => {
    expect(() => fromAttributeValue({ M: { roles: { SS: ["a"] } } })).toThrow(StreamImageError);
    expect(() => fromAttributeValue({ M: { blob: { B: "AA==" } } })).toThrow(/\$\.blob/);
    expect(() => fromAttributeValue({ M: { big: { N: "9007199254740993" } } })).toThrow(/\$\.big: a number/);
  });
});
