import MailComposer from "nodemailer/lib/mail-composer";
import type { MailRecipient } from "./notifications.js";

/**
 * The raw message for SES SendRawEmail (RFC 5322, MIME). Built by nodemailer's MailComposer:
 * header encoding (RFC 2047 encoded words, folding, address phrases) is security-sensitive and it
 * is the most used implementation there is. What stays ours is the policy around it: one-line
 * header values (no control characters, so nothing a value holds can start another header),
 * addresses in a plain form, header names checked, and no file or URL access for content.
 */

export interface RawEmail {
  readonly from: { readonly address: string; readonly name?: string };
  readonly to: readonly MailRecipient[];
  readonly cc?: readonly MailRecipient[];
  readonly replyTo?: string;
  readonly subject: string;
  readonly text: string;
  readonly html?: string;
  readonly date: Date;
  /** Further headers, e.g. Auto-Submitted, In-Reply-To. Values are sanitised. */
  readonly headers?: readonly (readonly [string, string])[];
}

const ADDRESS = /^[^\s<>()[\]\\,;:"@]+@[^\s<>()[\]\\,;:"@]+$/;

/** One line, no control characters: nothing a value holds can start another header. */
function headerText(value: string): string {
  return value
    .replace(/[\p{Cc}\u2028\u2029]+/gu, " ")
    .replace(/\s+/g, " ")
    .trim();
}

function address(email: string, name?: string): { address: string; name: string } {
  const trimmed = email.trim();
  if (!ADDRESS.test(trimmed)) throw new Error("an email address is not in a form this sender accepts");
  return { address: trimmed, name: name === undefined ? "" : headerText(name) };
}

/** CRLF line ends (RFC 5322): MailComposer encodes the body as given. */
function crlf(body: string): string {
  return body.replace(/\r\n?|\n/g, "\r\n");
}

/** The whole message, CRLF line ends, text parts quoted-printable. */
export async function buildRawEmail(email: RawEmail): Promise<Buffer> {
  const headers: Record<string, string> = {};
  for (const [name, value] of email.headers ?? []) {
    if (!/^[A-Za-z][A-Za-z0-9-]*$/.test(name)) throw new Error(`invalid header name ${name}`);
    headers[name] = headerText(value);
  }
  const composer = new MailComposer({
    from: address(email.from.address, email.from.name),
    to: email.to.map((r) => address(r.email, r.name)),
    ...(email.cc !== undefined && email.cc.length > 0
      ? { cc: email.cc.map((r) => address(r.email, r.name)) }
      : {}),
    ...(email.replyTo === undefined ? {} : { replyTo: address(email.replyTo) }),
    subject: headerText(email.subject),
    text: crlf(email.text),
    ...(email.html === undefined ? {} : { html: crlf(email.html) }),
    date: email.date,
    headers,
    textEncoding: "quoted-printable",
    // Content is only ever the strings above: never a file or a URL to fetch.
    disableFileAccess: true,
    disableUrlAccess: true,
  });
  return composer.compile().build();
}
