import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from "aws-lambda";
import * as z from "zod/mini";
import { type ExecuteDependencies, executeCommand } from "../../app/execute-command.js";
import { formatDeadline, formatInstant } from "../../audit/words.js";
import { stageLabel } from "../../domain/words.js";
import { DomainError } from "../../domain/challenge/errors.js";
import { tenantIdsOf } from "../../mail/mail-config.js";
import { type AckLinkRefusal, linkRecipient, verifyAckLinkToken } from "../../mail/ack-link.js";
import { type ReplyKeySource, SecretsManagerReplyKeys } from "../../mail/reply-keys.js";
import { challengeReference } from "../../domain/email-templates.js";
import { escapeHtml } from "../../shared/html.js";
import { logger } from "../../shared/observability.js";
import { commandDependencies } from "./command-dependencies.js";

/**
 * The acknowledgement link's two routes (functions/mail/ack-link.ts says what the link is): GET
 * shows who it acknowledges as and what, and a button; POST (the button) records the
 * acknowledgement as that recipient, channel `link`. No bearer token: the signed, expiring,
 * per-recipient token in the path is the credential, checked here before anything is read.
 * Pages say nothing about the child (the reference, the stage and the deadline only), and nothing
 * about why a link failed beyond "not valid", "expired" or "moved on".
 */

export interface AckLinkDependencies extends ExecuteDependencies {
  readonly keys: ReplyKeySource;
  /** The tenants the service serves: the link's signature says which it belongs to. */
  readonly tenantIds: readonly string[];
}

export const ackLinkPathSchema = z.strictObject({
  token: z.string().check(
    z.minLength(1),
    z.maxLength(100),
    z.meta({
      description: "The signed, expiring, per-recipient token from the notification's acknowledgement link",
      example: "reply+ceaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.aaaaaaaaaaaaaaaa",
    }),
  ),
});

/** The pages' policy: nothing loads or runs; the one form posts back to the page itself. */
const PAGE_CSP =
  "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

function page(status: number, title: string, body: string): APIGatewayProxyStructuredResultV2 {
  return {
    statusCode: status,
    headers: {
      "content-type": "text/html; charset=utf-8",
      "content-security-policy": PAGE_CSP,
      "x-content-type-options": "nosniff",
      "cache-control": "no-store",
      // The token is in the URL: never send it on to another site.
      "referrer-policy": "no-referrer",
    },
    body: `<!doctype html>
<html lang="en-GB">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${escapeHtml(title)}</title>
<style>
body { font-family: system-ui, -apple-system, "Segoe UI", Arial, sans-serif; color: #0b0c0c; margin: 2rem auto; max-width: 36rem; padding: 0 1rem; line-height: 1.5; }
h1 { font-size: 1.5rem; }
button { font: inherit; font-weight: 600; color: #fff; background: #00703c; border: 0; border-bottom: 2px solid #002d18; padding: 0.5rem 1rem; cursor: pointer; }
button:focus { outline: 3px solid #ffdd00; }
</style>
</head>
<body>
<main>
<h1>${escapeHtml(title)}</h1>
${body}
</main>
</body>
</html>
`,
  };
}

const REFUSAL_PAGES: Record<AckLinkRefusal, { status: number; title: string; text: string }> = {
  malformed: { status: 404, title: "This link is not valid", text: "Check that the whole link was opened." },
  bad_signature: {
    status: 404,
    title: "This link is not valid",
    text: "Check that the whole link was opened.",
  },
  unknown_key: {
    status: 404,
    title: "This link is not valid",
    text: "Check that the whole link was opened.",
  },
  expired: {
    status: 410,
    title: "This link has expired",
    text: "Acknowledge by replying to the email, or through the case-record system.",
  },
  stage_moved_on: {
    status: 410,
    title: "This challenge has moved on",
    text: "The stage this email was about is no longer open: there is nothing to acknowledge.",
  },
  not_a_recipient: {
    status: 404,
    title: "This link is not valid",
    text: "The stage is no longer addressed to the person this link was sent to.",
  },
};

function refused(refusal: AckLinkRefusal): APIGatewayProxyStructuredResultV2 {
  const { status, title, text } = REFUSAL_PAGES[refusal];
  return page(status, title, `<p>${escapeHtml(text)}</p>`);
}

