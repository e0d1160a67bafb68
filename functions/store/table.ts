import { createHash } from "node:crypto";
import type { CreateTableCommandInput } from "@aws-sdk/client-dynamodb";
import { londonMonth } from "../domain/london-time.js";

/**
 * The single DynamoDB table, defined once. Plain data and pure functions: the CDK construct (lib/),
 * the local runtime and the tests all read this module, so the deployed table, the local one and
 * the repository code cannot drift apart.
 *
 * Item layout. Every key starts with the tenant, so no query can cross tenants, with one exception:
 * `MAILIN#UNATTRIBUTED` holds inbound mail that no valid reply token attributes to a tenant, so by
 * construction it holds no tenant's data (ids, codes and the sender's domain; never an address or a
 * body). `<t>` is the tenant id, `<c>` the challenge id; `<seq>` is 10 digits (see {@link eventSk}).
 *
 * | item                  | pk                     | sk                                    | entity               | TTL (`expiresAt`)    |
 * | --------------------- | ---------------------- | ------------------------------------- | -------------------- | -------------------- |
 * | challenge snapshot    | `T#<t>#C#<c>`          | `SNAPSHOT`                            | `challenge`          | never                |
 * | challenge event       | `T#<t>#C#<c>`          | `E#<seq>`                             | `event`              | never                |
 * | retention tombstone   | `T#<t>#C#<c>`          | `TOMBSTONE`                           | `tombstone`          | never (4)            |
 * | workflow task token   | `T#<t>#C#<c>`          | `TASKTOKEN`                           | `task-token`         | never (replaced)     |
 * | email delivery record | `T#<t>#C#<c>`          | `MAILOUT#<seq>#<recipient>`           | `mail-out`           | never                |
 * |   undeliverable alert | `T#<t>#C#<c>`          | `MAILOUT#ALERT#<failure source>`      | `mail-out`           | never                |
 * |   bounce-style reply  | `T#<t>#C#<c>` (1)      | `MAILOUT#BOUNCE#<SES message id>`     | `mail-out`           | never                |
 * | email undeliverable   | `T#<t>#C#<c>`          | `MAILFAIL#<failure source>`           | `mail-undeliverable` | never                |
 * | inbound mail record   | `T#<t>#C#<c>`          | `MAILIN#<received>#<SES message id>`  | `inbound-acceptance` | never                |
 * |                       |                        |                                       | `inbound-refusal`    |                      |
 * | unattributed inbound  | `MAILIN#UNATTRIBUTED`  | `<received>#<SES message id>`         | `inbound-refusal`    | 90 days              |
 * | tenant configuration  | `T#<t>`                | `CONFIG`                              | `config`             | never                |
 * | staff member          | `T#<t>`                | `STAFF#<personId>`                    | `staff`              | never                |
 * | config/staff version  | `T#<t>`                | `VERSION`                             | `tenant-version`     | never                |
 * | good practice         | `T#<t>#GP`             | `<recordedAt>#<id>`                   | `good_practice`      | never                |
 * |   good practice email | `T#<t>#GP#<id>`        | `MAILOUT#first_line_manager`          | `mail-out`           | never                |
 * | dedupe claim          | `T#<t>#D#<kind>#<key>` | `DEDUPE`                              | `dedupe`             | per claim (2)        |
 * | idempotency record    | `T#<t>#IDEMPOTENCY`    | `api#<hash of tenant, route and key>` | none (3)             | 24 hours (3)         |
 *
 * (1) `MAILIN#UNATTRIBUTED` when the refused message named no challenge.
 * (2) Kinds `inbound-message` (an inbound Message-ID, 180 days) and `reply-token` (a reply token
 *     used once: until the token expires, plus a day); at most 366 days (store/dedupe-store.ts).
 * (3) Written by Powertools' idempotency utility for `Idempotency-Key` requests (api/http/
 *     dependencies.ts), with its own attributes (`status`, `data`, `in_progress_expiration`, ...)
 *     and no `entity`; the TTL is `IDEMPOTENCY_TTL_SECONDS` (shared/config.ts).
 * (4) What is left of a challenge deleted at the end of its retention period: ids, counts, the rule
 *     and the dates, no personal data (functions/store/retention-store.ts).
 *
 * Written by: snapshot, events and task token, store/dynamo-challenge-store.ts (snapshot and events
 * in one transaction); configuration and staff, store/tenant-store.ts; good practice,
 * store/good-practice-store.ts; dedupe, store/dedupe-store.ts; `MAILOUT#`, mail/deliveries.ts (the
 * delivery ledger, shared with mail/delivery-events.ts and mail/receive-email.ts); `MAILIN#`,
 * mail/receive-email.ts. `MAILFAIL#` is written by nothing now: an undeliverable email is a
 * `NotificationUndeliverable` event; the entity stays so items written before are still known.
 *
 * The snapshot also carries the sparse GSI attributes listed in {@link INDEXES}; no other item does.
 * Challenges and events are never expired by DynamoDB (DESIGN.md, Retention). The challenge store
 * reads `SNAPSHOT`, `E#` and `TASKTOKEN` keys only, so the mail records beside them in the partition
 * never reach it; only event items and finished tombstones reach the audit exporter ({@link AUDIT_STREAM_FILTERS}), and
 * event and good practice items the reactor ({@link REACTOR_STREAM_FILTER}).
 */

