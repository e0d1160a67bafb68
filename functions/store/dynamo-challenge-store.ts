import { setTimeout as sleep } from "node:timers/promises";
import {
  BatchGetCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  type DynamoDBDocumentClient,
  paginateQuery,
  type QueryCommandInput,
  type TransactWriteCommandInput,
} from "@aws-sdk/lib-dynamodb";
import * as z from "zod/mini";
import type { ChallengeEvent } from "../domain/challenge/events.js";
import { startsRun } from "../domain/challenge/runs.js";
import type { ChallengeState } from "../domain/challenge/state.js";
import { nextToAct } from "../domain/challenge/timer.js";
import { retentionOf, type Retention, type RetentionSettings } from "../domain/retention.js";
import { tenantVersionOf } from "./tenant-version.js";
import { now } from "../shared/clock.js";
import { eventHash } from "./event-hash.js";
import {
  CorruptItemError,
  cancellationReasons,
  parseItem,
  snapshotItemSchema,
  withoutUndefined,
  type SnapshotItem,
} from "./items.js";
import type { EventItem, EventItemSchema } from "./event-item.js";
import {
  ConcurrencyConflictError,
  type AppendOptions,
  type ChallengeHead,
  type ChallengeRead,
  type ChallengeStore,
  type Page,
  type StoredChallenge,
  type StoredEvent,
  type StoredTaskToken,
  type TrayQuery,
} from "./ports.js";
import {
  ENTITY,
  EVENT_SK_PREFIX,
  INDEXES,
  MAX_EVENTS_PER_APPEND,
  TABLE,
  indexKeys,
  keys,
  londonMonthOf,
  tenantPrefix,
  type IndexDefinition,
  type IndexName,
  type Key,
} from "./table.js";

/** A tray query the caller got wrong (bad limit, a cursor that is not one of ours): HTTP 400. */
export class InvalidQueryError extends Error {
  override readonly name = "InvalidQueryError";
}

/** The stored events of a challenge do not form an unbroken hash chain: tampering or a bug. */
export class EventChainError extends Error {
  override readonly name = "EventChainError";
}

export const DEFAULT_PAGE_SIZE = 25;
export const MAX_PAGE_SIZE = 100;

export interface DynamoChallengeStoreOptions {
  /**
   * How many times to retry a transaction DynamoDB cancelled only because another transaction was
   * touching the same items at that moment (`TransactionConflict`). A retry either succeeds or
   * meets the winner's write and fails its condition, which is then a true conflict. Default 3.
   */
  readonly transactionConflictRetries?: number;
  /** Base back-off before such a retry, doubled each time, with jitter. Default 25 ms. */
  readonly retryBaseDelayMs?: number;
}

/**
 * The challenge repository over the single table (see table.ts for the item layout). A command's
 * events and the challenge's new snapshot are written in one TransactWriteItems, conditioned on
 * the snapshot version: all or nothing, and a lost race is a {@link ConcurrencyConflictError}.
 */
