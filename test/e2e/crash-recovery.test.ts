/**
 * The fault suite (issue 10, "nothing lost in a crash"): `npm start` (bin/local.ts) runs in a child
 * process on a data folder of its own; each round sends a burst of raises over HTTP, SIGKILLs the
 * runtime and DynamoDB Local's JVM in the middle of it, starts the runtime again on the same
 * folder, lets the outbox catch up, and checks everything acknowledged so far:
 *
 * - every raise answered 201 is there (snapshot and events);
 * - every email it called for was sent, once (per challenge, recipient and subject), except where
 *   the sender was killed between SES accepting it and its delivery record saying sent: that claim
 *   is taken over after its lease and the email goes again (counted and printed, not failed);
 * - every event of it is in the audit export, and the export's hash chain verifies.
 *
 * After a restart, time is moved on past the sending claim's lease (SENDING_LEASE_MS) on the
 * service clock, as if the 90 seconds had passed, so a claim left by the killed sender is taken
 * over at once instead of in a minute and a half.
 *
 * Rounds: CRS_FAULT_ROUNDS (default 1, about a minute on two busy cores); the issue asks for 20 in a
 * row (`CRS_FAULT_ROUNDS=20 npx vitest run test/e2e/crash-recovery.test.ts`). Loopback only.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readExportSources, verifyExport } from "../../functions/audit/verify.js";
import { SENDING_LEASE_MS } from "../../functions/mail/outbox-policy.js";
import { MAIL_OUT_SK_PREFIX } from "../../functions/mail/deliveries.js";
import { challengeReference } from "../../functions/domain/email-templates.js";
import { keys } from "../../functions/store/table.js";
import { DEMO_CHILDREN, DEMO_TENANT, raiseChallengeBody } from "../../local/demo.js";
import { type LocalPorts, PORT_SETTINGS, PORT_NAMES, freePorts } from "../../local/ports.js";
import { localSettings } from "../../local/settings.js";

const ROUNDS = Number(process.env.CRS_FAULT_ROUNDS ?? 1);
const BURST_WORKERS = 6;
const ROOT = new URL("../../", import.meta.url).pathname;

interface Acknowledged {
  readonly challengeId: string;
  readonly round: number;
}

interface StoredEmail {
  readonly destination: { readonly to?: readonly string[] };
  readonly subject: string;
}

/** The runtime as `npm start` runs it, in a child process that can be killed outright. */
class ChildRuntime {
  private child: ChildProcess | undefined;
  private output = "";
  api = "";
  token = "";

  constructor(
    readonly dataDir: string,
    readonly ports: LocalPorts,
  ) {}

