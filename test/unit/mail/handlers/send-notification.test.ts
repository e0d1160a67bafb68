import { beforeAll, afterAll, beforeEach, describe, expect, it, vi } from "vitest";

vi.hoisted(() => {
  process.env.POWERTOOLS_METRICS_DISABLED = "true";
  process.env.POWERTOOLS_LOG_LEVEL = "SILENT";
});

import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SESv2Client, SendEmailCommand } from "@aws-sdk/client-sesv2";
import { GetCommand, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { DynamoDBRecord, DynamoDBStreamEvent } from "aws-lambda";
import { mockClient } from "aws-sdk-client-mock";
import { executeCommand } from "../../../../functions/app/execute-command.js";
import {
  recipientRefOf,
  signReplyToken,
  stageRefOf,
  verifyReplyToken,
} from "../../../../functions/mail/reply-token.js";
import {
  DynamoOutboundLedger,
  DynamoUndeliverableLog,
  eventMailKey,
} from "../../../../functions/mail/deliveries.js";
import { MailContextLoader, presetProtocol } from "../../../../functions/mail/mail-context.js";
import { decodeTagValue, encodeTagValue } from "../../../../functions/mail/mail-tags.js";
import { Mailer, permanentRejectionCode } from "../../../../functions/mail/mailer.js";
import type { OutboundDependencies } from "../../../../functions/mail/outbound.js";
import { SecretsManagerReplyKeys, parseReplyKeySecret } from "../../../../functions/mail/reply-keys.js";
import { createNotificationStep } from "../../../../functions/reactor/mail-steps.js";
import { createHandler as reactorHandler, route } from "../../../../functions/reactor/reactor.js";
import { decodeEventRecord } from "../../../../functions/store/stream-image.js";
import { ENTITY } from "../../../../functions/store/table.js";
import { DynamoChallengeStore } from "../../../../functions/store/dynamo-challenge-store.js";
import { TenantStore } from "../../../../functions/store/tenant-store.js";
import { createTestTable, dynamoDbEndpoint, localDocumentClient } from "../../../support/dynamodb-local.js";
import {
  CASE_RECORD_BASE_URL,
  CHALLENGE_ID,
  CONFIGURATION_SET,
  JO,
  KEYS,
  KEY_SECRET,
  MAIL_FROM,
  MORGAN,
  NORTHBY_STAFF,
  NOW,
  RecordingObserver,
  RecordingWorkflow,
  REPLY_DOMAIN,
  SAM,
  STAGE_2_OPENED_AT,
  TENANT,
  TENANTS,
  TestClock,
  executeDependencies,
  seedNorthbyChallenge,
  sentEmails,
  streamRecordsOf,
} from "./harness.js";

const SECRET_ARN = "arn:aws:secretsmanager:eu-west-2:123456789012:secret:reply-token-key-AbCdEf";
const AUTHORITY = "Northby Council Children's Services";

const ses = new SESv2Client({ region: "eu-west-2" });
const sesMock = mockClient(ses);
const secrets = new SecretsManagerClient({ region: "eu-west-2" });
const secretsMock = mockClient(secrets);

let client: DynamoDBDocumentClient;
let tableName: string;
let drop: () => Promise<void>;
let store: DynamoChallengeStore;
let records: DynamoDBRecord[];
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
  records = await streamRecordsOf(dynamoDbEndpoint(), tableName, TENANT, CHALLENGE_ID);
});

afterAll(async () => {
  await drop();
  client.destroy();
});

let sesIds = 0;
beforeEach(() => {
  sesMock.reset();
  sesMock.on(SendEmailCommand).callsFake(() => ({ MessageId: `ses-${String(++sesIds)}` }));
  secretsMock.reset();
  secretsMock.on(GetSecretValueCommand).resolves({ SecretString: KEY_SECRET });
  observer = new RecordingObserver();
  clock.set(NOW);
});

/** Fresh dependencies per invocation, like the Lambda handler builds them. */
function deps(): OutboundDependencies {
  return {
    contexts: new MailContextLoader(store, new TenantStore(client, tableName), presetProtocol, AUTHORITY),
    keys: new SecretsManagerReplyKeys(secrets, SECRET_ARN),
    mailer: new Mailer(
      ses,
      new DynamoOutboundLedger(client, tableName),
      {
        from: { address: MAIL_FROM, name: "Northby Challenge & Resolution" },
        configurationSet: CONFIGURATION_SET,
      },
      clock.now,
    ),
    undeliverable: new DynamoUndeliverableLog(client, tableName, clock.now),
    replyDomain: REPLY_DOMAIN,
    caseRecordBaseUrl: CASE_RECORD_BASE_URL,
    clock: clock.now,
    observer,
  };
}