export const TABLE = {
  partitionKey: "pk",
  sortKey: "sk",
  /** Every item says what it is, so stream consumers can filter (see {@link AUDIT_STREAM_FILTERS}). */
  entityAttribute: "entity",
  /** Epoch seconds. Set on dedupe claims, idempotency records and unattributed inbound refusals only. */
  ttlAttribute: "expiresAt",
  /** The stream's readers (audit exporter, event reactor) read new items only; old images are never needed. */
  streamViewType: "NEW_IMAGE",
  billingMode: "PAY_PER_REQUEST",
} as const;

/**
 * The `entity` of every item kind the service writes (see the layout above). Idempotency records
 * are Powertools' and carry none. The modules that write the mail and task-token items name them
 * with their own constants, which the store's tests check against these.
 */
export const ENTITY = {
  challenge: "challenge",
  event: "event",
  taskToken: "task-token",
  config: "config",
  staff: "staff",
  tenantVersion: "tenant-version",
  dedupe: "dedupe",
  goodPractice: "good_practice",
  mailOut: "mail-out",
  mailUndeliverable: "mail-undeliverable",
  inboundAcceptance: "inbound-acceptance",
  inboundRefusal: "inbound-refusal",
  tombstone: "tombstone",
  benchmarkParticipation: "benchmark-participation",
  benchmarkPublished: "benchmark-published",
} as const;
export type Entity = (typeof ENTITY)[keyof typeof ENTITY];

export interface IndexDefinition {
  readonly name: string;
  readonly partitionKey: string;
  readonly sortKey: string;
  readonly purpose: string;
  /** Order the repository reads the index in. */
  readonly order: "ascending" | "descending";
  /** Sparse: the attributes are only present while the condition holds. */
  readonly presentWhile: string;
  /**
   * The attributes the index copies besides the table's and its own keys: none (KEYS_ONLY), or
   * these (INCLUDE). Never ALL: every write of the snapshot would be copied whole into the index
   * again (write units per KB), where a key-only entry is rewritten only when its keys change.
   */
  readonly projected: readonly string[];
}

/**
 * Global secondary indexes, all on the challenge snapshot item (the retention index also holds
 * tombstones). The trays' indexes hold keys only: a tray reads the keys of a page from the index,
 * then the snapshots themselves in one BatchGetItem (store/dynamo-challenge-store.ts), so each
 * write of a snapshot costs its indexes nothing unless their keys change. The retention index
 * copies the few attributes its job reads (store/retention-store.ts). Index names are generic so
 * the table can be overloaded later without renaming; `purpose` says what each one is for.
 *
 * CloudFormation cannot change an existing index's projection: a table created before the
 * projections were narrowed (ALL, until December 2026) needs each index dropped and created
 * again, one stack update each (README, "Performance"). An index holds copies only: DynamoDB
 * builds it again from the items, and nothing is lost.
 */
