/**
 * The CDK stack, synthesized once (with cdk.json's context, as `cdk synth` does) and read back:
 * CloudFormation assertions for what no cdk-nag pack checks, then the three packs themselves.
 *
 * Lambda bundling is skipped here (`aws:cdk:bundling-stacks: []`): esbuild for ~35 handlers takes
 * a minute; `npx cdk synth` bundles them for real.
 */
import { readFileSync } from "node:fs";
import { App, type CfnElement, Validations } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import type { IConstruct } from "constructs";
import { beforeAll, describe, expect, it } from "vitest";
import cdkJson from "../../cdk.json" with { type: "json" };
import { routes } from "../../functions/api/routes.js";
import { productionApply } from "../../functions/mail/apply-reply.js";
import { productionInbound } from "../../functions/mail/receive-email.js";
import { productionOutbound } from "../../functions/mail/production.js";
import { resetConfigForTests } from "../../functions/shared/config.js";
import {
  AUDIT_STREAM_FILTERS,
  INDEXES,
  REACTOR_STREAM_FILTER,
  TABLE,
  projectionOf,
} from "../../functions/store/table.js";
import {
  type ChallengeStack,
  RUN_STARTING_ROUTES,
  buildChallengeApp,
  compliancePacks,
  settingsFromContext,
} from "../../lib/challenge-stack.js";
import { CASE_NOTE_WEBHOOK_SECRET_PREFIX, REACTOR_MAX_RECORD_AGE } from "../../lib/reactor.js";
import { REACTOR_RETRY_ATTEMPTS } from "../../functions/mail/outbox-policy.js";
import type { ServiceFunction } from "../../lib/functions.js";
import { formatSummary, summariseAssembly } from "../../bin/synth-summary.js";

type Resources = Record<
  string,
  { Type: string; Properties?: Record<string, unknown>; DeletionPolicy?: string }
>;

const context = cdkJson.context;
/** The logical id prefix of CDK's AwsCustomResource provider (one per stack, not ours to configure). */
const CDK_PROVIDER = "AWS679f53fac002430cb0da5b7982bd2287";
/**
 * Our handlers besides the API routes: four workflow tasks, the event reactor, inbound mail (the
 * receiver and the reply applier), mail delivery events, the audit exporter, the audit digest
 * writer, the retention job, the benchmark job.
 */
const OTHER_HANDLERS = 12;

let app: App;
let stack: ChallengeStack;
let template: Template;
let resources: Resources;

const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
const one = (type: string) => {
  const found = ofType(type);
  expect(found, type).toHaveLength(1);
  return found[0] as [string, Resources[string]];
};
const logicalIdOf = (construct: IConstruct): string =>
  stack.getLogicalId(construct.node.defaultChild as CfnElement);

interface Statement {
  readonly Action: string | string[];
  readonly Resource: unknown;
}
/** Every statement of the policies attached to a function's role. */
const statementsOf = (fn: ServiceFunction): Statement[] => {
  const role = logicalIdOf(fn.role);
  return ofType("AWS::IAM::Policy")
    .filter(([, p]) => JSON.stringify(p.Properties?.Roles) === JSON.stringify([{ Ref: role }]))
    .flatMap(([, p]) => (p.Properties?.PolicyDocument as { Statement: Statement[] }).Statement);
};
const actionsOf = (fn: ServiceFunction): string[] =>
  statementsOf(fn).flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]));
/** SES sends as the service's identity, through its configuration set: both named, no wildcard. */
const sesSendResources = () =>
  (["configuration-set", "identity"] as const).map((kind) => ({
    "Fn::Join": [
      "",
      [
        "arn:",
        { Ref: "AWS::Partition" },
        ":ses:",
        { Ref: "AWS::Region" },
        ":",
        { Ref: "AWS::AccountId" },
        `:${kind}/`,
        {
          Ref: logicalIdOf(kind === "identity" ? stack.mail.identity : stack.mail.configurationSet),
        },
      ],
    ],
  }));
const resourcesFor = (fn: ServiceFunction, action: string): unknown[] =>
  statementsOf(fn)
    .filter((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]).includes(action))
    .flatMap((s) => (Array.isArray(s.Resource) ? (s.Resource as unknown[]) : [s.Resource]));
const variablesOf = (fn: ServiceFunction): Record<string, unknown> =>
  (resources[logicalIdOf(fn.fn)]?.Properties?.Environment as { Variables: Record<string, unknown> })
    .Variables;

const PSEUDO_PARAMETERS: Record<string, string> = {
  "AWS::Partition": "aws",
  "AWS::Region": "eu-west-2",
  "AWS::AccountId": "123456789012",
  "AWS::URLSuffix": "amazonaws.com",
};
/** A CloudFormation value as a sample string of the shape it takes at deploy time. */
const sampleOf = (value: unknown): string => {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  const v = value as Record<string, unknown>;
  if (typeof v.Ref === "string") return PSEUDO_PARAMETERS[v.Ref] ?? `ref-${v.Ref}`;
  if (Array.isArray(v["Fn::GetAtt"])) return (v["Fn::GetAtt"] as string[]).join("-");
  if (Array.isArray(v["Fn::Join"])) {
    const [separator, parts] = v["Fn::Join"] as [string, unknown[]];
    return parts.map(sampleOf).join(separator);
  }
  throw new Error(`no sample for ${JSON.stringify(value)}`);
};
/**
 * Builds a handler module's production dependencies (its own wiring, which reads and checks every
 * variable it needs) with the environment the stack gives the function. Creates clients, calls nothing.
 */
const wiredWith = <T>(fn: ServiceFunction, build: () => T): T => {
  const variables = Object.fromEntries(Object.entries(variablesOf(fn)).map(([k, v]) => [k, sampleOf(v)]));
  const saved = { ...process.env };
  try {
    Object.assign(process.env, variables);
    resetConfigForTests();
    return build();
  } finally {
    for (const key of Object.keys(variables)) {
      if (saved[key] === undefined) Reflect.deleteProperty(process.env, key);
      else process.env[key] = saved[key];
    }
    resetConfigForTests();
  }
};

beforeAll(() => {
  const started = performance.now();
  app = new App({ context: { ...context, "aws:cdk:bundling-stacks": [] } });
  stack = buildChallengeApp(app);
  template = Template.fromStack(stack);
  resources = template.toJSON().Resources as Resources;
  console.info(
    `synthesized ${Object.keys(resources).length} resources in ${Math.round(performance.now() - started)} ms`,
  );
}, 180_000);