/** The event reactor with the notifications step alone: the path every committed event's emails take. */
const createHandler = (d: () => OutboundDependencies) =>
  reactorHandler([route(ENTITY.event, decodeEventRecord, [createNotificationStep(d)])]);
const handler = createHandler(deps);
const batch = (...items: DynamoDBRecord[]): DynamoDBStreamEvent => ({ Records: items });
const record = (seq: number): DynamoDBRecord => {
  const found = records[seq - 1];
  if (found === undefined) throw new Error(`no stored event ${String(seq)}`);
  return found;
};
const sequenceNumber = (seq: number): string => record(seq).dynamodb?.SequenceNumber ?? "";
const sends = () => sesMock.commandCalls(SendEmailCommand);

async function ledgerItem(seq: number, recipientKey: string): Promise<Record<string, unknown> | undefined> {
  const { Item } = await client.send(
    new GetCommand({
      TableName: tableName,
      Key: eventMailKey(TENANT, CHALLENGE_ID, seq, recipientKey),
      ConsistentRead: true,
    }),
  );
  return Item;
}

describe("the stored challenge the fixtures describe", () => {
  it("has four events: raised at Stage 1 (Jo), escalated to Stage 2 (Sam)", () => {
    expect(records.map((r) => r.dynamodb?.NewImage?.type?.S)).toEqual([
      "ChallengeRaised",
      "StageOpened",
      "Escalated",
      "StageOpened",
    ]);
  });
});

// Each test below uses its own events so the ledger of one does not satisfy another: they run in
// the order written, and later tests build on what earlier ones sent where they say so.

describe("a StageOpened event", () => {
  it("sends exactly one email, to the stage's manager, with a Reply-To that verifies", async () => {
    const result = await handler(batch(record(4)));
    expect(result).toEqual({ batchItemFailures: [] });
    const [sent, ...others] = await sentEmails(sends());
    expect(others).toEqual([]);
    if (sent === undefined) throw new Error("nothing sent");

    expect(sent.destinations).toEqual([SAM.email]);
    expect(sent.input.FromEmailAddress).toBe(`"Northby Challenge & Resolution" <${MAIL_FROM}>`);
    expect(sent.input.ConfigurationSetName).toBe(CONFIGURATION_SET);
    expect(sent.tags).toEqual({
      "crs-tenant": TENANT,
      "crs-challenge": CHALLENGE_ID,
      "crs-seq": "4",
      "crs-role": "assignee",
      "crs-kind": "stage_opened",
    });

    const mail = sent.parsed;
    expect(mail.to).toMatchObject({ value: [{ address: SAM.email, name: "Sam Whitlock" }] });
    expect(mail.from).toMatchObject({
      value: [{ address: MAIL_FROM, name: "Northby Challenge & Resolution" }],
    });
    expect(mail.subject).toBe(
      `Challenge CR-${CHALLENGE_ID} needs your response by Mon 30 Nov (Stage 2, Divisional Manager)`,
    );
    expect(mail.subject).not.toContain("Rowan");
    expect(mail.headers.get("auto-submitted")).toBe("auto-generated");
    expect(mail.text).toContain("Dear Sam Whitlock,");
    expect(mail.text).toContain("How to answer by email");
    expect(mail.html).toContain(`<a href="${CASE_RECORD_BASE_URL}LCS-449120">`);

    const replyTo = mail.replyTo?.value[0]?.address ?? "";
    expect(replyTo).toMatch(
      new RegExp(`^reply\\+[a-z2-7]{40}\\.[a-z2-7]{16}@${REPLY_DOMAIN.replaceAll(".", "\\.")}$`),
    );
    const verified = verifyReplyToken(replyTo, KEYS, NOW, TENANTS);
    expect(verified).toMatchObject({
      ok: true,
      claims: {
        tenantId: TENANT,
        challengeId: CHALLENGE_ID,
        party: "assignee",
        stageRef: stageRefOf("stage_2", STAGE_2_OPENED_AT.toISOString()),
        recipientRef: recipientRefOf(SAM.email),
        keyId: 3,
      },
    });

    expect(await ledgerItem(4, `assignee:${SAM.personId}`)).toMatchObject({
      entity: "mail-out",
      status: "sent",
      sesMessageId: expect.stringMatching(/^ses-/) as unknown,
      tenantId: TENANT,
      challengeId: CHALLENGE_ID,
      seq: 4,
      kind: "stage_opened",
      recipientRole: "assignee",
      recipientPersonId: SAM.personId,
      attempts: 1,
    });
    expect(observer.counted("NotificationSent")).toBe(1);
  });

  it("a redelivered batch sends nothing twice, and nobody is asked to act on a stage that has closed", async () => {
    const all = batch(record(1), record(2), record(3), record(4));
    // Event 4's email went in the test above. Event 2 asked Jo to act at Stage 1, which has
    // closed since (the stream was late): that email would only collect refused replies.
    expect(await handler(all)).toEqual({ batchItemFailures: [] });
    expect(sends()).toHaveLength(0);
    expect(observer.counted("NotificationSuperseded")).toBe(1);
    expect(await ledgerItem(2, `assignee:${JO.personId}`)).toBeUndefined();
    expect(await handler(all)).toEqual({ batchItemFailures: [] });
    expect(sends()).toHaveLength(0);
  });

  it("the same event's email is sent once however often it arrives", async () => {
    const s = new Scenario("01JD3K8Q6T9X2M4N5P7R8S9V5F");
    await s.seed();
    const stage2 = (await s.records())[3];
    if (stage2 === undefined) throw new Error("no Stage 2 event");
    const results = await Promise.all([handler(batch(stage2)), handler(batch(stage2))]);
    // Two overlapping deliveries: one sends, the other finds it in flight and is retried later.
    expect(sends()).toHaveLength(1);
    expect(results.flatMap((r) => r.batchItemFailures).length).toBeLessThanOrEqual(1);
    expect(await handler(batch(stage2))).toEqual({ batchItemFailures: [] });
    expect(sends()).toHaveLength(1);
  });
});

