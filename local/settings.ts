/**
 * What the local runtime deploys, and the environment its handlers see: the same variables the CDK
 * stack gives the Lambda functions (lib/functions.ts, lib/mail.ts, lib/audit.ts, lib/challenge-stack.ts),
 * plus the AWS SDK's own `AWS_ENDPOINT_URL_<SERVICE>` variables pointing at the local endpoints.
 * Handlers read them once, so {@link applyHandlerEnvironment} runs before any handler module is imported.
 *
 * The JWT issuer and audience, the mail domain and the case-record base URL come from cdk.json's
 * context, so local tokens and mail look like the synthesised stack's.
 */
import { readFileSync } from "node:fs";
import { DEMO_TENANT } from "./demo.js";
import { LOCAL_HOST, type LocalPorts } from "./ports.js";

export interface LocalSettings {
  readonly region: string;
  readonly accountId: string;
  readonly tableName: string;
  readonly stateMachineName: string;
  readonly stateMachineArn: string;
  /** Lambda function ARNs of the workflow's tasks, as substituted into the ASL. */
  readonly functionArns: {
    readonly openStage: string;
    readonly awaitResponse: string;
    readonly stageTimedOut: string;
    readonly checkActions: string;
  };
  readonly workflowFailureTopicArn: string;
  readonly auditBucket: string;
  readonly mailBucket: string;
  /** Raw inbound messages are stored under this prefix, named by message id (lib/mail.ts INBOUND_PREFIX). */
  readonly mailPrefix: string;
  readonly mailDomain: string;
  readonly mailFrom: string;
  readonly caseRecordBaseUrl: string;
  readonly jwtIssuer: string;
  readonly jwtAudience: string;
  readonly replyTokenSecretName: string;
  readonly replyTokenSecretArn: string;
  /** The audit digest signing key (local/kms.ts). */
  readonly digestKeyArn: string;
  /** The authority slug the stack is deployed for (AUTHORITY): the demo tenant's id, as tenant = authority on AWS. */
  readonly authority: string;
  /** The tenants whose reply addresses the inbound handler accepts (MAIL_TENANT_IDS). */
  readonly mailTenantIds: string;
}

interface CdkContext {
  readonly mailDomain?: unknown;
  readonly jwtIssuer?: unknown;
  readonly jwtAudience?: unknown;
  readonly caseRecordBaseUrl?: unknown;
}

function cdkContext(): CdkContext {
  try {
    const parsed = JSON.parse(readFileSync(new URL("../cdk.json", import.meta.url), "utf8")) as {
      context?: CdkContext;
    };
    return parsed.context ?? {};
  } catch {
    return {};
  }
}

function text(value: unknown, fallback: string): string {
  return typeof value === "string" && value.trim() !== "" ? value.trim() : fallback;
}

export function localSettings(): LocalSettings {
  const context = cdkContext();
  const region = "eu-west-2";
  const accountId = "000000000000";
  const stateMachineName = "challenge-resolution-local-challenge";
  const lambda = (name: string): string => `arn:aws:lambda:${region}:${accountId}:function:${name}`;
  const mailDomain = text(context.mailDomain, "challenges.council.example").toLowerCase();
  const replyTokenSecretName = "challenge-resolution-local/reply-token-key";
  return {
    region,
    accountId,
    tableName: "challenge-resolution-local",
    stateMachineName,
    stateMachineArn: `arn:aws:states:${region}:${accountId}:stateMachine:${stateMachineName}`,
    functionArns: {
      openStage: lambda("open-stage"),
      awaitResponse: lambda("await-response"),
      stageTimedOut: lambda("stage-timed-out"),
      checkActions: lambda("check-actions"),
    },
    workflowFailureTopicArn: `arn:aws:sns:${region}:${accountId}:challenge-resolution-local-workflow-failure`,
    auditBucket: "challenge-resolution-local-audit",
    mailBucket: "challenge-resolution-local-inbound-mail",
    mailPrefix: "inbound/",
    mailDomain,
    mailFrom: `challenges@${mailDomain}`,
    caseRecordBaseUrl: text(context.caseRecordBaseUrl, "https://case-records.council.example/"),
    jwtIssuer: text(context.jwtIssuer, "https://login.council.example/"),
    // The first audience of the comma-separated list the stack accepts.
    jwtAudience: text(context.jwtAudience, "api://challenge-resolution").split(",")[0]?.trim() ?? "",
    replyTokenSecretName,
    replyTokenSecretArn: `arn:aws:secretsmanager:${region}:${accountId}:secret:${replyTokenSecretName}-LOCAL1`,
    digestKeyArn: `arn:aws:kms:${region}:${accountId}:key/local-audit-digest-key`,
    authority: DEMO_TENANT,
    mailTenantIds: process.env.MAIL_TENANT_IDS ?? DEMO_TENANT,
  };
}

