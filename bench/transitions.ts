/**
 * Step Functions state transitions per stage and the estimated AWS cost of one challenge, from a
 * real run: statemachines/challenge.asl.json on the local Step Functions engine, the workflow's
 * handlers in-process, DynamoDB Local as the store, the service clock moved to each wait's end.
 * One Nottingham challenge is raised and nobody answers: each of its four levels is reminded a
 * working day before its deadline and escalated at it (four escalations), until the ladder ends.
 * Counts are measured; prices are stated below with their source and date; durations are measured
 * in-process here (against DynamoDB Local, slower than DynamoDB), and are not asserted anywhere.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { GetExecutionHistoryCommand, type HistoryEvent, SFNClient } from "@aws-sdk/client-sfn";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { executeCommand } from "../functions/app/execute-command.js";
import { SfnWorkflowSignal } from "../functions/workflow/sfn-signal.js";
import { executionName, type WorkflowTaskDependencies } from "../functions/workflow/tasks.js";
import { now, setOffset } from "../functions/shared/clock.js";
import { logger } from "../functions/shared/observability.js";
import { DynamoChallengeStore } from "../functions/store/dynamo-challenge-store.js";
import { TenantStore } from "../functions/store/tenant-store.js";
import { createHandler as awaitResponseHandler } from "../functions/workflow/await-response.js";
import { createHandler as checkActionsHandler } from "../functions/workflow/check-actions.js";
import { SfnTaskCompletion, presetProtocol } from "../functions/workflow/dependencies.js";
import { createHandler as openStageHandler } from "../functions/workflow/open-stage.js";
import { createHandler as stageTimedOutHandler } from "../functions/workflow/stage-timed-out.js";
import { ensureTable, startDynamoDb } from "../local/dynamodb.js";
import { freePort } from "../local/ports.js";
import { LocalStepFunctions, type TaskHandler } from "../local/stepfunctions/engine.js";
import { startStepFunctionsServer } from "../local/stepfunctions/server.js";
import { ASL_PATH } from "../lib/workflow.js";
import { TENANT, raiseCommand, settings, staff } from "../test/unit/workflow/fakes.js";
import {
  type CapacityMeter,
  type CapacityRecord,
  capacityMeter,
  describeWrites,
  totalOf,
} from "../test/support/consumed-capacity.js";
import type { BenchFigure } from "./figures.js";

// ---------------------------------------------------------------------------------------------
// Counting transitions

/** Transitions (states entered) while each stage was the one waited on, and outside any stage. */
export interface TransitionCount {
  /** Stage id to the states entered while it was the stage waited on, in ladder order. */
  readonly perStage: ReadonlyMap<string, number>;
  /** Before the first view (the first OpenStage). */
  readonly start: number;
  /** After the last stage: the challenge finished (ladder exhausted, resolved, ...). */
  readonly finish: number;
  readonly total: number;
}

interface StageViewJson {
  readonly status?: string;
  readonly stageId?: string;
  readonly then?: StageViewJson;
}

interface StateInput {
  readonly stage?: { readonly current?: StageViewJson };
}

/**
 * The view a wait state waits on: AwaitResponse and AwaitMonitoring `$.stage.current`, the chained
 * waits (statemachines/challenge.asl.json) one `then` further each: TimerThenAwait `then`,
 * TimerThenAwait2 `then.then`, ...; undefined for a state that is not a wait.
 */
function viewWaitedOn(stateName: string, input: StateInput): StageViewJson | undefined {
  const chained = /^TimerThenAwait(\d*)$/.exec(stateName);
  const depth = chained === null ? 0 : Number(chained[1] || "1");
  if (chained === null && stateName !== "AwaitResponse" && stateName !== "AwaitMonitoring") return undefined;
  let view = input.stage?.current;
  for (let i = 0; i < depth; i++) view = view?.then;
  return view ?? {};
}

/**
 * Counts the states an execution entered and gives each to a stage: a wait state to the stage it
 * waits on; any other state to the stage of the last wait entered before it (the loop goes on from
 * that wait), or before any wait to the view it was given (`$.stage.current`); a view that is not
 * an open stage counts as the finish. Step Functions bills one state transition per state entered
 * (and per retry: a clean run has none), so the total is what the execution is billed for.
 */
