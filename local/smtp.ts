/**
 * SES inbound, locally: an SMTP listener on 127.0.0.1 standing in for the receipt rule of
 * lib/mail.ts. For each message it does what that rule does, in the same order:
 *
 * 1. accepts mail only for addresses in the mail domain (the rule's recipients), refusing others
 *    at RCPT TO with 550 as SES does;
 * 2. stores the raw message in the inbound bucket, key `<prefix><SES-style message id>` (the S3 action);
 * 3. invokes the inbound handler (functions/mail/receive-email.ts) asynchronously (the Lambda action,
 *    invocation type Event) with the SES event production gets: `Records[0].ses.mail` (headers,
 *    common headers, envelope) and `.receipt` (recipients, verdicts, the action).
 *
 * Verdicts: there is no DNS, SPF record, DKIM signature or spam and virus scanner here. Mail from
 * a loopback address (127.0.0.1, ::1: this machine, where the listener is bound) is marked SPF, DKIM
 * and DMARC PASS; mail from anywhere else GRAY, which the inbound policy refuses (fail closed).
 * Spam and virus verdicts are PASS. TLS is not offered (the rule requires it on AWS).
 *
 * Like SES, the sender gets 250 once the message is stored, before the handler runs; a handler
 * failure is logged (on AWS it goes to the on-failure queue after two retries).
 *
 * Size: SES receives messages of up to 40 MB (headers included). The listener advertises it with
 * the SIZE extension (RFC 1870): a `MAIL FROM ... SIZE=n` over it is refused at once with 552, and
 * a message that turns out larger in DATA is refused with 552 too, neither stored nor handed on
 * (and not held in memory past the limit).
 */
import { randomBytes } from "node:crypto";
import type { SESEvent, SESMailHeader, SESReceiptStatus } from "aws-lambda";
import { simpleParser, type AddressObject } from "mailparser";
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import {
  SMTPServer,
  type SMTPServerAddress,
  type SMTPServerDataStream,
  type SMTPServerSession,
} from "smtp-server";
import type { LambdaHandler } from "./functions.js";
import { invokeIsolated, lambdaContext } from "./lambda-context.js";
import { LOCAL_HOST, listenError } from "./ports.js";

export interface SmtpOptions {
  readonly port: number;
  readonly mailDomain: string;
  readonly s3Endpoint: string;
  readonly region: string;
  readonly accountId: string;
  readonly bucket: string;
  readonly prefix: string;
  readonly handler: LambdaHandler;
  readonly log?: (message: string) => void;
}

export interface SmtpListener {
  readonly port: number;
  /** Resolves when every message received so far has been handed to the handler and it has returned. */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

/** SES's inbound limit: 40 MB, headers included. */
export const MAX_MESSAGE_BYTES = 40 * 1024 * 1024;

/** Loopback: the only senders whose mail is marked authenticated. */
export function isLoopback(address: string | undefined): boolean {
  if (address === undefined) return false;
  const plain = address.startsWith("::ffff:") ? address.slice(7) : address;
  return plain === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(plain);
}

/** A message id shaped like SES's (lower-case base32-ish, 40 characters). */
function sesMessageId(): string {
  const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
  return [...randomBytes(40)].map((b) => alphabet[b % alphabet.length] ?? "a").join("");
}

function addresses(value: AddressObject | AddressObject[] | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  const list = Array.isArray(value) ? value : [value];
  const texts = list.flatMap((object) =>
    object.value.map((a) => (a.name ? `${a.name} <${a.address ?? ""}>` : (a.address ?? ""))),
  );
  return texts.length === 0 ? undefined : texts;
}

function inDomain(address: string, domain: string): boolean {
  const at = address.lastIndexOf("@");
  return at > 0 && address.slice(at + 1).toLowerCase() === domain.toLowerCase();
}

/** The message, or undefined once it is over the limit (the rest is read and dropped, not kept). */
async function readStream(stream: SMTPServerDataStream): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of stream) {
    bytes += (chunk as Buffer).length;
    if (bytes <= MAX_MESSAGE_BYTES) chunks.push(chunk as Buffer);
    else chunks.length = 0;
  }
  return stream.sizeExceeded || bytes > MAX_MESSAGE_BYTES ? undefined : Buffer.concat(chunks);
}

class MessageTooBig extends Error {
  readonly responseCode = 552;
  constructor() {
    super(`Message exceeds fixed maximum message size of ${String(MAX_MESSAGE_BYTES)} bytes`);
  }
}

