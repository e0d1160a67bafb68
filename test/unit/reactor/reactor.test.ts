import { marshall } from "@aws-sdk/util-dynamodb";
import type { AttributeValue, DynamoDBRecord, DynamoDBStreamEvent } from "aws-lambda";
import { beforeAll, describe, expect, it } from "vitest";
import { caseNoteStep } from "../../../functions/case-notes/push-case-notes.js";
import { getPreset } from "../../../functions/domain/presets/index.js";
import { goodPracticeStep, notificationStep } from "../../../functions/reactor/mail-steps.js";
import {
  EVENT_STEPS,
  GOOD_PRACTICE_STEPS,
  HeldBackError,
  ROUTES,
  ReactionFailedError,
  type ReactionObserver,
  createHandler,
  react,
  route,
} from "../../../functions/reactor/reactor.js";
import { type ReactionStep, UnreportableFailureError } from "../../../functions/shared/stream-batch.js";
import { logger } from "../../../functions/shared/observability.js";
import type { EventItem } from "../../../functions/store/event-item.js";
import type { StoredEvent } from "../../../functions/store/ports.js";
import { UndecodableRecordError, decodeEventRecord } from "../../../functions/store/stream-image.js";
import { ENTITY, keys } from "../../../functions/store/table.js";
import { workflowStep } from "../../../functions/workflow/start-execution.js";
import { IRO, Story, TENANT, aForm, chain, manager } from "../audit/support.js";

/** A new item's stream record: the sequence number, the entity and the partition key (the challenge). */
function record(sequenceNumber: string | undefined, challenge = "A", entity = "event"): DynamoDBRecord {
  return {
    eventName: "INSERT",
    dynamodb: {
      ...(sequenceNumber === undefined ? {} : { SequenceNumber: sequenceNumber }),
      NewImage: { entity: { S: entity }, pk: { S: `T#${TENANT}#C#${challenge}` } },
    },
  };
}
const goodPractice = (sequenceNumber: string): DynamoDBRecord =>
  record(sequenceNumber, `gp-${sequenceNumber}`, "good_practice");
const batch = (...records: DynamoDBRecord[]): DynamoDBStreamEvent => ({ Records: records });
const sequenceOf = (r: DynamoDBRecord): string => r.dynamodb?.SequenceNumber ?? "?";

/** A step over records that fails the given sequence numbers and remembers what it was given. */
function step(name: string, fails: readonly string[] = []) {
  const seen: DynamoDBRecord[] = [];
  const made: ReactionStep<DynamoDBRecord> & { seen: DynamoDBRecord[] } = {
    name,
    seen,
    begin: () => (r) => {
      seen.push(r);
      return fails.includes(sequenceOf(r))
        ? Promise.reject(Object.assign(new Error("SES is down"), { name: "ServiceUnavailable" }))
        : Promise.resolve();
    },
  };
  return made;
}
const seen = (s: { seen: DynamoDBRecord[] }) => s.seen.map(sequenceOf);
const onRecords = (...steps: ReactionStep<DynamoDBRecord>[]) => [route(ENTITY.event, (r) => r, steps)];

function recordingObserver() {
  const steps: { step: string; errorName: string }[] = [];
  const records: { sequenceNumber: string | undefined; errorName: string }[] = [];
  const name = (error: unknown) => (error instanceof Error ? error.name : "?");
  const observer: ReactionObserver = {
    stepFailed: (s, error) => steps.push({ step: s, errorName: name(error) }),
    recordFailed: (sequenceNumber, error) => records.push({ sequenceNumber, errorName: name(error) }),
  };
  return { observer, steps, records };
}

/** A stored event's stream record, marshalled as DynamoDB sends it. */
function eventRecord(stored: StoredEvent, sequenceNumber: string): DynamoDBRecord {
  const item = {
    ...keys.event(stored.tenantId, stored.event.challengeId, stored.event.seq),
    entity: ENTITY.event,
    tenantId: stored.tenantId,
    challengeId: stored.event.challengeId,
    type: stored.event.type,
    event: stored.event,
    prevHash: stored.prevHash,
    hash: stored.hash,
  };
  return {
    eventName: "INSERT",
    dynamodb: {
      SequenceNumber: sequenceNumber,
      NewImage: marshall(item, { removeUndefinedValues: true }) as Record<string, AttributeValue>,
      StreamViewType: "NEW_IMAGE",
    },
  };
}