describe("store", () => {
  it("encrypts with customer-managed keys that rotate", () => {
    const keys = ofType("AWS::KMS::Key");
    expect(keys.length).toBeGreaterThanOrEqual(4);
    for (const [, key] of keys) {
      // KMS rotates symmetric keys only; the audit digest signing key is asymmetric (tested below).
      if (key.Properties?.KeySpec === undefined) expect(key.Properties?.EnableKeyRotation).toBe(true);
      expect(key.DeletionPolicy).toBe("Retain");
    }
    template.hasResourceProperties("AWS::DynamoDB::Table", {
      SSESpecification: {
        SSEEnabled: true,
        SSEType: "KMS",
        KMSMasterKeyId: { "Fn::GetAtt": [logicalIdOf(stack.store.key), "Arn"] },
      },
    });
  });

  it("is the table of functions/store/table.ts: keys, on-demand, stream, TTL", () => {
    template.hasResourceProperties("AWS::DynamoDB::Table", {
      KeySchema: [
        { AttributeName: TABLE.partitionKey, KeyType: "HASH" },
        { AttributeName: TABLE.sortKey, KeyType: "RANGE" },
      ],
      BillingMode: TABLE.billingMode,
      StreamSpecification: { StreamViewType: TABLE.streamViewType },
      TimeToLiveSpecification: { AttributeName: TABLE.ttlAttribute, Enabled: true },
    });
  });

  it("has exactly the GSIs of functions/store/table.ts, projecting keys only or the attributes named there", () => {
    const [, table] = one("AWS::DynamoDB::Table");
    const gsis = table.Properties?.GlobalSecondaryIndexes as { IndexName: string }[];
    expect(gsis.map((g) => g.IndexName).sort()).toEqual(
      Object.values(INDEXES)
        .map((i) => i.name)
        .sort(),
    );
    for (const index of Object.values(INDEXES)) {
      expect(gsis).toContainEqual({
        IndexName: index.name,
        KeySchema: [
          { AttributeName: index.partitionKey, KeyType: "HASH" },
          { AttributeName: index.sortKey, KeyType: "RANGE" },
        ],
        Projection: projectionOf(index),
      });
    }
    // Never ALL: a tray reads snapshots by key, so a whole copy in an index is paid for on every write.
    expect(
      gsis.map((g) => (g as { Projection?: { ProjectionType?: string } }).Projection?.ProjectionType),
    ).not.toContain("ALL");
  });

  it("keeps the data: point-in-time recovery, deletion protection, retained, backed up", () => {
    template.hasResource("AWS::DynamoDB::Table", {
      DeletionPolicy: "Retain",
      UpdateReplacePolicy: "Retain",
      Properties: Match.objectLike({
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        DeletionProtectionEnabled: true,
      }),
    });
    template.resourceCountIs("AWS::Backup::BackupSelection", 1);
  });

  it("grants no handler dynamodb:Scan (work trays are index queries)", () => {
    expect(JSON.stringify(ofType("AWS::IAM::Policy"))).not.toContain("dynamodb:Scan");
  });
});

describe("audit", () => {
  it("writes to a versioned, KMS-encrypted bucket under Object Lock in COMPLIANCE mode", () => {
    template.hasResourceProperties("AWS::S3::Bucket", {
      ObjectLockEnabled: true,
      ObjectLockConfiguration: {
        ObjectLockEnabled: "Enabled",
        Rule: { DefaultRetention: { Mode: "COMPLIANCE", Days: context.auditRetentionDays } },
      },
      VersioningConfiguration: { Status: "Enabled" },
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [
          {
            ServerSideEncryptionByDefault: {
              SSEAlgorithm: "aws:kms",
              KMSMasterKeyID: { "Fn::GetAtt": [logicalIdOf(stack.audit.key), "Arn"] },
            },
            BucketKeyEnabled: true,
          },
        ],
      },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      LoggingConfiguration: {
        DestinationBucketName: { Ref: logicalIdOf(stack.audit.accessLogBucket) },
        LogFilePrefix: "audit/",
      },
    });
  });

  it("denies every bucket request without TLS", () => {
    for (const [, policy] of ofType("AWS::S3::BucketPolicy")) {
      expect(JSON.stringify(policy.Properties)).toContain('"aws:SecureTransport":"false"');
    }
    expect(ofType("AWS::S3::BucketPolicy")).toHaveLength(ofType("AWS::S3::Bucket").length);
  });

  it("reads the stream only (backfill is a command-line tool), and writes new objects only", () => {
    const actions = actionsOf(stack.audit.exporter);
    expect(actions).toEqual(
      expect.arrayContaining(["dynamodb:GetRecords", "s3:PutObject", "s3:PutObjectRetention"]),
    );
    for (const action of ["dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem", "s3:GetObject"]) {
      expect(actions).not.toContain(action);
    }
  });

  it("exports event items and finished retention tombstones only, with bisect, retries and an on-failure queue", () => {
    template.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
      FunctionName: { Ref: logicalIdOf(stack.audit.exporter.fn) },
      FilterCriteria: {
        Filters: AUDIT_STREAM_FILTERS.map((pattern) => ({ Pattern: JSON.stringify(pattern) })),
      },
      StartingPosition: "TRIM_HORIZON",
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: 10,
      FunctionResponseTypes: ["ReportBatchItemFailures"],
      DestinationConfig: {
        OnFailure: { Destination: { "Fn::GetAtt": [logicalIdOf(stack.audit.deadLetterQueue), "Arn"] } },
      },
    });
  });
});

describe("audit digests", () => {
  const keyPolicy = (): {
    Statement: {
      Sid?: string;
      Effect: string;
      Principal: unknown;
      Action: string | string[];
      Condition?: unknown;
    }[];
  } => resources[logicalIdOf(stack.audit.digestKey)]?.Properties?.KeyPolicy as never;
  const actions = (s: { Action: string | string[] }): string[] =>
    Array.isArray(s.Action) ? s.Action : [s.Action];

  it("signs with an asymmetric P-256 key kept", () => {
    template.hasResource("AWS::KMS::Key", {
      Properties: Match.objectLike({ KeySpec: "ECC_NIST_P256", KeyUsage: "SIGN_VERIFY" }),
      DeletionPolicy: "Retain",
    });
  });

  it("lets only the digest writer's role Sign, RAW ECDSA_SHA_256 only; the account manages the key and reads its public half", () => {
    const statements = keyPolicy().Statement;
    const signers = statements.filter((s) =>
      actions(s).some((a) => a === "kms:*" || a === "kms:Sign" || a === "kms:Sign*"),
    );
    expect(signers).toEqual([
      {
        Sid: "OnlyTheDigestWriterSigns",
        Effect: "Allow",
        Principal: { AWS: { "Fn::GetAtt": [logicalIdOf(stack.audit.digestWriter.role), "Arn"] } },
        Action: "kms:Sign",
        Resource: "*",
        Condition: { StringEquals: { "kms:SigningAlgorithm": "ECDSA_SHA_256", "kms:MessageType": "RAW" } },
      },
    ]);
    const auditors = statements.find((s) => s.Sid === "AuditorsReadThePublicKey");
    expect(auditors && actions(auditors).sort()).toEqual(["kms:DescribeKey", "kms:GetPublicKey"]);
    expect(
      statements.flatMap(actions).filter((a) => /^kms:(\*|Verify|Encrypt|Decrypt|GenerateDataKey)/.test(a)),
    ).toEqual([]);
  });

  it("gives the writer the key's ARN, reads exports and digests, and writes digests only", () => {
    const writer = stack.audit.digestWriter;
    expect(variablesOf(writer).DIGEST_KEY_ID).toEqual({
      "Fn::GetAtt": [logicalIdOf(stack.audit.digestKey), "Arn"],
    });
    expect(variablesOf(writer).AUDIT_BUCKET).toEqual({ Ref: logicalIdOf(stack.audit.bucket) });
    const puts = JSON.stringify(resourcesFor(writer, "s3:PutObject"));
    expect(puts).toContain("/digests/*");
    expect(puts).not.toContain("/exports/");
    expect(
      actionsOf(writer).filter((a) =>
        /^s3:(Delete|PutObjectRetention|PutObjectLegalHold|BypassGovernance)/.test(a),
      ),
    ).toEqual([]);
  });

  it("runs hourly from EventBridge Scheduler, with retries and a dead-letter queue, one run at a time", () => {
    template.hasResourceProperties("AWS::Scheduler::Schedule", {
      ScheduleExpression: "cron(5 * * * ? *)",
      State: "ENABLED",
      Target: Match.objectLike({
        Arn: { "Fn::GetAtt": [logicalIdOf(stack.audit.digestWriter.fn), "Arn"] },
        RetryPolicy: { MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 3600 },
        DeadLetterConfig: { Arn: { "Fn::GetAtt": [logicalIdOf(stack.audit.digestDeadLetterQueue), "Arn"] } },
      }),
    });
    template.hasResourceProperties("AWS::Lambda::Function", {
      Handler: "index.handler",
      ReservedConcurrentExecutions: 1,
      Environment: { Variables: Match.objectLike({ DIGEST_KEY_ID: Match.anyValue() }) },
    });
  });
});

