import { GetCommand, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ChallengeState } from "../../../functions/domain/challenge/state.js";
import { DynamoChallengeStore, InvalidQueryError } from "../../../functions/store/dynamo-challenge-store.js";
import type { Page, TrayQuery } from "../../../functions/store/ports.js";
import { keys } from "../../../functions/store/table.js";
import { createTestTable, localDocumentClient } from "../../support/dynamodb-local.js";
import {
  ChallengeFixture,
  TENANT_A,
  TENANT_B,
  aForm,
  anAssignee,
  type Batch,
  type ChallengeOptions,
} from "../../support/fixtures.js";

let client: DynamoDBDocumentClient;
let tableName: string;
let drop: () => Promise<void>;
let store: DynamoChallengeStore;

const append = (tenantId: string, batch: Batch) =>
  store.append(tenantId, batch.expectedVersion, batch.events, batch.state);

const north = { id: "team-north", name: "North Locality Team" };
const south = { id: "team-south", name: "South Locality Team" };
const tm1 = anAssignee("tm-0001");
const tm2 = anAssignee("tm-0002");

function fixture(
  id: string,
  o: Omit<ChallengeOptions, "challengeId"> & { child?: string; team?: typeof north },
) {
  return new ChallengeFixture({
    challengeId: id,
    ...o,
    form: aForm({ child: { caseRecordId: o.child ?? "TEST-CR-0001" }, team: o.team ?? north }),
  });
}

// Tenant A: three open challenges, one resolved, one raised just after midnight London time on 1 April.
const c1 = fixture("A-C1", {
  raisedAt: "2025-03-10T10:00:00.000Z",
  deadline: "2025-03-17T17:00:00.000Z",
  assignee: tm1,
});
const c2 = fixture("A-C2", {
  raisedAt: "2025-03-05T10:00:00.000Z",
  deadline: "2025-03-14T17:00:00.000Z",
  assignee: tm2,
  child: "TEST-CR-0002",
  team: south,
});
const c3 = fixture("A-C3", {
  raisedAt: "2025-03-12T10:00:00.000Z",
  deadline: "2025-03-20T17:00:00.000Z",
  assignee: tm1,
});
const c4 = fixture("A-C4", {
  raisedAt: "2025-03-01T10:00:00.000Z",
  deadline: "2025-03-13T17:00:00.000Z",
  assignee: tm1,
});
// 23:30 UTC on 31 March 2025 is 00:30 BST on 1 April: an April challenge in London.
const c6 = fixture("A-C6", {
  raisedAt: "2025-03-31T23:30:00.000Z",
  deadline: "2025-04-08T16:00:00.000Z",
  assignee: tm2,
  child: "TEST-CR-0003",
  team: south,
});
// Tenant B uses the very same child, team and person ids.
const b1 = fixture("B-C1", {
  raisedAt: "2025-03-11T10:00:00.000Z",
  deadline: "2025-03-15T17:00:00.000Z",
  assignee: tm1,
});

const ids = (page: Page<ChallengeState>) => page.items.map((s) => s.challengeId);

async function all(read: (q: TrayQuery) => Promise<Page<ChallengeState>>, limit: number) {
  const seen: string[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await read(cursor === undefined ? { limit } : { limit, cursor });
    expect(page.items.length).toBeLessThanOrEqual(limit);
    seen.push(...ids(page));
    cursor = page.next;
    pages += 1;
  } while (cursor !== undefined && pages < 50);
  return { seen, pages };
}

beforeAll(async () => {
  client = localDocumentClient();
  ({ tableName, drop } = await createTestTable(client));
  store = new DynamoChallengeStore(client, tableName);
  for (const c of [c1, c2, c3, c4, c6]) await append(TENANT_A, c.raise());
  await append(TENANT_A, c4.resolve());
  await append(TENANT_B, b1.raise());
});

afterAll(async () => {
  await drop();
  client.destroy();
});

