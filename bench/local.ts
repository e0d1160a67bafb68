/**
 * `npm run bench:local`: the local runtime (`npm start`) at scale. For each N (default 100 and
 * 1,000; `BENCH_LOCAL_N=100,1000`), on a fresh data folder: raises N challenges on the demo
 * authority (20 at a time), moves the service clock a stage window at a time until every workflow
 * has climbed the whole ladder, waits for the stream consumers, then checks nothing was lost.
 * Prints wall time, time per challenge and its ratio between the first and last N, the reactor's
 * lag after the last workflow ended, raise p50/p99 at 20 concurrent against a bare node server
 * doing one DynamoDB Local read (same DynamoDB Local, same run), and events lost (must be 0).
 *
 * Figures only, never asserted: the machine is shared. Loopback only; every loop is bounded.
 * The runtime runs in this process (as the e2e tests run it); the client's own HTTP work shares
 * its event loop, so the figures are if anything pessimistic. Profile with
 * `BENCH_LOCAL_N=300 node --cpu-prof --cpu-prof-dir=.profiles --import tsx bench/local.ts`.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { type IncomingMessage, type ServerResponse, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { DynamoDBClient, GetItemCommand } from "@aws-sdk/client-dynamodb";
import { readExportSources } from "../functions/audit/verify.js";
import { DEMO_CHILDREN, raiseChallengeBody } from "../local/demo.js";
import { type CallsByCaller, countDynamoDbCalls } from "../local/dynamodb-callers.js";
import { freePorts } from "../local/ports.js";
import { type LocalRuntime, startLocalRuntime } from "../local/runtime.js";

const CONCURRENCY = 20;
const SIZES = (process.env.BENCH_LOCAL_N ?? "100,1000")
  .split(",")
  .map((n) => Number.parseInt(n, 10))
  .filter((n) => Number.isInteger(n) && n > 0 && n <= 10_000);
/** More clock moves than any ladder has stages (with reminders): a bound, never reached when all is well. */
const MAX_MOVES = 30;
/** How long one level may take to settle before the run is declared stuck. */
const SETTLE_LIMIT_MS = 300_000;

interface Round {
  readonly n: number;
  readonly wallMs: number;
  readonly raiseMs: number;
  readonly ladderMs: number;
  readonly moves: number;
  readonly reactorLagMs: number;
  readonly raiseLatencies: number[];
  /** 503 answers retried during the raises. */
  readonly busy: number;
  /** Workflows beyond N after the raises: a retried 503 that had in fact raised a challenge. */
  readonly extraWorkflows: number;
  readonly bareLatencies: number[];
  readonly lost: Lost;
  /** DynamoDB Local calls during the raises and the climb, by operation (the bare baseline's excluded). */
  readonly calls: Readonly<Record<string, number>>;
  /** The same calls by who made them (function, or stream poller), then by operation. */
  readonly callers: CallsByCaller;
  /** The JVM's CPU seconds over the same span (Linux only). */
  readonly jvmCpuSeconds: number | undefined;
  /** This process's CPU seconds (handlers, local services, the bench's client) over the same span. */
  readonly nodeCpuSeconds: number;
}

interface Lost {
  readonly incompleteHistories: number;
  readonly missingEmails: number;
  readonly missingExportLines: number;
  readonly unfinishedWorkflows: number;
  readonly warnings: number;
}

function line(text = ""): void {
  process.stdout.write(`${text}\n`);
}

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