describe("retention", () => {
  it("runs the retention job daily at 02:00 London time through EventBridge Scheduler, with retries and a dead-letter queue", () => {
    template.hasResourceProperties("AWS::Scheduler::Schedule", {
      ScheduleExpression: "cron(0 2 * * ? *)",
      ScheduleExpressionTimezone: "Europe/London",
      State: "ENABLED",
      Target: Match.objectLike({
        Arn: { "Fn::GetAtt": [logicalIdOf(stack.retention.job.fn), "Arn"] },
        DeadLetterConfig: { Arn: { "Fn::GetAtt": [logicalIdOf(stack.retention.deadLetterQueue), "Arn"] } },
        RetryPolicy: { MaximumEventAgeInSeconds: 21600, MaximumRetryAttempts: 3 },
      }),
    });
    expect(resources[logicalIdOf(stack.retention.job.fn)]?.Properties).toMatchObject({
      ReservedConcurrentExecutions: 1,
      Timeout: 900,
    });
    expect(variablesOf(stack.retention.job)).toMatchObject({ RETENTION_TENANT_IDS: context.authority });
  });

  it("lets the job delete items and query the retention index only: no scan, no other index, no S3", () => {
    const actions = actionsOf(stack.retention.job).filter((a) => a.startsWith("dynamodb:"));
    expect([...new Set(actions)].sort()).toEqual([
      "dynamodb:BatchWriteItem",
      "dynamodb:DeleteItem",
      "dynamodb:GetItem",
      "dynamodb:PutItem",
      "dynamodb:Query",
      "dynamodb:UpdateItem",
    ]);
    const queried = JSON.stringify(resourcesFor(stack.retention.job, "dynamodb:Query"));
    expect(queried).toContain(`/index/${INDEXES.byRetentionDate.name}`);
    expect(queried).not.toContain("/index/*");
    expect(actionsOf(stack.retention.job).some((a) => a.startsWith("s3:"))).toBe(false);
  });
});

describe("benchmark", () => {
  it("publishes the benchmark daily at 01:30 London time through EventBridge Scheduler, with retries and a dead-letter queue", () => {
    template.hasResourceProperties("AWS::Scheduler::Schedule", {
      ScheduleExpression: "cron(30 1 * * ? *)",
      ScheduleExpressionTimezone: "Europe/London",
      Target: Match.objectLike({
        Arn: { "Fn::GetAtt": [logicalIdOf(stack.benchmark.job.fn), "Arn"] },
        DeadLetterConfig: { Arn: { "Fn::GetAtt": [logicalIdOf(stack.benchmark.deadLetterQueue), "Arn"] } },
      }),
    });
    expect(variablesOf(stack.benchmark.job)).toMatchObject({ BENCHMARK_TENANT_IDS: context.authority });
  });

  it("lets the job read the table and put items: no update, no delete, no S3", () => {
    const actions = new Set(actionsOf(stack.benchmark.job).filter((a) => a.startsWith("dynamodb:")));
    expect(actions.has("dynamodb:PutItem")).toBe(true);
    for (const forbidden of [
      "dynamodb:DeleteItem",
      "dynamodb:UpdateItem",
      "dynamodb:BatchWriteItem",
      "dynamodb:Scan",
    ]) {
      expect(actions.has(forbidden)).toBe(false);
    }
    expect(actionsOf(stack.benchmark.job).some((a) => a.startsWith("s3:"))).toBe(false);
  });
});