describe("open challenges by due date", () => {
  it("lists open challenges, earliest deadline first, leaving out the resolved one", async () => {
    expect(ids(await store.openByDueDate(TENANT_A, "2025-12-31T00:00:00Z"))).toEqual([
      "A-C2",
      "A-C1",
      "A-C3",
      "A-C6",
    ]);
  });

  it("includes a deadline exactly at dueBy and none after, whatever the ISO spelling", async () => {
    expect(ids(await store.openByDueDate(TENANT_A, "2025-03-17T17:00:00.000Z"))).toEqual(["A-C2", "A-C1"]);
    expect(ids(await store.openByDueDate(TENANT_A, "2025-03-17T17:00:00Z"))).toEqual(["A-C2", "A-C1"]);
    expect(ids(await store.openByDueDate(TENANT_A, "2025-03-17T18:00:00+01:00"))).toEqual(["A-C2", "A-C1"]);
    expect(ids(await store.openByDueDate(TENANT_A, "2025-03-17T16:59:59.999Z"))).toEqual(["A-C2"]);
    expect(ids(await store.openByDueDate(TENANT_A, "2025-03-01T00:00:00Z"))).toEqual([]);
  });

  it("rejects a dueBy that is not an instant", async () => {
    await expect(store.openByDueDate(TENANT_A, "next Tuesday")).rejects.toBeInstanceOf(InvalidQueryError);
  });
});

describe("open challenges by recipient", () => {
  it("lists the person's open challenges, earliest deadline first", async () => {
    expect(ids(await store.byRecipient(TENANT_A, "tm-0001"))).toEqual(["A-C1", "A-C3"]);
    expect(ids(await store.byRecipient(TENANT_A, "tm-0002"))).toEqual(["A-C2", "A-C6"]);
    expect(ids(await store.byRecipient(TENANT_A, "nobody"))).toEqual([]);
  });
});

describe("by child, by team, by month", () => {
  it("lists every challenge about a child, open or not, newest first", async () => {
    expect(ids(await store.byChild(TENANT_A, "TEST-CR-0001"))).toEqual(["A-C3", "A-C1", "A-C4"]);
    expect(ids(await store.byChild(TENANT_A, "TEST-CR-0002"))).toEqual(["A-C2"]);
  });

  it("lists every challenge about a team's work, newest first", async () => {
    expect(ids(await store.byTeam(TENANT_A, "team-north"))).toEqual(["A-C3", "A-C1", "A-C4"]);
    expect(ids(await store.byTeam(TENANT_A, "team-south"))).toEqual(["A-C6", "A-C2"]);
  });

  it("counts months as London does, oldest first", async () => {
    expect(ids(await store.raisedInMonth(TENANT_A, "2025-03"))).toEqual(["A-C4", "A-C2", "A-C1", "A-C3"]);
    expect(ids(await store.raisedInMonth(TENANT_A, "2025-04"))).toEqual(["A-C6"]);
    await expect(store.raisedInMonth(TENANT_A, "2025-13")).rejects.toBeInstanceOf(InvalidQueryError);
  });
});

