/**
 * The whole service on one machine, with no AWS account: what `npm start` runs (bin/local.ts) and
 * what the end-to-end tests start (test/e2e), so both exercise exactly the same wiring.
 *
 *   DynamoDB Local (Java, data on disk) ─ stream pollers ─▶ export-events (audit), react (workflow starts,
 *                                                            notifications, case notes)
 *   S3 (files)          ◀─ audit exports, raw inbound mail
 *   Step Functions      ─▶ open-stage, await-response, stage-timed-out, check-actions (in process)
 *   SES (aws-ses-v2-local) ◀─ notifications               SMTP ─▶ S3 + receive-email
 *   Secrets Manager     ─▶ the reply-token signing key
 *   KMS + hourly schedule ─▶ write-digests (signed audit digests, under s3/<audit bucket>/digests/)
 *   HTTP API (JWT)      ─▶ functions/api/<route>.ts, plus (no token) /, /openapi.json, /_local/...
 *
 * Handlers are the production modules, configured only through environment variables (the SDK's
 * `AWS_ENDPOINT_URL_<SERVICE>` among them): see settings.ts. Everything lives under `dataDir`:
 *
 *   dynamodb/        the DynamoDB Local database file
 *   s3/<bucket>/...  objects (audit exports under s3/<audit bucket>/exports/)
 *   stepfunctions/   state machines and executions
 *   streams/         stream checkpoints (and dead-letter files)
 *   ses/emails.ndjson  mail sent (one JSON line per message)
 *   clock.json       the service clock's offset from real time
 *   jwt-signing-key.json, reply-token-key.json   local keys, made on first start
 */
