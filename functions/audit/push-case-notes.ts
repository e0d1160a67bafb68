import { createHmac } from "node:crypto";
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import type {
  DynamoDBBatchItemFailure,
  DynamoDBBatchResponse,
  DynamoDBRecord,
  DynamoDBStreamEvent,
} from "aws-lambda";
import { replay } from "../domain/challenge/evolve.js";
import type { ChallengeEvent } from "../domain/challenge/events.js";
import { findPreset } from "../domain/presets/index.js";
import type { Protocol } from "../domain/protocol.js";
import { documentClient } from "../shared/clients.js";
import { type CountMetrics, countMetrics, logger as powertoolsLogger } from "../shared/observability.js";
import { DynamoChallengeStore } from "../store/dynamo-challenge-store.js";
import type { ChallengeStore, StoredEvent } from "../store/ports.js";
import { type CaseNoteWebhook, TenantStore } from "../store/tenant-store.js";
import { caseNotesFor } from "./case-notes.js";
import { isEventInsert, storedEventOf } from "./export-events.js";
import { mapInPool, type ChildCaseNote } from "./readers.js";

/**
 * Case-note push: DynamoDB stream (new event items) -> one signed HTTPS POST per event to the
 * tenant's case-note webhook, when its configuration has one (`caseNoteWebhook`, tenant-store.ts).
 * Without one nothing is sent: the case-record system pulls instead
 * (GET /v1/children/{caseRecordId}/case-notes returns the very same notes).
 *
 * ## The request (Standard Webhooks 1.0, https://www.standardwebhooks.com/)
 *
 *     POST <url>
 *     content-type: application/json
 *     idempotency-key: <tenantId>/<challengeId>/<seq>          the same on every retry
 *     webhook-id: <tenantId>/<challengeId>/<seq>               (the same value)
 *     webhook-timestamp: <Unix seconds when signed>
 *     webhook-signature: v1,<base64 HMAC-SHA256(key, "<webhook-id>.<webhook-timestamp>.<body>")>
 *
 *     { "type": "case_note.created", "timestamp": "<the event's time>", "data": <the note> }
 *
 * `data` is the note as the pull returns it: caseRecordId, challengeId, seq, at, eventType,
 * stageId, title, sections (where the protocol lists headings) and body. The key is the tenant's
 * signing secret, `whsec_<base64 of 24-64 random bytes>`, kept in Secrets Manager under
 * `CASE_NOTE_WEBHOOK_SECRET_PREFIX` + tenant id (never in the configuration, which every member of
 * staff can read). While a secret is rotated the secret string may hold two, space-separated,
 * current first: the header then carries both signatures and either verifies.
 *
 * ## Failures and order
 *
 * A 2xx answer is delivery. Anything else (another status, a timeout, a network error, a missing
 * secret) is reported in `batchItemFailures`, so the event source mapping retries from that record,
 * as often as its retry settings allow, then hands it to its on-failure destination (the DLQ).
 * Records of one challenge are sent one after another in stream order, and once one fails the
 * later ones of that challenge are not sent (they are reported too), so the receiver never gets
 * event 5 before event 4. Other challenges' records go ahead; the retry may send some of them
 * again, which the Idempotency-Key makes harmless.
 *
 * Nothing personal is logged: tenant, challenge, seq, HTTP status and error names; never the URL,
 * the note or the secret.
 */

export const CASE_NOTE_EVENT_TYPE = "case_note.created";
export const DEFAULT_TIMEOUT_MS = 5_000;
export const DEFAULT_SECRET_PREFIX = "challenge-resolution/case-note-webhook/";
/** Challenges whose notes are sent at the same time (each challenge's own in order). */
const CHALLENGES_IN_FLIGHT = 4;
const SECRET_CACHE_MS = 5 * 60_000;

export interface PushLog {
  info(message: string, attributes: Record<string, unknown>): void;
  error(message: string, attributes: Record<string, unknown>): void;
}

export type PushMetrics = CountMetrics;