export async function startSmtpListener(options: SmtpOptions): Promise<SmtpListener> {
  const log =
    options.log ??
    ((message: string) => {
      console.error(`[local smtp] ${message}`);
    });
  const s3 = new S3Client({
    endpoint: options.s3Endpoint,
    region: options.region,
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
    forcePathStyle: true,
  });
  const inFlight = new Set<Promise<void>>();

  const receive = async (raw: Buffer, session: SMTPServerSession): Promise<string> => {
    const messageId = sesMessageId();
    const objectKey = `${options.prefix}${messageId}`;
    await s3.send(new PutObjectCommand({ Bucket: options.bucket, Key: objectKey, Body: raw }));

    const parsed = await simpleParser(raw, {
      skipHtmlToText: true,
      skipTextToHtml: true,
      skipImageLinks: true,
    });
    const headers: SESMailHeader[] = parsed.headerLines.map((line) => {
      const colon = line.line.indexOf(":");
      return { name: line.line.slice(0, colon).trim(), value: line.line.slice(colon + 1).trim() };
    });
    const authenticated = isLoopback(session.remoteAddress);
    const verdict = (pass: boolean): SESReceiptStatus => ({ status: pass ? "PASS" : "GRAY" });
    const mailFrom = session.envelope.mailFrom === false ? "" : session.envelope.mailFrom.address;
    const recipients = session.envelope.rcptTo.map((r) => r.address);
    const now = new Date().toISOString();
    const replyTo = addresses(parsed.replyTo);
    const event: SESEvent = {
      Records: [
        {
          eventSource: "aws:ses",
          eventVersion: "1.0",
          ses: {
            mail: {
              timestamp: now,
              source: mailFrom,
              messageId,
              destination: recipients,
              headersTruncated: false,
              headers,
              commonHeaders: {
                returnPath: mailFrom,
                ...(addresses(parsed.from) === undefined ? {} : { from: addresses(parsed.from) }),
                date: (parsed.date ?? new Date()).toUTCString(),
                ...(addresses(parsed.to) === undefined ? {} : { to: addresses(parsed.to) }),
                ...(addresses(parsed.cc) === undefined ? {} : { cc: addresses(parsed.cc) }),
                ...(replyTo === undefined ? {} : { replyTo }),
                messageId: parsed.messageId ?? `<${messageId}@local>`,
                ...(parsed.subject === undefined ? {} : { subject: parsed.subject }),
              },
            },
            receipt: {
              timestamp: now,
              processingTimeMillis: 1,
              recipients,
              spamVerdict: { status: "PASS" },
              virusVerdict: { status: "PASS" },
              spfVerdict: verdict(authenticated),
              dkimVerdict: verdict(authenticated),
              dmarcVerdict: verdict(authenticated),
              dmarcPolicy: "reject",
              action: {
                type: "Lambda",
                functionArn: `arn:aws:lambda:${options.region}:${options.accountId}:function:receive-email`,
                invocationType: "Event",
              },
            },
          },
        },
      ],
    };
    // Asynchronous invocation: whatever the handler does (even throwing at once) happens after the 250.
    const invocation = Promise.resolve()
      .then(() =>
        invokeIsolated(
          options.handler,
          event,
          lambdaContext("receive-email", {
            region: options.region,
            accountId: options.accountId,
            timeoutMs: 60_000,
          }),
        ),
      )
      .then(
        () => undefined,
        (error: unknown) => {
          log(
            `the inbound handler failed for message ${messageId}: ${error instanceof Error ? error.message : String(error)}`,
          );
        },
      );
    inFlight.add(invocation);
    void invocation.finally(() => inFlight.delete(invocation));
    return messageId;
  };

  const server = new SMTPServer({
    name: "inbound-smtp.local",
    banner: "Challenge & Resolution Service local inbound mail (SES stand-in)",
    disabledCommands: ["AUTH", "STARTTLS"],
    authOptional: true,
    size: MAX_MESSAGE_BYTES,
    logger: false,
    onRcptTo(address: SMTPServerAddress, _session, callback) {
      if (inDomain(address.address, options.mailDomain)) {
        callback();
        return;
      }
      const error = new Error(
        `Mailbox unavailable: this server receives mail for @${options.mailDomain} only`,
      ) as Error & {
        responseCode?: number;
      };
      error.responseCode = 550;
      callback(error);
    },
    onData(stream, session, callback) {
      readStream(stream)
        .then((raw) => {
          if (raw === undefined) throw new MessageTooBig();
          return receive(raw, session);
        })
        .then(
          (messageId) => {
            callback(null, `Ok ${messageId}`);
          },
          (error: unknown) => {
            if (error instanceof MessageTooBig) {
              log(`refused an inbound message over ${String(MAX_MESSAGE_BYTES)} bytes (552)`);
              callback(error);
              return;
            }
            log(
              `could not store an inbound message: ${error instanceof Error ? error.message : String(error)}`,
            );
            const failure = new Error("Temporary failure storing the message") as Error & {
              responseCode?: number;
            };
            failure.responseCode = 451;
            callback(failure);
          },
        );
    },
  });
  server.on("error", (error) => {
    log(`SMTP error: ${error.message}`);
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (error: Error): void => {
      reject(listenError(error, "smtp", options.port));
    };
    server.server.once("error", onError);
    server.listen(options.port, LOCAL_HOST, () => {
      server.server.off("error", onError);
      resolve();
    });
  });
  const address = server.server.address();
  const port = address !== null && typeof address === "object" ? address.port : options.port;
  return {
    port,
    idle: async () => {
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
    },
    stop: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
      });
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
      s3.destroy();
    },
  };
}
