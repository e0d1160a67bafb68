import type { DynamoDBRecord, DynamoDBStreamEvent } from "aws-lambda";
import { beforeAll, describe, expect, it } from "vitest";
import { handler as pushCaseNotes } from "../../../functions/audit/push-case-notes.js";
import {
  GOOD_PRACTICE_STEPS,
  ROUTES,
  type ReactionObserver,
  type ReactionRoute,
  type ReactionStep,
  STEPS,
  createHandler,
  react,
} from "../../../functions/events/react.js";
import { handler as sendGoodPractice } from "../../../functions/mail/send-good-practice.js";
import { handler as sendNotifications } from "../../../functions/mail/send-notification.js";
import { logger } from "../../../functions/shared/observability.js";
import { handler as startWorkflowRuns } from "../../../functions/workflow/start-execution.js";

/** A new item's stream record (only what the reactor reads: the sequence number and the entity). */
function record(sequenceNumber: string | undefined, entity = "event"): DynamoDBRecord {
  return {
    eventName: "INSERT",
    dynamodb: {
      ...(sequenceNumber === undefined ? {} : { SequenceNumber: sequenceNumber }),
      NewImage: { entity: { S: entity } },
    },
  };
}
const goodPractice = (sequenceNumber: string): DynamoDBRecord => record(sequenceNumber, "good_practice");

/** A composition with event steps only. */
const onEvents = (steps: readonly ReactionStep[]): ReactionRoute[] => [{ entity: "event", steps }];
const batch = (...sequenceNumbers: (string | undefined)[]): DynamoDBStreamEvent => ({
  Records: sequenceNumbers.map((n) => record(n)),
});

/** A step that fails the given records and remembers every batch it saw. */
function step(name: string, fails: readonly string[] = []) {
  const seen: DynamoDBStreamEvent[] = [];
  const made: ReactionStep & { seen: DynamoDBStreamEvent[] } = {
    name,
    seen,
    run: (event) => {
      seen.push(event);
      return Promise.resolve({ batchItemFailures: fails.map((itemIdentifier) => ({ itemIdentifier })) });
    },
  };
  return made;
}

function throwing(name: string) {
  const seen: DynamoDBStreamEvent[] = [];
  const made: ReactionStep & { seen: DynamoDBStreamEvent[] } = {
    name,
    seen,
    run: (event) => {
      seen.push(event);
      return Promise.reject(Object.assign(new Error("SES is down"), { name: "ServiceUnavailable" }));
    },
  };
  return made;
}

function recordingObserver() {
  const reports: { step: string; failedRecords: number; errorName?: string }[] = [];
  const observer: ReactionObserver = {
    stepFailed: (name, failedRecords, error) => {
      reports.push({
        step: name,
        failedRecords,
        ...(error instanceof Error ? { errorName: error.name } : {}),
      });
    },
  };
  return { observer, reports };
}

beforeAll(() => {
  logger.setLogLevel("SILENT");
});

describe("the composition", () => {
  it("is a list of steps: workflow runs, then notifications, then case notes, each its module's batch function", () => {
    expect(STEPS.map((s) => s.name)).toEqual(["workflow", "notifications", "case-notes"]);
    expect(STEPS.map((s) => s.run)).toEqual([startWorkflowRuns, sendNotifications, pushCaseNotes]);
  });

  it("routes event items to those steps and good practice notifications to the good practice sender only", () => {
    expect(GOOD_PRACTICE_STEPS.map((s) => s.name)).toEqual(["good-practice"]);
    expect(GOOD_PRACTICE_STEPS.map((s) => s.run)).toEqual([sendGoodPractice]);
    expect(ROUTES).toEqual([
      { entity: "event", steps: STEPS },
      { entity: "good_practice", steps: GOOD_PRACTICE_STEPS },
    ]);
    const names = ROUTES.flatMap((r) => r.steps.map((s) => s.name));
    expect(new Set(names).size).toBe(names.length);
  });
});

