import { documentClient } from "../shared/clients.js";
import { now } from "../shared/clock.js";
import { DynamoOutboundLedger } from "./deliveries.js";
import type { MailConfig } from "./mail-config.js";
import { Mailer } from "./mailer.js";
import { productionSes } from "./production-base.js";

// The production mailer, in its own module: apply-reply.ts sends bounces with it and needs none of
// the notification context production.ts wires.

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