const story = new Story(getPreset("nottingham"), "ch-react-1");
story.do({ type: "Raise", actor: IRO, channel: "api", form: aForm() }, "2026-05-21T09:00:00Z");
story.do(
  { type: "Respond", actor: manager("team_manager", "north"), channel: "email", response: "Booked." },
  "2026-05-26T13:00:00Z",
);
const stored = chain(TENANT, story.events);
const otherStory = new Story(getPreset("nottingham"), "ch-react-2");
otherStory.do({ type: "Raise", actor: IRO, channel: "api", form: aForm() }, "2026-05-22T09:00:00Z");
const [otherStored] = chain(TENANT, otherStory.events);
if (otherStored === undefined) throw new Error("no event");

beforeAll(() => {
  logger.setLogLevel("SILENT");
});

describe("the composition", () => {
  it("event items go to the workflow, notification and case-note steps in that order; good practice to its sender", () => {
    expect(EVENT_STEPS).toEqual([workflowStep, notificationStep, caseNoteStep]);
    expect(EVENT_STEPS.map((s) => s.name)).toEqual(["workflow", "notifications", "case-notes"]);
    expect(GOOD_PRACTICE_STEPS).toEqual([goodPracticeStep]);
    expect(ROUTES.map((r) => r.entity)).toEqual(["event", "good_practice"]);
  });
});

describe("decoding", () => {
  it("decodes each record once and hands every step the same typed stored event", async () => {
    const given: EventItem[][] = [[], []];
    let decodes = 0;
    const typed = (i: number): ReactionStep<EventItem> => ({
      name: `step-${i}`,
      begin: () => (item) => {
        given[i]?.push(item);
        return Promise.resolve();
      },
    });
    const routes = [
      route(
        ENTITY.event,
        (r) => {
          decodes++;
          return decodeEventRecord(r);
        },
        [typed(0), typed(1)],
      ),
    ];
    const records = stored.map((s, i) => eventRecord(s, String(10 + i)));
    const outcome = await react(routes, batch(...records), recordingObserver().observer);
    expect(outcome.batchItemFailures).toEqual([]);
    expect(decodes).toBe(records.length);
    expect(given[0]?.map((item) => item.event)).toEqual(stored.map((s) => s.event));
    given[0]?.forEach((item, i) => {
      expect(given[1]?.[i]).toBe(item);
    });
    expect(given[0]?.[0]?.event.type === "ChallengeRaised" && given[0][0].event.data.protocolId).toBe(
      "nottingham",
    );
  });

  it("reports a record that does not decode, by name, and only that record", async () => {
    const [first, second] = stored;
    if (first === undefined || second === undefined) throw new Error("events missing");
    // A channel no event has: the item does not have the stored event shape.
    const corrupt = eventRecord({ ...second, event: { ...second.event, channel: "fax" as "api" } }, "21");
    const other = eventRecord(otherStored, "22");
    const given: string[] = [];
    const routes = [
      route(ENTITY.event, decodeEventRecord, [
        {
          name: "s",
          begin: () => (item: EventItem) => {
            given.push(`${item.challengeId}/${item.event.seq}`);
            return Promise.resolve();
          },
        },
      ]),
    ];
    const { observer, records } = recordingObserver();
    const outcome = await react(routes, batch(eventRecord(first, "20"), corrupt, other), observer);
    expect(outcome.batchItemFailures).toEqual([{ itemIdentifier: "21" }]);
    expect(records).toEqual([{ sequenceNumber: "21", errorName: "UndecodableRecordError" }]);
    expect(given).toEqual(["ch-react-1/1", "ch-react-2/1"]);
    expect(() => decodeEventRecord(corrupt)).toThrow(UndecodableRecordError);
  });
});

describe("routing", () => {
  it("gives good practice records to the good practice steps only, and event records never to them", async () => {
    const workflow = step("workflow");
    const notifications = step("notifications", ["2"]);
    const sender = step("good-practice", ["3"]);
    const routes = [
      route(ENTITY.event, (r) => r, [workflow, notifications]),
      route(ENTITY.goodPractice, (r) => r, [sender]),
    ];
    const event = batch(record("1", "A"), record("2", "B"), goodPractice("3"), record("4", "C"));
    const outcome = await react(routes, event, recordingObserver().observer);
    expect(seen(workflow)).toEqual(["1", "2", "4"]);
    expect(seen(notifications)).toEqual(["1", "2", "4"]);
    expect(seen(sender)).toEqual(["3"]);
    expect(outcome.batchItemFailures).toEqual([{ itemIdentifier: "2" }, { itemIdentifier: "3" }]);
    expect(outcome.summary.failedByStep).toEqual({ notifications: 1, "good-practice": 1 });
  });

  it("gives a record of no route's entity, or one that is not an INSERT, to no step", async () => {
    const s = step("workflow");
    const modify = { ...record("3", "C"), eventName: "MODIFY" as const };
    const outcome = await react(
      onRecords(s),
      batch(record("1", "A", "challenge"), record("2", "B"), modify),
      recordingObserver().observer,
    );
    expect(seen(s)).toEqual(["2"]);
    expect(outcome.batchItemFailures).toEqual([]);
  });
});