export const INDEXES = {
  openByDueDate: {
    name: "gsi1",
    partitionKey: "gsi1pk",
    sortKey: "gsi1sk",
    purpose: "open challenges of a tenant by current stage deadline: pk T#<tenant>#OPEN, sk <deadline>#<id>",
    order: "ascending",
    presentWhile: "status is open and a stage is open",
    projected: [],
  },
  byRecipient: {
    name: "gsi2",
    partitionKey: "gsi2pk",
    sortKey: "gsi2sk",
    purpose:
      "open challenges by the person whose move it is (the stage's assignee, or the raiser once asked to decide): pk T#<tenant>#P#<personId>, sk <due>#<id>",
    order: "ascending",
    presentWhile: "status is open and a stage is open",
    projected: [],
  },
  byChild: {
    name: "gsi3",
    partitionKey: "gsi3pk",
    sortKey: "gsi3sk",
    purpose: "every challenge about a child: pk T#<tenant>#CHILD#<caseRecordId>, sk <raisedAt>#<id>",
    order: "descending",
    presentWhile: "always",
    projected: [],
  },
  byTeam: {
    name: "gsi4",
    partitionKey: "gsi4pk",
    sortKey: "gsi4sk",
    purpose: "every challenge about a team's work: pk T#<tenant>#TEAM#<teamId>, sk <raisedAt>#<id>",
    order: "descending",
    presentWhile: "always",
    projected: [],
  },
  byMonthRaised: {
    name: "gsi5",
    partitionKey: "gsi5pk",
    sortKey: "gsi5sk",
    purpose:
      "reports: challenges raised in a London calendar month: pk T#<tenant>#RAISED#<YYYY-MM>, sk <raisedAt>#<id>",
    order: "ascending",
    presentWhile: "always",
    projected: [],
  },
  byRetentionDate: {
    name: "gsi6",
    partitionKey: "gsi6pk",
    sortKey: "gsi6sk",
    purpose:
      "retention: challenges by the last day they must be kept: pk T#<tenant>#RETAIN, sk <YYYY-MM-DD>#<id> (functions/store/retention-store.ts)",
    order: "ascending",
    presentWhile: "the challenge exists (its tombstone too, until the deletion it records is complete)",
    /** What the retention job's candidate query reads: never the state (no personal data). */
    projected: ["entity", "challengeId", "retainUntil", "retentionRule", "legalHoldSince"],
  },
} as const satisfies Record<string, IndexDefinition>;
export type IndexName = keyof typeof INDEXES;

/** The indexes whose attributes are removed when the challenge is not open (so they stay sparse). */
export const OPEN_TRAY_INDEXES = ["openByDueDate", "byRecipient"] as const satisfies readonly IndexName[];

/**
 * New event items: INSERTs whose new image has `entity = "event"`. Events are immutable, so INSERT is
 * the only stream record an event item ever produces; snapshots, task tokens, mail records,
 * configuration, dedupe claims and idempotency records (which have no `entity`), and TTL deletions
 * (REMOVE) never match.
 */
const NEW_EVENT_ITEMS = {
  eventName: ["INSERT"],
  dynamodb: { NewImage: { [TABLE.entityAttribute]: { S: [ENTITY.event] } } },
} as const;

/**
 * New event items and new good practice notifications: INSERTs whose new image has `entity` either
 * `"event"` or `"good_practice"`. Good practice notifications are written once and never
 * overwritten, so, like events, INSERT is the only record they produce.
 */
const NEW_EVENT_AND_GOOD_PRACTICE_ITEMS = {
  eventName: ["INSERT"],
  dynamodb: { NewImage: { [TABLE.entityAttribute]: { S: [ENTITY.event, ENTITY.goodPractice] } } },
} as const;

/**
 * Retention tombstones that record a completed deletion: the job writes the tombstone `deleting`
 * (INSERT) and sets it `deleted` once every item is gone (MODIFY, conditioned on `deleting`, so once).
 * Only the finished tombstone is exported; INSERT is listed too so a tombstone ever written
 * `deleted` at once would not be missed (its export key is per challenge, so a second is harmless).
 */
const DELETED_TOMBSTONES = {
  eventName: ["INSERT", "MODIFY"],
  dynamodb: { NewImage: { [TABLE.entityAttribute]: { S: [ENTITY.tombstone] }, status: { S: ["deleted"] } } },
} as const;

// The table stream's two readers and their Lambda event-source filters, in one place: the CDK
// mappings (lib/audit.ts, lib/reactor.ts) and the local runtime's pollers (local/runtime.ts) use
// these. Each handler checks again, so a mapping without its filter would still be safe.

/**
 * The audit exporter (functions/audit/export-events.ts): new event items, and retention tombstones
 * once their deletion is complete. Two filters: a mapping passes a record matching either.
 */
export const AUDIT_STREAM_FILTERS = [NEW_EVENT_ITEMS, DELETED_TOMBSTONES] as const;
/**
 * The event reactor (functions/reactor/reactor.ts): new event items, and new good practice
 * notifications (their email, functions/mail/send-good-practice.ts). The reactor routes each record
 * by entity, and every step checks again.
 */
export const REACTOR_STREAM_FILTER = NEW_EVENT_AND_GOOD_PRACTICE_ITEMS;

/** A transaction holds at most 100 items: one is the snapshot, the rest may be events. */
export const MAX_EVENTS_PER_APPEND = 99;

