import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SESv2Client, SendEmailCommand } from "@aws-sdk/client-sesv2";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { freePort } from "../../../local/ports.js";
import { parseMailLines, startSesServer, type SesServer } from "../../../local/ses.js";

/**
 * The local SES keeps its mail in a file of JSON lines, one appended per message sent (issue 12:
 * rewriting the whole store on every send was quadratic over a long run), and a restart puts it
 * all back.
 */

let root: string;
let storeFile: string;
let ses: SesServer | undefined;

async function send(server: SesServer, subject: string): Promise<void> {
  const client = new SESv2Client({
    endpoint: server.endpoint,
    region: "eu-west-2",
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
  });
  try {
    await client.send(
      new SendEmailCommand({
        FromEmailAddress: "service@reply.example",
        Destination: { ToAddresses: ["manager@council.example"] },
        Content: { Simple: { Subject: { Data: subject }, Body: { Text: { Data: "A stage is open." } } } },
      }),
    );
  } finally {
    client.destroy();
  }
}

function lines(): string[] {
  return readFileSync(storeFile, "utf8").split("\n").filter(Boolean);
}

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "ses-store-"));
  storeFile = join(root, "ses", "emails.ndjson");
});

afterEach(async () => {
  await ses?.stop();
  ses = undefined;
  rmSync(root, { recursive: true, force: true });
});

describe("the local SES mail store", () => {
  it("appends one line per message, written before the send is answered, and a restart reads them back", async () => {
    ses = await startSesServer({ port: await freePort(), storeFile });
    await send(ses, "Stage 1 opened");
    // Answered: so on disk already, before any stop or timer.
    expect(lines()).toHaveLength(1);
    await Promise.all([send(ses, "Stage 2 opened"), send(ses, "Stage 3 opened")]);
    expect(lines()).toHaveLength(3);
    await ses.stop();

    ses = await startSesServer({ port: await freePort(), storeFile });
    expect(
      ses
        .emails()
        .map((mail) => mail.subject)
        .sort(),
    ).toEqual(["Stage 1 opened", "Stage 2 opened", "Stage 3 opened"]);
    await send(ses, "Stage 4 opened");
    expect(lines()).toHaveLength(4);
  });

  it("keeps every whole line when a kill cut the last one short", async () => {
    ses = await startSesServer({ port: await freePort(), storeFile });
    await send(ses, "Kept");
    await ses.stop();
    ses = undefined;
    appendFileSync(storeFile, '{"subject":"cut sho');
    expect(parseMailLines(readFileSync(storeFile, "utf8")).map((mail) => mail.subject)).toEqual(["Kept"]);
    ses = await startSesServer({ port: await freePort(), storeFile });
    expect(ses.emails().map((mail) => mail.subject)).toEqual(["Kept"]);
  });

  it("moves a store saved as one JSON array (before issue 12) into the lines, once", async () => {
    ses = await startSesServer({ port: await freePort(), storeFile });
    await send(ses, "Old mail");
    const [old] = ses.emails();
    await ses.stop();
    ses = undefined;
    rmSync(storeFile);
    const legacy = join(root, "ses", "emails.json");
    writeFileSync(legacy, JSON.stringify([old]));

    ses = await startSesServer({ port: await freePort(), storeFile });
    expect(ses.emails().map((mail) => mail.subject)).toEqual(["Old mail"]);
    expect(existsSync(legacy)).toBe(false);
    expect(lines()).toHaveLength(1);
  });
});
