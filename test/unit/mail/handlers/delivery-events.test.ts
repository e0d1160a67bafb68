import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";

vi.hoisted(() => {
  process.env.POWERTOOLS_METRICS_DISABLED = "true";
  process.env.POWERTOOLS_LOG_LEVEL = "SILENT";
});

import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SESv2Client, SendEmailCommand } from "@aws-sdk/client-sesv2";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { SNSEvent } from "aws-lambda";
import { mockClient } from "aws-sdk-client-mock";
import { executeCommand } from "../../../../functions/app/execute-command.js";
import type { EventOf } from "../../../../functions/domain/challenge/events.js";
import { MAIL_DELIVERY_ACTOR } from "../../../../functions/domain/email-undeliverable.js";
import {
  createHandler,
  handleDeliveryEvent,
  handleSnsEvent,
} from "../../../../functions/mail/delivery-events.js";
import {
  DynamoOutboundLedger,
  DynamoUndeliverableLog,
  eventMailKey,
} from "../../../../functions/mail/deliveries.js";
import { MailContextLoader, presetProtocol } from "../../../../functions/mail/mail-context.js";
import { MAIL_TAGS, encodeTagValue } from "../../../../functions/mail/mail-tags.js";
import { Mailer } from "../../../../functions/mail/mailer.js";
import type { OutboundDependencies } from "../../../../functions/mail/outbound.js";
import { SecretsManagerReplyKeys } from "../../../../functions/mail/reply-keys.js";
import { DynamoChallengeStore } from "../../../../functions/store/dynamo-challenge-store.js";
import { TenantStore } from "../../../../functions/store/tenant-store.js";
import { createTestTable, localDocumentClient } from "../../../support/dynamodb-local.js";
import {
  CASE_RECORD_BASE_URL,
  CHALLENGE_ID,
  CONFIGURATION_SET,
  KEY_SECRET,
  MAIL_FROM,
  MORGAN,
  NORTHBY_STAFF,
  NOW,
  RecordingObserver,
  SAM,
  RecordingWorkflow,
  REPLY_DOMAIN,
  TENANT,
  TestClock,
  executeDependencies,
  seedNorthbyChallenge,
  sentEmails,
} from "./harness.js";

const ses = new SESv2Client({ region: "eu-west-2" });
const sesMock = mockClient(ses);
const secrets = new SecretsManagerClient({ region: "eu-west-2" });
mockClient(secrets).on(GetSecretValueCommand).resolves({ SecretString: KEY_SECRET });

let client: DynamoDBDocumentClient;
let tableName: string;
let drop: () => Promise<void>;
let store: DynamoChallengeStore;
const clock = new TestClock();
let observer: RecordingObserver;

beforeAll(async () => {
  client = localDocumentClient();
  ({ tableName, drop } = await createTestTable(client));
  store = new DynamoChallengeStore(client, tableName);
  const tenants = new TenantStore(client, tableName);
  await tenants.putConfig(TENANT, { protocolId: "halton", closureDays: [], reminders: {} });
  for (const member of NORTHBY_STAFF) await tenants.upsertStaff(TENANT, member);
  const execution = executeDependencies({ challenges: store, tenants }, clock, new RecordingWorkflow());
  await seedNorthbyChallenge((tenantId, command) => executeCommand(execution, tenantId, command), clock);
});

afterAll(async () => {
  await drop();
  client.destroy();
});

beforeEach(() => {
  sesMock.reset();
  sesMock.on(SendEmailCommand).resolves({ MessageId: "ses-alert" });
  observer = new RecordingObserver();
  clock.set(NOW);
});

function deps(): OutboundDependencies {
  return {
    contexts: new MailContextLoader(
      store,
      new TenantStore(client, tableName),
      presetProtocol,
      "Northby Council",
    ),
    keys: new SecretsManagerReplyKeys(secrets, "arn:aws:secretsmanager:eu-west-2:1:secret:k"),
    mailer: new Mailer(
      ses,
      new DynamoOutboundLedger(client, tableName),
      { from: { address: MAIL_FROM }, configurationSet: CONFIGURATION_SET },
      clock.now,
    ),
    undeliverable: new DynamoUndeliverableLog(client, tableName, clock.now),
    replyDomain: REPLY_DOMAIN,
    caseRecordBaseUrl: CASE_RECORD_BASE_URL,
    clock: clock.now,
    observer,
  };
}

/** The tags the sender put on an email (send-notification.ts), as SES reports them back. */
function tags(seq: string, role: string, kind: string, tenantId = TENANT): Record<string, string[]> {
  return {
    "ses:configuration-set": [CONFIGURATION_SET],
    [MAIL_TAGS.tenant]: [encodeTagValue(tenantId)],
    [MAIL_TAGS.challenge]: [CHALLENGE_ID],
    [MAIL_TAGS.seq]: [seq],
    [MAIL_TAGS.role]: [role],
    [MAIL_TAGS.kind]: [kind],
  };
}

