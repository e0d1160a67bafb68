import { beforeEach, describe, expect, it, vi } from "vitest";

vi.hoisted(() => {
  process.env.POWERTOOLS_METRICS_DISABLED = "true";
  process.env.POWERTOOLS_LOG_LEVEL = "SILENT";
});

import { spec as childSpec } from "../../../functions/api/child-challenges.js";
import { spec as getChallengeSpec } from "../../../functions/api/get-challenge.js";
import { spec as getConfigSpec } from "../../../functions/api/get-config.js";
import { spec as getDirectorySpec } from "../../../functions/api/get-directory.js";
import { spec as goodPracticeSpec } from "../../../functions/api/good-practice.js";
import { createHandler } from "../../../functions/api/http/middleware.js";
import { spec as myTraySpec } from "../../../functions/api/my-tray.js";
import { spec as overdueSpec } from "../../../functions/api/overdue-tray.js";
import { spec as putConfigSpec } from "../../../functions/api/put-config.js";
import { spec as putStaffSpec } from "../../../functions/api/put-staff-member.js";
import { spec as raiseSpec } from "../../../functions/api/raise-challenge.js";
import { spec as respondSpec } from "../../../functions/api/respond.js";
import { spec as teamSpec } from "../../../functions/api/team-challenges.js";
import { apiEvent, callers, invoke } from "../../support/api-events.js";
import { type Fakes, makeFakes, raiseBody } from "./fakes.js";

let fakes: Fakes;
beforeEach(async () => {
  fakes = await makeFakes();
});

async function raiseOne(): Promise<string> {
  const response = await invoke(
    createHandler(raiseSpec, fakes.deps),
    apiEvent("raise-challenge", { body: raiseBody() }),
  );
  return (response.body as { challenge: { challengeId: string } }).challenge.challengeId;
}

interface TrayBody {
  items: {
    challengeId: string;
    caseRecordId: string;
    stage: { label: string; overdue: boolean; assigneePersonId: string } | null;
  }[];
}

describe("get-challenge", () => {
  it("returns the snapshot and a plain-English timeline in order", async () => {
    const id = await raiseOne();
    await invoke(
      createHandler(respondSpec, fakes.deps),
      apiEvent("respond", {
        caller: callers.teamManager,
        pathParameters: { challengeId: id },
        body: { response: "ok" },
      }),
    );
    const response = await invoke(
      createHandler(getChallengeSpec, fakes.deps),
      apiEvent("get-challenge", { caller: callers.auditor, pathParameters: { challengeId: id } }),
    );
    expect(response.status).toBe(200);
    expect(response.headers["cache-control"]).toBe("no-store");
    const body = response.body as {
      challenge: { version: number };
      timeline: {
        seq: number;
        type: string;
        at: string;
        actorRole: string;
        channel: string;
        summary: string;
      }[];
    };
    expect(body.challenge.version).toBe(3);
    expect(body.timeline.map((e) => [e.seq, e.type, e.actorRole, e.channel])).toEqual([
      [1, "ChallengeRaised", "IRO", "api"],
      [2, "StageOpened", "IRO", "api"],
      [3, "ResponseRecorded", "manager", "api"],
    ]);
    // The audit timeline's line (one describer), without names.
    expect(body.timeline[0]?.summary).toBe("Raised by IRO about the child protection plan");
    expect(body.timeline[1]?.summary).toMatch(
      /^Level 1 opened for the .+; response due by 5pm on [A-Z][a-z]+day \d+ June$/,
    );
    expect(body.timeline[2]?.summary).toBe("Response at Level 1 from Team Manager");
    // Summaries never carry the child's or anyone's name.
    expect(body.timeline.map((e) => e.summary).join(" ")).not.toMatch(/Alice|Sam|Terry/);
  });

  it("reads the events again when a command committed between its two reads, so the timeline is whole", async () => {
    const id = await raiseOne();
    // The events read runs beside the snapshot read; here it lands before the last command commits.
    const store = fakes.challenges;
    const readEvents = store.events.bind(store);
    let reads = 0;
    vi.spyOn(store, "events").mockImplementation(async (tenantId, challengeId) => {
      reads += 1;
      const events = await readEvents(tenantId, challengeId);
      return reads === 1 ? events.slice(0, -1) : events;
    });
    const response = await invoke(
      createHandler(getChallengeSpec, fakes.deps),
      apiEvent("get-challenge", { caller: callers.auditor, pathParameters: { challengeId: id } }),
    );
    const body = response.body as { challenge: { version: number }; timeline: { seq: number }[] };
    expect(reads).toBe(2);
    expect(body.timeline.map((e) => e.seq)).toEqual([1, 2]);
    expect(body.challenge.version).toBe(2);
  });

  it("is open to a case-record system's own token (read-only)", async () => {
    const id = await raiseOne();
    const response = await invoke(
      createHandler(getChallengeSpec, fakes.deps),
      apiEvent("get-challenge", { caller: callers.lcs, pathParameters: { challengeId: id } }),
    );
    expect(response.status).toBe(200);
  });
});

