import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";

vi.hoisted(() => {
  process.env.POWERTOOLS_METRICS_DISABLED = "true";
  process.env.POWERTOOLS_LOG_LEVEL = "SILENT";
});

import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { caseNotesPageSchema, spec as caseNotesSpec } from "../../../functions/api/child-case-notes.js";
import { type ApiDependencies, presetProtocol } from "../../../functions/api/http/dependencies.js";
import { createHandler } from "../../../functions/api/http/middleware.js";
import { makeHandler as themesHandler, themesReportSchema } from "../../../functions/api/reports-themes.js";
import { caseNotesFor } from "../../../functions/case-notes/case-notes.js";
import type { GoodPracticeNotification } from "../../../functions/domain/good-practice.js";
import { getPreset } from "../../../functions/domain/presets/index.js";
import { DynamoChallengeStore } from "../../../functions/store/dynamo-challenge-store.js";
import { DynamoGoodPracticeStore } from "../../../functions/store/good-practice-store.js";
import { TenantStore } from "../../../functions/store/tenant-store.js";
import { OTHER_TENANT, TENANT, apiEvent, callers, invoke } from "../../support/api-events.js";
import { createTestTable, localDocumentClient } from "../../support/dynamodb-local.js";
import { CHILD_DOB, CHILD_NAME, CPC, IRO, Story, aForm, manager } from "../../unit/audit/support.js";
import { FakeWorkflow, NOW } from "../../unit/api/fakes.js";

/**
 * The readers on DynamoDB Local, over the real repositories and the real indexes:
 * GET /v1/children/{caseRecordId}/case-notes (the case-record system's pull: the `since` filter,
 * children and tenants kept apart) and GET /v1/reports/themes (months raised as London counts them,
 * good practice notifications counted by key). Every child and person here is invented.
 */

const nottingham = getPreset("nottingham");
const CHILD = "CR-000777";
const REPORT_TENANT = "tenant-r";

let client: DynamoDBDocumentClient;
let tableName: string;
let drop: () => Promise<void>;
let deps: ApiDependencies;
let store: DynamoChallengeStore;
let goodPractice: DynamoGoodPracticeStore;
const seeded = new Map<string, Story>();

async function seed(tenantId: string, story: Story): Promise<void> {
  await store.append(tenantId, 0, story.events, story.state);
  seeded.set(`${tenantId}|${story.challengeId}`, story);
}

function raised(id: string, at: string, overrides: Parameters<typeof aForm>[0] = {}): Story {
  const story = new Story(nottingham, id);
  story.do({ type: "Raise", actor: IRO, channel: "api", form: aForm(overrides) }, at);
  return story;
}

beforeAll(async () => {
  client = localDocumentClient();
  ({ tableName, drop } = await createTestTable(client));
  const tenants = new TenantStore(client, tableName, () => NOW);
  for (const tenant of [TENANT, OTHER_TENANT, REPORT_TENANT]) {
    await tenants.putConfig(tenant, { protocolId: "nottingham", closureDays: [], reminders: {} });
  }
  store = new DynamoChallengeStore(client, tableName);
  goodPractice = new DynamoGoodPracticeStore(client, tableName);
  deps = {
    challenges: store,
    tenants,
    protocols: presetProtocol,
    workflow: new FakeWorkflow(),
    clock: () => new Date("2026-07-15T09:00:00Z"),
    goodPractice,
    idempotency: () => {
      throw new Error("GET routes never use the idempotency layer");
    },
    idempotencyTtlSeconds: 3600,
  };

  // The child's two challenges in TENANT. ch-n1 (CP): raised Mon 11 May (events 1, 2), answered
  // Wed 13 May (3), resolved Thu 14 May (4).
  const n1 = raised("ch-n1", "2026-05-11T09:00:00Z");
  n1.do(
    { type: "Respond", actor: manager("team_manager", "north"), channel: "email", response: "Booked." },
    "2026-05-13T09:00:00Z",
  );
  n1.do({ type: "MarkResolved", actor: IRO, channel: "api", summary: "Visited." }, "2026-05-14T09:00:00Z");
  await seed(TENANT, n1);
  // ch-n2 (LAC): raised Tue 12 May (1, 2), escalated Tue 19 May (3, 4).
  const n2 = raised("ch-n2", "2026-05-12T10:00:00Z", { track: "LAC" });
  n2.do({ type: "Escalate", actor: IRO, channel: "api", reasons: "No plan." }, "2026-05-19T09:00:00Z");
  await seed(TENANT, n2);
  // Another child of the same tenant.
  await seed(
    TENANT,
    raised("ch-n3", "2026-05-13T09:00:00Z", { child: { ...aForm().child, caseRecordId: "CR-000888" } }),
  );
  // Another tenant: the same case record id and even the same challenge id.
  const foreign = new Story(nottingham, "ch-n1");
  foreign.do(
    { type: "Raise", actor: CPC, channel: "api", form: aForm({ raiserRole: "CPC" }) },
    "2026-05-20T09:00:00Z",
  );
  await seed(OTHER_TENANT, foreign);
});

