import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SESv2Client } from "@aws-sdk/client-sesv2";
import { simpleParser } from "mailparser";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { OutboundLedger } from "../../../functions/mail/deliveries.js";
import { Mailer } from "../../../functions/mail/mailer.js";
import { freePort } from "../../../local/ports.js";
import { type SesServer, startSesServer } from "../../../local/ses.js";

/**
 * The Mailer's SES v2 Simple send against the local SES: what it keeps is what the local mail page,
 * the end-to-end tests and a reply by email read (Reply-To, the further headers, names, the UTF-8
 * subject and body), and the message it offers for download parses back to the same.
 */

let root: string;
let ses: SesServer | undefined;
let client: SESv2Client | undefined;

const ledger: OutboundLedger = {
  claim: () => Promise.resolve({ status: "claimed" }),
  markSent: () => Promise.resolve(),
  markFailed: () => Promise.resolve(),
  release: () => Promise.resolve(),
};

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "ses-simple-"));
});

afterEach(async () => {
  client?.destroy();
  await ses?.stop();
  ses = undefined;
  rmSync(root, { recursive: true, force: true });
});

describe("a Simple send to the local SES", () => {
  it("is stored with its Reply-To, headers, names and UTF-8 content, and downloads as a message that parses back", async () => {
    ses = await startSesServer({ port: await freePort(), storeFile: join(root, "ses", "emails.ndjson") });
    client = new SESv2Client({
      endpoint: ses.endpoint,
      region: "eu-west-2",
      credentials: { accessKeyId: "local", secretAccessKey: "local" },
    });
    const mailer = new Mailer(
      client,
      ledger,
      {
        from: { address: "challenges@northby.example", name: "Gwasanaethau Plant – Northby" },
        configurationSet: "crs",
      },
      () => new Date(),
    );
    const outcome = await mailer.deliver({
      key: { pk: "T#northby#C#1", sk: "MAILOUT#2#assignee" },
      entry: { tenantId: "northby", challengeId: "1", kind: "stage_opened", recipientRole: "assignee" },
      to: { email: "sian.jones@northby.example", name: "Siân Jones" },
      cc: [{ email: "morgan.hale@northby.example", name: "Morgan Hale" }],
      rendered: {
        subject: "Stage 2 – Siân’s response needed",
        text: "Dear Siân,\n\n£5 café",
        html: "<p>Dear Siân</p>",
      },
      replyTo: "reply+abc.def@reply.northby.example",
      autoSubmitted: "auto-generated",
      inReplyTo: "<original@mail.example>",
      tags: { "crs-tenant": "northby" },
    });
    expect(outcome.status).toBe("sent");

    const [stored, ...others] = ses.emails();
    expect(others).toEqual([]);
    if (stored === undefined) throw new Error("nothing stored");
    expect(stored.replyTo).toEqual(["reply+abc.def@reply.northby.example"]);
    expect(stored.subject).toBe("Stage 2 – Siân’s response needed");
    expect(stored.body).toEqual({ text: "Dear Siân,\n\n£5 café", html: "<p>Dear Siân</p>" });
    expect(stored.destination.to).toHaveLength(1);
    expect(stored.destination.to[0]).toMatch(
      /^=\?UTF-8\?B\?[A-Za-z0-9+/=]+\?= <sian\.jones@northby\.example>$/,
    );
    expect(stored.destination.cc).toEqual(['"Morgan Hale" <morgan.hale@northby.example>']);
    expect(stored.headers).toEqual([
      { name: "Auto-Submitted", value: "auto-generated" },
      { name: "X-Auto-Response-Suppress", value: "OOF, AutoReply" },
      { name: "In-Reply-To", value: "<original@mail.example>" },
      { name: "References", value: "<original@mail.example>" },
    ]);

    const response = await fetch(
      `${ses.endpoint}/get-emlContent?messageId=${encodeURIComponent(stored.messageId)}`,
    );
    const { body } = (await response.json()) as { body: { data: number[] } };
    const parsed = await simpleParser(Buffer.from(body.data));
    expect(parsed.subject).toBe("Stage 2 – Siân’s response needed");
    expect(parsed.from?.value).toEqual([
      { address: "challenges@northby.example", name: "Gwasanaethau Plant – Northby" },
    ]);
    expect(parsed.to).toMatchObject({
      value: [{ address: "sian.jones@northby.example", name: "Siân Jones" }],
    });
    expect(parsed.replyTo?.value[0]?.address).toBe("reply+abc.def@reply.northby.example");
    expect(parsed.headers.get("auto-submitted")).toBe("auto-generated");
    expect(parsed.inReplyTo).toBe("<original@mail.example>");
    expect(parsed.text?.trimEnd()).toBe("Dear Siân,\n\n£5 café");
  });
});