/** An SES configuration-set event as published to SNS (addresses included, as SES sends them). */
function sesEvent(
  eventType: string,
  messageId: string,
  tagSet: Record<string, string[]> | undefined,
  detail: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    eventType,
    mail: {
      timestamp: "2026-11-23T10:00:05.000Z",
      source: MAIL_FROM,
      messageId,
      destination: ["sam.whitlock@northby.example"],
      ...(tagSet === undefined ? {} : { tags: tagSet }),
    },
    ...detail,
  };
}

const permanentBounce = {
  bounce: {
    bounceType: "Permanent",
    bounceSubType: "NoEmail",
    bouncedRecipients: [{ emailAddress: "sam.whitlock@northby.example", status: "5.1.1" }],
    timestamp: "2026-11-23T10:00:09.000Z",
    feedbackId: "feedback-1",
  },
};

function sns(...messages: unknown[]): SNSEvent {
  return {
    Records: messages.map((message, i) => ({
      EventSource: "aws:sns",
      EventVersion: "1.0",
      EventSubscriptionArn: "arn:aws:sns:eu-west-2:1:mail-events:sub",
      Sns: {
        Type: "Notification",
        MessageId: `sns-${String(i)}`,
        TopicArn: "arn:aws:sns:eu-west-2:1:mail-events",
        Subject: null as unknown as string,
        Message: typeof message === "string" ? message : JSON.stringify(message),
        Timestamp: "2026-11-23T10:00:10.000Z",
        SignatureVersion: "1",
        Signature: "x",
        SigningCertUrl: "https://sns.example/cert.pem",
        UnsubscribeUrl: "https://sns.example/unsub",
        MessageAttributes: {},
      },
    })),
  };
}

/** The challenge's NotificationUndeliverable events about one email. */
async function undeliverable(notificationId: string): Promise<EventOf<"NotificationUndeliverable">[]> {
  return (await store.events(TENANT, CHALLENGE_ID))
    .map((stored) => stored.event)
    .filter(
      (e): e is EventOf<"NotificationUndeliverable"> =>
        e.type === "NotificationUndeliverable" && e.data.notificationId === notificationId,
    );
}

