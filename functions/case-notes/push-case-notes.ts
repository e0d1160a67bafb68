import { createHmac } from "node:crypto";
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { replay } from "../domain/challenge/evolve.js";
import type { ChallengeEvent } from "../domain/challenge/events.js";
import { findPreset } from "../domain/presets/index.js";
import type { Protocol } from "../domain/protocol.js";
import { documentClient } from "../shared/clients.js";
import { type CountMetrics, countMetrics, logger as powertoolsLogger } from "../shared/observability.js";
import { DynamoChallengeStore } from "../store/dynamo-challenge-store.js";
import type { EventItem } from "../store/event-item.js";
import type { ChallengeStore } from "../store/ports.js";
import { type CaseNoteWebhook, TenantStore } from "../store/tenant-store.js";
import type { ReactionStep } from "../shared/stream-batch.js";
import { caseNotesFor } from "./case-notes.js";
import type { ChildCaseNote } from "./child-case-notes.js";

/**
 * Case-note push: a step of the event reactor (new event items) -> one signed HTTPS POST per event to the
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
 * secret) fails the record: the reactor reports it, so the event source mapping retries from it,
 * as often as its retry settings allow, then hands it to its on-failure destination (the DLQ).
 * The reactor does records one after another in stream order, and once one of a challenge fails
 * it holds back the later ones of that challenge (functions/reactor/reactor.ts), so the receiver
 * never gets event 5 before event 4. Other challenges' records go ahead; the retry may send some
 * of them again, which the Idempotency-Key makes harmless.
 *
 * Nothing personal is logged: tenant, challenge, seq, HTTP status and error names; never the URL,
 * the note or the secret.
 */

export const CASE_NOTE_EVENT_TYPE = "case_note.created";
export const DEFAULT_TIMEOUT_MS = 5_000;
export const DEFAULT_SECRET_PREFIX = "challenge-resolution/case-note-webhook/";
const SECRET_CACHE_MS = 5 * 60_000;

export interface PushLog {
  info(message: string, attributes: Record<string, unknown>): void;
  error(message: string, attributes: Record<string, unknown>): void;
}

export type PushMetrics = CountMetrics;

export interface PushDeps {
  readonly tenants: {
    /** The configuration at `atVersion`: the container's cached copy while the tenant's version is unchanged. */
    getConfig(
      tenantId: string,
      atVersion: number,
    ): Promise<{ readonly caseNoteWebhook?: CaseNoteWebhook } | undefined>;
  };
  /** The tenant's configuration and directory version, read strongly consistent (store/tenant-version.ts). */
  readonly tenantVersion: (tenantId: string) => Promise<number>;
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

// --- the reactor step ------------------------------------------------------------------------------

/**
 * The case-note step of the event reactor (functions/reactor/reactor.ts), given one decoded event item
 * at a time; throws when the note was not delivered, and the reactor reports the record and holds
 * back that challenge's later records in the batch. Per batch, each challenge's history is read
 * once; the tenant's configuration comes from the per-container cache at the tenant's current
 * version (read once per tenant per batch: store/tenant-version.ts), so an unchanged configuration
 * is not read again batch after batch.
 */
export function createCaseNoteStep(deps: PushDeps): ReactionStep<EventItem> {
  const clock = deps.clock ?? (() => new Date());
  const timeoutMs = deps.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return {
    name: "case-notes",
    begin: () => {
      const webhooks = new Map<string, Promise<CaseNoteWebhook | undefined>>();
      const webhookOf = (tenantId: string): Promise<CaseNoteWebhook | undefined> => {
        let found = webhooks.get(tenantId);
        if (found === undefined) {
          found = deps
            .tenantVersion(tenantId)
            .then((version) => deps.tenants.getConfig(tenantId, version))
            .then((config) => config?.caseNoteWebhook);
          webhooks.set(tenantId, found);
        }
        return found;
      };
      const notes = new Map<string, Promise<Map<number, ChildCaseNote>>>();
      const notesFor = (tenantId: string, challengeId: string): Promise<Map<number, ChildCaseNote>> => {
        const key = `${tenantId}|${challengeId}`;
        let found = notes.get(key);
        if (found === undefined) {
          found = notesOf(deps, tenantId, challengeId);
          notes.set(key, found);
        }
        return found;
      };

      return async ({ tenantId, event }) => {
        const ids = { tenantId, challengeId: event.challengeId, seq: event.seq };
        try {
          const webhook = await webhookOf(tenantId);
          if (webhook === undefined) return;
          const note = (await notesFor(tenantId, event.challengeId)).get(event.seq);
          if (note === undefined) {
            throw new CaseNotePushError(`event ${event.seq} is not among the challenge's stored events`);
          }
          const keys = signingKeys(await deps.secret(tenantId));
          const id = deliveryId(tenantId, event.challengeId, event.seq);
          const message: CaseNoteMessage = { type: CASE_NOTE_EVENT_TYPE, timestamp: note.at, data: note };
          const status = await deliver(webhook, keys, id, message, clock(), timeoutMs);
          deps.log?.info("case note pushed", { ...ids, status });
          deps.metrics?.addMetric("CaseNotesPushed", "Count", 1);
        } catch (error) {
          deps.metrics?.addMetric("CaseNotePushFailures", "Count", 1);
          deps.log?.error("case-note push failed", {
            ...ids,
            errorName: error instanceof Error ? error.name : "unknown",
            // Our own messages say what went wrong without the URL or any content; others are not logged.
            errorMessage: error instanceof CaseNotePushError ? error.message : undefined,
            status: error instanceof CaseNotePushError ? error.status : undefined,
          });
          throw error;
        }
      };
    },
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

/**
 * The step the event reactor runs. TABLE_NAME (required), CASE_NOTE_WEBHOOK_SECRET_PREFIX (default
 * {@link DEFAULT_SECRET_PREFIX}) and CASE_NOTE_WEBHOOK_TIMEOUT_MS (default 5000) from the
 * environment, read on the first batch (the stores and caches live as long as the container).
 */
export const caseNoteStep: ReactionStep<EventItem> = (() => {
  let step: ReactionStep<EventItem> | undefined;
  const production = (): ReactionStep<EventItem> => {
    if (step !== undefined) return step;
    const tableName = process.env.TABLE_NAME;
    if (tableName === undefined || tableName === "") {
      throw new Error("Configuration error: TABLE_NAME is not set. The CDK stack sets it.");
    }
    const timeout = Number(process.env.CASE_NOTE_WEBHOOK_TIMEOUT_MS ?? DEFAULT_TIMEOUT_MS);
    const tenants = new TenantStore(documentClient, tableName);
    step = createCaseNoteStep({
      tenants,
      tenantVersion: (tenantId) => tenants.version(tenantId),
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
    return step;
  };
  return { name: "case-notes", begin: (context) => production().begin(context) };
})();
