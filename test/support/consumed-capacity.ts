import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";

/**
 * The capacity DynamoDB says each call consumed (`ReturnConsumedCapacity: INDEXES`: the table and
 * each global secondary index apart), and, for writes, how the table's write units split between
 * the items written. DynamoDB reports one figure per table per call; the split is worked out from
 * each item's size by DynamoDB's own rules (a write unit per started KB, two in a transaction), and
 * what is left of the table's figure is the transaction's condition checks. Used by `npm run bench`
 * (bench/calls.ts, bench/transitions.ts) to say where the write units of a command go.
 */

/** What an item is, by its `entity` (store/table.ts), for the split. */
export type ItemKind = "event" | "snapshot" | "task token" | "other";

export interface CapacityRecord {
  /** The operation, e.g. "TransactWriteItems". */
  readonly operation: string;
  readonly readUnits: number;
  /** Write units on the table itself. */
  readonly tableWriteUnits: number;
  /** Write units per global secondary index (its name to units). */
  readonly indexWriteUnits: Readonly<Record<string, number>>;
  /** The table's write units by item kind, estimated from item sizes; condition checks take the rest. */
  readonly itemWriteUnits: Readonly<Partial<Record<ItemKind | "condition check", number>>>;
}

export interface CapacityMeter {
  readonly records: readonly CapacityRecord[];
  attach(client: DynamoDBClient | DynamoDBDocumentClient): void;
  /** The records made while `run` ran. */
  during(run: () => Promise<unknown>): Promise<readonly CapacityRecord[]>;
}

type AttributeValue = Readonly<Record<string, unknown>>;

/** DynamoDB's item size: attribute names plus values (developer guide, "Item sizes and formats"). */
export function itemBytes(item: Readonly<Record<string, AttributeValue>>): number {
  return Object.entries(item).reduce((sum, [name, value]) => sum + utf8(name) + valueBytes(value), 0);
}

function utf8(text: string): number {
  return Buffer.byteLength(text, "utf8");
}

function valueBytes(value: AttributeValue): number {
  const [type, inner] = Object.entries(value)[0] ?? ["NULL", true];
  switch (type) {
    case "S":
      return utf8(inner as string);
    case "N":
      return numberBytes(inner as string);
    case "B":
      return (inner as Uint8Array).length;
    case "BOOL":
    case "NULL":
      return 1;
    case "SS":
      return (inner as string[]).reduce((sum, s) => sum + utf8(s), 0);
    case "NS":
      return (inner as string[]).reduce((sum, n) => sum + numberBytes(n), 0);
    case "L": {
      const list = inner as AttributeValue[];
      return 3 + list.reduce((sum, element) => sum + 1 + valueBytes(element), 0);
    }
    case "M": {
      const map = Object.entries(inner as Record<string, AttributeValue>);
      return 3 + map.reduce((sum, [name, element]) => sum + 1 + utf8(name) + valueBytes(element), 0);
    }
    default:
      throw new Error(`consumed-capacity: unknown attribute type ${type}`);
  }
}

/** Numbers: about one byte per two significant digits, plus one. */
function numberBytes(text: string): number {
  const digits = text.replace(/^-/, "").replace(/\./, "").replace(/^0+/, "").replace(/e.*$/i, "");
  return Math.ceil(Math.max(digits.length, 1) / 2) + 1;
}

function kindOf(item: Readonly<Record<string, AttributeValue>>): ItemKind {
  const entity = item.entity?.S;
  if (entity === "event") return "event";
  if (entity === "challenge") return "snapshot";
  if (entity === "task-token") return "task token";
  return "other";
}

interface WriteInput {
  readonly TransactItems?: readonly {
    readonly Put?: { readonly Item: Record<string, AttributeValue> };
    readonly ConditionCheck?: unknown;
  }[];
  readonly Item?: Record<string, AttributeValue>;
}

/** The table's write units by item, from sizes: Puts first, what is left to the condition checks. */
function splitWrites(
  operation: string,
  input: WriteInput,
  tableUnits: number,
): CapacityRecord["itemWriteUnits"] {
  const split: Partial<Record<ItemKind | "condition check", number>> = {};
  const add = (kind: ItemKind | "condition check", units: number) => {
    if (units > 0) split[kind] = (split[kind] ?? 0) + units;
  };
  if (operation === "TransactWriteItems") {
    let puts = 0;
    for (const entry of input.TransactItems ?? []) {
      if (entry.Put === undefined) continue;
      const units = 2 * Math.ceil(itemBytes(entry.Put.Item) / 1024);
      add(kindOf(entry.Put.Item), units);
      puts += units;
    }
    add("condition check", tableUnits - puts);
  } else if (operation === "PutItem" && input.Item !== undefined) {
    add(kindOf(input.Item), tableUnits);
  } else add("other", tableUnits);
  return split;
}