import { mkdir, readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { DynamoDBBatchResponse, DynamoDBStreamEvent, SQSBatchResponse } from "aws-lambda";
import { INBOUND_REPLY_ATTEMPTS } from "../functions/mail/inbound-reply.js";
import { REACTOR_MAX_RECORD_AGE_SECONDS, REACTOR_RETRY_ATTEMPTS } from "../functions/mail/outbox-policy.js";
import { AUDIT_STREAM_FILTERS, REACTOR_STREAM_FILTER } from "../functions/store/table.js";
import { BenchmarkStore } from "../functions/store/benchmark-store.js";
import { TenantStore } from "../functions/store/tenant-store.js";
import { type ClockAdvance, type ClockView, type LocalClock, openLocalClock } from "./clock.js";
import { DEMO_CONFIG, DEMO_IDENTITIES, DEMO_TENANT, demoBenchmarkParticipation, demoStaff } from "./demo.js";
import { ensureTable, stopOrphanedDynamoDb, superviseDynamoDb, tableStreamArn } from "./dynamodb.js";
import { type LambdaHandler, loadFunctions } from "./functions.js";
import { indexPage } from "./guide.js";
import { type HttpApi, type LocalEndpoint, startHttpApi } from "./http-api.js";
import { type TokenClaims, type TokenIssuer, loadOrCreateSigningKey, mintToken } from "./jwt.js";
import { invokeIsolated, lambdaContext, prepareConcurrentInvocations } from "./lambda-context.js";
import { LOCAL_HOST, type LocalPorts, assertPortsFree } from "./ports.js";
import { type S3Server, startS3Server } from "./s3.js";
import { type SecretsServer, replyTokenKeyRing, startSecretsServer } from "./secrets-manager.js";
import { localSigningKey, startKmsServer } from "./kms.js";
import { startSchedule } from "./schedule.js";
import { type SentEmail, type SesServer, startSesServer } from "./ses.js";
import {
  INBOUND_REPLIES_QUEUE,
  type LocalSettings,
  applyHandlerEnvironment,
  handlerEnvironment,
  localSettings,
  localUrl,
} from "./settings.js";
import { type SmtpListener, startSmtpListener } from "./smtp.js";
import { type SqsServer, startSqsServer } from "./sqs.js";
import { LocalStepFunctions } from "./stepfunctions/engine.js";
import { concurrencyLimit } from "./concurrency.js";
import { type StepFunctionsServer, startStepFunctionsServer } from "./stepfunctions/server.js";
import { asCaller } from "./dynamodb-callers.js";
import { type FilterPattern, type StreamPollers, startStreamPollers } from "./streams.js";

export interface LocalRuntimeOptions {
  /** Where everything is kept (created if missing). `npm start` uses `.local-data`. */
  readonly dataDir: string;
  readonly ports: LocalPorts;
  /** Progress lines while starting and stopping. Default: none. */
  readonly progress?: (line: string) => void;
  /** Problems the runtime itself reports (stream retries, failed workflows). Default: console.warn. */
  readonly warn?: (line: string) => void;
  /** Every handler's Powertools log level unless POWERTOOLS_LOG_LEVEL is set. Default: INFO for the API, WARN for the others. */
  readonly logLevel?: string;
  /** Load the demo authority on first start. Default true. */
  readonly seedDemo?: boolean;
  /** Idle pause of the stream pollers (ms). Default 200. */
  readonly streamPollIntervalMs?: number;
  /** Base of the stream pollers' retry back-off (ms). Default 250. */
  readonly streamRetryBaseMs?: number;
  /** Told which stream records each consumer was given successfully (tests: nothing delivered twice). */
  readonly onStreamDelivery?: (consumer: string, sequenceNumbers: readonly string[]) => void;
}

export interface LocalRuntimeUrls {
  readonly api: string;
  /** aws-ses-v2-local's page of sent mail. */
  readonly mail: string;
  /** The same mail as JSON. */
  readonly mailStore: string;
  readonly smtp: { readonly host: string; readonly port: number };
  readonly dynamodb: string;
  readonly stepfunctions: string;
  readonly s3: string;
  readonly secretsManager: string;
}

export interface LocalRuntime {
  readonly dataDir: string;
  readonly settings: LocalSettings;
  readonly urls: LocalRuntimeUrls;
  /** A bearer token per demo identity, by label (IRO, CPC, TEAM_MANAGER_NORTH, ...). */
  readonly tokens: Readonly<Record<string, string>>;
  readonly clock: {
    now(): Date;
    view(): ClockView;
    advance(by: ClockAdvance): ClockView;
  };
  /** A token with any claims (another tenant, another role); issuer and audience are the local ones. */
  mintToken(claims: TokenClaims): Promise<string>;
  /** Mail sent through the local SES so far. */
  emails(): SentEmail[];
  /**
   * Resolves when the inbound mail received so far has been handled and every stream consumer has
   * caught up with the table (for tests and scripts; workflow timers are not waited for).
   */
  idle(): Promise<void>;
  /** DynamoDB Local's load so far: calls by operation, and the JVM's CPU seconds where the OS says (bench:local). */
  database(): { readonly calls: Readonly<Record<string, number>>; readonly cpuSeconds: number | undefined };
  /** Workflow executions running, and how many wait for the clock or a person (see LocalStepFunctions.activity). */
  workflows(): { readonly running: number; readonly waiting: number };
  /** Milliseconds from the call to startLocalRuntime to ready. */
  readonly startupMs: number;
  /** What the first start did that later starts do not (for the console). */
  readonly firstStart: { readonly tableCreated: boolean; readonly demoSeeded: boolean };
  /** Stops every server and the Java process; data stays in `dataDir`. Safe to call twice. */
  stop(): Promise<void>;
}

/**
 * The two readers of the table's stream and their mappings' filters, the same data the CDK stack
 * gives them (functions/store/table.ts: lib/audit.ts and lib/reactor.ts read it too).
 */
const AUDIT_FILTERS: readonly FilterPattern[] = AUDIT_STREAM_FILTERS;
const REACTOR_FILTER: FilterPattern = REACTOR_STREAM_FILTER;

const SNS_PUBLISH = "arn:aws:states:::sns:publish";
/** Workflow handler calls in flight at once, as a Lambda concurrency limit (bench:local: 16 keeps DynamoDB Local busy, not drowned). */
const WORKFLOW_CONCURRENCY = 16;
/**
 * Concurrent batches of the event reactor, by challenge (streams.ts: ParallelizationFactor). On AWS
 * a busy table's stream has several shards, each read by its own invocation; DynamoDB Local's has
 * one, and the reactor handles a batch's records one after another: one lane ended 34 s behind the
 * last workflow at N=300 (issue 12). A challenge's records stay in order in one lane. Not more: every
 * lane's calls queue on DynamoDB Local's one queue ahead of the API's (bench:local at N=100 on a
 * busy shared machine: four lanes left the reactor 4.9 s behind where one lane was 4.0-11.4 s, and
 * raises took four times longer; see the README's performance section).
 */
const REACTOR_LANES = 2;

function elapsed(since: number): string {
  return `${((performance.now() - since) / 1000).toFixed(1)} s`;
}

/** Starts everything; on any failure stops what had started and rethrows. */
export async function startLocalRuntime(options: LocalRuntimeOptions): Promise<LocalRuntime> {
  const started = performance.now();
  const progress = options.progress ?? (() => undefined);
  const warn =
    options.warn ??
    ((line: string) => {
      console.warn(line);
    });
  const dataDir = resolve(options.dataDir);
  const { ports } = options;
  const settings = localSettings();
  await mkdir(dataDir, { recursive: true });
  // A DynamoDB Local left behind by a runtime that was killed outright still holds its port.
  await stopOrphanedDynamoDb(join(dataDir, "dynamodb"));
  await assertPortsFree(ports);

  const stops: (() => Promise<void>)[] = [];
  const stopAll = async (): Promise<void> => {
    const errors: unknown[] = [];
    for (const stop of stops.splice(0).reverse()) {
      try {
        await stop();
      } catch (error) {
        errors.push(error);
      }
    }
    if (errors.length > 0) warn(`stopping: ${errors.map(String).join("; ")}`);
  };

  try {
    const clock: LocalClock = openLocalClock(dataDir);
    stops.push(() => clock.close());

    // Before any handler module is loaded: they read their environment once, as in Lambda.
    // INFO by default, for the API's one line per request; the other functions' progress lines
    // (a few per challenge move) stay at WARN unless a level was asked for (see quietLogs below).
    const levelAskedFor = options.logLevel !== undefined || process.env.POWERTOOLS_LOG_LEVEL !== undefined;
    applyHandlerEnvironment(handlerEnvironment(settings, ports), options.logLevel ?? "INFO");
    await prepareConcurrentInvocations();
    let quietLogs: (() => void) | undefined;

    // DynamoDB Local (the JVM) is the slow part: everything else starts meanwhile.
    const dynamoStart = performance.now();
    // Supervised: should the JVM die, it is started again on the same port and data, and logged.
    const dynamoPromise = superviseDynamoDb(
      { port: ports.dynamodb, dbPath: join(dataDir, "dynamodb"), region: settings.region },
      warn,
    );
    const dynamoReady = dynamoPromise.then((running) => {
      stops.push(() => running.stop());
      progress(
        `DynamoDB Local      ${running.endpoint}  (Java, data in ${join(dataDir, "dynamodb")}) ${elapsed(dynamoStart)}`,
      );
      return running;
    });

    const others = (async () => {
      const s3: S3Server = await startS3Server({
        root: join(dataDir, "s3"),
        port: ports.s3,
        buckets: [settings.auditBucket, settings.mailBucket],
        log: (line) => {
          warn(`[s3] ${line}`);
        },
      });
      stops.push(() => s3.stop());
      progress(`S3                  ${s3.endpoint}  (objects in ${join(dataDir, "s3")})`);

      const secrets: SecretsServer = await startSecretsServer({
        port: ports.secrets,
        secrets: [
          {
            name: settings.replyTokenSecretName,
            arn: settings.replyTokenSecretArn,
            secretString: replyTokenKeyRing(join(dataDir, "reply-token-key.json")),
          },
        ],
      });
      stops.push(() => secrets.stop());
      progress(`Secrets Manager     ${secrets.endpoint}  (the reply-token signing key)`);
      const kmsKey = localSigningKey(join(dataDir, "audit-digest-key.pem"));
      const kms = await startKmsServer({
        port: ports.kms,
        keyArn: settings.digestKeyArn,
        privateKey: kmsKey,
      });
      stops.push(() => kms.stop());
      progress(
        `KMS                 ${kms.endpoint}  (the audit digest signing key, ${settings.digestKeyArn})`,
      );

      const ses: SesServer = await startSesServer({
        port: ports.ses,
        storeFile: join(dataDir, "ses", "emails.ndjson"),
      });
      stops.push(() => ses.stop());
      progress(
        `SES                 ${ses.endpoint}  (aws-ses-v2-local; ${ses.emails().length} sent mail kept)`,
      );

      const { key, created } = await loadOrCreateSigningKey(join(dataDir, "jwt-signing-key.json"));
      const issuer: TokenIssuer = { issuer: settings.jwtIssuer, audience: settings.jwtAudience, key };
      progress(
        `JWT signing key     ${created ? "created" : "loaded"} (issuer ${settings.jwtIssuer}, audience ${settings.jwtAudience})`,
      );

      const functionsStart = performance.now();
      const functions = await loadFunctions();
      // The handlers' shared logger, loaded with them: a workflow, stream or schedule invocation
      // logs at WARN in its own invocation context unless the developer chose a level.
      const { logger } = await import("../functions/shared/observability.js");
      quietLogs = levelAskedFor
        ? undefined
        : () => {
            logger.setLogLevel("WARN");
          };
      progress(
        `Handlers            ${functions.routes.size} API routes, 4 workflow tasks, event reactor, inbound mail (receive, apply), audit exporter ${elapsed(functionsStart)}`,
      );
      for (const problem of functions.problems)
        warn(`[handlers] not loaded, its invocations will fail: ${problem}`);
      return { s3, ses, issuer, functions };
    })();

    // If one side fails, wait for the other before stopping (so the JVM is not left starting).
    const [dynamoResult, otherResult] = await Promise.allSettled([dynamoReady, others]);
    if (dynamoResult.status === "rejected") throw dynamoResult.reason;
    if (otherResult.status === "rejected") throw otherResult.reason;
    const running = dynamoResult.value;
    const { ses, issuer, functions } = otherResult.value;

    const table = await ensureTable(running.endpoint, settings.region, settings.tableName);
    progress(`Table               ${settings.tableName} ${table === "created" ? "created" : "found"}`);

    let demoSeeded = false;
    if (options.seedDemo ?? true) {
      demoSeeded = await seedDemo(running.endpoint, settings);
      if (demoSeeded)
        progress(
          `Demo authority      ${DEMO_TENANT} loaded (Nottingham protocol, ${demoStaff().length} staff, two teams)`,
        );
    }

    // Step Functions: the ASL file the CDK stack deploys, the workflow's handlers in this process.
    // At most WORKFLOW_CONCURRENCY workflow handlers at once (local/concurrency.ts says why).
    const workflowSlots = concurrencyLimit(WORKFLOW_CONCURRENCY);
    const invoke = (name: string, handler: LambdaHandler) => (payload: unknown) =>
      workflowSlots(() =>
        invokeIsolated(
          handler,
          payload,
          lambdaContext(name, { region: settings.region, accountId: settings.accountId }),
          quietLogs,
        ),
      );
    const engine = await LocalStepFunctions.open({
      dataDir: join(dataDir, "stepfunctions"),
      region: settings.region,
      accountId: settings.accountId,
      handlers: {
        [settings.functionArns.openStage]: invoke("open-stage", functions.openStage),
        [settings.functionArns.awaitResponse]: invoke("await-response", functions.awaitResponse),
        [settings.functionArns.stageTimedOut]: invoke("stage-timed-out", functions.stageTimedOut),
        [settings.functionArns.checkActions]: invoke("check-actions", functions.checkActions),
        // RecordWorkflowFailure publishes to the operators' topic: locally, the console.
        [SNS_PUBLISH]: (payload) => {
          const message = (payload as { Message?: unknown } | null)?.Message;
          warn(`[workflow failure] ${typeof message === "string" ? message : JSON.stringify(payload)}`);
          return Promise.resolve({ MessageId: `local-${Date.now()}` });
        },
      },
      log: (line) => {
        warn(`[stepfunctions] ${line}`);
      },
    });
    stops.push(() => engine.stop());
    const definition = await readFile(
      new URL("../statemachines/challenge.asl.json", import.meta.url),
      "utf8",
    );
    await engine.createStateMachine({
      name: settings.stateMachineName,
      definition,
      substitutions: {
        OpenStageFunctionArn: settings.functionArns.openStage,
        AwaitResponseFunctionArn: settings.functionArns.awaitResponse,
        StageTimedOutFunctionArn: settings.functionArns.stageTimedOut,
        CheckActionsFunctionArn: settings.functionArns.checkActions,
        WorkflowFailureTopicArn: settings.workflowFailureTopicArn,
      },
      replace: true,
    });
    const sfn: StepFunctionsServer = await startStepFunctionsServer({
      engine,
      port: ports.stepfunctions,
      log: (line) => {
        warn(`[stepfunctions] ${line}`);
      },
    });
    stops.push(async () => {
      await sfn.stop();
    });
    progress(`Step Functions      ${sfn.endpoint}  (statemachines/challenge.asl.json)`);

    // The stream consumers, as the CDK event source mappings (filters and retries) configure them.
    const streamHandler =
      (name: string, handler: LambdaHandler) =>
      (event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse | undefined> =>
        invokeIsolated(
          handler,
          event,
          lambdaContext(name, { region: settings.region, accountId: settings.accountId }),
          quietLogs,
        ) as Promise<DynamoDBBatchResponse | undefined>;
    const pollers: StreamPollers = startStreamPollers({
      endpoint: running.endpoint,
      region: settings.region,
      streamArn: await tableStreamArn(running.endpoint, settings.region, settings.tableName),
      checkpointDir: join(dataDir, "streams"),
      pollIntervalMs: options.streamPollIntervalMs ?? 200,
      retryBaseMs: options.streamRetryBaseMs ?? 250,
      ...(options.onStreamDelivery === undefined ? {} : { onDelivered: options.onStreamDelivery }),
      consumers: [
        {
          name: "export-events",
          handler: streamHandler("export-events", functions.exportEvents),
          filters: AUDIT_FILTERS,
          batchSize: 100,
        },
        {
          name: "react",
          handler: streamHandler("react", functions.react),
          filters: [REACTOR_FILTER],
          batchSize: 25,
          parallelizationFactor: REACTOR_LANES,
          // As lib/reactor.ts: the record's age, not a count, ends the retries (outbox-policy.ts).
          retryAttempts: REACTOR_RETRY_ATTEMPTS,
          maxRecordAgeMs: REACTOR_MAX_RECORD_AGE_SECONDS * 1000,
        },
      ],
      log: (line) => {
        warn(`[streams] ${line}`);
      },
    });
    stops.push(() => pollers.stop());
    // EventBridge Scheduler's hourly digest run, on the service clock.
    const digestSchedule = startSchedule({
      name: "audit digests",
      every: "hour",
      task: () =>
        invokeIsolated(
          functions.writeDigests,
          {},
          lambdaContext("write-digests", { region: settings.region, accountId: settings.accountId }),
          quietLogs,
        ),
      warn,
    });
    stops.push(() => digestSchedule.stop());
    progress("Stream consumers    export-events (audit), react (workflow starts, notifications, case notes)");

    // EventBridge Scheduler's daily jobs (lib/retention.ts, lib/benchmark.ts), on the service clock.
    // Imported here, not at the top: they load handler modules, which read their environment
    // (log level, X-Ray mode) once when loaded, so only after applyHandlerEnvironment.
    const { deleteExpired } = await import("../functions/retention/delete-expired.js");
    const { publishBenchmark } = await import("../functions/reports/publish-benchmark.js");
    const tenantIds = DEMO_TENANT;
    for (const [name, task] of [
      [
        "retention",
        () => deleteExpired({ TABLE_NAME: settings.tableName, RETENTION_TENANT_IDS: tenantIds }, clock.now()),
      ],
      [
        "benchmark",
        () =>
          publishBenchmark({ TABLE_NAME: settings.tableName, BENCHMARK_TENANT_IDS: tenantIds }, clock.now()),
      ],
    ] as const) {
      // Its DynamoDB calls count against it (bench:local's calls by caller).
      const schedule = startSchedule({
        name,
        every: "london_day",
        task: async () => {
          const run: () => Promise<unknown> = task;
          await asCaller(`daily ${name}`, run);
        },
        warn,
      });
      stops.push(() => schedule.stop());
    }

    const resumed = await engine.resume();
    if (resumed > 0) progress(`Workflows           ${resumed} running execution(s) resumed`);

    // The inbound replies queue and its event source (lib/mail.ts): receive-email → apply-reply.
    const sqs: SqsServer = await startSqsServer({
      port: ports.sqs,
      accountId: settings.accountId,
      region: settings.region,
      dir: join(dataDir, "queues"),
      queues: [
        {
          name: INBOUND_REPLIES_QUEUE,
          arn: `arn:aws:sqs:${settings.region}:${settings.accountId}:${INBOUND_REPLIES_QUEUE}`,
          maxReceiveCount: INBOUND_REPLY_ATTEMPTS,
          consumer: (event) =>
            invokeIsolated(
              functions.applyReply,
              event,
              lambdaContext("apply-reply", { region: settings.region, accountId: settings.accountId }),
              quietLogs,
            ) as Promise<SQSBatchResponse | undefined>,
        },
      ],
      log: (line) => {
        warn(`[sqs] ${line}`);
      },
    });
    stops.push(() => sqs.stop());
    progress(`SQS (replies queue) ${sqs.endpoint}  (receive-email → apply-reply)`);

    const smtp: SmtpListener = await startSmtpListener({
      port: ports.smtp,
      mailDomain: settings.mailDomain,
      s3Endpoint: localUrl(ports.s3),
      region: settings.region,
      accountId: settings.accountId,
      bucket: settings.mailBucket,
      prefix: settings.mailPrefix,
      handler: functions.receiveEmail,
      log: (line) => {
        warn(`[smtp] ${line}`);
      },
    });
    stops.push(() => smtp.stop());
    progress(`SMTP (replies)      ${LOCAL_HOST}:${smtp.port}  (mail for @${settings.mailDomain})`);

    const tokens: Record<string, string> = {};
    for (const identity of DEMO_IDENTITIES) {
      tokens[identity.label] = await mintToken(issuer, {
        sub: identity.sub,
        role: identity.role,
        tenant_id: DEMO_TENANT,
        scope: identity.scopes.join(" "),
        ...(identity.role === "case_record_system" ? { client_id: identity.sub } : {}),
      });
    }

    const api: HttpApi = await startHttpApi({
      port: ports.api,
      routes: [...functions.routes.values()],
      issuer,
      region: settings.region,
      accountId: settings.accountId,
      localEndpoints: localEndpoints(clock, issuer, tokens, () => ({
        page: indexPage(
          {
            api: api.url,
            mail: ses.endpoint,
            mailStore: `${ses.endpoint}/store`,
            smtp: { host: LOCAL_HOST, port: smtp.port },
          },
          dataDir,
          clock.now(),
        ),
        apiUrl: api.url,
      })),
      log: (line) => {
        warn(`[api] ${line}`);
      },
    });
    stops.push(() => api.stop());
    progress(`HTTP API            ${api.url}`);

    let stopping: Promise<void> | undefined;
    return {
      dataDir,
      settings,
      urls: {
        api: api.url,
        mail: ses.endpoint,
        mailStore: `${ses.endpoint}/store`,
        smtp: { host: LOCAL_HOST, port: smtp.port },
        dynamodb: running.endpoint,
        stepfunctions: sfn.endpoint,
        s3: localUrl(ports.s3),
        secretsManager: localUrl(ports.secrets),
      },
      tokens,
      clock: { now: () => clock.now(), view: () => clock.view(), advance: (by) => clock.advance(by) },
      mintToken: (claims) => mintToken(issuer, claims),
      emails: () => ses.emails(),
      idle: async () => {
        await smtp.idle();
        await sqs.idle();
        await pollers.drained();
      },
      workflows: () => engine.activity(),
      database: () => ({ calls: running.calls(), cpuSeconds: running.cpuSeconds() }),
      startupMs: Math.round(performance.now() - started),
      firstStart: { tableCreated: table === "created", demoSeeded },
      stop: () => {
        stopping ??= stopAll();
        return stopping;
      },
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/** Loads the demo authority when its configuration is missing (first start); true when it did. */
async function seedDemo(endpoint: string, settings: LocalSettings): Promise<boolean> {
  const client = DynamoDBDocumentClient.from(
    new DynamoDBClient({
      endpoint,
      region: settings.region,
      credentials: { accessKeyId: "local", secretAccessKey: "local" },
    }),
    { marshallOptions: { removeUndefinedValues: true } },
  );
  try {
    const tenants = new TenantStore(client, settings.tableName);
    if ((await tenants.getConfig(DEMO_TENANT)) !== undefined) return false;
    for (const member of demoStaff()) await tenants.upsertStaff(DEMO_TENANT, member);
    await new BenchmarkStore(client, settings.tableName).putParticipation(
      DEMO_TENANT,
      demoBenchmarkParticipation(new Date()),
    );
    // The configuration last: its presence says the seed is complete.
    await tenants.putConfig(DEMO_TENANT, DEMO_CONFIG);
    return true;
  } finally {
    client.destroy();
  }
}

/**
 * The local-only paths: the index page, the OpenAPI document (no token, with this runtime as its
 * server), and `/_local/...`: the service clock, the demo tokens, the signing key's JWKS.
 */
function localEndpoints(
  clock: LocalClock,
  issuer: TokenIssuer,
  tokens: Readonly<Record<string, string>>,
  index: () => { readonly page: string; readonly apiUrl: string },
): LocalEndpoint {
  return async (method, path, body) => {
    if (path === "/" && method === "GET") {
      return { status: 200, body: index().page, contentType: "text/html; charset=utf-8" };
    }
    if (path === "/openapi.json" && method === "GET") {
      // The generated document, as the deployed GET /v1/openapi.json serves it.
      const { default: document } = await import("../docs/openapi.json", { with: { type: "json" } });
      return {
        status: 200,
        body: { ...document, servers: [{ url: index().apiUrl, description: "This machine" }] },
      };
    }
    if (path === "/_local/clock" && method === "GET") return { status: 200, body: clock.view() };
    if (path === "/_local/clock/advance" && method === "POST") {
      if (typeof body !== "object" || body === null) {
        return { status: 400, body: { message: 'Send JSON such as { "workingDays": 5 } or { "hours": 2 }' } };
      }
      try {
        const before = clock.view();
        const after = clock.advance(body as ClockAdvance);
        return { status: 200, body: { ...after, previous: before.now } };
      } catch (error) {
        if (error instanceof RangeError) return { status: 400, body: { message: error.message } };
        throw error;
      }
    }
    if (path === "/_local/tokens" && method === "GET") return { status: 200, body: tokens };
    if (path === "/_local/tokens" && method === "POST") {
      const claims = body as Partial<TokenClaims> | undefined;
      if (
        typeof claims?.sub !== "string" ||
        typeof claims.role !== "string" ||
        typeof claims.tenant_id !== "string" ||
        typeof claims.scope !== "string"
      ) {
        return {
          status: 400,
          body: { message: "Send { sub, role, tenant_id, scope } (scope space-separated)" },
        };
      }
      return { status: 201, body: { token: await mintToken(issuer, claims as TokenClaims) } };
    }
    if ((path === "/.well-known/jwks.json" || path === "/_local/jwks.json") && method === "GET") {
      return { status: 200, body: { keys: [issuer.key.publicJwk] } };
    }
    return undefined;
  };
}
