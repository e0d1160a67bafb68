import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
// The stream's own marshalling, so the handler reads stream images as DynamoDB really sends them.
import { marshall } from "@aws-sdk/util-dynamodb";
import type { AttributeValue, DynamoDBRecord, DynamoDBStreamEvent } from "aws-lambda";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { caseNotesFor } from "../../../functions/case-notes/case-notes.js";
import {
  type CaseNoteMessage,
  type PushDeps,
  createCaseNoteStep,
  signingKeys,
} from "../../../functions/case-notes/push-case-notes.js";
import { react, route } from "../../../functions/reactor/reactor.js";
import { getPreset } from "../../../functions/domain/presets/index.js";
import type { StoredEvent } from "../../../functions/store/ports.js";
import { decodeEventRecord } from "../../../functions/store/stream-image.js";
import { ENTITY, keys } from "../../../functions/store/table.js";
import type { CaseNoteWebhook } from "../../../functions/store/tenant-store.js";
import { CHILD_DOB, CHILD_NAME, IRO, Story, TENANT, aForm, chain, manager } from "../audit/support.js";

/**
 * The case-note push over a stubbed global `fetch` (the receiving case-record system), with stream
 * records marshalled as DynamoDB sends them and given to the event reactor with this one step
 * (the reactor's record order and holding back are part of what is checked). The signature is checked here from the Standard
 * Webhooks rules with node:crypto, not with the module's own signing code.
 */

const nottingham = getPreset("nottingham");
const QUIET = "quiet-borough";
const WEBHOOK: CaseNoteWebhook = { url: "https://lcs.example.org/case-notes" };
const SECRET = `whsec_${randomBytes(32).toString("base64")}`;
const NOW = new Date("2026-05-27T10:00:00Z");

interface Sent {
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly body: string;
}

let sent: Sent[];
/** How the stubbed receiver answers a delivery: a status, or a thrown error; default 204. */
let answer: (sent: Sent, signal: AbortSignal | undefined) => Promise<number>;
let logs: { level: string; message: string; attributes: Record<string, unknown> }[];
let eventReads: string[];
let configReads: { tenantId: string; atVersion: number }[];
/** The tenants' configuration versions, as the version item holds them. */
let versions: Map<string, number>;

const ignore = (): void => undefined;

/** The reactor over the case-note step alone: a batch in, the partial batch response out. */
function makePushHandler(d: PushDeps) {
  const routes = [route(ENTITY.event, decodeEventRecord, [createCaseNoteStep(d)])];
  return async (event: DynamoDBStreamEvent) => {
    const { batchItemFailures } = await react(routes, event, { stepFailed: ignore, recordFailed: ignore });
    return { batchItemFailures };
  };
}

beforeEach(() => {
  sent = [];
  logs = [];
  eventReads = [];
  configReads = [];
  versions = new Map([[TENANT, 3]]);
  answer = () => Promise.resolve(204);
  vi.stubGlobal(
    "fetch",
    vi.fn(async (url: string, init: RequestInit) => {
      const request: Sent = {
        url,
        headers: init.headers as Record<string, string>,
        body: typeof init.body === "string" ? init.body : "(not a string)",
      };
      sent.push(request);
      const status = await answer(request, init.signal ?? undefined);
      return new Response(status === 204 ? null : "answer", { status });
    }),
  );
});

afterEach(() => {
  vi.unstubAllGlobals();
});

function story(id: string): Story {
  const s = new Story(nottingham, id);
  s.do({ type: "Raise", actor: IRO, channel: "api", form: aForm() }, "2026-05-21T09:00:00Z");
  s.do(
    { type: "Respond", actor: manager("team_manager", "north"), channel: "email", response: "Booked." },
    "2026-05-26T13:00:00Z",
  );
  s.do({ type: "MarkResolved", actor: IRO, channel: "api", summary: "Done." }, "2026-05-27T09:00:00Z");
  return s;
}

const one = story("ch-push-1"); // events 1-4
const two = story("ch-push-2");

