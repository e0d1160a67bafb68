import { Duration, Validations } from "aws-cdk-lib";
import type { IKey } from "aws-cdk-lib/aws-kms";
import { Queue, QueueEncryption } from "aws-cdk-lib/aws-sqs";
import type { Construct } from "constructs";

/**
 * A dead-letter queue as every one of this stack is: encrypted with `key`, TLS only, messages kept
 * 14 days. It is the redrive target itself, so it has none of its own: `reason` says whose
 * dead-letter queue it is, for both rules that would ask for one. The caller watches it
 * (Observability.watchDeadLetterQueue).
 */
export function encryptedDeadLetterQueue(scope: Construct, id: string, key: IKey, reason: string): Queue {
  const queue = new Queue(scope, id, {
    encryption: QueueEncryption.KMS,
    encryptionMasterKey: key,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
  });
  Validations.of(queue).acknowledge({ id: "AwsSolutions-SQS3", reason });
  Validations.of(queue).acknowledge({ id: "Serverless-SQSRedrivePolicy", reason });
  return queue;
}

/** The reason for a queue that is a stream event source mapping's on-failure destination. */
export function onFailureDestinationReason(what: string): string {
  return `This queue is the on-failure destination of the ${what}'s stream event source mapping: it is the dead-letter queue, and an alarm fires on its first message.`;
}
