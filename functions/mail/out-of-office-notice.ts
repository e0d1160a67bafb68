import { statedReturn } from "../domain/absence-dates.js";
import type { SesVerdicts } from "./inbound-policy.js";
import type { ParsedInboundEmail } from "./parse-reply.js";
import { AUTO_REPLY_HEADERS } from "./policy-headers.js";
import { type TokenLookup, normaliseEmail, recipientRefOf } from "./reply-token.js";

/**
 * Whether an automatic message is an out-of-office reply that may act, read from the message alone:
 * the receiving function (receive-email.ts) hands the notice on, and out-of-office.ts acts on it
 * where the command path is (apply-reply.ts).
 */

/** Mail systems' own out-of-office markers, and the subjects they write. */
const OUT_OF_OFFICE_SUBJECT =
  /^\s*(auto:|automatic reply|auto[- ]?reply|autoreply|auto response|out of (the )?office|ooo\b|on (annual )?leave|away from the office)/i;
const OUT_OF_OFFICE_TEXT =
  /\b(out of (the )?office|on (annual |parental |maternity |paternity |sick |study )?leave|away from (the office|work|my desk)|on holiday|not in the office|limited access to (my )?e-?mail|back (on|in the office)|returning (on )?)/i;

/**
 * Whether an automatic message is an out-of-office reply, not a list message, a bounce or a report:
 * an auto-reply marker (RFC 3834 `Auto-Submitted: auto-replied`, the vendors' X-Autoreply headers,
 * or an automatic-reply subject) and words that say the person is away.
 */
export function isOutOfOffice(parsed: ParsedInboundEmail): boolean {
  const h = parsed.headers;
  const machine =
    h["list-id"].length > 0 ||
    h["list-unsubscribe"].length > 0 ||
    h["x-failed-recipients"].length > 0 ||
    h["return-path"].some((v) => /^<\s*>$/.test(v.trim())) ||
    h["content-type"].some((v) => /^multipart\/report\b/i.test(v.trim()));
  if (machine) return false;
  const marked =
    h["auto-submitted"].some((v) => /^auto-replied\b/i.test(v.trim())) ||
    AUTO_REPLY_HEADERS.some((name) => h[name].some((v) => !/^no$/i.test(v.trim()))) ||
    OUT_OF_OFFICE_SUBJECT.test(parsed.subject);
  return marked && (OUT_OF_OFFICE_SUBJECT.test(parsed.subject) || OUT_OF_OFFICE_TEXT.test(parsed.text));
}

/**
 * What the receiving function hands on about an out-of-office reply (inbound-reply.ts): who sent it,
 * the key of the message (the absence's id comes from it) and the last day away it states.
 */
export interface OutOfOfficeNotice {
  /** The one From address, lower-cased. */
  readonly from: string;
  /** The Message-ID, or `sha256:` and the raw message's hash when there is none. */
  readonly messageKey: string;
  readonly until?: string;
}

/**
 * The notice of an automatic message, when it can act: an out-of-office reply ({@link isOutOfOffice}),
 * authenticated, from the one address an assignee's token was sent to. What the challenge must
 * also say (the stage still open, still theirs) is checked where the command runs (out-of-office.ts actOnOutOfOffice).
 * `today` is the London day it was received: the stated return is read against it.
 */
export function outOfOfficeNotice(
  parsed: ParsedInboundEmail,
  verdicts: SesVerdicts,
  token: TokenLookup,
  today: string,
): OutOfOfficeNotice | undefined {
  if (!isOutOfOffice(parsed)) return undefined;
  const all = [verdicts.virus, verdicts.spam, verdicts.spf, verdicts.dkim, verdicts.dmarc];
  if (all.some((v) => v !== "PASS")) return undefined;
  if (!token.ok || token.claims.party !== "assignee" || parsed.from === null) return undefined;
  const from = normaliseEmail(parsed.from.address);
  if (recipientRefOf(from) !== token.claims.recipientRef) return undefined;
  const until = statedReturn(`${parsed.subject}\n${parsed.text}`, today)?.lastDayAway;
  return {
    from,
    messageKey: parsed.messageId ?? `sha256:${parsed.rawSha256}`,
    ...(until === undefined ? {} : { until }),
  };
}
