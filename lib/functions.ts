import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { CfnElement, Duration, Stack, Validations } from "aws-cdk-lib";
import { Role, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import type { IKey } from "aws-cdk-lib/aws-kms";
import {
  ApplicationLogLevel,
  Architecture,
  LoggingFormat,
  Runtime,
  SystemLogLevel,
  Tracing,
} from "aws-cdk-lib/aws-lambda";
import { SqsDestination } from "aws-cdk-lib/aws-lambda-destinations";
import {
  type BundlingOptions,
  Charset,
  LogLevel,
  NodejsFunction,
  OutputFormat,
  SourceMapMode,
} from "aws-cdk-lib/aws-lambda-nodejs";
import { LogGroup, RetentionDays } from "aws-cdk-lib/aws-logs";
import type { IQueue } from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";

/** The repository root: handler entries are given relative to it, and it holds the lockfile. */
export const PROJECT_ROOT = fileURLToPath(new URL("..", import.meta.url));

/** One runtime for every function, asserted by the infrastructure tests. */
export const LAMBDA_RUNTIME = Runtime.NODEJS_22_X;

/**
 * How a function is invoked decides where its failures go, and so which dead-letter rules apply:
 * - `api`: synchronously by API Gateway; the caller sees the error.
 * - `workflow`: synchronously by Step Functions; the state's Retry/Catch handle errors.
 * - `stream`: a DynamoDB stream event source mapping; failures go to the mapping's on-failure queue.
 * - `queue`: an SQS event source; failures go to the source queue's redrive dead-letter queue.
 * - `async`: asynchronously (SES receipt rule); failures go to the function's on-failure destination.
 */
export type InvokedBy = "api" | "workflow" | "stream" | "queue" | "async";

export interface FunctionSpec {
  /** Handler file relative to the repository root, e.g. `functions/api/respond.ts`. */
  readonly entry: string;
  readonly description: string;
  readonly invokedBy: InvokedBy;
  readonly memorySize?: number;
  readonly timeout?: Duration;
  /**
   * Reserved concurrency, where a function must be capped (a downstream rate limit, a flood of
   * inbound mail). Left unset for functions whose concurrency is bounded by their trigger.
   */
  readonly reservedConcurrency?: number;
  /** Required when `invokedBy` is `async`: receives each failed invocation with its error. */
  readonly onFailure?: IQueue;
  /**
   * Whether the bundle ships a source map that Node applies to stack traces (default true). Off only
   * for a function with next to no code of its own, where reading the map would be a large part of
   * its cold start and there is no stack worth mapping (`api/openapi`: a document and a role check).
   */
  readonly sourceMaps?: boolean;
  /**
   * Set when the function also calls endpoints outside AWS (e.g. a case-record system's webhook):
   * what it calls and why a VPC would not make that safer. It replaces the stock reason for running
   * outside a VPC, which says the function reaches AWS endpoints only.
   */
  readonly externalEgress?: string;
  readonly environment?: Readonly<Record<string, string>>;
}

export interface FunctionFactoryProps {
  /** Customer-managed key for the functions' log groups. */
  readonly logKey: IKey;
  readonly logRetention: RetentionDays;
  /** Powertools service name and metrics namespace. */
  readonly serviceName: string;
  readonly metricsNamespace: string;
  /** Variables every handler reads (shared/config.ts): TABLE_NAME, STATE_MACHINE_ARN, ... */
  readonly environment: Readonly<Record<string, string>>;
}

/**
 * esbuild options for every handler: one ESM file per function for Node.js 22 on arm64, minified,
 * with source maps. The infrastructure tests and `npm run bench` (bench/bundles.ts) bundle every entry
 * with these same options, and hold every handler's index.mjs to 300 KB.
 */
export const BUNDLING = {
  format: OutputFormat.ESM,
  target: "node22",
  mainFields: ["module", "main"],
  // Some dependencies are CommonJS and call require(): give the ESM bundle one.
  banner:
    "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
  minify: true,
  // Non-ASCII text (curly quotes, arrows, £ in templates and protocol citations) as itself, not \u escapes.
  charset: Charset.UTF8,
  sourceMap: true,
  sourceMapMode: SourceMapMode.DEFAULT,
  sourcesContent: false,
  // The Node.js 22 runtime ships AWS SDK v3.
  externalModules: ["@aws-sdk/*"],
  logLevel: LogLevel.WARNING,
} as const satisfies BundlingOptions;

const DLQ_REASONS: Record<InvokedBy, string> = {
  api: "Invoked synchronously by API Gateway: the caller receives the error; a dead-letter queue only applies to asynchronous invocations.",
  workflow:
    "Invoked synchronously by Step Functions: every Task state has Retry and a Catch to RecordWorkflowFailure; a dead-letter queue only applies to asynchronous invocations.",
  stream:
    "Invoked by a DynamoDB stream event source mapping whose on-failure destination is an SQS dead-letter queue; a function DLQ never receives stream records.",
  queue:
    "Invoked by an SQS event source: failed messages move to the source queue's redrive dead-letter queue; a function DLQ never receives them.",
  async:
    "Failed asynchronous invocations go to an SQS on-failure destination, which records the error with the event (Lambda's recommended successor to a function DLQ); an alarm fires on its first message.",
};

const CONCURRENCY_REASONS: Record<InvokedBy, string> = {
  api: "Bounded by the API stage's throttling limits; reserving concurrency for each of the API's many functions would carve up the account pool and can fail deployment in accounts with low limits.",
  workflow:
    "Bounded by its trigger: each challenge's single Step Functions execution calls it at most once at a time.",
  stream:
    "A stream event source mapping runs at most one concurrent batch per shard (parallelization factor 1), which already bounds concurrency.",
  queue:
    "Bounded by the SQS event source mapping's maximum concurrency, which Lambda honours without throttling the queue.",
  async:
    "Bounded by its asynchronous trigger; give it reserved concurrency when a flood of events could starve the API and the workflow.",
};

/**
 * A Node.js Lambda function with the project's defaults, its own encrypted log group and its own
 * role (logs write to that log group only, no managed policies). Acknowledgements for the rules
 * every function shares are made here, next to the resources, with the reason.
 */
export class ServiceFunction extends Construct {
  readonly fn: NodejsFunction;
  readonly role: Role;
  readonly logGroup: LogGroup;
  readonly invokedBy: InvokedBy;
  /** Handler file relative to the repository root. */
  readonly entry: string;
  /** Whether its bundle has a source map, applied with `--enable-source-maps` ({@link FunctionSpec}). */
  readonly sourceMaps: boolean;
  private readonly acknowledged = new Set<string>();

  constructor(scope: Construct, id: string, spec: FunctionSpec, defaults: FunctionFactoryProps) {
    super(scope, id);
    this.invokedBy = spec.invokedBy;
    this.entry = spec.entry;
    this.sourceMaps = spec.sourceMaps ?? true;
    const entry = path.join(PROJECT_ROOT, spec.entry);
    if (!existsSync(entry)) throw new Error(`Lambda entry ${spec.entry} does not exist`);
    if ((spec.invokedBy === "async") !== (spec.onFailure !== undefined)) {
      throw new Error(
        `${spec.entry}: an on-failure queue is required for, and only for, asynchronous invocation`,
      );
    }

    this.logGroup = new LogGroup(this, "Logs", {
      encryptionKey: defaults.logKey,
      retention: defaults.logRetention,
    });
    this.role = new Role(this, "Role", {
      assumedBy: new ServicePrincipal("lambda.amazonaws.com"),
      description: `Runs ${spec.entry}`,
    });
    this.logGroup.grantWrite(this.role);

    this.fn = new NodejsFunction(this, "Function", {
      entry,
      handler: "handler",
      description: spec.description,
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: path.join(PROJECT_ROOT, "package-lock.json"),
      runtime: LAMBDA_RUNTIME,
      architecture: Architecture.ARM_64,
      memorySize: spec.memorySize ?? 512,
      timeout: spec.timeout ?? Duration.seconds(10),
      role: this.role,
      logGroup: this.logGroup,
      loggingFormat: LoggingFormat.JSON,
      applicationLogLevelV2: ApplicationLogLevel.INFO,
      systemLogLevelV2: SystemLogLevel.WARN,
      tracing: Tracing.ACTIVE,
      reservedConcurrentExecutions: spec.reservedConcurrency,
      environment: {
        POWERTOOLS_SERVICE_NAME: defaults.serviceName,
        POWERTOOLS_METRICS_NAMESPACE: defaults.metricsNamespace,
        POWERTOOLS_LOG_LEVEL: "INFO",
        // Payloads carry personal data: never log events.
        POWERTOOLS_LOGGER_LOG_EVENT: "false",
        ...(this.sourceMaps ? { NODE_OPTIONS: "--enable-source-maps" } : {}),
        ...defaults.environment,
        ...spec.environment,
      },
      bundling: this.sourceMaps ? BUNDLING : { ...BUNDLING, sourceMap: false, sourceMapMode: undefined },
    });

    const pinned =
      "Pinned to nodejs22.x on purpose (DESIGN.md: Node.js 22 or later; development and CI run Node 20/22). Lambda supports it until Node 22's end of life (2027); move every function at once with LAMBDA_RUNTIME.";
    this.acknowledge("AwsSolutions-L1", pinned);
    this.acknowledge("Serverless-LambdaLatestVersion", pinned);
    this.acknowledge(
      "NIST.800.53.R5-LambdaInsideVPC",
      spec.externalEgress ??
        "The function reaches only AWS regional service endpoints (DynamoDB, Step Functions, SQS, SES, S3, KMS, Secrets Manager) over TLS with IAM authorisation; there is no private network resource to protect, and a VPC would add NAT/endpoint cost without reducing exposure.",
    );
    this.acknowledge(
      "AwsSolutions-IAM5[Resource::*]",
      "X-Ray active tracing needs xray:PutTraceSegments and xray:PutTelemetryRecords, which support no resource-level permissions" +
        (spec.invokedBy === "stream"
          ? "; so does dynamodb:ListStreams, which the stream event source mapping needs."
          : "."),
    );
    if (spec.onFailure !== undefined) {
      this.fn.configureAsyncInvoke({
        onFailure: new SqsDestination(spec.onFailure),
        retryAttempts: 2,
        maxEventAge: Duration.hours(6),
      });
      acknowledgeKmsGrant(this);
    }
    const reason = DLQ_REASONS[spec.invokedBy];
    this.acknowledge("Serverless-LambdaDLQ", reason);
    this.acknowledge("NIST.800.53.R5-LambdaDLQ", reason);
    if (spec.reservedConcurrency === undefined) {
      this.acknowledge("NIST.800.53.R5-LambdaConcurrency", CONCURRENCY_REASONS[spec.invokedBy]);
    }
  }

  /** Acknowledges one cdk-nag finding on this function (its role and policy included), once. */
  acknowledge(id: string, reason: string): void {
    if (this.acknowledged.has(id)) return;
    this.acknowledged.add(id);
    Validations.of(this).acknowledge({ id, reason });
  }
}

/** Builds {@link ServiceFunction}s with shared defaults and remembers them for alarms. */
export class FunctionFactory {
  readonly all: ServiceFunction[] = [];

  constructor(private readonly defaults: FunctionFactoryProps) {}

  create(scope: Construct, id: string, spec: FunctionSpec): ServiceFunction {
    const made = new ServiceFunction(scope, id, spec, this.defaults);
    this.all.push(made);
    return made;
  }
}

/**
 * The text cdk-nag uses for a CloudFormation reference inside an IAM finding, e.g. `<StoreTable1A2B.Arn>`,
 * so acknowledgements name the exact resource instead of every wildcard.
 */
export function nagRef(element: CfnElement, attribute?: string): string {
  const logicalId = Stack.of(element).resolve(element.logicalId) as string;
  return attribute === undefined ? `<${logicalId}>` : `<${logicalId}.${attribute}>`;
}

/** Acknowledges the wildcard KMS actions that CDK's grant helpers add for customer-managed keys. */
export function acknowledgeKmsGrant(fn: ServiceFunction): void {
  for (const action of ["kms:GenerateDataKey*", "kms:ReEncrypt*"]) {
    fn.acknowledge(
      `AwsSolutions-IAM5[Action::${action}]`,
      "Added by CDK's grants on resources encrypted with this stack's customer-managed keys; every such statement names specific key ARNs, and the wildcard only covers the variants of one KMS operation.",
    );
  }
}

export function toPascalCase(id: string): string {
  return id
    .split(/[^A-Za-z0-9]+/)
    .filter((part) => part.length > 0)
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join("");
}
