import { DeleteCommand, PutCommand, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { ENTITY, TABLE, keys } from "./table.js";

/** Longest a claim may be kept: a year covers every retry and replay window this service has. */
export const MAX_DEDUPE_TTL_SECONDS = 366 * 24 * 60 * 60;

/**
 * "Have we seen this before?" for inbound email Message-IDs, reply tokens and other one-shot keys.
 * Each claim is an item `T#<tenant>#D#<kind>#<key>` / `DEDUPE` with a TTL (`expiresAt`, epoch
 * seconds): the only items in the table DynamoDB ever deletes by itself.
 */
export class DedupeStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /**
   * Claims `key` for `ttlSeconds`: true the first time, false while an earlier claim is alive.
   * DynamoDB deletes expired items lazily (often hours later), so the condition also treats a
   * claim whose `expiresAt` has passed as gone rather than trusting the item's presence.
   */
  async claimOnce(tenantId: string, kind: string, key: string, ttlSeconds: number): Promise<boolean> {
    if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > MAX_DEDUPE_TTL_SECONDS) {
      throw new RangeError(
        `ttlSeconds must be a whole number from 1 to ${MAX_DEDUPE_TTL_SECONDS}, got ${ttlSeconds}`,
      );
    }
    const now = this.now();
    const nowSeconds = Math.floor(now.getTime() / 1000);
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            ...keys.dedupe(tenantId, kind, key),
            entity: ENTITY.dedupe,
            tenantId,
            kind,
            claimedAt: now.toISOString(),
            [TABLE.ttlAttribute]: nowSeconds + ttlSeconds,
          },
          ConditionExpression: "attribute_not_exists(#pk) OR #expiresAt <= :now",
          ExpressionAttributeNames: { "#pk": TABLE.partitionKey, "#expiresAt": TABLE.ttlAttribute },
          ExpressionAttributeValues: { ":now": nowSeconds },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof Error && error.name === "ConditionalCheckFailedException") return false;
      throw error;
    }
  }

  /** Gives a claim back (a failed attempt, to be retried): the next {@link claimOnce} of `key` succeeds. */
  async release(tenantId: string, kind: string, key: string): Promise<void> {
    await this.client.send(
      new DeleteCommand({ TableName: this.tableName, Key: keys.dedupe(tenantId, kind, key) }),
    );
  }
}