export class DynamoChallengeStore implements ChallengeStore {
  private readonly conflictRetries: number;
  private readonly retryBaseDelayMs: number;

  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    options: DynamoChallengeStoreOptions = {},
  ) {
    this.conflictRetries = options.transactionConflictRetries ?? 3;
    this.retryBaseDelayMs = options.retryBaseDelayMs ?? 25;
  }

  async get(tenantId: string, challengeId: string): Promise<StoredChallenge | undefined> {
    const item = await this.getSnapshot(tenantId, challengeId);
    return item === undefined ? undefined : storedChallenge(item);
  }

  /**
   * A command's or workflow task's one read: snapshot, task token (when asked for) and the tenant's
   * configuration version in one strongly consistent BatchGetItem. Keys DynamoDB leaves unprocessed
   * (throttling) are asked for again, as the SDK does not.
   */
  async read(
    tenantId: string,
    challengeId: string,
    options: { readonly taskToken?: boolean } = {},
  ): Promise<ChallengeRead> {
    const snapshotKey = keys.challenge(tenantId, challengeId);
    const tokenKey = taskTokenKey(tenantId, challengeId);
    const versionKey = keys.tenantVersion(tenantId);
    const found = await this.batchGet([
      snapshotKey,
      versionKey,
      ...(options.taskToken === true ? [tokenKey] : []),
    ]);
    const at = (key: Key) => found.get(itemKeyOf(key));
    const snapshot = at(snapshotKey);
    const token = at(tokenKey);
    return {
      challenge:
        snapshot === undefined
          ? undefined
          : storedChallenge(this.parseSnapshot(snapshot, tenantId, challengeId)),
      ...(options.taskToken === true
        ? {
            waiting: {
              taskToken: token === undefined ? undefined : parseTaskToken(token, tenantId, challengeId),
            },
          }
        : {}),
      tenantVersion: tenantVersionOf(at(versionKey), tenantId),
    };
  }

  async events(tenantId: string, challengeId: string): Promise<readonly StoredEvent[]> {
    // Loaded with the first history read, not with the store: the commands and tasks that never
    // read a challenge's history then never build every event's schema (~3 ms of each cold start).
    // The module stays in the function's bundle; only its evaluation waits.
    const { eventItemSchema } = await import("./event-item.js");
    const stored: StoredEvent[] = [];
    let previousHash = "";
    for await (const page of paginateQuery(
      { client: this.client },
      {
        TableName: this.tableName,
        KeyConditionExpression: "#pk = :pk AND begins_with(#sk, :prefix)",
        ExpressionAttributeNames: { "#pk": TABLE.partitionKey, "#sk": TABLE.sortKey },
        ExpressionAttributeValues: {
          ":pk": keys.challengePartition(tenantId, challengeId),
          ":prefix": EVENT_SK_PREFIX,
        },
        ConsistentRead: true,
      },
    )) {
      for (const raw of page.Items ?? []) {
        const item = this.parseEventItem(eventItemSchema, raw, tenantId, challengeId);
        const seq = stored.length + 1;
        if (item.event.seq !== seq) {
          throw new EventChainError(
            `challenge ${challengeId}: expected event ${seq}, found ${item.event.seq}`,
          );
        }
        if (item.prevHash !== previousHash) {
          throw new EventChainError(
            `challenge ${challengeId}: event ${seq} does not link to event ${seq - 1}`,
          );
        }
        // Over the event exactly as stored (what the auditors' export holds), not the parsed copy.
        if (eventHash(item.tenantId, raw.event, item.prevHash) !== item.hash) {
          throw new EventChainError(`challenge ${challengeId}: event ${seq} does not match its hash`);
        }
        stored.push({ tenantId, event: item.event, prevHash: item.prevHash, hash: item.hash });
        previousHash = item.hash;
      }
    }
    return stored;
  }

  async append(
    tenantId: string,
    expectedVersion: number,
    events: readonly ChallengeEvent[],
    newState: ChallengeState,
    retentionSettings?: RetentionSettings,
    options: AppendOptions = {},
  ): Promise<void> {
    checkAppend(expectedVersion, events, newState);
    const challengeId = newState.challengeId;

    let head: ChallengeHead | undefined;
    if (expectedVersion > 0) {
      // The chain continues from the stored head: the one the caller read, or read now. The
      // transaction re-checks both version and head, so a write that lands between that read and
      // the transaction cannot fork the chain.
      head =
        options.head?.version === expectedVersion ? options.head : await this.headAt(tenantId, challengeId);
      if (head?.version !== expectedVersion) {
        throw new ConcurrencyConflictError(challengeId, expectedVersion);
      }
    }
    const storedHead = head?.lastEventHash ?? "";
    let prevHash = storedHead;

    // From the date of birth on the form, never from closure; recomputed on every write, so a changed
    // authority rule applies from the challenge's next change (DESIGN.md, Retention).
    const retention = retentionOf({
      dateOfBirth: newState.form.child.dateOfBirth,
      track: newState.track,
      settings: retentionSettings,
    });
    const eventItems: NewEventItem[] = [];
    for (const event of events) {
      const hash = eventHash(tenantId, event, prevHash);
      eventItems.push({
        ...keys.event(tenantId, challengeId, event.seq),
        entity: ENTITY.event,
        tenantId,
        challengeId,
        type: event.type,
        event: withoutUndefined(event),
        prevHash,
        hash,
        retainUntil: retention.retainUntil,
      });
      prevHash = hash;
    }
    const runStartSeq = events.filter(startsRun).at(-1)?.seq ?? head?.runStartSeq;
    const snapshot = snapshotItem(tenantId, newState, prevHash, retention, runStartSeq);

    const snapshotCondition: Pick<
      TransactWritePut,
      "ConditionExpression" | "ExpressionAttributeNames" | "ExpressionAttributeValues"
    > =
      expectedVersion === 0
        ? {
            ConditionExpression: "attribute_not_exists(#pk)",
            ExpressionAttributeNames: { "#pk": TABLE.partitionKey },
          }
        : {
            ConditionExpression: "#version = :expected AND #head = :head",
            ExpressionAttributeNames: { "#version": "version", "#head": "lastEventHash" },
            ExpressionAttributeValues: { ":expected": expectedVersion, ":head": storedHead },
          };

    const input: TransactWriteCommandInput = {
      TransactItems: [
        ...eventItems.map((item) => ({
          Put: {
            TableName: this.tableName,
            Item: item,
            ConditionExpression: "attribute_not_exists(#pk)",
            ExpressionAttributeNames: { "#pk": TABLE.partitionKey },
          },
        })),
        { Put: { TableName: this.tableName, Item: snapshot, ...snapshotCondition } },
        ...(options.waitingOn === undefined
          ? []
          : [{ ConditionCheck: this.tokenUnchanged(tenantId, challengeId, options.waitingOn.taskToken) }]),
      ],
    };

    for (let attempt = 0; ; attempt++) {
      try {
        await this.client.send(new TransactWriteCommand(input));
        return;
      } catch (error) {
        const reasons = cancellationReasons(error);
        if (reasons === undefined) throw error;
        // CancellationReasons line up with TransactItems: the events, the snapshot, then the token check.
        if (reasons.slice(eventItems.length).includes("ConditionalCheckFailed")) {
          throw new ConcurrencyConflictError(challengeId, expectedVersion);
        }
        if (reasons.includes("ConditionalCheckFailed")) {
          // The snapshot was at the expected version yet an event with a new seq already exists.
          throw new Error(
            `challenge ${challengeId}: events after version ${expectedVersion} already stored without a snapshot`,
            { cause: error },
          );
        }
        const onlyContention = reasons.every((code) => code === "None" || code === "TransactionConflict");
        if (!onlyContention || attempt >= this.conflictRetries) throw error;
        await sleep(this.retryBaseDelayMs * 2 ** attempt * (0.5 + Math.random()));
      }
    }
  }

  openByDueDate(tenantId: string, dueBy: string, query: TrayQuery = {}): Promise<Page<ChallengeState>> {
    return this.tray(tenantId, "openByDueDate", query, () => ({
      partition: indexKeys.openByDueDatePk(tenantId),
      before: indexKeys.timeUpperBound(dueBy, "dueBy"),
    }));
  }

  byRecipient(tenantId: string, personId: string, query: TrayQuery = {}): Promise<Page<ChallengeState>> {
    return this.tray(tenantId, "byRecipient", query, () => ({
      partition: indexKeys.byRecipientPk(tenantId, personId),
    }));
  }

  byChild(tenantId: string, caseRecordId: string, query: TrayQuery = {}): Promise<Page<ChallengeState>> {
    return this.tray(tenantId, "byChild", query, () => ({
      partition: indexKeys.byChildPk(tenantId, caseRecordId),
    }));
  }

  byTeam(tenantId: string, teamId: string, query: TrayQuery = {}): Promise<Page<ChallengeState>> {
    return this.tray(tenantId, "byTeam", query, () => ({ partition: indexKeys.byTeamPk(tenantId, teamId) }));
  }

  raisedInMonth(tenantId: string, month: string, query: TrayQuery = {}): Promise<Page<ChallengeState>> {
    return this.tray(tenantId, "byMonthRaised", query, () => ({
      partition: indexKeys.byMonthRaisedPk(tenantId, month),
    }));
  }

  /**
   * The workflow's task token: its own item under the challenge's partition (sk `TASKTOKEN`, entity
   * `task-token`), never on the snapshot, whose stream image auditors read. Saving replaces the
   * previous token. Stream consumers filter on `entity`, so this item reaches none of them.
   */
  async saveTaskToken(tenantId: string, challengeId: string, stageId: string, token: string): Promise<void> {
    await this.client.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          ...taskTokenKey(tenantId, challengeId),
          entity: TASK_TOKEN_ENTITY,
          tenantId,
          challengeId,
          stageId,
          token,
          savedAt: now().toISOString(),
        },
      }),
    );
  }

  /** The token the challenge's workflow waits on, read strongly consistent (a signal right after a save must see it). */
  async getTaskToken(tenantId: string, challengeId: string): Promise<StoredTaskToken | undefined> {
    const key = taskTokenKey(tenantId, challengeId);
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true }),
    );
    return Item === undefined ? undefined : parseTaskToken(Item, tenantId, challengeId);
  }

  // --- internals -------------------------------------------------------------------------------

  /**
   * Items by key, strongly consistent, in one BatchGetItem (at most 100 keys); keys DynamoDB leaves
   * unprocessed (throttling) are asked for again, as the SDK does not. Found items by {@link itemKeyOf}.
   */
  private async batchGet(wantedKeys: readonly Key[]): Promise<Map<string, Record<string, unknown>>> {
    let wanted: Record<string, unknown>[] = wantedKeys.map((key) => ({
      [TABLE.partitionKey]: key.pk,
      [TABLE.sortKey]: key.sk,
    }));
    const found = new Map<string, Record<string, unknown>>();
    for (let attempt = 0; wanted.length > 0; attempt++) {
      if (attempt > 0) await sleep(this.retryBaseDelayMs * 2 ** Math.min(attempt, 6) * Math.random());
      const { Responses, UnprocessedKeys } = await this.client.send(
        new BatchGetCommand({
          RequestItems: { [this.tableName]: { Keys: wanted, ConsistentRead: true } },
        }),
      );
      for (const item of Responses?.[this.tableName] ?? []) {
        found.set(itemKeyOf({ pk: String(item[TABLE.partitionKey]), sk: String(item[TABLE.sortKey]) }), item);
      }
      wanted = UnprocessedKeys?.[this.tableName]?.Keys ?? [];
    }
    return found;
  }

  private async getSnapshot(tenantId: string, challengeId: string): Promise<SnapshotItem | undefined> {
    const key = keys.challenge(tenantId, challengeId);
    const { Item } = await this.client.send(
      // Strongly consistent: the version read here is the one the next append is conditioned on.
      new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true }),
    );
    return Item === undefined ? undefined : this.parseSnapshot(Item, tenantId, challengeId);
  }

  private async headAt(tenantId: string, challengeId: string): Promise<ChallengeHead | undefined> {
    return (await this.get(tenantId, challengeId))?.head;
  }

  /** The condition that the workflow's stored token is still `expected` (none stored: still none). */
  private tokenUnchanged(
    tenantId: string,
    challengeId: string,
    expected: StoredTaskToken | undefined,
  ): TransactWriteConditionCheck {
    const base = { TableName: this.tableName, Key: taskTokenKey(tenantId, challengeId) };
    return expected === undefined
      ? {
          ...base,
          ConditionExpression: "attribute_not_exists(#pk)",
          ExpressionAttributeNames: { "#pk": TABLE.partitionKey },
        }
      : {
          ...base,
          ConditionExpression: "#token = :token",
          ExpressionAttributeNames: { "#token": "token" },
          ExpressionAttributeValues: { ":token": expected.token },
        };
  }

  private parseSnapshot(Item: Record<string, unknown>, tenantId: string, challengeId: string): SnapshotItem {
    const key = keys.challenge(tenantId, challengeId);
    const item = parseItem(snapshotItemSchema, Item, `${key.pk} ${key.sk}`);
    if (
      item.tenantId !== tenantId ||
      item.state.challengeId !== challengeId ||
      item.version !== item.state.version
    ) {
      throw new CorruptItemError(
        `${key.pk} ${key.sk}`,
        "tenant, challenge id or version disagree with the key",
      );
    }
    return item;
  }

  private parseEventItem(
    schema: EventItemSchema,
    raw: Record<string, unknown>,
    tenantId: string,
    challengeId: string,
  ): EventItem {
    const where = `${String(raw[TABLE.partitionKey])} ${String(raw[TABLE.sortKey])}`;
    const item = parseItem(schema, raw, where);
    const key = keys.event(tenantId, challengeId, item.event.seq);
    if (
      item.pk !== key.pk ||
      item.sk !== key.sk ||
      item.tenantId !== tenantId ||
      item.event.challengeId !== challengeId ||
      item.type !== item.event.type
    ) {
      throw new CorruptItemError(where, "key, tenant, challenge id or type disagree with the event");
    }
    return item;
  }

  private async tray(
    tenantId: string,
    indexName: IndexName,
    query: TrayQuery,
    keyValues: () => { partition: string; before?: string },
  ): Promise<Page<ChallengeState>> {
    const index = INDEXES[indexName];
    let partition: string;
    let before: string | undefined;
    try {
      ({ partition, before } = keyValues());
    } catch (error) {
      // A malformed month, date or id from the caller: a bad request, not a server fault.
      throw new InvalidQueryError(error instanceof Error ? error.message : String(error));
    }
    const limit = query.limit ?? DEFAULT_PAGE_SIZE;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE) {
      throw new InvalidQueryError(`limit must be a whole number from 1 to ${MAX_PAGE_SIZE}, got ${limit}`);
    }
    const input: QueryCommandInput = {
      TableName: this.tableName,
      IndexName: index.name,
      KeyConditionExpression: before === undefined ? "#ipk = :ipk" : "#ipk = :ipk AND #isk < :before",
      ExpressionAttributeNames: {
        "#ipk": index.partitionKey,
        ...(before === undefined ? {} : { "#isk": index.sortKey }),
      },
      ExpressionAttributeValues: {
        ":ipk": partition,
        ...(before === undefined ? {} : { ":before": before }),
      },
      ScanIndexForward: index.order === "ascending",
      // One more than the page: when it comes back, a following page exists and the cursor points
      // at the page's last item; otherwise this is the last page and carries no cursor (DynamoDB's
      // own LastEvaluatedKey would send a caller to an empty page when the items end on a full one).
      Limit: limit + 1,
      ExclusiveStartKey:
        query.cursor === undefined ? undefined : decodeCursor(query.cursor, tenantId, indexName, partition),
    };
    const page = await this.client.send(new QueryCommand(input));
    const raws = page.Items ?? [];
    const pageRaws = raws.slice(0, limit);
    const last = raws.length > limit ? pageRaws.at(-1) : undefined;
    // The index holds keys only (table.ts): the page's snapshots are read in one more call.
    const pageKeys = pageRaws.map((raw) => ({
      pk: String(raw[TABLE.partitionKey]),
      sk: String(raw[TABLE.sortKey]),
    }));
    const snapshots =
      pageKeys.length === 0 ? new Map<string, Record<string, unknown>>() : await this.batchGet(pageKeys);
    const items = pageKeys.flatMap((key) => {
      const raw = snapshots.get(itemKeyOf(key));
      // The index lags the table by a moment: a challenge that has left this tray since (closed,
      // moved on to someone else, a later deadline, deleted) is not listed from its old entry.
      if (raw === undefined || !inTray(raw, index, partition, before)) return [];
      const where = `${key.pk} ${key.sk} (${index.name})`;
      const item = parseItem(snapshotItemSchema, raw, where);
      if (item.tenantId !== tenantId) throw new CorruptItemError(where, "belongs to another tenant");
      return [item.state];
    });
    if (last === undefined) return { items };
    const keyNames = [TABLE.partitionKey, TABLE.sortKey, index.partitionKey, index.sortKey];
    return { items, next: encodeCursor(Object.fromEntries(keyNames.map((name) => [name, last[name]]))) };
  }
}

