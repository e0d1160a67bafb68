import type { ChallengeStatus } from "../domain/challenge/state.js";
import type { MailAddress, ParsedInboundEmail } from "./parse-reply.js";
import { AUTO_REPLY_HEADERS } from "./policy-headers.js";
import {
  normaliseEmail,
  recipientRefOf,
  stageRefOf,
  type ReplyParty,
  type TokenLookup,
} from "./reply-token.js";

/**
 * Whether an inbound email may act on a challenge, and how. Pure: the handler gathers the facts
 * (SES verdicts, the verified token, the challenge) and does what this says.
 *
 * Fail closed. Every check below must pass, in this order:
 *
 * 1. SES's virus and spam verdicts are PASS (GRAY, PROCESSING_FAILED and FAIL all refuse).
 * 2. It is not an auto-reply, list mail or delivery report ({@link autoReplySignals}).
 * 3. SPF, DKIM *and DMARC* are PASS. SPF and DKIM alone authenticate *some* domain (the envelope
 *    sender's, a signer's), not necessarily the From header's; DMARC is what ties them to From.
 *    A missing DMARC verdict refuses too.
 * 4. The From header holds exactly one address.
 * 5. The Message-ID has not been processed (record it only for messages that got this far, so a
 *    forged message cannot use up a real reply's Message-ID).
 * 6. It is not a forward.
 * 7. Exactly one valid, unexpired reply token of ours is among the recipients.
 * 8. From is the address the token was sent to (case-insensitive, display name ignored): the
 *    token's recipient ref must match it.
 * 9. The challenge exists and is open, and the token is for the stage visit that is open now
 *    (so the person whose stage has moved on is told so), and From is also the address the
 *    challenge expects for that stage now.
 * 10. The token has not acted before ("a token acts once"; an acknowledgement does not use it up).
 * 11. There is new text (at most 10,000 characters: the commands' limit), and it says what to do.
 *
 * The first word picks the action (case-insensitive, trailing punctuation ignored):
 *
 * - From the stage's **assignee** (a manager): `ACK`, `ACKNOWLEDGE` or `ACKNOWLEDGED` acknowledges
 *   the stage; anything else is their response, recorded whole. `RESOLVED` and `ESCALATE` are not
 *   theirs to say: whether a response resolves a challenge, or it goes up the ladder, is the
 *   raiser's call under every seed protocol, so a manager's "RESOLVED - placement confirmed" is
 *   recorded as their response and the raiser is asked to decide.
 * - From the **raiser**: `RESOLVED` (followed by a summary) marks it resolved; `ESCALATE`
 *   (followed by the reasons, which the protocols require) escalates. The word may also stand alone
 *   on a line of its own anywhere in the reply. Both words, or neither, refuse: a raiser's reply
 *   is never guessed into a decision.
 *
 * Refusals never bounce to senders that are not authenticated, to auto-replies, or for duplicates
 * (no backscatter, no mail loops); every other refusal bounces: {@link bounceText}.
 */

export type SesVerdict = "PASS" | "FAIL" | "GRAY" | "PROCESSING_FAILED";

export interface SesVerdicts {
  readonly spf: SesVerdict;
  readonly dkim: SesVerdict;
  /** Required in effect: absent refuses (SES always reports it; the local runtime must too). */
  readonly dmarc?: SesVerdict;
  readonly spam: SesVerdict;
  readonly virus: SesVerdict;
}

export interface InboundContext {
  /**
   * The address the token was sent to, from the challenge: the current stage's assignee's email
   * for an assignee token, the raiser's for a raiser token. Null when it could not be resolved.
   */
  readonly expectedRecipientEmail: string | null;
  /** The open stage, or null when none is. */
  readonly currentStageId: string | null;
  /** When the open stage was opened (StageOpened.data.openedAt): the token binds the visit. */
  readonly currentStageOpenedAt: string | null;
  /** "none" when the token's challenge does not exist. */
  readonly challengeStatus: ChallengeStatus | "none";
  /** This Message-ID was processed before. */
  readonly alreadyProcessed: boolean;
  /** An earlier reply through the same token already recorded a response, resolution or escalation. */
  readonly tokenSpent: boolean;
}

export type InboundAction = "respond" | "resolved" | "escalate" | "acknowledge";

