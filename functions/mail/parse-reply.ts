import { createHash } from "node:crypto";
import PostalMime, { type Address, type Email, addressParser } from "postal-mime";
import { POLICY_HEADERS, type PolicyHeader } from "./policy-headers.js";

/**
 * Parses a raw inbound email (as SES stores it in S3) with postal-mime, and finds the words the
 * person actually wrote: the reply above the quoted history, without signatures or disclaimers.
 * (postal-mime decodes every charset through the runtime's own TextDecoder, ICU's tables, where
 * mailparser carried iconv-lite's: ~90 KB in the handler instead of ~1.2 MB.)
 *
 * Nothing here decides anything; inbound-policy.ts does. Attachments are described
 * (name, type, size, SHA-256), never kept, opened or executed.
 */

export interface MailAddress {
  /** Lower-cased and trimmed: addresses compare case-insensitively here. */
  readonly address: string;
  readonly name: string;
}

export interface AttachmentRef {
  /** The file name as sent, with any path and control characters removed; null when none was given. */
  readonly filename: string | null;
  readonly contentType: string;
  readonly size: number;
  /** Hex SHA-256 of the decoded content. */
  readonly sha256: string;
  /** Inline (e.g. a signature logo referenced from the HTML) rather than attached. */
  readonly inline: boolean;
  readonly contentId: string | null;
}

export { AUTO_REPLY_HEADERS, POLICY_HEADERS, type PolicyHeader } from "./policy-headers.js";

export interface ParsedInboundEmail {
  /** The sender when the From header holds exactly one address; null otherwise. */
  readonly from: MailAddress | null;
  /** How many addresses the From header held (anything but 1 cannot act). */
  readonly fromCount: number;
  readonly to: readonly MailAddress[];
  readonly cc: readonly MailAddress[];
  readonly replyTo: readonly MailAddress[];
  readonly messageId: string | null;
  readonly inReplyTo: string | null;
  readonly references: readonly string[];
  readonly subject: string;
  readonly date: Date | null;
  /** Every occurrence of each policy header, unfolded, in message order; absent headers are []. */
  readonly headers: Readonly<Record<PolicyHeader, readonly string[]>>;
  readonly attachments: readonly AttachmentRef[];
  /** The whole body as text: the text/plain part, or the HTML part converted to text. */
  readonly text: string;
  /** What the person wrote in this message: above the quoted history, signatures and disclaimers removed. */
  readonly newText: string;
  readonly bodySource: "text" | "html" | "none";
  /** The message is a forward (Fw:/Fwd: subject, or a forwarded-message marker where the reply would be). */
  readonly forwarded: boolean;
  /** Hex SHA-256 of the raw message: a de-duplication key when there is no Message-ID. */
  readonly rawSha256: string;
}

export interface ParseOptions {
  /**
   * Lines that start a disclaimer (compared case-insensitively with the start of a line): the line
   * and everything after it are dropped from `newText`. Defaults to {@link DEFAULT_DISCLAIMER_MARKERS}.
   */
  readonly disclaimerMarkers?: readonly string[];
}

export const DEFAULT_DISCLAIMER_MARKERS: readonly string[] = [
  "This email and any files transmitted with it",
  "This e-mail and any files transmitted with it",
  "This email and any attachments",
  "This e-mail and any attachments",
  "This email is intended only for",
  "This e-mail is intended only for",
  "This message is intended only for",
  "The information in this email is confidential",
  "The information contained in this email",
  "The information contained in this e-mail",
  "The information contained in this message",
  "If you have received this email in error",
  "If you have received this e-mail in error",
  "Confidentiality notice",
  "Disclaimer:",
  "Any views or opinions expressed in this email",
  "This email has been scanned",
  "Please consider the environment before printing",
];

// ---------------------------------------------------------------------------------------------
// Reply extraction (pure; exported for tests)

