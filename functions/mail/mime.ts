/**
 * What we hand SES for a Simple send (SES v2 SendEmail, `Content.Simple`): SES builds and encodes
 * the MIME message itself (body parts, Subject with its charset, folding). What SES leaves to the
 * sender is kept here, small and tested: addresses in a plain form, display names as RFC 2047
 * encoded-words where they are not ASCII (SES requires it for the "friendly" name), subjects and
 * header values on one line. Nothing a caller passes can start another header: control
 * characters are replaced before anything is written, and encoded-words are base64 (which has no
 * CR or LF to carry).
 */

const ADDRESS = /^[^\s<>()[\]\\,;:"@]+@[^\s<>()[\]\\,;:"@]+$/;
/** SES v2 MessageHeader: a name of printable ASCII without `:`, a value of printable ASCII. */
const HEADER_NAME = /^[!-9;-~]{1,126}$/;
const HEADER_VALUE = /^[ -~]{1,870}$/;
/** An encoded-word is at most 75 characters (RFC 2047 §2): `=?UTF-8?B?` + 60 base64 + `?=`. */
const ENCODED_WORD_BYTES = 45;

/** One line, no control characters: nothing a value holds can start another header. */
export function headerText(value: string): string {
  return value
    .replace(/[\p{Cc}\u2028\u2029]+/gu, " ")
    .replace(/\s+/g, " ")
    .trim();
}

/**
 * RFC 2047 encoded-words (UTF-8, base64) for a phrase, split between characters so no word is
 * longer than 75 characters. Base64 holds only letters, digits, `+`, `/` and `=`.
 */
export function encodedWords(text: string): string {
  const words: string[] = [];
  let chunk = "";
  for (const char of text) {
    if (Buffer.byteLength(chunk + char, "utf8") > ENCODED_WORD_BYTES) {
      words.push(chunk);
      chunk = "";
    }
    chunk += char;
  }
  if (chunk !== "") words.push(chunk);
  return words.map((w) => `=?UTF-8?B?${Buffer.from(w, "utf8").toString("base64")}?=`).join(" ");
}

/**
 * A mailbox for SES (`FromEmailAddress`, `ToAddresses`, `CcAddresses`, `ReplyToAddresses`):
 * the bare address, or a display name and the address. An ASCII name is a quoted string; any
 * other is encoded-words. Throws on an address this sender will not write.
 */
export function mailbox(email: string, name?: string): string {
  const address = email.trim();
  if (!ADDRESS.test(address) || !/^[!-~]+$/.test(address)) {
    throw new Error("an email address is not in a form this sender accepts");
  }
  const phrase = name === undefined ? "" : headerText(name);
  if (phrase === "") return address;
  const display = /^[ -~]*$/.test(phrase) ? `"${phrase.replace(/[\\"]/g, "\\$&")}"` : encodedWords(phrase);
  return `${display} <${address}>`;
}

/** A further header (SES v2 `MessageHeader`): a checked name, a one-line printable-ASCII value. */
export function messageHeader(name: string, value: string): { Name: string; Value: string } {
  const text = headerText(value);
  if (!HEADER_NAME.test(name) || !HEADER_VALUE.test(text)) throw new Error(`invalid header ${name}`);
  return { Name: name, Value: text };
}