export type RefusalReason =
  | "virus"
  | "spam"
  | "auto_reply"
  | "not_authenticated"
  | "no_sender"
  | "duplicate"
  | "forwarded"
  | "no_reply_address"
  | "several_reply_addresses"
  | "token_malformed"
  | "token_bad_signature"
  | "token_unknown_key"
  | "token_expired"
  | "wrong_sender"
  | "challenge_not_found"
  | "challenge_not_open"
  | "stage_closed"
  | "token_spent"
  | "empty_reply"
  | "too_long"
  | "action_word_missing"
  | "ambiguous_action"
  | "reasons_missing";

export interface InboundActs {
  readonly act: true;
  readonly action: InboundAction;
  /** The response, the resolution summary or the escalation reasons (for `acknowledge`: the rest of the reply, which is not recorded). */
  readonly text: string;
}

export interface InboundRefusal {
  readonly act: false;
  readonly reason: RefusalReason;
  /** Why, in plain words: for the audit record and the bounce. */
  readonly explanation: string;
  /** Whether a bounce-style reply is safe: an authenticated, human sender. */
  readonly bounce: boolean;
}

export type InboundDecision = InboundActs | InboundRefusal;

/** The longest text a command accepts (respond, resolve, escalate). */
export const MAX_REPLY_TEXT = 10_000;

// ---------------------------------------------------------------------------------------------
// Auto-replies

const AUTO_SUBJECT =
  /^\s*(auto:|automatic reply|auto[- ]?reply|auto response|autosvar|automatisk svar|automatisch antwoord|abwesenheitsnotiz|réponse automatique|respuesta automática|out of (the )?office|undeliverable:|undelivered mail|delivery status notification|mail delivery failed|returned mail:|read:|not read:)/i;
const NOREPLY_SENDER =
  /^(mailer[-_]?daemon|post[-_]?master|no[-_]?reply|do[-_]?not[-_]?reply|bounces?)([+@]|$)/i;
const NEGATIVE = /^(no|false|0)$/i;

/**
 * Why a message looks machine-sent (RFC 3834 Auto-Submitted, the vendors' own headers, list and
 * bulk mail, delivery reports, out-of-office subjects, no-reply senders); empty for a person's mail.
 * `X-Auto-Response-Suppress` is deliberately not a signal: Outlook puts it on ordinary mail.
 */
export function autoReplySignals(parsed: ParsedInboundEmail): string[] {
  const signals: string[] = [];
  const h = parsed.headers;
  const value = (values: readonly string[]): string => (values[0] ?? "").split(";")[0]?.trim() ?? "";

  if (h["auto-submitted"].some((v) => !NEGATIVE.test(v.split(";")[0]?.trim() ?? ""))) {
    signals.push(`Auto-Submitted: ${value(h["auto-submitted"])}`);
  }
  for (const name of AUTO_REPLY_HEADERS) {
    if (h[name].some((v) => !NEGATIVE.test(v.trim()))) signals.push(`${name} header`);
  }
  for (const name of ["precedence", "x-precedence"] as const) {
    if (h[name].some((v) => /^(bulk|auto_reply|list|junk)$/i.test(v.trim()))) {
      signals.push(`${name}: ${value(h[name])}`);
    }
  }
  if (h["x-ms-exchange-generated-message-source"].length > 0) {
    signals.push(`generated by Exchange (${value(h["x-ms-exchange-generated-message-source"])})`);
  }
  if (h["x-ms-exchange-inbox-rules-loop"].length > 0) signals.push("sent by an Outlook inbox rule");
  if (h["list-id"].length > 0 || h["list-unsubscribe"].length > 0) signals.push("mailing list");
  if (h["return-path"].some((v) => /^<\s*>$/.test(v.trim()))) signals.push("null Return-Path (a bounce)");
  if (h["x-failed-recipients"].length > 0) signals.push("delivery failure report");
  if (h["content-type"].some((v) => /^multipart\/report\b/i.test(v.trim())))
    signals.push("delivery or read report");
  if (AUTO_SUBJECT.test(parsed.subject)) signals.push("automatic-reply subject");
  if (parsed.from !== null && NOREPLY_SENDER.test(parsed.from.address)) signals.push("no-reply sender");
  return signals;
}

// ---------------------------------------------------------------------------------------------
// The action words

type Keyword = "resolved" | "escalate" | "acknowledge";

const KEYWORDS: Readonly<Record<string, Keyword>> = {
  resolved: "resolved",
  escalate: "escalate",
  ack: "acknowledge",
  acknowledge: "acknowledge",
  acknowledged: "acknowledge",
};

