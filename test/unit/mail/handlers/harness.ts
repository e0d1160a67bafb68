import { createHash } from "node:crypto";
import { DynamoDBClient, QueryCommand } from "@aws-sdk/client-dynamodb";
import type { SESv2Client, SendEmailCommandInput } from "@aws-sdk/client-sesv2";
import type { DynamoDBRecord } from "aws-lambda";
import { simpleParser, type ParsedMail } from "mailparser";
import type {
  ExecuteDependencies,
  WorkflowOutcome,
  WorkflowSignal,
} from "../../../../functions/app/execute-command.js";
import { createEnglandCalendar } from "../../../../functions/domain/calendar.js";
import {
  type ChallengeEvent,
  type ChallengeForm,
  type ChallengeState,
  type Command,
  decide,
  evolve,
  initialState,
} from "../../../../functions/domain/challenge/index.js";
import type { Protocol } from "../../../../functions/domain/protocol.js";
import { presetProtocol } from "../../../../functions/mail/mail-context.js";
import type { MailObserver } from "../../../../functions/mail/outbound.js";
import type { ReplyKeyRing } from "../../../../functions/mail/reply-token.js";
import { keys } from "../../../../functions/store/table.js";
import { bareAddresses, simpleMessage } from "../../../support/ses-simple.js";
import { type StaffMember, createDirectoryLookup } from "../../../../functions/store/tenant-store.js";

/**
 * Shared test data for the mail handlers: the Northby tenant the fixtures in test/fixtures/mail were
 * written for (its keys, people and challenge), a clock, recording fakes and a way to turn stored
 * event items into DynamoDB stream records. Every person here is invented.
 */

export const TENANT = "northby";
/** The tenants the fixtures' tokens are checked against (as in the core tests). */
export const TENANTS = ["southmoor", "northby", "eastwick"] as const;
export const REPLY_DOMAIN = "reply.challenges.example";
export const MAIL_FROM = "notifications@challenges.example";
export const CONFIGURATION_SET = "crs-test";
export const CASE_RECORD_BASE_URL = "https://lcs.northby.example/person/";
/** The challenge the fixtures' tokens name. */
export const CHALLENGE_ID = "01JD3K8Q6T9X2M4N5P7R8S9V0W";
export const TEAM_ID = "team-children-in-care";
/** When the fixtures' Stage 2 visit opened, and when the fixture replies are read. */
export const RAISED_AT = new Date("2026-11-16T10:00:00.000Z");
export const STAGE_2_OPENED_AT = new Date("2026-11-23T10:00:00.000Z");
export const NOW = new Date("2026-11-24T09:30:00Z");

const secret = (seed: string): Buffer => createHash("sha256").update(seed).digest();

/** The keys the fixtures' tokens were signed with (see test/unit/mail/reply-token.test.ts). */
export const KEYS: ReplyKeyRing = {
  current: { id: 3, secret: new Uint8Array(secret("northby test reply key 3")) },
  previous: { id: 2, secret: new Uint8Array(secret("northby test reply key 2")) },
};

/** The same keys as the Secrets Manager secret holds them. */
export const KEY_SECRET = JSON.stringify({
  current: { id: 3, secret: secret("northby test reply key 3").toString("base64") },
  previous: { id: 2, secret: secret("northby test reply key 2").toString("base64") },
});

function member(
  personId: string,
  displayName: string,
  email: string,
  roles: StaffMember["roles"],
  active = true,
): StaffMember {
  return { personId, displayName, email, active, roles };
}