export interface PushDeps {
  readonly tenants: {
    getConfig(tenantId: string): Promise<{ readonly caseNoteWebhook?: CaseNoteWebhook } | undefined>;
  };
  readonly challenges: Pick<ChallengeStore, "events">;
  readonly protocols: (protocolId: string) => Protocol | undefined;
  /** The tenant's signing secret string (`whsec_...`, or two space-separated while rotating). */
  readonly secret: (tenantId: string) => Promise<string>;
  readonly clock?: () => Date;
  readonly timeoutMs?: number;
  readonly log?: PushLog;
  readonly metrics?: PushMetrics;
}

/** A delivery the receiver did not accept, or could not be attempted. Its message is safe to log. */
export class CaseNotePushError extends Error {
  override readonly name = "CaseNotePushError";
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

// --- signing -------------------------------------------------------------------------------------

/** The HMAC keys of a secret string: each `whsec_<base64>` decoded; at least 24 bytes each. */
export function signingKeys(secret: string): Buffer[] {
  const parts = secret
    .trim()
    .split(/\s+/)
    .filter((part) => part.length > 0);
  if (parts.length === 0) throw new CaseNotePushError("the webhook signing secret is empty");
  return parts.map((part) => {
    if (!part.startsWith("whsec_")) {
      throw new CaseNotePushError("the webhook signing secret must be whsec_<base64>");
    }
    const key = Buffer.from(part.slice("whsec_".length), "base64");
    if (key.length < 24) throw new CaseNotePushError("the webhook signing secret must hold 24 bytes or more");
    return key;
  });
}

/** The `webhook-signature` header value: `v1,<base64>` per key, space-separated. */
export function webhookSignature(
  keys: readonly Buffer[],
  id: string,
  timestamp: number,
  body: string,
): string {
  const signed = `${id}.${timestamp}.${body}`;
  return keys
    .map((key) => `v1,${createHmac("sha256", key).update(signed, "utf8").digest("base64")}`)
    .join(" ");
}

/** The message id: tenant, challenge and seq, the same on every retry of the same event. */
export function deliveryId(tenantId: string, challengeId: string, seq: number): string {
  return `${tenantId}/${challengeId}/${seq}`;
}

// --- one delivery --------------------------------------------------------------------------------

export interface CaseNoteMessage {
  readonly type: typeof CASE_NOTE_EVENT_TYPE;
  readonly timestamp: string;
  readonly data: ChildCaseNote;
}

/** POSTs one note; resolves on a 2xx answer, throws a {@link CaseNotePushError} otherwise. */
export async function deliver(
  webhook: CaseNoteWebhook,
  keys: readonly Buffer[],
  id: string,
  message: CaseNoteMessage,
  now: Date,
  timeoutMs: number,
): Promise<number> {
  // Checked again here: a configuration written before the rule, or by hand, must not reach plain HTTP.
  if (!webhook.url.startsWith("https://")) throw new CaseNotePushError("the webhook URL is not https");
  const body = JSON.stringify(message);
  const timestamp = Math.floor(now.getTime() / 1000);
  let response: Response;
  try {
    response = await fetch(webhook.url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "idempotency-key": id,
        "webhook-id": id,
        "webhook-timestamp": String(timestamp),
        "webhook-signature": webhookSignature(keys, id, timestamp, body),
      },
      body,
      redirect: "error",
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    // The cause's message can name the host or address: keep only what kind of failure it was.
    const name = error instanceof Error ? error.name : "unknown";
    const code = (error as { cause?: { code?: unknown } } | undefined)?.cause?.code;
    throw new CaseNotePushError(
      name === "TimeoutError"
        ? `no answer within ${timeoutMs} ms`
        : `the request failed (${name}${typeof code === "string" ? ` ${code}` : ""})`,
    );
  }
  // Nothing in the answer is needed: release the connection.
  await response.body?.cancel().catch(() => undefined);
  if (!response.ok) throw new CaseNotePushError(`the webhook answered ${response.status}`, response.status);
  return response.status;
}

// --- the stream handler ----------------------------------------------------------------------------

interface Item {
  readonly record: DynamoDBRecord;
  readonly sequenceNumber: string | undefined;
  readonly stored: StoredEvent;
}

type Outcome = "sent" | "not_configured" | "failed" | "held_back";

/** Builds the stream handler around its dependencies (tests pass fakes and stub `fetch`). */
export function makePushHandler(
  deps: PushDeps,
): (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse> {
  const clock = deps.clock ?? (() => new Date());
  const timeoutMs = deps.timeoutMs ?? DEFAULT_TIMEOUT_MS;

  return async (event) => {
    const failed = new Set<DynamoDBRecord>();
    const counts: Record<Outcome | "skipped", number> = {
      sent: 0,
      not_configured: 0,
      failed: 0,
      held_back: 0,
      skipped: 0,
    };
    // Per batch: the configuration is read once per tenant, each challenge's history once.
    const configs = new Map<string, Promise<CaseNoteWebhook | undefined>>();
    const webhookOf = (tenantId: string): Promise<CaseNoteWebhook | undefined> => {
      let found = configs.get(tenantId);
      if (found === undefined) {
        found = deps.tenants.getConfig(tenantId).then((config) => config?.caseNoteWebhook);
        configs.set(tenantId, found);
      }
      return found;
    };

    // Event inserts, grouped by challenge in stream order.
    const groups = new Map<string, Item[]>();
    for (const record of event.Records) {
      if (!isEventInsert(record)) {
        counts.skipped++;
        continue;
      }
      let stored: StoredEvent;
      try {
        stored = storedEventOf(record);
      } catch (error) {
        counts.failed++;
        failed.add(record);
        deps.log?.error("case-note push: unreadable stream record", {
          sequenceNumber: record.dynamodb?.SequenceNumber,
          errorName: error instanceof Error ? error.name : "unknown",
        });
        continue;
      }
      const key = `${stored.tenantId}|${stored.event.challengeId}`;
      const group = groups.get(key) ?? [];
      group.push({ record, sequenceNumber: record.dynamodb?.SequenceNumber, stored });
      groups.set(key, group);
    }

    await mapInPool([...groups.values()], CHALLENGES_IN_FLIGHT, async (items) => {
      let notes: Map<number, ChildCaseNote> | undefined;
      let blocked = false;
      for (const item of items) {
        const { tenantId, event: stored } = item.stored;
        const ids = { tenantId, challengeId: stored.challengeId, seq: stored.seq };
        if (blocked) {
          counts.held_back++;
          failed.add(item.record);
          continue;
        }
        try {
          const webhook = await webhookOf(tenantId);
          if (webhook === undefined) {
            counts.not_configured++;
            continue;
          }
          notes ??= await notesOf(deps, tenantId, stored.challengeId);
          const note = notes.get(stored.seq);
          if (note === undefined) {
            throw new CaseNotePushError(`event ${stored.seq} is not among the challenge's stored events`);
          }
          const keys = signingKeys(await deps.secret(tenantId));
          const id = deliveryId(tenantId, stored.challengeId, stored.seq);
          const message: CaseNoteMessage = { type: CASE_NOTE_EVENT_TYPE, timestamp: note.at, data: note };
          const status = await deliver(webhook, keys, id, message, clock(), timeoutMs);
          counts.sent++;
          deps.log?.info("case note pushed", { ...ids, status });
        } catch (error) {
          counts.failed++;
          failed.add(item.record);
          blocked = true;
          deps.log?.error("case-note push failed", {
            ...ids,
            sequenceNumber: item.sequenceNumber,
            errorName: error instanceof Error ? error.name : "unknown",
            // Our own messages say what went wrong without the URL or any content; others are not logged.
            errorMessage: error instanceof CaseNotePushError ? error.message : undefined,
            status: error instanceof CaseNotePushError ? error.status : undefined,
          });
        }
      }
    });

    deps.log?.info("case-note push batch done", { records: event.Records.length, ...counts });
    if (deps.metrics !== undefined) {
      deps.metrics.addMetric("CaseNotesPushed", "Count", counts.sent);
      deps.metrics.addMetric("CaseNotePushFailures", "Count", counts.failed);
      deps.metrics.addMetric("CaseNotePushesHeldBack", "Count", counts.held_back);
      deps.metrics.publishStoredMetrics();
    }

    // In stream order, so the checkpoint is the earliest failure. A record without a sequence
    // number cannot be reported on its own: the whole batch is failed instead.
    const failures: DynamoDBBatchItemFailure[] = [];
    for (const record of event.Records) {
      if (!failed.has(record)) continue;
      const itemIdentifier = record.dynamodb?.SequenceNumber;
      if (itemIdentifier === undefined) throw new Error("a failed stream record has no sequence number");
      failures.push({ itemIdentifier });
    }
    return { batchItemFailures: failures };
  };
}

/** Every note of one challenge, by seq, written from its whole stored history (as the pull writes them). */
async function notesOf(
  deps: Pick<PushDeps, "challenges" | "protocols">,
  tenantId: string,
  challengeId: string,
): Promise<Map<number, ChildCaseNote>> {
  const events: ChallengeEvent[] = (await deps.challenges.events(tenantId, challengeId)).map((s) => s.event);
  const state = replay(events, challengeId);
  const protocol = deps.protocols(state.protocolId);
  if (protocol === undefined) throw new CaseNotePushError(`no protocol ${state.protocolId}`);
  const caseRecordId = state.form.child.caseRecordId;
  return new Map(
    caseNotesFor(state, events, protocol).map((note) => [note.seq, { ...note, caseRecordId }] as const),
  );
}

// --- the Lambda ------------------------------------------------------------------------------------

/** The tenant's secret from Secrets Manager, kept for a few minutes per tenant. */
export function secretsManagerSecret(
  client: Pick<SecretsManagerClient, "send">,
  prefix: string,
  clock: () => Date = () => new Date(),
): (tenantId: string) => Promise<string> {
  const cache = new Map<string, { value: string; until: number }>();
  return async (tenantId) => {
    const cached = cache.get(tenantId);
    if (cached !== undefined && cached.until > clock().getTime()) return cached.value;
    let value: string | undefined;
    try {
      ({ SecretString: value } = await client.send(
        new GetSecretValueCommand({ SecretId: prefix + tenantId }),
      ));
    } catch (error) {
      throw new CaseNotePushError(
        `the tenant's webhook signing secret could not be read (${error instanceof Error ? error.name : "unknown"})`,
      );
    }
    if (value === undefined)
      throw new CaseNotePushError("the tenant's webhook signing secret has no string value");
    cache.set(tenantId, { value, until: clock().getTime() + SECRET_CACHE_MS });
    return value;
  };
}

let defaultHandler: ((event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse>) | undefined;

/**
 * The deployed handler. TABLE_NAME (required), CASE_NOTE_WEBHOOK_SECRET_PREFIX (default
 * {@link DEFAULT_SECRET_PREFIX}) and CASE_NOTE_WEBHOOK_TIMEOUT_MS (default 5000) from the environment.
 */
export const handler = (event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> => {
  if (defaultHandler === undefined) {
    const tableName = process.env.TABLE_NAME;
    if (tableName === undefined || tableName === "") {
      throw new Error("Configuration error: TABLE_NAME is not set. The CDK stack sets it.");
    }
    const timeout = Number(process.env.CASE_NOTE_WEBHOOK_TIMEOUT_MS ?? DEFAULT_TIMEOUT_MS);
    defaultHandler = makePushHandler({
      tenants: new TenantStore(documentClient, tableName),
      challenges: new DynamoChallengeStore(documentClient, tableName),
      protocols: findPreset,
      secret: secretsManagerSecret(
        new SecretsManagerClient({}),
        process.env.CASE_NOTE_WEBHOOK_SECRET_PREFIX ?? DEFAULT_SECRET_PREFIX,
      ),
      timeoutMs: Number.isInteger(timeout) && timeout > 0 ? timeout : DEFAULT_TIMEOUT_MS,
      log: powertoolsLogger,
      metrics: countMetrics,
    });
  }
  return defaultHandler(event);
};