describe("trays", () => {
  it("my-tray lists the stages addressed to the caller only", async () => {
    const id = await raiseOne();
    const mine = await invoke(
      createHandler(myTraySpec, fakes.deps),
      apiEvent("my-tray", { caller: callers.teamManager }),
    );
    expect((mine.body as TrayBody).items.map((i) => i.challengeId)).toEqual([id]);
    expect((mine.body as TrayBody).items[0]).toMatchObject({
      caseRecordId: "LCS-123",
      stage: { label: "Level 1", assigneePersonId: "tm-1", overdue: false },
    });
    // Tray items carry ids and deadlines, not the child's details.
    expect(JSON.stringify(mine.body)).not.toContain("Alice");
    const theirs = await invoke(
      createHandler(myTraySpec, fakes.deps),
      apiEvent("my-tray", { caller: callers.otherManager }),
    );
    expect((theirs.body as TrayBody).items).toEqual([]);
  });

  it("overdue-tray uses dueBy (default now) and validates its query", async () => {
    const id = await raiseOne();
    const handler = createHandler(overdueSpec, fakes.deps);
    const now = await invoke(handler, apiEvent("overdue-tray", { caller: callers.serviceManager }));
    expect((now.body as TrayBody).items).toEqual([]);
    const later = await invoke(
      handler,
      apiEvent("overdue-tray", {
        caller: callers.serviceManager,
        query: { dueBy: "2026-07-01T00:00:00Z", limit: "10" },
      }),
    );
    expect((later.body as TrayBody).items.map((i) => i.challengeId)).toEqual([id]);
    const bad = await invoke(
      handler,
      apiEvent("overdue-tray", { caller: callers.serviceManager, query: { limit: "500" } }),
    );
    expect(bad.status).toBe(400);
    expect((bad.body as { errors: unknown[] }).errors).toEqual([
      { parameter: "limit", detail: expect.any(String) as unknown },
    ]);
  });

  it("child and team trays query by path id, within the caller's tenant", async () => {
    const id = await raiseOne();
    const child = await invoke(
      createHandler(childSpec, fakes.deps),
      apiEvent("child-challenges", { caller: callers.lcs, pathParameters: { caseRecordId: "LCS-123" } }),
    );
    expect((child.body as TrayBody).items.map((i) => i.challengeId)).toEqual([id]);
    const team = await invoke(
      createHandler(teamSpec, fakes.deps),
      apiEvent("team-challenges", { caller: callers.foreignIro, pathParameters: { teamId: "team-a" } }),
    );
    expect((team.body as TrayBody).items).toEqual([]);
  });
});

