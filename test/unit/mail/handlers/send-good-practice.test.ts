import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";

vi.hoisted(() => {
  process.env.POWERTOOLS_METRICS_DISABLED = "true";
  process.env.POWERTOOLS_LOG_LEVEL = "SILENT";
});

import { DynamoDBClient, QueryCommand } from "@aws-sdk/client-dynamodb";
import { SESv2Client, SendEmailCommand } from "@aws-sdk/client-sesv2";
import { GetCommand, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { DynamoDBRecord, DynamoDBStreamEvent } from "aws-lambda";
import { mockClient } from "aws-sdk-client-mock";
import type { GoodPracticeNotification } from "../../../../functions/domain/good-practice.js";
import { DynamoOutboundLedger, goodPracticeMailKey } from "../../../../functions/mail/deliveries.js";
import { presetProtocol } from "../../../../functions/mail/mail-context.js";
import { Mailer } from "../../../../functions/mail/mailer.js";
import {
  type GoodPracticeDependencies,
  createHandler,
  firstLineManagerOf,
} from "../../../../functions/mail/send-good-practice.js";
import {
  DynamoGoodPracticeStore,
  goodPracticePartition,
} from "../../../../functions/store/good-practice-store.js";
import { TenantStore } from "../../../../functions/store/tenant-store.js";
import { createTestTable, dynamoDbEndpoint, localDocumentClient } from "../../../support/dynamodb-local.js";
import {
  CASE_RECORD_BASE_URL,
  CONFIGURATION_SET,
  JO,
  MAIL_FROM,
  MORGAN,
  NORTHBY_STAFF,
  NOW,
  RecordingObserver,
  SAM,
  TEAM_ID,
  TENANT,
  TestClock,
  sentEmails,
} from "./harness.js";

const AUTHORITY = "Northby Council Children's Services";
const CHILD_NAME = "Rowan Invented";

const ses = new SESv2Client({ region: "eu-west-2" });
const sesMock = mockClient(ses);

let client: DynamoDBDocumentClient;
let raw: DynamoDBClient;
let tableName: string;
let drop: () => Promise<void>;
let observer: RecordingObserver;
const clock = new TestClock();

beforeAll(async () => {
  client = localDocumentClient();
  raw = new DynamoDBClient({
    endpoint: dynamoDbEndpoint(),
    region: "eu-west-2",
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
  });
  ({ tableName, drop } = await createTestTable(client));
  const tenants = new TenantStore(client, tableName);
  await tenants.putConfig(TENANT, { protocolId: "halton", closureDays: [], reminders: {} });
  for (const member of NORTHBY_STAFF) await tenants.upsertStaff(TENANT, member);
});

afterAll(async () => {
  await drop();
  raw.destroy();
  client.destroy();
});

let sesIds = 0;
beforeEach(() => {
  sesMock.reset();
  sesMock.on(SendEmailCommand).callsFake(() => ({ MessageId: `ses-${String(++sesIds)}` }));
  observer = new RecordingObserver();
  clock.set(NOW);
});

function deps(): GoodPracticeDependencies {
  return {
    tenants: new TenantStore(client, tableName),
    protocols: presetProtocol,
    mailer: new Mailer(
      ses,
      new DynamoOutboundLedger(client, tableName),
      { from: { address: MAIL_FROM }, configurationSet: CONFIGURATION_SET },
      clock.now,
    ),
    caseRecordBaseUrl: CASE_RECORD_BASE_URL,
    defaultAuthorityName: AUTHORITY,
    observer,
  };
}
const handler = createHandler(deps);

let ids = 0;
function notification(overrides: Partial<GoodPracticeNotification> = {}): GoodPracticeNotification {
  const id = `01JGP${String(++ids).padStart(21, "0")}`;
  return {
    id,
    protocolId: "halton",
    recordedAt: new Date(NOW.getTime() + ids).toISOString(),
    recordedBy: { id: MORGAN.personId, role: "IRO" },
    channel: "api",
    recordedAs: "case_note",
    child: { caseRecordId: "LCS-449120", caseRecordSystem: "LCS" },
    track: "LAC",
    practitioner: { name: "Alex Madeup", team: { id: TEAM_ID, name: "Children in Care Team" } },
    firstLineManager: { name: "Jo Barnard" },
    about: "piece_of_work",
    whatWasGood: `Alex's life-story work with ${CHILD_NAME} was thoughtful and child-centred.`,
    ...overrides,
  };
}

/** Stores the notification as the API does and returns its stream INSERT record (NEW_IMAGE). */
async function stored(n: GoodPracticeNotification, sequenceNumber: string): Promise<DynamoDBRecord> {
  await new DynamoGoodPracticeStore(client, tableName).put(TENANT, n);
  const { Items = [] } = await raw.send(
    new QueryCommand({
      TableName: tableName,
      KeyConditionExpression: "pk = :pk AND sk = :sk",
      ExpressionAttributeValues: {
        ":pk": { S: goodPracticePartition(TENANT) },
        ":sk": { S: `${n.recordedAt}#${n.id}` },
      },
    }),
  );
  const image = Items[0] as NonNullable<NonNullable<DynamoDBRecord["dynamodb"]>["NewImage"]> | undefined;
  if (image === undefined) throw new Error("the notification was not stored");
  return {
    eventName: "INSERT",
    eventSource: "aws:dynamodb",
    dynamodb: { NewImage: image, SequenceNumber: sequenceNumber, StreamViewType: "NEW_IMAGE" },
  };
}
const batch = (...records: DynamoDBRecord[]): DynamoDBStreamEvent => ({ Records: records });
const sends = () => sesMock.commandCalls(SendEmailCommand);

describe("the good practice sender", () => {
  it("sends one email to the practitioner's first line manager, with no child's name in the subject", async () => {
    const n = notification();
    await expect(handler(batch(await stored(n, "100")))).resolves.toEqual({ batchItemFailures: [] });

    const [email, ...others] = await sentEmails(sends());
    expect(others).toEqual([]);
    expect(email?.destinations).toEqual([JO.email]);
    expect(email?.input.ConfigurationSetName).toBe(CONFIGURATION_SET);
    const subject = email?.parsed.subject ?? "";
    expect(subject).toContain(`GP-${n.id}`);
    expect(subject).not.toContain("Rowan");
    expect(subject).not.toContain("Alex");
    expect(email?.parsed.text).toContain("Dear Jo Barnard");
    expect(email?.parsed.text).toContain("life-story work");
    expect(email?.parsed.text).toContain(AUTHORITY);
    expect(email?.parsed.replyTo).toBeUndefined();
    expect(email?.tags).toMatchObject({ "crs-tenant": TENANT, "crs-kind": "good_practice" });

    const { Item } = await client.send(
      new GetCommand({ TableName: tableName, Key: goodPracticeMailKey(TENANT, n.id) }),
    );
    expect(Item).toMatchObject({
      entity: "mail-out",
      status: "sent",
      kind: "good_practice",
      goodPracticeId: n.id,
      recipientRole: "first_line_manager",
      recipientPersonId: JO.personId,
    });
    expect(observer.counted("GoodPracticeSent")).toBe(1);
    // No personal data in what it logs: ids and codes only.
    const logged = JSON.stringify([...observer.infos, ...observer.warnings]);
    for (const personal of [CHILD_NAME, "Rowan", "Alex", JO.email, JO.displayName, "life-story"]) {
      expect(logged).not.toContain(personal);
    }
  });

  it("sends nothing twice when the record is redelivered", async () => {
    const record = await stored(notification(), "200");
    await handler(batch(record));
    await expect(handler(batch(record))).resolves.toEqual({ batchItemFailures: [] });
    expect(sends()).toHaveLength(1);
  });

  it("fails the record on a throttle, then sends it once when it is retried", async () => {
    const record = await stored(notification(), "300");
    sesMock
      .on(SendEmailCommand)
      .rejectsOnce(Object.assign(new Error("Maximum sending rate exceeded."), { name: "Throttling" }))
      .callsFake(() => ({ MessageId: `ses-${String(++sesIds)}` }));

    await expect(handler(batch(record))).resolves.toEqual({ batchItemFailures: [{ itemIdentifier: "300" }] });
    expect(observer.counted("GoodPracticeRetry")).toBe(1);
    await expect(handler(batch(record))).resolves.toEqual({ batchItemFailures: [] });
    await expect(handler(batch(record))).resolves.toEqual({ batchItemFailures: [] });
    expect(sends()).toHaveLength(2); // the throttled attempt, then the one that went
    expect(observer.counted("GoodPracticeSent")).toBe(1);
  });

  it("logs and counts a permanent refusal, and does not retry it", async () => {
    const record = await stored(notification(), "400");
    sesMock
      .on(SendEmailCommand)
      .rejects(Object.assign(new Error("Email address is not verified."), { name: "MessageRejected" }));
    await expect(handler(batch(record))).resolves.toEqual({ batchItemFailures: [] });
    await expect(handler(batch(record))).resolves.toEqual({ batchItemFailures: [] });
    expect(sends()).toHaveLength(1);
    expect(observer.counted("GoodPracticeUndeliverable")).toBe(2);
  });

  it("uses the address a partner agency's notification carries", async () => {
    const n = notification({
      partnerAgency: { id: "agency-health", name: "Northby Community Health" },
      recordedAs: "partner_email",
      firstLineManager: { name: "Pat Partner", email: "pat.partner@health.example" },
    });
    await handler(batch(await stored(n, "500")));
    const [email] = await sentEmails(sends());
    expect(email?.destinations).toEqual(["pat.partner@health.example"]);
  });

  it("counts a notification with no address and does not fail the record", async () => {
    const n = notification({
      practitioner: { name: "Alex Madeup", team: { id: "team-unknown", name: "Somewhere" } },
      firstLineManager: { name: "Nobody Known" },
    });
    await expect(handler(batch(await stored(n, "600")))).resolves.toEqual({ batchItemFailures: [] });
    expect(sends()).toHaveLength(0);
    expect(observer.counted("GoodPracticeUnaddressed")).toBe(1);
    expect(JSON.stringify(observer.warnings)).not.toContain("Nobody Known");
  });

  it("skips records that are not new good practice notifications", async () => {
    const record: DynamoDBRecord = {
      eventName: "INSERT",
      dynamodb: { NewImage: { entity: { S: "event" } }, SequenceNumber: "700" },
    };
    await expect(handler(batch(record))).resolves.toEqual({ batchItemFailures: [] });
    expect(sends()).toHaveLength(0);
  });
});

describe("firstLineManagerOf", () => {
  const base = notification();
  it("prefers the team's manager in the directory, then a unique name, then the carried address", () => {
    expect(firstLineManagerOf(base, NORTHBY_STAFF)).toMatchObject({ found: true, source: "directory_team" });
    const elsewhere = { ...base, practitioner: { name: "A", team: { name: "No id" } } };
    expect(
      firstLineManagerOf({ ...elsewhere, firstLineManager: { name: SAM.displayName } }, NORTHBY_STAFF),
    ).toMatchObject({
      found: true,
      source: "directory_name",
      to: { email: SAM.email },
    });
    expect(
      firstLineManagerOf(
        { ...elsewhere, firstLineManager: { name: "X", email: "x@northby.example" } },
        NORTHBY_STAFF,
      ),
    ).toMatchObject({ found: true, source: "record", to: { email: "x@northby.example" } });
    expect(firstLineManagerOf(base, [{ ...JO, active: false }])).toEqual({
      found: false,
      reason: "no_address",
    });
  });
});
