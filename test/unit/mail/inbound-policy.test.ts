import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  MAX_REPLY_TEXT,
  autoReplySignals,
  bounceText,
  decideInbound,
  readAction,
  type InboundContext,
  type InboundDecision,
  type InboundRefusal,
  type SesVerdict,
  type SesVerdicts,
} from "../../../functions/mail/inbound-policy.js";
import { parseInboundEmail, type ParsedInboundEmail } from "../../../functions/mail/parse-reply.js";
import {
  locateReplyToken,
  replyAddressFor,
  type ReplyKeyRing,
  type TokenLookup,
} from "../../../functions/mail/reply-token.js";

// The keys, tenants and clock the fixtures' tokens were signed for.
const secret = (seed: string): Uint8Array => new Uint8Array(createHash("sha256").update(seed).digest());
const KEYS: ReplyKeyRing = {
  current: { id: 3, secret: secret("northby test reply key 3") },
  previous: { id: 2, secret: secret("northby test reply key 2") },
};
const TENANTS = ["southmoor", "northby", "eastwick"];
const DOMAIN = "reply.challenges.example";
const NOW = new Date("2026-11-24T09:30:00Z");

const PASS: SesVerdicts = { spf: "PASS", dkim: "PASS", dmarc: "PASS", spam: "PASS", virus: "PASS" };

/** The challenge as the handler would load it: open at Stage 2 since Monday 23 November, 10:00. */
const STAGE_2 = { currentStageId: "stage_2", currentStageOpenedAt: "2026-11-23T10:00:00.000Z" } as const;
const open = (expectedRecipientEmail: string): InboundContext => ({
  expectedRecipientEmail,
  ...STAGE_2,
  challengeStatus: "open",
  alreadyProcessed: false,
  tokenSpent: false,
});
const SAM = open("Sam.Whitlock@northby.example");
const MORGAN = open("morgan.hale@northby.example");

const FIXTURES = new URL("../../fixtures/mail/", import.meta.url);
const raw = (name: string): string => readFileSync(new URL(name, FIXTURES), "utf8");

const tokenOf = (email: ParsedInboundEmail, keys: ReplyKeyRing = KEYS): TokenLookup =>
  locateReplyToken(
    [...email.to, ...email.cc].map((a) => a.address),
    DOMAIN,
    keys,
    NOW,
    TENANTS,
  );

async function decide(
  source: string,
  context: InboundContext,
  verdicts: SesVerdicts = PASS,
  keys: ReplyKeyRing = KEYS,
): Promise<InboundDecision> {
  const email = await parseInboundEmail(source.endsWith(".eml") ? raw(source) : source);
  return decideInbound(email, verdicts, tokenOf(email, keys), context);
}

/** Adds header lines at the top of a raw message (valid anywhere in the header block). */
const withHeaders = (name: string, ...lines: string[]): string => `${lines.join("\r\n")}\r\n${raw(name)}`;

