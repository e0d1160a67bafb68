/**
 * Issue 10, "nothing lost in a crash": an email whose sender died while it was claimed is sent by
 * a later retry, once, and the retries of its stream record last far longer than the claim, on AWS
 * (the mapping's maximum record age) and locally (the stream poller's back-off and age limit).
 */
import { SendEmailCommand, SESv2Client } from "@aws-sdk/client-sesv2";
import { GetCommand, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  REACTOR_MAX_RECORD_AGE_SECONDS,
  REACTOR_RETRY_ATTEMPTS,
  SENDING_LEASE_MS,
} from "../../../functions/mail/outbox-policy.js";
import { DynamoOutboundLedger, eventMailKey } from "../../../functions/mail/deliveries.js";
import { Mailer, TransientDeliveryError } from "../../../functions/mail/mailer.js";
import { retryDelayMs } from "../../../local/streams.js";
import { createTestTable, localDocumentClient } from "../../support/dynamodb-local.js";

let client: DynamoDBDocumentClient;
let tableName: string;
let drop: () => Promise<void>;
const ses = mockClient(SESv2Client);

beforeAll(async () => {
  client = localDocumentClient();
  ({ tableName, drop } = await createTestTable(client));
});

afterAll(async () => {
  await drop();
  client.destroy();
  ses.restore();
});

beforeEach(() => {
  ses.reset();
  ses.on(SendEmailCommand).resolves({ MessageId: "ses-1" });
});

const entry = {
  tenantId: "tenant-a",
  challengeId: "ch-1",
  seq: 1,
  kind: "stage_opened",
  recipientRole: "team_manager",
};
const email = (key: ReturnType<typeof eventMailKey>) => ({
  key,
  entry,
  to: { email: "tm.north@tenant-a.example", name: "Team Manager" },
  rendered: { subject: "A stage is addressed to you", text: "Invented child, invented stage." },
  autoSubmitted: "auto-generated" as const,
  tags: {},
});

describe("a claim left by a sender that died", () => {
  it("holds off retries until its lease ends, then is taken over and sent once", async () => {
    const ledger = new DynamoOutboundLedger(client, tableName);
    const key = eventMailKey("tenant-a", "ch-1", 1, "team_manager");
    const crashedAt = new Date("2026-12-04T10:00:00.000Z");
    // The sender that died claimed the email and never sent it.
    expect((await ledger.claim(key, entry, crashedAt, SENDING_LEASE_MS)).status).toBe("claimed");

    let now = new Date(crashedAt.getTime() + SENDING_LEASE_MS - 1_000);
    const mailer = new Mailer(
      new SESv2Client({ region: "eu-west-2" }),
      ledger,
      { from: { address: "crs@service.example" }, configurationSet: "crs" },
      () => now,
    );
    await expect(mailer.deliver(email(key))).rejects.toBeInstanceOf(TransientDeliveryError);
    expect(ses.commandCalls(SendEmailCommand)).toHaveLength(0);

    now = new Date(crashedAt.getTime() + SENDING_LEASE_MS + 1_000);
    expect(await mailer.deliver(email(key))).toEqual({ status: "sent", sesMessageId: "ses-1" });
    // A redelivery of the same record sends nothing more.
    expect(await mailer.deliver(email(key))).toEqual({ status: "already", previously: "sent" });
    expect(ses.commandCalls(SendEmailCommand)).toHaveLength(1);

    const { Item } = await client.send(
      new GetCommand({ TableName: tableName, Key: key, ConsistentRead: true }),
    );
    expect(Item).toMatchObject({ status: "sent", attempts: 2, sesMessageId: "ses-1" });
  });
});

describe("the retry arithmetic", () => {
  it("retries a record on AWS for many leases before dead-lettering it, within the stream's retention", () => {
    expect(REACTOR_MAX_RECORD_AGE_SECONDS * 1000).toBeGreaterThanOrEqual(10 * SENDING_LEASE_MS);
    expect(REACTOR_MAX_RECORD_AGE_SECONDS).toBeLessThan(24 * 3600);
  });

  it("retries a record locally for longer than the age limit, so age, not count, ends the retries", () => {
    // The local runtime's default back-off base (local/runtime.ts) and the e2e harness's.
    for (const baseMs of [250, 100]) {
      let window = 0;
      for (let attempt = 1; attempt <= REACTOR_RETRY_ATTEMPTS; attempt++)
        window += retryDelayMs(attempt, baseMs);
      expect(window).toBeGreaterThan(REACTOR_MAX_RECORD_AGE_SECONDS * 1000);
      expect(window).toBeGreaterThan(10 * SENDING_LEASE_MS);
    }
  });
});