afterAll(async () => {
  await drop();
  client.destroy();
});

async function pull(
  query: Record<string, string> | undefined,
  caller = callers.lcs as { sub: string; role: string; tenant: string; scopes: readonly string[] },
  caseRecordId = CHILD,
) {
  return invoke(
    createHandler(caseNotesSpec, deps),
    apiEvent("child-case-notes", {
      caller,
      pathParameters: { caseRecordId },
      ...(query === undefined ? {} : { query }),
    }),
  );
}

function ids(body: unknown): string[] {
  return caseNotesPageSchema.parse(body).notes.map((n) => `${n.challengeId}#${n.seq}`);
}

describe("GET /v1/children/{caseRecordId}/case-notes on DynamoDB Local", () => {
  it("gives every note of the child's challenges, oldest first, as the case-notes module writes them", async () => {
    const response = await pull(undefined);
    expect(response.status).toBe(200);
    const body = caseNotesPageSchema.parse(response.body);
    expect(body).toMatchObject({ caseRecordId: CHILD, since: null, readAt: "2026-07-15T09:00:00.000Z" });
    expect(ids(body)).toEqual([
      "ch-n1#1",
      "ch-n1#2",
      "ch-n2#1",
      "ch-n2#2",
      "ch-n1#3",
      "ch-n1#4",
      "ch-n2#3",
      "ch-n2#4",
    ]);
    for (const id of ["ch-n1", "ch-n2"]) {
      const story = seeded.get(`${TENANT}|${id}`);
      if (story === undefined) throw new Error(`${id} not seeded`);
      const expected = caseNotesFor(story.state, story.events, nottingham).map((n) => ({
        ...n,
        caseRecordId: CHILD,
      }));
      expect(body.notes.filter((n) => n.challengeId === id)).toEqual(JSON.parse(JSON.stringify(expected)));
    }
    // Filed on the child's own record: never the child's name or date of birth, nor anyone's email.
    const text = JSON.stringify(body);
    for (const forbidden of [CHILD_NAME, CHILD_DOB, "@example.org"]) expect(text).not.toContain(forbidden);
  });

  it("keeps the notes at or after `since` (inclusive, any offset)", async () => {
    const later = ["ch-n1#3", "ch-n1#4", "ch-n2#3", "ch-n2#4"];
    expect(ids((await pull({ since: "2026-05-13T09:00:00Z" })).body)).toEqual(later);
    expect(ids((await pull({ since: "2026-05-13T10:00:00+01:00" })).body)).toEqual(later);
    expect(ids((await pull({ since: "2026-05-13T09:00:00.001Z" })).body)).toEqual([
      "ch-n1#4",
      "ch-n2#3",
      "ch-n2#4",
    ]);
    expect(ids((await pull({ since: "2026-06-01T00:00:00Z" })).body)).toEqual([]);
    const bad = await pull({ since: "yesterday" });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ code: "VALIDATION_ERROR", errors: [{ parameter: "since" }] });
  });

  it("keeps tenants and children apart", async () => {
    const foreignLcs = { ...callers.lcs, tenant: OTHER_TENANT };
    const foreign = caseNotesPageSchema.parse((await pull(undefined, foreignLcs)).body);
    // Only the other tenant's own ch-n1: raised on 20 May by a CPC, two notes.
    expect(foreign.notes.map((n) => `${n.challengeId}#${n.seq}@${n.at}`)).toEqual([
      "ch-n1#1@2026-05-20T09:00:00.000Z",
      "ch-n1#2@2026-05-20T09:00:00.000Z",
    ]);
    expect(ids((await pull(undefined, callers.lcs, "CR-000888")).body)).toEqual(["ch-n3#1", "ch-n3#2"]);
    const unknown = await pull(undefined, callers.lcs, "CR-NOBODY");
    expect(unknown.status).toBe(200);
    expect(ids(unknown.body)).toEqual([]);
  });

  it("is open to every reader of challenges (the case-record system above, an auditor here)", async () => {
    expect((await pull(undefined, callers.auditor)).status).toBe(200);
    expect((await pull(undefined, { ...callers.lcs, scopes: ["config/read"] })).status).toBe(403);
  });
});

