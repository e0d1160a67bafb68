import { CfnOutput, Duration, RemovalPolicy, Validations } from "aws-cdk-lib";
import {
  AccountRootPrincipal,
  PolicyDocument,
  PolicyStatement,
  Role,
  ServicePrincipal,
} from "aws-cdk-lib/aws-iam";
import { Key, KeySpec, KeyUsage } from "aws-cdk-lib/aws-kms";
import { type CfnFunction, FilterCriteria, StartingPosition } from "aws-cdk-lib/aws-lambda";
import { DynamoEventSource, SqsDlq } from "aws-cdk-lib/aws-lambda-event-sources";
import {
  BlockPublicAccess,
  Bucket,
  BucketEncryption,
  type CfnBucket,
  ObjectLockRetention,
  ObjectOwnership,
} from "aws-cdk-lib/aws-s3";
import type { Queue } from "aws-cdk-lib/aws-sqs";
import { Schedule, ScheduleExpression } from "aws-cdk-lib/aws-scheduler";
import { LambdaInvoke } from "aws-cdk-lib/aws-scheduler-targets";
import { Construct } from "constructs";
import { DIGEST_PREFIX, DIGEST_SIGNING_ALGORITHM } from "../functions/audit/digest-format.js";
import { EXPORT_PREFIX } from "../functions/audit/export-format.js";
import { AUDIT_STREAM_FILTERS } from "../functions/store/table.js";
import { type FunctionFactory, type ServiceFunction, acknowledgeKmsGrant, nagRef } from "./functions.js";
import { encryptedDeadLetterQueue, onFailureDestinationReason } from "./dead-letter-queue.js";
import type { Observability } from "./observability.js";
import type { Store } from "./store.js";

export interface AuditProps {
  /** Object Lock (COMPLIANCE mode) retention of every exported object, in days. */
  readonly retentionDays: number;
  readonly functions: FunctionFactory;
  readonly store: Store;
  readonly observability: Observability;
}

const NO_REPLICATION =
  "Single-region by design: children's records stay in the deployment region (UK data residency); versioning, Object Lock and retained buckets protect the data instead of a cross-region copy.";

/**
 * The audit trail: a stream consumer writes every new event item as newline-delimited JSON to a
 * versioned, KMS-encrypted bucket under Object Lock in COMPLIANCE mode (nobody, not even the
 * account root, can delete or overwrite an object before its retention ends). It is one of the
 * table stream's two readers; the other is the event reactor (lib/reactor.ts).
 */
export class Audit extends Construct {
  readonly key: Key;
  /** Server access logs of this stack's buckets. */
  readonly accessLogBucket: Bucket;
  readonly bucket: Bucket;
  readonly exporter: ServiceFunction;
  readonly deadLetterQueue: Queue;
  /** Signs the hourly digests (ECC_NIST_P256); its public half is what auditors verify with. */
  readonly digestKey: Key;
  readonly digestWriter: ServiceFunction;
  readonly digestDeadLetterQueue: Queue;
  readonly digestSchedule: Schedule;

