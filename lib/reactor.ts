import { Aws, Duration } from "aws-cdk-lib";
import { PolicyStatement } from "aws-cdk-lib/aws-iam";
import { FilterCriteria, StartingPosition } from "aws-cdk-lib/aws-lambda";
import { DynamoEventSource, SqsDlq } from "aws-cdk-lib/aws-lambda-event-sources";
import type { Queue } from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { DEFAULT_SECRET_PREFIX } from "../functions/case-notes/push-case-notes.js";
import { REACTOR_MAX_RECORD_AGE_SECONDS, REACTOR_RETRY_ATTEMPTS } from "../functions/mail/outbox-policy.js";
import { REACTOR_STREAM_FILTER } from "../functions/store/table.js";
import { encryptedDeadLetterQueue, onFailureDestinationReason } from "./dead-letter-queue.js";
import { type FunctionFactory, type ServiceFunction, acknowledgeKmsGrant } from "./functions.js";
import type { Mail } from "./mail.js";
import type { Observability } from "./observability.js";
import type { Store } from "./store.js";

/** Where each tenant's case-note webhook signing secret lives: this prefix + the tenant id. */
export const CASE_NOTE_WEBHOOK_SECRET_PREFIX = DEFAULT_SECRET_PREFIX;

/**
 * Records still failing at this age go to the on-failure queue instead of holding up their shard:
 * far longer than an email's sending claim (so a claim left by a crashed invocation expires and is
 * taken over first), well inside the stream's 24-hour retention (so a dead letter can be redriven).
 */
export const REACTOR_MAX_RECORD_AGE = Duration.seconds(REACTOR_MAX_RECORD_AGE_SECONDS);

export interface EventReactorProps {
  readonly functions: FunctionFactory;
  readonly store: Store;
  readonly mail: Mail;
  /** The state machine's ARN as a string (see ChallengeStack: no dependency cycle). */
  readonly stateMachineArn: string;
  readonly observability: Observability;
}

/**
 * The event reactor: the table's stream is the transactional outbox, and this is its second reader
 * (the first is the audit exporter; DynamoDB Streams serves at most two per shard). One Lambda
 * (functions/reactor/reactor.ts) with one event source mapping runs, for each batch of new event
 * items, the workflow starter, the notification sender and the case-note webhook push in turn, so
 * its role holds the union of what those steps need, and nothing else:
 *
 * - workflow: states:StartExecution on the challenge state machine;
 * - notifications: SES send as the service identity through its configuration set, read of the
 *   reply-token key, and the table (challenge, tenant and directory reads; the delivery ledger);
 * - case notes: read of the tenants' webhook signing secrets, the table (configuration and event
 *   reads), and HTTPS to each authority's case-record webhook (no VPC: see `externalEgress`).
 */
export class EventReactor extends Construct {
  readonly reactor: ServiceFunction;
  readonly deadLetterQueue: Queue;

  constructor(scope: Construct, id: string, props: EventReactorProps) {
    super(scope, id);
    const { store, mail } = props;

    // Stream failures: which records could not be done (shard and sequence numbers, no data).
    this.deadLetterQueue = encryptedDeadLetterQueue(
      this,
      "ReactorDeadLetterQueue",
      props.observability.key,
      onFailureDestinationReason("event reactor"),
    );

    this.reactor = props.functions.create(this, "React", {
      entry: "functions/reactor/reactor.ts",
      description:
        "Reacts to new challenge events: starts workflow runs, sends notifications, pushes case notes",
      invokedBy: "stream",
      memorySize: 1024,
      // Up to 25 events a batch, each with a few emails and a webhook call (5 s timeout each).
      timeout: Duration.minutes(2),
      environment: {
        ...mail.senderEnvironment,
        CASE_NOTE_WEBHOOK_SECRET_PREFIX,
      },
      externalEgress:
        "Besides AWS regional endpoints, the function POSTs signed case notes over HTTPS to each authority's own case-record webhook on the internet (functions/case-notes/push-case-notes.ts). There is no private network resource to protect; a VPC would only add a NAT gateway in the same path, and each request is authenticated by an HMAC signature.",
    });
    this.reactor.fn.addEventSource(
      new DynamoEventSource(store.table, {
        startingPosition: StartingPosition.TRIM_HORIZON,
        batchSize: 25,
        maxBatchingWindow: Duration.seconds(1),
        // One batch per shard at a time: a challenge's events are reacted to in order.
        parallelizationFactor: 1,
        bisectBatchOnError: true,
        retryAttempts: REACTOR_RETRY_ATTEMPTS,
        maxRecordAge: REACTOR_MAX_RECORD_AGE,
        reportBatchItemFailures: true,
        onFailure: new SqsDlq(this.deadLetterQueue),
        // New event and good practice items only: functions/store/table.ts, shared with the local runtime.
        filters: [FilterCriteria.filter(REACTOR_STREAM_FILTER)],
      }),
    );
    store.grantStreamRead(this.reactor);
    // Reads (challenges, events, tenants, staff) and the steps' own dedupe records (mail ledger).
    store.grantReadWrite(this.reactor);
    acknowledgeKmsGrant(this.reactor);

    // workflow
    this.reactor.role.addToPrincipalPolicy(
      new PolicyStatement({ actions: ["states:StartExecution"], resources: [props.stateMachineArn] }),
    );
    // notifications
    mail.grantSendNotifications(this.reactor);
    // case notes
    // Pseudo parameters rather than formatArn: the acknowledgement below then names the same
    // resource whether or not the stack's environment is known at synth time.
    const webhookSecrets = `arn:${Aws.PARTITION}:secretsmanager:${Aws.REGION}:${Aws.ACCOUNT_ID}:secret:${CASE_NOTE_WEBHOOK_SECRET_PREFIX}*`;
    this.reactor.role.addToPrincipalPolicy(
      new PolicyStatement({ actions: ["secretsmanager:GetSecretValue"], resources: [webhookSecrets] }),
    );
    this.reactor.acknowledge(
      `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:${CASE_NOTE_WEBHOOK_SECRET_PREFIX}*]`,
      "Each authority's case-note webhook signing secret is named by this prefix and its tenant id, created by the operator when the webhook is set up; Secrets Manager adds a random suffix to every secret ARN. secretsmanager:GetSecretValue only.",
    );

    props.observability.watchDeadLetterQueue(this.deadLetterQueue, "Event reactor");
  }
}