function storedOf(tenantId: string, s: Story): StoredEvent[] {
  return chain(tenantId, s.events);
}

function record(stored: StoredEvent, sequenceNumber: string): DynamoDBRecord {
  const item = {
    ...keys.event(stored.tenantId, stored.event.challengeId, stored.event.seq),
    entity: ENTITY.event,
    tenantId: stored.tenantId,
    challengeId: stored.event.challengeId,
    type: stored.event.type,
    event: stored.event,
    prevHash: stored.prevHash,
    hash: stored.hash,
  };
  return {
    eventName: "INSERT",
    eventSource: "aws:dynamodb",
    dynamodb: {
      SequenceNumber: sequenceNumber,
      // The SDK's and aws-lambda's AttributeValue types describe the same JSON.
      NewImage: marshall(item, { removeUndefinedValues: true }) as Record<string, AttributeValue>,
      StreamViewType: "NEW_IMAGE",
    },
  };
}

function batch(...stored: StoredEvent[]): DynamoDBStreamEvent {
  return { Records: stored.map((s, i) => record(s, String(100 + i))) };
}

function deps(overrides: Partial<PushDeps> = {}): PushDeps {
  const stories = new Map([
    [`${TENANT}|${one.challengeId}`, one],
    [`${TENANT}|${two.challengeId}`, two],
    [`${QUIET}|${one.challengeId}`, one],
  ]);
  return {
    tenantVersion: (tenantId) => Promise.resolve(versions.get(tenantId) ?? 0),
    tenants: {
      getConfig: (tenantId, atVersion) => {
        configReads.push({ tenantId, atVersion });
        return Promise.resolve(
          tenantId === TENANT
            ? { caseNoteWebhook: WEBHOOK }
            : tenantId === QUIET
              ? { protocolId: "nottingham" }
              : undefined,
        );
      },
    },
    challenges: {
      events: (tenantId, challengeId) => {
        eventReads.push(`${tenantId}|${challengeId}`);
        const s = stories.get(`${tenantId}|${challengeId}`);
        return Promise.resolve(s === undefined ? [] : storedOf(tenantId, s));
      },
    },
    protocols: (id) => (id === "nottingham" ? nottingham : undefined),
    secret: () => Promise.resolve(SECRET),
    clock: () => NOW,
    timeoutMs: 200,
    log: {
      info: (message, attributes) => logs.push({ level: "info", message, attributes }),
      error: (message, attributes) => logs.push({ level: "error", message, attributes }),
    },
    ...overrides,
  };
}

/** Standard Webhooks verification, from its rules: HMAC-SHA256 over "id.timestamp.body", base64. */
function verifies(request: Sent, secret: string): boolean {
  const key = Buffer.from(secret.slice("whsec_".length), "base64");
  const id = request.headers["webhook-id"] ?? "";
  const timestamp = request.headers["webhook-timestamp"] ?? "";
  const expected = createHmac("sha256", key).update(`${id}.${timestamp}.${request.body}`).digest();
  return (request.headers["webhook-signature"] ?? "").split(" ").some((entry) => {
    const [version, signature] = entry.split(",");
    const given = Buffer.from(signature ?? "", "base64");
    return version === "v1" && given.length === expected.length && timingSafeEqual(given, expected);
  });
}