describe("mail", () => {
  it("receives replies with TLS required and scanning on: raw message to S3 (as our role), then the handler", () => {
    template.hasResourceProperties("AWS::SES::ReceiptRule", {
      Rule: {
        Enabled: true,
        Recipients: [context.mailDomain],
        TlsPolicy: "Require",
        ScanEnabled: true,
        Actions: [
          {
            S3Action: Match.objectLike({
              BucketName: { Ref: logicalIdOf(stack.mail.bucket) },
              ObjectKeyPrefix: "inbound/",
              IamRoleArn: Match.anyValue(),
            }),
          },
          {
            LambdaAction: {
              FunctionArn: { "Fn::GetAtt": [logicalIdOf(stack.mail.receiver.fn), "Arn"] },
              InvocationType: "Event",
            },
          },
        ],
      },
    });
  });

  it("activates the receipt rule set with a SetActiveReceiptRuleSet custom resource", () => {
    const [, activation] = one("Custom::SesActiveReceiptRuleSet");
    const ruleSet = logicalIdOf(stack.mail.ruleSet);
    for (const phase of ["Create", "Update"]) {
      const call = JSON.stringify(activation.Properties?.[phase]);
      expect(call).toContain('\\"action\\":\\"SetActiveReceiptRuleSet\\"');
      expect(call).toContain(`{"Ref":"${ruleSet}"}`);
    }
    expect(JSON.stringify(activation.Properties?.Delete)).toContain("SetActiveReceiptRuleSet");
    template.hasResourceProperties("AWS::IAM::Policy", {
      PolicyDocument: {
        Statement: [{ Action: "ses:SetActiveReceiptRuleSet", Effect: "Allow", Resource: "*" }],
      },
    });
  });

  it("sends from a DKIM-signed identity through a configuration set that requires TLS and reports bounces", () => {
    template.hasResourceProperties("AWS::SES::EmailIdentity", {
      EmailIdentity: context.mailDomain,
      ConfigurationSetAttributes: { ConfigurationSetName: { Ref: logicalIdOf(stack.mail.configurationSet) } },
      DkimAttributes: { SigningEnabled: true },
      MailFromAttributes: { MailFromDomain: `bounce.${context.mailDomain}` },
    });
    template.hasResourceProperties("AWS::SES::ConfigurationSet", {
      DeliveryOptions: { TlsPolicy: "REQUIRE" },
      SuppressionOptions: { SuppressedReasons: ["BOUNCE", "COMPLAINT"] },
    });
    template.hasResourceProperties("AWS::SES::ConfigurationSetEventDestination", {
      EventDestination: Match.objectLike({
        Enabled: true,
        MatchingEventTypes: Match.arrayWith(["bounce", "complaint"]),
        SnsDestination: { TopicARN: { Ref: logicalIdOf(stack.mail.eventsTopic) } },
      }),
    });
  });

  it("generates the reply-token signing key, encrypted with the mail key", () => {
    template.hasResourceProperties("AWS::SecretsManager::Secret", {
      KmsKeyId: { "Fn::GetAtt": [logicalIdOf(stack.mail.key), "Arn"] },
      GenerateSecretString: Match.objectLike({
        SecretStringTemplate: JSON.stringify({ id: 0 }),
        GenerateStringKey: "secret",
        PasswordLength: 64,
        ExcludePunctuation: true,
      }),
    });
  });

  it("has no outbox queue: the table's stream is the outbox (the one work queue carries inbound replies)", () => {
    for (const [id, queue] of ofType("AWS::SQS::Queue")) {
      if (id === logicalIdOf(stack.mail.repliesQueue)) continue;
      expect(queue.Properties?.RedrivePolicy, id).toBeUndefined();
    }
    const sqsMappings = ofType("AWS::Lambda::EventSourceMapping").filter(([, m]) =>
      JSON.stringify(m).includes(logicalIdOf(stack.mail.repliesQueue)),
    );
    expect(sqsMappings.map(([, m]) => m.Properties?.FunctionName)).toEqual([
      { Ref: logicalIdOf(stack.mail.replyApplier.fn) },
    ]);
    const variables = (fn: ServiceFunction) =>
      Object.keys(
        (resources[logicalIdOf(fn.fn)]?.Properties?.Environment as { Variables: Record<string, unknown> })
          .Variables,
      );
    expect(variables(stack.mail.receiver)).not.toContain("OUTBOX_QUEUE_URL");
  });

  it("lets the reply applier send its bounce-style replies through SES as the service identity", () => {
    expect(resourcesFor(stack.mail.replyApplier, "ses:SendEmail")).toEqual(sesSendResources());
    // SES v2 SendEmail with Simple content: the raw-message action is not needed.
    expect(actionsOf(stack.mail.replyApplier)).not.toContain("ses:SendRawEmail");
    // The receiver sends nothing: every bounce is the applier's.
    expect(actionsOf(stack.mail.receiver).filter((a) => a.startsWith("ses:"))).toEqual([]);
  });

  it("sends failed inbound invocations to an on-failure queue", () => {
    template.hasResourceProperties("AWS::Lambda::EventInvokeConfig", {
      FunctionName: { Ref: logicalIdOf(stack.mail.receiver.fn) },
      DestinationConfig: {
        OnFailure: { Destination: { "Fn::GetAtt": [logicalIdOf(stack.mail.inboundDeadLetterQueue), "Arn"] } },
      },
    });
  });

  it("gives the inbound handler every variable its wiring reads, with this deployment's tenant", () => {
    const variables = variablesOf(stack.mail.receiver);
    expect(variables).toMatchObject({
      MAIL_DOMAIN: context.mailDomain,
      MAIL_FROM: `challenges@${context.mailDomain}`,
      SES_CONFIGURATION_SET: { Ref: logicalIdOf(stack.mail.configurationSet) },
      REPLY_TOKEN_SECRET_ARN: { Ref: logicalIdOf(stack.mail.replyTokenSecret) },
      MAIL_BUCKET: { Ref: logicalIdOf(stack.mail.bucket) },
      MAIL_PREFIX: "inbound/",
      MAIL_TENANT_IDS: context.authority,
    });
    const deps = wiredWith(stack.mail.receiver, productionInbound);
    expect(deps.tenantIds).toEqual([context.authority]);
    expect(deps.prefix).toBe("inbound/");
    // The receipt rule's recipients cover the domain reply addresses point at.
    expect(deps.replyDomain).toBe(context.mailDomain);
    const [, rule] = one("AWS::SES::ReceiptRule");
    expect((rule.Properties?.Rule as { Recipients: string[] }).Recipients).toContain(deps.replyDomain);
  });

  it("lets the receiver read the message, verify the token, record refusals and queue replies, and no more", () => {
    const receiver = stack.mail.receiver;
    const actions = actionsOf(receiver);
    // The refusal records only: one PutItem each, no reads, no transactions.
    expect(actions.filter((a) => a.startsWith("dynamodb:"))).toEqual(["dynamodb:PutItem"]);
    expect(actions.filter((a) => a.startsWith("states:"))).toEqual([]);
    // The raw message under the inbound prefix only; read, never list or write.
    expect(resourcesFor(receiver, "s3:GetObject")).toEqual([
      { "Fn::Join": ["", [{ "Fn::GetAtt": [logicalIdOf(stack.mail.bucket), "Arn"] }, "/inbound/*"]] },
    ]);
    expect(actions.filter((a) => a.startsWith("s3:"))).toEqual(["s3:GetObject"]);
    expect(resourcesFor(receiver, "secretsmanager:GetSecretValue")).toEqual([
      { Ref: logicalIdOf(stack.mail.replyTokenSecret) },
    ]);
    // Sends to the replies queue (and, as Lambda, its failed events to its on-failure queue) only;
    // never receives from or deletes on either.
    expect(resourcesFor(receiver, "sqs:SendMessage")).toEqual(
      expect.arrayContaining([
        { "Fn::GetAtt": [logicalIdOf(stack.mail.repliesQueue), "Arn"] },
        { "Fn::GetAtt": [logicalIdOf(stack.mail.inboundDeadLetterQueue), "Arn"] },
      ]),
    );
    expect(resourcesFor(receiver, "sqs:SendMessage")).toHaveLength(2);
    expect(actions).not.toContain("sqs:ReceiveMessage");
    expect(actions).not.toContain("sqs:DeleteMessage");
    expect(variablesOf(receiver)).toMatchObject({
      INBOUND_REPLY_QUEUE_URL: { Ref: logicalIdOf(stack.mail.repliesQueue) },
    });
    expect(resourcesFor(receiver, "kms:Decrypt")).toContainEqual({
      "Fn::GetAtt": [logicalIdOf(stack.mail.key), "Arn"],
    });
  });

  it("lets the reply applier do what a reply needs, and no more", () => {
    const applier = stack.mail.replyApplier;
    const actions = actionsOf(applier);
    // The command's transaction (TransactWriteItems is authorised per item: Put, Update, Condition
    // check), the claims given back (Delete), the reads.
    expect(actions).toEqual(
      expect.arrayContaining([
        "dynamodb:GetItem",
        "dynamodb:Query",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:ConditionCheckItem",
      ]),
    );
    // Wakes the workflow; a reply can never start a run (only raising and Reopen do).
    expect(JSON.stringify(resourcesFor(applier, "states:SendTaskSuccess"))).toContain(
      `:stateMachine:${stack.stackName}-challenge`,
    );
    expect(actions.filter((a) => a.startsWith("states:"))).toEqual(["states:SendTaskSuccess"]);
    // Never the raw message, never the reply key: the receiver read and verified both.
    expect(actions.filter((a) => a.startsWith("s3:"))).toEqual([]);
    expect(actions).not.toContain("secretsmanager:GetSecretValue");
    expect(actions).not.toContain("sqs:SendMessage");
  });

  it("hands replies from the receiver to the applier through an encrypted queue with an alarmed dead-letter queue", () => {
    const queue = resources[logicalIdOf(stack.mail.repliesQueue)]?.Properties;
    expect(queue).toMatchObject({
      KmsMasterKeyId: { "Fn::GetAtt": [logicalIdOf(stack.mail.key), "Arn"] },
      // At least six times the applier's timeout (60 s), as Lambda advises for an SQS source.
      VisibilityTimeout: 360,
      RedrivePolicy: {
        deadLetterTargetArn: { "Fn::GetAtt": [logicalIdOf(stack.mail.repliesDeadLetterQueue), "Arn"] },
        maxReceiveCount: 5,
      },
    });
    template.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
      FunctionName: { Ref: logicalIdOf(stack.mail.replyApplier.fn) },
      EventSourceArn: { "Fn::GetAtt": [logicalIdOf(stack.mail.repliesQueue), "Arn"] },
      BatchSize: 1,
      FunctionResponseTypes: ["ReportBatchItemFailures"],
      ScalingConfig: { MaximumConcurrency: 5 },
    });
    const deps = wiredWith(stack.mail.replyApplier, productionApply);
    expect(deps.records).toBeDefined();
  });
});

