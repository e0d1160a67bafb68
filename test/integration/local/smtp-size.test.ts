import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startS3Server, type S3Server } from "../../../local/s3.js";
import { MAX_MESSAGE_BYTES, type SmtpListener, startSmtpListener } from "../../../local/smtp.js";

/**
 * The local SMTP listener refuses what SES refuses: a message over 40 MB (issue 10: a 45 MB message
 * got `250 Ok`). Spoken over a raw socket, so the test sees the server's own replies.
 */

const BUCKET = "inbound";
let root: string;
let s3: S3Server;
let smtp: SmtpListener;
const handled: unknown[] = [];

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "smtp-size-"));
  s3 = await startS3Server({ root, port: 0, buckets: [BUCKET], log: () => undefined });
  smtp = await startSmtpListener({
    port: 0,
    mailDomain: "reply.example",
    s3Endpoint: s3.endpoint,
    region: "eu-west-2",
    accountId: "123456789012",
    bucket: BUCKET,
    prefix: "mail/",
    handler: (event) => {
      handled.push(event);
      return Promise.resolve();
    },
    log: () => undefined,
  });
});

afterAll(async () => {
  await smtp.stop();
  await s3.stop();
  rmSync(root, { recursive: true, force: true });
});

/** A minimal SMTP client: send a line (or nothing), read the next complete reply. */
class Session {
  private buffer = "";
  private waiting: ((reply: string) => void) | undefined;
  private constructor(private readonly socket: Socket) {
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      this.buffer += chunk;
      this.deliver();
    });
  }
  static async open(port: number): Promise<{ session: Session; greeting: string }> {
    const socket = connect(port, "127.0.0.1");
    const session = new Session(socket);
    return { session, greeting: await session.reply() };
  }
  private deliver(): void {
    // A reply ends with a line "NNN text" (a space after the code, not a hyphen).
    const match = /(^|\r\n)\d{3} [^\r\n]*\r\n/.exec(this.buffer);
    if (match === null || this.waiting === undefined) return;
    const end = match.index + match[0].length;
    const reply = this.buffer.slice(0, end);
    this.buffer = this.buffer.slice(end);
    const resolve = this.waiting;
    this.waiting = undefined;
    resolve(reply);
  }
  reply(): Promise<string> {
    return new Promise((resolve) => {
      this.waiting = resolve;
      this.deliver();
    });
  }
  async send(line: string): Promise<string> {
    const reply = this.reply();
    this.socket.write(`${line}\r\n`);
    return reply;
  }
  /** Writes a large body in chunks (with backpressure), then the terminating dot. */
  async data(bytes: number): Promise<string> {
    const reply = this.reply();
    const line = `${"x".repeat(998)}\r\n`;
    const chunk = line.repeat(1024);
    let sent = 0;
    this.socket.write("Subject: big\r\n\r\n");
    while (sent < bytes) {
      if (!this.socket.write(chunk)) await new Promise((resolve) => this.socket.once("drain", resolve));
      sent += chunk.length;
    }
    this.socket.write("\r\n.\r\n");
    return reply;
  }
  close(): void {
    this.socket.end();
  }
}

/** Objects stored under the inbound prefix (files, not folders). */
function objectCount(): number {
  try {
    return readdirSync(join(root, BUCKET, "mail"), { withFileTypes: true }).filter((e) => e.isFile()).length;
  } catch {
    return 0;
  }
}

describe("local SMTP listener: SES's 40 MB limit", () => {
  it("advertises SIZE and refuses a declared size over it at MAIL FROM with 552", async () => {
    const { session, greeting } = await Session.open(smtp.port);
    expect(greeting).toMatch(/^220 /);
    const ehlo = await session.send("EHLO client.example");
    expect(ehlo).toContain(`SIZE ${String(MAX_MESSAGE_BYTES)}`);
    const mailFrom = await session.send(
      `MAIL FROM:<sender@authority.example> SIZE=${String(45 * 1024 * 1024)}`,
    );
    expect(mailFrom).toMatch(/^552 /);
    session.close();
  });

  it("refuses a 45 MB message in DATA with 552: not stored, not handed to the inbound handler", async () => {
    const storedBefore = objectCount();
    const { session } = await Session.open(smtp.port);
    await session.send("EHLO client.example");
    expect(await session.send("MAIL FROM:<sender@authority.example>")).toMatch(/^250 /);
    expect(await session.send("RCPT TO:<reply+token@reply.example>")).toMatch(/^250 /);
    expect(await session.send("DATA")).toMatch(/^354 /);
    const reply = await session.data(45 * 1024 * 1024);
    expect(reply).toMatch(/^552 /);
    // The same connection still works for a message within the limit.
    expect(await session.send("MAIL FROM:<sender@authority.example>")).toMatch(/^250 /);
    expect(await session.send("RCPT TO:<reply+token@reply.example>")).toMatch(/^250 /);
    expect(await session.send("DATA")).toMatch(/^354 /);
    expect(await session.data(1024)).toMatch(/^250 /);
    session.close();
    await smtp.idle();
    expect(handled).toHaveLength(1);
    expect(objectCount()).toBe(storedBefore + 1);
  }, 60_000);
});