/** One string per table key, for finding a BatchGetItem's answers. */
function itemKeyOf(key: Key): string {
  return `${key.pk}\n${key.sk}`;
}

/** Whether a snapshot, read now, still belongs in the tray its index entry was found in. */
function inTray(
  raw: Record<string, unknown>,
  index: IndexDefinition,
  partition: string,
  before: string | undefined,
): boolean {
  const sortKey = raw[index.sortKey];
  return (
    raw[index.partitionKey] === partition &&
    typeof sortKey === "string" &&
    (before === undefined || sortKey < before)
  );
}

// --- task tokens -------------------------------------------------------------------------------

/** The task-token item: sort key and entity (listed in table.ts's layout and ENTITY). */
export const TASK_TOKEN_SK = "TASKTOKEN";
export const TASK_TOKEN_ENTITY = "task-token";

function taskTokenKey(tenantId: string, challengeId: string): { pk: string; sk: string } {
  return { pk: keys.challengePartition(tenantId, challengeId), sk: TASK_TOKEN_SK };
}

function parseTaskToken(
  raw: Record<string, unknown>,
  tenantId: string,
  challengeId: string,
): StoredTaskToken {
  const key = taskTokenKey(tenantId, challengeId);
  const item = parseItem(taskTokenItemSchema, raw, `${key.pk} ${key.sk}`);
  if (item.tenantId !== tenantId || item.challengeId !== challengeId) {
    throw new CorruptItemError(`${key.pk} ${key.sk}`, "tenant or challenge id disagrees with the key");
  }
  return { stageId: item.stageId, token: item.token };
}