describe("failures", () => {
  it("a throttled send fails its record (batchItemFailures), and the retry sends it once", async () => {
    const s = new Scenario();
    const events = await s.seedAndRespond();
    const throttled = Object.assign(new Error("Maximum sending rate exceeded."), { name: "Throttling" });
    sesMock
      .on(SendEmailCommand)
      .rejectsOnce(throttled)
      .callsFake(() => ({ MessageId: `ses-${String(++sesIds)}` }));

    const first = await handler(batch(...events));
    // The failed record, and the same challenge's later record held back behind it (the reactor's order).
    expect(first.batchItemFailures).toEqual([
      { itemIdentifier: events[0]?.dynamodb?.SequenceNumber },
      { itemIdentifier: events[1]?.dynamodb?.SequenceNumber },
    ]);
    expect(sends()).toHaveLength(1);
    expect(observer.counted("NotificationRetry")).toBe(1);
    // The claim was given back: nothing is marked sent.
    expect(await s.ledger(4, `assignee:${SAM.personId}`)).toBeUndefined();

    // Lambda retries from the failed record: the rest of the batch comes with it.
    const retry = await handler(batch(...events));
    expect(retry.batchItemFailures).toEqual([]);
    const sent = await sentEmails(sends().slice(1));
    expect(sent.map((m) => [m.tags["crs-seq"], m.tags["crs-kind"], m.destinations[0]])).toEqual([
      ["4", "stage_opened", SAM.email],
      ["5", "response_received", MORGAN.email],
    ]);
    expect(await s.ledger(4, `assignee:${SAM.personId}`)).toMatchObject({ status: "sent", attempts: 1 });
    // The raiser's email carries a raiser's reply address for the same stage visit.
    const raiserReply = sent[1]?.parsed.replyTo?.value[0]?.address ?? "";
    expect(verifyReplyToken(raiserReply, KEYS, NOW, TENANTS)).toMatchObject({
      ok: true,
      claims: { party: "raiser", challengeId: s.challengeId, recipientRef: recipientRefOf(MORGAN.email) },
    });
  });

  it("a transient store failure fails the record too; nothing is sent", async () => {
    const failing: OutboundDependencies = {
      ...deps(),
      contexts: new MailContextLoader(
        {
          events: () =>
            Promise.reject(Object.assign(new Error("slow down"), { name: "ThrottlingException" })),
        },
        new TenantStore(client, tableName),
        presetProtocol,
        AUTHORITY,
      ),
    };
    const result = await createHandler(() => failing)(batch(record(4)));
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: sequenceNumber(4) }]);
    expect(sends()).toHaveLength(0);
  });

  it("SES rejecting a message is recorded, the raiser alerted, and it is not retried", async () => {
    const s = new Scenario("01JD3K8Q6T9X2M4N5P7R8S9V1A");
    await s.seed();
    const stage2 = (await s.records())[3];
    if (stage2 === undefined) throw new Error("no Stage 2 event");
    sesMock
      .on(SendEmailCommand)
      .rejectsOnce(Object.assign(new Error("Email address is not verified."), { name: "MessageRejected" }))
      .callsFake(() => ({ MessageId: `ses-${String(++sesIds)}` }));

    expect(await handler(batch(stage2))).toEqual({ batchItemFailures: [] });
    const [rejected, alert, ...rest] = await sentEmails(sends());
    expect(rest).toEqual([]);
    expect(rejected?.destinations).toEqual([SAM.email]);
    expect(alert?.destinations).toEqual([MORGAN.email]);
    expect(alert?.parsed.subject).toBe(`Email not delivered: challenge CR-${s.challengeId}`);
    expect(alert?.parsed.text).toContain("to the Divisional Manager could not be sent");
    expect(alert?.tags).toMatchObject({
      "crs-seq": "alert",
      "crs-kind": "undeliverable",
      "crs-role": "raiser",
    });

    expect(await s.ledger(4, `assignee:${SAM.personId}`)).toMatchObject({
      status: "failed",
      failure: "MessageRejected",
    });
    // Recorded on the challenge as an event, naming the email, the person and their role (no address).
    const undeliverable = async () =>
      (await store.events(TENANT, s.challengeId))
        .map((e) => e.event)
        .filter((e) => e.type === "NotificationUndeliverable");
    expect(await undeliverable()).toEqual([
      expect.objectContaining({
        seq: 5,
        actor: { id: "mail-delivery", role: "system" },
        data: {
          notificationId: `send#4#assignee:${SAM.personId}`,
          eventSeq: 4,
          kind: "stage_opened",
          recipientRole: "assignee",
          recipientTitle: "Divisional Manager",
          recipientPersonId: SAM.personId,
          reason: "rejected",
        },
      }),
    ]);

    // Redelivered: neither the rejected email nor the alert goes again.
    sesMock.resetHistory();
    expect(await handler(batch(stage2))).toEqual({ batchItemFailures: [] });
    expect(sends()).toHaveLength(0);
    expect(await undeliverable()).toHaveLength(1);
  });

  it("if the alert could not go when SES refused the email, the retry still sends it", async () => {
    const s = new Scenario("01JD3K8Q6T9X2M4N5P7R8S9V6G");
    await s.seed();
    const stage2 = (await s.records())[3];
    if (stage2 === undefined) throw new Error("no Stage 2 event");
    sesMock
      .on(SendEmailCommand)
      .rejectsOnce(Object.assign(new Error("rejected"), { name: "MessageRejected" }))
      .rejectsOnce(Object.assign(new Error("slow down"), { name: "Throttling" }))
      .callsFake(() => ({ MessageId: `ses-${String(++sesIds)}` }));
    const first = await handler(batch(stage2));
    expect(first.batchItemFailures).toHaveLength(1);
    expect(await handler(batch(stage2))).toEqual({ batchItemFailures: [] });
    const sent = await sentEmails(sends());
    expect(sent.map((m) => m.destinations[0])).toEqual([SAM.email, MORGAN.email, MORGAN.email]);
    expect(sent[2]?.parsed.subject).toBe(`Email not delivered: challenge CR-${s.challengeId}`);
  });

  it("records that are not new events are skipped", async () => {
    const snapshot: DynamoDBRecord = {
      eventName: "MODIFY",
      dynamodb: {
        SequenceNumber: "999",
        NewImage: { pk: { S: "T#northby#C#X" }, sk: { S: "SNAPSHOT" }, entity: { S: "challenge" } },
      },
    };
    const token: DynamoDBRecord = {
      eventName: "INSERT",
      dynamodb: { SequenceNumber: "1000", NewImage: { entity: { S: "task-token" } } },
    };
    expect(await handler(batch(snapshot, token))).toEqual({ batchItemFailures: [] });
    expect(sends()).toHaveLength(0);
  });
});