const FIRST_WORD = /^\s*([A-Za-z]+)(?=$|[\s.,:;!\-–—])[\s.,:;!\-–—]*/;
const WORD_LINE = /^\s*([A-Za-z]+)[.,:;!]*\s*$/;

function keywordOf(word: string | undefined): Keyword | undefined {
  return word === undefined ? undefined : KEYWORDS[word.toLowerCase()];
}

export type ReadAction =
  | { readonly ok: true; readonly action: InboundAction; readonly text: string }
  | { readonly ok: false; readonly reason: "action_word_missing" | "ambiguous_action" | "reasons_missing" };

/** Reads the action from the new text of a reply, for the party the token was sent to. */
export function readAction(newText: string, party: ReplyParty): ReadAction {
  const text = newText.trim();
  const first = FIRST_WORD.exec(text);
  const firstKeyword = keywordOf(first?.[1]);
  const rest = first ? text.slice(first[0].length).trim() : text;

  if (party === "assignee") {
    return firstKeyword === "acknowledge"
      ? { ok: true, action: "acknowledge", text: rest }
      : { ok: true, action: "respond", text };
  }

  // The raiser: RESOLVED or ESCALATE, as the first word or alone on a line.
  const lines = text.split("\n");
  const found = new Map<Keyword, () => string>();
  if (firstKeyword === "resolved" || firstKeyword === "escalate") found.set(firstKeyword, () => rest);
  lines.forEach((lineText, index) => {
    const keyword = keywordOf(WORD_LINE.exec(lineText)?.[1]);
    if ((keyword === "resolved" || keyword === "escalate") && !found.has(keyword)) {
      found.set(keyword, () =>
        lines
          .filter((_, i) => i !== index)
          .join("\n")
          .replace(/\n{3,}/g, "\n\n")
          .trim(),
      );
    }
  });
  if (found.size === 0) return { ok: false, reason: "action_word_missing" };
  if (found.size > 1) return { ok: false, reason: "ambiguous_action" };
  const [entry] = [...found];
  if (entry === undefined) return { ok: false, reason: "action_word_missing" };
  const [keyword, remainder] = entry;
  const body = remainder();
  if (keyword === "escalate") {
    return body === ""
      ? { ok: false, reason: "reasons_missing" }
      : { ok: true, action: "escalate", text: body };
  }
  // A bare "RESOLVED" is kept as written: the record holds what the raiser said.
  return { ok: true, action: "resolved", text: body === "" ? text : body };
}

// ---------------------------------------------------------------------------------------------
// The decision

const refuse = (reason: RefusalReason, explanation: string, bounce: boolean): InboundRefusal => ({
  act: false,
  reason,
  explanation,
  bounce,
});

const NOT_OPEN: Readonly<Record<Exclude<ChallengeStatus, "open">, string>> = {
  monitoring: "an action plan has been agreed, so no stage is waiting for a reply",
  ladder_exhausted: "the challenge has passed the last stage of the protocol",
  resolved: "the challenge has been resolved",
  withdrawn: "the challenge has been withdrawn",
  closed: "the challenge has been closed",
};

const TOKEN_REFUSALS = {
  missing: ["no_reply_address", "it was not sent to a reply address for a challenge"],
  ambiguous: ["several_reply_addresses", "it was sent to the reply addresses of more than one email at once"],
  malformed: [
    "token_malformed",
    "the reply address it was sent to is not one we issued (it may have been changed)",
  ],
  bad_signature: [
    "token_bad_signature",
    "the reply address it was sent to is not one we issued (it may have been changed)",
  ],
  unknown_key: ["token_unknown_key", "the reply address it was sent to is too old to be checked"],
  expired: ["token_expired", "the email you replied to is too old: its reply address has expired"],
} as const satisfies Record<string, readonly [RefusalReason, string]>;

export function decideInbound(
  parsed: ParsedInboundEmail,
  sesVerdicts: SesVerdicts,
  tokenResult: TokenLookup,
  context: InboundContext,
): InboundDecision {
  const checked = checkMessage(parsed, sesVerdicts);
  return checked.ok ? decideReply(replyFactsOf(parsed, checked.from), tokenResult, context) : checked.refusal;
}

