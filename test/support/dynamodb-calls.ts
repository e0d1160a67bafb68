import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SFNClient, SendTaskSuccessCommand, StartExecutionCommand } from "@aws-sdk/client-sfn";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { spec as agreeActionPlanSpec } from "../../functions/api/agree-action-plan.js";
import { spec as escalateSpec } from "../../functions/api/escalate.js";
import {
  type ApiDependencies,
  idempotencyPersistenceFactory,
  presetProtocol,
} from "../../functions/api/http/dependencies.js";
import { createHandler } from "../../functions/api/http/middleware.js";
import { spec as markResolvedSpec } from "../../functions/api/mark-resolved.js";
import { spec as raiseSpec } from "../../functions/api/raise-challenge.js";
import { spec as respondSpec } from "../../functions/api/respond.js";
import { SfnWorkflowSignal } from "../../functions/workflow/sfn-signal.js";
import {
  type WorkflowTaskDependencies,
  awaitResponse,
  awaitWait,
  checkActions,
  executionName,
  openStage,
  stageTimedOut,
} from "../../functions/workflow/tasks.js";
import { DynamoChallengeStore } from "../../functions/store/dynamo-challenge-store.js";
import { TenantStore } from "../../functions/store/tenant-store.js";
import { FakeCompletion } from "../unit/workflow/fakes.js";
import { InMemoryGoodPractice, NOW, directoryFor, raiseBody } from "../unit/api/fakes.js";
import { TENANT, apiEvent, callers, invoke } from "./api-events.js";
import { type DynamoDbCallCounter, dynamoDbCallCounter } from "./dynamodb-call-counter.js";
import type { CapacityMeter, CapacityRecord } from "./consumed-capacity.js";

/**
 * The DynamoDB calls of each HTTP command and each workflow task, counted on DynamoDB Local with
 * the production adapters (DynamoChallengeStore, TenantStore, Powertools' idempotency layer) and a
 * Step Functions client that answers in memory. Run by the calls test (test/integration/api/
 * dynamodb-calls.test.ts), which asserts the counts, and by `npm run bench` (bench/calls.ts), which
 * prints them. One container: the configuration and directory cache is cold for the first command.
 */

export interface CallRow {
  readonly what: string;
  /** DynamoDB operations, in order. */
  readonly calls: readonly string[];
  /** What DynamoDB said each call consumed, when a capacity meter watched (bench/calls.ts). */
  readonly capacity?: readonly CapacityRecord[];
}

/** Step Functions answering in memory: what the API and the tasks send it. */
export class InMemorySfn {
  readonly sent: { name: string; input: unknown }[] = [];
  readonly client = new SFNClient({
    region: "eu-west-2",
    credentials: { accessKeyId: "x", secretAccessKey: "x" },
  });
  constructor() {
    this.client.middlewareStack.add(
      (_next, context) => (args) => {
        this.sent.push({ name: context.commandName ?? "unknown", input: args.input });
        return Promise.resolve({
          output:
            context.commandName === StartExecutionCommand.name
              ? {
                  executionArn: "arn:aws:states:eu-west-2:000000000000:execution:m:e",
                  startDate: new Date(),
                  $metadata: {},
                }
              : { $metadata: {} },
          response: {},
        });
      },
      { step: "initialize", name: "inMemorySfn" },
    );
  }
  /** The task tokens SendTaskSuccess was called with. */
  tokensSent(): string[] {
    return this.sent
      .filter((s) => s.name === SendTaskSuccessCommand.name)
      .map((s) => (s.input as { taskToken: string }).taskToken);
  }
}

export interface CallsSetup {
  readonly counter: DynamoDbCallCounter;
  readonly api: ApiDependencies;
  readonly tasks: WorkflowTaskDependencies & { readonly completion: FakeCompletion };
  readonly challenges: DynamoChallengeStore;
  /** The counted document client and the table, for tests that build their own store on them. */
  readonly documents: DynamoDBDocumentClient;
  readonly tableName: string;
  /** Another container's TenantStore (an administrator's request), not counted. */
  readonly admin: TenantStore;
  readonly sfn: InMemorySfn;
  readonly setClock: (at: Date) => void;
  destroy(): void;
}

