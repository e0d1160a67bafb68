import { Duration, TimeZone, Validations } from "aws-cdk-lib";
import { PolicyStatement, Role, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import type { CfnFunction } from "aws-cdk-lib/aws-lambda";
import { Schedule, ScheduleExpression } from "aws-cdk-lib/aws-scheduler";
import { LambdaInvoke } from "aws-cdk-lib/aws-scheduler-targets";
import { Queue, QueueEncryption } from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { INDEXES } from "../functions/store/table.js";
import { type FunctionFactory, type ServiceFunction, nagRef } from "./functions.js";
import type { Observability } from "./observability.js";
import type { Store } from "./store.js";

export interface RetentionProps {
  readonly tenantIds: readonly string[];
  readonly functions: FunctionFactory;
  readonly store: Store;
  readonly observability: Observability;
}

/**
 * The daily retention job (functions/retention/delete-expired.ts): an EventBridge Scheduler
 * schedule at 02:00 London time invokes the function, which deletes records past their retention
 * date through the retention index and leaves their tombstones. One run at a time.
 */
export class Retention extends Construct {
  readonly job: ServiceFunction;
  readonly schedule: Schedule;
  readonly deadLetterQueue: Queue;

  constructor(scope: Construct, id: string, props: RetentionProps) {
    super(scope, id);

    // Failed runs, after the scheduler's and Lambda's retries: the invocation, no data.
    this.deadLetterQueue = new Queue(this, "DeadLetterQueue", {
      encryption: QueueEncryption.KMS,
      encryptionMasterKey: props.observability.key,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    const dlqReason =
      "This queue is the dead-letter queue of the retention job (its schedule's and its function's on-failure destination); an alarm fires on its first message.";
    Validations.of(this.deadLetterQueue).acknowledge({ id: "AwsSolutions-SQS3", reason: dlqReason });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: "Serverless-SQSRedrivePolicy",
      reason: dlqReason,
    });

    this.job = props.functions.create(this, "DeleteExpired", {
      entry: "functions/retention/delete-expired.ts",
      description:
        "Daily: deletes challenges past their retention date (never held ones) and leaves tombstones",
      invokedBy: "async",
      onFailure: this.deadLetterQueue,
      // Two runs at once would race for the same records (harmlessly, by conditions, but pointlessly).
      reservedConcurrency: 1,
      memorySize: 512,
      timeout: Duration.minutes(15),
      environment: { RETENTION_TENANT_IDS: props.tenantIds.join(",") },
    });

    // Exactly what retention-store.ts does: read and delete items of the base table, write the
    // tombstone, and query the retention index only (no other index, no scan).
    const table = props.store.table;
    this.job.role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: [
          "dynamodb:GetItem",
          "dynamodb:Query",
          "dynamodb:PutItem",
          "dynamodb:UpdateItem",
          "dynamodb:DeleteItem",
          "dynamodb:BatchWriteItem",
        ],
        resources: [table.tableArn],
      }),
    );
    this.job.role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ["dynamodb:Query"],
        resources: [`${table.tableArn}/index/${INDEXES.byRetentionDate.name}`],
      }),
    );
    props.store.key.grant(
      this.job.fn,
      "kms:Decrypt",
      "kms:DescribeKey",
      "kms:Encrypt",
      "kms:GenerateDataKey",
    );

    // The schedule's own role (not the stack-wide one the target would create), so what it may do
    // is visible here: invoke this function and send to this dead-letter queue.
    const schedulerRole = new Role(this, "SchedulerRole", {
      assumedBy: new ServicePrincipal("scheduler.amazonaws.com"),
      description: "Lets the daily retention schedule invoke the retention job",
    });
    Validations.of(schedulerRole).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${nagRef(this.job.fn.node.defaultChild as CfnFunction, "Arn")}:*]`,
      reason:
        "Added by CDK's Lambda grantInvoke: the function's own versions and aliases (`<arn>:*`), one function only.",
    });
    this.schedule = new Schedule(this, "Daily", {
      description: "Runs the retention job once a day",
      schedule: ScheduleExpression.cron({ hour: "2", minute: "0", timeZone: TimeZone.EUROPE_LONDON }),
      target: new LambdaInvoke(this.job.fn, {
        role: schedulerRole,
        deadLetterQueue: this.deadLetterQueue,
        retryAttempts: 3,
        maxEventAge: Duration.hours(6),
      }),
    });
    props.observability.watchDeadLetterQueue(this.deadLetterQueue, "Retention job");
  }
}
