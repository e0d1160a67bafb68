import type { DynamoDBRecord } from "aws-lambda";
import { productionGoodPractice, sendGoodPracticeBatch } from "../mail/send-good-practice.js";
import { reportNotDone, sendEventEmails } from "../mail/send-notification.js";
import { productionOutbound } from "../mail/production.js";
import type { OutboundDependencies } from "../mail/outbound.js";
import type { GoodPracticeDependencies } from "../mail/send-good-practice.js";
import type { EventItem } from "../store/event-item.js";
import type { ReactionStep } from "../shared/stream-batch.js";

/** A good practice notification whose email was not sent (the mail module logged why). */
export class GoodPracticeNotSentError extends Error {
  override readonly name = "GoodPracticeNotSentError";
}

/**
 * The notifications step: the emails each event calls for (functions/mail/send-notification.ts).
 * The dependencies are built once per batch: the mail context loader caches per batch.
 */
export function createNotificationStep(deps: () => OutboundDependencies): ReactionStep<EventItem> {
  return {
    name: "notifications",
    begin: () => {
      const d = deps();
      return async (item) => {
        try {
          await sendEventEmails(d, item);
        } catch (error) {
          reportNotDone(
            d,
            { tenantId: item.tenantId, challengeId: item.challengeId, seq: item.event.seq },
            error,
          );
          throw error;
        }
      };
    },
  };
}

/** The good practice step: the email to the practitioner's first line manager (functions/mail/send-good-practice.ts). */
export function createGoodPracticeStep(deps: () => GoodPracticeDependencies): ReactionStep<DynamoDBRecord> {
  return {
    name: "good-practice",
    begin: () => {
      const d = deps();
      return async (record) => {
        const { batchItemFailures } = await sendGoodPracticeBatch(d, { Records: [record] });
        if (batchItemFailures.length > 0) {
          throw new GoodPracticeNotSentError("the good practice email was not sent");
        }
      };
    },
  };
}

export const notificationStep = createNotificationStep(productionOutbound);
export const goodPracticeStep = createGoodPracticeStep(productionGoodPractice);
