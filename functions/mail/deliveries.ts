import {
  DeleteCommand,
  GetCommand,
  PutCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from "@aws-sdk/lib-dynamodb";
import { TABLE, eventSk, keyPart, keys } from "../store/table.js";
import type { UndeliverableReason } from "./notifications.js";

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
 * challenge store reads `SNAPSHOT` and `E#` keys only. TODO(store owner): list the item in table.ts.
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
// Undeliverable emails: recorded on the challenge, the raiser alerted

export const MAIL_UNDELIVERABLE_ENTITY = "mail-undeliverable";

export interface UndeliverableRecord {
  readonly tenantId: string;
  readonly challengeId: string;
  /** The event whose email failed, when it was an event's email. */
  readonly seq?: number;
  readonly recipientRole: string;
  readonly kind: string;
  readonly reason: UndeliverableReason;
  /** The SES bounce subtype, complaint type or error code. */
  readonly detail?: string;
  readonly at: string;
  /** Unique per failure: the SES message id (a delivery event) or `send#<seq>#<recipient>` (refused at sending). */
  readonly sourceId: string;
}

export interface UndeliverableLog {
  /** Records the failure once; false when it was recorded before. */
  record(failure: UndeliverableRecord): Promise<boolean>;
}

/**
 * Undeliverable emails as items in the challenge's partition (sk `MAILFAIL#<sourceId>`, entity
 * `mail-undeliverable`): the record of the proposed `NotificationUndeliverable` event, which the
 * domain does not have yet (see the report; TODO(domain + store owners)).
 */
export class DynamoUndeliverableLog implements UndeliverableLog {
  constructor(
    private readonly client: Pick<DynamoDBDocumentClient, "send">,
    private readonly tableName: string,
  ) {}

  async record(failure: UndeliverableRecord): Promise<boolean> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            pk: keys.challengePartition(failure.tenantId, failure.challengeId),
            sk: `MAILFAIL#${failure.sourceId}`,
            [TABLE.entityAttribute]: MAIL_UNDELIVERABLE_ENTITY,
            ...Object.fromEntries(Object.entries(failure).filter(([, v]) => v !== undefined)),
          },
          ConditionExpression: "attribute_not_exists(#pk)",
          ExpressionAttributeNames: { "#pk": TABLE.partitionKey },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof Error && error.name === "ConditionalCheckFailedException") return false;
      throw error;
    }
  }
}
