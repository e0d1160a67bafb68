import * as z from "zod/mini";
import { CorruptItemError, parseItem } from "./items.js";
import { ENTITY, TENANT_VERSION_SK, keys } from "./table.js";

/**
 * The tenant's configuration and directory version: a counter in the tenant's partition
 * (`T#<tenant>` / `VERSION`) that every configuration or staff write raises in the same transaction
 * as the write itself (store/tenant-store.ts). Commands and workflow tasks read it with the challenge,
 * in their one consistent read (store/dynamo-challenge-store.ts `read`), so a container's cached
 * configuration and directory are used only while nothing has changed since they were read.
 */
export const tenantVersionItemSchema = z.strictObject({
  pk: z.string().check(z.minLength(1)),
  sk: z.literal(TENANT_VERSION_SK),
  entity: z.literal(ENTITY.tenantVersion),
  tenantId: z.string().check(z.minLength(1)),
  version: z.number().check(z.int(), z.gte(1)),
  updatedAt: z.iso.datetime(),
});

/** The version an item read back says (0 when the tenant has no version item: nothing written since it was kept). */
export function tenantVersionOf(item: Record<string, unknown> | undefined, tenantId: string): number {
  if (item === undefined) return 0;
  const key = keys.tenantVersion(tenantId);
  const parsed = parseItem(tenantVersionItemSchema, item, `${key.pk} ${key.sk}`);
  if (parsed.tenantId !== tenantId || parsed.pk !== key.pk) {
    throw new CorruptItemError(`${key.pk} ${key.sk}`, "tenant id disagrees with the key");
  }
  return parsed.version;
}

/**
 * The Update that raises the version, for the TransactWriteItems of a configuration or staff write.
 * `expected`: only if the version is still that (0: no version item yet), so a write decided on
 * what was read cannot land over a change it did not see (the transaction is then cancelled with
 * ConditionalCheckFailed on this item).
 */
export function raiseTenantVersion(tableName: string, tenantId: string, at: Date, expected?: number) {
  return {
    Update: {
      ...(expected === undefined
        ? {}
        : {
            ConditionExpression: expected === 0 ? "attribute_not_exists(#version)" : "#version = :expected",
          }),
      TableName: tableName,
      Key: keys.tenantVersion(tenantId),
      UpdateExpression: "SET #entity = :entity, #tenantId = :tenantId, #updatedAt = :at ADD #version :one",
      ExpressionAttributeNames: {
        "#entity": "entity",
        "#tenantId": "tenantId",
        "#updatedAt": "updatedAt",
        "#version": "version",
      },
      ExpressionAttributeValues: {
        ":entity": ENTITY.tenantVersion,
        ":tenantId": tenantId,
        ":at": at.toISOString(),
        ":one": 1,
        ...(expected === undefined || expected === 0 ? {} : { ":expected": expected }),
      },
    },
  };
}
