import type { DynamoDBRecord, DynamoDBStreamEvent } from "aws-lambda";
import { beforeAll, describe, expect, it } from "vitest";
import { handler as pushCaseNotes } from "../../../functions/audit/push-case-notes.js";
import {
  type ReactionObserver,
  type ReactionStep,
  STEPS,
  createHandler,
  react,
} from "../../../functions/events/react.js";
import { handler as sendNotifications } from "../../../functions/mail/send-notification.js";
import { logger } from "../../../functions/shared/observability.js";
import { handler as startWorkflowRuns } from "../../../functions/workflow/start-execution.js";

/** A new event item's stream record (only what the reactor reads: the sequence number). */
function record(sequenceNumber: string | undefined): DynamoDBRecord {
  return {
    eventName: "INSERT",
    dynamodb: {
      ...(sequenceNumber === undefined ? {} : { SequenceNumber: sequenceNumber }),
      NewImage: { entity: { S: "event" } },
    },
  };
}
const batch = (...sequenceNumbers: (string | undefined)[]): DynamoDBStreamEvent => ({
  Records: sequenceNumbers.map(record),
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
});

describe("react", () => {
  it("gives every step the same batch and reports nothing when every step did every record", async () => {
    const steps = [step("a"), step("b"), step("c")];
    const event = batch("1", "2", "3");
    const outcome = await react(steps, event);
    expect(outcome).toEqual({ batchItemFailures: [], failedByStep: { a: 0, b: 0, c: 0 } });
    for (const s of steps) expect(s.seen).toEqual([event]);
  });

  it("fails a record if any step failed it: the union, once each, in stream order", async () => {
    const { observer, reports } = recordingObserver();
    const steps = [step("workflow", ["4"]), step("notifications", ["2", "4"]), step("case-notes", ["5"])];
    const outcome = await react(steps, batch("1", "2", "3", "4", "5"), undefined, observer);
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
    const outcome = await react([first, second, third], event);
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
    const outcome = await react([before, broken, after], batch("1", "2", "3"), undefined, observer);
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
    await expect(react([throwing("notifications"), after], batch("1", undefined))).rejects.toThrow(
      "SES is down",
    );
    expect(after.seen).toHaveLength(1); // every step ran first
  });

  it("keeps a failure it cannot place in the batch (Lambda then retries the whole batch)", async () => {
    const outcome = await react([step("odd", ["9"]), step("ok", ["2"])], batch("1", "2"));
    expect(outcome.batchItemFailures).toEqual([{ itemIdentifier: "2" }, { itemIdentifier: "9" }]);
  });

  it("refuses something that is not a stream batch", async () => {
    await expect(react([step("a")], {} as DynamoDBStreamEvent)).rejects.toThrow(/Records/);
  });
});

describe("the handler", () => {
  it("returns Lambda's partial batch response: the union of the steps' failures", async () => {
    const { observer } = recordingObserver();
    const handler = createHandler([step("workflow", ["3"]), step("notifications", ["1"])], observer);
    await expect(handler(batch("1", "2", "3"))).resolves.toEqual({
      batchItemFailures: [{ itemIdentifier: "1" }, { itemIdentifier: "3" }],
    });
  });
});
