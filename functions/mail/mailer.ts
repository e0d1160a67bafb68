import { type MessageHeader, type SESv2Client, SendEmailCommand } from "@aws-sdk/client-sesv2";
import { SENDING_LEASE_MS } from "./outbox-policy.js";
import { logger } from "../shared/observability.js";
import type { LedgerEntry, LedgerKey, OutboundLedger } from "./deliveries.js";
import { encodeTagValue } from "./mail-tags.js";
import { mailbox, messageHeader, headerText } from "./mime.js";
import type { MailRecipient } from "./notifications.js";
import type { RenderedEmail } from "./templates.js";

// =============================================================================================
// Sending

/** The send failed for a reason that may pass (throttling, a network fault, SES unavailable): retry. */
export class TransientDeliveryError extends Error {
  override readonly name = "TransientDeliveryError";
}

/** SES refused this message for good: retrying cannot help. */
export function permanentRejectionCode(error: unknown): string | undefined {
  if (!(error instanceof Error)) return undefined;
  if (error.name === "MessageRejected") return "MessageRejected";
  // SES v2 answers an address it cannot send to with BadRequestException ("Illegal address").
  if (error.name === "BadRequestException" && /address/i.test(error.message)) return "InvalidAddress";
  return undefined;
}

export interface OutboundEmail {
  readonly key: LedgerKey;
  readonly entry: LedgerEntry;
  readonly to: MailRecipient;
  readonly cc?: readonly MailRecipient[];
  readonly rendered: RenderedEmail | { readonly subject: string; readonly text: string };
  /** The signed reply address, when the recipient may act by replying. */
  readonly replyTo?: string;
  /** RFC 3834: notifications are auto-generated, bounces auto-replied. */
  readonly autoSubmitted: "auto-generated" | "auto-replied";
  /** The Message-ID this answers (bounces). */
  readonly inReplyTo?: string;
  readonly tags: Readonly<Record<string, string>>;
}

export type DeliveryOutcome =
  | { readonly status: "sent"; readonly sesMessageId: string }
  | { readonly status: "already"; readonly previously: "sent" }
  /** Refused for good earlier (a redelivery): the caller makes sure the failure was recorded. */
  | { readonly status: "already"; readonly previously: "failed"; readonly code: string }
  | { readonly status: "rejected"; readonly code: string };

export interface MailerSettings {
  readonly from: { readonly address: string; readonly name?: string };
  readonly configurationSet: string;
}

/** Sends one email once: claim, SES SendEmail, mark. Throws {@link TransientDeliveryError} when it should be retried. */
export class Mailer {
  constructor(
    private readonly ses: Pick<SESv2Client, "send">,
    private readonly ledger: OutboundLedger,
    private readonly settings: MailerSettings,
    private readonly clock: () => Date,
  ) {}

  async deliver(email: OutboundEmail): Promise<DeliveryOutcome> {
    const claim = await this.ledger.claim(email.key, email.entry, this.clock(), SENDING_LEASE_MS);
    if (claim.status === "sent") return { status: "already", previously: "sent" };
    if (claim.status === "failed") return { status: "already", previously: "failed", code: claim.code };
    if (claim.status === "in_flight") {
      throw new TransientDeliveryError("the email is being sent by another invocation");
    }

    let request: SendEmailCommand;
    try {
      request = this.request(email);
    } catch (error) {
      // An address this sender cannot write: as permanent as SES refusing it.
      await this.ledger.markFailed(email.key, "InvalidAddress", this.clock());
      logger.warn("email not sent: an address cannot be written", {
        errorName: error instanceof Error ? error.name : "unknown",
      });
      return { status: "rejected", code: "InvalidAddress" };
    }
    let sesMessageId: string;
    try {
      const output = await this.ses.send(request);
      sesMessageId = output.MessageId ?? "";
    } catch (error) {
      const code = permanentRejectionCode(error);
      if (code !== undefined) {
        await this.ledger.markFailed(email.key, code, this.clock());
        return { status: "rejected", code };
      }
      await this.ledger.release(email.key).catch(() => undefined);
      throw new TransientDeliveryError(
        `SES did not accept the email (${error instanceof Error ? error.name : "unknown error"})`,
        { cause: error },
      );
    }
    try {
      await this.ledger.markSent(email.key, sesMessageId, this.clock());
    } catch (error) {
      // SES has the message. The claim is kept (not released), so a retry before the lease ends
      // sends nothing; after it, the email goes again: the at-least-once window.
      throw new TransientDeliveryError("the email was sent but could not be marked sent", { cause: error });
    }
    return { status: "sent", sesMessageId };
  }

  /**
   * The SES v2 Simple send: SES builds the MIME (parts, transfer encoding, the Subject's
   * encoded-words from its charset); mime.ts writes the addresses and the further headers.
   */
  private request(email: OutboundEmail): SendEmailCommand {
    const headers: MessageHeader[] = [
      messageHeader("Auto-Submitted", email.autoSubmitted),
      // Out-of-office replies to a notification are refused anyway; ask Exchange not to send them.
      messageHeader("X-Auto-Response-Suppress", "OOF, AutoReply"),
    ];
    // A Message-ID from an inbound email: used only in the plain form `<printable ASCII>`.
    if (email.inReplyTo !== undefined && /^<[!-;=?-~]{1,800}>$/.test(email.inReplyTo)) {
      headers.push(
        messageHeader("In-Reply-To", email.inReplyTo),
        messageHeader("References", email.inReplyTo),
      );
    }
    const cc = email.cc ?? [];
    const utf8 = (data: string) => ({ Data: data, Charset: "UTF-8" });
    return new SendEmailCommand({
      FromEmailAddress: mailbox(this.settings.from.address, this.settings.from.name),
      Destination: {
        ToAddresses: [mailbox(email.to.email, email.to.name)],
        ...(cc.length > 0 ? { CcAddresses: cc.map((c) => mailbox(c.email, c.name)) } : {}),
      },
      ...(email.replyTo === undefined ? {} : { ReplyToAddresses: [mailbox(email.replyTo)] }),
      Content: {
        Simple: {
          Subject: utf8(headerText(email.rendered.subject)),
          Body: {
            Text: utf8(email.rendered.text),
            ...("html" in email.rendered ? { Html: utf8(email.rendered.html) } : {}),
          },
          Headers: headers,
        },
      },
      ConfigurationSetName: this.settings.configurationSet,
      EmailTags: Object.entries(email.tags).map(([Name, Value]) => ({ Name, Value: encodeTagValue(Value) })),
    });
  }
}