describe("routing by entity", () => {
  const composition = () => {
    const workflow = step("workflow");
    const notifications = step("notifications", ["2"]);
    const goodPracticeStep = step("good-practice", ["3"]);
    const routes: ReactionRoute[] = [
      { entity: "event", steps: [workflow, notifications] },
      { entity: "good_practice", steps: [goodPracticeStep] },
    ];
    return { workflow, notifications, goodPracticeStep, routes };
  };
  const seen = (s: { seen: DynamoDBStreamEvent[] }) =>
    s.seen.flatMap((e) => e.Records.map((r) => r.dynamodb?.SequenceNumber));

  it("gives a good practice record to the good practice step only, and event records never to it", async () => {
    const { workflow, notifications, goodPracticeStep, routes } = composition();
    const event: DynamoDBStreamEvent = {
      Records: [record("1"), record("2"), goodPractice("3"), record("4")],
    };
    const outcome = await react(routes, event);
    expect(seen(workflow)).toEqual(["1", "2", "4"]);
    expect(seen(notifications)).toEqual(["1", "2", "4"]);
    expect(seen(goodPracticeStep)).toEqual(["3"]);
    // The union of both routes' failures, in stream order.
    expect(outcome).toEqual({
      batchItemFailures: [{ itemIdentifier: "2" }, { itemIdentifier: "3" }],
      failedByStep: { workflow: 0, notifications: 1, "good-practice": 1 },
    });
  });

  it("runs no step of a route with no records in the batch", async () => {
    const { workflow, goodPracticeStep, routes } = composition();
    await react(routes, { Records: [record("1")] });
    expect(goodPracticeStep.seen).toEqual([]);
    await react(routes, { Records: [goodPractice("5")] });
    expect(seen(workflow)).toEqual(["1"]);
    expect(seen(goodPracticeStep)).toEqual(["5"]);
  });

  it("a throwing step fails its own route's records only", async () => {
    const events = step("notifications");
    const routes: ReactionRoute[] = [
      { entity: "event", steps: [events] },
      { entity: "good_practice", steps: [throwing("good-practice")] },
    ];
    const outcome = await react(routes, { Records: [record("1"), goodPractice("2"), record("3")] });
    expect(outcome.batchItemFailures).toEqual([{ itemIdentifier: "2" }]);
  });

  it("gives a record of no route's entity to no step", async () => {
    const { workflow, goodPracticeStep, routes } = composition();
    const outcome = await react(routes, { Records: [record("1", "challenge"), record("2")] });
    expect(seen(workflow)).toEqual(["2"]);
    expect(goodPracticeStep.seen).toEqual([]);
    expect(outcome.batchItemFailures).toEqual([{ itemIdentifier: "2" }]);
  });
});

describe("react", () => {
  it("gives every step the same batch and reports nothing when every step did every record", async () => {
    const steps = [step("a"), step("b"), step("c")];
    const event = batch("1", "2", "3");
    const outcome = await react(onEvents(steps), event);
    expect(outcome).toEqual({ batchItemFailures: [], failedByStep: { a: 0, b: 0, c: 0 } });
    for (const s of steps) expect(s.seen).toEqual([event]);
  });

  it("fails a record if any step failed it: the union, once each, in stream order", async () => {
    const { observer, reports } = recordingObserver();
    const steps = [step("workflow", ["4"]), step("notifications", ["2", "4"]), step("case-notes", ["5"])];
    const outcome = await react(onEvents(steps), batch("1", "2", "3", "4", "5"), undefined, observer);
    expect(outcome.batchItemFailures).toEqual([
      { itemIdentifier: "2" },
      { itemIdentifier: "4" },
      { itemIdentifier: "5" },
    ]);
    expect(outcome.failedByStep).toEqual({ workflow: 1, notifications: 2, "case-notes": 1 });
    expect(reports).toEqual([
      { step: "workflow", failedRecords: 1 },
      { step: "notifications", failedRecords: 2 },
      { step: "case-notes", failedRecords: 1 },
    ]);
  });

  it("a step failing a record stops neither the later steps nor the other records", async () => {
    const first = step("workflow", ["1"]);
    const second = step("notifications");
    const third = step("case-notes");
    const event = batch("1", "2", "3");
    const outcome = await react(onEvents([first, second, third]), event);
    expect(second.seen).toEqual([event]);
    expect(third.seen).toEqual([event]);
    expect(second.seen[0]?.Records.map((r) => r.dynamodb?.SequenceNumber)).toEqual(["1", "2", "3"]);
    expect(outcome.batchItemFailures).toEqual([{ itemIdentifier: "1" }]);
  });

  it("a step that throws fails every record, and the other steps still run", async () => {
    const { observer, reports } = recordingObserver();
    const before = step("workflow", ["2"]);
    const broken = throwing("notifications");
    const after = step("case-notes");
    const outcome = await react(onEvents([before, broken, after]), batch("1", "2", "3"), undefined, observer);
    expect(after.seen).toHaveLength(1);
    expect(outcome.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(["1", "2", "3"]);
    expect(reports).toContainEqual({
      step: "notifications",
      failedRecords: 3,
      errorName: "ServiceUnavailable",
    });
  });

  it("fails the whole batch when a step throws and a record has no sequence number to report", async () => {
    const after = step("case-notes");
    await expect(react(onEvents([throwing("notifications"), after]), batch("1", undefined))).rejects.toThrow(
      "SES is down",
    );
    expect(after.seen).toHaveLength(1); // every step ran first
  });

  it("keeps a failure it cannot place in the batch (Lambda then retries the whole batch)", async () => {
    const outcome = await react(onEvents([step("odd", ["9"]), step("ok", ["2"])]), batch("1", "2"));
    expect(outcome.batchItemFailures).toEqual([{ itemIdentifier: "2" }, { itemIdentifier: "9" }]);
  });

  it("refuses something that is not a stream batch", async () => {
    await expect(react(onEvents([step("a")]), {} as DynamoDBStreamEvent)).rejects.toThrow(/Records/);
  });
});

describe("the handler", () => {
  it("returns Lambda's partial batch response: the union of the steps' failures", async () => {
    const { observer } = recordingObserver();
    const handler = createHandler(
      onEvents([step("workflow", ["3"]), step("notifications", ["1"])]),
      observer,
    );
    await expect(handler(batch("1", "2", "3"))).resolves.toEqual({
      batchItemFailures: [{ itemIdentifier: "1" }, { itemIdentifier: "3" }],
    });
  });
});
