import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";

vi.hoisted(() => {
  process.env.POWERTOOLS_METRICS_DISABLED = "true";
  process.env.POWERTOOLS_LOG_LEVEL = "SILENT";
});

import { readFileSync } from "node:fs";
import { GetObjectCommand, type GetObjectCommandOutput, S3Client } from "@aws-sdk/client-s3";
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SESv2Client, SendEmailCommand } from "@aws-sdk/client-sesv2";
import { SQSClient, SendMessageCommand } from "@aws-sdk/client-sqs";
import { GetCommand, QueryCommand, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { SESEvent, SQSEvent } from "aws-lambda";
import { mockClient } from "aws-sdk-client-mock";
import { simpleParser } from "mailparser";
import MailComposer from "nodemailer/lib/mail-composer";
import { type CommandResult, executeCommand } from "../../../../functions/app/execute-command.js";
import type { Command } from "../../../../functions/domain/challenge/index.js";
import {
  type ApplyDependencies,
  type ReplyOutcome,
  DedupeClaims,
  applyQueueEvent,
  applyReply,
  createHandler as createApplyHandler,
} from "../../../../functions/mail/apply-reply.js";
import {
  DynamoInboundRecordLog,
  UNATTRIBUTED_PARTITION,
} from "../../../../functions/mail/inbound-records.js";
import { parseVerifiedReply } from "../../../../functions/mail/inbound-reply.js";
import {
  type InboundDependencies,
  type InboundOutcome,
  createHandler,
  queueHandOff,
  receiveEvent,
  verdictsOf,
} from "../../../../functions/mail/receive-email.js";
import { replyAddressFor } from "../../../../functions/mail/reply-token.js";
import { DynamoOutboundLedger } from "../../../../functions/mail/deliveries.js";
import { Mailer } from "../../../../functions/mail/mailer.js";
import { SecretsManagerReplyKeys } from "../../../../functions/mail/reply-keys.js";
import { DedupeStore } from "../../../../functions/store/dedupe-store.js";
import { DynamoChallengeStore } from "../../../../functions/store/dynamo-challenge-store.js";
import { keys } from "../../../../functions/store/table.js";
import { TenantStore } from "../../../../functions/store/tenant-store.js";
import { createTestTable, localDocumentClient } from "../../../support/dynamodb-local.js";
import {
  CHALLENGE_ID,
  CONFIGURATION_SET,
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
} from "./harness.js";

const BUCKET = "crs-inbound-mail";
const PREFIX = "inbound/";
const FIXTURES = new URL("../../../fixtures/mail/", import.meta.url);
const fixture = (name: string): Buffer => readFileSync(new URL(name, FIXTURES));

const s3 = new S3Client({ region: "eu-west-2" });
const s3Mock = mockClient(s3);
const ses = new SESv2Client({ region: "eu-west-2" });
const sesMock = mockClient(ses);
const sqs = new SQSClient({ region: "eu-west-2" });
const sqsMock = mockClient(sqs);
const QUEUE_URL = "https://sqs.eu-west-2.amazonaws.com/000000000000/crs-inbound-replies";
/** The bodies the receiving function put on the inbound replies queue, oldest first. */
const queued: string[] = [];
const secrets = new SecretsManagerClient({ region: "eu-west-2" });
mockClient(secrets).on(GetSecretValueCommand).resolves({ SecretString: KEY_SECRET });

/** The raw messages the receipt rule's S3 action "stored", by object key. */
const bucket = new Map<string, Buffer>();

let client: DynamoDBDocumentClient;
let tableName: string;
let drop: () => Promise<void>;
let store: DynamoChallengeStore;
let tenants: TenantStore;
const clock = new TestClock();
let workflow: RecordingWorkflow;
let observer: RecordingObserver;

beforeAll(async () => {
  client = localDocumentClient();
  ({ tableName, drop } = await createTestTable(client));
  store = new DynamoChallengeStore(client, tableName);
  tenants = new TenantStore(client, tableName);
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
  s3Mock.reset();
  s3Mock.on(GetObjectCommand).callsFake((input: { Key?: string }) => {
    const raw = bucket.get(input.Key ?? "");
    if (raw === undefined)
      throw Object.assign(new Error("The specified key does not exist."), { name: "NoSuchKey" });
    // The SDK's streaming body, reduced to the one method the handler calls.
    const body = { transformToByteArray: () => Promise.resolve(new Uint8Array(raw)) };
    return { Body: body as unknown as GetObjectCommandOutput["Body"] };
  });
  sesMock.reset();
  sesMock.on(SendEmailCommand).resolves({ MessageId: "ses-bounce" });
  sqsMock.reset();
  queued.length = 0;
  sqsMock.on(SendMessageCommand).callsFake((input: { QueueUrl?: string; MessageBody?: string }) => {
    if (input.QueueUrl !== QUEUE_URL) throw new Error(`sent to ${String(input.QueueUrl)}`);
    queued.push(input.MessageBody ?? "");
    return { MessageId: `sqs-${String(queued.length)}` };
  });
  workflow = new RecordingWorkflow();
  observer = new RecordingObserver();
  clock.set(NOW);
});

/** The two functions of inbound mail, wired as on AWS: the receiver hands on through the (mocked) queue. */
interface Pipeline {
  readonly inbound: InboundDependencies;
  readonly apply: ApplyDependencies;
}

function deps(overrides: Partial<ApplyDependencies> = {}): Pipeline {
  const execution = executeDependencies({ challenges: store, tenants }, clock, workflow);
  const records = new DynamoInboundRecordLog(client, tableName);
  return {
    inbound: {
      s3,
      bucket: BUCKET,
      prefix: PREFIX,
      keys: new SecretsManagerReplyKeys(secrets, "arn:aws:secretsmanager:eu-west-2:1:secret:k"),
      tenantIds: TENANTS,
      replyDomain: REPLY_DOMAIN,
      records,
      handOn: queueHandOff(sqs, QUEUE_URL),
      clock: clock.now,
      observer,
    },
    apply: {
      challenges: store,
      people: tenants,
      claims: new DedupeClaims(new DedupeStore(client, tableName, clock.now)),
      records,
      execute: (tenantId, command) => executeCommand(execution, tenantId, command),
      mailer: new Mailer(
        ses,
        new DynamoOutboundLedger(client, tableName),
        { from: { address: MAIL_FROM }, configurationSet: CONFIGURATION_SET },
        clock.now,
      ),
      clock: clock.now,
      observer,
      ...overrides,
    },
  };
}

/**
 * An SES event through both functions: the receiver's outcome when it refused the message itself,
 * else the applier's for the verified reply it took from the queue.
 */
async function deliver(p: Pipeline, event: SESEvent): Promise<(InboundOutcome | ReplyOutcome)[]> {
  const outcomes: (InboundOutcome | ReplyOutcome)[] = [];
  for (const outcome of await receiveEvent(p.inbound, event)) {
    if (outcome.outcome !== "handed_on") {
      outcomes.push(outcome);
      continue;
    }
    const body = queued.shift();
    if (body === undefined) throw new Error("handed on, but nothing was queued");
    outcomes.push(await applyReply(p.apply, parseVerifiedReply(body)));
  }
  return outcomes;
}

type Verdicts = Partial<Record<"spf" | "dkim" | "dmarc" | "spam" | "virus", string>>;
let messages = 0;

/**
 * The event the receipt rule's Lambda action sends for a message (its S3 action has stored the raw
 * message first): envelope recipients are the message's To and Cc, the verdicts PASS unless given.
 */
async function sesEvent(raw: Buffer, verdicts: Verdicts = {}): Promise<SESEvent> {
  messages += 1;
  const messageId = `0102019a5b2c${String(messages).padStart(4, "0")}o3e9k1m2n4p6q8r0s2t4u6v8w0`;
  bucket.set(`${PREFIX}${messageId}`, raw);
  const parsed = await simpleParser(raw);
  const list = (field: typeof parsed.to) =>
    field === undefined ? [] : Array.isArray(field) ? field : [field];
  const recipients = [...list(parsed.to), ...list(parsed.cc)].flatMap((o) =>
    o.value.map((a) => a.address ?? ""),
  );
  const status = (name: keyof Verdicts) => ({ status: (verdicts[name] ?? "PASS") as "PASS" });
  const timestamp = new Date(NOW.getTime() + messages * 1000).toISOString();
  return {
    Records: [
      {
        eventSource: "aws:ses",
        eventVersion: "1.0",
        ses: {
          mail: {
            timestamp,
            source: parsed.from?.value[0]?.address ?? "",
            messageId,
            destination: recipients,
            headersTruncated: false,
            headers: [],
            commonHeaders: { returnPath: "", date: "", messageId: parsed.messageId ?? "" },
          },
          receipt: {
            timestamp,
            processingTimeMillis: 120,
            recipients,
            spamVerdict: status("spam"),
            virusVerdict: status("virus"),
            spfVerdict: status("spf"),
            dkimVerdict: status("dkim"),
            dmarcVerdict: status("dmarc"),
            dmarcPolicy: "reject",
            action: {
              type: "Lambda",
              functionArn: "arn:aws:lambda:eu-west-2:1:function:receive",
              invocationType: "Event",
            },
          },
        },
      },
    ],
  };
}

async function receive(raw: Buffer, verdicts: Verdicts = {}, d: Pipeline = deps()) {
  const event = await sesEvent(raw, verdicts);
  const [outcome] = await deliver(d, event);
  return { outcome, sesMessageId: event.Records[0]?.ses.mail.messageId ?? "" };
}

async function version(challengeId = CHALLENGE_ID): Promise<number> {
  return (await store.get(TENANT, challengeId))?.state.version ?? 0;
}

async function inboundRecords(pk: string): Promise<Record<string, unknown>[]> {
  const { Items = [] } = await client.send(
    new QueryCommand({
      TableName: tableName,
      KeyConditionExpression: "pk = :pk",
      ExpressionAttributeValues: { ":pk": pk },
    }),
  );
  return Items.filter((i) => i.entity === "inbound-refusal" || i.entity === "inbound-acceptance");
}

async function recordOf(pk: string, sesMessageId: string): Promise<Record<string, unknown> | undefined> {
  return (await inboundRecords(pk)).find((r) => r.sesMessageId === sesMessageId);
}

async function messageClaimed(messageId: string, tenantId = TENANT): Promise<boolean> {
  const { Item } = await client.send(
    new GetCommand({ TableName: tableName, Key: keys.dedupe(tenantId, "inbound-message", messageId) }),
  );
  return Item !== undefined;
}

const CHALLENGE_PK = keys.challengePartition(TENANT, CHALLENGE_ID);
const bounces = () => sentEmails(sesMock.commandCalls(SendEmailCommand));

// The tests share the fixtures' challenge and run in order: refusals first (nothing changes), then
// the replies that act on it, then what may no longer act.

describe("refused: nothing changes on the challenge", () => {
  it("a spoofed From (SPF, DKIM and DMARC fail): refused, recorded, no bounce, Message-ID not used up", async () => {
    const { outcome, sesMessageId } = await receive(fixture("spoofed-from.eml"), {
      spf: "FAIL",
      dkim: "GRAY",
      dmarc: "FAIL",
    });
    expect(outcome).toEqual({ outcome: "refused", reason: "not_authenticated", bounced: false });
    expect(await version()).toBe(4);
    // The token names the challenge, so the refusal is recorded on it: sender domain only.
    expect(await recordOf(CHALLENGE_PK, sesMessageId)).toEqual({
      pk: CHALLENGE_PK,
      sk: expect.stringMatching(/^MAILIN#/) as unknown,
      entity: "inbound-refusal",
      outcome: "refused",
      tenantId: TENANT,
      challengeId: CHALLENGE_ID,
      receivedAt: expect.any(String) as unknown,
      sesMessageId,
      rawSha256: expect.stringMatching(/^[0-9a-f]{64}$/) as unknown,
      reason: "not_authenticated",
      bounce: false,
      party: "assignee",
      senderDomain: "northby.example",
      attachments: [],
    });
    expect(await messageClaimed("<20261124094000.5F2A1C@mail.bulk-sender.example>")).toBe(false);
    expect(sesMock.commandCalls(SendEmailCommand)).toHaveLength(0);
  });

  it("a GRAY DMARC verdict is not enough (the CDK drop-spam default would let it through)", async () => {
    const { outcome } = await receive(fixture("outlook-desktop-reply.eml"), { dmarc: "GRAY" });
    expect(outcome).toMatchObject({ reason: "not_authenticated", bounced: false });
    expect(await version()).toBe(4);
    expect(
      await messageClaimed("<DB9PR03MB7356A1B2C3D4E5F6A7B8C9D0E1F2@DB9PR03MB7356.eurprd03.prod.outlook.com>"),
    ).toBe(false);
  });

  it("a tampered token: refused, recorded without a tenant, and the (authenticated) sender told", async () => {
    const { outcome, sesMessageId } = await receive(fixture("tampered-token.eml"));
    expect(outcome).toEqual({ outcome: "refused", reason: "token_bad_signature", bounced: true });
    expect(await version()).toBe(4);
    const record = await recordOf(UNATTRIBUTED_PARTITION, sesMessageId);
    expect(record).toMatchObject({
      entity: "inbound-refusal",
      reason: "token_bad_signature",
      senderDomain: "northby.example",
    });
    expect(record?.tenantId).toBeUndefined();
    expect(record?.expiresAt).toEqual(expect.any(Number));

    const [bounce, ...more] = await bounces();
    expect(more).toEqual([]);
    expect(bounce?.destinations).toEqual(["sam.whitlock@northby.example"]);
    expect(bounce?.parsed.headers.get("auto-submitted")).toBe("auto-replied");
    expect(bounce?.parsed.inReplyTo).toBe(
      "<DB9PR03MB73569A8B7C6D5E4F3A2B1C0D9E8F@DB9PR03MB7356.eurprd03.prod.outlook.com>",
    );
    expect(bounce?.parsed.subject).toBe("Not recorded: your email to the challenge service");
    expect(bounce?.parsed.replyTo).toBeUndefined();
    expect(bounce?.parsed.text).toContain("Your email has not been recorded against the challenge.");
    expect(bounce?.parsed.text).not.toContain("Thank you for raising this");
    expect(bounce?.tags).toEqual({ "crs-kind": "bounce" });
  });

  it("an expired token: refused and recorded on the challenge it named; the sender told", async () => {
    const { outcome, sesMessageId } = await receive(fixture("expired-token.eml"));
    expect(outcome).toEqual({ outcome: "refused", reason: "token_expired", bounced: true });
    const pk = keys.challengePartition(TENANT, "01JB7Y2W5V4T3S2R1Q0P9N8M7K");
    expect(await recordOf(pk, sesMessageId)).toMatchObject({
      reason: "token_expired",
      challengeId: "01JB7Y2W5V4T3S2R1Q0P9N8M7K",
    });
    const [bounce] = await bounces();
    expect(bounce?.parsed.subject).toBe(
      "Not recorded: your email about challenge CR-01JB7Y2W5V4T3S2R1Q0P9N8M7K",
    );
    expect(bounce?.parsed.text).toContain("too old");
  });

  it("a reply to Stage 1's email after the challenge moved to Stage 2: refused as stale", async () => {
    const { outcome, sesMessageId } = await receive(fixture("stage-escalated-reply.eml"));
    expect(outcome).toEqual({ outcome: "refused", reason: "stage_closed", bounced: true });
    expect(await version()).toBe(4);
    expect(await recordOf(CHALLENGE_PK, sesMessageId)).toMatchObject({ reason: "stage_closed" });
    const [bounce] = await bounces();
    expect(bounce?.destinations).toEqual(["jo.barnard@northby.example"]);
    expect(bounce?.parsed.text).toContain("moved on");
  });

  it("an out-of-office: refused quietly (never answered)", async () => {
    const { outcome } = await receive(fixture("out-of-office.eml"));
    expect(outcome).toEqual({ outcome: "refused", reason: "auto_reply", bounced: false });
    expect(sesMock.commandCalls(SendEmailCommand)).toHaveLength(0);
  });

  it("a colleague forwarding it: refused, and told to ask the person it was sent to", async () => {
    const { outcome } = await receive(fixture("forwarded-by-colleague.eml"));
    expect(outcome).toEqual({ outcome: "refused", reason: "forwarded", bounced: true });
    expect((await bounces())[0]?.destinations).toEqual(["chris.dunmore@northby.example"]);
    expect(await version()).toBe(4);
  });
});

describe("replies that act", () => {
  it("Ack from Outlook mobile acknowledges the stage (by email, as Sam); the token is not used up", async () => {
    const { outcome } = await receive(fixture("outlook-mobile-reply.eml"));
    expect(outcome).toEqual({ outcome: "accepted", action: "acknowledge", seqs: [5] });
    const events = await store.events(TENANT, CHALLENGE_ID);
    expect(events.at(-1)?.event).toMatchObject({
      type: "StageAcknowledged",
      channel: "email",
      actor: { id: SAM.personId, role: "manager" },
      data: { stageId: "stage_2" },
    });
    // Acknowledging does not end the stage's wait.
    expect(workflow.notified).toEqual([]);
  });

  it("the Outlook desktop reply records Sam's response on the challenge and wakes the workflow", async () => {
    const { outcome, sesMessageId } = await receive(fixture("outlook-desktop-reply.eml"));
    expect(outcome).toEqual({ outcome: "accepted", action: "respond", seqs: [6] });
    const last = (await store.events(TENANT, CHALLENGE_ID)).at(-1)?.event;
    expect(last).toMatchObject({
      type: "ResponseRecorded",
      seq: 6,
      channel: "email",
      actor: { id: SAM.personId, role: "manager" },
      data: { stageId: "stage_2" },
    });
    expect(last?.type === "ResponseRecorded" ? last.data.response : "").toMatch(
      /^Thank you for raising this\. I have spoken to the team manager[\s\S]*Northby Council$/,
    );
    expect(workflow.notified).toEqual([
      {
        tenantId: TENANT,
        challengeId: CHALLENGE_ID,
        outcome: { action: "responded", status: "open", stageId: "stage_2", version: 6 },
      },
    ]);
    expect(await recordOf(CHALLENGE_PK, sesMessageId)).toMatchObject({
      entity: "inbound-acceptance",
      action: "respond",
      party: "assignee",
      seqs: [6],
      senderDomain: "northby.example",
    });
    expect(
      await messageClaimed("<DB9PR03MB7356A1B2C3D4E5F6A7B8C9D0E1F2@DB9PR03MB7356.eurprd03.prod.outlook.com>"),
    ).toBe(true);
    expect(sesMock.commandCalls(SendEmailCommand)).toHaveLength(0);
  });

  it("the same message delivered again changes nothing and is not answered", async () => {
    const { outcome, sesMessageId } = await receive(fixture("duplicate-delivery.eml"));
    expect(outcome).toEqual({ outcome: "refused", reason: "duplicate", bounced: false });
    expect(await version()).toBe(6);
    expect(await recordOf(CHALLENGE_PK, sesMessageId)).toMatchObject({ reason: "duplicate", bounce: false });
    expect(workflow.notified).toEqual([]);
  });

  it("a second, different reply through the same token is refused: a token acts once", async () => {
    const { outcome } = await receive(fixture("base64-reply.eml"));
    expect(outcome).toEqual({ outcome: "refused", reason: "token_spent", bounced: true });
    expect(await version()).toBe(6);
    expect((await bounces())[0]?.parsed.text).toContain("already been recorded");
  });

  it("the raiser's RESOLVED from Gmail marks the challenge resolved", async () => {
    const { outcome } = await receive(fixture("gmail-reply.eml"));
    expect(outcome).toEqual({ outcome: "accepted", action: "resolved", seqs: [7] });
    const state = (await store.get(TENANT, CHALLENGE_ID))?.state;
    expect(state?.status).toBe("resolved");
    expect((await store.events(TENANT, CHALLENGE_ID)).at(-1)?.event).toMatchObject({
      type: "Resolved",
      channel: "email",
      actor: { id: MORGAN.personId, role: "IRO" },
    });
    expect(workflow.notified.map((n) => n.outcome.action)).toEqual(["resolved"]);
  });

  it("after that, the raiser's ESCALATE is refused: the challenge is resolved", async () => {
    const { outcome } = await receive(fixture("apple-mail-iphone-reply.eml"));
    expect(outcome).toEqual({ outcome: "refused", reason: "challenge_not_open", bounced: true });
    expect(await version()).toBe(7);
  });
});

describe("fresh tokens, for challenges stored here", () => {
  const EXPIRES = new Date("2027-01-31T17:00:00Z");
  const tokenFor = (challengeId: string) =>
    replyAddressFor(
      {
        tenantId: TENANT,
        challengeId,
        stageId: "stage_2",
        stageOpenedAt: STAGE_2_OPENED_AT.toISOString(),
        party: "assignee",
        recipientEmail: SAM.email,
        expiresAt: EXPIRES,
      },
      KEYS,
      REPLY_DOMAIN,
    );
  const seed = (challengeId: string) =>
    seedNorthbyChallenge(
      (tenantId, command) =>
        executeCommand(
          executeDependencies({ challenges: store, tenants }, clock, new RecordingWorkflow()),
          tenantId,
          command,
        ),
      clock,
      challengeId,
    );
  const reply = (to: string, messageId: string, extra: ConstructorParameters<typeof MailComposer>[0] = {}) =>
    new MailComposer({
      from: "Sam Whitlock <sam.whitlock@northby.example>",
      to,
      subject: "RE: Challenge needs your response",
      messageId,
      text: "The request goes to panel on 2 December.\n\nSam",
      ...extra,
    })
      .compile()
      .build();

  it("a transient failure gives the claims back, and the queue's next delivery acts once", async () => {
    const challengeId = "01JD3K8Q6T9X2M4N5P7R8S9V2C";
    await seed(challengeId);
    const raw = await reply(tokenFor(challengeId), "<retry-1@northby.example>");
    const event = await sesEvent(raw);
    let calls = 0;
    const flaky = deps({
      execute: (tenantId: string, command: Command): Promise<CommandResult> => {
        calls += 1;
        if (calls === 1) {
          return Promise.reject(
            Object.assign(new Error("Throughput exceeds the limit"), {
              name: "ProvisionedThroughputExceededException",
            }),
          );
        }
        return deps().apply.execute(tenantId, command);
      },
    });
    expect(await receiveEvent(flaky.inbound, event)).toEqual([{ outcome: "handed_on", kind: "reply" }]);
    const [body] = queued.splice(0);
    if (body === undefined) throw new Error("nothing queued");
    const sqsEvent = (messageId: string): SQSEvent =>
      ({ Records: [{ messageId, body }] }) as unknown as SQSEvent;
    // The applier reports the message failed: the queue delivers it again (then dead-letters it).
    expect(await applyQueueEvent(flaky.apply, sqsEvent("m-1"))).toEqual({
      batchItemFailures: [{ itemIdentifier: "m-1" }],
    });
    expect(await messageClaimed("<retry-1@northby.example>")).toBe(false);
    expect(await version(challengeId)).toBe(4);

    expect(await applyQueueEvent(flaky.apply, sqsEvent("m-1"))).toEqual({ batchItemFailures: [] });
    expect(await version(challengeId)).toBe(5);
    expect(await messageClaimed("<retry-1@northby.example>")).toBe(true);
    // SES delivering the message again (or the queue the reply again) is now a duplicate.
    const [again] = await deliver(flaky, event);
    expect(again).toMatchObject({ outcome: "refused", reason: "duplicate" });
    expect(await version(challengeId)).toBe(5);
  });

  it("a reply beyond the hand-over's bounds (a 1,500-character Message-ID) is refused as unreadable, never queued", async () => {
    const challengeId = "01JD3K8Q6T9X2M4N5P7R8S9V5F";
    await seed(challengeId);
    const { outcome, sesMessageId } = await receive(
      await reply(tokenFor(challengeId), `<${"x".repeat(1500)}@northby.example>`),
    );
    expect(outcome).toEqual({ outcome: "refused", reason: "unreadable", bounced: false });
    expect(sqsMock.commandCalls(SendMessageCommand)).toHaveLength(0);
    // Parsed (the raw message's hash is on the record), then refused: not a parse failure.
    expect(await recordOf(keys.challengePartition(TENANT, challengeId), sesMessageId)).toMatchObject({
      reason: "unreadable",
      bounce: false,
      rawSha256: expect.stringMatching(/^[0-9a-f]{64}$/) as unknown,
    });
    expect(await version(challengeId)).toBe(4);
  });

  it("attachments are kept as evidence references (name, type, size, SHA-256), never their content", async () => {
    const challengeId = "01JD3K8Q6T9X2M4N5P7R8S9V3D";
    await seed(challengeId);
    const original = fixture("reply-with-attachment.eml").toString("utf8");
    const fixtureToken =
      "reply+envsaieqagjuonc43jhukqsuwy7bdfhmdsfiz4en.34dce2axouh5u5iu@reply.challenges.example";
    const raw = Buffer.from(original.replaceAll(fixtureToken, tokenFor(challengeId)), "utf8");
    const { outcome, sesMessageId } = await receive(raw);
    expect(outcome).toMatchObject({ outcome: "accepted", action: "respond" });
    const record = await recordOf(keys.challengePartition(TENANT, challengeId), sesMessageId);
    const attachments = record?.attachments as Record<string, unknown>[];
    expect(attachments.length).toBeGreaterThan(0);
    for (const a of attachments) {
      expect(Object.keys(a).sort()).toEqual(["contentType", "name", "sha256", "size"]);
      expect(a.sha256).toMatch(/^[0-9a-f]{64}$/);
    }
  });

  it("a second acknowledgement by the same recipient records nothing new and bounces nothing", async () => {
    const challengeId = "01JD3K8Q6T9X2M4N5P7R8S9V4E";
    await seed(challengeId);
    const ack = (id: string) => reply(tokenFor(challengeId), id, { text: "ACK\n\nSam" });
    expect((await receive(await ack("<ack-1@northby.example>"))).outcome).toMatchObject({
      outcome: "accepted",
    });
    const before = (await store.events(TENANT, challengeId)).length;
    const { outcome } = await receive(await ack("<ack-2@northby.example>"));
    expect(outcome).toMatchObject({ outcome: "accepted", seqs: [] });
    expect(await store.events(TENANT, challengeId)).toHaveLength(before);
    expect(await bounces()).toHaveLength(0);
    // The acknowledgement did not use the token: a response still counts.
    const { outcome: responded } = await receive(
      await reply(tokenFor(challengeId), "<resp-1@northby.example>"),
    );
    expect(responded).toMatchObject({ outcome: "accepted", action: "respond" });
  });
});

describe("the handler and the SES event", () => {
  it("reads the verdicts fail-closed: DISABLED and missing verdicts are not PASS", () => {
    const pass = { status: "PASS" };
    expect(
      verdictsOf({
        spfVerdict: pass,
        dkimVerdict: { status: "DISABLED" },
        spamVerdict: pass,
        virusVerdict: pass,
      }),
    ).toEqual({ spf: "PASS", dkim: "PROCESSING_FAILED", spam: "PASS", virus: "PASS" });
  });

  it("the receiving handler takes the receipt rule's event as it comes, and hands only verified replies on", async () => {
    const handler = createHandler(() => deps().inbound);
    await expect(handler(await sesEvent(fixture("outlook-desktop-reply.eml")))).resolves.toBeUndefined();
    await expect(
      handler(await sesEvent(fixture("spoofed-from.eml"), { dmarc: "FAIL" })),
    ).resolves.toBeUndefined();
    await expect(handler({ Records: [] })).rejects.toThrow();
    // The reply, small and without its body; the spoofed message not at all.
    expect(queued).toHaveLength(1);
    const handed = parseVerifiedReply(queued[0] ?? "");
    expect(handed).toMatchObject({ kind: "reply", reply: { from: "sam.whitlock@northby.example" } });
    expect(queued[0]).not.toContain("Content-Type");
  });

  it("a failure to queue fails the invocation, so SES retries it (the raw message stays in S3)", async () => {
    sqsMock
      .on(SendMessageCommand)
      .rejects(Object.assign(new Error("unavailable"), { name: "ServiceUnavailable" }));
    await expect(
      receiveEvent(deps().inbound, await sesEvent(fixture("outlook-desktop-reply.eml"))),
    ).rejects.toThrow("unavailable");
  });

  it("the applying handler reports a body that is not a verified reply as failed, never drops it", async () => {
    const handler = createApplyHandler(() => deps().apply);
    const event = {
      Records: [
        { messageId: "bad-json", body: "{" },
        { messageId: "bad-shape", body: JSON.stringify({ kind: "reply", sesMessageId: "x" }) },
      ],
    } as unknown as SQSEvent;
    await expect(handler(event)).resolves.toEqual({
      batchItemFailures: [{ itemIdentifier: "bad-json" }, { itemIdentifier: "bad-shape" }],
    });
    expect(observer.counts.get("InboundReplyMalformed")).toBe(2);
  });
});