/** A snapshot item as the ports see it: the state and its head. */
function storedChallenge(item: SnapshotItem): StoredChallenge {
  return {
    tenantId: item.tenantId,
    state: item.state,
    head: { version: item.version, lastEventHash: item.lastEventHash, runStartSeq: item.runStartSeq },
  };
}

const taskTokenItemSchema = z.strictObject({
  pk: z.string().check(z.minLength(1)),
  sk: z.literal(TASK_TOKEN_SK),
  entity: z.literal(TASK_TOKEN_ENTITY),
  tenantId: z.string().check(z.minLength(1)),
  challengeId: z.string().check(z.minLength(1)),
  stageId: z.string().check(z.minLength(1)),
  /** Step Functions task tokens are at most 2,048 characters. */
  token: z.string().check(z.minLength(1), z.maxLength(2048)),
  savedAt: z.iso.datetime(),
});

// --- appending ---------------------------------------------------------------------------------

type TransactWriteItem = NonNullable<TransactWriteCommandInput["TransactItems"]>[number];
type TransactWritePut = NonNullable<TransactWriteItem["Put"]>;
type TransactWriteConditionCheck = NonNullable<TransactWriteItem["ConditionCheck"]>;

/** Items as written: the schemas' shapes, holding the domain's (readonly) types. */
type NewEventItem = Omit<EventItem, "event"> & { readonly event: ChallengeEvent };
type NewSnapshotItem = Omit<SnapshotItem, "state"> & { readonly state: ChallengeState };

