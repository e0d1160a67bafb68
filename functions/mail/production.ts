import { MetricUnit } from "@aws-lambda-powertools/metrics";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SESv2Client } from "@aws-sdk/client-sesv2";
import { documentClient } from "../shared/clients.js";
import { now } from "../shared/clock.js";
import { config } from "../shared/config.js";
import { logger, metrics, withLambdaContext } from "../shared/observability.js";
import { DynamoChallengeStore } from "../store/dynamo-challenge-store.js";
import { TenantStore } from "../store/tenant-store.js";
import { DynamoOutboundLedger, DynamoUndeliverableLog } from "./deliveries.js";
import { DEFAULT_AUTHORITY_NAME, type MailConfig, parseMailConfig, required } from "./mail-config.js";
import { MailContextLoader, presetProtocol } from "./mail-context.js";
import { Mailer } from "./mailer.js";
import type { MailObserver, OutboundDependencies } from "./outbound.js";
import { type ReplyKeySource, SecretsManagerReplyKeys } from "./reply-keys.js";

// Production wiring, shared by the mail functions (send-notification.ts, receive-email.ts,
// delivery-events.ts)

export const mailObserver: MailObserver = {
  info: (message, attributes) => {
    logger.info(message, attributes);
  },
  warn: (message, attributes) => {
    logger.warn(message, attributes);
  },
  count: (metric, value = 1) => {
    metrics.addMetric(metric, MetricUnit.Count, value);
  },
};

/** Wraps a mail handler (see withLambdaContext). */
export const mailHandler = withLambdaContext;

let sesClient: SESv2Client | undefined;
let secretsClient: SecretsManagerClient | undefined;
let replyKeys: SecretsManagerReplyKeys | undefined;

export function productionSes(): SESv2Client {
  sesClient ??= new SESv2Client({});
  return sesClient;
}

/** The reply keys, cached for the life of the container. */
export function productionReplyKeys(mail: MailConfig): ReplyKeySource {
  secretsClient ??= new SecretsManagerClient({});
  replyKeys ??= new SecretsManagerReplyKeys(secretsClient, mail.REPLY_TOKEN_SECRET_ARN);
  return replyKeys;
}

export function productionMailer(mail: MailConfig, tableName: string): Mailer {
  return new Mailer(
    productionSes(),
    new DynamoOutboundLedger(documentClient, tableName),
    {
      from: {
        address: mail.MAIL_FROM,
        ...(mail.MAIL_FROM_NAME === undefined ? {} : { name: mail.MAIL_FROM_NAME }),
      },
      configurationSet: mail.SES_CONFIGURATION_SET,
    },
    now,
  );
}

/**
 * The outbound dependencies from the environment. The context loader caches tenants and challenges,
 * so a fresh one is made per invocation (`fresh`); the clients and the key cache live for the container.
 */
export function productionOutbound(): OutboundDependencies {
  const { TABLE_NAME } = config();
  const mail = parseMailConfig(process.env);
  const challenges = new DynamoChallengeStore(documentClient, TABLE_NAME);
  return {
    contexts: new MailContextLoader(
      challenges,
      new TenantStore(documentClient, TABLE_NAME, now),
      presetProtocol,
      mail.AUTHORITY_NAME ?? DEFAULT_AUTHORITY_NAME,
    ),
    keys: productionReplyKeys(mail),
    mailer: productionMailer(mail, TABLE_NAME),
    undeliverable: new DynamoUndeliverableLog(documentClient, TABLE_NAME),
    replyDomain: mail.MAIL_REPLY_DOMAIN ?? mail.MAIL_DOMAIN,
    caseRecordBaseUrl: required(mail.CASE_RECORD_BASE_URL, "CASE_RECORD_BASE_URL"),
    ...(mail.ACK_LINK_BASE_URL === undefined ? {} : { ackLinkBaseUrl: mail.ACK_LINK_BASE_URL }),
    clock: now,
    observer: mailObserver,
  };
}