export const SNAPSHOT_SK = "SNAPSHOT";
export const EVENT_SK_PREFIX = "E#";
export const CONFIG_SK = "CONFIG";
export const STAFF_SK_PREFIX = "STAFF#";
/** The counter every configuration or staff write raises, in the same transaction (store/tenant-store.ts). */
export const TENANT_VERSION_SK = "VERSION";
export const DEDUPE_SK = "DEDUPE";
const SEQ_DIGITS = 10;

// --- key builders ----------------------------------------------------------------------------

const TENANT_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** A comma-separated list of tenant ids (the deployment's `tenantIds`, as the daily jobs get it). */
export function parseTenantIdList(value: string): string[] | undefined {
  const ids = value
    .split(",")
    .map((id) => id.trim())
    .filter((id) => id !== "");
  return ids.length > 0 && ids.every(isTenantId) ? ids : undefined;
}

/** Whether a tenant id can be part of a key: letters, digits, `.`, `_` or `-`, 1-64, no separator. */
export function isTenantId(tenantId: string): boolean {
  return TENANT_ID.test(tenantId);
}

/** Tenant ids are ours to choose: a short slug with no separator, checked wherever a key is built. */
export function tenantPrefix(tenantId: string): string {
  if (!isTenantId(tenantId)) {
    throw new Error(`invalid tenant id ${JSON.stringify(tenantId)}: letters, digits, '.', '_' or '-', 1-64`);
  }
  return `T#${tenantId}`;
}

/**
 * An id from outside (person, team, case record, challenge) as a key component. `#` separates
 * components, so `%` and `#` are percent-escaped: two different ids can never produce the same key.
 */
export function keyPart(value: string, what: string): string {
  if (value.length === 0) throw new Error(`${what} must not be empty`);
  return value.replaceAll("%", "%25").replaceAll("#", "%23");
}

/** A sort-key timestamp: one fixed ISO format (UTC, milliseconds) so string order is time order. */
export function sortableInstant(iso: string, what: string): string {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) throw new Error(`${what} is not an ISO-8601 instant: ${JSON.stringify(iso)}`);
  return new Date(ms).toISOString();
}

/** The Europe/London calendar month (YYYY-MM) of an instant: reports count months as the authority does. */
export function londonMonthOf(iso: string): string {
  return londonMonth(sortableInstant(iso, "raisedAt"));
}

export interface Key {
  readonly pk: string;
  readonly sk: string;
}

function challengePk(tenantId: string, challengeId: string): string {
  return `${tenantPrefix(tenantId)}#C#${keyPart(challengeId, "challenge id")}`;
}

export function eventSk(seq: number): string {
  if (!Number.isSafeInteger(seq) || seq < 1 || seq >= 10 ** SEQ_DIGITS) {
    throw new Error(`event seq must be a positive integer below 10^${SEQ_DIGITS}, got ${seq}`);
  }
  return `${EVENT_SK_PREFIX}${seq.toString().padStart(SEQ_DIGITS, "0")}`;
}

/** Keys longer than this (e.g. unusual Message-IDs) are stored as their SHA-256, keeping pk well under 2 KB. */
const MAX_RAW_DEDUPE_KEY = 200;

export const keys = {
  challenge: (tenantId: string, challengeId: string): Key => ({
    pk: challengePk(tenantId, challengeId),
    sk: SNAPSHOT_SK,
  }),
  event: (tenantId: string, challengeId: string, seq: number): Key => ({
    pk: challengePk(tenantId, challengeId),
    sk: eventSk(seq),
  }),
  /** The partition holding a challenge's snapshot and events. */
  challengePartition: challengePk,
  config: (tenantId: string): Key => ({ pk: tenantPrefix(tenantId), sk: CONFIG_SK }),
  staff: (tenantId: string, personId: string): Key => ({
    pk: tenantPrefix(tenantId),
    sk: `${STAFF_SK_PREFIX}${keyPart(personId, "person id")}`,
  }),
  tenantVersion: (tenantId: string): Key => ({ pk: tenantPrefix(tenantId), sk: TENANT_VERSION_SK }),
  tenantPartition: tenantPrefix,
  /** A tenant's benchmark participation (its own partition). */
  benchmarkParticipation: (tenantId: string): Key => ({ pk: tenantPrefix(tenantId), sk: "BENCHMARK" }),
  /** A quarter's published benchmark: aggregates only, in a partition of no tenant. */
  benchmarkPublished: (quarter: string): Key => ({ pk: "BENCHMARK", sk: `Q#${keyPart(quarter, "quarter")}` }),
  dedupe: (tenantId: string, kind: string, key: string): Key => {
    if (!/^[a-z][a-z0-9_-]{0,31}$/.test(kind)) {
      throw new Error(`invalid dedupe kind ${JSON.stringify(kind)}: a lower-case slug`);
    }
    const part =
      key.length > MAX_RAW_DEDUPE_KEY
        ? `H:${createHash("sha256").update(key, "utf8").digest("hex")}`
        : keyPart(key, "dedupe key");
    return { pk: `${tenantPrefix(tenantId)}#D#${kind}#${part}`, sk: DEDUPE_SK };
  },
} as const;