/** Programming errors in what the caller hands over: refused before anything is written. */
function checkAppend(
  expectedVersion: number,
  events: readonly ChallengeEvent[],
  newState: ChallengeState,
): void {
  if (!Number.isSafeInteger(expectedVersion) || expectedVersion < 0) {
    throw new RangeError(`expectedVersion must be a whole number >= 0, got ${expectedVersion}`);
  }
  if (events.length === 0) throw new RangeError("append needs at least one event");
  if (events.length > MAX_EVENTS_PER_APPEND) {
    throw new RangeError(
      `append of ${events.length} events refused: one DynamoDB transaction holds at most ` +
        `${MAX_EVENTS_PER_APPEND} events plus the snapshot (100 items)`,
    );
  }
  events.forEach((event, index) => {
    if (event.challengeId !== newState.challengeId) {
      throw new RangeError(
        `event ${event.seq} is for challenge ${event.challengeId}, not ${newState.challengeId}`,
      );
    }
    if (event.seq !== expectedVersion + index + 1) {
      throw new RangeError(`event ${index} has seq ${event.seq}; expected ${expectedVersion + index + 1}`);
    }
  });
  if (newState.version !== expectedVersion + events.length) {
    throw new RangeError(
      `new state is at version ${newState.version}; ${events.length} events after version ` +
        `${expectedVersion} make ${expectedVersion + events.length}`,
    );
  }
}