/**
 * What checks 5-11 read of a message that passed checks 1-4 ({@link checkMessage}): what the
 * receiving function hands on to the one that applies replies (inbound-reply.ts).
 */
export interface ReplyFacts {
  /** The one From address, lower-cased (parse-reply.ts). */
  readonly from: string;
  readonly messageId: string | null;
  readonly rawSha256: string;
  readonly forwarded: boolean;
  /** The new text, trimmed, and cut one visible character past {@link MAX_REPLY_TEXT} (see {@link capReplyText}). */
  readonly newText: string;
}

/**
 * The new text as checks 10-11 need it: trimmed, and when longer than {@link MAX_REPLY_TEXT}, cut
 * to its first MAX_REPLY_TEXT characters and the next visible one, so the cut text is still too
 * long (the same refusal) while what is handed on stays small.
 */
export function capReplyText(newText: string): string {
  const text = newText.trim();
  if (text.length <= MAX_REPLY_TEXT) return text;
  return text.slice(0, MAX_REPLY_TEXT) + text.slice(MAX_REPLY_TEXT).trimStart().charAt(0);
}

export function replyFactsOf(parsed: ParsedInboundEmail, from: MailAddress): ReplyFacts {
  return {
    from: from.address,
    messageId: parsed.messageId,
    rawSha256: parsed.rawSha256,
    forwarded: parsed.forwarded,
    newText: capReplyText(parsed.newText),
  };
}

export type MessageCheck =
  | { readonly ok: true; readonly from: MailAddress }
  | { readonly ok: false; readonly refusal: InboundRefusal };

/**
 * Checks 1-4, on the message alone (no challenge, no claim): a refusal, never bounced, or the one
 * From address of an authenticated person's message.
 */
export function checkMessage(parsed: ParsedInboundEmail, sesVerdicts: SesVerdicts): MessageCheck {
  const refusal = messageRefusal(parsed, sesVerdicts);
  if (refusal !== undefined) return { ok: false, refusal };
  return parsed.from === null
    ? {
        ok: false,
        refusal: refuse("no_sender", `the From header holds ${parsed.fromCount} addresses, not one`, false),
      }
    : { ok: true, from: parsed.from };
}

function messageRefusal(parsed: ParsedInboundEmail, sesVerdicts: SesVerdicts): InboundRefusal | undefined {
  // Content first, quietly: nothing is said to the sender of a virus or of spam.
  if (sesVerdicts.virus !== "PASS") {
    return refuse("virus", `virus scan verdict ${sesVerdicts.virus}`, false);
  }
  if (sesVerdicts.spam !== "PASS") return refuse("spam", `spam verdict ${sesVerdicts.spam}`, false);

  const signals = autoReplySignals(parsed);
  if (signals.length > 0) return refuse("auto_reply", `automatic message: ${signals.join("; ")}`, false);

  const failed = (["spf", "dkim", "dmarc"] as const)
    .map((check) => [check, sesVerdicts[check]] as const)
    .filter(([, verdict]) => verdict !== "PASS")
    .map(([check, verdict]) => `${check.toUpperCase()} ${verdict ?? "missing"}`);
  if (failed.length > 0) {
    return refuse("not_authenticated", `sender not authenticated: ${failed.join(", ")}`, false);
  }

  return undefined;
}