describe("mail delivery events (bounces and complaints)", () => {
  it("subscribes the handler to the configuration set's events topic, with a dead-letter queue", () => {
    const dlq = { "Fn::GetAtt": [logicalIdOf(stack.mail.deliveryEventsDeadLetterQueue), "Arn"] };
    const subscriptions = ofType("AWS::SNS::Subscription");
    expect(subscriptions).toHaveLength(1);
    expect(subscriptions[0]?.[1].Properties).toEqual({
      Protocol: "lambda",
      TopicArn: { Ref: logicalIdOf(stack.mail.eventsTopic) },
      Endpoint: { "Fn::GetAtt": [logicalIdOf(stack.mail.deliveryEvents.fn), "Arn"] },
      RedrivePolicy: { deadLetterTargetArn: dlq },
    });
    template.hasResourceProperties("AWS::Lambda::Permission", {
      Action: "lambda:InvokeFunction",
      FunctionName: { "Fn::GetAtt": [logicalIdOf(stack.mail.deliveryEvents.fn), "Arn"] },
      Principal: "sns.amazonaws.com",
      SourceArn: { Ref: logicalIdOf(stack.mail.eventsTopic) },
    });
    template.hasResourceProperties("AWS::Lambda::EventInvokeConfig", {
      FunctionName: { Ref: logicalIdOf(stack.mail.deliveryEvents.fn) },
      MaximumRetryAttempts: 2,
      DestinationConfig: { OnFailure: { Destination: dlq } },
    });
    // SNS may write the dead letters to the queue (encrypted with the mail key, which lets it).
    template.hasResourceProperties("AWS::SQS::QueuePolicy", {
      Queues: [{ Ref: logicalIdOf(stack.mail.deliveryEventsDeadLetterQueue) }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: "sqs:SendMessage",
            Principal: { Service: "sns.amazonaws.com" },
            Condition: { ArnEquals: { "aws:SourceArn": { Ref: logicalIdOf(stack.mail.eventsTopic) } } },
          }),
        ]),
      },
    });
    template.hasResourceProperties("AWS::SQS::Queue", {
      KmsMasterKeyId: { "Fn::GetAtt": [logicalIdOf(stack.mail.key), "Arn"] },
    });
    const keyPolicy = JSON.stringify(resources[logicalIdOf(stack.mail.key)]?.Properties?.KeyPolicy);
    expect(keyPolicy).toContain('"Sid":"AllowSnsDeadLetters"');
  });

  it("runs with the mail settings its wiring reads, and a capped concurrency", () => {
    expect(variablesOf(stack.mail.deliveryEvents)).toMatchObject({
      MAIL_DOMAIN: context.mailDomain,
      MAIL_FROM: `challenges@${context.mailDomain}`,
      SES_CONFIGURATION_SET: { Ref: logicalIdOf(stack.mail.configurationSet) },
      CASE_RECORD_BASE_URL: context.caseRecordBaseUrl,
    });
    const deps = wiredWith(stack.mail.deliveryEvents, productionOutbound);
    expect(deps.caseRecordBaseUrl).toBe(context.caseRecordBaseUrl);
    expect(
      resources[logicalIdOf(stack.mail.deliveryEvents.fn)]?.Properties?.ReservedConcurrentExecutions,
    ).toBe(5);
  });

  it("holds only what recording a failure and alerting the raiser needs", () => {
    const fn = stack.mail.deliveryEvents;
    const [tableId] = one("AWS::DynamoDB::Table");
    const dynamo = statementsOf(fn).filter((st) => JSON.stringify(st.Action).includes("dynamodb:"));
    expect(dynamo).toHaveLength(1);
    expect([dynamo[0]?.Action].flat().sort()).toEqual(
      [
        "dynamodb:DeleteItem",
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:Query",
        "dynamodb:UpdateItem",
      ].sort(),
    );
    // The base table only: no index, no stream.
    expect(dynamo[0]?.Resource).toEqual({ "Fn::GetAtt": [tableId, "Arn"] });
    expect(resourcesFor(fn, "ses:SendEmail")).toEqual(sesSendResources());
    expect(actionsOf(fn)).not.toContain("ses:SendRawEmail");
    // The on-failure queue only; no secret (the raiser's alert has no reply address), no workflow.
    expect(resourcesFor(fn, "sqs:SendMessage")).toEqual([
      { "Fn::GetAtt": [logicalIdOf(stack.mail.deliveryEventsDeadLetterQueue), "Arn"] },
    ]);
    const actions = actionsOf(fn).join(" ");
    expect(actions).not.toMatch(/secretsmanager:|states:|s3:|dynamodb:(Scan|Batch|GetRecords)/);
    // KMS: the table's key and the mail key (the dead-letter queue), nothing else.
    const keys = new Set(
      statementsOf(fn)
        .filter((st) => JSON.stringify(st.Action).includes("kms:"))
        .flatMap((st) => [st.Resource].flat())
        .map((r) => JSON.stringify(r)),
    );
    expect(keys).toEqual(
      new Set(
        [stack.store.key, stack.mail.key].map((k) =>
          JSON.stringify({ "Fn::GetAtt": [logicalIdOf(k), "Arn"] }),
        ),
      ),
    );
  });
});