/** The local inbound replies queue's name (lib/mail.ts RepliesQueue). */
export const INBOUND_REPLIES_QUEUE = "challenge-resolution-local-inbound-replies";

/** The URL of a local service. */
export function localUrl(port: number): string {
  return `http://${LOCAL_HOST}:${port}`;
}

/**
 * The handlers' environment. Credentials are dummies (no local endpoint checks signatures) so a
 * developer's real AWS credentials are never sent anywhere from here.
 */
export function handlerEnvironment(settings: LocalSettings, ports: LocalPorts): Record<string, string> {
  const ses = localUrl(ports.ses);
  return {
    // The SDK's own endpoint variables: no `if (local)` in handler code.
    AWS_ENDPOINT_URL_DYNAMODB: localUrl(ports.dynamodb),
    AWS_ENDPOINT_URL_SFN: localUrl(ports.stepfunctions),
    // An IP address as the endpoint makes the SDK use path-style bucket addressing (no DNS needed).
    AWS_ENDPOINT_URL_S3: localUrl(ports.s3),
    // SES v1 ("SES") and v2 ("SESv2") clients read different variables; both go to aws-ses-v2-local.
    AWS_ENDPOINT_URL_SES: ses,
    AWS_ENDPOINT_URL_SESV2: ses,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: localUrl(ports.secrets),
    AWS_ENDPOINT_URL_KMS: localUrl(ports.kms),
    AWS_ENDPOINT_URL_SQS: localUrl(ports.sqs),
    AWS_REGION: settings.region,
    AWS_DEFAULT_REGION: settings.region,
    AWS_ACCESS_KEY_ID: "local",
    AWS_SECRET_ACCESS_KEY: "local",
    // No X-Ray daemon here (POWERTOOLS_TRACE_ENABLED is false): the X-Ray SDK's manual mode spares
    // every promise in the process its automatic-mode async hook (cls-hooked), a few % of the CPU.
    AWS_XRAY_MANUAL_MODE: "true",
    // The SDK would warn once per process that its 2027 releases need Node 22 (the lockfile pins it).
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
    // lib/challenge-stack.ts and lib/functions.ts
    TABLE_NAME: settings.tableName,
    STATE_MACHINE_ARN: settings.stateMachineArn,
    AUTHORITY: settings.authority,
    POWERTOOLS_SERVICE_NAME: "challenge-resolution",
    POWERTOOLS_METRICS_NAMESPACE: "ChallengeResolution",
    POWERTOOLS_LOGGER_LOG_EVENT: "false",
    POWERTOOLS_TRACER_CAPTURE_RESPONSE: "false",
    POWERTOOLS_TRACE_ENABLED: "false",
    // No CloudWatch here: metrics would only be EMF lines on the console.
    POWERTOOLS_METRICS_DISABLED: "true",
    // lib/mail.ts
    MAIL_DOMAIN: settings.mailDomain,
    MAIL_FROM: settings.mailFrom,
    SES_CONFIGURATION_SET: "challenge-resolution-local",
    REPLY_TOKEN_SECRET_ARN: settings.replyTokenSecretArn,
    CASE_RECORD_BASE_URL: settings.caseRecordBaseUrl,
    MAIL_TENANT_IDS: settings.mailTenantIds,
    AUTHORITY_NAME: "Demo Borough Council",
    MAIL_BUCKET: settings.mailBucket,
    MAIL_PREFIX: settings.mailPrefix,
    // The inbound replies queue (local/sqs.ts names a queue by the last segment of its URL).
    INBOUND_REPLY_QUEUE_URL: `${localUrl(ports.sqs)}/${settings.accountId}/${INBOUND_REPLIES_QUEUE}`,
    // lib/challenge-stack.ts: notifications' acknowledgement links point at the API.
    ACK_LINK_BASE_URL: localUrl(ports.api),
    // lib/audit.ts
    AUDIT_BUCKET: settings.auditBucket,
    DIGEST_KEY_ID: settings.digestKeyArn,
  };
}

/** Variables that would send handlers elsewhere (a profile, a session token, a global endpoint). */
const CLEARED = [
  "AWS_PROFILE",
  "AWS_SESSION_TOKEN",
  "AWS_ENDPOINT_URL",
  "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
  "AWS_LAMBDA_FUNCTION_NAME",
];

/**
 * Sets the handlers' environment in this process. Log level: POWERTOOLS_LOG_LEVEL if the developer
 * set it, else `logLevel`.
 */
export function applyHandlerEnvironment(environment: Record<string, string>, logLevel: string): void {
  for (const name of CLEARED) Reflect.deleteProperty(process.env, name);
  Object.assign(process.env, environment);
  process.env.POWERTOOLS_LOG_LEVEL ??= logLevel;
}
