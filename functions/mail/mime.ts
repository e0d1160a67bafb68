import { randomBytes } from "node:crypto";
import type { MailRecipient } from "./notifications.js";

// MIME (RFC 5322 / 2045-2047), for SendRawEmail

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
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

/** One line, no control characters: nothing a value holds can start another header. */
function headerText(value: string): string {
  return value
    .replace(/[\p{Cc}\u2028\u2029]+/gu, " ")
    .replace(/\s+/g, " ")
    .trim();
}

/** RFC 2047 encoded words (UTF-8, base64), at most 45 bytes of text each, folded. */
function encodedWords(text: string): string {
  const words: string[] = [];
  let chunk = "";
  for (const char of text) {
    if (Buffer.byteLength(chunk + char, "utf8") > 45) {
      words.push(chunk);
      chunk = "";
    }
    chunk += char;
  }
  if (chunk !== "") words.push(chunk);
  return words.map((w) => `=?UTF-8?B?${Buffer.from(w, "utf8").toString("base64")}?=`).join("\r\n ");
}

/** Folds an ASCII header at spaces so lines stay under 78 characters where the words allow. */
function fold(name: string, value: string): string {
  let line = `${name}:`;
  const lines: string[] = [];
  for (const word of value.split(" ")) {
    if (line.length + 1 + word.length > 78 && line.trim() !== `${name}:`) {
      lines.push(line);
      line = "";
    }
    line += ` ${word}`;
  }
  lines.push(line);
  return lines.join("\r\n");
}

function header(name: string, value: string): string {
  const clean = headerText(value);
  return PRINTABLE_ASCII.test(clean) ? fold(name, clean) : `${name}: ${encodedWords(clean)}`;
}

function formatAddress(address: string, name?: string): string {
  const email = address.trim();
  if (!ADDRESS.test(email)) throw new Error("an email address is not in a form this sender accepts");
  const display = name === undefined ? "" : headerText(name);
  if (display === "") return email;
  const phrase = PRINTABLE_ASCII.test(display)
    ? `"${display.replace(/(["\\])/g, "\\$1")}"`
    : encodedWords(display);
  return `${phrase} <${email}>`;
}

function addressHeader(name: string, addresses: readonly string[]): string {
  return `${name}: ${addresses.join(",\r\n ")}`;
}

/** Quoted-printable (RFC 2045 §6.7), CRLF line ends, soft breaks before 76 characters. */
export function quotedPrintable(text: string): string {
  return text
    .replace(/\r\n?/g, "\n")
    .split("\n")
    .map((line) => {
      const bytes = Buffer.from(line, "utf8");
      let out = "";
      let current = "";
      bytes.forEach((byte, index) => {
        const last = index === bytes.length - 1;
        const literal = (byte >= 33 && byte <= 126 && byte !== 61) || ((byte === 32 || byte === 9) && !last);
        const token = literal
          ? String.fromCharCode(byte)
          : `=${byte.toString(16).toUpperCase().padStart(2, "0")}`;
        if (current.length + token.length > 75) {
          out += `${current}=\r\n`;
          current = "";
        }
        current += token;
      });
      return out + current;
    })
    .join("\r\n");
}

function rfc5322Date(date: Date): string {
  return date.toUTCString().replace(/GMT$/, "+0000");
}

/** The whole message, CRLF line ends. The boundary cannot occur in quoted-printable text ("=_"). */
export function buildRawEmail(email: RawEmail): Buffer {
  const lines: string[] = [
    `From: ${formatAddress(email.from.address, email.from.name)}`,
    addressHeader(
      "To",
      email.to.map((r) => formatAddress(r.email, r.name)),
    ),
  ];
  if (email.cc !== undefined && email.cc.length > 0) {
    lines.push(
      addressHeader(
        "Cc",
        email.cc.map((r) => formatAddress(r.email, r.name)),
      ),
    );
  }
  if (email.replyTo !== undefined) lines.push(`Reply-To: ${formatAddress(email.replyTo)}`);
  lines.push(header("Subject", email.subject), `Date: ${rfc5322Date(email.date)}`, "MIME-Version: 1.0");
  for (const [name, value] of email.headers ?? []) {
    if (!/^[A-Za-z][A-Za-z0-9-]*$/.test(name)) throw new Error(`invalid header name ${name}`);
    lines.push(header(name, value));
  }
  const part = (type: string, body: string): string[] => [
    `Content-Type: ${type}; charset=utf-8`,
    "Content-Transfer-Encoding: quoted-printable",
    "",
    quotedPrintable(body),
  ];
  if (email.html === undefined) {
    lines.push(...part("text/plain", email.text));
  } else {
    const boundary = `=_crs_${randomBytes(12).toString("hex")}`;
    lines.push(
      `Content-Type: multipart/alternative; boundary="${boundary}"`,
      "",
      `--${boundary}`,
      ...part("text/plain", email.text),
      `--${boundary}`,
      ...part("text/html", email.html),
      `--${boundary}--`,
    );
  }
  return Buffer.from(`${lines.join("\r\n")}\r\n`, "utf8");
}