function notification(recordedAt: string, id: string): GoodPracticeNotification {
  return {
    id,
    protocolId: "nottingham",
    recordedAt,
    recordedBy: IRO,
    channel: "api",
    recordedAs: "case_note",
    child: { caseRecordId: CHILD },
    track: "CP",
    practitioner: { name: "Pat Invented", team: { name: "North Locality Team" } },
    firstLineManager: { name: "Fin Madeup" },
    whatWasGood: "Thorough assessment.",
  };
}

describe("the themes report and good practice counts on DynamoDB Local", () => {
  beforeAll(async () => {
    // London months: 22:30Z on 31 March is 23:30 on 31 March (March); 23:30Z is 00:30 on 1 April.
    await seed(REPORT_TENANT, raised("ch-r0", "2026-03-31T22:30:00Z"));
    await seed(REPORT_TENANT, raised("ch-r1", "2026-03-31T23:30:00Z"));
    await seed(REPORT_TENANT, raised("ch-r2", "2026-06-30T22:30:00Z"));
    await seed(REPORT_TENANT, raised("ch-r3", "2026-06-30T23:30:00Z"));
    for (const [at, id] of [
      ["2026-03-31T22:59:59.999Z", "gp-0"],
      ["2026-03-31T23:00:00.000Z", "gp-1"],
      ["2026-05-01T09:00:00.000Z", "gp-2"],
      ["2026-06-30T22:59:59.999Z", "gp-3"],
      ["2026-06-30T23:00:00.000Z", "gp-4"],
    ] as const) {
      await goodPractice.put(REPORT_TENANT, notification(at, id));
    }
    await goodPractice.put(TENANT, notification("2026-05-01T09:00:00.000Z", "gp-5"));
  });

  it("counts notifications between two instants, both inclusive, in one tenant only", async () => {
    const count = (from: string, to: string) => goodPractice.countRecordedBetween(REPORT_TENANT, from, to);
    expect(await count("2026-03-31T23:00:00.000Z", "2026-06-30T22:59:59.999Z")).toBe(3);
    expect(await count("2026-05-01T09:00:00.000Z", "2026-05-01T09:00:00.000Z")).toBe(1);
    expect(await count("2026-07-01T00:00:00.000Z", "2026-07-31T00:00:00.000Z")).toBe(0);
    expect(
      await goodPractice.countRecordedBetween(TENANT, "2026-01-01T00:00:00Z", "2026-12-31T00:00:00Z"),
    ).toBe(1);
    await expect(count("2026-06-01T00:00:00Z", "2026-05-01T00:00:00Z")).rejects.toThrow(/before it starts/);
  });

  it("reports on the challenges raised on the period's London dates", async () => {
    const response = await invoke(
      themesHandler(deps),
      apiEvent("reports-themes", {
        caller: { ...callers.auditor, tenant: REPORT_TENANT },
        query: { from: "2026-04-01", to: "2026-06-30" },
      }),
    );
    expect(response.status).toBe(200);
    const body = themesReportSchema.parse(response.body);
    // ch-r1 (London 1 April) and ch-r2 (London 30 June); not ch-r0 (31 March) or ch-r3 (1 July).
    expect(body.raised.total).toBe(2);
    expect(body.statusAsAt).toEqual([{ status: "open", count: 2 }]);
    expect(body.goodPracticeNotifications).toBe(3);
  });
});
