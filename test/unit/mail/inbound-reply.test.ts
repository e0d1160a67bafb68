import { describe, expect, it } from "vitest";
import { MAX_REPLY_TEXT, capReplyText, decideReply } from "../../../functions/mail/inbound-policy.js";
import {
  type VerifiedReply,
  parseVerifiedReply,
  serialiseVerifiedReply,
} from "../../../functions/mail/inbound-reply.js";
import { recipientRefOf, stageRefOf } from "../../../functions/mail/reply-token.js";

/**
 * The hand-over between the two inbound functions (functions/mail/inbound-reply.ts): what the
 * receiver sends is what the applier reads, checked by one schema on both sides, and the capped
 * new text leads to the same decision as the whole of it.
 */

const FROM = "sam.whitlock@northby.example";
const OPENED_AT = "2026-11-23T09:00:00.000Z";

const reply: VerifiedReply = {
  kind: "reply",
  sesMessageId: "0102019a5b2c0001o3e9k1m2n4p6q8r0s2t4u6v8w0",
  receivedAt: "2026-12-05T09:00:00.000Z",
  attribution: { tenantId: "northby", challengeId: "01JD3K8Q6T9X2M4N5P7R8S9V2C" },
  token: {
    ok: true,
    claims: {
      tenantId: "northby",
      challengeId: "01JD3K8Q6T9X2M4N5P7R8S9V2C",
      stageRef: stageRefOf("stage_2", OPENED_AT),
      recipientRef: recipientRefOf(FROM),
      party: "assignee",
      expiresAt: new Date("2027-01-31T17:00:00.000Z"),
      keyId: 1,
    },
  },
  reply: {
    from: FROM,
    messageId: "<r-1@northby.example>",
    rawSha256: "a".repeat(64),
    forwarded: false,
    newText: "The request goes to panel on 2 December.",
  },
  evidence: { senderDomain: "northby.example", attachments: [] },
};

const openStage = {
  expectedRecipientEmail: FROM,
  currentStageId: "stage_2",
  currentStageOpenedAt: OPENED_AT,
  challengeStatus: "open" as const,
  alreadyProcessed: false,
  tokenSpent: false,
};

describe("the verified reply handed from receive-email to apply-reply", () => {
  it("arrives as it was sent, the token's expiry a Date again", () => {
    const body = serialiseVerifiedReply(reply);
    expect(JSON.parse(body)).toMatchObject({ token: { claims: { expiresAt: "2027-01-31T17:00:00.000Z" } } });
    expect(parseVerifiedReply(body)).toEqual(reply);
  });

  it("is refused on both sides when it does not fit the schema", () => {
    expect(() => serialiseVerifiedReply({ ...reply, sesMessageId: "../etc" })).toThrow();
    const body = JSON.parse(serialiseVerifiedReply(reply)) as Record<string, unknown>;
    expect(() => parseVerifiedReply(JSON.stringify({ ...body, kind: "bounce" }))).toThrow();
    expect(() =>
      parseVerifiedReply(
        JSON.stringify({ ...body, reply: { ...reply.reply, newText: "x".repeat(MAX_REPLY_TEXT + 2) } }),
      ),
    ).toThrow();
  });

  it("carries a reply too long to act, cut, and still refused as too long", () => {
    // The cut falls on a space: the visible character kept after it still makes the text too long.
    const long = `${"word ".repeat(MAX_REPLY_TEXT / 5)}   \n  and more`;
    const capped = capReplyText(long);
    expect(capped.length).toBe(MAX_REPLY_TEXT + 1);
    const handed = parseVerifiedReply(
      serialiseVerifiedReply({ ...reply, reply: { ...reply.reply, newText: capped } }),
    );
    expect(decideReply(handed.reply, handed.token, openStage)).toMatchObject({
      act: false,
      reason: "too_long",
    });
    expect(decideReply({ ...reply.reply, newText: long }, reply.token, openStage)).toMatchObject({
      act: false,
      reason: "too_long",
    });
    // A reply within the limit is carried whole (trimmed) and acts.
    expect(capReplyText("  ok  ")).toBe("ok");
    expect(decideReply(reply.reply, reply.token, openStage)).toMatchObject({ act: true, action: "respond" });
  });
});