export function transitionsByStage(events: readonly HistoryEvent[]): TransitionCount {
  const perStage = new Map<string, number>();
  let start = 0;
  let finish = 0;
  let lastWait: StageViewJson | undefined;
  for (const event of events) {
    const entered = event.stateEnteredEventDetails;
    if (entered === undefined) continue;
    const input = JSON.parse(entered.input ?? "{}") as StateInput;
    const waited = viewWaitedOn(entered.name ?? "", input);
    if (waited !== undefined) lastWait = waited;
    const view = waited ?? lastWait ?? input.stage?.current;
    if (view === undefined) start += 1;
    else if (view.status === "open" && view.stageId !== undefined) {
      perStage.set(view.stageId, (perStage.get(view.stageId) ?? 0) + 1);
    } else finish += 1;
  }
  const total = start + finish + [...perStage.values()].reduce((sum, n) => sum + n, 0);
  return { perStage, start, finish, total };
}

// ---------------------------------------------------------------------------------------------
// Prices (eu-west-2, Europe (London): where the service runs). USD, before the free tiers.

/** Step Functions Standard: $0.025 per 1,000 state transitions in Europe (London). aws.amazon.com/step-functions/pricing, read 2026-12-05. */
export const STEP_FUNCTIONS_PER_TRANSITION = 0.025 / 1000;
/** Lambda: $0.20 per million requests. aws.amazon.com/lambda/pricing, read 2026-12-05. */
const LAMBDA_PER_REQUEST = 0.2 / 1_000_000;
/** Lambda on Arm (lib/functions.ts: ARM_64): $0.0000133334 per GB-second, first tier. aws.amazon.com/lambda/pricing, read 2026-12-05. */
const LAMBDA_ARM_PER_GB_SECOND = 0.0000133334;
/**
 * DynamoDB on-demand: $0.625 per million write request units and $0.125 per million read request
 * units in US East since the November 2024 reduction (aws.amazon.com/dynamodb/pricing/on-demand,
 * read 2026-12-05: a write unit per started KB, two in a transaction; the US East figures checked
 * again on 2026-12-05 against airbyte.com/data-engineering-resources/dynamodb-pricing, 2025-07-21).
 * London's own figure was in neither source: it costs a little more, so we assume 20% more as an
 * upper bound. Index writes are counted as DynamoDB Local reports them, which is at a
 * transaction's rate (two units a KB) for an index entry written by a transaction: an upper bound too.
 */
const DYNAMODB_PER_WRU = (0.625 * 1.2) / 1_000_000;
const DYNAMODB_PER_RRU = (0.125 * 1.2) / 1_000_000;
/** Lambda memory (lib/functions.ts default 512 MB; the event reactor 1,024 MB: lib/reactor.ts). */
const TASK_MEMORY_GB = 512 / 1024;
const REACTOR_MEMORY_GB = 1024 / 1024;
/**
 * Assumed billed duration of one task or API invocation, warm: its handful of DynamoDB calls at a
 * few milliseconds each. The in-process time measured here is printed beside it, but runs against
 * DynamoDB Local on a shared 2-core machine and says little about Lambda.
 */
const TASK_ASSUMED_MS = 100;
/** Assumed, not measured here: the event reactor's run per committed command without email. */
const REACTOR_ASSUMED_MS = 100;
/** Assumed: the reactor reads configuration and directory once a batch (eventually consistent, <= 4 KB each). */
const REACTOR_ASSUMED_RRU = 1;
/** The issue's target for one challenge without email, four escalations. */
const COST_TARGET = 0.0005;
/** main before this change (issue 11's table): 8 transitions a stage, 35 a challenge. */
const BEFORE = { perStage: 8, total: 35 };
/** main 5076d73, before the indexes held keys only: 376 write units a challenge, ~41 a committed command. */
const BEFORE_WRITE_UNITS = { challenge: 376, perCommit: 41 };

// ---------------------------------------------------------------------------------------------
// The run

const REGION = "eu-west-2";
const ACCOUNT = "000000000000";
const lambdaArn = (name: string) => `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${name}`;

interface Invocations {
  count: Map<string, number>;
  ms: number;
  /** What DynamoDB said each invocation's calls consumed, by handler (the runs never overlap: one challenge). */
  capacity: Map<string, CapacityRecord[]>;
}

