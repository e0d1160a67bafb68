import { Aws, Duration, RemovalPolicy } from "aws-cdk-lib";
import {
  Alarm,
  ComparisonOperator,
  type IMetric,
  Metric,
  TreatMissingData,
} from "aws-cdk-lib/aws-cloudwatch";
import { SnsAction } from "aws-cdk-lib/aws-cloudwatch-actions";
import { PolicyStatement, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import { Key } from "aws-cdk-lib/aws-kms";
import { LogGroup, RetentionDays } from "aws-cdk-lib/aws-logs";
import type { Queue } from "aws-cdk-lib/aws-sqs";
import type { StateMachine } from "aws-cdk-lib/aws-stepfunctions";
import { Topic } from "aws-cdk-lib/aws-sns";
import { Construct } from "constructs";
import type { ServiceFunction } from "./functions.js";

/** Application, state machine and access logs are kept a year: long enough to investigate an incident. */
export const LOG_RETENTION = RetentionDays.ONE_YEAR;

/**
 * Operations: the key that encrypts logs and operational messages, the topic operators subscribe
 * to, and the alarms that publish to it.
 */
export class Observability extends Construct {
  /** Encrypts every log group, the alarm topic and the dead-letter queues of this stack's plumbing. */
  readonly key: Key;
  /** Alarms and workflow failure reports. Subscribe the on-call address or a ticketing endpoint. */
  readonly topic: Topic;

  constructor(scope: Construct, id: string) {
    super(scope, id);

    this.key = new Key(this, "OpsKey", {
      description: "Challenge & Resolution Service: logs, alarms and dead-letter queues",
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // CloudWatch Logs encrypts log groups with the key, limited to this account's log groups.
    this.key.addToResourcePolicy(
      new PolicyStatement({
        sid: "AllowCloudWatchLogs",
        principals: [new ServicePrincipal(`logs.${Aws.REGION}.amazonaws.com`)],
        actions: ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
        resources: ["*"],
        conditions: {
          ArnLike: {
            "kms:EncryptionContext:aws:logs:arn": `arn:${Aws.PARTITION}:logs:${Aws.REGION}:${Aws.ACCOUNT_ID}:log-group:*`,
          },
        },
      }),
    );
    // CloudWatch alarms publish to the encrypted topic.
    this.key.addToResourcePolicy(
      new PolicyStatement({
        sid: "AllowCloudWatchAlarms",
        principals: [new ServicePrincipal("cloudwatch.amazonaws.com")],
        actions: ["kms:Decrypt", "kms:GenerateDataKey*"],
        resources: ["*"],
        conditions: { StringEquals: { "aws:SourceAccount": Aws.ACCOUNT_ID } },
      }),
    );

    this.topic = new Topic(this, "AlarmTopic", {
      displayName: "Challenge & Resolution Service alarms",
      masterKey: this.key,
      enforceSSL: true,
    });
  }

  /** An encrypted log group with the standard retention. */
  logGroup(scope: Construct, id: string, logGroupName?: string): LogGroup {
    return new LogGroup(scope, id, {
      logGroupName,
      encryptionKey: this.key,
      retention: LOG_RETENTION,
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }

  private alarm(
    scope: Construct,
    id: string,
    metric: IMetric,
    threshold: number,
    description: string,
  ): Alarm {
    const alarm = new Alarm(scope, id, {
      metric,
      threshold,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
      alarmDescription: description,
    });
    alarm.addAlarmAction(new SnsAction(this.topic));
    alarm.addOkAction(new SnsAction(this.topic));
    return alarm;
  }

  /**
   * Errors of one function. Throttles are watched once for the whole account and Region
   * ({@link watchThrottles}): an alarm per function per metric took the stack past CloudFormation's
   * 500 resources, and a throttle is a concurrency limit the functions share.
   */
  watchFunction(fn: ServiceFunction): void {
    const period = Duration.minutes(5);
    this.alarm(
      fn,
      "ErrorsAlarm",
      fn.fn.metricErrors({ period, statistic: "Sum" }),
      1,
      `${fn.node.path}: the function failed at least once in 5 minutes.`,
    );
    if (fn.invokedBy === "stream") {
      // Stream records are kept for 24 hours only: a lagging consumer loses audit events.
      this.alarm(
        fn,
        "IteratorAgeAlarm",
        fn.fn.metric("IteratorAge", { period: Duration.minutes(1), statistic: "Maximum" }),
        Duration.hours(1).toMilliseconds(),
        `${fn.node.path}: stream records are over an hour old; DynamoDB Streams drops them after 24 hours.`,
      );
    }
  }

  /** Any Lambda function of the account and Region throttled (one alarm: see {@link watchFunction}). */
  watchThrottles(scope: Construct): void {
    this.alarm(
      scope,
      "LambdaThrottlesAlarm",
      new Metric({
        namespace: "AWS/Lambda",
        metricName: "Throttles",
        period: Duration.minutes(5),
        statistic: "Sum",
      }),
      1,
      "A Lambda function of this account and Region was throttled at least once in 5 minutes (the functions share the account's concurrency).",
    );
  }

  /** Any message in a dead-letter queue needs a person. */
  watchDeadLetterQueue(queue: Queue, what: string): void {
    this.alarm(
      queue,
      "DepthAlarm",
      queue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: "Maximum" }),
      1,
      `${what}: a message reached the dead-letter queue.`,
    );
  }

  watchStateMachine(stateMachine: StateMachine): void {
    const period = Duration.minutes(5);
    this.alarm(
      stateMachine,
      "ExecutionsFailedAlarm",
      stateMachine.metricFailed({ period, statistic: "Sum" }),
      1,
      "A challenge workflow failed: that challenge has no timer until it is restarted.",
    );
    this.alarm(
      stateMachine,
      "ExecutionsTimedOutAlarm",
      stateMachine.metricTimedOut({ period, statistic: "Sum" }),
      1,
      "A challenge workflow timed out (the execution limit is one year).",
    );
    this.alarm(
      stateMachine,
      "ExecutionsAbortedAlarm",
      stateMachine.metricAborted({ period, statistic: "Sum" }),
      1,
      "A challenge workflow was stopped by hand.",
    );
    this.alarm(
      stateMachine,
      "ExecutionThrottledAlarm",
      stateMachine.metricThrottled({ period, statistic: "Sum" }),
      1,
      "Step Functions throttled state transitions of the challenge workflow.",
    );
  }

  /** API Gateway 5xx responses. */
  watchApi(scope: Construct, serverErrors: IMetric): void {
    this.alarm(
      scope,
      "ServerErrorsAlarm",
      serverErrors,
      5,
      "The API returned five or more 5xx responses in 5 minutes.",
    );
  }

  /** SES account reputation: SES pauses sending above 10% bounces or 0.5% complaints. */
  watchSesReputation(scope: Construct): void {
    const period = Duration.hours(1);
    this.alarm(
      scope,
      "BounceRateAlarm",
      new Metric({ namespace: "AWS/SES", metricName: "Reputation.BounceRate", statistic: "Maximum", period }),
      0.05,
      "SES bounce rate is 5% or more: check the staff directory's email addresses.",
    );
    this.alarm(
      scope,
      "ComplaintRateAlarm",
      new Metric({
        namespace: "AWS/SES",
        metricName: "Reputation.ComplaintRate",
        statistic: "Maximum",
        period,
      }),
      0.001,
      "SES complaint rate is 0.1% or more.",
    );
  }
}