const ZERO_WIDTH = /[\u200b-\u200d\u2060\ufeff]/g;
const ORIGINAL_MESSAGE = /^-{2,}\s*original message\s*-{2,}$/i;
const UNDERSCORE_RULE = /^_{10,}$/;
const SEPARATOR_ONLY = /^[-_=*~]{3,}$/;
const FORWARD_MARKER =
  /^(-{2,}\s*forwarded message\s*-{2,}|begin forwarded message:?|-{2,}\s*forwarded by .*|-{2,}\s*forwarded message from .*)$/i;
const HEADER_FROM = /^\*?\s*from:\*?\s/i;
const HEADER_SENT_OR_DATE = /^\*?\s*(sent|date):\*?\s/i;
const ATTRIBUTION_START = /^on\s/i;
const ATTRIBUTION_END = /\bwrote:\s*$/i;
const SIGNATURE_DELIMITER = /^--\s?$/;
const MOBILE_SIGNATURE =
  /^(sent from my .+|sent from (outlook|mail|yahoo mail|gmail|samsung .+)( for .+)?|get outlook for (ios|android).*|sent via .+|sent using .+)$/i;
const CLASSIFICATION =
  /^\[?\s*(classification:\s*)?(official|official[\s-]+sensitive|not protectively marked|unclassified)\s*\]?$/i;

type CutKind = "none" | "quote_header" | "attribution" | "forward";

function findCut(lines: readonly string[]): { index: number; kind: CutKind } {
  for (let i = 0; i < lines.length; i++) {
    const t = (lines[i] ?? "").trim();
    if (t === "" || t.startsWith(">")) continue;
    if (FORWARD_MARKER.test(t)) return { index: i, kind: "forward" };
    if (ORIGINAL_MESSAGE.test(t) || UNDERSCORE_RULE.test(t)) return { index: i, kind: "quote_header" };
    if (HEADER_FROM.test(t)) {
      const following = lines.slice(i + 1, i + 6).map((l) => l.trim());
      if (following.some((l) => HEADER_SENT_OR_DATE.test(l))) return { index: i, kind: "quote_header" };
    }
    if (ATTRIBUTION_START.test(t)) {
      // Gmail and Apple Mail wrap long attribution lines: "On Mon, … Name <\naddress> wrote:".
      let joined = t;
      for (let j = i; j < Math.min(lines.length, i + 3); j++) {
        if (j > i) {
          const next = (lines[j] ?? "").trim();
          if (next === "") break;
          joined += ` ${next}`;
        }
        if (ATTRIBUTION_END.test(joined)) return { index: i, kind: "attribution" };
      }
    }
  }
  return { index: lines.length, kind: "none" };
}

function clean(lines: readonly string[], disclaimerMarkers: readonly string[]): string {
  const markers = disclaimerMarkers.map((m) => m.trim().toLowerCase()).filter((m) => m !== "");
  const kept: string[] = [];
  for (const raw of lines) {
    const t = raw.trim();
    if (t.startsWith(">")) continue;
    if (SIGNATURE_DELIMITER.test(raw.trimStart()) || MOBILE_SIGNATURE.test(t)) break;
    const lower = t.toLowerCase();
    if (markers.some((m) => lower.startsWith(m))) break;
    if (CLASSIFICATION.test(t)) continue;
    kept.push(raw.replace(/[ \t]+$/, ""));
  }
  while (kept.length > 0) {
    const last = kept.at(-1)?.trim() ?? "";
    if (last !== "" && !SEPARATOR_ONLY.test(last)) break;
    kept.pop();
  }
  while (kept.length > 0 && (kept[0]?.trim() ?? "") === "") kept.shift();
  return kept
    .join("\n")
    .replace(/\n{3,}/g, "\n\n")
    .trim();
}

/**
 * The new part of a reply: the text above the first quoted-history marker (Outlook's
 * "From: … Sent: …" block, "-----Original Message-----" or the "_____" rule; Gmail's and Apple
 * Mail's "On … wrote:"; a forwarded-message marker), without `>` lines, the "-- " signature,
 * "Sent from my iPhone" / "Get Outlook for iOS" lines, disclaimers and protective-marking lines.
 * A reply written below an "On … wrote:" quote (bottom-posting) is found too.
 */
