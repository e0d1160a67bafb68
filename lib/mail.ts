import { Aws, CfnOutput, Duration, RemovalPolicy, Stack, Validations } from "aws-cdk-lib";
import { PolicyStatement, Role, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import { Key } from "aws-cdk-lib/aws-kms";
import {
  BlockPublicAccess,
  Bucket,
  BucketEncryption,
  type CfnBucket,
  ObjectOwnership,
} from "aws-cdk-lib/aws-s3";
import { Secret } from "aws-cdk-lib/aws-secretsmanager";
import {
  ConfigurationSet,
  ConfigurationSetTlsPolicy,
  DkimIdentity,
  EasyDkimSigningKeyLength,
  EmailIdentity,
  EmailSendingEvent,
  EventDestination,
  Identity,
  type IReceiptRuleAction,
  type ReceiptRuleActionConfig,
  ReceiptRuleSet,
  SuppressionReasons,
  TlsPolicy,
} from "aws-cdk-lib/aws-ses";
import { SqsEventSource } from "aws-cdk-lib/aws-lambda-event-sources";
import { Lambda as LambdaAction, LambdaInvocationType } from "aws-cdk-lib/aws-ses-actions";
import { Topic } from "aws-cdk-lib/aws-sns";
import { LambdaSubscription } from "aws-cdk-lib/aws-sns-subscriptions";
import { Queue, QueueEncryption } from "aws-cdk-lib/aws-sqs";
import { AwsCustomResource, AwsCustomResourcePolicy, PhysicalResourceId } from "aws-cdk-lib/custom-resources";
import { Construct } from "constructs";
import { INBOUND_REPLY_ATTEMPTS } from "../functions/mail/inbound-reply.js";
import { type FunctionFactory, type ServiceFunction, acknowledgeKmsGrant, nagRef } from "./functions.js";
import { encryptedDeadLetterQueue } from "./dead-letter-queue.js";
import type { Observability } from "./observability.js";
import type { Store } from "./store.js";

export interface MailProps {
  /** The domain the service sends from and receives replies at (MX points to SES inbound). */
  readonly mailDomain: string;
  /** Deep links in notifications point here (the case-record system). */
  readonly caseRecordBaseUrl: string;
  /** The tenants this deployment serves: a reply token verifies only for one of them. */
  readonly tenantIds: readonly string[];
  readonly functions: FunctionFactory;
  readonly store: Store;
  readonly observability: Observability;
  /** Server access logs of the inbound mail bucket. */
  readonly accessLogBucket: Bucket;
}

/** At most this many replies applied at once (the SQS event source's maximum concurrency). */
export const INBOUND_APPLIER_CONCURRENCY = 5;

/** Raw inbound messages are written under this prefix, named by their SES message id. */
export const INBOUND_PREFIX = "inbound/";

/**
 * An SES S3 action that writes with a role of ours. SES then calls S3 and KMS as that role, so the
 * bucket can use SSE-KMS with a customer-managed key (the L2 action has no role option).
 */
class S3ActionWithRole implements IReceiptRuleAction {
  constructor(
    private readonly bucket: Bucket,
    private readonly prefix: string,
    private readonly role: Role,
  ) {}

  bind(): ReceiptRuleActionConfig {
    const s3Action = {
      bucketName: this.bucket.bucketName,
      objectKeyPrefix: this.prefix,
      iamRoleArn: this.role.roleArn,
    };
    return { s3Action };
  }
}

/**
 * Mail out (the identity, a configuration set that reports bounces and complaints, and the reply
 * key: the event reactor sends notifications from committed events, see lib/reactor.ts), what SES
 * reports about it (bounces, complaints and rejections, recorded on the challenge by the
 * delivery-events handler) and mail in (SES receipt rule: TLS required, spam and virus scanning,
 * raw message to an encrypted bucket, then the inbound handler).
 */
export class Mail extends Construct {
  readonly key: Key;
  readonly identity: EmailIdentity;
  readonly configurationSet: ConfigurationSet;
  readonly eventsTopic: Topic;
  /** Records undeliverable notifications on their challenge and alerts the raiser (the events topic's subscriber). */
  readonly deliveryEvents: ServiceFunction;
  /** SES events not recorded: SNS could not deliver them, or the handler failed them after its retries. */
  readonly deliveryEventsDeadLetterQueue: Queue;
  readonly bucket: Bucket;
  readonly ruleSet: ReceiptRuleSet;
  readonly inboundDeadLetterQueue: Queue;
  /** Verified replies, from the receiver (functions/mail/receive-email.ts) to the applier. */
  readonly repliesQueue: Queue;
  /** Replies the applier failed on every delivery: kept for a person to redrive; alarmed. */
  readonly repliesDeadLetterQueue: Queue;
  /** HMAC key for the signed, expiring reply ids in Reply-To addresses. */
  readonly replyTokenSecret: Secret;
  /** Reads, parses and verifies each message SES stored; hands verified replies on. */
  readonly receiver: ServiceFunction;
  /** Applies each verified reply to its challenge (functions/mail/apply-reply.ts). */
  readonly replyApplier: ServiceFunction;
  /** What a function that sends notifications reads (functions/mail/send-notification.ts). */
  readonly senderEnvironment: Readonly<Record<string, string>>;

  constructor(scope: Construct, id: string, props: MailProps) {
    super(scope, id);
    const { mailDomain } = props;

    this.key = new Key(this, "MailKey", {
      description: "Challenge & Resolution Service: mail in and out",
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // SES publishes bounce and complaint events to the encrypted topic.
    this.key.addToResourcePolicy(
      new PolicyStatement({
        sid: "AllowSesEventPublishing",
        principals: [new ServicePrincipal("ses.amazonaws.com")],
        actions: ["kms:GenerateDataKey*", "kms:Decrypt"],
        resources: ["*"],
        conditions: { StringEquals: { "aws:SourceAccount": Aws.ACCOUNT_ID } },
      }),
    );
    // SNS moves an SES event it cannot deliver to the handler into the encrypted dead-letter queue.
    this.key.addToResourcePolicy(
      new PolicyStatement({
        sid: "AllowSnsDeadLetters",
        principals: [new ServicePrincipal("sns.amazonaws.com")],
        actions: ["kms:GenerateDataKey*", "kms:Decrypt"],
        resources: ["*"],
        conditions: { StringEquals: { "aws:SourceAccount": Aws.ACCOUNT_ID } },
      }),
    );

    // --- out -----------------------------------------------------------------------------------
    this.eventsTopic = new Topic(this, "MailEventsTopic", {
      displayName: "Challenge & Resolution Service: bounces and complaints",
      masterKey: this.key,
      enforceSSL: true,
    });
    this.configurationSet = new ConfigurationSet(this, "ConfigurationSet", {
      tlsPolicy: ConfigurationSetTlsPolicy.REQUIRE,
      reputationMetrics: true,
      sendingEnabled: true,
      suppressionReasons: SuppressionReasons.BOUNCES_AND_COMPLAINTS,
    });
    this.configurationSet.addEventDestination("BouncesAndComplaints", {
      destination: EventDestination.snsTopic(this.eventsTopic),
      events: [
        EmailSendingEvent.BOUNCE,
        EmailSendingEvent.COMPLAINT,
        EmailSendingEvent.REJECT,
        EmailSendingEvent.DELIVERY_DELAY,
        EmailSendingEvent.RENDERING_FAILURE,
      ],
    });
    this.identity = new EmailIdentity(this, "Identity", {
      identity: Identity.domain(mailDomain),
      configurationSet: this.configurationSet,
      dkimSigning: true,
      dkimIdentity: DkimIdentity.easyDkim(EasyDkimSigningKeyLength.RSA_2048_BIT),
      // A custom MAIL FROM aligns SPF with the From domain (DMARC).
      mailFromDomain: `bounce.${mailDomain}`,
    });

    this.replyTokenSecret = new Secret(this, "ReplyTokenKey", {
      description: "HMAC key that signs the reply ids carried in notification Reply-To addresses",
      encryptionKey: this.key,
      // One reply key, {"id":0,"secret":"<64 base64-alphabet characters = 48 bytes>"}: the flat shape
      // functions/mail/reply-keys.ts parseReplyKeySecret reads as the current key. To rotate,
      // put the new key flat and keep the old one as {"previous":{"id":0,"secret":"..."}} (another id).
      generateSecretString: {
        secretStringTemplate: JSON.stringify({ id: 0 }),
        generateStringKey: "secret",
        passwordLength: 64,
        excludePunctuation: true,
        includeSpace: false,
      },
    });
    const noRotation =
      "An HMAC signing key for reply addresses, not a credential for another system: rotating it invalidates every reply address still in people's inboxes. Rotate by hand with a two-key overlap (the handlers accept the previous key until open stages close).";
    Validations.of(this.replyTokenSecret).acknowledge({ id: "AwsSolutions-SMG4", reason: noRotation });
    Validations.of(this.replyTokenSecret).acknowledge({
      id: "NIST.800.53.R5-SecretsManagerRotationEnabled",
      reason: noRotation,
    });

    // No outbox queue: the table's stream is the outbox. The event reactor (lib/reactor.ts) sends
    // notifications from committed events with the environment and grants below.
    const mailEnvironment = {
      MAIL_DOMAIN: mailDomain,
      MAIL_FROM: `challenges@${mailDomain}`,
      SES_CONFIGURATION_SET: this.configurationSet.configurationSetName,
      REPLY_TOKEN_SECRET_ARN: this.replyTokenSecret.secretArn,
    };
    this.senderEnvironment = { ...mailEnvironment, CASE_RECORD_BASE_URL: props.caseRecordBaseUrl };

    // --- what SES reports about mail out ----------------------------------------------------------
    // functions/mail/delivery-events.ts: a permanent bounce, a complaint or a rejection is recorded
    // on the challenge (a NotificationUndeliverable event) and the raiser is told by email (a
    // MAILOUT#ALERT# delivery record); transient bounces and delays are only counted. SNS invokes it asynchronously.
    this.deliveryEventsDeadLetterQueue = encryptedDeadLetterQueue(
      this,
      "DeliveryEventsDeadLetterQueue",
      this.key,
      "This is the dead-letter queue of the mail delivery events: the subscription's redrive target and the handler's on-failure destination; an alarm fires on its first message.",
    );
    this.deliveryEvents = props.functions.create(this, "DeliveryEvents", {
      entry: "functions/mail/delivery-events.ts",
      description:
        "Records bounced, complained-of and rejected notifications on their challenge and tells the raiser",
      invokedBy: "async",
      memorySize: 512,
      timeout: Duration.seconds(30),
      // A burst of bounces (a wrong address in the staff directory, a mail outage) must not starve
      // the API and the workflow; throttled asynchronous events wait in Lambda's queue.
      reservedConcurrency: 5,
      onFailure: this.deliveryEventsDeadLetterQueue,
      // parseMailConfig requires the reply-key ARN; this handler never reads the key (the raiser's
      // alert carries no reply address), so it has no grant on the secret.
      environment: this.senderEnvironment,
    });
    // The challenge's events, the tenant's staff and configuration (to address the raiser), the
    // undeliverable event with its snapshot (PutItem, in one transaction: DynamoDB authorises a
    // transaction per item action) and the alert's delivery record (Update, Get, Delete).
    props.store.grantItems(this.deliveryEvents, ["GetItem", "Query", "PutItem", "UpdateItem", "DeleteItem"]);
    this.grantSendEmail(this.deliveryEvents);
    this.eventsTopic.addSubscription(
      new LambdaSubscription(this.deliveryEvents.fn, { deadLetterQueue: this.deliveryEventsDeadLetterQueue }),
    );
    props.observability.watchDeadLetterQueue(this.deliveryEventsDeadLetterQueue, "Mail delivery events");

    // --- in ------------------------------------------------------------------------------------
    this.bucket = new Bucket(this, "InboundBucket", {
      encryption: BucketEncryption.KMS,
      encryptionKey: this.key,
      bucketKeyEnabled: true,
      versioned: true,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      serverAccessLogsBucket: props.accessLogBucket,
      serverAccessLogsPrefix: "inbound-mail/",
      removalPolicy: RemovalPolicy.RETAIN,
      // The recorded events are the record; raw messages are kept 90 days to investigate a disputed reply.
      lifecycleRules: [{ expiration: Duration.days(90), noncurrentVersionExpiration: Duration.days(1) }],
    });
    Validations.of(this.bucket).acknowledge({
      id: "NIST.800.53.R5-S3BucketReplicationEnabled",
      reason:
        "Single-region by design: raw inbound mail about children stays in the deployment region and expires after 90 days; the events recorded from it are the record.",
    });

    this.ruleSet = new ReceiptRuleSet(this, "ReceiptRuleSet");
    const sesWriter = new Role(this, "SesInboundRole", {
      description: "SES writes inbound mail to the encrypted inbound bucket",
      assumedBy: new ServicePrincipal("ses.amazonaws.com", {
        conditions: { StringEquals: { "aws:SourceAccount": Aws.ACCOUNT_ID } },
      }),
    });
    sesWriter.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ["s3:PutObject"],
        resources: [this.bucket.arnForObjects(`${INBOUND_PREFIX}*`)],
      }),
    );
    this.key.grant(sesWriter, "kms:GenerateDataKey", "kms:Decrypt");
    Validations.of(sesWriter).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${nagRef(this.bucket.node.defaultChild as CfnBucket, "Arn")}/${INBOUND_PREFIX}*]`,
      reason:
        "SES names each object by its message id, unknown in advance; s3:PutObject under the inbound prefix only.",
    });

    this.inboundDeadLetterQueue = encryptedDeadLetterQueue(
      this,
      "InboundDeadLetterQueue",
      this.key,
      "This is the inbound handler's on-failure dead-letter queue; an alarm fires on its first message.",
    );
    // Inbound mail is two functions (README, "Inbound email"): the receiver reads the raw message,
    // parses it (postal-mime), verifies the reply token and SES's verdicts, and puts a small verified
    // reply on the replies queue; the applier runs it as a command. The raw message stays in the
    // bucket; a reply the applier fails is delivered again, then kept in the dead-letter queue.
    const applierTimeout = Duration.minutes(1);
    this.repliesDeadLetterQueue = encryptedDeadLetterQueue(
      this,
      "RepliesDeadLetterQueue",
      this.key,
      "This is the inbound replies queue's redrive dead-letter queue; an alarm fires on its first message.",
    );
    this.repliesQueue = new Queue(this, "RepliesQueue", {
      encryption: QueueEncryption.KMS,
      encryptionMasterKey: this.key,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      // Lambda's advice for an SQS event source: at least six times the function's timeout.
      visibilityTimeout: Duration.seconds(6 * applierTimeout.toSeconds()),
      deadLetterQueue: { queue: this.repliesDeadLetterQueue, maxReceiveCount: INBOUND_REPLY_ATTEMPTS },
    });

    this.receiver = props.functions.create(this, "ReceiveEmail", {
      entry: "functions/mail/receive-email.ts",
      description:
        "Reads a reply SES stored, checks its verdicts and signed reply id, queues it to be applied",
      invokedBy: "async",
      memorySize: 1024,
      timeout: Duration.minutes(1),
      // A flood of inbound mail must not starve the API and the workflow of concurrency.
      reservedConcurrency: 10,
      onFailure: this.inboundDeadLetterQueue,
      environment: {
        ...mailEnvironment,
        MAIL_BUCKET: this.bucket.bucketName,
        MAIL_PREFIX: INBOUND_PREFIX,
        // A reply token verifies only for one of these tenants (functions/mail/reply-token.ts).
        MAIL_TENANT_IDS: props.tenantIds.join(","),
        INBOUND_REPLY_QUEUE_URL: this.repliesQueue.queueUrl,
      },
    });
    // Read the raw messages SES stored; nothing else in the bucket, no listing, no writes.
    this.receiver.role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ["s3:GetObject"],
        resources: [this.bucket.arnForObjects(`${INBOUND_PREFIX}*`)],
      }),
    );
    this.key.grantDecrypt(this.receiver.role);
    this.receiver.acknowledge(
      `AwsSolutions-IAM5[Resource::${nagRef(this.bucket.node.defaultChild as CfnBucket, "Arn")}/${INBOUND_PREFIX}*]`,
      "Reads the raw message SES stored under the inbound prefix, named by a message id unknown in advance; s3:GetObject only.",
    );
    // The records of what it refuses itself (functions/mail/inbound-records.ts): one Put each, no reads.
    props.store.grantItems(this.receiver, ["PutItem"]);
    this.replyTokenSecret.grantRead(this.receiver.fn);
    this.repliesQueue.grantSendMessages(this.receiver.fn);
    acknowledgeKmsGrant(this.receiver);

    this.replyApplier = props.functions.create(this, "ApplyReply", {
      entry: "functions/mail/apply-reply.ts",
      description:
        "Applies a verified reply to its challenge: records the response, or refuses and tells the sender",
      invokedBy: "queue",
      memorySize: 1024,
      timeout: applierTimeout,
      // parseMailConfig requires the reply-key ARN; the applier never reads the key (the receiver
      // verified the token), so it has no grant on the secret.
      environment: mailEnvironment,
    });
    this.replyApplier.fn.addEventSource(
      new SqsEventSource(this.repliesQueue, {
        batchSize: 1,
        reportBatchItemFailures: true,
        // As the receiver's reserved concurrency: a flood of replies must not starve the API.
        maxConcurrency: INBOUND_APPLIER_CONCURRENCY,
      }),
    );
    this.replyApplier.acknowledge(
      "Serverless-LambdaEventSourceMappingDestination",
      "An SQS event source mapping has no on-failure destination: a reply that fails every delivery moves to the replies queue's redrive dead-letter queue, which is alarmed.",
    );
    // The command's transaction, the claims (Put, Delete), the records and the bounce's delivery record.
    props.store.grantReadWrite(this.replyApplier);
    // The bounce-style reply to a refused message (functions/mail/inbound-policy.ts bounceText)
    // goes straight through SES, as notifications do.
    this.grantSendEmail(this.replyApplier);
    acknowledgeKmsGrant(this.replyApplier);

    this.ruleSet.addRule("Replies", {
      // Reply addresses are reply+<token>@<mailDomain> (no MAIL_REPLY_DOMAIN is set): a domain
      // recipient matches every address in the domain, and no other rule set is active.
      recipients: [mailDomain],
      tlsPolicy: TlsPolicy.REQUIRE,
      scanEnabled: true,
      actions: [
        new S3ActionWithRole(this.bucket, INBOUND_PREFIX, sesWriter),
        new LambdaAction({ function: this.receiver.fn, invocationType: LambdaInvocationType.EVENT }),
      ],
    });

    // CDK creates the rule set but cannot make it the account's active one: do it at deploy time.
    const activation = new AwsCustomResource(this, "ActivateReceiptRuleSet", {
      resourceType: "Custom::SesActiveReceiptRuleSet",
      onCreate: {
        service: "SES",
        action: "SetActiveReceiptRuleSet",
        parameters: { RuleSetName: this.ruleSet.receiptRuleSetName },
        physicalResourceId: PhysicalResourceId.of(`${Stack.of(this).stackName}-active-receipt-rule-set`),
      },
      onUpdate: {
        service: "SES",
        action: "SetActiveReceiptRuleSet",
        parameters: { RuleSetName: this.ruleSet.receiptRuleSetName },
        physicalResourceId: PhysicalResourceId.of(`${Stack.of(this).stackName}-active-receipt-rule-set`),
      },
      // With no name, SES deactivates the active rule set: inbound mail stops with the stack.
      onDelete: { service: "SES", action: "SetActiveReceiptRuleSet", parameters: {} },
      policy: AwsCustomResourcePolicy.fromStatements([
        new PolicyStatement({ actions: ["ses:SetActiveReceiptRuleSet"], resources: ["*"] }),
      ]),
      installLatestAwsSdk: false,
      memorySize: 256,
      timeout: Duration.minutes(2),
      logGroup: props.observability.logGroup(this, "ActivateReceiptRuleSetLogs"),
    });
    activation.node.addDependency(this.ruleSet);
    Validations.of(activation).acknowledge({
      id: "AwsSolutions-IAM5[Resource::*]",
      reason:
        "ses:SetActiveReceiptRuleSet supports no resource-level permissions; this is the only action granted.",
    });
    acknowledgeCustomResourceProvider(this);

    props.observability.watchDeadLetterQueue(this.inboundDeadLetterQueue, "Inbound mail");
    props.observability.watchDeadLetterQueue(this.repliesDeadLetterQueue, "Inbound replies");
    props.observability.watchSesReputation(this);

    for (const [index, record] of this.identity.dkimRecords.entries()) {
      new CfnOutput(this, `DkimRecord${index + 1}`, {
        description: "DKIM: add this CNAME to the mail domain's DNS",
        value: `${record.name} CNAME ${record.value}`,
      });
    }
    new CfnOutput(this, "MailFromMx", {
      description: "Custom MAIL FROM domain (bounces return here): MX record",
      value: `bounce.${mailDomain} MX 10 feedback-smtp.${Aws.REGION}.amazonses.com`,
    });
    new CfnOutput(this, "MailFromSpf", {
      description: "Custom MAIL FROM domain: SPF TXT record",
      value: `bounce.${mailDomain} TXT "v=spf1 include:amazonses.com ~all"`,
    });
    new CfnOutput(this, "InboundMx", {
      description: "MX record for the mail domain: replies are received by SES in this region",
      value: `${mailDomain} MX 10 inbound-smtp.${Aws.REGION}.amazonaws.com`,
    });
  }

  /**
   * SES send as the service's identity, through its configuration set (both named: no wildcard).
   * The functions send with the v2 SendEmail API (Simple content), which `ses:SendEmail` authorizes:
   * no `ses:SendRawEmail`.
   */
  grantSendEmail(fn: ServiceFunction): void {
    fn.role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ["ses:SendEmail"],
        resources: [
          this.identity.emailIdentityArn,
          Stack.of(this).formatArn({
            service: "ses",
            resource: "configuration-set",
            resourceName: this.configurationSet.configurationSetName,
          }),
        ],
      }),
    );
  }

  /** What sending a notification needs: SES send (identity and configuration set) and the reply key. */
  grantSendNotifications(fn: ServiceFunction): void {
    this.grantSendEmail(fn);
    this.replyTokenSecret.grantRead(fn.fn);
  }
}

/**
 * The singleton Lambda that AwsCustomResource creates at stack level (one per stack, shared).
 * Its code, runtime and role come from CDK; acknowledge what we cannot configure on it.
 */
function acknowledgeCustomResourceProvider(scope: Construct): void {
  const provider = Stack.of(scope).node.tryFindChild(
    `AWS${AwsCustomResource.PROVIDER_FUNCTION_UUID.replaceAll("-", "")}`,
  );
  if (provider === undefined) throw new Error("AwsCustomResource provider function not found");
  const v = Validations.of(provider);
  const cdkManaged =
    "CDK's AwsCustomResource provider, run only by CloudFormation during deployment to call ses:SetActiveReceiptRuleSet.";
  v.acknowledge({
    id: "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
    reason: `${cdkManaged} CDK attaches the basic execution managed policy to its role.`,
  });
  v.acknowledge({
    id: "AwsSolutions-L1",
    reason: `${cdkManaged} CDK picks the latest Node.js runtime per region at deploy time.`,
  });
  v.acknowledge({
    id: "Serverless-LambdaLatestVersion",
    reason: `${cdkManaged} CDK picks the latest Node.js runtime per region at deploy time.`,
  });
  v.acknowledge({
    id: "Serverless-LambdaDLQ",
    reason: `${cdkManaged} Invoked synchronously by CloudFormation.`,
  });
  v.acknowledge({
    id: "NIST.800.53.R5-LambdaDLQ",
    reason: `${cdkManaged} Invoked synchronously by CloudFormation.`,
  });
  v.acknowledge({
    id: "NIST.800.53.R5-LambdaConcurrency",
    reason: `${cdkManaged} Runs once per deployment.`,
  });
  v.acknowledge({
    id: "NIST.800.53.R5-LambdaInsideVPC",
    reason: `${cdkManaged} Calls only the SES API endpoint.`,
  });
  v.acknowledge({
    id: "Serverless-LambdaTracing",
    reason: `${cdkManaged} Its tracing cannot be configured; it runs once per deployment.`,
  });
}
