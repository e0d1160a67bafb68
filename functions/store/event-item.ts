import * as z from "zod/mini";
import { challengeEventSchema } from "../domain/challenge/events.js";
import { londonDateSchema, storedIdSchema } from "../domain/challenge/event-parts.js";
import { hashSchema, keyFields } from "./items.js";
import { ENTITY } from "./table.js";

/**
 * The event item's schema, with every event's, in a module of its own: only functions that read the
 * event history (the store's `events`, the stream consumers, the audit tools) build them.
 */

/** An event item: the domain event untouched, its place in the hash chain, and its type for stream filters. */
export const eventItemSchema = z.strictObject({
  ...keyFields,
  entity: z.literal(ENTITY.event),
  tenantId: z.string().check(z.minLength(1)),
  challengeId: storedIdSchema,
  /** Copy of event.type, so stream consumers can filter without parsing the event. Not hashed. */
  type: z.string().check(z.minLength(1)),
  event: challengeEventSchema,
  prevHash: z.union([z.literal(""), hashSchema]),
  hash: hashSchema,
  /** The challenge's retention date when the event was written: the audit copy's Object Lock date. Not hashed. */
  retainUntil: z.optional(londonDateSchema),
});
export type EventItem = z.infer<typeof eventItemSchema>;
export type EventItemSchema = typeof eventItemSchema;
