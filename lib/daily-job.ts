import { Duration, TimeZone, Validations } from "aws-cdk-lib";
import { Role, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import type { CfnFunction } from "aws-cdk-lib/aws-lambda";
import { Schedule, ScheduleExpression } from "aws-cdk-lib/aws-scheduler";
import { LambdaInvoke } from "aws-cdk-lib/aws-scheduler-targets";
import type { Queue } from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { type FunctionFactory, type ServiceFunction, nagRef } from "./functions.js";
import { encryptedDeadLetterQueue } from "./dead-letter-queue.js";
import type { Observability } from "./observability.js";
import type { Store } from "./store.js";

export interface DailyJobProps {
  readonly functions: FunctionFactory;
  readonly observability: Observability;
  /** The job in words, for descriptions and the alarm ("retention job"). */
  readonly what: string;
  /** The function's construct id and entry file. */
  readonly functionId: string;
  readonly entry: string;
  readonly description: string;
  /** When it runs, London time. */
  readonly at: { readonly hour: number; readonly minute: number };
  readonly environment: Readonly<Record<string, string>>;
  readonly memorySize: number;
  readonly timeout: Duration;
}

/** What a daily job over the deployment's tenants (retention, the benchmark) is built from. */
export interface TenantsJobProps {
  readonly tenantIds: readonly string[];
  readonly functions: FunctionFactory;
  readonly store: Store;
  readonly observability: Observability;
}

export interface DailyJob {
  readonly job: ServiceFunction;
  readonly schedule: Schedule;
  readonly deadLetterQueue: Queue;
}

/**
 * A construct that is one daily job ({@link addDailyJob} in itself): the retention job and the
 * benchmark extend it and add only what their function may read and write.
 */
export abstract class DailyJobConstruct extends Construct implements DailyJob {
  readonly job: ServiceFunction;
  readonly schedule: Schedule;
  readonly deadLetterQueue: Queue;

  protected constructor(scope: Construct, id: string, props: DailyJobProps) {
    super(scope, id);
    ({
      job: this.job,
      schedule: this.schedule,
      deadLetterQueue: this.deadLetterQueue,
    } = addDailyJob(this, props));
  }
}

/**
 * A job run once a day (the retention job, the benchmark): an EventBridge Scheduler schedule in
 * London time invokes the function, one run at a time; a run that still fails after the scheduler's
 * and Lambda's retries lands in the dead-letter queue, whose first message raises an alarm. The
 * caller grants the function what its job reads and writes. Its parts are created in `scope` itself
 * (no construct of its own), so their logical ids are the ones a deployed stack already has.
 */
export function addDailyJob(scope: Construct, props: DailyJobProps): DailyJob {
  // Failed runs, after the scheduler's and Lambda's retries: the invocation, no data.
  const deadLetterQueue = encryptedDeadLetterQueue(
    scope,
    "DeadLetterQueue",
    props.observability.key,
    `This queue is the dead-letter queue of the ${props.what} (its schedule's and its function's on-failure destination); an alarm fires on its first message.`,
  );

  const job = props.functions.create(scope, props.functionId, {
    entry: props.entry,
    description: props.description,
    invokedBy: "async",
    onFailure: deadLetterQueue,
    // Two runs at once would race for the same records (harmlessly, by conditions, but pointlessly).
    reservedConcurrency: 1,
    memorySize: props.memorySize,
    timeout: props.timeout,
    environment: { ...props.environment },
  });

  // The schedule's own role (not the stack-wide one the target would create), so what it may do
  // is visible here: invoke this function and send to this dead-letter queue.
  const schedulerRole = new Role(scope, "SchedulerRole", {
    assumedBy: new ServicePrincipal("scheduler.amazonaws.com"),
    description: `Lets the daily schedule invoke the ${props.what}`,
  });
  Validations.of(schedulerRole).acknowledge({
    id: `AwsSolutions-IAM5[Resource::${nagRef(job.fn.node.defaultChild as CfnFunction, "Arn")}:*]`,
    reason:
      "Added by CDK's Lambda grantInvoke: the function's own versions and aliases (`<arn>:*`), one function only.",
  });
  const schedule = new Schedule(scope, "Daily", {
    description: `Runs the ${props.what} once a day`,
    schedule: ScheduleExpression.cron({
      hour: String(props.at.hour),
      minute: String(props.at.minute),
      timeZone: TimeZone.EUROPE_LONDON,
    }),
    target: new LambdaInvoke(job.fn, {
      role: schedulerRole,
      deadLetterQueue: deadLetterQueue,
      retryAttempts: 3,
      maxEventAge: Duration.hours(6),
    }),
  });
  const title = props.what.charAt(0).toUpperCase() + props.what.slice(1);
  props.observability.watchDeadLetterQueue(deadLetterQueue, title);
  return { job, schedule, deadLetterQueue };
}