describe("configuration and directory", () => {
  it("get-config returns the settings and protocol name; 404 before set-up", async () => {
    const handler = createHandler(getConfigSpec, fakes.deps);
    const response = await invoke(handler, apiEvent("get-config", { caller: callers.auditor }));
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({
      config: { protocolId: "nottingham" },
      protocol: { id: "nottingham" },
    });
    const foreign = await invoke(handler, apiEvent("get-config", { caller: callers.foreignIro }));
    expect(foreign.status).toBe(404);
  });

  it("put-config stores a known preset at the version read and refuses an unknown one with a pointer", async () => {
    const handler = createHandler(putConfigSpec, fakes.deps);
    const read = await invoke(
      createHandler(getConfigSpec, fakes.deps),
      apiEvent("get-config", { caller: callers.serviceManager }),
    );
    const etag = read.headers.etag ?? "";
    expect(etag).toMatch(/^"\d+"$/);
    const ok = await invoke(
      handler,
      apiEvent("put-config", {
        caller: callers.serviceManager,
        headers: { "If-Match": etag },
        body: {
          protocolId: "halton",
          closureDays: ["2026-12-29"],
          reminders: { workingDaysBeforeDeadline: 1 },
        },
      }),
    );
    expect(ok.status).toBe(200);
    expect(ok.headers.etag).toBe(`"${String(Number(etag.replaceAll('"', "")) + 1)}"`);
    expect(fakes.tenants.configs.get("tenant-a")?.protocolId).toBe("halton");
    fakes.tenants.putCalls = 0;
    const bad = await invoke(
      handler,
      apiEvent("put-config", {
        caller: callers.serviceManager,
        body: { protocolId: "made-up", closureDays: ["2026-02-30"], reminders: {} },
      }),
    );
    expect(bad.status).toBe(400);
    const pointers = (bad.body as { errors: { pointer: string }[] }).errors.map((e) => e.pointer);
    expect(pointers).toEqual(expect.arrayContaining(["/protocolId", "/closureDays/0"]));
    expect(fakes.tenants.putCalls).toBe(0);
  });

  it("put-config refuses email wording that breaks the rules, pointing at it, and stores nothing", async () => {
    const response = await invoke(
      createHandler(putConfigSpec, fakes.deps),
      apiEvent("put-config", {
        caller: callers.serviceManager,
        headers: { "If-Match": "*" },
        body: {
          protocolId: "halton",
          closureDays: [],
          reminders: {},
          mailTemplates: { stage_opened: { subject: "About {{childName}} ({{reference}})" } },
        },
      }),
    );
    expect(response.status).toBe(400);
    const pointers = (response.body as { errors: { pointer: string }[] }).errors.map((e) => e.pointer);
    expect(pointers).toEqual(["/mailTemplates/stage_opened/subject"]);
    expect(fakes.tenants.putCalls).toBe(0);
  });

  it("only the IRO service manager may change configuration", async () => {
    const response = await invoke(
      createHandler(putConfigSpec, fakes.deps),
      apiEvent("put-config", {
        caller: callers.iro,
        body: { protocolId: "halton", closureDays: [], reminders: {} },
      }),
    );
    expect(response.status).toBe(403);
  });

  it("put-staff-member takes the person id from the path and get-directory lists it", async () => {
    const read = await invoke(
      createHandler(getDirectorySpec, fakes.deps),
      apiEvent("get-directory", { caller: callers.serviceManager }),
    );
    const put = await invoke(
      createHandler(putStaffSpec, fakes.deps),
      apiEvent("put-staff-member", {
        caller: callers.serviceManager,
        headers: { "If-Match": read.headers.etag ?? "" },
        pathParameters: { personId: "hos-2" },
        body: {
          displayName: "Hana Head",
          email: "hana@authority.example",
          active: true,
          roles: [{ role: "head_of_service", scope: { kind: "team", teamId: "team-z" } }],
        },
      }),
    );
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ member: { personId: "hos-2" } });
    const list = await invoke(
      createHandler(getDirectorySpec, fakes.deps),
      apiEvent("get-directory", { caller: callers.auditor }),
    );
    expect((list.body as { staff: { personId: string }[] }).staff.map((s) => s.personId)).toContain("hos-2");
  });

  it("put-staff-member refuses a bad email with a pointer and stores nothing", async () => {
    const response = await invoke(
      createHandler(putStaffSpec, fakes.deps),
      apiEvent("put-staff-member", {
        caller: callers.serviceManager,
        pathParameters: { personId: "x-1" },
        body: { displayName: "X", email: "not-an-email", active: true, roles: [] },
      }),
    );
    expect(response.status).toBe(400);
    expect((response.body as { errors: { pointer: string }[] }).errors[0]?.pointer).toBe("/email");
    expect(fakes.tenants.putCalls).toBe(0);
  });
});

describe("good-practice", () => {
  const body = {
    child: { caseRecordId: "LCS-123" },
    track: "CP",
    practitioner: { name: "Sam Worker", team: { name: "Assessment Team A" } },
    firstLineManager: { name: "Terry Manager" },
    whatWasGood: "Thorough direct work with the child.",
  };

  it("records under a protocol that has them and stores it", async () => {
    await fakes.tenants.putConfig("tenant-a", { protocolId: "halton", closureDays: [], reminders: {} });
    const response = await invoke(
      createHandler(goodPracticeSpec, fakes.deps),
      apiEvent("good-practice", { body }),
    );
    expect(response.status).toBe(201);
    expect(fakes.goodPractice.saved).toHaveLength(1);
    expect(fakes.goodPractice.saved[0]).toMatchObject({
      tenantId: "tenant-a",
      notification: { recordedAs: "case_note" },
    });
  });

  it("is refused (403) where the protocol has no good practice notifications", async () => {
    const response = await invoke(
      createHandler(goodPracticeSpec, fakes.deps),
      apiEvent("good-practice", { body }),
    );
    expect(response.status).toBe(403);
    expect(fakes.goodPractice.saved).toHaveLength(0);
  });
});
