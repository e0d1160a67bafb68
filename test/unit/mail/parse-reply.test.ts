import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import MailComposer from "nodemailer/lib/mail-composer";
import { describe, expect, it } from "vitest";
import {
  DEFAULT_DISCLAIMER_MARKERS,
  extractNewText,
  parseInboundEmail,
  type ParsedInboundEmail,
} from "../../../functions/mail/parse-reply.js";

const FIXTURES = new URL("../../fixtures/mail/", import.meta.url);
const raw = (name: string): Buffer => readFileSync(new URL(name, FIXTURES));
const parse = (name: string): Promise<ParsedInboundEmail> => parseInboundEmail(raw(name));

const DOMAIN = "reply.challenges.example";
const SAM_TOKEN = `reply+envsaieqagjuonc43jhukqsuwy7bdfhmdsfiz4en.34dce2axouh5u5iu@${DOMAIN}`;
const MORGAN_TOKEN = `reply+gjvsaieqagjuonc43jhukqsuwy7bdfhmdsfizm7w.th2fvkteqqfbppmx@${DOMAIN}`;
const SES_MESSAGE_ID =
  "<0102019a5b2c3d4e-1f2a3b4c-5d6e-4f70-8a9b-0c1d2e3f4a5b-000000@eu-west-2.amazonses.com>";
const SUBJECT =
  "Challenge CR-01JD3K8Q6T9X2M4N5P7R8S9V0W needs your response by Mon 30 Nov (Stage 2, Service Manager)";

const build = async (options: ConstructorParameters<typeof MailComposer>[0]): Promise<Buffer> =>
  new MailComposer(options).compile().build();