describe("fixtures: what the policy decides", () => {
  it.each<[string, InboundContext, Partial<InboundDecision>]>([
    [
      "outlook-desktop-reply.eml",
      SAM,
      {
        act: true,
        action: "respond",
        text: expect.stringMatching(/^Thank you for raising this\./) as unknown as string,
      },
    ],
    [
      "outlook-mobile-reply.eml",
      SAM,
      {
        act: true,
        action: "acknowledge",
        text: "will respond properly once I'm back at my desk this afternoon.",
      },
    ],
    [
      "gmail-reply.eml",
      MORGAN,
      {
        act: true,
        action: "resolved",
        text: "the panel date is set for 2 December and the social worker will\nrecord Rowan's views before then. I will check progress at the next LAC review.\n\nMorgan",
      },
    ],
    [
      "apple-mail-iphone-reply.eml",
      MORGAN,
      {
        act: true,
        action: "escalate",
        text: "The response does not say who will fund the placement or when Rowan\u2019s move will happen. Rowan has now waited 14 weeks for a decision.",
      },
    ],
    ["html-only-reply.eml", SAM, { act: true, action: "respond" }],
    ["reply-with-attachment.eml", SAM, { act: true, action: "respond" }],
    ["quoted-printable-reply.eml", SAM, { act: true, action: "respond" }],
    ["base64-reply.eml", SAM, { act: true, action: "respond" }],
    ["forwarded-by-colleague.eml", SAM, { act: false, reason: "forwarded", bounce: true }],
    ["forwarded-token-in-body.eml", MORGAN, { act: false, reason: "forwarded", bounce: true }],
    ["out-of-office.eml", SAM, { act: false, reason: "auto_reply", bounce: false }],
    ["tampered-token.eml", SAM, { act: false, reason: "token_bad_signature", bounce: true }],
    [
      "expired-token.eml",
      open("jo.barnard@northby.example"),
      { act: false, reason: "token_expired", bounce: true },
    ],
    // Jo's Stage 1 email: the challenge has since escalated to Sam at Stage 2.
    ["stage-escalated-reply.eml", SAM, { act: false, reason: "stage_closed", bounce: true }],
  ])("%s", async (name, context, expected) => {
    expect(await decide(name, context)).toMatchObject(expected);
  });

  it("a spoofed From: SPF fails, there is no DKIM signature and DMARC fails: refused, no bounce", async () => {
    const decision = await decide("spoofed-from.eml", SAM, {
      ...PASS,
      spf: "FAIL",
      dkim: "GRAY",
      dmarc: "FAIL",
    });
    expect(decision).toMatchObject({ act: false, reason: "not_authenticated", bounce: false });
    expect(decision.act || decision.explanation).toBe(
      "sender not authenticated: SPF FAIL, DKIM GRAY, DMARC FAIL",
    );
  });

  it("a spoofed From that passes SPF and DKIM for the attacker's own domain still fails on DMARC", async () => {
    const decision = await decide("spoofed-from.eml", SAM, { ...PASS, dmarc: "FAIL" });
    expect(decision).toMatchObject({ act: false, reason: "not_authenticated", bounce: false });
  });

  it("a duplicate delivery: the first acts, the second is refused quietly", async () => {
    expect(await decide("outlook-desktop-reply.eml", SAM)).toMatchObject({ act: true });
    const again = await decide("duplicate-delivery.eml", { ...SAM, alreadyProcessed: true });
    expect(again).toMatchObject({ act: false, reason: "duplicate", bounce: false });
  });

  it("the forwarded colleague's reply would be refused as the wrong sender even without Fw: in the subject", async () => {
    const source = raw("forwarded-by-colleague.eml").replace("Subject: FW: ", "Subject: RE: ");
    expect(await decide(source, SAM)).toMatchObject({ act: false, reason: "wrong_sender", bounce: true });
  });

  it("the token quoted in a forward is never picked up", async () => {
    const email = await parseInboundEmail(raw("forwarded-token-in-body.eml"));
    expect(tokenOf(email)).toMatchObject({ ok: false, refusal: "missing" });
    const notForwarded = { ...email, forwarded: false };
    expect(decideInbound(notForwarded, PASS, tokenOf(email), MORGAN)).toMatchObject({
      act: false,
      reason: "no_reply_address",
    });
  });

  it("the raiser's token was signed with the previous key: it stops working two rotations on", async () => {
    const later: ReplyKeyRing = {
      current: { id: 4, secret: secret("northby test reply key 4") },
      previous: KEYS.current,
    };
    expect(await decide("gmail-reply.eml", MORGAN, PASS, later)).toMatchObject({
      act: false,
      reason: "token_unknown_key",
    });
  });

  it("an out-of-office is refused before anything else is looked at, and never bounced", async () => {
    for (const context of [
      SAM,
      { ...SAM, challengeStatus: "closed" as const },
      open("someone@else.example"),
    ]) {
      expect(await decide("out-of-office.eml", context)).toMatchObject({
        reason: "auto_reply",
        bounce: false,
      });
    }
  });

  it("the reply to an escalated stage explains what to do instead", async () => {
    const decision = (await decide("stage-escalated-reply.eml", SAM)) as InboundRefusal;
    expect(decision.explanation).toMatch(/moved on/);
    const bounce = bounceText(decision);
    expect(bounce).toContain("reply to the most recent email about it");
    expect(bounce).toContain("case record");
    expect(bounce).not.toContain("Sorry I missed the deadline");
  });
});

describe("SES verdicts: only PASS acts", () => {
  const checks = ["spf", "dkim", "dmarc", "spam", "virus"] as const;
  const failures: SesVerdict[] = ["FAIL", "GRAY", "PROCESSING_FAILED"];

  it.each(checks.flatMap((check) => failures.map((verdict) => [check, verdict] as const)))(
    "%s %s refuses, without a bounce",
    async (check, verdict) => {
      const decision = await decide("outlook-desktop-reply.eml", SAM, { ...PASS, [check]: verdict });
      const reason = check === "spam" ? "spam" : check === "virus" ? "virus" : "not_authenticated";
      expect(decision).toMatchObject({ act: false, reason, bounce: false });
    },
  );

  it("a missing DMARC verdict refuses (fail closed)", async () => {
    const { dmarc: _, ...withoutDmarc } = PASS;
    expect(await decide("outlook-desktop-reply.eml", SAM, withoutDmarc)).toMatchObject({
      act: false,
      reason: "not_authenticated",
      explanation: "sender not authenticated: DMARC missing",
    });
  });

  it("virus and spam are judged before anything else", async () => {
    expect(await decide("out-of-office.eml", SAM, { ...PASS, virus: "FAIL", spf: "FAIL" })).toMatchObject({
      reason: "virus",
    });
    expect(await decide("out-of-office.eml", SAM, { ...PASS, spam: "GRAY" })).toMatchObject({
      reason: "spam",
    });
  });
});