/** A second challenge of the same tenant, for tests that must not share delivery records. */
class Scenario {
  constructor(readonly challengeId = "01JD3K8Q6T9X2M4N5P7R8S9V0Z") {}

  private execute = (tenantId: string, command: Parameters<typeof executeCommand>[2]) =>
    executeCommand(
      executeDependencies(
        { challenges: store, tenants: new TenantStore(client, tableName) },
        clock,
        new RecordingWorkflow(),
      ),
      tenantId,
      command,
    );

  async seed(): Promise<void> {
    await seedNorthbyChallenge(this.execute, clock, this.challengeId);
  }

  /** Seeds, then Sam responds (seq 5); returns the records of Stage 2's opening and the response. */
  async seedAndRespond(): Promise<DynamoDBRecord[]> {
    await this.seed();
    clock.set(new Date("2026-11-24T09:13:00Z"));
    await this.execute(TENANT, {
      type: "Respond",
      challengeId: this.challengeId,
      actor: { id: SAM.personId, role: "manager" },
      channel: "email",
      response: "The request goes to panel on 2 December.",
    });
    clock.set(NOW);
    return (await this.records()).slice(3);
  }

  records(): Promise<DynamoDBRecord[]> {
    return streamRecordsOf(dynamoDbEndpoint(), tableName, TENANT, this.challengeId);
  }

