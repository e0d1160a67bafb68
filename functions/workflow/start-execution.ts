import * as z from "zod/mini";
import { type BatchResult, type StreamItemRecord, startExecutions } from "../app/workflow-tasks.js";
import { logger } from "../shared/observability.js";
import { type WorkflowDependencies, workflowDependencies, workflowHandler } from "./dependencies.js";

/**
 * The workflow step of the event reactor (functions/events/react.ts), over a DynamoDB stream batch
 * (NEW_IMAGE of event items). Starts one run of the challenge's workflow per `ChallengeRaised`
 * event, and one per `Reopened` event whose challenge had been resolved (`data.fromStatus`), named
 * from the tenant, the challenge id and the seq of that event, so a redelivered record, a retry or
 * the API's own start cannot fork a run (ExecutionAlreadyExists is success). Input `{ tenantId,
 * challengeId }`. Failures are reported per record (`batchItemFailures`); the other records of the
 * batch are still processed.
 */

const stringAttribute = z.optional(z.object({ S: z.string() }));
const numberAttribute = z.optional(z.object({ N: z.string() }));

/** The parts of the event map (`event`, a domain event) the starter reads: seq and, for Reopened, fromStatus. */
const eventAttribute = z.optional(
  z.object({
    M: z.looseObject({
      seq: numberAttribute,
      data: z.optional(z.object({ M: z.looseObject({ fromStatus: stringAttribute }) })),
    }),
  }),
);

const recordSchema = z.object({
  eventName: z.optional(z.string()),
  dynamodb: z.object({
    SequenceNumber: z.string().check(z.minLength(1)),
    NewImage: z.optional(
      z.looseObject({
        entity: stringAttribute,
        type: stringAttribute,
        tenantId: stringAttribute,
        challengeId: stringAttribute,
        event: eventAttribute,
      }),
    ),
  }),
});

export const streamEventSchema = z.object({ Records: z.array(recordSchema) });

function toRecord(record: z.infer<typeof recordSchema>): StreamItemRecord {
  const image = record.dynamodb.NewImage;
  const seq = image?.event?.M.seq?.N;
  const fromStatus = image?.event?.M.data?.M.fromStatus?.S;
  return {
    itemIdentifier: record.dynamodb.SequenceNumber,
    ...(record.eventName === undefined ? {} : { eventName: record.eventName }),
    ...(image === undefined
      ? {}
      : {
          item: {
            ...(image.entity === undefined ? {} : { entity: image.entity.S }),
            ...(image.type === undefined ? {} : { type: image.type.S }),
            ...(image.tenantId === undefined ? {} : { tenantId: image.tenantId.S }),
            ...(image.challengeId === undefined ? {} : { challengeId: image.challengeId.S }),
            ...(seq === undefined ? {} : { seq: Number(seq) }),
            ...(fromStatus === undefined ? {} : { fromStatus }),
          },
        }),
  };
}

export function createHandler(deps: () => Pick<WorkflowDependencies, "starter" | "observer">) {
  return workflowHandler(async (event): Promise<BatchResult> => {
    const { Records } = streamEventSchema.parse(event);
    const { starter, observer } = deps();
    const { batchItemFailures, started } = await startExecutions(Records.map(toRecord), starter, observer);
    logger.info("workflow runs started from the stream batch", {
      records: Records.length,
      started,
      failed: batchItemFailures.length,
    });
    return { batchItemFailures };
  });
}

/** The batch function the event reactor calls (and the local runtime's stream consumer, until it runs the reactor). */
export const handler = createHandler(workflowDependencies);
