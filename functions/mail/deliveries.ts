import {
  DeleteCommand,
  GetCommand,
  QueryCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from "@aws-sdk/lib-dynamodb";
import type { UndeliverableReason } from "../domain/challenge/events.js";
import { replay } from "../domain/challenge/evolve.js";
import { recordUndeliverable } from "../domain/email-undeliverable.js";
import { now } from "../shared/clock.js";
import { DynamoChallengeStore } from "../store/dynamo-challenge-store.js";
import { ConcurrencyConflictError } from "../store/ports.js";
import { TABLE, eventSk, keyPart, keys } from "../store/table.js";
import { TenantStore } from "../store/tenant-store.js";
import { type RecipientRole, recipientTitleFor } from "../domain/email-recipients.js";

// =============================================================================================
// The delivery ledger: one record per email, claimed before sending

export interface LedgerKey {
  readonly pk: string;
  readonly sk: string;
}

/** What the delivery record says about the email (ids and codes only: no addresses, no content). */
export interface LedgerEntry {
  readonly tenantId?: string;
  readonly challengeId?: string;
  readonly seq?: number;
  /** The good practice notification the email is about (send-good-practice.ts). */
  readonly goodPracticeId?: string;
  readonly kind: string;
  readonly recipientRole: string;
  readonly recipientPersonId?: string;
}

export type ClaimResult =
  | { readonly status: "claimed" | "sent" | "in_flight" }
  | { readonly status: "failed"; readonly code: string };

export interface OutboundLedger {
  /** Claims the email for sending for `leaseMs`; says why not when it is sent, failed or being sent. */
  claim(key: LedgerKey, entry: LedgerEntry, at: Date, leaseMs: number): Promise<ClaimResult>;
  markSent(key: LedgerKey, sesMessageId: string, at: Date): Promise<void>;
  markFailed(key: LedgerKey, code: string, at: Date): Promise<void>;
  /** Gives the claim up after a transient failure, so the retry can claim it again. */
  release(key: LedgerKey): Promise<void>;
}

export const MAIL_OUT_ENTITY = "mail-out";
export const MAIL_OUT_SK_PREFIX = "MAILOUT#";

/** The delivery record of an event's email: beside the event, in the challenge's partition. */
export function eventMailKey(
  tenantId: string,
  challengeId: string,
  seq: number,
  recipientKey: string,
): LedgerKey {
  return {
    pk: keys.challengePartition(tenantId, challengeId),
    sk: `${MAIL_OUT_SK_PREFIX}${eventSk(seq).slice(2)}#${recipientKey}`,
  };
}

/**
 * The delivery record of a good practice notification's email: one per notification (it goes to one
 * person), in a partition of its own beside the tenant's notifications (`T#<t>#GP#<id>`), so the
 * themes report's count of the `T#<t>#GP` partition never sees it.
 */
export function goodPracticeMailKey(tenantId: string, goodPracticeId: string): LedgerKey {
  return {
    pk: `${keys.tenantPartition(tenantId)}#GP#${keyPart(goodPracticeId, "good practice id")}`,
    sk: `${MAIL_OUT_SK_PREFIX}first_line_manager`,
  };
}

/**
 * The ledger as items in the single table (entity `mail-out`, sort key `MAILOUT#...` in the
 * challenge's partition). Stream consumers filter on entity, so these reach none of them; the
 * challenge store reads `SNAPSHOT` and `E#` keys only (functions/store/table.ts lists the item).
 */
export class DynamoOutboundLedger implements OutboundLedger {
  constructor(
    private readonly client: Pick<DynamoDBDocumentClient, "send">,
    private readonly tableName: string,
  ) {}

  async claim(key: LedgerKey, entry: LedgerEntry, at: Date, leaseMs: number): Promise<ClaimResult> {
    const values: Record<string, unknown> = {
      ":entity": MAIL_OUT_ENTITY,
      ":sending": "sending",
      ":lease": new Date(at.getTime() + leaseMs).toISOString(),
      ":now": at.toISOString(),
      ":one": 1,
    };
    const names: Record<string, string> = {
      "#pk": TABLE.partitionKey,
      "#entity": TABLE.entityAttribute,
      "#status": "status",
      "#leaseUntil": "leaseUntil",
      "#claimedAt": "claimedAt",
      "#attempts": "attempts",
    };
    const sets = ["#entity = :entity", "#status = :sending", "#leaseUntil = :lease", "#claimedAt = :now"];
    for (const [field, value] of Object.entries(entry)) {
      if (value === undefined) continue;
      names[`#${field}`] = field;
      values[`:${field}`] = value;
      sets.push(`#${field} = :${field}`);
    }
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: key,
          UpdateExpression: `SET ${sets.join(", ")} ADD #attempts :one`,
          ConditionExpression: "attribute_not_exists(#pk) OR (#status = :sending AND #leaseUntil < :now)",
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
      return { status: "claimed" };
    } catch (error) {
      if (!(error instanceof Error && error.name === "ConditionalCheckFailedException")) throw error;
    }
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true }),
    );
    const status: unknown = Item?.status;
    if (status === "failed") {
      return { status: "failed", code: typeof Item?.failure === "string" ? Item.failure : "unknown" };
    }
    return { status: status === "sent" ? "sent" : "in_flight" };
  }

  async markSent(key: LedgerKey, sesMessageId: string, at: Date): Promise<void> {
    await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: key,
        UpdateExpression: "SET #status = :sent, #sentAt = :at, #sesMessageId = :id REMOVE #leaseUntil",
        ExpressionAttributeNames: {
          "#status": "status",
          "#sentAt": "sentAt",
          "#sesMessageId": "sesMessageId",
          "#leaseUntil": "leaseUntil",
        },
        ExpressionAttributeValues: { ":sent": "sent", ":at": at.toISOString(), ":id": sesMessageId },
      }),
    );
  }

  async markFailed(key: LedgerKey, code: string, at: Date): Promise<void> {
    await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: key,
        UpdateExpression: "SET #status = :failed, #failedAt = :at, #failure = :code REMOVE #leaseUntil",
        ExpressionAttributeNames: {
          "#status": "status",
          "#failedAt": "failedAt",
          "#failure": "failure",
          "#leaseUntil": "leaseUntil",
        },
        ExpressionAttributeValues: { ":failed": "failed", ":at": at.toISOString(), ":code": code },
      }),
    );
  }

  async release(key: LedgerKey): Promise<void> {
    try {
      await this.client.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: key,
          ConditionExpression: "#status = :sending",
          ExpressionAttributeNames: { "#status": "status" },
          ExpressionAttributeValues: { ":sending": "sending" },
        }),
      );
    } catch (error) {
      if (!(error instanceof Error && error.name === "ConditionalCheckFailedException")) throw error;
    }
  }
}