describe("workflow", () => {
  it("logs ALL to an encrypted log group and traces with X-Ray", () => {
    const logGroup = logicalIdOf(stack.workflow.node.findChild("StateMachineLogs"));
    template.hasResourceProperties("AWS::StepFunctions::StateMachine", {
      StateMachineType: "STANDARD",
      LoggingConfiguration: {
        Level: "ALL",
        IncludeExecutionData: true,
        Destinations: [{ CloudWatchLogsLogGroup: { LogGroupArn: { "Fn::GetAtt": [logGroup, "Arn"] } } }],
      },
      TracingConfiguration: { Enabled: true },
    });
    template.hasResourceProperties("AWS::Logs::LogGroup", {
      LogGroupName: Match.stringLikeRegexp("^/aws/vendedlogs/states/"),
      KmsKeyId: { "Fn::GetAtt": [logicalIdOf(stack.observability.key), "Arn"] },
    });
  });

  it("fills every ${...} of the ASL file, and nothing else", () => {
    const asl = readFileSync(new URL("../../statemachines/challenge.asl.json", import.meta.url), "utf8");
    const placeholders = new Set([...asl.matchAll(/\$\{(\w+)\}/g)].map((m) => m[1]));
    const [, machine] = one("AWS::StepFunctions::StateMachine");
    const substitutions = machine.Properties?.DefinitionSubstitutions as Record<string, unknown>;
    expect(new Set(Object.keys(substitutions))).toEqual(placeholders);
    expect(substitutions.OpenStageFunctionArn).toEqual({
      "Fn::GetAtt": [logicalIdOf(stack.workflow.openStage.fn), "Arn"],
    });
    expect(substitutions.WorkflowFailureTopicArn).toEqual({ Ref: logicalIdOf(stack.observability.topic) });
  });

  it("lets only the event reactor and the run-starting API routes start executions", () => {
    const policies = ofType("AWS::IAM::Policy").map(([id, p]) => [id, JSON.stringify(p.Properties)] as const);
    const starters = policies.filter(([, p]) => p.includes("states:StartExecution")).map(([id]) => id);
    expect(starters.map((id) => id.replace(/RoleDefaultPolicy[0-9A-F]{8}$/, "")).sort()).toEqual(
      [
        "EventsReact",
        ...RUN_STARTING_ROUTES.map(
          (r) => `Api${r.replace(/(^|-)(\w)/g, (_, _d, c: string) => c.toUpperCase())}`,
        ),
      ].sort(),
    );
    expect(starters).toHaveLength(1 + RUN_STARTING_ROUTES.length);
  });

  it("lets only person-action handlers complete tokens, and with SendTaskSuccess only", () => {
    const policies = ofType("AWS::IAM::Policy").map(([id, p]) => [id, JSON.stringify(p.Properties)] as const);
    const completers = policies.filter(([, p]) => p.includes("states:SendTaskSuccess")).map(([id]) => id);
    const deciders = routes.filter((r) => r.signalsWorkflow === true);
    expect(deciders.length).toBeGreaterThanOrEqual(20);
    expect(completers).toHaveLength(deciders.length + 2); // + inbound email, + AwaitResponse
    // Recording good practice is a challenges/write route that decides no command.
    expect(completers.some((id) => id.startsWith("ApiGoodPractice"))).toBe(false);
    expect(completers.some((id) => id.startsWith("MailApplyReply"))).toBe(true);
    expect(completers.some((id) => id.startsWith("MailReceiveEmail"))).toBe(false);
    // Nothing fails or heartbeats a wait (functions/workflow/sfn-signal.ts sends success only).
    for (const [id, policy] of policies) {
      expect(policy, id).not.toMatch(/states:SendTask(Failure|Heartbeat)/);
    }

    const awaitResponse = stack.workflow.awaitResponse;
    expect(resourcesFor(awaitResponse, "states:SendTaskSuccess")).toEqual([
      {
        "Fn::Join": [
          "",
          [
            "arn:",
            { Ref: "AWS::Partition" },
            ":states:",
            { Ref: "AWS::Region" },
            ":",
            { Ref: "AWS::AccountId" },
            `:stateMachine:${stack.stackName}-challenge`,
          ],
        ],
      },
    ]);
    expect(actionsOf(awaitResponse)).not.toContain("states:SendTaskFailure");
    expect(actionsOf(awaitResponse)).not.toContain("states:StartExecution");
  });

  it("gives the tasks the table access they use, and nothing of mail or queues", () => {
    const { openStage, checkActions, awaitResponse, stageTimedOut } = stack.workflow;
    // OpenStage only reads; CheckActions records the actions that fell due, so it writes.
    for (const reader of [openStage]) {
      expect(actionsOf(reader)).toEqual(expect.arrayContaining(["dynamodb:GetItem", "dynamodb:Query"]));
      expect(actionsOf(reader)).not.toContain("dynamodb:PutItem");
    }
    for (const writer of [awaitResponse, stageTimedOut, checkActions]) {
      expect(actionsOf(writer)).toEqual(expect.arrayContaining(["dynamodb:PutItem"]));
    }
    for (const task of [openStage, checkActions, awaitResponse, stageTimedOut]) {
      const actions = actionsOf(task).join(" ");
      expect(actions).not.toMatch(/sqs:|ses:|secretsmanager:/);
    }
  });
});

describe("event reactor (the stream is the outbox)", () => {
  const tableStream = () => {
    const [tableId] = one("AWS::DynamoDB::Table");
    return { "Fn::GetAtt": [tableId, "StreamArn"] };
  };
  const streamMappings = () =>
    ofType("AWS::Lambda::EventSourceMapping").filter(
      ([, m]) => JSON.stringify(m.Properties?.EventSourceArn) === JSON.stringify(tableStream()),
    );

  it("reads the table's stream with at most two consumers: the audit exporter and the reactor", () => {
    const consumers = streamMappings().map(([, m]) => m.Properties?.FunctionName);
    expect(consumers.length).toBeLessThanOrEqual(2);
    expect(consumers).toEqual(
      expect.arrayContaining([
        { Ref: logicalIdOf(stack.audit.exporter.fn) },
        { Ref: logicalIdOf(stack.events.reactor.fn) },
      ]),
    );
    expect(streamMappings()).toHaveLength(2);
    // The third mapping reads the inbound replies queue (lib/mail.ts), not the stream.
    expect(ofType("AWS::Lambda::EventSourceMapping")).toHaveLength(3);
  });

  it("reacts to new event and good practice items only, with bisect, bounded retries, a maximum age and an on-failure queue", () => {
    expect(JSON.stringify(REACTOR_STREAM_FILTER)).toBe(
      JSON.stringify({
        eventName: ["INSERT"],
        dynamodb: { NewImage: { [TABLE.entityAttribute]: { S: ["event", "good_practice"] } } },
      }),
    );
    template.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
      FunctionName: { Ref: logicalIdOf(stack.events.reactor.fn) },
      EventSourceArn: tableStream(),
      FilterCriteria: {
        Filters: [
          {
            Pattern: JSON.stringify({
              eventName: ["INSERT"],
              dynamodb: { NewImage: { [TABLE.entityAttribute]: { S: ["event", "good_practice"] } } },
            }),
          },
        ],
      },
      StartingPosition: "TRIM_HORIZON",
      ParallelizationFactor: 1,
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: REACTOR_RETRY_ATTEMPTS,
      MaximumRecordAgeInSeconds: REACTOR_MAX_RECORD_AGE.toSeconds(),
      FunctionResponseTypes: ["ReportBatchItemFailures"],
      DestinationConfig: {
        OnFailure: {
          Destination: { "Fn::GetAtt": [logicalIdOf(stack.events.deadLetterQueue), "Arn"] },
        },
      },
    });
    expect(REACTOR_RETRY_ATTEMPTS).toBeGreaterThan(0);
    expect(REACTOR_MAX_RECORD_AGE.toHours()).toBeLessThan(24); // inside the stream's retention
  });

  it("alarms on the reactor's dead-letter queue", () => {
    const alarms = ofType("AWS::CloudWatch::Alarm").filter(
      ([, a]) =>
        JSON.stringify(a.Properties?.Dimensions) ===
        JSON.stringify([
          {
            Name: "QueueName",
            Value: { "Fn::GetAtt": [logicalIdOf(stack.events.deadLetterQueue), "QueueName"] },
          },
        ]),
    );
    expect(alarms).toHaveLength(1);
    expect(alarms[0]?.[1].Properties).toMatchObject({
      MetricName: "ApproximateNumberOfMessagesVisible",
      Threshold: 1,
      ComparisonOperator: "GreaterThanOrEqualToThreshold",
    });
  });

  it("holds the union of its steps' permissions", () => {
    const reactor = stack.events.reactor;
    const actions = actionsOf(reactor);
    // workflow: start runs of the challenge state machine only
    expect(JSON.stringify(resourcesFor(reactor, "states:StartExecution"))).toContain(
      `:stateMachine:${stack.stackName}-challenge`,
    );
    // notifications: SES as the identity, through the configuration set; the reply key
    expect(resourcesFor(reactor, "ses:SendEmail")).toEqual(sesSendResources());
    expect(actions).not.toContain("ses:SendRawEmail");
    expect(resourcesFor(reactor, "secretsmanager:GetSecretValue")).toContainEqual({
      Ref: logicalIdOf(stack.mail.replyTokenSecret),
    });
    // case notes: the tenants' webhook signing secrets, by prefix
    expect(JSON.stringify(resourcesFor(reactor, "secretsmanager:GetSecretValue"))).toContain(
      `:secret:${CASE_NOTE_WEBHOOK_SECRET_PREFIX}*`,
    );
    // the table: stream, reads, and the steps' own dedupe records; never a scan
    expect(actions).toEqual(
      expect.arrayContaining([
        "dynamodb:GetRecords",
        "dynamodb:GetItem",
        "dynamodb:Query",
        "dynamodb:PutItem",
      ]),
    );
    expect(actions).not.toContain("dynamodb:Scan");
    // SQS: only the mapping's on-failure queue; no task tokens to complete
    expect(resourcesFor(reactor, "sqs:SendMessage")).toEqual([
      { "Fn::GetAtt": [logicalIdOf(stack.events.deadLetterQueue), "Arn"] },
    ]);
    expect(actions.join(" ")).not.toMatch(/states:SendTask/);
  });

  it("runs with the mail settings and the webhook secret prefix", () => {
    const variables = (
      resources[logicalIdOf(stack.events.reactor.fn)]?.Properties?.Environment as {
        Variables: Record<string, unknown>;
      }
    ).Variables;
    expect(Object.keys(variables)).toEqual(
      expect.arrayContaining([
        "TABLE_NAME",
        "STATE_MACHINE_ARN",
        "MAIL_DOMAIN",
        "MAIL_FROM",
        "SES_CONFIGURATION_SET",
        "REPLY_TOKEN_SECRET_ARN",
        "CASE_RECORD_BASE_URL",
        "CASE_NOTE_WEBHOOK_SECRET_PREFIX",
      ]),
    );
    expect(variables.CASE_NOTE_WEBHOOK_SECRET_PREFIX).toBe(CASE_NOTE_WEBHOOK_SECRET_PREFIX);
  });
});