  constructor(scope: Construct, id: string, props: AuditProps) {
    super(scope, id);
    if (!Number.isInteger(props.retentionDays) || props.retentionDays < 1) {
      throw new Error(
        `auditRetentionDays must be a positive whole number of days, got ${props.retentionDays}`,
      );
    }

    this.key = new Key(this, "AuditKey", {
      description: "Challenge & Resolution Service: audit exports",
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    // Server access logs can only be delivered to a bucket with S3-managed encryption.
    this.accessLogBucket = new Bucket(this, "AccessLogBucket", {
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      versioned: true,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const logs = Validations.of(this.accessLogBucket);
    logs.acknowledge({
      id: "AwsSolutions-S1",
      reason: "This is the server access log bucket; logging its own access would log every log delivery.",
    });
    logs.acknowledge({
      id: "NIST.800.53.R5-S3BucketLoggingEnabled",
      reason: "This is the server access log bucket; logging its own access would log every log delivery.",
    });
    logs.acknowledge({
      id: "NIST.800.53.R5-S3DefaultEncryptionKMS",
      reason: "S3 delivers server access logs only to buckets with S3-managed (SSE-S3) default encryption.",
    });
    logs.acknowledge({ id: "NIST.800.53.R5-S3BucketReplicationEnabled", reason: NO_REPLICATION });

    this.bucket = new Bucket(this, "AuditBucket", {
      encryption: BucketEncryption.KMS,
      encryptionKey: this.key,
      bucketKeyEnabled: true,
      versioned: true,
      objectLockEnabled: true,
      objectLockDefaultRetention: ObjectLockRetention.compliance(Duration.days(props.retentionDays)),
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      serverAccessLogsBucket: this.accessLogBucket,
      serverAccessLogsPrefix: "audit/",
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(this.bucket).acknowledge({
      id: "NIST.800.53.R5-S3BucketReplicationEnabled",
      reason: NO_REPLICATION,
    });

    // Stream failures: the record that could not be exported (shard and sequence numbers, no data).
    this.deadLetterQueue = encryptedDeadLetterQueue(
      this,
      "ExporterDeadLetterQueue",
      props.observability.key,
      onFailureDestinationReason("audit exporter"),
    );

    this.exporter = props.functions.create(this, "ExportEvents", {
      entry: "functions/audit/export-events.ts",
      description: "Writes new challenge events from the table stream to the Object Lock audit bucket",
      invokedBy: "stream",
      memorySize: 512,
      timeout: Duration.minutes(1),
      environment: { AUDIT_BUCKET: this.bucket.bucketName },
    });
    this.exporter.fn.addEventSource(
      new DynamoEventSource(props.store.table, {
        startingPosition: StartingPosition.TRIM_HORIZON,
        batchSize: 100,
        maxBatchingWindow: Duration.seconds(5),
        parallelizationFactor: 1,
        bisectBatchOnError: true,
        retryAttempts: 10,
        reportBatchItemFailures: true,
        onFailure: new SqsDlq(this.deadLetterQueue),
        filters: AUDIT_STREAM_FILTERS.map((pattern) => FilterCriteria.filter(pattern)),
      }),
    );
    // The stream only: backfill after an outage reads the events from the table from the command
    // line (bin/audit.ts, functions/audit/backfill.ts) with the operator's credentials.
    props.store.grantStreamRead(this.exporter);
    acknowledgeKmsGrant(this.exporter);

    // Write new objects only, with their own Object Lock date (which a PUT with retention headers
    // needs s3:PutObjectRetention for): no read, delete or legal-hold changes.
    this.exporter.role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ["s3:PutObject", "s3:PutObjectRetention"],
        resources: [this.bucket.arnForObjects("*")],
      }),
    );
    this.key.grant(this.exporter.role, "kms:GenerateDataKey", "kms:Decrypt");
    this.exporter.acknowledge(
      `AwsSolutions-IAM5[Resource::${nagRef(this.bucket.node.defaultChild as CfnBucket, "Arn")}/*]`,
      "Writes one object per event, keyed by tenant, day, challenge and seq (functions/audit/export-format.ts exportKey); s3:PutObject only, and Object Lock stops any overwrite.",
    );
    props.observability.watchDeadLetterQueue(this.deadLetterQueue, "Audit exporter");

    const digests = addDigests(this, props);
    this.digestKey = digests.key;
    this.digestWriter = digests.writer;
    this.digestDeadLetterQueue = digests.deadLetterQueue;
    this.digestSchedule = digests.schedule;
  }
}

/**
 * Signed hourly digests of the export (functions/audit/digest-format.ts): an asymmetric KMS key
 * whose private half never leaves KMS, a writer that alone may Sign with it, run hourly by
 * EventBridge Scheduler. The key policy has no `kms:*`: account administrators manage the key and
 * may read its public half (auditors are granted kms:GetPublicKey through IAM), and only the
 * writer's role may Sign, and only RAW messages with ECDSA_SHA_256.
 */
function addDigests(
  audit: Audit,
  props: AuditProps,
): { key: Key; writer: ServiceFunction; deadLetterQueue: Queue; schedule: Schedule } {
  const account = new AccountRootPrincipal();
  const key = new Key(audit, "DigestSigningKey", {
    description: "Challenge & Resolution Service: signs the audit export digests",
    keySpec: KeySpec.ECC_NIST_P256,
    keyUsage: KeyUsage.SIGN_VERIFY,
    removalPolicy: RemovalPolicy.RETAIN,
    policy: new PolicyDocument({
      statements: [
        new PolicyStatement({
          sid: "KeyAdministration",
          principals: [account],
          // Managing the key, not using it: no kms:Sign (nor kms:* or kms:Verify) for the account.
          actions: [
            "kms:Create*",
            "kms:Describe*",
            "kms:Enable*",
            "kms:List*",
            "kms:Put*",
            "kms:Update*",
            "kms:Revoke*",
            "kms:Disable*",
            "kms:GetKeyPolicy",
            "kms:Delete*",
            "kms:TagResource",
            "kms:UntagResource",
            "kms:ScheduleKeyDeletion",
            "kms:CancelKeyDeletion",
          ],
          resources: ["*"],
        }),
        new PolicyStatement({
          sid: "AuditorsReadThePublicKey",
          principals: [account],
          actions: ["kms:GetPublicKey", "kms:DescribeKey"],
          resources: ["*"],
        }),
      ],
    }),
  });

  const deadLetterQueue = encryptedDeadLetterQueue(
    audit,
    "DigestWriterDeadLetterQueue",
    props.observability.key,
    "This is the audit digest writer's on-failure dead-letter queue (the schedule's and the function's); an alarm fires on its first message.",
  );

  const writer = props.functions.create(audit, "WriteDigests", {
    entry: "functions/audit/write-digests.ts",
    description: "Seals each hour of the audit export in a KMS-signed digest chained to the previous one",
    invokedBy: "async",
    memorySize: 512,
    timeout: Duration.minutes(5),
    // One writer at a time: two runs would only race for the same keys (If-None-Match decides).
    reservedConcurrency: 1,
    onFailure: deadLetterQueue,
    environment: { AUDIT_BUCKET: audit.bucket.bucketName, DIGEST_KEY_ID: key.keyArn },
  });
  key.addToResourcePolicy(
    new PolicyStatement({
      sid: "OnlyTheDigestWriterSigns",
      principals: [writer.role],
      actions: ["kms:Sign"],
      resources: ["*"],
      conditions: {
        StringEquals: { "kms:SigningAlgorithm": DIGEST_SIGNING_ALGORITHM, "kms:MessageType": "RAW" },
      },
    }),
  );
  // Lists the export and digest folders, reads objects to hash them, writes new digests only.
  writer.role.addToPrincipalPolicy(
    new PolicyStatement({
      actions: ["s3:ListBucket"],
      resources: [audit.bucket.bucketArn],
      conditions: { StringLike: { "s3:prefix": [`${EXPORT_PREFIX}/*`, `${DIGEST_PREFIX}/*`] } },
    }),
  );
  writer.role.addToPrincipalPolicy(
    new PolicyStatement({
      actions: ["s3:GetObject"],
      resources: [
        audit.bucket.arnForObjects(`${EXPORT_PREFIX}/*`),
        audit.bucket.arnForObjects(`${DIGEST_PREFIX}/*`),
      ],
    }),
  );
  writer.role.addToPrincipalPolicy(
    new PolicyStatement({
      actions: ["s3:PutObject"],
      resources: [audit.bucket.arnForObjects(`${DIGEST_PREFIX}/*`)],
    }),
  );
  audit.key.grant(writer.role, "kms:GenerateDataKey", "kms:Decrypt");
  const bucketArn = nagRef(audit.bucket.node.defaultChild as CfnBucket, "Arn");
  writer.acknowledge(
    `AwsSolutions-IAM5[Resource::${bucketArn}/${EXPORT_PREFIX}/*]`,
    "Reads every export object of the hour it seals (keys per tenant, day, challenge and seq) to hash it; s3:GetObject only.",
  );
  writer.acknowledge(
    `AwsSolutions-IAM5[Resource::${bucketArn}/${DIGEST_PREFIX}/*]`,
    "Reads the previous digest to chain to it and writes one digest per hour (keys per UTC hour); Object Lock and If-None-Match stop any overwrite.",
  );
  props.observability.watchDeadLetterQueue(deadLetterQueue, "Audit digest writer");

  // Its own role, so its one permission is reviewed here (the default is a shared stack-level role).
  const scheduleRole = new Role(audit, "DigestScheduleRole", {
    assumedBy: new ServicePrincipal("scheduler.amazonaws.com"),
    description: "EventBridge Scheduler: invokes the audit digest writer",
  });
  Validations.of(scheduleRole).acknowledge({
    id: `AwsSolutions-IAM5[Resource::${nagRef(writer.fn.node.defaultChild as CfnFunction, "Arn")}:*]`,
    reason:
      "Added by the Scheduler's Lambda target: lambda:InvokeFunction on the digest writer and its versions and aliases (`:*`); one function only.",
  });
  const schedule = new Schedule(audit, "DigestSchedule", {
    description: "Hourly: seal the audit export hours that are due",
    // Five past each hour; the writer works out which hours are due, so a late or missed run only delays.
    schedule: ScheduleExpression.cron({ minute: "5" }),
    target: new LambdaInvoke(writer.fn, {
      role: scheduleRole,
      deadLetterQueue,
      retryAttempts: 3,
      maxEventAge: Duration.hours(1),
    }),
  });
  new CfnOutput(audit, "DigestSigningKeyArn", {
    description:
      "The audit digest signing key: auditors verify digests with its public half (kms get-public-key)",
    value: key.keyArn,
  });
  return { key, writer, deadLetterQueue, schedule };
}