/** Production adapters over `tableName` on DynamoDB Local, counted; the tenant configured by an administrator. */
export async function callsSetup(endpoint: string, tableName: string): Promise<CallsSetup> {
  const options = {
    endpoint,
    region: "eu-west-2",
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
  };
  const raw = new DynamoDBClient(options);
  const documents = DynamoDBDocumentClient.from(raw);
  const counter = dynamoDbCallCounter();
  counter.attach(raw);
  counter.attach(documents);
  const adminClient = DynamoDBDocumentClient.from(new DynamoDBClient(options));
  let current = NOW;
  const clock = () => new Date(current);
  const admin = new TenantStore(adminClient, tableName, clock);
  await admin.putConfig(TENANT, { protocolId: "nottingham", closureDays: [], reminders: {} });
  for (const member of directoryFor()) await admin.upsertStaff(TENANT, member);

  const challenges = new DynamoChallengeStore(documents, tableName);
  const tenants = new TenantStore(documents, tableName, clock);
  const sfn = new InMemorySfn();
  const api: ApiDependencies = {
    challenges,
    tenants,
    protocols: presetProtocol,
    workflow: new SfnWorkflowSignal({
      sfn: sfn.client,
      stateMachineArn: "arn:aws:states:eu-west-2:000000000000:stateMachine:m",
      tokens: challenges,
    }),
    clock,
    goodPractice: new InMemoryGoodPractice(),
    idempotency: idempotencyPersistenceFactory(tableName, raw),
    idempotencyTtlSeconds: 3600,
  };
  return {
    counter,
    api,
    tasks: { challenges, tenants, protocols: presetProtocol, clock, completion: new FakeCompletion() },
    challenges,
    documents,
    tableName,
    admin,
    sfn,
    setClock: (at) => {
      current = at;
    },
    destroy: () => {
      raw.destroy();
      adminClient.destroy();
      sfn.client.destroy();
    },
  };
}

interface Challenge {
  readonly challengeId: string;
  readonly version: number;
  readonly currentStage: { readonly stageId: string } | null;
}

/** Runs an API route and returns the challenge it answered with; anything but 2xx is an error. */
export async function command(
  setup: CallsSetup,
  spec: Parameters<typeof createHandler>[0],
  routeId: string,
  options: Parameters<typeof apiEvent>[1],
): Promise<Challenge> {
  const response = await invoke(createHandler(spec, setup.api), apiEvent(routeId, options));
  if (response.status >= 300)
    throw new Error(`${routeId}: ${String(response.status)} ${JSON.stringify(response.body)}`);
  return (response.body as { challenge: Challenge }).challenge;
}

const atStage = (challenge: Challenge) => challenge.currentStage?.stageId ?? "";

/**
 * The counted journey: four commands (raise cold and warm, respond to a waiting workflow, escalate,
 * resolve), a respond with an Idempotency-Key, and each workflow task on a second challenge.
 */