describe("pushing case notes to the tenant's webhook", () => {
  it("POSTs each new event's note, signed, with Idempotency-Key tenant/challenge/seq", async () => {
    const result = await makePushHandler(deps())(batch(...storedOf(TENANT, one)));
    expect(result).toEqual({ batchItemFailures: [] });
    expect(sent.map((s) => s.headers["idempotency-key"])).toEqual(
      [1, 2, 3, 4].map((n) => `${TENANT}/ch-push-1/${n}`),
    );

    const notes = caseNotesFor(one.state, one.events, nottingham);
    sent.forEach((request, i) => {
      expect(request.url).toBe(WEBHOOK.url);
      expect(request.headers["content-type"]).toBe("application/json");
      expect(request.headers["webhook-id"]).toBe(request.headers["idempotency-key"]);
      expect(request.headers["webhook-timestamp"]).toBe(String(NOW.getTime() / 1000));
      expect(verifies(request, SECRET)).toBe(true);
      const message = JSON.parse(request.body) as CaseNoteMessage;
      // The very note the pull returns for the same event.
      expect(message).toEqual({
        type: "case_note.created",
        timestamp: notes[i]?.at,
        data: JSON.parse(JSON.stringify({ ...notes[i], caseRecordId: "CR-000777" })) as unknown,
      });
      for (const forbidden of [CHILD_NAME, CHILD_DOB, "@example.org"])
        expect(request.body).not.toContain(forbidden);
    });
    // Each challenge's history is read once per batch; the configuration once per tenant, at the
    // tenant's version, so the container's cached copy answers while nothing has changed.
    expect(eventReads).toEqual([`${TENANT}|ch-push-1`]);
    expect(configReads).toEqual([{ tenantId: TENANT, atVersion: 3 }]);
  });

  it("reads the configuration at the version current for each batch", async () => {
    const push = makePushHandler(deps());
    await push(batch(...storedOf(TENANT, one).slice(0, 1)));
    versions.set(TENANT, 4); // a configuration write in between
    await push(batch(...storedOf(TENANT, one).slice(1, 2)));
    expect(configReads).toEqual([
      { tenantId: TENANT, atVersion: 3 },
      { tenantId: TENANT, atVersion: 4 },
    ]);
  });

  it("is refused by a receiver checking with another secret, or a changed body", async () => {
    await makePushHandler(deps())(batch(...storedOf(TENANT, one).slice(0, 1)));
    const [request] = sent;
    if (request === undefined) throw new Error("nothing sent");
    expect(verifies(request, `whsec_${randomBytes(32).toString("base64")}`)).toBe(false);
    expect(verifies({ ...request, body: request.body.replace("Booked", "Cancelled") + " " }, SECRET)).toBe(
      false,
    );
  });

  it("signs with both secrets while one is rotated", async () => {
    const next = `whsec_${randomBytes(32).toString("base64")}`;
    await makePushHandler(deps({ secret: () => Promise.resolve(`${next} ${SECRET}`) }))(
      batch(...storedOf(TENANT, one).slice(0, 1)),
    );
    const [request] = sent;
    if (request === undefined) throw new Error("nothing sent");
    expect(request.headers["webhook-signature"]?.split(" ")).toHaveLength(2);
    expect(verifies(request, next)).toBe(true);
    expect(verifies(request, SECRET)).toBe(true);
  });

  it("sends nothing, and reads nothing, when the tenant has no webhook configured", async () => {
    const result = await makePushHandler(deps())(batch(...storedOf(QUIET, one)));
    expect(result).toEqual({ batchItemFailures: [] });
    expect(sent).toEqual([]);
    expect(eventReads).toEqual([]);
  });

  it("skips stream records that are not new events", async () => {
    const [first] = storedOf(TENANT, one);
    if (first === undefined) throw new Error("no event");
    const modify = { ...record(first, "7"), eventName: "MODIFY" as const };
    expect(await makePushHandler(deps())({ Records: [modify] })).toEqual({ batchItemFailures: [] });
    expect(sent).toEqual([]);
  });
});