  async ledger(seq: number, recipientKey: string): Promise<Record<string, unknown> | undefined> {
    const { Item } = await client.send(
      new GetCommand({
        TableName: tableName,
        Key: eventMailKey(TENANT, this.challengeId, seq, recipientKey),
        ConsistentRead: true,
      }),
    );
    return Item;
  }
}

// --- pure parts ------------------------------------------------------------------------------

describe("the reply-token secret", () => {
  const b64 = Buffer.alloc(32, 7).toString("base64");

  it("reads the key ring, the single key CDK generates, and `key` for `secret`", () => {
    expect(parseReplyKeySecret(KEY_SECRET)).toEqual(KEYS);
    expect(parseReplyKeySecret(JSON.stringify({ id: 1, secret: b64 })).current.id).toBe(1);
    expect(
      parseReplyKeySecret(JSON.stringify({ current: { id: 4, key: b64 }, previous: { id: 3, key: b64 } })),
    ).toMatchObject({ current: { id: 4 }, previous: { id: 3 } });
  });

  it("refuses what is not a key ring without repeating the key material", () => {
    const short = Buffer.alloc(8, 1).toString("base64");
    expect(() => parseReplyKeySecret("not json")).toThrow(/not JSON/);
    let message = "";
    try {
      parseReplyKeySecret(JSON.stringify({ current: { id: 1, secret: short } }));
    } catch (error) {
      message = error instanceof Error ? error.message : "";
    }
    expect(message).toMatch(/current\.secret/);
    expect(message).not.toContain(short);
  });

  it("reads a previous key in the flat shape CDK generates, so a rotation keeps older reply addresses working", () => {
    const old = Buffer.alloc(48, 1).toString("base64");
    const fresh = Buffer.alloc(48, 2).toString("base64");
    const bytes = (secret: string) => new Uint8Array(Buffer.from(secret, "base64"));
    const generated = parseReplyKeySecret(JSON.stringify({ id: 0, secret: old }));
    expect(generated).toEqual({ current: { id: 0, secret: bytes(old) } });

    const rotated = parseReplyKeySecret(
      JSON.stringify({ id: 1, secret: fresh, previous: { id: 0, secret: old } }),
    );
    expect(rotated).toEqual({
      current: { id: 1, secret: bytes(fresh) },
      previous: { id: 0, secret: bytes(old) },
    });
    expect(
      parseReplyKeySecret(JSON.stringify({ id: 2, key: fresh, previous: { id: 1, key: old } })),
    ).toMatchObject({ current: { id: 2 }, previous: { id: 1 } });
    expect(parseReplyKeySecret(JSON.stringify({ id: 1, secret: fresh, previous: null }))).toEqual({
      current: { id: 1, secret: bytes(fresh) },
    });

    // An address signed before the rotation still verifies after it, until `previous` is dropped.
    const input = {
      tenantId: TENANT,
      challengeId: CHALLENGE_ID,
      stageId: "service-manager",
      stageOpenedAt: STAGE_2_OPENED_AT.toISOString(),
      party: "assignee" as const,
      recipientEmail: "sam@northby.example",
      expiresAt: new Date(NOW.getTime() + 86_400_000),
    };
    const before = `${signReplyToken(input, generated)}@${REPLY_DOMAIN}`;
    expect(verifyReplyToken(before, rotated, NOW, TENANTS)).toMatchObject({ ok: true, claims: { keyId: 0 } });
    const after = `${signReplyToken(input, rotated)}@${REPLY_DOMAIN}`;
    expect(verifyReplyToken(after, rotated, NOW, TENANTS)).toMatchObject({ ok: true, claims: { keyId: 1 } });
    const done = parseReplyKeySecret(JSON.stringify({ id: 1, secret: fresh }));
    expect(verifyReplyToken(before, done, NOW, TENANTS)).toMatchObject({ ok: false, refusal: "unknown_key" });
  });

  it("refuses a flat previous key with the current key's id, or a bad one, without the key material", () => {
    const old = Buffer.alloc(48, 1).toString("base64");
    const fresh = Buffer.alloc(48, 2).toString("base64");
    const short = Buffer.alloc(8, 3).toString("base64");
    const messageOf = (secret: unknown): string => {
      try {
        parseReplyKeySecret(JSON.stringify(secret));
      } catch (error) {
        return error instanceof Error ? error.message : "";
      }
      return "parsed";
    };
    const sameId = messageOf({ id: 0, secret: fresh, previous: { id: 0, secret: old } });
    expect(sameId).toMatch(/previous\.id: the previous key needs a different id/);
    const tooShort = messageOf({ id: 1, secret: fresh, previous: { id: 0, secret: short } });
    expect(tooShort).toMatch(/previous\.secret/);
    expect(messageOf({ id: 1, secret: fresh, previous: "old" })).toMatch(/previous/);
    for (const message of [sameId, tooShort]) {
      for (const material of [old, fresh, short]) expect(message).not.toContain(material);
    }
  });

  it("is cached for five minutes, so a rotation is picked up, and a stale ring outlives an outage", async () => {
    let at = 0;
    const cache = new SecretsManagerReplyKeys(secrets, SECRET_ARN, { now: () => at });
    expect((await cache.current()).current.id).toBe(3);
    expect(secretsMock.commandCalls(GetSecretValueCommand)).toHaveLength(1);

    secretsMock
      .on(GetSecretValueCommand)
      .resolves({ SecretString: JSON.stringify({ current: { id: 4, secret: b64 } }) });
    at = 4 * 60_000;
    expect((await cache.current()).current.id).toBe(3);
    at = 5 * 60_000 + 1;
    expect((await cache.current()).current.id).toBe(4);

    secretsMock
      .on(GetSecretValueCommand)
      .rejects(Object.assign(new Error("down"), { name: "InternalServiceError" }));
    at += 6 * 60_000;
    expect((await cache.current()).current.id).toBe(4);
    at += 2 * 60 * 60_000;
    await expect(cache.current()).rejects.toThrow("down");
  });
});

describe("SES details", () => {
  it("tag values SES would refuse are hex-encoded, and decode back", () => {
    expect(encodeTagValue("northby")).toBe("northby");
    expect(encodeTagValue("north.by")).toBe("_6e6f7274682e6279");
    expect(decodeTagValue(encodeTagValue("north.by"))).toBe("north.by");
    expect(decodeTagValue("stage_opened")).toBe("stage_opened");
  });

  it("only refusals that retrying cannot change are permanent", () => {
    const error = (name: string, message = "x") => Object.assign(new Error(message), { name });
    expect(permanentRejectionCode(error("MessageRejected"))).toBe("MessageRejected");
    expect(permanentRejectionCode(error("BadRequestException", "Illegal address"))).toBe("InvalidAddress");
    expect(permanentRejectionCode(error("BadRequestException", "Missing required content"))).toBeUndefined();
    for (const name of [
      "Throttling",
      "ServiceUnavailable",
      "AccountSendingPausedException",
      "TimeoutError",
    ]) {
      expect(permanentRejectionCode(error(name))).toBeUndefined();
    }
  });
});
