/**
 * Mail for the end-to-end tests: what the local SES has sent (read from its JSON store over HTTP,
 * as a developer's tool would) and replies sent over real SMTP to the runtime's inbound listener.
 */
import nodemailer from "nodemailer";
import type { LocalRuntime } from "../../local/runtime.js";

export interface SentMail {
  readonly messageId: string;
  readonly from: string;
  readonly replyTo: readonly string[];
  readonly to: readonly string[];
  readonly cc: readonly string[];
  readonly subject: string;
  readonly text: string;
  readonly html: string;
  /** Seconds since the epoch (real time) when SES accepted it. */
  readonly at: number;
}

interface StoredEmail {
  messageId: string;
  from: string;
  replyTo?: string[];
  destination: { to?: string[]; cc?: string[] };
  subject: string;
  body: { text?: string; html?: string };
  at: number;
}

/** Every mail the local SES has accepted, oldest first (GET /store of aws-ses-v2-local). */
export async function sentMail(runtime: LocalRuntime): Promise<SentMail[]> {
  const response = await fetch(runtime.urls.mailStore);
  if (!response.ok) throw new Error(`the SES store answered ${response.status}`);
  const { emails } = (await response.json()) as { emails: StoredEmail[] };
  return emails.map((e) => ({
    messageId: e.messageId,
    from: e.from,
    replyTo: e.replyTo ?? [],
    to: e.destination.to ?? [],
    cc: e.destination.cc ?? [],
    subject: e.subject,
    text: e.body.text ?? "",
    html: e.body.html ?? "",
    at: e.at,
  }));
}

/** Whether a mail was sent to `address` (To or Cc; the store keeps display names: "Name <a@b>"). */
export function isTo(mail: SentMail, address: string): boolean {
  const wanted = address.toLowerCase();
  return [...mail.to, ...mail.cc].some(
    (a) => a.toLowerCase() === wanted || a.toLowerCase().endsWith(`<${wanted}>`),
  );
}

/** The bare address in "Name <a@b>" or "a@b". */
export function bareAddress(address: string): string {
  return (/<([^>]+)>/.exec(address)?.[1] ?? address).trim();
}

/** Sends a reply over SMTP to the runtime's inbound listener, from this machine (127.0.0.1). */
export async function sendReply(
  runtime: LocalRuntime,
  reply: {
    readonly from: string;
    readonly to: string;
    readonly subject: string;
    readonly text: string;
    readonly inReplyTo?: string;
  },
): Promise<string> {
  const transport = nodemailer.createTransport({
    host: runtime.urls.smtp.host,
    port: runtime.urls.smtp.port,
    secure: false,
    ignoreTLS: true,
  });
  try {
    const info = await transport.sendMail({
      from: reply.from,
      to: reply.to,
      subject: reply.subject,
      text: reply.text,
      ...(reply.inReplyTo === undefined ? {} : { inReplyTo: reply.inReplyTo, references: [reply.inReplyTo] }),
    });
    return info.messageId;
  } finally {
    transport.close();
  }
}
