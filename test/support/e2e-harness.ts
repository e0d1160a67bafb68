/**
 * End-to-end harness: the local runtime `npm start` runs (local/runtime.ts) in a temporary data
 * folder on free ports, and small clients for what a user of it touches: the HTTP API (real HTTP,
 * real tokens), the clock endpoints, the sent-mail store of the local SES, SMTP for replies, and
 * the audit export files.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import {
  addDays,
  londonClock,
  londonDay,
  londonInstant,
  weekdayOf,
} from "../../functions/domain/london-time.js";
import { createEnglandCalendar } from "../../functions/domain/calendar.js";
import { readExportSources, verifyExport, type VerifyReport } from "../../functions/audit/verify.js";
import { type LocalPorts, freePorts } from "../../local/ports.js";
import { type LocalRuntime, startLocalRuntime } from "../../local/runtime.js";

export interface E2eRuntime {
  readonly dataDir: string;
  readonly ports: LocalPorts;
  /** What the runtime reported as a problem (stream retries, workflow failures), newest last. */
  readonly warnings: string[];
  /** Every stream record each consumer was given successfully, across restarts: `consumer` -> sequence numbers. */
  readonly deliveries: Map<string, string[]>;
  current(): LocalRuntime;
  /** Stops the runtime and starts it again on the same data folder and ports. */
  restart(): Promise<LocalRuntime>;
  /** Stops the runtime and removes the data folder. */
  dispose(): Promise<void>;
}

export async function startE2eRuntime(): Promise<E2eRuntime> {
  const dataDir = await mkdtemp(join(tmpdir(), "crs-e2e-"));
  const ports = await freePorts();
  const warnings: string[] = [];
  const deliveries = new Map<string, string[]>();
  const start = (): Promise<LocalRuntime> =>
    startLocalRuntime({
      dataDir,
      ports,
      logLevel: "ERROR",
      warn: (line) => warnings.push(line),
      // Tests poll for effects: keep the pollers brisk and the retries short.
      streamPollIntervalMs: 50,
      streamRetryBaseMs: 100,
      onStreamDelivery: (consumer, sequenceNumbers) => {
        deliveries.set(consumer, [...(deliveries.get(consumer) ?? []), ...sequenceNumbers]);
      },
    });
  let runtime = await start();
  return {
    dataDir,
    ports,
    warnings,
    deliveries,
    current: () => runtime,
    restart: async () => {
      await runtime.stop();
      runtime = await start();
      return runtime;
    },
    dispose: async () => {
      await runtime.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Polling

/** Polls `probe` every `intervalMs` until it returns something other than undefined; bounded. */
export async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 15_000,
  intervalMs = 50,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > until) {
      const detail = lastError instanceof Error ? ` (last error: ${lastError.message})` : "";
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${detail}`);
    }
    await sleep(intervalMs);
  }
}

// ---------------------------------------------------------------------------------------------
// The HTTP API

export interface ApiResponse<T = unknown> {
  readonly status: number;
  readonly headers: Headers;
  readonly body: T;
}

export async function api<T = unknown>(
  runtime: LocalRuntime,
  method: "GET" | "POST" | "PUT",
  path: string,
  token: string | undefined,
  body?: unknown,
  headers: Readonly<Record<string, string>> = {},
): Promise<ApiResponse<T>> {
  const response = await fetch(`${runtime.urls.api}${path}`, {
    method,
    headers: {
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
      ...(body === undefined ? {} : { "content-type": "application/json" }),
      ...headers,
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text === "" ? undefined : JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: response.status, headers: response.headers, body: parsed as T };
}

/**
 * `If-Match` for a configuration or directory write: the ETag of GET /v1/directory (the tenant's
 * configuration and directory version), as an integrator reads it before writing.
 */
export async function atReadVersion(runtime: LocalRuntime, token: string): Promise<{ "if-match": string }> {
  const read = await api(runtime, "GET", "/v1/directory", token);
  return { "if-match": read.headers.get("etag") ?? "" };
}

/** The service clock endpoint: `{ workingDays }`, `{ hours }`, `{ to }` ... */
export async function advanceClock(
  runtime: LocalRuntime,
  by: Record<string, unknown>,
): Promise<{ now: string }> {
  const response = await api<{ now: string; message?: string }>(
    runtime,
    "POST",
    "/_local/clock/advance",
    undefined,
    by,
  );
  if (response.status !== 200) throw new Error(`clock advance refused: ${JSON.stringify(response.body)}`);
  return response.body;
}

// ---------------------------------------------------------------------------------------------
// Dates

/**
 * The Thursday before the next late May bank holiday (the last Monday of May) that is at least a
 * week ahead of `after`, at 10:00 London. Five working days from that Thursday run over the
 * bank holiday Monday, so the deadline is the Friday of the following week.
 */
export function thursdayBeforeLateMayBankHoliday(after: Date): {
  thursday: Date;
  bankHoliday: string;
  deadline: Date;
} {
  const calendar = createEnglandCalendar();
  for (let year = londonClock(after).year; ; year++) {
    let monday = `${year}-05-31`;
    while (weekdayOf(monday) !== 1) monday = addDays(monday, -1);
    const thursday = londonInstant(addDays(monday, -4), { hour: 10, minute: 0 });
    if (thursday.getTime() < after.getTime() + 7 * 86_400_000) continue;
    const bankHoliday = monday;
    if (calendar.isWorkingDay(bankHoliday)) throw new Error(`${bankHoliday} is not a bank holiday`);
    const deadline = londonInstant(addDays(monday, 4), { hour: 17, minute: 0 });
    return { thursday, bankHoliday, deadline };
  }
}

/** The London calendar date of an instant. */
export function londonDate(iso: string | Date): string {
  return londonDay(iso);
}

// ---------------------------------------------------------------------------------------------
// The audit export

/** Verifies every export file under the audit bucket's folder (functions/audit/verify.ts, as auditors do). */
export async function auditExport(
  runtime: LocalRuntime,
): Promise<{ report: VerifyReport; lines: { challengeId: string; seq: number; type: string }[] }> {
  const folder = join(runtime.dataDir, "s3", runtime.settings.auditBucket, "exports");
  const { sources, problems } = await readExportSources([folder]);
  const report = verifyExport(sources);
  const lines = sources.flatMap((source) =>
    source.text
      .split("\n")
      .filter((line) => line.trim() !== "")
      .map((line) => JSON.parse(line) as { challengeId: string; seq: number; type: string }),
  );
  return { report: { ...report, problems: [...problems, ...report.problems] }, lines };
}
