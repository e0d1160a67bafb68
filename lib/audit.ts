import { Duration, RemovalPolicy, Validations } from "aws-cdk-lib";
import { PolicyStatement } from "aws-cdk-lib/aws-iam";
import { Key } from "aws-cdk-lib/aws-kms";
import { FilterCriteria, StartingPosition } from "aws-cdk-lib/aws-lambda";
import { DynamoEventSource, SqsDlq } from "aws-cdk-lib/aws-lambda-event-sources";
import {
  BlockPublicAccess,
  Bucket,
  BucketEncryption,
  type CfnBucket,
  ObjectLockRetention,
  ObjectOwnership,
} from "aws-cdk-lib/aws-s3";
import { Queue, QueueEncryption } from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { AUDIT_STREAM_FILTER } from "../functions/store/table.js";
import { type FunctionFactory, type ServiceFunction, acknowledgeKmsGrant, nagRef } from "./functions.js";
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
 * table stream's two readers; the other is the event reactor (lib/events.ts).
 */
export class Audit extends Construct {
  readonly key: Key;
  /** Server access logs of this stack's buckets. */
  readonly accessLogBucket: Bucket;
  readonly bucket: Bucket;
  readonly exporter: ServiceFunction;
  readonly deadLetterQueue: Queue;

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
    this.deadLetterQueue = new Queue(this, "ExporterDeadLetterQueue", {
      encryption: QueueEncryption.KMS,
      encryptionMasterKey: props.observability.key,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    acknowledgeOnFailureQueue(this.deadLetterQueue, "audit exporter");

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
        filters: [FilterCriteria.filter(AUDIT_STREAM_FILTER)],
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
  }
}

/** A queue used as a stream mapping's on-failure destination is a dead-letter queue itself. */
export function acknowledgeOnFailureQueue(queue: Queue, what: string): void {
  const reason = `This queue is the on-failure destination of the ${what}'s stream event source mapping: it is the dead-letter queue, and an alarm fires on its first message.`;
  Validations.of(queue).acknowledge({ id: "AwsSolutions-SQS3", reason });
  Validations.of(queue).acknowledge({ id: "Serverless-SQSRedrivePolicy", reason });
}