/** Partition and sort key values of each index, for writing the snapshot and for querying. */
export const indexKeys = {
  openByDueDatePk: (tenantId: string): string => `${tenantPrefix(tenantId)}#OPEN`,
  byRecipientPk: (tenantId: string, personId: string): string =>
    `${tenantPrefix(tenantId)}#P#${keyPart(personId, "person id")}`,
  byChildPk: (tenantId: string, caseRecordId: string): string =>
    `${tenantPrefix(tenantId)}#CHILD#${keyPart(caseRecordId, "case record id")}`,
  byTeamPk: (tenantId: string, teamId: string): string =>
    `${tenantPrefix(tenantId)}#TEAM#${keyPart(teamId, "team id")}`,
  byMonthRaisedPk: (tenantId: string, month: string): string => {
    if (!/^\d{4}-(0[1-9]|1[0-2])$/.test(month)) {
      throw new Error(`month must be YYYY-MM, got ${JSON.stringify(month)}`);
    }
    return `${tenantPrefix(tenantId)}#RAISED#${month}`;
  },
  byRetentionDatePk: (tenantId: string): string => `${tenantPrefix(tenantId)}#RETAIN`,
  /** `<YYYY-MM-DD>#<challengeId>`: retention date order; `< <asOf>` selects dates before `asOf`. */
  retentionSk: (day: string, challengeId: string): string => {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) throw new Error(`retention date must be YYYY-MM-DD, got ${day}`);
    return `${day}#${keyPart(challengeId, "challenge id")}`;
  },
  /** `<instant>#<challengeId>`: time order, ties broken by id so every sort key is unique. */
  timeSk: (iso: string, challengeId: string, what: string): string =>
    `${sortableInstant(iso, what)}#${keyPart(challengeId, "challenge id")}`,
  /**
   * Exclusive upper bound for "deadline on or before `iso`": every `<instant>#<id>` with
   * instant <= iso sorts below `<iso>$`, because `$` is the character after `#`.
   */
  timeUpperBound: (iso: string, what: string): string => `${sortableInstant(iso, what)}$`,
} as const;

// --- CreateTable -------------------------------------------------------------------------------

/** An index's projection as DynamoDB's API and CloudFormation spell it. */
export function projectionOf(index: IndexDefinition): {
  ProjectionType: "KEYS_ONLY" | "INCLUDE";
  NonKeyAttributes?: string[];
} {
  return index.projected.length === 0
    ? { ProjectionType: "KEYS_ONLY" }
    : { ProjectionType: "INCLUDE", NonKeyAttributes: [...index.projected] };
}

/**
 * The table as a CreateTable request: used by the local runtime and the tests. The CDK construct
 * builds the same table from {@link TABLE} and {@link INDEXES}, adding what only AWS has (KMS key,
 * point-in-time recovery, deletion protection). TTL is enabled separately (UpdateTimeToLive).
 */
export function createTableInput(tableName: string): CreateTableCommandInput {
  const indexes = Object.values(INDEXES);
  const attributeNames = [
    TABLE.partitionKey,
    TABLE.sortKey,
    ...indexes.flatMap((index) => [index.partitionKey, index.sortKey]),
  ];
  return {
    TableName: tableName,
    BillingMode: TABLE.billingMode,
    AttributeDefinitions: attributeNames.map((name) => ({ AttributeName: name, AttributeType: "S" })),
    KeySchema: [
      { AttributeName: TABLE.partitionKey, KeyType: "HASH" },
      { AttributeName: TABLE.sortKey, KeyType: "RANGE" },
    ],
    GlobalSecondaryIndexes: indexes.map((index) => ({
      IndexName: index.name,
      KeySchema: [
        { AttributeName: index.partitionKey, KeyType: "HASH" },
        { AttributeName: index.sortKey, KeyType: "RANGE" },
      ],
      Projection: projectionOf(index),
    })),
    StreamSpecification: { StreamEnabled: true, StreamViewType: TABLE.streamViewType },
  };
}
