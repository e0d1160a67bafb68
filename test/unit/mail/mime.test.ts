import { simpleParser } from "mailparser";
import { describe, expect, it } from "vitest";
import { buildRawEmail } from "../../../functions/mail/mime.js";

/** The raw message SES sends: built by MailComposer under our one-line, plain-address policy. */

const MAIL_FROM = "challenges@northby.example";
const NOW = new Date("2026-03-10T09:00:00.000Z");

describe("the MIME message", () => {
  it("round-trips through a real parser: names, non-ASCII subject, long lines, both parts", async () => {
    const text = `Dear Siân,\n\n${"A long line of text that keeps going ".repeat(6)}end.\n\n= equals, trailing space \n£5 café`;
    const raw = await buildRawEmail({
      from: { address: MAIL_FROM, name: 'Northby "Challenges"' },
      to: [{ email: "sian.jones@northby.example", name: "Siân Jones" }],
      cc: [{ email: "morgan.hale@northby.example" }],
      replyTo: "reply+abc@reply.challenges.example",
      subject: "Challenge CR-01JD3K8Q6T9X2M4N5P7R8S9V0W – Siân’s response",
      text,
      html: "<p>Dear Siân</p>",
      date: NOW,
      headers: [["Auto-Submitted", "auto-generated"]],
    });
    const source = raw.toString("utf8");
    expect(source.split("\r\n").every((line) => line.length <= 78 || line.startsWith("Subject"))).toBe(true);
    expect(/[^\r]\n/.test(source)).toBe(false);
    const parsed = await simpleParser(raw);
    expect(parsed.subject).toBe("Challenge CR-01JD3K8Q6T9X2M4N5P7R8S9V0W – Siân’s response");
    expect(parsed.from?.value[0]).toEqual({ address: MAIL_FROM, name: 'Northby "Challenges"' });
    expect(parsed.to).toMatchObject({
      value: [{ address: "sian.jones@northby.example", name: "Siân Jones" }],
    });
    expect(parsed.cc).toMatchObject({ value: [{ address: "morgan.hale@northby.example" }] });
    expect(parsed.replyTo?.value[0]?.address).toBe("reply+abc@reply.challenges.example");
    expect(parsed.text?.trimEnd()).toBe(text);
    expect(parsed.html).toBe("<p>Dear Siân</p>");
    expect(parsed.date?.toISOString()).toBe(NOW.toISOString());
  });

  it("a line break in a value cannot start another header", async () => {
    const raw = await buildRawEmail({
      from: { address: MAIL_FROM },
      to: [{ email: "sam@northby.example", name: "Sam\r\nBcc: evil@example.com" }],
      subject: "Hello\r\nBcc: evil@example.com",
      text: "x",
      date: NOW,
    });
    const parsed = await simpleParser(raw);
    expect(parsed.bcc).toBeUndefined();
    expect(parsed.headers.has("bcc")).toBe(false);
    expect(parsed.subject).toBe("Hello Bcc: evil@example.com");
    await expect(
      buildRawEmail({
        from: { address: MAIL_FROM },
        to: [{ email: "a b@x.example" }],
        subject: "s",
        text: "t",
        date: NOW,
      }),
    ).rejects.toThrow();
    await expect(
      buildRawEmail({
        from: { address: MAIL_FROM },
        to: [{ email: "sam@northby.example" }],
        subject: "s",
        text: "t",
        date: NOW,
        headers: [["X-Bad: header", "v"]],
      }),
    ).rejects.toThrow(/invalid header name/);
  });

  it("sends text parts quoted-printable with lines of at most 76 characters", async () => {
    const raw = await buildRawEmail({
      from: { address: MAIL_FROM },
      to: [{ email: "sam@northby.example" }],
      subject: "s",
      text: `${"x".repeat(200)} a=b £`,
      date: NOW,
    });
    const source = raw.toString("utf8");
    expect(source).toMatch(/Content-Transfer-Encoding: quoted-printable/i);
    const body = source.slice(source.indexOf("\r\n\r\n") + 4);
    expect(body.split("\r\n").every((line) => line.length <= 76)).toBe(true);
    expect(body).toContain("a=3Db");
  });
});