  async start(): Promise<void> {
    const env: NodeJS.ProcessEnv = { ...process.env, LOCAL_DATA_DIR: this.dataDir };
    for (const name of PORT_NAMES) env[PORT_SETTINGS[name].env] = String(this.ports[name]);
    this.output = "";
    const child = spawn(process.execPath, ["--import", "tsx", join(ROOT, "bin/local.ts")], {
      cwd: ROOT,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.child = child;
    const state = { ready: false };
    const collect = (chunk: Buffer): void => {
      const text = this.output + chunk.toString("utf8");
      if (text.includes("Ready in")) state.ready = true;
      // The tail only, for errors; without the tokens the console lists.
      this.output = text.replace(/eyJ[\w.-]+/g, "<token>").slice(-8_000);
    };
    child.stdout.on("data", collect);
    child.stderr.on("data", collect);
    const deadline = Date.now() + 120_000;
    while (!state.ready) {
      if (child.exitCode !== null || child.signalCode !== null)
        throw new Error(`the runtime exited while starting:\n${this.output}`);
      if (Date.now() > deadline) throw new Error(`the runtime did not start:\n${this.output}`);
      await sleep(100);
    }
    const tokens = await readFile(join(this.dataDir, "tokens.env"), "utf8");
    this.api = /^export API=(.+)$/m.exec(tokens)?.[1] ?? "";
    this.token = /^export TOKEN_IRO=(.+)$/m.exec(tokens)?.[1] ?? "";
  }

  /** SIGKILL to the runtime and to DynamoDB Local's JVM: nothing gets to shut down. */
  async kill(order: "jvm-first" | "runtime-first"): Promise<void> {
    const jvm = Number((await readFile(join(this.dataDir, "dynamodb", "dynamodb-local.pid"), "utf8")).trim());
    const runtime = this.child?.pid;
    const targets = order === "jvm-first" ? [jvm, runtime] : [runtime, jvm];
    for (const pid of targets) {
      if (pid === undefined) continue;
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    const child = this.child;
    if (child !== undefined && child.exitCode === null && child.signalCode === null) {
      await new Promise((resolve) => child.once("exit", resolve));
    }
    this.child = undefined;
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGTERM");
    await new Promise((resolve) => child.once("exit", resolve));
  }

  async request(method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }> {
    const response = await fetch(`${this.api}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${this.token}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await response.text();
    return { status: response.status, body: text === "" ? undefined : (JSON.parse(text) as unknown) };
  }

  async emails(): Promise<StoredEmail[]> {
    const response = await fetch(`http://127.0.0.1:${this.ports.ses}/store`);
    return ((await response.json()) as { emails: StoredEmail[] }).emails;
  }
}

/** Raises until `stop` says so; returns the raises answered 201. */
async function burst(
  runtime: ChildRuntime,
  round: number,
  acknowledged: Acknowledged[],
  stop: () => boolean,
): Promise<Acknowledged[]> {
  await Promise.all(
    Array.from({ length: BURST_WORKERS }, async (_, worker) => {
      for (let i = 0; !stop(); i++) {
        const child = DEMO_CHILDREN[(worker + i) % DEMO_CHILDREN.length] ?? DEMO_CHILDREN[0];
        try {
          const response = await runtime.request("POST", "/v1/challenges", raiseChallengeBody(child));
          const id = (response.body as { challenge?: { challengeId?: string } } | undefined)?.challenge
            ?.challengeId;
          if (response.status === 201 && id !== undefined) acknowledged.push({ challengeId: id, round });
        } catch {
          // The runtime was killed under the request: not acknowledged, so nothing is owed.
          await sleep(20);
        }
      }
    }),
  );
  return acknowledged;
}

interface Findings {
  readonly missing: string[];
  readonly unsent: string[];
  /** Emails sent twice although their delivery record was never taken over: a broken claim. */
  readonly duplicates: string[];
  readonly unexported: string[];
  readonly chainProblems: string[];
  /** Emails sent again after a takeover (reported, allowed: see the README's guarantees). */
  readonly takeovers: string[];
}

async function check(runtime: ChildRuntime, acknowledged: readonly Acknowledged[]): Promise<Findings> {
  const missing: string[] = [];
  const unexported: string[] = [];
  const timelines = new Map<string, number[]>();
  for (const { challengeId } of acknowledged) {
    const response = await runtime.request("GET", `/v1/challenges/${challengeId}`);
    if (response.status !== 200) {
      missing.push(challengeId);
      continue;
    }
    const view = response.body as { timeline: { seq: number }[] };
    timelines.set(
      challengeId,
      view.timeline.map((entry) => entry.seq),
    );
  }

  const emails = await runtime.emails();
  const unsent: string[] = [];
  const duplicates: string[] = [];
  const takeovers: string[] = [];
  const counts = new Map<string, number>();
  for (const email of emails) {
    const key = `${email.subject}|${[...(email.destination.to ?? [])].sort().join(",")}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  for (const [key, count] of counts) {
    if (count < 2) continue;
    // The one documented exception to "at most once": the sender was killed after SES accepted the
    // message and before its delivery record said sent, so the lease ran out and a retry took the
    // claim over (attempts > 1) and sent it again. Any other duplicate is a fault.
    const challengeId = /CR-([0-9A-Z]+)/.exec(key)?.[1];
    if (challengeId !== undefined && (await takenOver(runtime, challengeId)))
      takeovers.push(`${key} x${count}`);
    else duplicates.push(`${key} x${count}`);
  }
  for (const { challengeId } of acknowledged) {
    const reference = challengeReference(challengeId);
    const asked = emails.some(
      (e) => e.subject.includes(reference) && e.subject.includes("needs your response"),
    );
    if (!asked) unsent.push(challengeId);
  }

  const { sources, problems } = await readExportSources([
    join(runtime.dataDir, "s3", localSettings().auditBucket, "exports"),
  ]);
  const report = verifyExport(sources);
  const exported = new Set(
    sources.flatMap((source) =>
      source.text
        .split("\n")
        .filter((line) => line.trim() !== "")
        .map((line) => {
          const parsed = JSON.parse(line) as { challengeId: string; seq: number };
          return `${parsed.challengeId}#${parsed.seq}`;
        }),
    ),
  );
  for (const [challengeId, seqs] of timelines) {
    for (const seq of seqs)
      if (!exported.has(`${challengeId}#${seq}`)) unexported.push(`${challengeId}#${seq}`);
  }
  return {
    missing,
    unsent,
    duplicates,
    unexported,
    chainProblems: [...problems, ...report.problems].map((p) => JSON.stringify(p)),
    takeovers,
  };
}

/** Whether any email of the challenge was claimed more than once (a claim taken over after its lease). */
async function takenOver(runtime: ChildRuntime, challengeId: string): Promise<boolean> {
  const client = DynamoDBDocumentClient.from(
    new DynamoDBClient({
      endpoint: `http://127.0.0.1:${runtime.ports.dynamodb}`,
      region: "eu-west-2",
      credentials: { accessKeyId: "local", secretAccessKey: "local" },
    }),
  );
  try {
    const { Items = [] } = await client.send(
      new QueryCommand({
        TableName: localSettings().tableName,
        KeyConditionExpression: "pk = :pk AND begins_with(sk, :mail)",
        ExpressionAttributeValues: {
          ":pk": keys.challengePartition(DEMO_TENANT, challengeId),
          ":mail": MAIL_OUT_SK_PREFIX,
        },
        ConsistentRead: true,
      }),
    );
    return Items.some((item) => typeof item.attempts === "number" && item.attempts > 1);
  } finally {
    client.destroy();
  }
}

const NOTHING = { missing: [], unsent: [], duplicates: [], unexported: [], chainProblems: [] };

describe(`the local runtime killed during bursts of raises (${ROUNDS} round(s))`, () => {
  let runtime: ChildRuntime;
  let dataDir: string;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "crs-fault-"));
    runtime = new ChildRuntime(dataDir, await freePorts());
    await runtime.start();
  }, 150_000);

  afterAll(async () => {
    await runtime.stop();
    await rm(dataDir, { recursive: true, force: true });
  }, 60_000);

  it(
    "loses no acknowledged raise, email or exported event, and the hash chain verifies",
    async () => {
      const acknowledged: Acknowledged[] = [];
      let takeoverTotal = 0;
      for (let round = 1; round <= ROUNDS; round++) {
        let stopping = false;
        const inBurst: Acknowledged[] = [];
        const sending = burst(runtime, round, inBurst, () => stopping);
        // Kill once the burst is well under way: some raises acknowledged, others in flight.
        const before = acknowledged.length;
        const target = 3 + (round % 5);
        const givenUp = Date.now() + 30_000;
        while (inBurst.length < target && Date.now() < givenUp) await sleep(20);
        const started = Date.now();
        await runtime.kill(round % 2 === 0 ? "runtime-first" : "jvm-first");
        stopping = true;
        const sent = await sending;
        acknowledged.push(...sent);

        await runtime.start();
        // As if the sending claim's lease had run out: claims the killed sender held are taken over.
        const advanced = await fetch(`${runtime.api}/_local/clock/advance`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ minutes: Math.ceil(SENDING_LEASE_MS / 60_000) + 1 }),
        });
        expect(advanced.status).toBe(200);

        const until = Date.now() + 90_000;
        let findings = await check(runtime, acknowledged);
        for (;;) {
          const settled =
            findings.missing.length === 0 &&
            findings.unsent.length === 0 &&
            findings.unexported.length === 0 &&
            findings.chainProblems.length === 0;
          if (settled || Date.now() > until) break;
          await sleep(1_000);
          findings = await check(runtime, acknowledged);
        }
        console.log(
          `fault round ${round}/${ROUNDS}: ${sent.length} raises acknowledged in the burst (${acknowledged.length - before} new, ${acknowledged.length} in all), restarted and settled in ${Date.now() - started} ms; missing ${findings.missing.length}, unsent ${findings.unsent.length}, duplicated ${findings.duplicates.length}, sent again after a takeover ${findings.takeovers.length}, unexported ${findings.unexported.length}, chain problems ${findings.chainProblems.length}`,
        );
        const { takeovers, ...faults } = findings;
        takeoverTotal += takeovers.length;
        expect(faults, `round ${round}`).toEqual(NOTHING);
      }
      expect(acknowledged.length).toBeGreaterThan(0);
      console.log(
        `fault suite: ${acknowledged.length} acknowledged raises, ${takeoverTotal} email(s) sent again after a takeover`,
      );
    },
    ROUNDS * 240_000,
  );
});