describe("functions", () => {
  const ours = () => ofType("AWS::Lambda::Function").filter(([id]) => !id.startsWith(CDK_PROVIDER));

  it("are one per route plus the workflow, mail and audit handlers", () => {
    expect(ours()).toHaveLength(routes.length + OTHER_HANDLERS);
    expect(ofType("AWS::Lambda::Function").length - ours().length).toBe(1); // CDK's custom resource provider
  });

  it("all run on nodejs22.x, arm64, traced, with memory, timeout, encrypted logs and the shared environment", () => {
    for (const [id, fn] of ours()) {
      const p = fn.Properties ?? {};
      expect(p.Runtime, id).toBe("nodejs22.x");
      expect(p.Architectures, id).toEqual(["arm64"]);
      expect(p.TracingConfig, id).toEqual({ Mode: "Active" });
      expect(p.MemorySize, id).toBeGreaterThanOrEqual(256);
      expect(p.Timeout, id).toBeGreaterThan(3);
      expect(p.LoggingConfig, id).toMatchObject({
        LogFormat: "JSON",
        LogGroup: { Ref: expect.any(String) as unknown },
      });
      const variables = (p.Environment as { Variables: Record<string, unknown> }).Variables;
      expect(Object.keys(variables), id).toEqual(
        expect.arrayContaining(["TABLE_NAME", "STATE_MACHINE_ARN", "POWERTOOLS_SERVICE_NAME"]),
      );
    }
    for (const [id, logGroup] of ofType("AWS::Logs::LogGroup")) {
      expect(logGroup.Properties?.KmsKeyId, id).toBeDefined();
      expect(logGroup.Properties?.RetentionInDays, id).toBeGreaterThan(0);
    }
  });
});

describe("dead-letter queues and alarms", () => {
  const alarmsOn = (metricName: string) =>
    ofType("AWS::CloudWatch::Alarm").filter(([, a]) => a.Properties?.MetricName === metricName);

  it("alarm on every dead-letter queue's first message", () => {
    const dlqs = [
      stack.audit.deadLetterQueue,
      stack.events.deadLetterQueue,
      stack.mail.inboundDeadLetterQueue,
      stack.mail.repliesDeadLetterQueue,
      stack.mail.deliveryEventsDeadLetterQueue,
      stack.audit.digestDeadLetterQueue,
      stack.retention.deadLetterQueue,
      stack.benchmark.deadLetterQueue,
    ].map(logicalIdOf);
    const watched = alarmsOn("ApproximateNumberOfMessagesVisible").map(
      ([, a]) =>
        (a.Properties?.Dimensions as { Value: { "Fn::GetAtt": string[] } }[])[0]?.Value["Fn::GetAtt"][0],
    );
    expect(new Set(watched)).toEqual(new Set(dlqs));
    for (const [, alarm] of alarmsOn("ApproximateNumberOfMessagesVisible")) {
      expect(alarm.Properties).toMatchObject({
        Threshold: 1,
        ComparisonOperator: "GreaterThanOrEqualToThreshold",
      });
    }
  });

  it("alarm on every function's errors, on any throttle in the account, and on stream consumers' iterator age", () => {
    const functions = routes.length + OTHER_HANDLERS;
    expect(alarmsOn("Errors")).toHaveLength(functions);
    const throttles = alarmsOn("Throttles");
    expect(throttles).toHaveLength(1);
    expect(throttles[0]?.[1].Properties).toMatchObject({ Namespace: "AWS/Lambda" });
    expect(throttles[0]?.[1].Properties?.Dimensions).toBeUndefined();
    expect(alarmsOn("IteratorAge")).toHaveLength(2);
  });

  it("stays inside CloudFormation's 500 resources a stack, with room for one more route", () => {
    // Every route adds eight resources (function, role, policy, log group, errors alarm,
    // permission, integration, route). At 466 today; past 490 the next route would not deploy:
    // move the API's routes into a nested stack (or share the routes' roles) before adding more.
    expect(Object.keys(template.toJSON().Resources as object).length).toBeLessThanOrEqual(490);
  });

  it("alarm on failed, timed-out and aborted executions", () => {
    for (const metric of ["ExecutionsFailed", "ExecutionsTimedOut", "ExecutionsAborted"]) {
      expect(alarmsOn(metric), metric).toHaveLength(1);
    }
  });

  it("publish every alarm to the encrypted operations topic", () => {
    const topic = logicalIdOf(stack.observability.topic);
    for (const [id, alarm] of ofType("AWS::CloudWatch::Alarm")) {
      expect(alarm.Properties?.AlarmActions, id).toEqual([{ Ref: topic }]);
    }
    template.hasResourceProperties("AWS::SNS::Topic", {
      KmsMasterKeyId: { "Fn::GetAtt": [logicalIdOf(stack.observability.key), "Arn"] },
    });
  });
});