describe("auto-replies never act and never bounce", () => {
  it.each([
    ["Auto-Submitted: auto-replied"],
    ['Auto-Submitted: auto-generated; owner-email="x@northby.example"'],
    ["X-Autoreply: yes"],
    ["X-Autorespond: Out of office"],
    ["Precedence: bulk"],
    ["Precedence: auto_reply"],
    ["Precedence: list"],
    ["X-MS-Exchange-Generated-Message-Source: Mailbox Rules Agent"],
    ["X-MS-Exchange-Inbox-Rules-Loop: sam.whitlock@northby.example"],
    ["List-Id: <care-team.northby.example>"],
    ["X-Failed-Recipients: someone@northby.example"],
  ])("%s", async (header) => {
    const decision = await decide(withHeaders("outlook-desktop-reply.eml", header), SAM);
    expect(decision).toMatchObject({ act: false, reason: "auto_reply", bounce: false });
  });

  it.each([
    ["Automatic reply: Challenge"],
    ["Out of Office: Challenge"],
    ["Auto: Challenge"],
    ["Undeliverable: Challenge"],
    ["Read: Challenge"],
  ])("subject %s", async (subject) => {
    const source = raw("outlook-mobile-reply.eml").replace(/^Subject: .*$/m, `Subject: ${subject}`);
    expect(await decide(source, SAM)).toMatchObject({ reason: "auto_reply", bounce: false });
  });

  it("a null Return-Path (a bounce) and a delivery report", async () => {
    const bounce = raw("outlook-mobile-reply.eml").replace(/^Return-Path: .*$/m, "Return-Path: <>");
    expect(await decide(bounce, SAM)).toMatchObject({ reason: "auto_reply" });
    const report = raw("out-of-office.eml")
      .replace("Auto-Submitted: auto-generated\r\n", "")
      .replace("X-MS-Exchange-Inbox-Rules-Loop: sam.whitlock@northby.example\r\n", "")
      .replace(/^Subject: .*$/m, "Subject: Challenge")
      .replace(
        'Content-Type: text/plain; charset="us-ascii"',
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"',
      );
    const email = await parseInboundEmail(report);
    expect(autoReplySignals(email)).toEqual(["delivery or read report"]);
  });

  it("no-reply and mailer-daemon senders", async () => {
    for (const from of [
      "MAILER-DAEMON@northby.example",
      "no-reply@northby.example",
      "postmaster@northby.example",
    ]) {
      const source = raw("outlook-mobile-reply.eml").replace(/^From: .*$/m, `From: ${from}`);
      expect(await decide(source, SAM)).toMatchObject({ reason: "auto_reply", bounce: false });
    }
  });

  it("are not confused with ordinary mail: Auto-Submitted: no, and Outlook's X-Auto-Response-Suppress", async () => {
    const email = await parseInboundEmail(withHeaders("outlook-desktop-reply.eml", "Auto-Submitted: no"));
    expect(email.headers["x-auto-response-suppress"]).toEqual(["All"]);
    expect(autoReplySignals(email)).toEqual([]);
    expect(decideInbound(email, PASS, tokenOf(email), SAM)).toMatchObject({ act: true });
  });
});

describe("the sender", () => {
  it("compares addresses case-insensitively and ignores the display name", async () => {
    const source = raw("outlook-mobile-reply.eml").replace(
      "From: Sam Whitlock <sam.whitlock@northby.example>",
      'From: "Whitlock, Sam (CYPS)" <SAM.WHITLOCK@NORTHBY.EXAMPLE>',
    );
    expect(await decide(source, SAM)).toMatchObject({ act: true, action: "acknowledge" });
  });

  it("must be the address the token was sent to", async () => {
    const source = raw("outlook-mobile-reply.eml").replace(
      "From: Sam Whitlock <sam.whitlock@northby.example>",
      "From: Sam Whitlock <sam.whitlock@northby-council.example>",
    );
    expect(await decide(source, SAM)).toMatchObject({ act: false, reason: "wrong_sender", bounce: true });
  });

  it("must also be the address the challenge expects now", async () => {
    expect(await decide("outlook-mobile-reply.eml", open("priya.nair@northby.example"))).toMatchObject({
      reason: "wrong_sender",
    });
    expect(await decide("outlook-mobile-reply.eml", { ...SAM, expectedRecipientEmail: null })).toMatchObject({
      reason: "wrong_sender",
    });
  });

  it("must be exactly one address", async () => {
    const source = raw("outlook-mobile-reply.eml").replace(
      "From: Sam Whitlock <sam.whitlock@northby.example>",
      "From: sam.whitlock@northby.example, chris.dunmore@northby.example",
    );
    expect(await decide(source, SAM)).toMatchObject({ act: false, reason: "no_sender", bounce: false });
  });
});