describe("fixtures: what is extracted", () => {
  it("Outlook desktop: the response, without the protective marking, signature-less sign-off kept, disclaimer and history gone", async () => {
    const email = await parse("outlook-desktop-reply.eml");
    expect(email.from).toEqual({ address: "sam.whitlock@northby.example", name: "Sam Whitlock" });
    expect(email.to.map((a) => a.address)).toEqual([SAM_TOKEN]);
    expect(email.messageId).toBe(
      "<DB9PR03MB7356A1B2C3D4E5F6A7B8C9D0E1F2@DB9PR03MB7356.eurprd03.prod.outlook.com>",
    );
    expect(email.inReplyTo).toBe(SES_MESSAGE_ID);
    expect(email.references).toEqual([SES_MESSAGE_ID]);
    expect(email.subject).toBe(`RE: ${SUBJECT}`);
    expect(email.date?.toISOString()).toBe("2026-11-24T09:12:40.000Z");
    expect(email.bodySource).toBe("text");
    expect(email.forwarded).toBe(false);
    expect(email.attachments).toEqual([]);
    expect(email.newText).toBe(
      [
        "Thank you for raising this. I have spoken to the team manager and the placement",
        "request for Rowan will go to the resources panel on Wednesday 2 December. The",
        "social worker will visit on Friday and record Rowan's views about the move.",
        "",
        "I will confirm the panel outcome to you by 4 December.",
        "",
        "Kind regards",
        "",
        "Sam Whitlock",
        "Service Manager, Children in Care",
        "Northby Council",
      ].join("\n"),
    );
    expect(email.headers["x-auto-response-suppress"]).toEqual(["All"]);
    expect(email.headers["auto-submitted"]).toEqual([]);
  });

  it("Outlook mobile: 'Get Outlook for iOS' and the ____ history are gone", async () => {
    const email = await parse("outlook-mobile-reply.eml");
    expect(email.newText).toBe("Ack - will respond properly once I'm back at my desk this afternoon.");
    expect(email.to[0]?.address).toBe(SAM_TOKEN);
  });

  it("Gmail: the reply above a wrapped 'On … wrote:' line", async () => {
    const email = await parse("gmail-reply.eml");
    expect(email.from?.address).toBe("morgan.hale@northby.example");
    expect(email.to[0]?.address).toBe(MORGAN_TOKEN);
    expect(email.messageId).toBe("<CAH7x1=Zq9W3rT5uV8yX2aB4cD6eF0gH1iJ2kL3mN4oP5qR6sT7@mail.gmail.com>");
    expect(email.bodySource).toBe("text");
    expect(email.newText).toBe(
      [
        "RESOLVED - the panel date is set for 2 December and the social worker will",
        "record Rowan's views before then. I will check progress at the next LAC review.",
        "",
        "Morgan",
      ].join("\n"),
    );
  });

  it("Apple Mail on an iPhone: quoted-printable decoded, 'Sent from my iPhone' and the quote gone", async () => {
    const email = await parse("apple-mail-iphone-reply.eml");
    expect(email.messageId).toBe("<8F3C2A1B-4D5E-4F60-9A7B-1C2D3E4F5A6B@northby.example>");
    expect(email.newText).toBe(
      "Escalate.\nThe response does not say who will fund the placement or when Rowan\u2019s move will happen. Rowan has now waited 14 weeks for a decision.",
    );
  });

  it("a forward by a colleague: marked as forwarded, From is the forwarder", async () => {
    const email = await parse("forwarded-by-colleague.eml");
    expect(email.forwarded).toBe(true);
    expect(email.from?.address).toBe("chris.dunmore@northby.example");
    expect(email.to[0]?.address).toBe(SAM_TOKEN);
    expect(email.newText).toContain("Sam is on leave until 7 December.");
    expect(email.newText).not.toContain("Dear Service Manager");
  });

  it("a forward with the token only in the quoted text: the token is not among the recipients", async () => {
    const email = await parse("forwarded-token-in-body.eml");
    expect(email.forwarded).toBe(true);
    expect(email.to.map((a) => a.address)).toEqual([`records@${DOMAIN}`]);
    expect(email.cc).toEqual([]);
    expect(email.text).toContain(MORGAN_TOKEN);
    expect(email.newText).toBe(
      "Forwarding my reply for the record, in case it did not go through.\n\nMorgan",
    );
  });

  it("an out-of-office: the headers the policy needs", async () => {
    const email = await parse("out-of-office.eml");
    expect(email.headers["auto-submitted"]).toEqual(["auto-generated"]);
    expect(email.headers["x-ms-exchange-inbox-rules-loop"]).toEqual(["sam.whitlock@northby.example"]);
    expect(email.subject.startsWith("Automatic reply:")).toBe(true);
  });

  it("a spoofed From parses like any other message: the verdicts, not the headers, decide", async () => {
    const email = await parse("spoofed-from.eml");
    expect(email.from?.address).toBe("sam.whitlock@northby.example");
    expect(email.headers["return-path"]).toEqual(["<bounce@bulk-sender.example>"]);
    expect(email.newText).toBe("ACK");
  });

  it("a duplicate delivery: the same Message-ID, different raw bytes", async () => {
    const first = await parse("outlook-desktop-reply.eml");
    const again = await parse("duplicate-delivery.eml");
    expect(again.messageId).toBe(first.messageId);
    expect(again.newText).toBe(first.newText);
    expect(again.rawSha256).not.toBe(first.rawSha256);
    expect(first.rawSha256).toBe(createHash("sha256").update(raw("outlook-desktop-reply.eml")).digest("hex"));
  });

  it("an HTML-only reply: converted to text, the Outlook history block and the quoted script gone", async () => {
    const email = await parse("html-only-reply.eml");
    expect(email.bodySource).toBe("html");
    expect(email.newText).toMatch(/^The placement panel is booked for 2 December\./);
    expect(email.newText).toContain("sees Rowan & records their views before then.");
    expect(email.newText.endsWith("Sam")).toBe(true);
    expect(email.newText).not.toContain("From:");
    expect(email.newText).not.toContain("alert");
  });

  it("a reply with attachments: references only (name, type, size, SHA-256), never the content", async () => {
    const email = await parse("reply-with-attachment.eml");
    expect(email.newText).toBe(
      "Please see the attached panel request, which went in this morning. The panel\nmeets on 2 December.\n\nSam",
    );
    const pdf =
      "%PDF-1.4\n% Invented test document: placement panel request CR-01JD3K8Q6T9X2M4N5P7R8S9V0W\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";
    expect(email.attachments).toEqual([
      {
        filename: "image001.png",
        contentType: "image/png",
        size: 66,
        sha256: expect.stringMatching(/^[0-9a-f]{64}$/) as unknown as string,
        inline: true,
        contentId: "image001.png@01DB3E5A.4C2B1F00",
      },
      {
        filename: "Panel request - CR-01JD3K8Q6T9X2M4N5P7R8S9V0W.pdf",
        contentType: "application/pdf",
        size: Buffer.byteLength(pdf),
        sha256: createHash("sha256").update(pdf).digest("hex"),
        inline: false,
        contentId: null,
      },
    ]);
    for (const attachment of email.attachments) expect(Object.keys(attachment)).not.toContain("content");
  });

  it("a quoted-printable body, with an encoded subject", async () => {
    const email = await parse("quoted-printable-reply.eml");
    expect(email.subject).toBe(`RE: ${SUBJECT}`);
    expect(email.newText).toBe(
      "Thank you. Rowan\u2019s placement request goes to panel on 2 December; the weekly cost is about \u00a3450 and the head of service has agreed in principle to fund it until the final hearing, subject to the panel\u2019s view.\n\nSam",
    );
  });

  it("a base64 body from Android: decoded, the Samsung signature and '-------- Original message --------' gone", async () => {
    const email = await parse("base64-reply.eml");
    expect(email.newText).toBe(
      "Social worker visit booked for Thursday 26 November. I\u2019ll update you after the panel.",
    );
  });

  it("expired, tampered and escalated-stage replies parse normally (the token is judged elsewhere)", async () => {
    expect((await parse("expired-token.eml")).newText).toBe(
      "Apologies for the very late reply - the contact plan was agreed in October.\n\nJo",
    );
    expect((await parse("tampered-token.eml")).newText).toBe("The panel is booked for 2 December.");
    expect((await parse("stage-escalated-reply.eml")).newText).toBe(
      "Sorry I missed the deadline. The placement request is now with the panel.\n\nJo Barnard\nTeam Manager, Children in Care 2",
    );
  });
});