/** The snapshot item: state, version, chain head and the index attributes (open trays only while open). */
function snapshotItem(
  tenantId: string,
  state: ChallengeState,
  lastEventHash: string,
  retention: Retention,
  runStartSeq: number | undefined,
): NewSnapshotItem {
  const id = state.challengeId;
  const raised = indexKeys.timeSk(state.raisedAt, id, "raisedAt");
  const item: NewSnapshotItem = {
    ...keys.challenge(tenantId, id),
    entity: ENTITY.challenge,
    tenantId,
    challengeId: id,
    version: state.version,
    lastEventHash,
    ...(runStartSeq === undefined ? {} : { runStartSeq }),
    state: withoutUndefined(state),
    [INDEXES.byChild.partitionKey]: indexKeys.byChildPk(tenantId, state.form.child.caseRecordId),
    [INDEXES.byChild.sortKey]: raised,
    [INDEXES.byTeam.partitionKey]: indexKeys.byTeamPk(tenantId, state.form.team.id),
    [INDEXES.byTeam.sortKey]: raised,
    [INDEXES.byMonthRaised.partitionKey]: indexKeys.byMonthRaisedPk(tenantId, londonMonthOf(state.raisedAt)),
    [INDEXES.byMonthRaised.sortKey]: indexKeys.timeSk(state.raisedAt, id, "raisedAt"),
    retainUntil: retention.retainUntil,
    retentionRule: retention.rule,
    ...(state.legalHold === undefined ? {} : { legalHoldSince: state.legalHold.since }),
    [INDEXES.byRetentionDate.partitionKey]: indexKeys.byRetentionDatePk(tenantId),
    [INDEXES.byRetentionDate.sortKey]: indexKeys.retentionSk(retention.retainUntil, id),
  };
  const stage = state.currentStage;
  if (state.status === "open" && stage !== null) {
    const due = indexKeys.timeSk(stage.deadline, id, "deadline");
    // The person whose move it is: the recipient, or the raiser once asked to decide (domain rule).
    const next = nextToAct(state);
    return {
      ...item,
      [INDEXES.openByDueDate.partitionKey]: indexKeys.openByDueDatePk(tenantId),
      [INDEXES.openByDueDate.sortKey]: due,
      [INDEXES.byRecipient.partitionKey]: indexKeys.byRecipientPk(
        tenantId,
        next?.personId ?? stage.assignee.personId,
      ),
      [INDEXES.byRecipient.sortKey]: indexKeys.timeSk(next?.dueBy ?? stage.deadline, id, "deadline"),
    };
  }
  // After the ladder, a decision the protocol owes is due from its decider: their tray, the overdue view.
  const decision = state.status === "ladder_exhausted" ? nextToAct(state) : undefined;
  if (decision !== undefined) {
    return {
      ...item,
      [INDEXES.openByDueDate.partitionKey]: indexKeys.openByDueDatePk(tenantId),
      [INDEXES.openByDueDate.sortKey]: indexKeys.timeSk(decision.dueBy, id, "deadline"),
      [INDEXES.byRecipient.partitionKey]: indexKeys.byRecipientPk(tenantId, decision.personId),
      [INDEXES.byRecipient.sortKey]: indexKeys.timeSk(decision.dueBy, id, "deadline"),
    };
  }
  // A Put replaces the whole item, so leaving the open-tray attributes out removes them from gsi1/gsi2.
  return item;
}

