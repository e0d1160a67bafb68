import { z } from "zod";
import { type BatchResult, type StreamItemRecord, startExecutions } from "../app/workflow-tasks.js";
import { logger } from "../shared/observability.js";
import { type WorkflowDependencies, workflowDependencies, workflowHandler } from "./dependencies.js";

/**
 * DynamoDB stream consumer (NEW_IMAGE; the event source mapping filters INSERTs of ChallengeRaised
 * event items, and this handler checks again). Starts one execution per raised challenge, input
 * `{ tenantId, challengeId }`, named from the tenant and challenge id so a redelivered record or a
 * retry cannot fork a challenge (ExecutionAlreadyExists is success). Failures are reported per
 * record (`batchItemFailures`, ReportBatchItemFailures on the mapping); the other records of the
 * batch are still processed.
 */

const stringAttribute = z.object({ S: z.string() }).optional();

const recordSchema = z.object({
  eventName: z.string().optional(),
  dynamodb: z.object({
    SequenceNumber: z.string().min(1),
    NewImage: z
      .looseObject({
        entity: stringAttribute,
        type: stringAttribute,
        tenantId: stringAttribute,
        challengeId: stringAttribute,
      })
      .optional(),
  }),
});

export const streamEventSchema = z.object({ Records: z.array(recordSchema) });

function toRecord(record: z.infer<typeof recordSchema>): StreamItemRecord {
  const image = record.dynamodb.NewImage;
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
          },
        }),
  };
}

export function createHandler(deps: () => Pick<WorkflowDependencies, "starter" | "observer">) {
  return workflowHandler(async (event): Promise<BatchResult> => {
    const { Records } = streamEventSchema.parse(event);
    const { starter, observer } = deps();
    const { batchItemFailures, started } = await startExecutions(Records.map(toRecord), starter, observer);
    logger.info("stream batch processed", {
      records: Records.length,
      started,
      failed: batchItemFailures.length,
    });
    return { batchItemFailures };
  });
}

export const handler = createHandler(workflowDependencies);
