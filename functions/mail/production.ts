import { documentClient } from "../shared/clients.js";
import { now } from "../shared/clock.js";
import { config } from "../shared/config.js";
import { DynamoChallengeStore } from "../store/dynamo-challenge-store.js";
import { TenantStore } from "../store/tenant-store.js";
import { DynamoUndeliverableLog } from "./deliveries.js";
import { DEFAULT_AUTHORITY_NAME, parseMailConfig, required } from "./mail-config.js";
import { MailContextLoader, presetProtocol } from "./mail-context.js";
import type { OutboundDependencies } from "./outbound.js";
import { mailObserver, productionReplyKeys } from "./production-base.js";
import { productionMailer } from "./production-mailer.js";

// Production wiring, shared by the mail functions (the event reactor's notifications,
// apply-reply.ts, delivery-events.ts, send-good-practice.ts); what every one of them shares,
// receive-email.ts included, is in production-base.ts; the mailer, which apply-reply.ts takes without
// the mail context, in production-mailer.ts.

export { mailHandler, mailObserver, productionReplyKeys } from "./production-base.js";
export { productionMailer } from "./production-mailer.js";

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
