import { PutCommand, type DynamoDBDocumentClient, paginateQuery } from "@aws-sdk/lib-dynamodb";
import type { GoodPracticeNotification } from "../domain/good-practice.js";
import type { GoodPracticeStore } from "./ports.js";
import { TABLE, keys, sortableInstant } from "./table.js";

/**
 * Good practice notifications (functions/domain/good-practice.ts) in the tenant's own partition
 * family: pk `T#<tenant>#GP`, sk `<recordedAt>#<id>` (recordedAt is `Date#toISOString()`, so string
 * order is time order), entity `good_practice`. Written once, never overwritten.
 *
 * The quarterly themes report counts them for its period with {@link countRecordedBetween}: a key
 * query on that one partition, `Select: COUNT`, never a scan and never the notifications' text.
 */

export const GOOD_PRACTICE_ENTITY = "good_practice";

/** The partition holding a tenant's good practice notifications. */
export function goodPracticePartition(tenantId: string): string {
  return `${keys.tenantPartition(tenantId)}#GP`;
}

export class DynamoGoodPracticeStore implements GoodPracticeStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async put(tenantId: string, notification: GoodPracticeNotification): Promise<void> {
    await this.client.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          [TABLE.partitionKey]: goodPracticePartition(tenantId),
          [TABLE.sortKey]: `${notification.recordedAt}#${notification.id}`,
          [TABLE.entityAttribute]: GOOD_PRACTICE_ENTITY,
          tenantId,
          notification,
        },
        ConditionExpression: "attribute_not_exists(#pk)",
        ExpressionAttributeNames: { "#pk": TABLE.partitionKey },
      }),
    );
  }

  /**
   * How many notifications were recorded from `from` to `to` (ISO instants, both inclusive). Every
   * `<recordedAt>#<id>` with recordedAt <= `to` sorts below `<to>$` (`$` follows `#`).
   */
  async countRecordedBetween(tenantId: string, from: string, to: string): Promise<number> {
    const lower = sortableInstant(from, "from");
    const upper = sortableInstant(to, "to");
    if (upper < lower) throw new RangeError(`the period ends (${to}) before it starts (${from})`);
    let count = 0;
    for await (const page of paginateQuery(
      { client: this.client },
      {
        TableName: this.tableName,
        KeyConditionExpression: "#pk = :pk AND #sk BETWEEN :from AND :to",
        ExpressionAttributeNames: { "#pk": TABLE.partitionKey, "#sk": TABLE.sortKey },
        ExpressionAttributeValues: {
          ":pk": goodPracticePartition(tenantId),
          ":from": lower,
          ":to": `${upper}$`,
        },
        Select: "COUNT",
      },
    )) {
      count += page.Count ?? 0;
    }
    return count;
  }
}
