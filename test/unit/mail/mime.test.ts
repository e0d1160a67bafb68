import { SendEmailCommand, type SendEmailCommandInput } from "@aws-sdk/client-sesv2";
import { simpleParser } from "mailparser";
import { describe, expect, it } from "vitest";
import type { LedgerKey, OutboundLedger } from "../../../functions/mail/deliveries.js";
import { Mailer, type OutboundEmail } from "../../../functions/mail/mailer.js";
import { encodedWords, mailbox, messageHeader } from "../../../functions/mail/mime.js";
import { simpleMessage } from "../../support/ses-simple.js";

/**
 * What the Mailer hands SES v2 (a Simple send): addresses and further headers written by mime.ts,
 * the rest left to SES. The round trips build the message the way SES does (test/support/ses-simple.ts)
 * and read it back with a real parser.
 */

const MAIL_FROM = "challenges@northby.example";
const NOW = new Date("2026-03-10T09:00:00.000Z");
const KEY: LedgerKey = { pk: "T#northby#C#1", sk: "MAILOUT#1#assignee" };

/** A ledger that lets every claim through and remembers what was marked. */
function recordingLedger(): OutboundLedger & { marks: string[] } {
  const marks: string[] = [];
  return {
    marks,
    claim: () => Promise.resolve({ status: "claimed" }),
    markSent: (_key, id) => {
      marks.push(`sent ${id}`);
      return Promise.resolve();
    },
    markFailed: (_key, code) => {
      marks.push(`failed ${code}`);
      return Promise.resolve();
    },
    release: () => Promise.resolve(),
  };
}

/** Sends one email through a Mailer and returns the SES request it made (none when refused). */
async function send(
  email: Partial<OutboundEmail>,
  fromName?: string,
): Promise<{ input: SendEmailCommandInput | undefined; marks: string[] }> {
  const requests: SendEmailCommandInput[] = [];
  const ses = {
    send: (command: SendEmailCommand) => {
      requests.push(command.input);
      return Promise.resolve({ MessageId: "ses-1", $metadata: {} });
    },
  };
  const ledger = recordingLedger();
  const mailer = new Mailer(
    ses as never, // only `send` is called; the SDK's overloads are not worth re-typing here
    ledger,
    {
      from: { address: MAIL_FROM, ...(fromName === undefined ? {} : { name: fromName }) },
      configurationSet: "crs-mail",
    },
    () => NOW,
  );
  await mailer.deliver({
    key: KEY,
    entry: { tenantId: "northby", challengeId: "1", kind: "stage_opened", recipientRole: "assignee" },
    to: { email: "sian.jones@northby.example", name: "Siân Jones" },
    rendered: { subject: "A subject", text: "Dear Siân,\n\n£5 café", html: "<p>Dear Siân</p>" },
    autoSubmitted: "auto-generated",
    tags: { "crs-tenant": "north.by", "crs-kind": "stage_opened" },
    ...email,
  });
  return { input: requests[0], marks: ledger.marks };
}

describe("encoded-words and mailboxes", () => {
  it("leaves a bare address, quotes an ASCII name, encodes any other", () => {
    expect(mailbox(" sam@northby.example ")).toBe("sam@northby.example");
    expect(mailbox("sam@northby.example", "Sam Whitlock")).toBe('"Sam Whitlock" <sam@northby.example>');
    expect(mailbox("a@x.example", 'Northby "C&R" \\ team')).toBe(
      '"Northby \\"C&R\\" \\\\ team" <a@x.example>',
    );
    expect(mailbox("sian@x.example", "Siân")).toBe(
      `=?UTF-8?B?${Buffer.from("Siân").toString("base64")}?= <sian@x.example>`,
    );
    expect(mailbox("sam@x.example", "  ")).toBe("sam@x.example");
  });

  it("splits a long name into words of at most 75 characters, never inside a character", () => {
    const name = "Siân Ó Súilleabháin-Llywelyn ap Gruffydd, Pennaeth Gwasanaethau Plant ✓".repeat(2);
    const words = encodedWords(name).split(" ");
    expect(words.length).toBeGreaterThan(1);
    for (const word of words) {
      expect(word.length).toBeLessThanOrEqual(75);
      expect(word).toMatch(/^=\?UTF-8\?B\?[A-Za-z0-9+/=]+\?=$/);
    }
    const decoded = words.map((w) => Buffer.from(w.slice(10, -2), "base64").toString("utf8"));
    expect(decoded.join("")).toBe(name);
    expect(decoded.every((d) => !d.includes("\uFFFD"))).toBe(true);
  });

  it("refuses addresses it will not write and header names or values SES would refuse", () => {
    for (const bad of [
      "a b@x.example",
      "a@x.example>, evil@y.example",
      "sïan@x.example",
      "a@x.example\r\nBcc: e@y",
    ]) {
      expect(() => mailbox(bad)).toThrow(/not in a form/);
    }
    expect(messageHeader("In-Reply-To", "<a@b>")).toEqual({ Name: "In-Reply-To", Value: "<a@b>" });
    expect(() => messageHeader("X-Bad: header", "v")).toThrow(/invalid header/);
    expect(() => messageHeader("X-Name", "café")).toThrow(/invalid header/);
    expect(() => messageHeader("X-Name", "")).toThrow(/invalid header/);
    expect(messageHeader("X-Name", "a\r\nBcc: evil@example.com")).toEqual({
      Name: "X-Name",
      Value: "a Bcc: evil@example.com",
    });
  });
});