interface Consumed {
  readonly CapacityUnits?: number;
  readonly ReadCapacityUnits?: number;
  readonly WriteCapacityUnits?: number;
  readonly Table?: { readonly CapacityUnits?: number };
  readonly GlobalSecondaryIndexes?: Readonly<Record<string, { readonly CapacityUnits?: number }>>;
}

const WRITES = new Set(["PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"]);

export function capacityMeter(): CapacityMeter {
  const records: CapacityRecord[] = [];
  const attached = new WeakSet<object>();
  return {
    records,
    attach(client) {
      const stack = client.middlewareStack;
      if (attached.has(stack)) return;
      attached.add(stack);
      // Asked for before the request is serialised; read after it, where items are marshalled.
      stack.add(
        (next, context) => (args) => {
          if (context.commandName !== "DescribeTableCommand") {
            (args.input as Record<string, unknown>).ReturnConsumedCapacity = "INDEXES";
          }
          return next(args);
        },
        { step: "initialize", name: "capacityMeterAsk", override: true },
      );
      stack.add(
        (next, context) => async (args) => {
          const result = await next(args);
          const operation = (context.commandName ?? "unknown").replace(/Command$/, "");
          const consumed = (result.output as { ConsumedCapacity?: Consumed | Consumed[] }).ConsumedCapacity;
          const list = Array.isArray(consumed) ? consumed : consumed === undefined ? [] : [consumed];
          const write = WRITES.has(operation);
          let readUnits = 0;
          let tableWriteUnits = 0;
          const indexWriteUnits: Record<string, number> = {};
          for (const c of list) {
            if (!write) {
              readUnits += c.CapacityUnits ?? 0;
              continue;
            }
            tableWriteUnits += c.Table?.CapacityUnits ?? c.CapacityUnits ?? 0;
            for (const [name, index] of Object.entries(c.GlobalSecondaryIndexes ?? {})) {
              indexWriteUnits[name] = (indexWriteUnits[name] ?? 0) + (index.CapacityUnits ?? 0);
            }
          }
          records.push({
            operation,
            readUnits,
            tableWriteUnits,
            indexWriteUnits,
            itemWriteUnits: write ? splitWrites(operation, args.input as WriteInput, tableWriteUnits) : {},
          });
          return result;
        },
        { step: "build", name: "capacityMeterRead", override: true },
      );
    },
    async during(run) {
      const from = records.length;
      await run();
      return records.slice(from);
    },
  };
}

/** Sums records: read units, table and index write units, and the split by item. */
export function totalOf(records: readonly CapacityRecord[]): {
  readUnits: number;
  writeUnits: number;
  tableWriteUnits: number;
  indexWriteUnits: Record<string, number>;
  itemWriteUnits: Partial<Record<ItemKind | "condition check", number>>;
} {
  const indexWriteUnits: Record<string, number> = {};
  const itemWriteUnits: Partial<Record<ItemKind | "condition check", number>> = {};
  let readUnits = 0;
  let tableWriteUnits = 0;
  for (const r of records) {
    readUnits += r.readUnits;
    tableWriteUnits += r.tableWriteUnits;
    for (const [name, units] of Object.entries(r.indexWriteUnits)) {
      indexWriteUnits[name] = (indexWriteUnits[name] ?? 0) + units;
    }
    for (const [kind, units] of Object.entries(r.itemWriteUnits) as [ItemKind, number][]) {
      itemWriteUnits[kind] = (itemWriteUnits[kind] ?? 0) + units;
    }
  }
  const indexTotal = Object.values(indexWriteUnits).reduce((a, b) => a + b, 0);
  return {
    readUnits,
    writeUnits: tableWriteUnits + indexTotal,
    tableWriteUnits,
    indexWriteUnits,
    itemWriteUnits,
  };
}

/** One line: "table 6 (snapshot 4, event 2) + indexes 32 (gsi1 8, ...)". */
export function describeWrites(records: readonly CapacityRecord[]): string {
  const t = totalOf(records);
  const items = Object.entries(t.itemWriteUnits)
    .map(([kind, units]) => `${kind} ${String(units)}`)
    .join(", ");
  const indexes = Object.entries(t.indexWriteUnits)
    .filter(([, units]) => units > 0)
    .map(([name, units]) => `${name} ${String(units)}`)
    .join(", ");
  const indexTotal = t.writeUnits - t.tableWriteUnits;
  return `table ${String(t.tableWriteUnits)}${items === "" ? "" : ` (${items})`} + indexes ${String(indexTotal)}${indexes === "" ? "" : ` (${indexes})`}`;
}
