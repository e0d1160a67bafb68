import { beforeEach, describe, expect, it } from "vitest";
import { ackLinkHandler, type AckLinkDependencies } from "../../../functions/api/http/ack-link-flow.js";
import { executeCommand } from "../../../functions/app/execute-command.js";
import type { ChallengeForm } from "../../../functions/domain/challenge/index.js";
import {
  ACK_LINK_PATH,
  ackLinkUrl,
  signAckLinkToken,
  withAckLink,
} from "../../../functions/mail/ack-link.js";
import { signReplyToken } from "../../../functions/mail/reply-token.js";
import { OTHER_TENANT, TENANT, lambdaContext } from "../../support/api-events.js";
import { KEYS } from "../mail/handlers/harness.js";
import { NOW, type Fakes, makeFakes, raiseBody } from "./fakes.js";

/**
 * The acknowledgement link (functions/mail/ack-link.ts, functions/api/http/ack-link-flow.ts) over
 * the in-memory store: GET shows the page and records nothing; POST acknowledges as the recipient
 * the link was sent to, once; a link that is not valid, expired, for another tenant, or for a stage
 * that moved on acknowledges nothing.
 */

const ID = "01JD3K8Q6T9X2M4N5P7R8S9V4E";
let fakes: Fakes;
let deps: AckLinkDependencies;
let now: Date;

beforeEach(async () => {
  fakes = await makeFakes();
  now = NOW;
  deps = {
    ...fakes.deps,
    clock: () => now,
    keys: { current: () => Promise.resolve(KEYS), refresh: () => Promise.resolve(KEYS) },
    tenantIds: [TENANT, OTHER_TENANT],
  };
  await executeCommand(deps, TENANT, {
    type: "Raise",
    challengeId: ID,
    actor: { id: "iro-1", role: "IRO" },
    channel: "api",
    form: raiseBody().form as ChallengeForm,
  });
});

async function stage() {
  const open = (await fakes.challenges.get(TENANT, ID))?.state.currentStage;
  if (open === null || open === undefined) throw new Error("no open stage");
  return open;
}

async function tokenFor(
  overrides: { tenantId?: string; email?: string; expiresAt?: Date } = {},
): Promise<string> {
  const open = await stage();
  return signAckLinkToken(
    {
      tenantId: overrides.tenantId ?? TENANT,
      challengeId: ID,
      stageId: open.stageId,
      stageOpenedAt: open.openedAt,
      recipientEmail: overrides.email ?? open.assignee.email,
      expiresAt: overrides.expiresAt ?? new Date("2026-07-01T00:00:00Z"),
    },
    KEYS,
  );
}

async function open(method: "GET" | "POST", token: string) {
  const handler = ackLinkHandler(method === "POST", deps);
  const result = await handler(
    { pathParameters: { token } } as unknown as Parameters<typeof handler>[0],
    lambdaContext(),
  );
  return { status: result.statusCode ?? 0, text: result.body ?? "", headers: result.headers ?? {} };
}

const eventCount = async () => (await fakes.challenges.events(TENANT, ID)).length;

describe("the acknowledgement link", () => {
  it("GET shows what it acknowledges and a button, and records nothing (a mail scanner opening it acts on nothing)", async () => {
    const before = await eventCount();
    const page = await open("GET", await tokenFor());
    expect(page.status).toBe(200);
    expect(page.text).toContain(`CR-${ID}`);
    expect(page.text).toContain('<form method="post"><button type="submit">Acknowledge</button></form>');
    expect(page.text).not.toContain("Alice Example");
    expect(page.headers["content-security-policy"]).toContain("form-action 'self'");
    expect(page.headers["referrer-policy"]).toBe("no-referrer");
    expect(await eventCount()).toBe(before);
  });

  it("POST acknowledges as the recipient the link was sent to, through the link; a second press records nothing", async () => {
    const before = await eventCount();
    now = new Date("2026-06-01T10:15:00Z");
    const page = await open("POST", await tokenFor());
    expect(page.status).toBe(200);
    expect(page.text).toContain("is recorded");
    const events = await fakes.challenges.events(TENANT, ID);
    expect(events).toHaveLength(before + 1);
    expect(events.at(-1)?.event).toMatchObject({
      type: "StageAcknowledged",
      channel: "link",
      actor: { id: (await stage()).assignee.personId, role: "manager" },
    });
    expect((await stage()).acknowledgements).toEqual([
      { personId: (await stage()).assignee.personId, at: "2026-06-01T10:15:00.000Z", channel: "link" },
    ]);
    const again = await open("POST", await tokenFor());
    expect(again.text).toContain("was already recorded");
    expect(await eventCount()).toBe(before + 1);
    expect((await open("GET", await tokenFor())).text).toContain("Already acknowledged");
  });

  it("acknowledges nothing for a link to an address the stage is not addressed to", async () => {
    const page = await open("POST", await tokenFor({ email: "someone.else@authority.example" }));
    expect(page.status).toBe(404);
    expect((await stage()).acknowledgedAt).toBeUndefined();
  });

  it("refuses an expired link, a reply address used as a link, a tampered one, and another tenant's", async () => {
    now = new Date("2026-07-02T00:00:00Z");
    expect((await open("POST", await tokenFor())).status).toBe(410);
    now = NOW;
    const open_ = await stage();
    const reply = signReplyToken(
      {
        tenantId: TENANT,
        challengeId: ID,
        stageId: open_.stageId,
        stageOpenedAt: open_.openedAt,
        party: "assignee",
        recipientEmail: open_.assignee.email,
        expiresAt: new Date("2026-07-01T00:00:00Z"),
      },
      KEYS,
    );
    expect((await open("POST", reply)).status).toBe(404);
    const token = await tokenFor();
    const tampered = `${token.slice(0, 10)}${token[10] === "a" ? "b" : "a"}${token.slice(11)}`;
    expect((await open("POST", tampered)).status).toBe(404);
    // Signed for the other tenant: it names this challenge id, but the other tenant has no such challenge.
    expect((await open("POST", await tokenFor({ tenantId: OTHER_TENANT }))).status).toBe(410);
    expect((await stage()).acknowledgedAt).toBeUndefined();
  });

  it("acknowledges nothing once the stage has moved on", async () => {
    const token = await tokenFor();
    await executeCommand(deps, TENANT, {
      type: "Escalate",
      challengeId: ID,
      actor: { id: "iro-1", role: "IRO" },
      channel: "api",
      reasons: "No core group booked.",
    });
    const before = await eventCount();
    const page = await open("POST", token);
    expect(page.status).toBe(410);
    expect(page.text).toContain("moved on");
    expect(await eventCount()).toBe(before);
  });

  it("is added to a notification as a paragraph and a link, text and HTML", async () => {
    const url = ackLinkUrl("https://api.example.org/", await tokenFor());
    expect(url.startsWith(`https://api.example.org${ACK_LINK_PATH}reply%2B`)).toBe(true);
    const email = withAckLink(
      { subject: "S", text: "Hello.\n", html: "<html><body><p>Hello.</p></body></html>" },
      url,
    );
    expect(email.text).toContain(`\n${url}\n`);
    expect(email.html).toContain(`<a href="${url}">Acknowledge</a></p>\n</body>`);
  });
});