describe("the challenge and the stage", () => {
  it.each([
    ["resolved", /resolved/],
    ["withdrawn", /withdrawn/],
    ["closed", /closed/],
    ["monitoring", /action plan/],
    ["ladder_exhausted", /last stage/],
  ] as const)("a %s challenge takes no replies", async (status, explanation) => {
    const decision = await decide("outlook-desktop-reply.eml", { ...SAM, challengeStatus: status });
    expect(decision).toMatchObject({ act: false, reason: "challenge_not_open", bounce: true });
    expect(decision.act || decision.explanation).toMatch(explanation);
  });

  it("a challenge that cannot be found", async () => {
    expect(await decide("outlook-desktop-reply.eml", { ...SAM, challengeStatus: "none" })).toMatchObject({
      reason: "challenge_not_found",
    });
  });

  it("the same stage reopened later does not take replies to its first opening's email", async () => {
    const reopened = { ...SAM, currentStageOpenedAt: "2027-01-11T09:00:00.000Z" };
    expect(await decide("outlook-desktop-reply.eml", reopened)).toMatchObject({ reason: "stage_closed" });
  });

  it("no stage open", async () => {
    const none = { ...SAM, currentStageId: null, currentStageOpenedAt: null };
    expect(await decide("outlook-desktop-reply.eml", none)).toMatchObject({ reason: "stage_closed" });
  });

  it("a token acts once: a second reply is refused (an acknowledgement does not use it up: the handler's call)", async () => {
    expect(await decide("quoted-printable-reply.eml", { ...SAM, tokenSpent: true })).toMatchObject({
      act: false,
      reason: "token_spent",
      bounce: true,
    });
  });

  it("two reply addresses at once are ambiguous", async () => {
    const other = replyAddressFor(
      {
        tenantId: "northby",
        challengeId: "01JB7Y2W5V4T3S2R1Q0P9N8M7K",
        stageId: "stage_1",
        stageOpenedAt: "2026-11-20T09:00:00.000Z",
        party: "assignee",
        recipientEmail: "sam.whitlock@northby.example",
        expiresAt: new Date("2026-12-20T17:00:00Z"),
      },
      KEYS,
      DOMAIN,
    );
    const source = raw("outlook-mobile-reply.eml").replace(/^To: (.*)$/m, `To: $1, ${other}`);
    expect(await decide(source, SAM)).toMatchObject({ reason: "several_reply_addresses", bounce: true });
  });
});

describe("the text", () => {
  const base = async (): Promise<ParsedInboundEmail> => parseInboundEmail(raw("outlook-desktop-reply.eml"));

  it("empty new text refuses", async () => {
    const email = { ...(await base()), newText: "   " };
    expect(decideInbound(email, PASS, tokenOf(email), SAM)).toMatchObject({
      reason: "empty_reply",
      bounce: true,
    });
  });

  it("text longer than the commands accept refuses", async () => {
    const email = { ...(await base()), newText: "x".repeat(MAX_REPLY_TEXT + 1) };
    expect(decideInbound(email, PASS, tokenOf(email), SAM)).toMatchObject({ reason: "too_long" });
    const longest = { ...email, newText: "x".repeat(MAX_REPLY_TEXT) };
    expect(decideInbound(longest, PASS, tokenOf(email), SAM)).toMatchObject({ act: true });
  });

  it("a manager's ESCALATE or RESOLVED is their response, recorded whole", async () => {
    for (const words of [
      "ESCALATE - this needs the head of service",
      "RESOLVED: the placement is confirmed",
    ]) {
      const email = { ...(await base()), newText: words };
      expect(decideInbound(email, PASS, tokenOf(email), SAM)).toEqual({
        act: true,
        action: "respond",
        text: words,
      });
    }
  });

  it("a raiser's reply without an action word is refused with a bounce explaining the words", async () => {
    const email = {
      ...(await parseInboundEmail(raw("gmail-reply.eml"))),
      newText: "Thanks, I will think about it.",
    };
    const decision = decideInbound(email, PASS, tokenOf(email), MORGAN);
    expect(decision).toMatchObject({ act: false, reason: "action_word_missing", bounce: true });
    expect(bounceText(decision as InboundRefusal)).toContain(
      "RESOLVED followed by a short summary, or ESCALATE",
    );
  });
});