/** GET or POST on a link: `act` false shows the confirmation, true records the acknowledgement. */
export async function handleAckLink(
  deps: AckLinkDependencies,
  rawToken: string | undefined,
  act: boolean,
): Promise<APIGatewayProxyStructuredResultV2> {
  const token = ackLinkPathSchema.safeParse({ token: rawToken ?? "" });
  if (!token.success) return refused("malformed");
  const now = deps.clock();
  let check = verifyAckLinkToken(token.data.token, await deps.keys.current(), now, deps.tenantIds);
  if (!check.ok && check.refusal === "unknown_key") {
    check = verifyAckLinkToken(token.data.token, await deps.keys.refresh(), now, deps.tenantIds);
  }
  if (!check.ok) return refused(check.refusal);
  const { tenantId, claims } = check;
  const stored = await deps.challenges.get(tenantId, claims.challengeId);
  if (stored === undefined) return refused("stage_moved_on");
  const found = linkRecipient(stored.state, claims);
  if (!found.ok) return refused(found.refusal);
  const state = stored.state;
  const stage = state.currentStage;
  if (stage === null) return refused("stage_moved_on");
  const label = stageLabel(deps.protocols(state.protocolId), state.track, stage.stageId);
  const about = `<p>Challenge <strong>${escapeHtml(challengeReference(state.challengeId))}</strong>, ${escapeHtml(label)}, sent to you as ${escapeHtml(found.recipient.title)}. A response is due by ${escapeHtml(formatDeadline(stage.deadline))}.</p>`;

  if (!act) {
    if (found.acknowledged) {
      return page(
        200,
        "Already acknowledged",
        `${about}<p>You have acknowledged this challenge. Nothing more is needed here.</p>`,
      );
    }
    return page(
      200,
      "Acknowledge the challenge",
      `${about}<p>Press the button to record that you have received it. Your response is still due by the deadline above.</p>` +
        `<form method="post"><button type="submit">Acknowledge</button></form>`,
    );
  }

  let result;
  try {
    result = await executeCommand(deps, tenantId, {
      type: "Acknowledge",
      challengeId: state.challengeId,
      // Whoever a stage is addressed to acts as a manager (as when they reply by email).
      actor: { id: found.recipient.personId, role: "manager" },
      channel: "link",
      expected: { stageId: stage.stageId },
    });
  } catch (error) {
    // The stage moved on between the read and the write (the command names the stage it acts on).
    if (error instanceof DomainError) return refused("stage_moved_on");
    throw error;
  }
  const mine = result.state.currentStage?.acknowledgements?.find(
    (a) => a.personId === found.recipient.personId,
  );
  logger.info("acknowledged from the link", {
    tenantId,
    challengeId: state.challengeId,
    recorded: result.events.length > 0,
  });
  return page(
    200,
    "Acknowledged",
    `${about}<p>Thank you: your acknowledgement ${result.events.length > 0 ? "is recorded" : "was already recorded"}${mine === undefined ? "" : ` (${escapeHtml(formatInstant(mine.at))})`}.</p>`,
  );
}

let secrets: SecretsManagerClient | undefined;
let production: AckLinkDependencies | undefined;

/** The production wiring: the API's stores and workflow, the reply keys, the tenant ids. */
export function productionAckLinkDependencies(): AckLinkDependencies {
  if (production !== undefined) return production;
  const secretArn = process.env.REPLY_TOKEN_SECRET_ARN;
  if (secretArn === undefined || secretArn === "") throw new Error("REPLY_TOKEN_SECRET_ARN is not set");
  const tenantIds = tenantIdsOf({
    MAIL_TENANT_IDS: process.env.MAIL_TENANT_IDS,
    AUTHORITY: process.env.AUTHORITY,
  });
  secrets ??= new SecretsManagerClient({});
  production = {
    ...commandDependencies(),
    keys: new SecretsManagerReplyKeys(secrets, secretArn),
    tenantIds,
  };
  return production;
}

type LinkHandler = (
  event: APIGatewayProxyEventV2,
  context: Context,
) => Promise<APIGatewayProxyStructuredResultV2>;

/** A link route's Lambda handler: answers with a page, and a plain error page on any failure. */
export function ackLinkHandler(act: boolean, deps?: AckLinkDependencies): LinkHandler {
  return async (event) => {
    try {
      return await handleAckLink(deps ?? productionAckLinkDependencies(), event.pathParameters?.token, act);
    } catch (error) {
      logger.error("the acknowledgement link failed", {
        errorName: error instanceof Error ? error.name : "unknown",
      });
      return page(500, "Something went wrong", "<p>Nothing was recorded. Please try again later.</p>");
    }
  };
}