describe("failures", () => {
  it("a step failing a record stops neither the later steps on it nor the other records", async () => {
    const { observer, steps, records } = recordingObserver();
    const first = step("workflow", ["1"]);
    const second = step("notifications", ["1", "3"]);
    const third = step("case-notes");
    const outcome = await react(
      onRecords(first, second, third),
      batch(record("1", "A"), record("2", "B"), record("3", "C")),
      observer,
    );
    expect(seen(third)).toEqual(["1", "2", "3"]);
    expect(outcome.batchItemFailures).toEqual([{ itemIdentifier: "1" }, { itemIdentifier: "3" }]);
    expect(outcome.summary.failedByStep).toEqual({ workflow: 1, notifications: 2 });
    expect(steps).toEqual([
      { step: "workflow", errorName: "ServiceUnavailable" },
      { step: "notifications", errorName: "ServiceUnavailable" },
      { step: "notifications", errorName: "ServiceUnavailable" },
    ]);
    expect(records).toEqual([
      { sequenceNumber: "1", errorName: "ReactionFailedError" },
      { sequenceNumber: "3", errorName: "ReactionFailedError" },
    ]);
  });

  it("holds back the later records of a challenge whose record failed; other challenges go ahead", async () => {
    const { observer, records } = recordingObserver();
    const s = step("notifications", ["2"]);
    // Stream order: a1, a2 (fails), b1, a3, b2.
    const outcome = await react(
      onRecords(s),
      batch(record("1", "A"), record("2", "A"), record("3", "B"), record("4", "A"), record("5", "B")),
      observer,
    );
    // a3 is never reacted to before a2 has been: it comes back with a2 on the retry.
    expect(seen(s)).toEqual(["1", "2", "3", "5"]);
    expect(outcome.batchItemFailures).toEqual([{ itemIdentifier: "2" }, { itemIdentifier: "4" }]);
    expect(outcome.summary).toMatchObject({ records: 5, failed: 2, heldBack: 1 });
    // Held back records are not step failures: only the failed one is reported as one.
    expect(records).toEqual([{ sequenceNumber: "2", errorName: "ReactionFailedError" }]);
  });

  it("reports every record when every record failed, rather than failing the invocation", async () => {
    const outcome = await react(
      onRecords(step("notifications", ["1", "2"])),
      batch(record("1", "A"), record("2", "B")),
      recordingObserver().observer,
    );
    expect(outcome.batchItemFailures).toEqual([{ itemIdentifier: "1" }, { itemIdentifier: "2" }]);
  });

  it("fails the whole batch when a failed record has no sequence number to report", async () => {
    await expect(
      react(
        onRecords(step("notifications", ["?"])),
        batch(record("1", "A"), record(undefined, "B")),
        recordingObserver().observer,
      ),
    ).rejects.toThrow(UnreportableFailureError);
  });

  it("names its errors", () => {
    expect(new ReactionFailedError(["workflow", "case-notes"]).message).toBe(
      "reaction steps failed: workflow, case-notes",
    );
    expect(new HeldBackError("x").name).toBe("HeldBackError");
  });

  it("refuses something that is not a stream batch", async () => {
    await expect(
      react(onRecords(step("a")), {} as DynamoDBStreamEvent, recordingObserver().observer),
    ).rejects.toThrow();
  });
});

describe("the handler", () => {
  it("returns Lambda's partial batch response", async () => {
    const handler = createHandler(
      onRecords(step("workflow", ["3"]), step("notifications", ["1"])),
      recordingObserver().observer,
    );
    await expect(handler(batch(record("1", "A"), record("2", "B"), record("3", "C")))).resolves.toEqual({
      batchItemFailures: [{ itemIdentifier: "1" }, { itemIdentifier: "3" }],
    });
  });
});