describe("failures are reported for the event source mapping to retry", () => {
  it("reports a refused delivery, holds back that challenge's later notes, lets others go ahead", async () => {
    const [a1, a2, a3] = storedOf(TENANT, one);
    const [b1, b2] = storedOf(TENANT, two);
    if (a1 === undefined || a2 === undefined || a3 === undefined || b1 === undefined || b2 === undefined) {
      throw new Error("events missing");
    }
    answer = (request) =>
      Promise.resolve(request.headers["idempotency-key"] === `${TENANT}/ch-push-1/2` ? 503 : 204);
    // Stream order: a1 (100), a2 (101), b1 (102), a3 (103), b2 (104).
    const result = await makePushHandler(deps())(batch(a1, a2, b1, a3, b2));
    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: "101" }, { itemIdentifier: "103" }] });
    const keysSent = sent.map((s) => s.headers["idempotency-key"]);
    expect(keysSent).toHaveLength(4);
    expect(new Set(keysSent)).toEqual(
      new Set([
        `${TENANT}/ch-push-1/1`,
        `${TENANT}/ch-push-1/2`,
        `${TENANT}/ch-push-2/1`,
        `${TENANT}/ch-push-2/2`,
      ]),
    );
    // a3 was never sent before a2 was delivered.
    expect(keysSent).not.toContain(`${TENANT}/ch-push-1/3`);
    const failure = logs.find((l) => l.level === "error");
    expect(failure?.attributes).toMatchObject({
      tenantId: TENANT,
      challengeId: "ch-push-1",
      seq: 2,
      status: 503,
      errorMessage: "the webhook answered 503",
    });

    // The retry starts from the checkpoint and sends the same keys again; now they are accepted.
    answer = () => Promise.resolve(200);
    sent = [];
    const retry = await makePushHandler(deps())(batch(a2, b1, a3, b2));
    expect(retry).toEqual({ batchItemFailures: [] });
    expect(sent.map((s) => s.headers["idempotency-key"]).filter((k) => k?.includes("ch-push-1"))).toEqual([
      `${TENANT}/ch-push-1/2`,
      `${TENANT}/ch-push-1/3`,
    ]);
  });

  it("reports a receiver that does not answer within the timeout", async () => {
    answer = (_, signal) =>
      new Promise((_resolve, reject) => {
        signal?.addEventListener("abort", () => {
          reject(signal.reason instanceof Error ? signal.reason : new Error("aborted"));
        });
      });
    const result = await makePushHandler(deps({ timeoutMs: 30 }))(
      batch(...storedOf(TENANT, one).slice(0, 2)),
    );
    expect(result.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(["100", "101"]);
    expect(sent).toHaveLength(1);
    expect(logs.find((l) => l.level === "error")?.attributes.errorMessage).toBe("no answer within 30 ms");
  });

  it("reports a network failure and a missing secret", async () => {
    answer = () => Promise.reject(new TypeError("fetch failed", { cause: { code: "ECONNREFUSED" } }));
    const refused = await makePushHandler(deps())(batch(...storedOf(TENANT, one).slice(0, 1)));
    expect(refused.batchItemFailures).toEqual([{ itemIdentifier: "100" }]);
    expect(logs.find((l) => l.level === "error")?.attributes.errorMessage).toBe(
      "the request failed (TypeError ECONNREFUSED)",
    );

    sent = [];
    const noSecret = await makePushHandler(
      deps({ secret: () => Promise.reject(new Error("ResourceNotFound")) }),
    )(batch(...storedOf(TENANT, one).slice(0, 1)));
    expect(noSecret.batchItemFailures).toEqual([{ itemIdentifier: "100" }]);
    expect(sent).toEqual([]);
  });

  it("logs ids and outcomes only: never the URL, the note or the secret", async () => {
    answer = () => Promise.resolve(500);
    await makePushHandler(deps())(batch(...storedOf(TENANT, one)));
    const text = JSON.stringify(logs);
    for (const forbidden of [
      "lcs.example.org",
      SECRET.slice(6, 20),
      "Core group",
      "Booked",
      CHILD_NAME,
      "CR-000777",
    ]) {
      expect(text).not.toContain(forbidden);
    }
  });
});

describe("signing keys", () => {
  it("are whsec_ secrets of 24 bytes or more, one or two", () => {
    expect(signingKeys(SECRET)).toHaveLength(1);
    expect(signingKeys(`${SECRET}  ${SECRET}\n`)).toHaveLength(2);
    expect(() => signingKeys(randomBytes(32).toString("base64"))).toThrow(/whsec_/);
    expect(() => signingKeys(`whsec_${randomBytes(16).toString("base64")}`)).toThrow(/24 bytes/);
    expect(() => signingKeys("  ")).toThrow(/empty/);
  });
});
