import { setTimeout as sleep } from "node:timers/promises";
import {
  BatchWriteCommand,
  GetCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from "@aws-sdk/lib-dynamodb";
import * as z from "zod/mini";
import { RETENTION_RULES, retentionDecision, type RetentionRule } from "../domain/retention.js";
import { CorruptItemError, parseItem } from "./items.js";
import { ENTITY, INDEXES, SNAPSHOT_SK, TABLE, indexKeys, keys } from "./table.js";

/**
 * Retention over the single table: what is past its retention date (a query of the sparse
 * `byRetentionDate` index, never a scan) and the deletion of a challenge's items.
 *
 * A deletion, in an order that survives a crash at any point:
 * 1. One transaction deletes the snapshot (conditioned on the version read, so a command or a legal
 *    hold that landed meanwhile stops it) and writes the challenge's tombstone, status `deleting`,
 *    which takes the snapshot's place in the index. From here no command can act on the challenge.
 * 2. The partition's other items (events, task token, mail records) are deleted in batches of 25.
 * 3. The tombstone becomes `deleted`, with the count of items deleted, and leaves the index.
 * A run that stops between 1 and 3 finds the `deleting` tombstone in the index next time and resumes.
 *
 * The tombstone stays in the challenge's partition (sk `TOMBSTONE`) for good: ids, dates, the rule
 * and counts; no name, no date of birth, no free text. Nothing personal is read, either: candidate
 * queries project the retention attributes only.
 *
 * Not in the partition, and not deleted here: dedupe claims (keyed by Message-ID or reply token,
 * naming no challenge, expired by TTL within a year) and Powertools idempotency records (keyed by a
 * hash of the request, expired by TTL after 24 hours).
 */

export const TOMBSTONE_SK = "TOMBSTONE" as const;
const BATCH_WRITE_MAX = 25;

/** A record past (or, in a dry run, at) the end of its retention period, as the index holds it. */
export interface RetentionCandidate {
  readonly challengeId: string;
  readonly retainUntil: string;
  readonly rule: RetentionRule;
  /** `challenge`: not yet deleted; `tombstone`: a deletion that started and must be finished. */
  readonly kind: "challenge" | "tombstone";
  /** When the legal hold on it was placed, if there is one. */
  readonly heldSince?: string;
}

export type DeletionOutcome =
  | { readonly outcome: "deleted"; readonly itemsDeleted: number }
  | { readonly outcome: "held" | "not_due" | "gone" | "changed" };

const ruleSchema = z.enum(Object.keys(RETENTION_RULES) as [RetentionRule, ...RetentionRule[]]);
const candidateSchema = z.object({
  entity: z.enum([ENTITY.challenge, ENTITY.tombstone]),
  challengeId: z.string().check(z.minLength(1)),
  retainUntil: z.iso.date(),
  retentionRule: ruleSchema,
  version: z.optional(z.number().check(z.int(), z.gte(1))),
  state: z.optional(z.object({ legalHold: z.optional(z.object({ since: z.string() })) })),
  legalHoldSince: z.optional(z.string()),
});

export const tombstoneItemSchema = z.strictObject({
  pk: z.string().check(z.minLength(1)),
  sk: z.literal(TOMBSTONE_SK),
  entity: z.literal(ENTITY.tombstone),
  tenantId: z.string().check(z.minLength(1)),
  challengeId: z.string().check(z.minLength(1)),
  status: z.enum(["deleting", "deleted"]),
  retainUntil: z.iso.date(),
  retentionRule: ruleSchema,
  /** The citation of the rule, so the tombstone says why on its own. */
  reason: z.string().check(z.minLength(1)),
  /** The day the deletion was decided on (the job's as-of date). */
  decidedOn: z.iso.date(),
  deletionStartedAt: z.iso.datetime(),
  deletionCompletedAt: z.optional(z.iso.datetime()),
  /** Events of the challenge (its version when deleted). */
  eventCount: z.number().check(z.int(), z.gte(1)),
  /** Items deleted from the partition after the snapshot (events, task token, mail records). */
  itemsDeleted: z.number().check(z.int(), z.gte(0)),
  gsi6pk: z.optional(z.string()),
  gsi6sk: z.optional(z.string()),
});
export type TombstoneItem = z.infer<typeof tombstoneItemSchema>;

const PROJECTION = "#entity, #challengeId, #retainUntil, #rule, #version, #state.#legalHold.#since";
/** What the retention index copies (table.ts): the hold's start is its top-level copy there. */
const INDEX_PROJECTION = "#entity, #challengeId, #retainUntil, #rule, #legalHoldSince";
const INDEX_PROJECTION_NAMES = {
  "#entity": TABLE.entityAttribute,
  "#challengeId": "challengeId",
  "#retainUntil": "retainUntil",
  "#rule": "retentionRule",
  "#legalHoldSince": "legalHoldSince",
};
const PROJECTION_NAMES = {
  "#entity": TABLE.entityAttribute,
  "#challengeId": "challengeId",
  "#retainUntil": "retainUntil",
  "#rule": "retentionRule",
  "#version": "version",
  "#state": "state",
  "#legalHold": "legalHold",
  "#since": "since",
};

export class RetentionStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  /**
   * Records whose retention date is before `asOf` (YYYY-MM-DD), earliest first, one page of at most
   * `limit` per call. `asOf` itself is excluded: a record is kept through its retention date.
   */
  async pastRetention(
    tenantId: string,
    asOf: string,
    limit: number,
    startKey?: Record<string, unknown>,
  ): Promise<{ candidates: RetentionCandidate[]; next?: Record<string, unknown> }> {
    const index = INDEXES.byRetentionDate;
    const page = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: index.name,
        KeyConditionExpression: "#ipk = :ipk AND #isk < :asOf",
        ProjectionExpression: INDEX_PROJECTION,
        ExpressionAttributeNames: {
          "#ipk": index.partitionKey,
          "#isk": index.sortKey,
          ...INDEX_PROJECTION_NAMES,
        },
        ExpressionAttributeValues: { ":ipk": indexKeys.byRetentionDatePk(tenantId), ":asOf": asOf },
        Limit: limit,
        ExclusiveStartKey: startKey,
      }),
    );
    const candidates = (page.Items ?? []).map((raw) => {
      const item = parseItem(candidateSchema, raw, `retention candidate (${index.name})`);
      // A snapshot written before the hold's copy was kept has none here; the deletion's own
      // consistent read of the snapshot still finds the hold (deleteChallenge).
      const heldSince = item.legalHoldSince ?? item.state?.legalHold?.since;
      return {
        challengeId: item.challengeId,
        retainUntil: item.retainUntil,
        rule: item.retentionRule,
        kind: item.entity === ENTITY.tombstone ? ("tombstone" as const) : ("challenge" as const),
        ...(heldSince === undefined ? {} : { heldSince }),
      };
    });
    return page.LastEvaluatedKey === undefined ? { candidates } : { candidates, next: page.LastEvaluatedKey };
  }

  /**
   * Deletes a challenge whose retention date is before `asOf`, unless it is held, or finishes a
   * deletion that was started. Rechecks everything against a strongly consistent read first.
   */
  async deleteChallenge(
    tenantId: string,
    challengeId: string,
    asOf: string,
    now: () => Date,
  ): Promise<DeletionOutcome> {
    const tombstoneKey = { pk: keys.challengePartition(tenantId, challengeId), sk: TOMBSTONE_SK };
    const snapshotKey = keys.challenge(tenantId, challengeId);
    const { Item: raw } = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: snapshotKey,
        ConsistentRead: true,
        ProjectionExpression: PROJECTION,
        ExpressionAttributeNames: PROJECTION_NAMES,
      }),
    );
    if (raw !== undefined) {
      const snapshot = parseItem(candidateSchema, raw, `${snapshotKey.pk} ${snapshotKey.sk}`);
      const decision = retentionDecision(snapshot.retainUntil, asOf, snapshot.state?.legalHold !== undefined);
      if (decision === "held") return { outcome: "held" };
      if (decision === "retain") return { outcome: "not_due" };
      if (snapshot.version === undefined) {
        throw new CorruptItemError(`${snapshotKey.pk} ${snapshotKey.sk}`, "snapshot without a version");
      }
      const tombstone: TombstoneItem = {
        ...tombstoneKey,
        entity: ENTITY.tombstone,
        tenantId,
        challengeId,
        status: "deleting",
        retainUntil: snapshot.retainUntil,
        retentionRule: snapshot.retentionRule,
        reason: RETENTION_RULES[snapshot.retentionRule],
        decidedOn: asOf,
        deletionStartedAt: now().toISOString(),
        eventCount: snapshot.version,
        itemsDeleted: 1,
        gsi6pk: indexKeys.byRetentionDatePk(tenantId),
        gsi6sk: indexKeys.retentionSk(snapshot.retainUntil, challengeId),
      };
      try {
        await this.client.send(
          new TransactWriteCommand({
            TransactItems: [
              {
                Delete: {
                  TableName: this.tableName,
                  Key: snapshotKey,
                  ConditionExpression: "#version = :version",
                  ExpressionAttributeNames: { "#version": "version" },
                  ExpressionAttributeValues: { ":version": snapshot.version },
                },
              },
              {
                Put: {
                  TableName: this.tableName,
                  Item: tombstone,
                  ConditionExpression: "attribute_not_exists(#pk)",
                  ExpressionAttributeNames: { "#pk": TABLE.partitionKey },
                },
              },
            ],
          }),
        );
      } catch (error) {
        // Another change (a command, a hold, a second run) won: decide again on the next run.
        if (error instanceof Error && error.name === "TransactionCanceledException") {
          return { outcome: "changed" };
        }
        throw error;
      }
    }

    const { Item: rawTombstone } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: tombstoneKey, ConsistentRead: true }),
    );
    if (rawTombstone === undefined) return { outcome: "gone" };
    const tombstone = parseItem(tombstoneItemSchema, rawTombstone, `${tombstoneKey.pk} ${tombstoneKey.sk}`);
    if (tombstone.status === "deleted") return { outcome: "gone" };

    const deleted = await this.deletePartitionItems(tenantId, challengeId);
    const itemsDeleted = tombstone.itemsDeleted + deleted;
    await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: tombstoneKey,
        UpdateExpression:
          "SET #status = :deleted, #completedAt = :now, #itemsDeleted = :items REMOVE #ipk, #isk",
        ConditionExpression: "#status = :deleting",
        ExpressionAttributeNames: {
          "#status": "status",
          "#completedAt": "deletionCompletedAt",
          "#itemsDeleted": "itemsDeleted",
          "#ipk": INDEXES.byRetentionDate.partitionKey,
          "#isk": INDEXES.byRetentionDate.sortKey,
        },
        ExpressionAttributeValues: {
          ":deleted": "deleted",
          ":deleting": "deleting",
          ":now": now().toISOString(),
          ":items": itemsDeleted,
        },
      }),
    );
    return { outcome: "deleted", itemsDeleted };
  }

  /** The tombstone of a deleted challenge, if it has one. */
  async tombstone(tenantId: string, challengeId: string): Promise<TombstoneItem | undefined> {
    const key = { pk: keys.challengePartition(tenantId, challengeId), sk: TOMBSTONE_SK };
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true }),
    );
    return Item === undefined ? undefined : parseItem(tombstoneItemSchema, Item, `${key.pk} ${key.sk}`);
  }

  /** Deletes every item of the partition but the snapshot and tombstone, 25 at a time; returns how many. */
  private async deletePartitionItems(tenantId: string, challengeId: string): Promise<number> {
    const pk = keys.challengePartition(tenantId, challengeId);
    let deleted = 0;
    for (;;) {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: "#pk = :pk",
          ProjectionExpression: "#pk, #sk",
          ExpressionAttributeNames: { "#pk": TABLE.partitionKey, "#sk": TABLE.sortKey },
          ExpressionAttributeValues: { ":pk": pk },
          ConsistentRead: true,
          Limit: BATCH_WRITE_MAX + 2,
        }),
      );
      const batch = (page.Items ?? [])
        .map((item) => ({ pk: String(item[TABLE.partitionKey]), sk: String(item[TABLE.sortKey]) }))
        .filter((key) => key.sk !== TOMBSTONE_SK && key.sk !== SNAPSHOT_SK)
        .slice(0, BATCH_WRITE_MAX);
      if (batch.length === 0) return deleted;
      await this.batchDelete(batch);
      deleted += batch.length;
    }
  }

  /** One BatchWriteItem of deletes, retrying unprocessed items with back-off (throttling). */
  private async batchDelete(keysToDelete: readonly Record<string, unknown>[]): Promise<void> {
    let pending = keysToDelete.map((Key) => ({ DeleteRequest: { Key } }));
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt > 0) await sleep(Math.min(2000, 50 * 2 ** attempt));
      if (attempt > 8)
        throw new Error(`retention: ${pending.length} deletes still unprocessed after retries`);
      const result = await this.client.send(
        new BatchWriteCommand({ RequestItems: { [this.tableName]: pending } }),
      );
      pending = (result.UnprocessedItems?.[this.tableName] ?? []).flatMap((request) =>
        request.DeleteRequest?.Key === undefined
          ? []
          : [{ DeleteRequest: { Key: request.DeleteRequest.Key } }],
      );
    }
  }
}