export async function measureCalls(setup: CallsSetup, meter?: CapacityMeter): Promise<CallRow[]> {
  const { counter, challenges } = setup;
  const rows: CallRow[] = [];
  const count = async <T>(what: string, run: () => Promise<T>): Promise<T> => {
    let result: T | undefined;
    const from = meter?.records.length ?? 0;
    const calls = await counter.during(async () => (result = await run()));
    rows.push({ what, calls, ...(meter === undefined ? {} : { capacity: meter.records.slice(from) }) });
    return result as T;
  };
  const iro = callers.iro;
  const raise = () => command(setup, raiseSpec, "raise-challenge", { caller: iro, body: raiseBody() });

  await count("raise (a cold container: the tenant's configuration is read once)", raise);
  const first = await count("raise", raise);
  // The workflow waits on the stage (AwaitResponse stored its token): respond wakes it.
  await challenges.saveTaskToken(TENANT, first.challengeId, atStage(first), "token-level-1");
  await count("respond", () =>
    command(setup, respondSpec, "respond", {
      caller: callers.teamManager,
      pathParameters: { challengeId: first.challengeId },
      body: { stageId: atStage(first), response: "A core group is booked for Thursday." },
    }),
  );
  const escalated = await count("escalate", () =>
    command(setup, escalateSpec, "escalate", {
      caller: iro,
      pathParameters: { challengeId: first.challengeId },
      body: { stageId: atStage(first), reasons: "The response does not say when the plan will be reviewed." },
    }),
  );
  await count("resolve", () =>
    command(setup, markResolvedSpec, "mark-resolved", {
      caller: iro,
      pathParameters: { challengeId: first.challengeId },
      body: { stageId: atStage(escalated), summary: "The plan was reviewed at the core group." },
    }),
  );

  const second = await raise();
  await count("respond with an Idempotency-Key", () =>
    command(setup, respondSpec, "respond", {
      caller: callers.teamManager,
      pathParameters: { challengeId: second.challengeId },
      headers: { "Idempotency-Key": "respond-second-1" },
      body: { stageId: atStage(second), response: "A core group is booked for Friday." },
    }),
  );

  // The workflow tasks, on a third challenge: one run, named as production names it.
  const third = await raise();
  const ref = {
    tenantId: TENANT,
    challengeId: third.challengeId,
    executionName: executionName(TENANT, third.challengeId),
  };
  const tasks = setup.tasks;
  const reminderWait = await count("OpenStage", () => openStage(tasks, ref));
  if (reminderWait.status !== "open") throw new Error(`expected an open stage, got ${reminderWait.status}`);
  await count("AwaitResponse", () =>
    awaitResponse(tasks, { ...ref, taskToken: "token-wait-1", stage: reminderWait }),
  );
  setup.setClock(new Date(Date.parse(reminderWait.waitUntil) + 1_000));
  await count("StageTimedOut (the reminder)", () => stageTimedOut(tasks, { ...ref, stage: reminderWait }));
  const deadlineWait = await openStage(tasks, ref);
  if (deadlineWait.status !== "open") throw new Error(`expected an open stage, got ${deadlineWait.status}`);
  setup.setClock(new Date(Date.parse(deadlineWait.waitUntil) + 1_000));
  await count("StageTimedOut (the deadline's rule)", () =>
    stageTimedOut(tasks, { ...ref, stage: deadlineWait }),
  );

  // A chained wait (TimerThenAwait) on a fourth challenge: the timer's action at the reminder time
  // (StageTimedOut's read and transaction), one read for its checks, then AwaitResponse's two calls.
  const fourth = await raise();
  const chainedRef = {
    tenantId: TENANT,
    challengeId: fourth.challengeId,
    executionName: executionName(TENANT, fourth.challengeId),
  };
  const foreseen = await openStage(tasks, chainedRef);
  const next = foreseen.status === "open" ? foreseen.then : undefined;
  if (foreseen.status !== "open" || next === undefined)
    throw new Error(`expected an open stage with its next wait, got ${foreseen.status}`);
  setup.setClock(new Date(Date.parse(foreseen.waitUntil) + 1_000));
  await count("TimerThenAwait (the reminder, then the deadline's wait)", () =>
    awaitWait(tasks, {
      ...chainedRef,
      taskToken: "token-chained-1",
      wait: "stage",
      stage: next,
      timedOut: foreseen,
    }),
  );

  const byWhen = new Date(setup.tasks.clock().getTime() + 3 * 86_400_000).toISOString().slice(0, 10);
  await command(setup, agreeActionPlanSpec, "agree-action-plan", {
    caller: iro,
    pathParameters: { challengeId: third.challengeId },
    body: { actions: [{ action: "Hold a core group", byWhen, byWhom: "Team Manager" }] },
  });
  const monitoring = await openStage(tasks, ref);
  if (monitoring.status !== "monitoring") throw new Error(`expected monitoring, got ${monitoring.status} `);
  setup.setClock(new Date(Date.parse(monitoring.nextActionDueAt) + 1_000));
  await count("CheckActions (records the actions that fell due)", () =>
    checkActions(tasks, { ...ref, dueAt: monitoring.nextActionDueAt }),
  );
  return rows;
}