/** Wraps each task handler to count its invocations, time them and keep their DynamoDB capacity. */
function timed(
  handlers: Record<string, TaskHandler>,
  tally: Invocations,
  meter: CapacityMeter,
): Record<string, TaskHandler> {
  return Object.fromEntries(
    Object.entries(handlers).map(([arn, handler]) => [
      arn,
      async (payload: unknown) => {
        if (!arn.startsWith("arn:aws:lambda:")) return handler(payload); // SNS: not a Lambda
        const name = arn.split(":").at(-1) ?? arn;
        tally.count.set(name, (tally.count.get(name) ?? 0) + 1);
        const started = performance.now();
        const from = meter.records.length;
        try {
          return await handler(payload);
        } finally {
          tally.ms += performance.now() - started;
          const records = tally.capacity.get(name) ?? [];
          records.push(...meter.records.slice(from));
          tally.capacity.set(name, records);
        }
      },
    ]),
  );
}

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined): Promise<T> {
  const giveUp = Date.now() + 60_000;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > giveUp) throw new Error(`bench: gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export interface LadderRun {
  readonly transitions: TransitionCount;
  readonly stateNames: readonly string[];
  /** Every DynamoDB call of the challenge (the raise and the workflow's tasks) and what it consumed. */
  readonly dynamo: readonly CapacityRecord[];
  readonly invocations: Invocations;
  readonly escalations: number;
}

/** Raises one challenge and lets the timer take it up the whole ladder; returns what it cost. */
export async function climbLadder(): Promise<LadderRun> {
  logger.setLogLevel("SILENT");
  const dataDir = await mkdtemp(join(tmpdir(), "bench-transitions-"));
  const dynamoDb = await startDynamoDb({ port: await freePort(), region: REGION });
  const clientConfig = {
    endpoint: dynamoDb.endpoint,
    region: REGION,
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
  };
  const raw = new DynamoDBClient(clientConfig);
  const client = DynamoDBDocumentClient.from(raw, { marshallOptions: { removeUndefinedValues: true } });
  // The bench's own look-ups (is the task waiting yet?) go through a client that is not metered.
  const probeRaw = new DynamoDBClient(clientConfig);
  const probe = new DynamoChallengeStore(DynamoDBDocumentClient.from(probeRaw), "crs-bench");
  const tableName = "crs-bench";
  let engine: LocalStepFunctions | undefined;
  let stopServer: (() => Promise<void>) | undefined;
  let sfn: SFNClient | undefined;
  try {
    await ensureTable(dynamoDb.endpoint, REGION, tableName);
    const challenges = new DynamoChallengeStore(client, tableName);
    const tenants = new TenantStore(client, tableName, now);
    await tenants.putConfig(TENANT, { ...settings, reminders: {} });
    for (const member of staff) await tenants.upsertStaff(TENANT, member);
    const deps: WorkflowTaskDependencies = { challenges, tenants, protocols: presetProtocol, clock: now };
    const meter = capacityMeter();
    meter.attach(client); // from here on: the challenge's own calls
    const invocations: Invocations = { count: new Map(), ms: 0, capacity: new Map() };
    const late: { completion?: SfnTaskCompletion } = {};
    engine = await LocalStepFunctions.open({
      dataDir,
      region: REGION,
      accountId: ACCOUNT,
      pollIntervalMs: 5,
      log: () => undefined,
      handlers: timed(
        {
          [lambdaArn("open-stage")]: openStageHandler(() => deps),
          [lambdaArn("await-response")]: awaitResponseHandler(() => {
            if (late.completion === undefined) throw new Error("bench: not ready");
            return { ...deps, completion: late.completion };
          }),
          [lambdaArn("stage-timed-out")]: stageTimedOutHandler(() => deps),
          [lambdaArn("check-actions")]: checkActionsHandler(() => deps),
          "arn:aws:states:::sns:publish": () => Promise.resolve({}),
        },
        invocations,
        meter,
      ),
    });
    const server = await startStepFunctionsServer({ engine });
    stopServer = async () => {
      await server.stop();
    };
    sfn = new SFNClient({
      endpoint: server.endpoint,
      region: REGION,
      credentials: { accessKeyId: "local", secretAccessKey: "local" },
      maxAttempts: 1,
    });
    late.completion = new SfnTaskCompletion(sfn);
    const { stateMachineArn } = await engine.createStateMachine({
      name: "challenge",
      definition: await readFile(ASL_PATH, "utf8"),
      substitutions: {
        OpenStageFunctionArn: lambdaArn("open-stage"),
        AwaitResponseFunctionArn: lambdaArn("await-response"),
        StageTimedOutFunctionArn: lambdaArn("stage-timed-out"),
        CheckActionsFunctionArn: lambdaArn("check-actions"),
        WorkflowFailureTopicArn: `arn:aws:sns:${REGION}:${ACCOUNT}:workflow-failures`,
      },
    });

    const challengeId = "01JBENCHTRANSITIONS0000001";
    setOffset(Date.parse("2026-05-20T09:00:00Z") - Date.now());
    const workflow = new SfnWorkflowSignal({ sfn, stateMachineArn, tokens: challenges });
    const raised = await meter.during(() =>
      executeCommand({ ...deps, workflow }, TENANT, raiseCommand(challengeId)),
    );
    invocations.capacity.set("raise (API)", [...raised]);
    const executionArn = `${stateMachineArn.replace(":stateMachine:", ":execution:")}:${executionName(TENANT, challengeId)}`;
    // Each wait in turn: once its task has stored its token (it really waits for a person), move
    // the clock just past its end, until the ladder is exhausted and the execution ends.
    let previous: string | undefined;
    for (let wait = 0; wait < 40; wait++) {
      const running = engine;
      const next = await until("the next wait", async () => {
        const description = running.describeExecution(executionArn);
        if (description.status !== "RUNNING") return description.status;
        const pending = description.pendingTask;
        const stored = await probe.getTaskToken(TENANT, challengeId);
        const waiting = pending?.deadline !== undefined && pending.token !== previous;
        return waiting && stored?.token === pending.token ? pending : undefined;
      });
      if (typeof next === "string") break;
      previous = next.token;
      setOffset(Date.parse(next.deadline ?? "") + 1000 - Date.now());
    }
    const { events = [] } = await sfn.send(new GetExecutionHistoryCommand({ executionArn }));
    const stored = await probe.get(TENANT, challengeId);
    return {
      transitions: transitionsByStage(events),
      stateNames: events.flatMap((e) => e.stateEnteredEventDetails?.name ?? []),
      dynamo: [...meter.records],
      invocations,
      escalations: stored?.state.autoEscalations ?? 0,
    };
  } finally {
    setOffset(0);
    sfn?.destroy();
    await stopServer?.();
    await engine?.stop();
    client.destroy();
    probeRaw.destroy();
    await dynamoDb.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// The report

const usd = (amount: number) => `$${amount.toFixed(7)}`;
const row = (label: string, value: string, note = ""): void => {
  console.log(`${label.padEnd(58)} ${value.padStart(12)}  ${note}`);
};

/** `npm run bench`: transitions per stage and the cost of one challenge, with the arithmetic. */
export async function transitions(): Promise<BenchFigure[]> {
  console.log(
    "One Nottingham challenge raised, nobody answers: reminded and escalated at each of its four levels.",
  );
  const run = await climbLadder();
  const { transitions: t } = run;
  const stages = [...t.perStage.entries()];
  const worst = Math.max(...stages.map(([, n]) => n));
  row("transitions per stage (before: 8)", stages.map(([id, n]) => `${id} ${n}`).join(", "));
  row("transitions per stage, most", String(worst), `target <= 6; before ${BEFORE.perStage}`);
  row(
    "transitions per challenge",
    String(t.total),
    `${t.start} to start + ${stages.map(([, n]) => n).join(" + ")} + ${t.finish} to finish; before ${BEFORE.total}`,
  );
  row("  states entered", "", run.stateNames.join(" > "));

  const sfnCost = t.total * STEP_FUNCTIONS_PER_TRANSITION;
  const taskInvocations = [...run.invocations.count.values()].reduce((a, b) => a + b, 0);
  const taskMsEach = run.invocations.ms / Math.max(taskInvocations, 1);
  const dynamo = totalOf(run.dynamo);
  const callCounts = new Map<string, number>();
  for (const record of run.dynamo)
    callCounts.set(record.operation, (callCounts.get(record.operation) ?? 0) + 1);
  const commits = callCounts.get("TransactWriteItems") ?? 0;
  // The raise through the API (one invocation, timed like a task), the workflow's tasks, and the
  // event reactor once per committed command (its stream reads by Lambda are free).
  const apiInvocations = 1;
  const lambdaRequests = taskInvocations + apiInvocations + commits;
  const taskGbSeconds = (taskInvocations + apiInvocations) * (TASK_ASSUMED_MS / 1000) * TASK_MEMORY_GB;
  const reactorGbSeconds = commits * (REACTOR_ASSUMED_MS / 1000) * REACTOR_MEMORY_GB;
  const lambdaCost =
    lambdaRequests * LAMBDA_PER_REQUEST + (taskGbSeconds + reactorGbSeconds) * LAMBDA_ARM_PER_GB_SECOND;
  const readUnits = dynamo.readUnits + commits * REACTOR_ASSUMED_RRU;
  const dynamoCost = dynamo.writeUnits * DYNAMODB_PER_WRU + readUnits * DYNAMODB_PER_RRU;
  const total = sfnCost + lambdaCost + dynamoCost;

  row("escalations by the timer", String(run.escalations));
  row(
    "Step Functions Standard",
    usd(sfnCost),
    `${t.total} transitions x $0.025/1,000 (London; retries would add one each)`,
  );
  row(
    "Lambda requests",
    usd(lambdaRequests * LAMBDA_PER_REQUEST),
    `${lambdaRequests} = ${taskInvocations} tasks (${[...run.invocations.count].map(([n, c]) => `${n} ${c}`).join(", ")}) + ${apiInvocations} API + ${commits} reactor, x $0.20/M`,
  );
  row(
    "Lambda duration (Arm)",
    usd((taskGbSeconds + reactorGbSeconds) * LAMBDA_ARM_PER_GB_SECOND),
    `${taskInvocations + apiInvocations} x ${TASK_ASSUMED_MS} ms assumed (${Math.ceil(taskMsEach)} ms measured in-process) x 0.5 GB + ${commits} reactor x ${REACTOR_ASSUMED_MS} ms assumed x 1 GB = ${(taskGbSeconds + reactorGbSeconds).toFixed(3)} GB-s x $0.0000133334`,
  );
  const calls = [...callCounts].map(([n, c]) => `${n} ${c}`).join(", ");
  row(
    "DynamoDB on-demand",
    usd(dynamoCost),
    `${dynamo.writeUnits} WRU x $0.75/M + ${readUnits} RRU (${dynamo.readUnits} measured + ${commits} reactor assumed) x $0.15/M; calls: ${calls}`,
  );
  row("  write units, whole challenge", String(dynamo.writeUnits), describeWrites(run.dynamo));
  for (const [name, records] of run.invocations.capacity) {
    const invoked = name === "raise (API)" ? 1 : (run.invocations.count.get(name) ?? 0);
    const { writeUnits } = totalOf(records);
    row(`  write units, ${name} (x${invoked})`, String(writeUnits), describeWrites(records));
  }
  const transactions = run.dynamo.filter((r) => r.operation === "TransactWriteItems");
  const perCommit = totalOf(transactions).writeUnits / Math.max(transactions.length, 1);
  row(
    "  write units per committed command (transaction)",
    perCommit.toFixed(1),
    `${describeWrites(transactions)}, over ${transactions.length} transactions; before ~${BEFORE_WRITE_UNITS.perCommit} (${BEFORE_WRITE_UNITS.challenge} a challenge)`,
  );
  row(
    "DynamoDB Streams reads by Lambda, EventBridge, SNS",
    usd(0),
    "stream reads by a Lambda trigger are free; no EventBridge; SNS only on failure",
  );
  row(
    "estimated AWS cost per challenge (no email)",
    usd(total),
    `target <= ${usd(COST_TARGET)}; before ~$0.0011 (${BEFORE.total} transitions = ${usd(BEFORE.total * STEP_FUNCTIONS_PER_TRANSITION)}), then $0.00074 (${BEFORE_WRITE_UNITS.challenge} WRU)`,
  );
  // What meeting the target would take, from this run's own figures.
  const otherThanSfn = lambdaCost + dynamoCost;
  const transitionsAllowed = Math.floor((COST_TARGET - otherThanSfn) / STEP_FUNCTIONS_PER_TRANSITION);
  const dynamoAllowed = COST_TARGET - sfnCost - lambdaCost;
  row(
    "  to meet the target",
    "",
    total <= COST_TARGET
      ? "met"
      : `at most ${transitionsAllowed} transitions with DynamoDB and Lambda as they are ((${usd(COST_TARGET)} - ${usd(otherThanSfn)}) / $0.000025), ` +
          `or DynamoDB <= ${usd(dynamoAllowed)} with ${t.total} transitions (${Math.max(0, Math.floor((dynamoAllowed - readUnits * DYNAMODB_PER_RRU) / DYNAMODB_PER_WRU))} WRU for ${commits} transactions)`,
  );
  return [
    {
      figure: "Step Functions state transitions per stage",
      now: `${worst} (${t.total} a challenge)`,
      target: "<= 6",
      met: worst <= 6,
    },
    {
      figure: "DynamoDB write units per committed command",
      now: `${perCommit.toFixed(1)} (${dynamo.writeUnits} a challenge)`,
      target: "-",
    },
    {
      figure: "estimated AWS cost per challenge without email (4 escalations)",
      now: usd(total),
      target: `<= ${usd(COST_TARGET)}`,
      met: total <= COST_TARGET,
    },
  ];
}
