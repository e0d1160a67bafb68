import { SESv2Client } from "@aws-sdk/client-sesv2";
import { documentClient } from "../shared/clients.js";
import { now } from "../shared/clock.js";
import { DynamoOutboundLedger } from "./deliveries.js";
import type { MailConfig } from "./mail-config.js";
import { Mailer } from "./mailer.js";

// The production mailer, in its own module: apply-reply.ts sends bounces with it and needs none of
// the notification context production.ts wires.

let sesClient: SESv2Client | undefined;

/** The SES client, created on first use and kept for the life of the container. */
export function productionSes(): SESv2Client {
  sesClient ??= new SESv2Client({});
  return sesClient;
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