export function extractNewText(
  text: string,
  disclaimerMarkers: readonly string[] = DEFAULT_DISCLAIMER_MARKERS,
): { newText: string; forwardMarker: boolean } {
  const lines = text
    .replace(/\r\n?/g, "\n")
    .replace(ZERO_WIDTH, "")
    .replace(/\u00a0/g, " ")
    .split("\n");
  const cut = findCut(lines);
  let newText = clean(lines.slice(0, cut.index), disclaimerMarkers);
  if (newText === "" && cut.kind === "attribution") {
    const after = lines.slice(cut.index + 1);
    const next = findCut(after);
    newText = clean(after.slice(0, next.index), disclaimerMarkers);
  }
  return { newText, forwardMarker: cut.kind === "forward" };
}

// ---------------------------------------------------------------------------------------------
// Parsing

/**
 * windows-1252's characters for the bytes 0x80-0x9F (WHATWG Encoding Standard), indexed from 0x80;
 * the five bytes it leaves undefined keep their code point.
 */
const WINDOWS_1252_C1 = "€\u0081‚ƒ„…†‡ˆ‰Š‹Œ\u008dŽ\u008f\u0090‘’“”•–—˜™š›œ\u009džŸ";

/**
 * Undoes a Node.js TextDecoder fault (since 20.18.3 / 22.13, nodejs/node#60888): it decodes
 * windows-1252 (and the latin1 and ascii labels, which the standard maps to it) as ISO-8859-1, so
 * Outlook's curly quotes, dashes and euro signs come out as invisible C1 control characters. No
 * person writes a C1 control in an email, so each one becomes the windows-1252 character of the
 * same byte, as browsers decode it. Harmless once Node is fixed: there will be none to replace.
 */
export function repairWindows1252(text: string): string {
  return text.replace(/[\u0080-\u009f]/g, (c) => WINDOWS_1252_C1[c.charCodeAt(0) - 0x80] ?? c);
}

function addresses(field: readonly Address[] | undefined): MailAddress[] {
  const out: MailAddress[] = [];
  const visit = (entry: Address): void => {
    if (entry.group) entry.group.forEach(visit);
    const address = entry.address?.trim().toLowerCase();
    if (address) out.push({ address, name: repairWindows1252(entry.name).trim() });
  };
  field?.forEach(visit);
  return out;
}

/** Every address of every From header: postal-mime keeps only the first, and more than one cannot act. */
function fromAddresses(parsed: Email): MailAddress[] {
  return addresses(parsed.headers.filter((h) => h.key === "from").flatMap((h) => addressParser(h.value)));
}

function policyHeaders(parsed: Email): Record<PolicyHeader, string[]> {
  const out = Object.fromEntries(POLICY_HEADERS.map((name) => [name, [] as string[]])) as Record<
    PolicyHeader,
    string[]
  >;
  const wanted = new Set<string>(POLICY_HEADERS);
  for (const { key, line } of parsed.headerLines) {
    const name = key.toLowerCase();
    if (!wanted.has(name)) continue;
    const colon = line.indexOf(":");
    const value = line
      .slice(colon + 1)
      .replace(/\r?\n[ \t]+/g, " ")
      .trim();
    out[name as PolicyHeader].push(value);
  }
  return out;
}

function safeFilename(name: string | null): string | null {
  if (name === null) return null;
  const base = name.split(/[\\/]/).pop() ?? "";
  const cleaned = base
    .replace(/[\p{Cc}\u2028\u2029]/gu, "")
    .trim()
    .slice(0, 255);
  return cleaned === "" ? null : cleaned;
}

/** The message ids of a References header, in order. */
function messageIdList(value: string | undefined): string[] {
  return (value ?? "").split(/\s+/).filter((v) => v !== "");
}

function dateOf(value: string | undefined): Date | null {
  if (value === undefined) return null;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}