describe("readAction", () => {
  it.each([
    ["ACK", "acknowledge", ""],
    ["ack.", "acknowledge", ""],
    ["Acknowledged - thanks, will reply by Friday", "acknowledge", "thanks, will reply by Friday"],
    ["ACKNOWLEDGE", "acknowledge", ""],
    [
      "Acknowledgement of the issues: we accept them.",
      "respond",
      "Acknowledgement of the issues: we accept them.",
    ],
    ["We will take it to panel.", "respond", "We will take it to panel."],
    ["RESOLVED - placement confirmed", "respond", "RESOLVED - placement confirmed"],
    ["Escalate", "respond", "Escalate"],
    ["Thanks.\nACK", "respond", "Thanks.\nACK"],
  ] as const)("from the assignee, %j is %s", (text, action, rest) => {
    expect(readAction(text, "assignee")).toEqual({ ok: true, action, text: rest });
  });

  it.each([
    ["RESOLVED", { ok: true, action: "resolved", text: "RESOLVED" }],
    ["resolved: plan back on track", { ok: true, action: "resolved", text: "plan back on track" }],
    ["Resolved. Thank you all.", { ok: true, action: "resolved", text: "Thank you all." }],
    ["Thank you.\n\nRESOLVED\n\nMorgan", { ok: true, action: "resolved", text: "Thank you.\n\nMorgan" }],
    ["ESCALATE\nNo date for panel.", { ok: true, action: "escalate", text: "No date for panel." }],
    ["Escalate: no funding agreed", { ok: true, action: "escalate", text: "no funding agreed" }],
    [
      "Not good enough.\nESCALATE.\nNo date for panel.",
      { ok: true, action: "escalate", text: "Not good enough.\nNo date for panel." },
    ],
    ["ESCALATE", { ok: false, reason: "reasons_missing" }],
    ["ESCALATE.", { ok: false, reason: "reasons_missing" }],
    ["RESOLVED\nESCALATE\nwhy", { ok: false, reason: "ambiguous_action" }],
    ["Not resolved: the panel has not met.", { ok: false, reason: "action_word_missing" }],
    ["Resolved? Not at all.", { ok: false, reason: "action_word_missing" }],
    ["Resolvedly", { ok: false, reason: "action_word_missing" }],
    ["ACK", { ok: false, reason: "action_word_missing" }],
    ["Escalated to my manager already", { ok: false, reason: "action_word_missing" }],
  ] as const)("from the raiser, %j", (text, expected) => {
    expect(readAction(text, "raiser")).toEqual(expected);
  });
});

describe("bounceText", () => {
  it("says why and what to do, and that it is automatic", async () => {
    const decision = (await decide(
      "expired-token.eml",
      open("jo.barnard@northby.example"),
    )) as InboundRefusal;
    const text = bounceText(decision);
    expect(text).toBe(
      [
        "Your email has not been recorded against the challenge.",
        "",
        "Why: the email you replied to is too old: its reply address has expired.",
        "",
        "What to do instead: Please use the case record, or reply to the most recent email about the challenge.",
        "",
        "This is an automatic reply. Replies to it are not read.",
        "",
      ].join("\n"),
    );
    expect(text).not.toContain("contact plan");
  });

  it("refuses to write a bounce for a refusal that must stay quiet", async () => {
    const decision = (await decide("out-of-office.eml", SAM)) as InboundRefusal;
    expect(() => bounceText(decision)).toThrow(/must not be answered/);
  });

  it("bounces only to authenticated, human senders", async () => {
    const quiet = ["virus", "spam", "auto_reply", "not_authenticated", "no_sender", "duplicate"];
    const decisions = await Promise.all([
      decide("out-of-office.eml", SAM),
      decide("spoofed-from.eml", SAM, { ...PASS, spf: "FAIL" }),
      decide("outlook-desktop-reply.eml", SAM, { ...PASS, virus: "FAIL" }),
      decide("duplicate-delivery.eml", { ...SAM, alreadyProcessed: true }),
      decide("tampered-token.eml", SAM),
      decide("forwarded-by-colleague.eml", SAM),
    ]);
    for (const decision of decisions) {
      if (decision.act) continue;
      expect(decision.bounce).toBe(!quiet.includes(decision.reason));
    }
  });
});
