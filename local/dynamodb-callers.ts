/**
 * Who calls DynamoDB Local, and with what (issue 12: bench:local attributes its calls per challenge
 * to API routes, workflow tasks, stream consumers and the stream pollers themselves).
 *
 * Every handler the runtime invokes runs inside {@link asCaller} with its function's name (the
 * stream pollers with theirs), in an AsyncLocalStorage context. The AWS SDK's requests are seen
 * through Node's `http.client.request.start` diagnostics channel, which fires in the caller's own
 * async context, so a request counts against the function that made it; the pollers, which call the
 * stream API with `fetch`, report theirs with {@link noteDynamoDbCall}. Nothing in `functions/`
 * knows of it. Counting is on only while a counter is open (the bench opens one).
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import type { ClientRequest } from "node:http";

const caller = new AsyncLocalStorage<string>();
/** The commit barrier's own forwarding (it passes the caller's Host header on): never counted twice. */
const FORWARDING = "\0forwarding";

/** Runs `work` as `name`: the DynamoDB calls it makes, however deep, count against that name. */
export function asCaller<T>(name: string, work: () => T): T {
  return caller.run(name, work);
}

/** Runs `work` uncounted: the commit barrier forwarding a call that was counted when it was made. */
export function forwarding<T>(work: () => T): T {
  return caller.run(FORWARDING, work);
}

/** Calls by caller, then by operation (`Query`, `GetRecords`, ...). */
export type CallsByCaller = Readonly<Record<string, Readonly<Record<string, number>>>>;

export interface DynamoDbCallCounter {
  counts(): CallsByCaller;
  stop(): void;
}

interface Counter {
  readonly host: string;
  readonly counts: Record<string, Record<string, number>>;
}

const counters = new Set<Counter>();

/** Counts one call to the DynamoDB endpoint at `host` (`127.0.0.1:8000`) against the current caller. */
export function noteDynamoDbCall(host: string, operation: string): void {
  if (counters.size === 0) return;
  const who = caller.getStore() ?? "other";
  if (who === FORWARDING) return;
  for (const counter of counters) {
    if (counter.host !== host) continue;
    const byOperation = (counter.counts[who] ??= {});
    byOperation[operation] = (byOperation[operation] ?? 0) + 1;
  }
}

const CHANNEL = "http.client.request.start";

function onRequestStart(message: unknown): void {
  const request = (message as { request?: ClientRequest }).request;
  const target = request?.getHeader("x-amz-target");
  const host = request?.getHeader("host");
  if (typeof target !== "string" || typeof host !== "string") return;
  noteDynamoDbCall(host, target.split(".").pop() ?? target);
}

/** Starts counting calls to `endpoint` (`http://127.0.0.1:8000`) by caller, until `stop()`. */
export function countDynamoDbCalls(endpoint: string): DynamoDbCallCounter {
  const counter: Counter = { host: new URL(endpoint).host, counts: {} };
  if (counters.size === 0) subscribe(CHANNEL, onRequestStart);
  counters.add(counter);
  return {
    counts: () =>
      Object.fromEntries(Object.entries(counter.counts).map(([who, calls]) => [who, { ...calls }])),
    stop: () => {
      if (counters.delete(counter) && counters.size === 0) unsubscribe(CHANNEL, onRequestStart);
    },
  };
}