describe("permanent failures are recorded on the challenge and the raiser told", () => {
  it("a permanent bounce of the Stage 2 email: recorded once, the raiser alerted once", async () => {
    // The Stage 2 email's delivery record, as the sender left it: ids only, and SES's message id.
    const ledger = new DynamoOutboundLedger(client, tableName);
    const key = eventMailKey(TENANT, CHALLENGE_ID, 4, `assignee:${SAM.personId}`);
    const entry = { tenantId: TENANT, challengeId: CHALLENGE_ID, seq: 4, kind: "stage_opened" };
    await ledger.claim(
      key,
      { ...entry, recipientRole: "assignee", recipientPersonId: SAM.personId },
      NOW,
      60_000,
    );
    await ledger.markSent(key, "ses-stage-2", NOW);
    const event = sesEvent("Bounce", "ses-stage-2", tags("4", "assignee", "stage_opened"), permanentBounce);
    expect(await handleDeliveryEvent(deps(), event)).toBe("recorded");
    const [recorded, ...twice] = await undeliverable("ses-stage-2");
    expect(twice).toEqual([]);
    expect(recorded).toMatchObject({
      type: "NotificationUndeliverable",
      challengeId: CHALLENGE_ID,
      at: NOW.toISOString(),
      actor: MAIL_DELIVERY_ACTOR,
      channel: "email",
      data: {
        notificationId: "ses-stage-2",
        eventSeq: 4,
        kind: "stage_opened",
        recipientRole: "assignee",
        recipientTitle: "Divisional Manager",
        recipientPersonId: SAM.personId,
        reason: "bounced",
      },
    });
    // Ids and codes only: the address SES reported is nowhere in the record.
    expect(JSON.stringify(recorded)).not.toContain("sam.whitlock");
    const [alert, ...others] = await sentEmails(sesMock.commandCalls(SendEmailCommand));
    expect(others).toEqual([]);
    expect(alert?.destinations).toEqual([MORGAN.email]);
    expect(alert?.parsed.subject).toBe(`Email not delivered: challenge CR-${CHALLENGE_ID}`);
    expect(alert?.parsed.text).toContain(
      "An email about challenge CR-" + CHALLENGE_ID + " to the Divisional Manager could not be delivered",
    );
    expect(alert?.parsed.text).not.toContain("sam.whitlock");
    expect(observer.counted("NotificationUndeliverable")).toBe(1);

    // SNS delivers it again: nothing new.
    sesMock.resetHistory();
    expect(await handleDeliveryEvent(deps(), event)).toBe("already_recorded");
    expect(sesMock.commandCalls(SendEmailCommand)).toHaveLength(0);
    expect(await undeliverable("ses-stage-2")).toHaveLength(1);
  });

  it("a complaint is recorded and alerted too: SES will suppress further mail to that address", async () => {
    const event = sesEvent("Complaint", "ses-complaint", tags("2", "assignee", "stage_opened"), {
      complaint: {
        complainedRecipients: [{ emailAddress: "jo.barnard@northby.example" }],
        complaintFeedbackType: "abuse",
      },
    });
    expect(await handleDeliveryEvent(deps(), event)).toBe("recorded");
    expect((await undeliverable("ses-complaint")).map((e) => e.data)).toEqual([
      expect.objectContaining({ reason: "complaint", eventSeq: 2, recipientTitle: "Principal Manager" }),
    ]);
    const [alert] = await sentEmails(sesMock.commandCalls(SendEmailCommand));
    expect(alert?.parsed.text).toContain("to the Principal Manager was reported as unwanted");
  });

  it("the same failure reported twice at once is recorded once: the append is conditional", async () => {
    const event = sesEvent("Reject", "ses-twice", tags("2", "assignee", "stage_opened"), {
      reject: { reason: "Bad content" },
    });
    const [first, second] = await Promise.allSettled([
      handleDeliveryEvent(deps(), event),
      handleDeliveryEvent(deps(), event),
    ]);
    const outcomes = [first, second].map((r) =>
      r.status === "fulfilled" ? r.value : r.reason instanceof Error ? r.reason.name : "?",
    );
    // One records it; the other finds it recorded, or finds the raiser's alert being sent by the
    // first and fails, to be retried (and then finds both done).
    expect(outcomes).toContain("recorded");
    expect(outcomes.filter((o) => o !== "recorded")).toEqual([
      expect.stringMatching(/^(already_recorded|TransientDeliveryError)$/),
    ]);
    expect(await handleDeliveryEvent(deps(), event)).toBe("already_recorded");
    expect(await undeliverable("ses-twice")).toHaveLength(1);
  });

  it("the raiser's own email bouncing is recorded, with no alert to that same address", async () => {
    const event = sesEvent("Bounce", "ses-raiser", tags("5", "raiser", "response_received"), permanentBounce);
    expect(await handleDeliveryEvent(deps(), event)).toBe("recorded");
    expect((await undeliverable("ses-raiser")).map((e) => e.data)).toEqual([
      expect.objectContaining({ recipientRole: "raiser", recipientTitle: "raiser" }),
    ]);
    expect(sesMock.commandCalls(SendEmailCommand)).toHaveLength(0);
  });
});

describe("what needs nothing", () => {
  it("transient bounces and delivery delays (SES keeps trying)", async () => {
    const transient = sesEvent("Bounce", "ses-t", tags("4", "assignee", "stage_opened"), {
      bounce: { bounceType: "Transient", bounceSubType: "MailboxFull" },
    });
    const delay = sesEvent("DeliveryDelay", "ses-d", tags("4", "assignee", "stage_opened"), {
      deliveryDelay: { delayType: "MailboxFull" },
    });
    expect(await handleSnsEvent(deps(), sns(transient, delay))).toEqual([
      "ignored_transient",
      "ignored_transient",
    ]);
    expect(await undeliverable("ses-t")).toEqual([]);
    expect(sesMock.commandCalls(SendEmailCommand)).toHaveLength(0);
  });

  it("an email without our tags, and our own bounce reply bouncing", async () => {
    const untagged = sesEvent("Bounce", "ses-u", undefined, permanentBounce);
    const bounceReply = sesEvent("Bounce", "ses-b", { [MAIL_TAGS.kind]: ["bounce"] }, permanentBounce);
    expect(await handleSnsEvent(deps(), sns(untagged, bounceReply, "not json"))).toEqual([
      "ignored_untagged",
      "ignored_bounce_reply",
    ]);
    expect(observer.counted("MailDeliveryUntagged")).toBe(1);
    expect(observer.counted("MailDeliveryUnreadable")).toBe(1);
    expect(sesMock.commandCalls(SendEmailCommand)).toHaveLength(0);
  });

  it("the Lambda handler takes SNS's event", async () => {
    const handler = createHandler(deps);
    const rejected = sesEvent("Reject", "ses-r", tags("4", "assignee", "stage_opened"), {
      reject: { reason: "Bad content" },
    });
    await expect(handler(sns(rejected))).resolves.toBeUndefined();
    expect((await undeliverable("ses-r")).map((e) => e.data.reason)).toEqual(["rejected"]);
  });
});