describe("the open trays stay sparse", () => {
  it("drops a challenge from both open trays when it is resolved, keeping it in the others", async () => {
    const c = fixture("A-C7", {
      raisedAt: "2025-03-13T10:00:00.000Z",
      deadline: "2025-03-18T17:00:00.000Z",
      assignee: anAssignee("tm-0007"),
      child: "TEST-CR-0007",
    });
    await append(TENANT_A, c.raise());
    expect(ids(await store.byRecipient(TENANT_A, "tm-0007"))).toEqual(["A-C7"]);
    expect(ids(await store.openByDueDate(TENANT_A, "2025-12-31T00:00:00Z"))).toContain("A-C7");

    await append(TENANT_A, c.resolve());
    expect(ids(await store.byRecipient(TENANT_A, "tm-0007"))).toEqual([]);
    expect(ids(await store.openByDueDate(TENANT_A, "2025-12-31T00:00:00Z"))).not.toContain("A-C7");
    expect(ids(await store.byChild(TENANT_A, "TEST-CR-0007"))).toEqual(["A-C7"]);

    const { Item } = await client.send(
      new GetCommand({ TableName: tableName, Key: keys.challenge(TENANT_A, "A-C7") }),
    );
    expect(Item).not.toHaveProperty("gsi1pk");
    expect(Item).not.toHaveProperty("gsi2pk");
    expect(Item).toHaveProperty("gsi3pk");
  });

  it("moves a challenge to the raiser's tray, due by their decision time, once they are asked to decide", async () => {
    const c = fixture("A-C9", {
      raisedAt: "2025-03-10T11:00:00.000Z",
      deadline: "2025-03-17T17:00:00.000Z",
      assignee: anAssignee("tm-0009"),
    });
    await append(TENANT_A, c.raise());
    await append(TENANT_A, c.respond("Holding reply: we will come back to you."));
    // A holding reply keeps it in the recipient's tray until the deadline ...
    expect(ids(await store.byRecipient(TENANT_A, "tm-0009"))).toEqual(["A-C9"]);
    await append(TENANT_A, c.askRaiser("2025-03-18T17:00:00.000Z"));
    // ... then the next move is the raiser's: resolve, or escalate with reasons.
    expect(ids(await store.byRecipient(TENANT_A, "tm-0009"))).toEqual([]);
    const raiserTray = await store.byRecipient(TENANT_A, c.state.raiser.id);
    expect(ids(raiserTray)).toContain("A-C9");
    expect(raiserTray.items.find((s) => s.challengeId === "A-C9")?.currentStage).toMatchObject({
      raiserDecisionBy: "2025-03-18T17:00:00.000Z",
      raiserAlertReason: "no_resolution",
    });
    const { Item } = await client.send(
      new GetCommand({ TableName: tableName, Key: keys.challenge(TENANT_A, "A-C9") }),
    );
    expect(Item?.gsi2sk).toMatch(/^2025-03-18T17:00:00\.000Z#A-C9$/);
  });

  it("after the ladder, a decision owed is in the decider's tray and the due-date view until it is made (000: 'AD to make decision on upholding differences.')", async () => {
    const c = fixture("A-C10", {
      raisedAt: "2025-03-10T11:00:00.000Z",
      deadline: "2025-03-17T17:00:00.000Z",
      assignee: anAssignee("tm-0010"),
    });
    await append(TENANT_A, c.raise());
    await append(TENANT_A, c.askDecision("ad-0010", "2025-04-07T16:00:00.000Z"));
    expect(ids(await store.byRecipient(TENANT_A, "tm-0010"))).toEqual([]);
    expect(ids(await store.byRecipient(TENANT_A, "ad-0010"))).toEqual(["A-C10"]);
    expect(ids(await store.openByDueDate(TENANT_A, "2025-04-07T16:00:00.000Z"))).toContain("A-C10");
    expect(ids(await store.openByDueDate(TENANT_A, "2025-04-07T15:59:59.000Z"))).not.toContain("A-C10");
    await append(TENANT_A, c.decideAfterLadder("ad-0010"));
    expect(ids(await store.byRecipient(TENANT_A, "ad-0010"))).toEqual([]);
    expect(ids(await store.openByDueDate(TENANT_A, "2025-12-31T00:00:00.000Z"))).not.toContain("A-C10");
  });

  it("moves a challenge from one recipient's tray to the next on escalation", async () => {
    const c = fixture("A-C8", {
      raisedAt: "2025-03-13T11:00:00.000Z",
      deadline: "2025-03-18T17:00:00.000Z",
      assignee: anAssignee("tm-0008"),
    });
    await append(TENANT_A, c.raise());
    await append(
      TENANT_A,
      c.escalate(anAssignee("sm-0008", "service_manager", "Service Manager"), "2025-03-25T17:00:00.000Z"),
    );
    expect(ids(await store.byRecipient(TENANT_A, "tm-0008"))).toEqual([]);
    const page = await store.byRecipient(TENANT_A, "sm-0008");
    expect(ids(page)).toEqual(["A-C8"]);
    expect(page.items[0]?.currentStage?.deadline).toBe("2025-03-25T17:00:00.000Z");
  });
});

describe("pagination", () => {
  it("walks every tray page by page, with no repeats or gaps", async () => {
    const full = ids(await store.byTeam(TENANT_A, "team-north"));
    for (const limit of [1, 2, 3]) {
      const { seen } = await all((q) => store.byTeam(TENANT_A, "team-north", q), limit);
      expect(seen).toEqual(full);
    }
    const open = ids(await store.openByDueDate(TENANT_A, "2025-03-20T17:00:00Z"));
    const { seen } = await all((q) => store.openByDueDate(TENANT_A, "2025-03-20T17:00:00Z", q), 1);
    expect(seen).toEqual(open);
  });

  it("issues no cursor when the page is not full", async () => {
    const page = await store.byChild(TENANT_A, "TEST-CR-0002", { limit: 10 });
    expect(ids(page)).toEqual(["A-C2"]);
    expect(page.next).toBeUndefined();
  });

  it("issues no cursor on a last page that is exactly full (no empty page after it)", async () => {
    const full = ids(await store.byTeam(TENANT_A, "team-north"));
    expect(full.length).toBeGreaterThan(1);
    const whole = await store.byTeam(TENANT_A, "team-north", { limit: full.length });
    expect(ids(whole)).toEqual(full);
    expect(whole.next).toBeUndefined();
    const allButOne = await store.byTeam(TENANT_A, "team-north", { limit: full.length - 1 });
    expect(allButOne.next).toBeDefined();
    const { seen, pages } = await all((q) => store.byTeam(TENANT_A, "team-north", q), 1);
    expect(seen).toEqual(full);
    expect(pages).toBe(full.length);
  });

  it("refuses limits outside 1-100", async () => {
    for (const limit of [0, 101, 1.5, -1]) {
      await expect(store.byTeam(TENANT_A, "team-north", { limit })).rejects.toBeInstanceOf(InvalidQueryError);
    }
  });

  it("refuses cursors it did not issue for that tray", async () => {
    const first = await store.byTeam(TENANT_A, "team-north", { limit: 1 });
    const cursor = first.next;
    expect(cursor).toBeDefined();
    if (cursor === undefined) return;
    // Garbage, another tray, another team, another tenant.
    await expect(store.byTeam(TENANT_A, "team-north", { cursor: "not-a-cursor" })).rejects.toBeInstanceOf(
      InvalidQueryError,
    );
    await expect(store.byChild(TENANT_A, "TEST-CR-0001", { cursor })).rejects.toBeInstanceOf(
      InvalidQueryError,
    );
    await expect(store.byTeam(TENANT_A, "team-south", { cursor })).rejects.toBeInstanceOf(InvalidQueryError);
    await expect(store.byTeam(TENANT_B, "team-north", { cursor })).rejects.toBeInstanceOf(InvalidQueryError);
    // A hand-made cursor pointing tenant A's query at tenant B's partition.
    const forged = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as Record<string, string>;
    const intoB = Object.fromEntries(
      Object.entries(forged).map(([k, v]) => [k, v.replace(`T#${TENANT_A}`, `T#${TENANT_B}`)]),
    );
    await expect(
      store.byTeam(TENANT_A, "team-north", {
        cursor: Buffer.from(JSON.stringify(intoB)).toString("base64url"),
      }),
    ).rejects.toBeInstanceOf(InvalidQueryError);
  });
});

describe("tenant isolation", () => {
  it("never shows tenant A's challenges to tenant B, through any query", async () => {
    const far = "2099-01-01T00:00:00Z";
    expect(ids(await store.openByDueDate(TENANT_B, far))).toEqual(["B-C1"]);
    expect(ids(await store.byRecipient(TENANT_B, "tm-0001"))).toEqual(["B-C1"]);
    expect(ids(await store.byRecipient(TENANT_B, "tm-0002"))).toEqual([]);
    expect(ids(await store.byChild(TENANT_B, "TEST-CR-0001"))).toEqual(["B-C1"]);
    expect(ids(await store.byChild(TENANT_B, "TEST-CR-0002"))).toEqual([]);
    expect(ids(await store.byTeam(TENANT_B, "team-north"))).toEqual(["B-C1"]);
    expect(ids(await store.byTeam(TENANT_B, "team-south"))).toEqual([]);
    expect(ids(await store.raisedInMonth(TENANT_B, "2025-03"))).toEqual(["B-C1"]);
    expect(ids(await store.raisedInMonth(TENANT_B, "2025-04"))).toEqual([]);
    expect(await store.get(TENANT_B, "A-C1")).toBeUndefined();
    expect(await store.events(TENANT_B, "A-C1")).toEqual([]);
    // And the other way round.
    expect(ids(await store.openByDueDate(TENANT_A, far))).not.toContain("B-C1");
    expect(await store.get(TENANT_A, "B-C1")).toBeUndefined();
  });

  it("refuses a tenant id that could reach into another tenant's keys", async () => {
    await expect(store.get(`${TENANT_A}#C#A-C1`, "x")).rejects.toThrow(/invalid tenant id/);
    await expect(store.byTeam("", "team-north")).rejects.toThrow(/invalid tenant id/);
  });
});
