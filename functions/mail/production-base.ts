import { MetricUnit } from "@aws-lambda-powertools/metrics";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { logger, metrics, withLambdaContext } from "../shared/observability.js";
import type { MailConfig } from "./mail-config.js";
import type { MailObserver } from "./outbound.js";
import { type ReplyKeySource, SecretsManagerReplyKeys } from "./reply-keys.js";

// Production wiring every mail function shares, without the stores and the mail context that only
// some of them use (production.ts) or the SES client that only the senders load
// (production-mailer.ts): the inbound handler (receive-email.ts) takes only this.

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

let secretsClient: SecretsManagerClient | undefined;
let replyKeys: SecretsManagerReplyKeys | undefined;

/** The reply keys, cached for the life of the container. */
export function productionReplyKeys(mail: MailConfig): ReplyKeySource {
  secretsClient ??= new SecretsManagerClient({});
  replyKeys ??= new SecretsManagerReplyKeys(secretsClient, mail.REPLY_TOKEN_SECRET_ARN);
  return replyKeys;
}
