import type { AttributeValue } from "aws-lambda";
import * as z from "zod/mini";

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
