import { PutCommand, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { TABLE, keys } from "../store/table.js";
import type { InboundAction } from "./inbound-policy.js";
import type { ReplyParty } from "./reply-token.js";

/**
 * The record of every inbound message, accepted or refused: written by the receiving function
 * (receive-email.ts) for what it refuses itself, and by the applying function (apply-reply.ts) for
 * the rest. Items in the single table, no body, no addresses: `inbound-acceptance` and
 * `inbound-refusal`, in the challenge's partition when the token names one (sk
 * `MAILIN#<received>#<SES message id>`), else in `MAILIN#UNATTRIBUTED` (kept 90 days, like the raw mail).
 */

export interface AttachmentEvidence {
  readonly name: string | null;
  readonly contentType: string;
  readonly size: number;
  readonly sha256: string;
}

export interface InboundRecord {
  readonly outcome: "accepted" | "refused";
  readonly tenantId?: string;
  readonly challengeId?: string;
  readonly receivedAt: string;
  /** The SES message id: the raw message's key in the inbound bucket. */
  readonly sesMessageId: string;
  /** SHA-256 of the raw message: ties the record to the stored message. */
  readonly rawSha256?: string;
  /** A refusal's reason: the policy's code, `domain:<code>` when the challenge refused the command, or `unreadable`. */
  readonly reason?: string;
  readonly action?: InboundAction;
  readonly party?: ReplyParty;
  /** The events the reply recorded. */
  readonly seqs?: readonly number[];
  /** The domain of the From address (or the envelope sender): never the address. */
  readonly senderDomain: string | null;
  /** Whether a bounce-style reply was due. */
  readonly bounce?: boolean;
  readonly attachments: readonly AttachmentEvidence[];
}

export interface InboundRecordLog {
  /** Writes the record once (a retried invocation writes nothing new). */
  record(record: InboundRecord): Promise<void>;
}

export const INBOUND_ACCEPTANCE_ENTITY = "inbound-acceptance";
export const INBOUND_REFUSAL_ENTITY = "inbound-refusal";
/** The partition of messages no token attributes to a tenant: no tenant data by construction. */
export const UNATTRIBUTED_PARTITION = "MAILIN#UNATTRIBUTED";
const UNATTRIBUTED_TTL_SECONDS = 90 * 24 * 3600;

export function recordPartition(attribution: { tenantId: string; challengeId: string } | undefined): string {
  return attribution === undefined
    ? UNATTRIBUTED_PARTITION
    : keys.challengePartition(attribution.tenantId, attribution.challengeId);
}

/** Inbound records as items of the single table (layout: functions/store/table.ts). */
export class DynamoInboundRecordLog implements InboundRecordLog {
  constructor(
    private readonly client: Pick<DynamoDBDocumentClient, "send">,
    private readonly tableName: string,
  ) {}

  async record(record: InboundRecord): Promise<void> {
    const attributed =
      record.tenantId === undefined || record.challengeId === undefined
        ? undefined
        : { tenantId: record.tenantId, challengeId: record.challengeId };
    const sk =
      attributed === undefined
        ? `${record.receivedAt}#${record.sesMessageId}`
        : `MAILIN#${record.receivedAt}#${record.sesMessageId}`;
    const received = Date.parse(record.receivedAt);
    const expiresAt =
      attributed === undefined
        ? {
            [TABLE.ttlAttribute]:
              Math.floor((Number.isNaN(received) ? Date.now() : received) / 1000) + UNATTRIBUTED_TTL_SECONDS,
          }
        : {};
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            pk: recordPartition(attributed),
            sk,
            [TABLE.entityAttribute]:
              record.outcome === "accepted" ? INBOUND_ACCEPTANCE_ENTITY : INBOUND_REFUSAL_ENTITY,
            ...Object.fromEntries(Object.entries(record).filter(([, v]) => v !== undefined)),
            ...expiresAt,
          },
          ConditionExpression: "attribute_not_exists(#pk)",
          ExpressionAttributeNames: { "#pk": TABLE.partitionKey },
        }),
      );
    } catch (error) {
      if (!(error instanceof Error && error.name === "ConditionalCheckFailedException")) throw error;
    }
  }
}