describe("api", () => {
  it("has one route per functions/api/routes.ts entry, each behind the JWT authorizer with its scope", () => {
    const [authorizerId] = one("AWS::ApiGatewayV2::Authorizer");
    expect(ofType("AWS::ApiGatewayV2::Route")).toHaveLength(routes.length);
    for (const route of routes) {
      // The acknowledgement link's routes only: the signed link in the path is the credential.
      if (route.signedLink === true) {
        template.hasResourceProperties("AWS::ApiGatewayV2::Route", {
          RouteKey: `${route.method} ${route.path}`,
          AuthorizationType: "NONE",
        });
        continue;
      }
      template.hasResourceProperties("AWS::ApiGatewayV2::Route", {
        RouteKey: `${route.method} ${route.path}`,
        AuthorizationType: "JWT",
        AuthorizerId: { Ref: authorizerId },
        AuthorizationScopes: [route.scope],
      });
    }
    expect(routes.filter((r) => r.signedLink === true).map((r) => r.id)).toEqual([
      "ack-link-page",
      "ack-link",
    ]);
  });

  it("gives the link routes the reply-token key to read, and the notifications the API's address", () => {
    for (const { route, handler } of stack.api.routes) {
      const variables = (
        resources[logicalIdOf(handler.fn)]?.Properties?.Environment as
          { Variables?: Record<string, unknown> } | undefined
      )?.Variables;
      expect(variables?.REPLY_TOKEN_SECRET_ARN !== undefined, route.id).toBe(route.signedLink === true);
    }
    const reactor = resources[logicalIdOf(stack.events.reactor.fn)]?.Properties?.Environment as {
      Variables?: Record<string, unknown>;
    };
    expect(reactor.Variables?.ACK_LINK_BASE_URL).toBeDefined();
  });

  it("applies source maps in every function but the OpenAPI document's, which ships none", () => {
    for (const { route, handler } of stack.api.routes) {
      const mapped = route.id !== "openapi";
      expect(handler.sourceMaps, route.id).toBe(mapped);
      expect(variablesOf(handler).NODE_OPTIONS, route.id).toBe(mapped ? "--enable-source-maps" : undefined);
    }
    expect(stack.events.reactor.sourceMaps).toBe(true);
    expect(variablesOf(stack.events.reactor).NODE_OPTIONS).toBe("--enable-source-maps");
  });

  it("routes each path to its own function", () => {
    expect(stack.api.routes.map((r) => r.route)).toEqual(routes);
    for (const { route, handler } of stack.api.routes) {
      expect(resources[logicalIdOf(handler.fn)]?.Properties?.Description).toBe(
        `${route.method} ${route.path}: ${route.summary}`,
      );
      template.hasResourceProperties("AWS::ApiGatewayV2::Integration", {
        IntegrationUri: { "Fn::GetAtt": [logicalIdOf(handler.fn), "Arn"] },
        PayloadFormatVersion: "2.0",
      });
    }
  });

  it("takes the JWT issuer and audience from context", () => {
    template.hasResourceProperties("AWS::ApiGatewayV2::Authorizer", {
      AuthorizerType: "JWT",
      IdentitySource: ["$request.header.Authorization"],
      JwtConfiguration: { Issuer: context.jwtIssuer, Audience: context.jwtAudience.split(",") },
    });
  });

  it("logs access (route templates, not paths) and throttles the stage", () => {
    template.hasResourceProperties("AWS::ApiGatewayV2::Stage", {
      StageName: "$default",
      AccessLogSettings: {
        DestinationArn: Match.anyValue(),
        Format: Match.stringLikeRegexp("\\$context.routeKey"),
      },
      DefaultRouteSettings: Match.objectLike({ ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 }),
    });
    const [, stage] = one("AWS::ApiGatewayV2::Stage");
    expect(JSON.stringify(stage.Properties)).not.toContain("$context.path");
  });
});

describe("cdk-nag (AwsSolutions, Serverless, NIST 800-53 rev 5)", () => {
  it("reports no unacknowledged error or warning", () => {
    const findings = compliancePacks(app).flatMap((pack) =>
      pack
        .validateScope(app)
        .violations.map(
          (v) =>
            `${v.severity} ${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath).join(", ")}`,
        ),
    );
    expect(findings).toEqual([]);
  });

  it("gives every acknowledgement a specific reason, and acknowledges only one rule stack-wide", () => {
    const acknowledgements: { path: string; id: string; reason: string }[] = [];
    for (const construct of app.node.findAll()) {
      for (const entry of construct.node.metadata) {
        if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
        for (const [id, reason] of Object.entries(entry.data as Record<string, string>)) {
          acknowledgements.push({ path: construct.node.path, id, reason });
        }
      }
    }
    expect(acknowledgements.length).toBeGreaterThan(0);
    for (const { path, id, reason } of acknowledgements) {
      expect(reason.length, `${path} ${id}`).toBeGreaterThanOrEqual(60);
    }
    const stackWide = acknowledgements.filter((a) => a.path === stack.node.path).map((a) => a.id);
    expect(stackWide).toEqual(["Annotation::NIST.800.53.R5-IAMNoInlinePolicy"]);
  });

  it("is summed up by `npm run synth` from the assembly: resources by type, acknowledgements, findings", () => {
    const summary = summariseAssembly(app.synth().directory);
    const [only] = summary.stacks;
    expect(summary.stacks).toHaveLength(1);
    expect(only?.name).toBe(stack.stackName);
    expect(only?.resourceCount).toBe(Object.keys(resources).length);
    expect(only?.resourcesByType.find(([type]) => type === "AWS::DynamoDB::Table")).toEqual([
      "AWS::DynamoDB::Table",
      ofType("AWS::DynamoDB::Table").length,
    ]);
    expect(only?.acknowledgements.length).toBeGreaterThan(0);
    expect(only?.acknowledgements.filter((a) => a.reason === "")).toEqual([]);
    expect(summary.findings).toEqual({});
    const printed = formatSummary(summary);
    expect(printed[0]).toBe(
      `Stack ${stack.stackName}: ${String(Object.keys(resources).length)} resources (${stack.stackName}.template.json)`,
    );
    expect(printed.at(-1)).toContain("0 errors, 0 warnings left unacknowledged");
    expect(printed.join("\n")).not.toMatch(/Bundling/);
  });
});

describe("deployment settings", () => {
  const settings = (overrides: Record<string, unknown>) =>
    settingsFromContext(new App({ context: { ...context, ...overrides } }).node);

  it("reads cdk.json's context", () => {
    expect(settings({})).toEqual({
      authority: context.authority,
      mailDomain: context.mailDomain,
      jwtIssuer: context.jwtIssuer,
      jwtAudience: [context.jwtAudience],
      auditRetentionDays: context.auditRetentionDays,
      caseRecordBaseUrl: context.caseRecordBaseUrl,
      tenantIds: [context.authority],
    });
    expect(settings({ tenantIds: " northby, southmoor ,northby" }).tenantIds).toEqual([
      "northby",
      "southmoor",
    ]);
    expect(settings({ jwtAudience: "a, b", auditRetentionDays: "30" })).toMatchObject({
      jwtAudience: ["a", "b"],
      auditRetentionDays: 30,
    });
  });

  it("rejects bad values, naming the key", () => {
    expect(() => settings({ auditRetentionDays: 0 })).toThrow(/auditRetentionDays/);
    expect(() => settings({ auditRetentionDays: "7.5" })).toThrow(/auditRetentionDays/);
    expect(() => settings({ jwtIssuer: "http://login.example/" })).toThrow(/jwtIssuer/);
    expect(() => settings({ mailDomain: "not a domain" })).toThrow(/mailDomain/);
    expect(() => settings({ authority: "Leicestershire County" })).toThrow(/authority/);
    expect(() => settings({ caseRecordBaseUrl: "" })).toThrow(/caseRecordBaseUrl/);
    expect(() => settings({ tenantIds: "northby,south moor" })).toThrow(/tenantIds.*south moor/);
    expect(() => settings({ tenantIds: " , " })).toThrow(/tenantIds/);
  });
});