/** Runs `task(i)` for i < count, `concurrency` at a time; returns each call's latency in ms. */
async function pool(
  count: number,
  concurrency: number,
  task: (i: number) => Promise<void>,
): Promise<number[]> {
  const latencies: number[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next++;
      const started = performance.now();
      await task(i);
      latencies.push(performance.now() - started);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return latencies;
}

async function json<T>(response: Response): Promise<T> {
  const text = await response.text();
  if (!response.ok) throw new Error(`${response.status} ${response.url}: ${text.slice(0, 300)}`);
  return JSON.parse(text) as T;
}

/** The baseline: a bare node HTTP server doing one DynamoDB Local GetItem per request. */
async function bareBaseline(runtime: LocalRuntime, requests: number): Promise<number[]> {
  const client = new DynamoDBClient({
    endpoint: runtime.urls.dynamodb,
    region: runtime.settings.region,
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
  });
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    request.resume();
    client
      .send(
        new GetItemCommand({
          TableName: runtime.settings.tableName,
          Key: { pk: { S: "BENCH#bare" }, sk: { S: "BENCH#bare" } },
        }),
      )
      .then(
        (result) => {
          response.writeHead(200, { "content-type": "application/json" });
          response.end(JSON.stringify({ found: result.Item !== undefined }));
        },
        (error: unknown) => {
          response.writeHead(500);
          response.end(String(error));
        },
      );
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  try {
    await pool(CONCURRENCY, CONCURRENCY, async () => {
      await json(await fetch(url, { method: "POST", body: "{}" })); // warm-up
    });
    return await pool(requests, CONCURRENCY, async () => {
      await json(await fetch(url, { method: "POST", body: "{}" }));
    });
  } finally {
    server.close();
    client.destroy();
  }
}

/** Waits until every running workflow waits for the clock or a person, and the streams are drained. */
async function settled(runtime: LocalRuntime, expectRunning?: number): Promise<void> {
  const until = Date.now() + SETTLE_LIMIT_MS;
  for (;;) {
    const { running, waiting } = runtime.workflows();
    // At least N: a raise answered 503 after it had committed, then retried, is a second challenge.
    if (running === waiting && (expectRunning === undefined || running >= expectRunning)) {
      await runtime.idle();
      const again = runtime.workflows();
      if (again.running === again.waiting && (expectRunning === undefined || again.running >= expectRunning))
        return;
    }
    if (Date.now() > until)
      throw new Error(`workflows did not settle: ${JSON.stringify(runtime.workflows())}`);
    await sleep(20);
  }
}

interface TimelineEntry {
  readonly type: string;
}
interface ChallengeView {
  readonly challenge: { readonly challengeId: string; readonly status: string };
  readonly timeline: readonly TimelineEntry[];
}

/**
 * The same ports for every round: handler modules create their SDK clients once, when first loaded,
 * with the endpoints of the first runtime (as a Lambda keeps its clients), so a second runtime on
 * other ports left them calling a stopped DynamoDB Local (every raise of the second round 503).
 */
const roundPorts = freePorts();

async function round(n: number): Promise<Round> {
  const dataDir = await mkdtemp(join(tmpdir(), "crs-bench-local-"));
  const warnings: string[] = [];
  const runtime = await startLocalRuntime({
    dataDir,
    ports: await roundPorts,
    logLevel: "ERROR",
    warn: (text) => warnings.push(text),
  });
  try {
    const api = runtime.urls.api;
    const iro = runtime.tokens.IRO ?? "";
    const headers = { authorization: `Bearer ${iro}`, "content-type": "application/json" };

    const bareLatencies = await bareBaseline(runtime, Math.max(200, Math.min(n, 1000)));

    const callsBefore = runtime.database();
    const byCaller = countDynamoDbCalls(runtime.urls.dynamodb);
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    const ids: string[] = [];
    let busy = 0;
    const raiseLatencies = await pool(n, CONCURRENCY, async (i) => {
      const child = DEMO_CHILDREN[i % DEMO_CHILDREN.length] ?? DEMO_CHILDREN[0];
      // As a client should: a 503 "busy" is retried with the same Idempotency-Key (counted, and
      // inside the measured latency).
      const key = `bench-${n}-${i}`;
      for (let attempt = 1; ; attempt++) {
        const response = await fetch(`${api}/v1/challenges`, {
          method: "POST",
          headers: { ...headers, "idempotency-key": key },
          body: JSON.stringify(raiseChallengeBody(child)),
        });
        if (response.status === 503 && attempt < 10) {
          busy += 1;
          await response.text();
          await sleep(250 * attempt);
          continue;
        }
        ids.push((await json<ChallengeView>(response)).challenge.challengeId);
        return;
      }
    });
    const raisedAt = performance.now();
    await settled(runtime, n);
    const extraWorkflows = runtime.workflows().running - n;

    // Climb: move the clock a stage window at a time until every workflow has ended.
    let moves = 0;
    let lastWorkflowEndedAt = performance.now();
    while (runtime.workflows().running > 0) {
      if (++moves > MAX_MOVES)
        throw new Error(`still ${runtime.workflows().running} workflows after ${MAX_MOVES} moves`);
      runtime.clock.advance({ workingDays: 5 });
      const until = Date.now() + SETTLE_LIMIT_MS;
      for (;;) {
        const { running, waiting } = runtime.workflows();
        if (running === 0) {
          lastWorkflowEndedAt = performance.now();
          break;
        }
        if (running === waiting) break;
        if (Date.now() > until)
          throw new Error(`level did not settle: ${JSON.stringify(runtime.workflows())}`);
        await sleep(10);
      }
      if (runtime.workflows().running > 0) await settled(runtime);
    }
    await runtime.idle();
    const finished = performance.now();
    const callsAfter = runtime.database();
    const callers = byCaller.counts();
    const cpuUsed = process.cpuUsage(cpuBefore);
    byCaller.stop();
    const calls: Record<string, number> = {};
    for (const [operation, count] of Object.entries(callsAfter.calls))
      calls[operation] = count - (callsBefore.calls[operation] ?? 0);
    const jvmCpuSeconds =
      callsAfter.cpuSeconds === undefined || callsBefore.cpuSeconds === undefined
        ? undefined
        : callsAfter.cpuSeconds - callsBefore.cpuSeconds;

    const lost = await countLost(runtime, ids, warnings);
    return {
      n,
      wallMs: finished - started,
      raiseMs: raisedAt - started,
      ladderMs: finished - raisedAt,
      moves,
      reactorLagMs: finished - lastWorkflowEndedAt,
      raiseLatencies,
      busy,
      extraWorkflows,
      bareLatencies,
      lost,
      calls,
      callers,
      jvmCpuSeconds,
      nodeCpuSeconds: (cpuUsed.user + cpuUsed.system) / 1e6,
    };
  } finally {
    await runtime.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

/** Every challenge's history complete, every email it implies sent, every event exported. */
async function countLost(
  runtime: LocalRuntime,
  ids: readonly string[],
  warnings: readonly string[],
): Promise<Lost> {
  const headers = { authorization: `Bearer ${runtime.tokens.IRO ?? ""}` };
  const views = new Map<string, ChallengeView>();
  await pool(ids.length, CONCURRENCY, async (i) => {
    const id = ids[i] ?? "";
    views.set(
      id,
      await json<ChallengeView>(await fetch(`${runtime.urls.api}/v1/challenges/${id}`, { headers })),
    );
  });
  // The whole ladder: every challenge ends where the first does, by the same steps.
  const reference = views.get(ids[0] ?? "");
  const expectedTypes = reference?.timeline.map((e) => e.type).join(",") ?? "";
  let incompleteHistories = 0;
  for (const view of views.values()) {
    const types = view.timeline.map((e) => e.type);
    const escalations = types.filter((t) => t === "Escalated").length;
    if (types.join(",") !== expectedTypes || escalations < 3 || view.challenge.status === "open")
      incompleteHistories += 1;
  }
  if (reference?.challenge.status === "open") incompleteHistories = views.size;

  // Every email: per challenge, the same number as the first challenge's, and at least one per stage opened.
  const emails = runtime.emails();
  // Challenge ids are ULIDs: each mail is matched by the ones it names (a map look-up, not a scan
  // of every mail for every id, which grows as N squared).
  const wanted = new Set(ids);
  const mailsPer = new Map<string, number>();
  for (const mail of emails) {
    const named = new Set(JSON.stringify(mail).match(/[0-9A-HJKMNP-TV-Z]{26}/g) ?? []);
    for (const id of named) if (wanted.has(id)) mailsPer.set(id, (mailsPer.get(id) ?? 0) + 1);
  }
  const expectedMails = Math.max(...ids.map((id) => mailsPer.get(id) ?? 0));
  const stagesOpened = (reference?.timeline.filter((e) => e.type === "Escalated").length ?? 0) + 1;
  let missingEmails = 0;
  for (const id of ids) missingEmails += Math.max(expectedMails, stagesOpened) - (mailsPer.get(id) ?? 0);

  // Every event in the audit export.
  const folder = join(runtime.dataDir, "s3", runtime.settings.auditBucket, "exports");
  const { sources } = await readExportSources([folder]);
  const exported = new Map<string, number>();
  for (const source of sources)
    for (const text of source.text.split("\n")) {
      if (text.trim() === "") continue;
      const { challengeId } = JSON.parse(text) as { challengeId: string };
      exported.set(challengeId, (exported.get(challengeId) ?? 0) + 1);
    }
  let missingExportLines = 0;
  for (const [id, view] of views)
    missingExportLines += Math.max(0, view.timeline.length - (exported.get(id) ?? 0));

  return {
    incompleteHistories,
    missingEmails,
    missingExportLines,
    unfinishedWorkflows: runtime.workflows().running,
    warnings: warnings.length,
  };
}

function ms(value: number): string {
  return `${value.toFixed(0)} ms`;
}

const rounds: Round[] = [];
for (const n of SIZES) {
  line(`N=${n}: raising, climbing the ladder ...`);
  const result = await round(n);
  rounds.push(result);
  const lostTotal =
    result.lost.incompleteHistories +
    result.lost.missingEmails +
    result.lost.missingExportLines +
    result.lost.unfinishedWorkflows;
  line(
    `  wall ${(result.wallMs / 1000).toFixed(1)} s (raise ${(result.raiseMs / 1000).toFixed(1)} s, ladder ${(result.ladderMs / 1000).toFixed(1)} s, ${result.moves} clock moves), ` +
      `${(result.wallMs / n).toFixed(1)} ms per challenge, reactor lag after the last workflow ${ms(result.reactorLagMs)}`,
  );
  const raiseP50 = percentile(result.raiseLatencies, 50);
  const raiseP99 = percentile(result.raiseLatencies, 99);
  const bareP50 = percentile(result.bareLatencies, 50);
  const bareP99 = percentile(result.bareLatencies, 99);
  line(
    `  POST raise at ${CONCURRENCY} concurrent: p50 ${ms(raiseP50)}, p99 ${ms(raiseP99)}; bare server + one DynamoDB Local read: p50 ${ms(bareP50)}, p99 ${ms(bareP99)}; p99 ratio ${(raiseP99 / bareP99).toFixed(1)}x; 503 busy answers retried: ${result.busy}, extra challenges they raised: ${result.extraWorkflows}`,
  );
  // Counts, not times: the same on a busy machine as on a quiet one.
  const totalCalls = Object.values(result.calls).reduce((sum, count) => sum + count, 0);
  const topCalls = Object.entries(result.calls)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 6)
    .map(([operation, count]) => `${operation} ${(count / n).toFixed(1)}`)
    .join(", ");
  line(
    `  DynamoDB Local: ${(totalCalls / n).toFixed(1)} calls per challenge (${topCalls})` +
      (result.jvmCpuSeconds === undefined
        ? ""
        : `; its JVM used ${result.jvmCpuSeconds.toFixed(1)} s of CPU, ${((1000 * result.jvmCpuSeconds) / totalCalls).toFixed(2)} ms a call`) +
      `; this process used ${result.nodeCpuSeconds.toFixed(1)} s of CPU; load average ${loadavg()
        .map((l) => l.toFixed(1))
        .join(" ")}`,
  );
  const sum = (counts: Readonly<Record<string, number>>): number =>
    Object.values(counts).reduce((total, count) => total + count, 0);
  // By caller: API routes and workflow tasks by function name, the stream consumers' handlers, the
  // pollers' own stream reads; "other" is the runtime's scheduled jobs and the bench's own reads.
  for (const [who, operations] of Object.entries(result.callers).sort((a, b) => sum(b[1]) - sum(a[1]))) {
    const total = sum(operations);
    const detail = Object.entries(operations)
      .sort((a, b) => b[1] - a[1])
      .map(([operation, count]) => `${operation} ${(count / n).toFixed(1)}`)
      .join(", ");
    line(`    ${who}: ${(total / n).toFixed(1)} (${detail})`);
  }
  line(
    `  events lost: ${lostTotal} (incomplete histories ${result.lost.incompleteHistories}, missing emails ${result.lost.missingEmails}, missing export lines ${result.lost.missingExportLines}, unfinished workflows ${result.lost.unfinishedWorkflows}); runtime warnings ${result.lost.warnings}`,
  );
}
const first = rounds[0];
const last = rounds.at(-1);
if (first && last && last !== first) {
  line(
    `time per challenge: N=${first.n} ${(first.wallMs / first.n).toFixed(1)} ms, N=${last.n} ${(last.wallMs / last.n).toFixed(1)} ms, ratio ${(last.wallMs / last.n / (first.wallMs / first.n)).toFixed(2)} (linear: ~1)`,
  );
}