// =============================================================================================
// Undeliverable emails: recorded on the challenge as an event

export interface UndeliverableRecord {
  readonly tenantId: string;
  readonly challengeId: string;
  /** The event whose email failed, when it was an event's email. */
  readonly seq?: number;
  readonly recipientRole: RecipientRole;
  readonly kind: string;
  readonly reason: UndeliverableReason;
  /** The SES bounce subtype, complaint type or error code (logged; not part of the event). */
  readonly detail?: string;
  readonly at: string;
  /** Unique per failed email: the SES message id (a delivery event) or `send#<seq>#<recipient>` (refused at sending). */
  readonly sourceId: string;
}

export interface UndeliverableLog {
  /** Records the failure once; false when it was recorded before (or the challenge no longer exists). */
  record(failure: UndeliverableRecord): Promise<boolean>;
}

/** Conditional appends lost to another writer before this one gives up (and the caller is retried). */
const APPEND_ATTEMPTS = 3;

/**
 * Undeliverable emails as `NotificationUndeliverable` events of their challenge, appended through
 * the challenge store like any other event (conditioned on the version read, with the snapshot, in
 * one transaction), so they reach the stream, the audit export and the timeline. The event names the
 * failed email: a bounce reported twice, or a bounce then a complaint about the same email, finds it
 * already recorded and records nothing. The person it was for comes from the email's delivery
 * record (which holds ids only); no address is read or written.
 */