export const MORGAN = member("iro-morgan", "Morgan Hale", "morgan.hale@northby.example", []);
export const JO = member("tm-jo", "Jo Barnard", "jo.barnard@northby.example", [
  { role: "team_manager", scope: { kind: "team", teamId: TEAM_ID } },
]);
export const SAM = member("sm-sam", "Sam Whitlock", "Sam.Whitlock@northby.example", [
  { role: "service_manager", scope: { kind: "team", teamId: TEAM_ID } },
]);
export const OD = member("od-ola", "Ola Dimka", "ola.dimka@northby.example", [
  { role: "assistant_director", scope: { kind: "authority" } },
]);
export const DCS = member("dcs-dee", "Dee Carter", "dee.carter@northby.example", [
  { role: "director_childrens_services", scope: { kind: "authority" } },
]);
export const NORTHBY_STAFF: readonly StaffMember[] = [MORGAN, JO, SAM, OD, DCS];

export const IRO_MORGAN = { id: MORGAN.personId, role: "IRO" } as const;

/** A looked-after child's challenge on Halton's protocol (the Northby tenant runs it). */
export function lacForm(overrides: Partial<ChallengeForm> = {}): ChallengeForm {
  return {
    child: {
      name: "Rowan Invented",
      dateOfBirth: "2013-05-04",
      caseRecordId: "LCS-449120",
      caseRecordSystem: "LCS",
    },
    track: "LAC",
    raiserRole: "IRO",
    socialWorker: { name: "Alex Madeup" },
    team: { id: TEAM_ID, name: "Children in Care Team" },
    teamManagerName: "Jo Barnard",
    worries: "The placement request has not been made in 14 weeks.",
    actionsTaken: "Raised at the LAC review and with the team manager.",
    impactOnChild: "Rowan does not know where they will live.",
    childViews: "Rowan wants to stay near school.",
    whatNeedsToHappen: "The placement request goes to panel.",
    desiredOutcome: "A stable placement near school.",
    timescale: "Two weeks",
    themes: ["review_preparation"],
    immediateRisk: false,
    ...overrides,
  };
}

export class TestClock {
  constructor(private current: Date = NOW) {}
  readonly now = (): Date => new Date(this.current);
  set(at: Date): void {
    this.current = new Date(at);
  }
}

export class RecordingWorkflow implements WorkflowSignal {
  readonly started: string[] = [];
  readonly notified: { tenantId: string; challengeId: string; outcome: WorkflowOutcome }[] = [];
  start(_tenantId: string, challengeId: string): Promise<void> {
    this.started.push(challengeId);
    return Promise.resolve();
  }
  notify(tenantId: string, challengeId: string, outcome: WorkflowOutcome): Promise<void> {
    this.notified.push({ tenantId, challengeId, outcome });
    return Promise.resolve();
  }
}

export class RecordingObserver implements MailObserver {
  readonly counts = new Map<string, number>();
  readonly infos: { message: string; attributes: Record<string, unknown> }[] = [];
  readonly warnings: { message: string; attributes: Record<string, unknown> }[] = [];
  info(message: string, attributes: Record<string, unknown>): void {
    this.infos.push({ message, attributes });
  }
  warn(message: string, attributes: Record<string, unknown>): void {
    this.warnings.push({ message, attributes });
  }
  count(metric: string, value = 1): void {
    this.counts.set(metric, (this.counts.get(metric) ?? 0) + value);
  }
  counted(metric: string): number {
    return this.counts.get(metric) ?? 0;
  }
}

/**
 * Raises the fixtures' challenge (Morgan, IRO, on Monday 16 November at Stage 1 with Jo) and
 * escalates it to Stage 2 (Sam) at exactly the instant the fixtures' tokens bind.
 */
export async function seedNorthbyChallenge(
  execute: (tenantId: string, command: Command) => Promise<unknown>,
  clock: TestClock,
  challengeId: string = CHALLENGE_ID,
): Promise<void> {
  clock.set(RAISED_AT);
  await execute(TENANT, {
    type: "Raise",
    challengeId,
    actor: IRO_MORGAN,
    channel: "api",
    form: lacForm(),
  });
  clock.set(STAGE_2_OPENED_AT);
  await execute(TENANT, {
    type: "Escalate",
    challengeId,
    actor: IRO_MORGAN,
    channel: "api",
    reasons: "No response at Stage 1 that moves the placement request on.",
  });
  clock.set(NOW);
}