// --- cursors -----------------------------------------------------------------------------------

/** LastEvaluatedKey as base64url JSON. Opaque to callers; checked on the way back in. */
function encodeCursor(lastEvaluatedKey: Record<string, unknown>): string {
  return Buffer.from(JSON.stringify(lastEvaluatedKey), "utf8").toString("base64url");
}

/**
 * A cursor comes back from an API caller, so it is untrusted: it must be exactly the key
 * attributes of this index, inside this tenant and this tray's partition.
 */
function decodeCursor(
  cursor: string,
  tenantId: string,
  indexName: IndexName,
  partition: string,
): Record<string, string> {
  const index = INDEXES[indexName];
  const invalid = (why: string) => new InvalidQueryError(`invalid cursor: ${why}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    throw invalid("not one this service issued");
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw invalid("not one this service issued");
  }
  const entries = Object.entries(parsed);
  const expected = [TABLE.partitionKey, TABLE.sortKey, index.partitionKey, index.sortKey].sort();
  const names = entries.map(([name]) => name).sort();
  if (names.join(",") !== expected.join(",") || !entries.every(([, v]) => typeof v === "string")) {
    throw invalid("not one this service issued for this tray");
  }
  const key = Object.fromEntries(entries) as Record<string, string>;
  if (
    key[index.partitionKey] !== partition ||
    !key[TABLE.partitionKey]?.startsWith(`${tenantPrefix(tenantId)}#`)
  ) {
    throw invalid("it belongs to another tray");
  }
  return key;
}