describe("parsing details", () => {
  it("takes a string or a Buffer, with LF or CRLF line ends", async () => {
    const text = raw("outlook-mobile-reply.eml").toString("utf8");
    const fromString = await parseInboundEmail(text.replace(/\r\n/g, "\n"));
    const fromBuffer = await parseInboundEmail(Buffer.from(text));
    expect(fromString.newText).toBe(fromBuffer.newText);
    expect(fromString.messageId).toBe(fromBuffer.messageId);
  });

  it("lower-cases addresses and keeps display names apart", async () => {
    const email = await parseInboundEmail(
      'From: "Whitlock, Sam (Children\'s Services)" <SAM.Whitlock@Northby.Example>\r\nTo: X <A@B.example>, y@c.example\r\nCc: Team: one@d.example, two@d.example;\r\nSubject: x\r\n\r\nHello\r\n',
    );
    expect(email.from).toEqual({
      address: "sam.whitlock@northby.example",
      name: "Whitlock, Sam (Children's Services)",
    });
    expect(email.to.map((a) => a.address)).toEqual(["a@b.example", "y@c.example"]);
    expect(email.cc.map((a) => a.address)).toEqual(["one@d.example", "two@d.example"]);
  });

  it("has no sender when From holds more or fewer than one address", async () => {
    const two = await parseInboundEmail(
      "From: a@x.example, b@x.example\r\nTo: c@x.example\r\nSubject: x\r\n\r\nHi\r\n",
    );
    expect(two.from).toBeNull();
    expect(two.fromCount).toBe(2);
    const none = await parseInboundEmail("To: c@x.example\r\nSubject: x\r\n\r\nHi\r\n");
    expect(none.from).toBeNull();
    expect(none.fromCount).toBe(0);
  });

  it("keeps every occurrence of a policy header, unfolded", async () => {
    const email = await parseInboundEmail(
      "From: a@x.example\r\nPrecedence: bulk\r\nPrecedence:\r\n list\r\nList-Id: Team list <team.x.example>\r\nSubject: x\r\n\r\nHi\r\n",
    );
    expect(email.headers.precedence).toEqual(["bulk", "list"]);
    expect(email.headers["list-id"]).toEqual(["Team list <team.x.example>"]);
  });

  it("has no Message-ID, In-Reply-To or date when the message has none", async () => {
    const email = await parseInboundEmail("From: a@x.example\r\nSubject: x\r\n\r\nHi\r\n");
    expect(email.messageId).toBeNull();
    expect(email.inReplyTo).toBeNull();
    expect(email.references).toEqual([]);
    expect(email.rawSha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it("prefers text/plain over HTML in a multipart message (built with nodemailer)", async () => {
    const message = await build({
      from: "Sam Whitlock <sam.whitlock@northby.example>",
      to: SAM_TOKEN,
      subject: "RE: x",
      text: "Plain words.",
      html: "<p>HTML words.</p>",
    });
    const email = await parseInboundEmail(message);
    expect(email.bodySource).toBe("text");
    expect(email.newText).toBe("Plain words.");
  });

  it("falls back to the HTML when the text part is empty", async () => {
    const message = await build({
      from: "sam.whitlock@northby.example",
      to: SAM_TOKEN,
      subject: "RE: x",
      text: "",
      html: "<p>Only in <b>HTML</b>.</p>",
    });
    const email = await parseInboundEmail(message);
    expect(email.bodySource).toBe("html");
    expect(email.newText).toBe("Only in HTML.");
  });

  it("describes attachments of any type without opening them, and cleans their names", async () => {
    const content = Buffer.from("MZ\u0090\u0000 not really a program");
    const message = await build({
      from: "sam.whitlock@northby.example",
      to: SAM_TOKEN,
      subject: "RE: x",
      text: "See attached.",
      attachments: [
        { filename: "..\\..\\windows\\run me.exe", content, contentType: "application/octet-stream" },
        { filename: "notes.txt", content: "=cmd|' /C calc'!A0", contentType: "text/plain" },
      ],
      textEncoding: "base64",
    });
    const email = await parseInboundEmail(message);
    expect(email.newText).toBe("See attached.");
    expect(email.attachments.map((a) => [a.filename, a.contentType, a.size])).toEqual([
      ["run me.exe", "application/octet-stream", content.length],
      ["notes.txt", "text/plain", 18],
    ]);
    expect(email.attachments[0]?.sha256).toBe(createHash("sha256").update(content).digest("hex"));
    expect(email.text).not.toContain("calc");
  });

  it("decodes bodies, subjects and names in the charsets Outlook and older clients still send", async () => {
    // windows-1252 quoted-printable: a curly apostrophe (=92), a pound sign (=A3), an en dash (=96).
    const cp1252 = [
      "From: =?iso-8859-1?Q?Ren=E9e_O=27Brien?= <renee.obrien@northby.example>",
      `To: ${SAM_TOKEN}`,
      "Subject: =?windows-1252?Q?RE:_Panel_=96_=A3200_agreed?=",
      "MIME-Version: 1.0",
      'Content-Type: text/plain; charset="windows-1252"',
      "Content-Transfer-Encoding: quoted-printable",
      "",
      "We=92ve agreed the =A3200 travel cost =96 contact starts on Friday.",
      "",
    ].join("\r\n");
    const email = await parseInboundEmail(cp1252);
    expect(email.from).toEqual({ address: "renee.obrien@northby.example", name: "Renée O'Brien" });
    expect(email.subject).toBe("RE: Panel – £200 agreed");
    expect(email.newText).toBe("We’ve agreed the £200 travel cost – contact starts on Friday.");

    const iso2022jp = [
      "From: kenji@northby.example",
      `To: ${SAM_TOKEN}`,
      "Subject: =?ISO-2022-JP?B?GyRCRnxLXDhsGyhC?=",
      'Content-Type: text/plain; charset="iso-2022-jp"',
      "Content-Transfer-Encoding: 7bit",
      "",
      "\u001b$BF|K\\8l\u001b(B OK",
      "",
    ].join("\r\n");
    const japanese = await parseInboundEmail(iso2022jp);
    expect(japanese.subject).toBe("日本語");
    expect(japanese.newText).toBe("日本語 OK");

    const composed = await build({
      from: "jan@northby.example",
      to: SAM_TOKEN,
      subject: "RE: x",
      text: "placeholder",
    });
    const koi8 = Buffer.concat([
      Buffer.from(
        composed
          .toString("latin1")
          .replace(/Content-Type: text\/plain[^\r]*/, 'Content-Type: text/plain; charset="koi8-r"')
          .replace(/Content-Transfer-Encoding: [^\r]*/, "Content-Transfer-Encoding: 8bit")
          .replace(/\r\n\r\n[\s\S]*$/, "\r\n\r\n"),
        "latin1",
      ),
      Buffer.from([0xe4, 0xc1, 0x0d, 0x0a]), // "Да" in KOI8-R
    ]);
    expect((await parseInboundEmail(koi8)).newText).toBe("Да");
  });

  it("keeps an attached message (message/rfc822) as an attachment: its text, token included, is not the reply", async () => {
    const attached = [
      "From: someone.else@northby.example",
      `To: ${MORGAN_TOKEN}`,
      "Subject: RESOLVED",
      "",
      "RESOLVED - please close it.",
      "",
    ].join("\r\n");
    const message = await build({
      from: "sam.whitlock@northby.example",
      to: SAM_TOKEN,
      subject: "RE: x",
      text: "See the message below.",
      attachments: [{ filename: "forwarded.eml", content: attached, contentType: "message/rfc822" }],
    });
    const email = await parseInboundEmail(message);
    expect(email.newText).toBe("See the message below.");
    expect(email.text).not.toContain("RESOLVED");
    expect(email.to.map((a) => a.address)).toEqual([SAM_TOKEN]);
    expect(email.attachments.map((a) => [a.filename, a.contentType, a.size])).toEqual([
      ["forwarded.eml", "message/rfc822", Buffer.byteLength(attached)],
    ]);
  });

  it("a message with no body has no new text", async () => {
    const email = await parseInboundEmail("From: a@x.example\r\nSubject: x\r\n\r\n");
    expect(email.bodySource).toBe("none");
    expect(email.newText).toBe("");
  });
});

describe("extractNewText", () => {
  const newText = (text: string, markers?: readonly string[]): string =>
    extractNewText(text, markers).newText;

  it.each([
    [
      "Outlook's From/Sent block",
      "Yes.\n\nFrom: A <a@x>\nSent: 23 November 2026 10:00\nTo: B\nSubject: S\n\nOld",
      "Yes.",
    ],
    ["Outlook's bold From/Sent block from HTML", "Yes.\n\n*From:* A\n*Sent:* Monday\n\nOld", "Yes."],
    ["the From/Date variant", "Yes.\nFrom: A\nDate: Mon, 23 Nov 2026\nOld", "Yes."],
    ["-----Original Message-----", "Yes.\n-----Original Message-----\nFrom: A\nOld", "Yes."],
    ["----- Original Message -----", "Yes.\n\n----- Original Message -----\nOld", "Yes."],
    ["the underscore rule", "Yes.\n________________________________\nOld", "Yes."],
    [
      "Gmail's attribution",
      "Yes.\n\nOn Mon, 23 Nov 2026 at 10:00, Sam Example <a@b.example> wrote:\n> Old",
      "Yes.",
    ],
    [
      "a wrapped Gmail attribution",
      "Yes.\n\nOn Mon, 23 Nov 2026 at 10:00, Sam Example <\na@b.example> wrote:\n\n> Old",
      "Yes.",
    ],
    [
      "Apple Mail's attribution",
      "Yes.\n\nOn 23 Nov 2026, at 10:00, Sam Example <a@b.example> wrote:\n\n> Old",
      "Yes.",
    ],
    [
      "Apple Mail's quoted attribution",
      "Yes.\n\n> On 23 Nov 2026, at 10:00, Sam <a@b.example> wrote:\n> Old",
      "Yes.",
    ],
    ["a Gmail forward", "FYI\n\n---------- Forwarded message ---------\nFrom: A\nOld", "FYI"],
    ["an Apple forward", "FYI\n\nBegin forwarded message:\n\nFrom: A\nOld", "FYI"],
  ])("cuts at %s", (_, text, expected) => {
    expect(newText(text)).toBe(expected);
  });

  it.each([
    ["the '-- ' delimiter", "Yes.\n\n-- \nSam Whitlock\n01632 960123", "Yes."],
    ["Sent from my iPhone", "Yes.\n\nSent from my iPhone", "Yes."],
    ["Sent from my iPad", "Yes.\nSent from my iPad", "Yes."],
    ["Get Outlook for Android", "Yes.\n\nGet Outlook for Android<https://aka.ms/AAb9ysg>", "Yes."],
    ["Sent from Outlook for iOS", "Yes.\n\nSent from Outlook for iOS", "Yes."],
    ["Sent from Mail for Windows", "Yes.\n\nSent from Mail for Windows", "Yes."],
  ])("strips %s", (_, text, expected) => {
    expect(newText(text)).toBe(expected);
  });

  it("removes > quoted lines, keeping an inline answer", () => {
    expect(
      newText("> Will the panel meet?\nYes, on 2 December.\n> And the views?\nRecorded on Friday."),
    ).toBe("Yes, on 2 December.\nRecorded on Friday.");
  });

  it("finds a reply written below the quote (bottom-posting)", () => {
    expect(
      newText("On Mon, 23 Nov 2026 at 10:00, A <a@b.example> wrote:\n> Question?\n\nMy answer.\n\n-- \nSam"),
    ).toBe("My answer.");
  });

  it("drops protective-marking lines but not the text around them", () => {
    expect(newText("OFFICIAL-SENSITIVE\n\nYes.\n\n[OFFICIAL]")).toBe("Yes.");
    expect(newText("Classification: OFFICIAL\nYes.")).toBe("Yes.");
  });

  it("drops disclaimers, with the default or a tenant's markers", () => {
    expect(newText("Yes.\n\nThis email and any attachments are confidential.\nMore legal text.")).toBe(
      "Yes.",
    );
    expect(
      newText("Yes.\n\nNorthby Council: the views expressed are the author's.", ["Northby Council:"]),
    ).toBe("Yes.");
    expect(DEFAULT_DISCLAIMER_MARKERS.length).toBeGreaterThan(5);
  });

  it("keeps the person's own words that look a little like markers", () => {
    const text = [
      "From: the team's point of view, the plan is sound.",
      "On Friday we met the family.",
      "Thanks - Sam",
    ].join("\n");
    expect(newText(text)).toBe(text);
  });

  it("ignores zero-width characters and turns no-break spaces into spaces", () => {
    expect(newText("\ufeffYes,\u00a0agreed.\u200b")).toBe("Yes, agreed.");
  });

  it("reports a forwarded-message marker where the reply would be", () => {
    expect(extractNewText("FYI\n---------- Forwarded message ---------\nOld").forwardMarker).toBe(true);
    expect(
      extractNewText("Yes.\nOn Mon, 23 Nov 2026, A <a@b> wrote:\n> ---------- Forwarded message ---------")
        .forwardMarker,
    ).toBe(false);
  });

  it("returns empty text when there is only quoted history", () => {
    expect(newText("\n\nFrom: A\nSent: Monday\nTo: B\n\nOld text")).toBe("");
    expect(newText("> only quoted")).toBe("");
  });
});