/** Execute dependencies for the seeding and the inbound handler. */
export function executeDependencies(
  base: Pick<ExecuteDependencies, "challenges" | "tenants">,
  clock: TestClock,
  workflow: WorkflowSignal,
): ExecuteDependencies {
  return { ...base, protocols: presetProtocol, workflow, clock: clock.now };
}

/** The stored event items of a challenge as DynamoDB stream INSERT records (NEW_IMAGE), in order. */
export async function streamRecordsOf(
  endpoint: string,
  tableName: string,
  tenantId: string,
  challengeId: string,
): Promise<DynamoDBRecord[]> {
  const client = new DynamoDBClient({
    endpoint,
    region: "eu-west-2",
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
  });
  try {
    const { Items = [] } = await client.send(
      new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: "pk = :pk AND begins_with(sk, :e)",
        ExpressionAttributeValues: {
          ":pk": { S: keys.challengePartition(tenantId, challengeId) },
          ":e": { S: "E#" },
        },
      }),
    );
    return Items.map((item, index) => {
      // The stream's image type and the SDK's describe the same JSON, declared in two packages
      // (the SDK's binary is bytes, the stream's base64): event items hold no binary.
      const image = item as NonNullable<NonNullable<DynamoDBRecord["dynamodb"]>["NewImage"]>;
      return {
        eventID: `event-${String(index + 1)}`,
        eventName: "INSERT",
        eventSource: "aws:dynamodb",
        awsRegion: "eu-west-2",
        dynamodb: {
          Keys: { pk: image.pk ?? { S: "" }, sk: image.sk ?? { S: "" } },
          NewImage: image,
          SequenceNumber: `${challengeId.slice(-6)}${String(index + 1).padStart(6, "0")}`,
          SizeBytes: 1000,
          StreamViewType: "NEW_IMAGE",
        },
      } satisfies DynamoDBRecord;
    });
  } finally {
    client.destroy();
  }
}

/** A SendEmail call's message as SES would build it, parsed, with the call's own parameters. */
export interface SentEmail {
  readonly input: SendEmailCommandInput;
  readonly parsed: ParsedMail;
  readonly tags: Record<string, string>;
  /** Where SES sends it: the bare addresses of To and Cc. */
  readonly destinations: string[];
}

export async function sentEmails(calls: readonly { args: readonly [unknown] }[]): Promise<SentEmail[]> {
  return Promise.all(
    calls.map(async (call) => {
      const input = (call.args[0] as { input: SendEmailCommandInput }).input;
      return {
        input,
        parsed: await simpleParser(await simpleMessage(input)),
        tags: Object.fromEntries((input.EmailTags ?? []).map((t) => [t.Name ?? "", t.Value ?? ""])),
        destinations: [
          ...bareAddresses(input.Destination?.ToAddresses),
          ...bareAddresses(input.Destination?.CcAddresses),
        ],
      };
    }),
  );
}

export type { SESv2Client };

// ---------------------------------------------------------------------------------------------
// Pure scenarios: decide and evolve with a directory, no storage

export class Scenario {
  readonly events: ChallengeEvent[] = [];
  state: ChallengeState;
  private ids = 0;

  constructor(
    readonly protocol: Protocol,
    readonly staff: readonly StaffMember[],
    readonly challengeId: string = CHALLENGE_ID,
  ) {
    this.state = initialState(challengeId);
  }

  /** Runs a command at `at`; returns the events it produced (throws when refused). */
  run(command: Command, at: Date): ChallengeEvent[] {
    const result = decide(this.state, command, {
      protocol: this.protocol,
      calendar: createEnglandCalendar(),
      directory: createDirectoryLookup(this.staff),
      now: at,
      newId: () => `action-${String(++this.ids)}`,
    });
    if (!result.ok) throw result.error;
    for (const event of result.events) {
      this.events.push(event);
      this.state = evolve(this.state, event);
    }
    return result.events;
  }
}
