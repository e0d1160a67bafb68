import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";

vi.hoisted(() => {
  process.env.POWERTOOLS_METRICS_DISABLED = "true";
  process.env.POWERTOOLS_LOG_LEVEL = "SILENT";
});

import { spec as escalateSpec } from "../../../functions/api/escalate.js";
import { createHandler } from "../../../functions/api/http/middleware.js";
import { SfnWorkflowSignal } from "../../../functions/workflow/sfn-signal.js";
import { DynamoChallengeStore } from "../../../functions/store/dynamo-challenge-store.js";
import { spec as raiseSpec } from "../../../functions/api/raise-challenge.js";
import { spec as respondSpec } from "../../../functions/api/respond.js";
import { presets } from "../../../functions/domain/presets/index.js";
import { TENANT, apiEvent, callers, invoke } from "../../support/api-events.js";
import {
  type CallRow,
  type CallsSetup,
  callsSetup,
  command,
  measureCalls,
} from "../../support/dynamodb-calls.js";
import { createTestTable, dynamoDbEndpoint, localDocumentClient } from "../../support/dynamodb-local.js";
import { directoryFor, raiseBody } from "../../unit/api/fakes.js";

/**
 * DynamoDB calls per HTTP command and per workflow task, counted on DynamoDB Local with an SDK
 * middleware (issue 11): one consistent read and one transaction per command, at most two per task.
 * A change that adds a read fails here, naming the operation.
 */

const client = localDocumentClient();
let drop: () => Promise<void>;
let tableName: string;
let setup: CallsSetup;
let rows: CallRow[];

beforeAll(async () => {
  ({ tableName, drop } = await createTestTable(client));
  setup = await callsSetup(dynamoDbEndpoint(), tableName);
  rows = await measureCalls(setup);
}, 60_000);

afterAll(async () => {
  setup.destroy();
  await drop();
  client.destroy();
});

const callsOf = (what: string) => rows.find((row) => row.what === what)?.calls;
const ONE_READ_ONE_WRITE = ["BatchGetItem", "TransactWriteItems"];

describe("DynamoDB calls per HTTP command", () => {
  it.each(["raise", "respond", "escalate", "resolve"])("%s: one consistent read, one transaction", (what) => {
    expect(callsOf(what)).toEqual(ONE_READ_ONE_WRITE);
  });

  it("the first command in a container also reads the tenant's configuration and directory, in one query", () => {
    expect(callsOf("raise (a cold container: the tenant's configuration is read once)")).toEqual([
      "BatchGetItem",
      "Query",
      "TransactWriteItems",
    ]);
  });

  it("respond wakes the waiting workflow with the token read in the command's one read", () => {
    expect(setup.sfn.tokensSent()).toContain("token-level-1");
  });

  it("with an Idempotency-Key: the same two, plus Powertools' record (claimed, then completed)", () => {
    expect(callsOf("respond with an Idempotency-Key")).toEqual([
      "PutItem",
      "BatchGetItem",
      "TransactWriteItems",
      "UpdateItem",
    ]);
  });
});

describe("DynamoDB calls per workflow task", () => {
  it("OpenStage: one read (the run's start is on the snapshot, no event query)", () => {
    expect(callsOf("OpenStage")).toEqual(["BatchGetItem"]);
  });

  it("AwaitResponse: stores the token, then reads the challenge", () => {
    expect(callsOf("AwaitResponse")).toEqual(["PutItem", "GetItem"]);
  });

  it("TimerThenAwait: the timer's read and transaction, one read for its checks, then AwaitResponse's two calls", () => {
    expect(callsOf("TimerThenAwait (the reminder, then the deadline's wait)")).toEqual([
      ...ONE_READ_ONE_WRITE,
      "BatchGetItem",
      "PutItem",
      "GetItem",
    ]);
  });

  it.each([
    "StageTimedOut (the reminder)",
    "StageTimedOut (the deadline's rule)",
    "CheckActions (records the actions that fell due)",
  ])("%s: one read, one transaction", (what) => {
    expect(callsOf(what)).toEqual(ONE_READ_ONE_WRITE);
  });
});