describe("the SES v2 Simple request", () => {
  it("carries addresses, UTF-8 content, headers, tags and the configuration set", async () => {
    const { input, marks } = await send(
      {
        cc: [{ email: "morgan.hale@northby.example" }],
        replyTo: "reply+abc@reply.challenges.example",
        inReplyTo: "<original@mail.example>",
        autoSubmitted: "auto-replied",
      },
      "Northby Plant a Theulu – Gwasanaethau",
    );
    expect(marks).toEqual(["sent ses-1"]);
    expect(input).toMatchObject({
      FromEmailAddress: `${encodedWords("Northby Plant a Theulu – Gwasanaethau")} <${MAIL_FROM}>`,
      Destination: {
        ToAddresses: [`${encodedWords("Siân Jones")} <sian.jones@northby.example>`],
        CcAddresses: ["morgan.hale@northby.example"],
      },
      ReplyToAddresses: ["reply+abc@reply.challenges.example"],
      ConfigurationSetName: "crs-mail",
      EmailTags: [
        { Name: "crs-tenant", Value: "_6e6f7274682e6279" },
        { Name: "crs-kind", Value: "stage_opened" },
      ],
      Content: {
        Simple: {
          Subject: { Data: "A subject", Charset: "UTF-8" },
          Body: {
            Text: { Data: "Dear Siân,\n\n£5 café", Charset: "UTF-8" },
            Html: { Data: "<p>Dear Siân</p>", Charset: "UTF-8" },
          },
          Headers: [
            { Name: "Auto-Submitted", Value: "auto-replied" },
            { Name: "X-Auto-Response-Suppress", Value: "OOF, AutoReply" },
            { Name: "In-Reply-To", Value: "<original@mail.example>" },
            { Name: "References", Value: "<original@mail.example>" },
          ],
        },
      },
    });
  });

  it("round-trips through a real parser once built as SES builds it: names, non-ASCII subject, both parts", async () => {
    const subject = "Challenge CR-01JD3K8Q6T9X2M4N5P7R8S9V0W – Siân’s response";
    const { input } = await send(
      { rendered: { subject, text: "£5 café", html: "<p>Siân</p>" } },
      "Gwasanaethau Plant – Northby",
    );
    if (input === undefined) throw new Error("nothing sent");
    const parsed = await simpleParser(await simpleMessage(input));
    expect(parsed.subject).toBe(subject);
    expect(parsed.from?.value[0]).toEqual({ address: MAIL_FROM, name: "Gwasanaethau Plant – Northby" });
    expect(parsed.to).toMatchObject({
      value: [{ address: "sian.jones@northby.example", name: "Siân Jones" }],
    });
    expect(parsed.text?.trimEnd()).toBe("£5 café");
    expect(parsed.html).toBe("<p>Siân</p>");
    expect(parsed.headers.get("auto-submitted")).toBe("auto-generated");
  });

  it("a line break in a name, a subject or a Message-ID cannot start another header", async () => {
    const injected = "Bcc: evil@example.com";
    const { input } = await send(
      {
        to: { email: "sam@northby.example", name: `Sam\r\n${injected}` },
        cc: [{ email: "jo@northby.example", name: `Jo\n${injected}` }],
        rendered: { subject: `Hello\r\n${injected}\r\n\r\nbody`, text: "x" },
        inReplyTo: `<a@b>\r\n${injected}`,
      },
      `Northby\r\n${injected}`,
    );
    if (input === undefined) throw new Error("nothing sent");
    const fields = [
      input.FromEmailAddress ?? "",
      ...(input.Destination?.ToAddresses ?? []),
      ...(input.Destination?.CcAddresses ?? []),
      input.Content?.Simple?.Subject?.Data ?? "",
      ...(input.Content?.Simple?.Headers ?? []).map((h) => `${h.Name ?? ""}${h.Value ?? ""}`),
    ];
    for (const field of fields) expect(field).not.toMatch(/[\r\n]/);
    expect((input.Content?.Simple?.Headers ?? []).map((h) => h.Name)).toEqual([
      "Auto-Submitted",
      "X-Auto-Response-Suppress",
    ]);
    const parsed = await simpleParser(await simpleMessage(input));
    expect(parsed.bcc).toBeUndefined();
    expect(parsed.headers.has("bcc")).toBe(false);
    expect(parsed.subject).toBe(`Hello ${injected} body`);
    expect(parsed.to).toMatchObject({ value: [{ address: "sam@northby.example", name: `Sam ${injected}` }] });
    expect(parsed.from?.value).toEqual([{ address: MAIL_FROM, name: `Northby ${injected}` }]);
  });

  it("an address it cannot write is refused for good without calling SES", async () => {
    const { input, marks } = await send({ to: { email: "sam@northby.example>, evil@example.com" } });
    expect(input).toBeUndefined();
    expect(marks).toEqual(["failed InvalidAddress"]);
  });
});