function bytesOf(content: ArrayBuffer | Uint8Array | string): Uint8Array {
  if (typeof content === "string") return Buffer.from(content, "utf8");
  return content instanceof Uint8Array ? content : new Uint8Array(content);
}

const FORWARD_SUBJECT = /^\s*(fwd?|fw)\s*:/i;

/**
 * Limits on what one message may cost to parse (postal-mime's defaults are generous): a reply is
 * a few parts and a few kilobytes of headers. Beyond them the parse fails and the message is refused.
 * Attached messages (message/rfc822) stay attachments, described and never read: a forwarded
 * message's text is not the sender's reply.
 */
const PARSER_OPTIONS = {
  forceRfc822Attachments: true,
  maxNestingDepth: 32,
  maxPartCount: 500,
  maxHeadersSize: 512 * 1024,
} as const;

/**
 * An HTML body as text, by postal-mime's own converter (scripts, styles and comments dropped,
 * blocks as paragraphs, entities decoded). postal-mime only converts an HTML part that sits
 * beside a text part, so the HTML is handed to it in a two-part message with an empty text part.
 */
async function htmlAsText(html: string): Promise<string> {
  const body = Buffer.from(html, "utf8").toString("base64").replace(/.{76}/g, "$&\r\n");
  const boundary = "html-as-text";
  const message = [
    `Content-Type: multipart/mixed; boundary="${boundary}"`,
    "",
    `--${boundary}`,
    "Content-Type: text/plain; charset=utf-8",
    "",
    "",
    `--${boundary}`,
    "Content-Type: text/html; charset=utf-8",
    "Content-Transfer-Encoding: base64",
    "",
    body,
    `--${boundary}--`,
    "",
  ].join("\r\n");
  return (await PostalMime.parse(message, PARSER_OPTIONS)).text ?? "";
}

/** Parses a raw RFC 5322 message. Throws when the message cannot be parsed at all. */
export async function parseInboundEmail(
  raw: Buffer | string,
  options: ParseOptions = {},
): Promise<ParsedInboundEmail> {
  const parsed = await PostalMime.parse(raw, PARSER_OPTIONS);
  // postal-mime sets `text` only from text/plain parts: the preferred body when it has words.
  let text = repairWindows1252(parsed.text ?? "");
  let bodySource: ParsedInboundEmail["bodySource"] = text.trim() === "" ? "none" : "text";
  if (bodySource === "none" && parsed.html !== undefined) {
    text = (await htmlAsText(repairWindows1252(parsed.html))).trim();
    bodySource = text === "" ? "none" : "html";
  }

  const fromAll = fromAddresses(parsed);
  const subject = repairWindows1252(parsed.subject ?? "");
  const { newText, forwardMarker } = extractNewText(text, options.disclaimerMarkers);

  return {
    from: fromAll.length === 1 ? (fromAll[0] ?? null) : null,
    fromCount: fromAll.length,
    to: addresses(parsed.to),
    cc: addresses(parsed.cc),
    replyTo: addresses(parsed.replyTo),
    messageId: parsed.messageId?.trim() || null,
    inReplyTo: parsed.inReplyTo?.trim() || null,
    references: messageIdList(parsed.references),
    subject,
    date: dateOf(parsed.date),
    headers: policyHeaders(parsed),
    attachments: parsed.attachments.map((a) => {
      const content = bytesOf(a.content);
      return {
        filename: safeFilename(a.filename === null ? null : repairWindows1252(a.filename)),
        contentType: a.mimeType,
        size: content.byteLength,
        sha256: createHash("sha256").update(content).digest("hex"),
        inline: a.disposition === "inline" || a.related === true,
        contentId: a.contentId?.trim().replace(/^<(.*)>$/, "$1") || null,
      };
    }),
    text,
    newText,
    bodySource,
    forwarded: FORWARD_SUBJECT.test(subject) || forwardMarker,
    rawSha256: createHash("sha256").update(raw).digest("hex"),
  };
}