describe("the configuration and directory cache", () => {
  it("a person marked as left in another container is never routed to: the changed version forces a re-read", async () => {
    const protocol = presets.nottingham;
    const level2Role = protocol?.tracks.CP?.stages[1]?.recipient.role ?? "";
    expect(level2Role).not.toBe("");
    const holder = directoryFor().find((m) => m.roles.some((r) => r.role === level2Role));
    if (holder === undefined) throw new Error(`nobody holds ${level2Role}`);

    // This container's cache is warm (the commands above).
    const raised = await command(setup, raiseSpec, "raise-challenge", {
      caller: callers.iro,
      body: raiseBody(),
    });
    // An administrator, in another container, records that the holder has left and names a successor.
    await setup.admin.upsertStaff(TENANT, { ...holder, active: false });
    await setup.admin.upsertStaff(TENANT, {
      ...holder,
      personId: `${holder.personId}-successor`,
      email: "successor@authority.example",
    });

    let escalated: Awaited<ReturnType<typeof command>> | undefined;
    const calls = await setup.counter.during(async () => {
      escalated = await command(setup, escalateSpec, "escalate", {
        caller: callers.iro,
        pathParameters: { challengeId: raised.challengeId },
        body: { stageId: raised.currentStage?.stageId, reasons: "No response to the worry about the plan." },
      });
    });
    expect(calls).toEqual(["BatchGetItem", "Query", "TransactWriteItems"]);
    const stored = await setup.challenges.get(TENANT, escalated?.challengeId ?? "");
    expect(stored?.state.currentStage?.assignee.personId).toBe(`${holder.personId}-successor`);
  });

  it("a wait that begins between a command's read and its commit is not missed: the commit is refused and the command re-read", async () => {
    const raised = await command(setup, raiseSpec, "raise-challenge", {
      caller: callers.iro,
      body: raiseBody(),
    });
    const stageId = raised.currentStage?.stageId ?? "";
    // AwaitResponse stores a token after the command's read and before its transaction.
    const racing = new RacingStore(setup.documents, setup.tableName);
    racing.beforeFirstAppend = () =>
      setup.challenges.saveTaskToken(TENANT, raised.challengeId, stageId, "token-begun-meanwhile");
    const deps = {
      ...setup.api,
      challenges: racing,
      workflow: new SfnWorkflowSignal({
        sfn: setup.sfn.client,
        stateMachineArn: "arn:aws:states:eu-west-2:000000000000:stateMachine:m",
        tokens: racing,
      }),
    };
    const calls = await setup.counter.during(async () => {
      const response = await invoke(
        createHandler(respondSpec, deps),
        apiEvent("respond", {
          caller: callers.teamManager,
          pathParameters: { challengeId: raised.challengeId },
          body: { stageId, response: "A core group is booked for Monday." },
        }),
      );
      expect(response.status).toBe(200);
    });
    // Read (no token), the token saved, the commit refused; read again (the token), committed.
    expect(calls).toEqual([
      "BatchGetItem",
      "PutItem",
      "TransactWriteItems",
      "BatchGetItem",
      "TransactWriteItems",
    ]);
    expect(setup.sfn.tokensSent()).toContain("token-begun-meanwhile");
  });
});

/** A store whose first append waits for something else to happen first (a race, made certain). */
class RacingStore extends DynamoChallengeStore {
  beforeFirstAppend: (() => Promise<void>) | undefined;
  override async append(...args: Parameters<DynamoChallengeStore["append"]>): Promise<void> {
    const before = this.beforeFirstAppend;
    this.beforeFirstAppend = undefined;
    await before?.();
    return super.append(...args);
  }
}