export class DynamoUndeliverableLog implements UndeliverableLog {
  private readonly challenges: DynamoChallengeStore;
  private readonly tenants: TenantStore;

  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly clock: () => Date = now,
  ) {
    this.challenges = new DynamoChallengeStore(client, tableName);
    this.tenants = new TenantStore(client, tableName, clock);
  }

  async record(failure: UndeliverableRecord): Promise<boolean> {
    const { tenantId, challengeId } = failure;
    const [recipientPersonId, tenantConfig] = await Promise.all([
      this.recipientPersonId(failure),
      this.tenants.getConfig(tenantId),
    ]);
    for (let attempt = 1; ; attempt++) {
      // The state is folded from the events read, so the version appended at is the one the check
      // "not recorded yet" was made against (a snapshot read beside them could be newer).
      const history = (await this.challenges.events(tenantId, challengeId)).map((e) => e.event);
      const recorded = recordUndeliverable(
        replay(history, challengeId),
        history,
        {
          notificationId: failure.sourceId,
          ...(failure.seq === undefined ? {} : { eventSeq: failure.seq }),
          kind: failure.kind,
          recipientRole: failure.recipientRole,
          recipientTitle: recipientTitleFor(history, failure.seq, failure.recipientRole),
          ...(recipientPersonId === undefined ? {} : { recipientPersonId }),
          reason: failure.reason,
        },
        this.clock().toISOString(),
      );
      if (recorded === undefined) return false;
      try {
        await this.challenges.append(
          tenantId,
          history.length,
          [recorded.event],
          recorded.state,
          tenantConfig?.retention,
        );
        return true;
      } catch (error) {
        // Another event was committed since the read: read again (it may be this failure, recorded).
        if (!(error instanceof ConcurrencyConflictError) || attempt >= APPEND_ATTEMPTS) throw error;
      }
    }
  }

  /** The person the failed email was for, from its delivery record: by key when refused at sending, else by SES message id. */
  private async recipientPersonId(failure: UndeliverableRecord): Promise<string | undefined> {
    const pk = keys.challengePartition(failure.tenantId, failure.challengeId);
    const refused = /^send#(\d+)#(.+)$/.exec(failure.sourceId);
    if (refused?.[1] !== undefined && refused[2] !== undefined) {
      const key = eventMailKey(failure.tenantId, failure.challengeId, Number(refused[1]), refused[2]);
      const { Item } = await this.client.send(
        new GetCommand({ TableName: this.tableName, Key: key, ProjectionExpression: "recipientPersonId" }),
      );
      return personIdOf(Item);
    }
    const prefix =
      failure.seq === undefined
        ? `${MAIL_OUT_SK_PREFIX}ALERT#`
        : `${MAIL_OUT_SK_PREFIX}${eventSk(failure.seq).slice(2)}#`;
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: "#pk = :pk AND begins_with(#sk, :prefix)",
          FilterExpression: "#sesMessageId = :id",
          ProjectionExpression: "recipientPersonId",
          ExpressionAttributeNames: {
            "#pk": TABLE.partitionKey,
            "#sk": TABLE.sortKey,
            "#sesMessageId": "sesMessageId",
          },
          ExpressionAttributeValues: { ":pk": pk, ":prefix": prefix, ":id": failure.sourceId },
          ExclusiveStartKey: startKey,
        }),
      );
      const found = page.Items?.[0];
      if (found !== undefined) return personIdOf(found);
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined);
    return undefined;
  }
}

function personIdOf(item: Record<string, unknown> | undefined): string | undefined {
  const id = item?.recipientPersonId;
  return typeof id === "string" && id !== "" ? id : undefined;
}