/** Checks 5-11: the reply against its token, its challenge and the claims. */
export function decideReply(
  reply: ReplyFacts,
  tokenResult: TokenLookup,
  context: InboundContext,
): InboundDecision {
  const from = reply.from;

  if (context.alreadyProcessed) {
    return refuse("duplicate", `message ${reply.messageId ?? reply.rawSha256} was already processed`, false);
  }

  // From here on the sender is authenticated and human: refusals are explained to them.
  if (reply.forwarded) {
    return refuse(
      "forwarded",
      "it is a forwarded email; only a reply from the person it was sent to counts",
      true,
    );
  }

  if (!tokenResult.ok) {
    const [reason, explanation] = TOKEN_REFUSALS[tokenResult.refusal];
    return refuse(reason, explanation, true);
  }
  const claims = tokenResult.claims;

  const wrongSender = (): InboundRefusal =>
    refuse("wrong_sender", "it came from a different address from the one the email was sent to", true);
  if (recipientRefOf(from) !== claims.recipientRef) return wrongSender();

  if (context.challengeStatus === "none") {
    return refuse("challenge_not_found", "the challenge it is about could not be found", true);
  }
  if (context.challengeStatus !== "open") {
    return refuse(
      "challenge_not_open",
      `${NOT_OPEN[context.challengeStatus]}, so the reply was not recorded`,
      true,
    );
  }
  if (
    context.currentStageId === null ||
    context.currentStageOpenedAt === null ||
    stageRefOf(context.currentStageId, context.currentStageOpenedAt) !== claims.stageRef
  ) {
    return refuse(
      "stage_closed",
      "the challenge has moved on since the email you replied to was sent: that stage is closed (it may have been escalated), so the reply was not recorded",
      true,
    );
  }
  // The token's recipient ref already matched; this also holds its 16 bits to the address the
  // challenge expects now. (After the stage check: a stage that moved on has another assignee.)
  if (context.expectedRecipientEmail === null || normaliseEmail(context.expectedRecipientEmail) !== from) {
    return wrongSender();
  }
  if (context.tokenSpent) {
    return refuse(
      "token_spent",
      "a reply to this email has already been recorded; a further reply is not",
      true,
    );
  }

  const text = reply.newText.trim();
  if (text === "") {
    return refuse("empty_reply", "no new text was found above the quoted email", true);
  }
  if (text.length > MAX_REPLY_TEXT) {
    return refuse(
      "too_long",
      `the reply is longer than ${MAX_REPLY_TEXT.toLocaleString("en-GB")} characters`,
      true,
    );
  }

  const read = readAction(text, claims.party);
  if (!read.ok) {
    const explanations = {
      action_word_missing: "it did not start with RESOLVED or ESCALATE",
      ambiguous_action: "it contained both RESOLVED and ESCALATE",
      reasons_missing: "ESCALATE was not followed by the reasons the response is not satisfactory",
    } as const;
    return refuse(read.reason, explanations[read.reason], true);
  }
  return { act: true, action: read.action, text: read.text };
}

// ---------------------------------------------------------------------------------------------
// Bounces

const ADVICE: Readonly<Record<RefusalReason, string>> = {
  virus: "",
  spam: "",
  auto_reply: "",
  not_authenticated: "",
  no_sender: "",
  duplicate: "",
  forwarded:
    "Ask the person the email was sent to to reply from their own mailbox, or record the information on the case record.",
  no_reply_address:
    "Reply to the email you received about the challenge (its reply address identifies it), or use the case record.",
  several_reply_addresses: "Reply to each email about a challenge separately, or use the case record.",
  token_malformed:
    "Reply to the email you received without changing its reply address, or use the case record.",
  token_bad_signature:
    "Reply to the email you received without changing its reply address, or use the case record.",
  token_unknown_key: "Please use the case record, or reply to the most recent email about the challenge.",
  token_expired: "Please use the case record, or reply to the most recent email about the challenge.",
  wrong_sender:
    "Replies are recorded only from the address the email was sent to. If you are acting for that person, please use the case record.",
  challenge_not_found: "Please use the case record.",
  challenge_not_open:
    "If something still needs to happen for the child, contact the person who raised the challenge or use the case record.",
  stage_closed:
    "If you still want to add to the challenge, reply to the most recent email about it, if you have one, or use the case record.",
  token_spent: "To add to what you said, please use the case record.",
  empty_reply: "Write your reply above the quoted email and send it again, or use the case record.",
  too_long: "Please put a shorter reply in the email, or record the full text on the case record.",
  action_word_missing:
    "Reply again with RESOLVED followed by a short summary, or ESCALATE followed by your reasons, as the first word; or use the case record.",
  ambiguous_action: "Reply again with only one of RESOLVED or ESCALATE, or use the case record.",
  reasons_missing: "Reply again with ESCALATE followed by your reasons, or use the case record.",
};

/**
 * A short plain-text reply for a refusal that may bounce: why, and what to do instead. It never
 * repeats what the sender wrote. Send it with `Auto-Submitted: auto-replied` and an empty
 * Return-Path, so that it cannot start a loop.
 */
export function bounceText(refusal: InboundRefusal): string {
  if (!refusal.bounce) throw new Error(`refusal ${refusal.reason} must not be answered`);
  return (
    [
      "Your email has not been recorded against the challenge.",
      `Why: ${refusal.explanation}.`,
      `What to do instead: ${ADVICE[refusal.reason]}`,
      "This is an automatic reply. Replies to it are not read.",
    ].join("\n\n") + "\n"
  );
}
