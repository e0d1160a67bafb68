import type { AttributeValue, DynamoDBRecord } from "aws-lambda";
import * as z from "zod/mini";
import { type EventItem, eventItemSchema } from "./event-item.js";
import { parseItem } from "./items.js";
import { ENTITY, TABLE } from "./table.js";

/** A stream image holds something our items never do (a set, binary, or a number JavaScript cannot hold exactly). */
export class StreamImageError extends Error {
  override readonly name = "StreamImageError";
}

/**
 * A DynamoDB stream image attribute as plain JSON, for every stream consumer. Our items hold strings,
 * numbers, booleans, nulls, maps and lists only (the document client writes arrays as lists); sets
 * and binary are refused rather than guessed at, and so is a number that would lose precision.
 * `path` names the attribute in errors (no values, so no personal data).
 */
export function fromAttributeValue(value: AttributeValue, path = "$"): unknown {
  if (value.S !== undefined) return value.S;
  if (value.N !== undefined) {
    const number = Number(value.N);
    if (!Number.isFinite(number) || (Number.isInteger(number) && !Number.isSafeInteger(number))) {
      throw new StreamImageError(`${path}: a number with no exact JavaScript form`);
    }
    return number;
  }
  if (value.BOOL !== undefined) return value.BOOL;
  if (value.NULL !== undefined) return null;
  if (value.M !== undefined) {
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value.M))
      out[key] = fromAttributeValue(inner, `${path}.${key}`);
    return out;
  }
  if (value.L !== undefined) return value.L.map((inner, i) => fromAttributeValue(inner, `${path}[${i}]`));
  throw new StreamImageError(`${path}: an attribute type our items never hold (set or binary)`);
}

/** The parts of a DynamoDB stream batch a consumer reads: sequence numbers (for partial failures) and new images. */
export const streamEventSchema = z.object({
  Records: z.array(
    z.object({
      eventName: z.optional(z.string()),
      dynamodb: z.object({
        SequenceNumber: z.string().check(z.minLength(1)),
        NewImage: z.optional(
          z.record(
            z.string(),
            z.custom<AttributeValue>((v: unknown) => typeof v === "object" && v !== null),
          ),
        ),
      }),
    }),
  ),
});

/** A stream record that is not a new event item as the store writes it. Its message names the item's key, never a value. */
export class UndecodableRecordError extends Error {
  override readonly name = "UndecodableRecordError";
}

/** Whether a stream record is a new event item: what the event reactor and the audit exporter take. */
export function isEventInsert(record: DynamoDBRecord): boolean {
  return (
    record.eventName === "INSERT" && record.dynamodb?.NewImage?.[TABLE.entityAttribute]?.S === ENTITY.event
  );
}

/**
 * The event item in a stream record's new image, checked with the store's own item schema (and so
 * the domain's event schema): every stream consumer decodes a record here, once. Throws
 * {@link UndecodableRecordError} when the record has no image, holds what our items never do, or
 * does not have the stored event shape.
 */
export function decodeEventRecord(record: DynamoDBRecord): EventItem {
  const { item, where } = parseImage(
    record,
    eventItemSchema,
    (message, options) => new UndecodableRecordError(message, options),
    (at) => `event item ${at} does not have the stored event shape`,
  );
  if (item.challengeId !== item.event.challengeId || item.type !== item.event.type) {
    throw new UndecodableRecordError(`event item ${where}: challenge id or type disagree with the event`);
  }
  return item;
}

/**
 * The item in a stream record's new image, checked with `schema`, and its key in words. A record
 * with no image, or whose item does not parse, fails with the caller's error: its message names the
 * item's key only, since a parse error quotes the item's values.
 */
export function parseImage<S extends z.ZodMiniType>(
  record: DynamoDBRecord,
  schema: S,
  fail: (message: string, options?: ErrorOptions) => Error,
  misshapen: (where: string) => string,
): { readonly item: z.infer<S>; readonly where: string } {
  const image = record.dynamodb?.NewImage;
  if (image === undefined) throw fail("the record has no new image");
  const where = `${image[TABLE.partitionKey]?.S ?? "?"} ${image[TABLE.sortKey]?.S ?? "?"}`;
  try {
    return { item: parseItem(schema, fromAttributeValue({ M: image }), where), where };
  } catch (error) {
    throw fail(misshapen(where), { cause: error });
  }
}
