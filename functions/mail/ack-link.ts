import { hasAcknowledged } from "../domain/challenge/recipient-actions.js";
import type { Assignee } from "../domain/challenge/events.js";
import type { ChallengeState } from "../domain/challenge/state.js";
import {
  type ReplyClaims,
  type ReplyKeyRing,
  type ReplyTokenRefusal,
  recipientRefOf,
  signReplyToken,
  stageRefOf,
  verifyReplyToken,
} from "./reply-token.js";
import { escapeHtml } from "../shared/html.js";
import type { RenderedEmail } from "./templates.js";

/**
 * The acknowledgement link in a stage notification: `<base>/v1/ack/<token>`, where the token is a
 * reply token (reply-token.ts: the same keys, expiry, stage visit and recipient binding) signed for
 * the tenant id prefixed with {@link LINK_PURPOSE}. The prefix separates the two uses: a reply
 * address does not work as a link, nor a link as a reply address, though both come from one key.
 *
 * Opening the link needs no login, so the link itself is the credential, and it is per recipient:
 * it acknowledges only as the person it was sent to, only the stage visit it was sent about, and
 * only until it expires. GET shows a confirmation page and records nothing (mail scanners open
 * links); only the page's POST acknowledges. Pure: keys are passed in.
 */

export const LINK_PURPOSE = "ack-link:";

/** The path the link routes live at; the token follows. */
export const ACK_LINK_PATH = "/v1/ack/";

export interface AckLinkInput {
  readonly tenantId: string;
  readonly challengeId: string;
  readonly stageId: string;
  readonly stageOpenedAt: string;
  readonly recipientEmail: string;
  readonly expiresAt: Date;
}

/** The token in a recipient's acknowledgement link (URL-safe: a-z, 2-7, `+` and `.`). */
export function signAckLinkToken(input: AckLinkInput, keys: ReplyKeyRing): string {
  return signReplyToken({ ...input, tenantId: LINK_PURPOSE + input.tenantId, party: "assignee" }, keys);
}

export function ackLinkUrl(baseUrl: string, token: string): string {
  return `${baseUrl.replace(/\/+$/, "")}${ACK_LINK_PATH}${encodeURIComponent(token)}`;
}

export type AckLinkRefusal = ReplyTokenRefusal | "stage_moved_on" | "not_a_recipient";

export type AckLinkCheck =
  | {
      readonly ok: true;
      readonly tenantId: string;
      readonly claims: ReplyClaims;
    }
  | { readonly ok: false; readonly refusal: ReplyTokenRefusal; readonly detail: string };

/** Verifies a link token: the tenant it was signed for (without the prefix) and its claims. */
export function verifyAckLinkToken(
  token: string,
  keys: ReplyKeyRing,
  now: Date,
  tenantIds: Iterable<string>,
): AckLinkCheck {
  const result = verifyReplyToken(
    token,
    keys,
    now,
    [...tenantIds].map((id) => LINK_PURPOSE + id),
  );
  if (!result.ok) return result;
  if (result.claims.party !== "assignee") {
    return { ok: false, refusal: "malformed", detail: "not an acknowledgement link" };
  }
  return { ok: true, tenantId: result.claims.tenantId.slice(LINK_PURPOSE.length), claims: result.claims };
}

/**
 * The recipient a verified link acts as, on the challenge as it stands: the open stage must be the
 * visit the link was sent about, and the link's address one of that stage's recipients.
 */
export function linkRecipient(
  state: ChallengeState,
  claims: ReplyClaims,
):
  | { readonly ok: true; readonly recipient: Assignee; readonly acknowledged: boolean }
  | {
      readonly ok: false;
      readonly refusal: "stage_moved_on" | "not_a_recipient";
    } {
  const stage = state.currentStage;
  if (
    state.status !== "open" ||
    stage === null ||
    stageRefOf(stage.stageId, stage.openedAt) !== claims.stageRef
  ) {
    return { ok: false, refusal: "stage_moved_on" };
  }
  const matches = [stage.assignee, ...stage.coAssignees].filter(
    (a) => recipientRefOf(a.email) === claims.recipientRef,
  );
  const [recipient, ...others] = matches;
  // Two recipients whose addresses share a 16-bit ref: the link cannot say which; refuse rather than guess.
  if (recipient === undefined || others.length > 0) return { ok: false, refusal: "not_a_recipient" };
  return { ok: true, recipient, acknowledged: hasAcknowledged(stage, recipient.personId) };
}

/** A stage notification with its acknowledgement link added (text and HTML). */
export function withAckLink(email: RenderedEmail, url: string): RenderedEmail {
  const sentence = "To let the service know you have received this, open this link and press Acknowledge:";
  const html = `<p>${escapeHtml(sentence)} <a href="${escapeHtml(url)}">Acknowledge</a></p>`;
  return {
    subject: email.subject,
    text: `${email.text.trimEnd()}\n\n${sentence}\n${url}\n`,
    html: /<\/body>/i.test(email.html)
      ? email.html.replace(/<\/body>/i, `${html}\n</body>`)
      : `${email.html}\n${html}`,
  };
}
