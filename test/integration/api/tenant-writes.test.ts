import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";

vi.hoisted(() => {
  process.env.POWERTOOLS_METRICS_DISABLED = "true";
  process.env.POWERTOOLS_LOG_LEVEL = "SILENT";
});

import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { spec as getConfigSpec } from "../../../functions/api/get-config.js";
import { spec as getDirectorySpec } from "../../../functions/api/get-directory.js";
import {
  type ApiDependencies,
  idempotencyPersistenceFactory,
  presetProtocol,
} from "../../../functions/api/http/dependencies.js";
import { createHandler } from "../../../functions/api/http/middleware.js";
import { spec as putConfigSpec } from "../../../functions/api/put-config.js";
import { spec as putStaffSpec } from "../../../functions/api/put-staff-member.js";
import { DynamoChallengeStore } from "../../../functions/store/dynamo-challenge-store.js";
import {
  RoleAlreadyHeldError,
  type StaffMember,
  TenantStore,
  TenantVersionMismatchError,
} from "../../../functions/store/tenant-store.js";
import { TENANT, apiEvent, callers, invoke } from "../../support/api-events.js";
import { createTestTable, dynamoDbEndpoint, localDocumentClient } from "../../support/dynamodb-local.js";
import { FakeWorkflow, InMemoryGoodPractice, NOW } from "../../unit/api/fakes.js";

/**
 * Configuration and directory writes at the version read (If-Match against the tenant's version,
 * store/tenant-version.ts) and one active holder per role per place, through the handlers and the
 * real TenantStore on DynamoDB Local, where the conditional transaction is what stops a race.
 */

let client: DynamoDBDocumentClient;
let raw: DynamoDBClient;
let drop: () => Promise<void>;
let tenants: TenantStore;
let deps: ApiDependencies;

const admin = callers.serviceManager;
const config = { protocolId: "nottingham", closureDays: [], reminders: {} };
const teamManager = (personId: string, teamId: string, active = true): Omit<StaffMember, "personId"> => ({
  displayName: `Invented ${personId}`,
  email: `${personId}@authority.example`,
  active,
  roles: [{ role: "team_manager", scope: { kind: "team", teamId } }],
});

beforeAll(async () => {
  client = localDocumentClient();
  raw = new DynamoDBClient({
    endpoint: dynamoDbEndpoint(),
    region: "eu-west-2",
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
  });
  let tableName: string;
  ({ tableName, drop } = await createTestTable(client));
  tenants = new TenantStore(client, tableName, () => NOW);
  deps = {
    challenges: new DynamoChallengeStore(client, tableName),
    tenants,
    protocols: presetProtocol,
    workflow: new FakeWorkflow(),
    clock: () => NOW,
    goodPractice: new InMemoryGoodPractice(),
    idempotency: idempotencyPersistenceFactory(tableName, raw),
    idempotencyTtlSeconds: 3600,
  };
});

afterAll(async () => {
  await drop();
  client.destroy();
  raw.destroy();
});

const getDirectory = () =>
  invoke(createHandler(getDirectorySpec, deps), apiEvent("get-directory", { caller: admin }));
const getConfig = () => invoke(createHandler(getConfigSpec, deps), apiEvent("get-config", { caller: admin }));
const putConfig = (body: unknown, ifMatch?: string) =>
  invoke(
    createHandler(putConfigSpec, deps),
    apiEvent("put-config", {
      caller: admin,
      body,
      headers: ifMatch === undefined ? {} : { "If-Match": ifMatch },
    }),
  );
const putStaff = (personId: string, body: unknown, ifMatch?: string) =>
  invoke(
    createHandler(putStaffSpec, deps),
    apiEvent("put-staff-member", {
      caller: admin,
      pathParameters: { personId },
      body,
      headers: ifMatch === undefined ? {} : { "If-Match": ifMatch },
    }),
  );

describe("configuration and directory writes carry the version they were read at", () => {
  it('answers a new authority\'s directory with ETag "0" and takes its first configuration at it', async () => {
    const directory = await getDirectory();
    expect(directory.status).toBe(200);
    expect(directory.headers.etag).toBe('"0"');
    const written = await putConfig(config, directory.headers.etag);
    expect(written.status).toBe(200);
    expect(written.headers.etag).toBe('"1"');
    const read = await getConfig();
    expect(read.headers.etag).toBe('"1"');
    expect(await tenants.version(TENANT)).toBe(1);
  });

  it("refuses a write without If-Match with 428, storing nothing", async () => {
    const before = await tenants.version(TENANT);
    const response = await putConfig({ ...config, closureDays: ["2026-12-29"] });
    expect(response.status).toBe(428);
    expect(response.headers["content-type"]).toBe("application/problem+json");
    expect(response.body).toMatchObject({ code: "PRECONDITION_REQUIRED", errors: [{ header: "if-match" }] });
    const staff = await putStaff("tm-nobody", teamManager("tm-nobody", "team-x"));
    expect(staff.status).toBe(428);
    expect(await tenants.version(TENANT)).toBe(before);
    expect((await tenants.getConfig(TENANT))?.closureDays).toEqual([]);
    expect(await tenants.getStaff(TENANT, "tm-nobody")).toBeUndefined();
  });

  it("refuses a stale If-Match with 412 naming the current version, storing nothing", async () => {
    const read = await getConfig();
    const stale = read.headers.etag ?? "";
    // Someone else changes the directory after our read: one version covers both.
    const other = await putStaff("tm-east", teamManager("tm-east", "team-east"), stale);
    expect(other.status).toBe(200);
    const current = Number(JSON.parse(other.headers.etag ?? '"0"'));

    const response = await putConfig({ ...config, closeOfBusiness: "16:00" }, stale);
    expect(response.status).toBe(412);
    expect(response.body).toMatchObject({ code: "TENANT_VERSION_MISMATCH", status: 412 });
    expect((response.body as { detail: string }).detail).toContain(`now at version ${String(current)}`);
    expect((await tenants.getConfig(TENANT))?.closeOfBusiness).toBeUndefined();
    expect(await tenants.version(TENANT)).toBe(current);

    const retried = await putConfig({ ...config, closeOfBusiness: "16:00" }, other.headers.etag);
    expect(retried.status).toBe(200);
    expect((await tenants.getConfig(TENANT))?.closeOfBusiness).toBe("16:00");
  });

  it("lets only one of two writers that read the same version store (the condition is in the transaction)", async () => {
    const version = await tenants.version(TENANT);
    const results = await Promise.allSettled([
      tenants.writeStaff(TENANT, { personId: "tm-a", ...teamManager("tm-a", "team-a") }, version),
      tenants.writeConfig(TENANT, { ...config, closeOfBusiness: "15:30" }, version),
    ]);
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    const refused = results.find((r) => r.status === "rejected");
    expect(refused?.reason).toBeInstanceOf(TenantVersionMismatchError);
    expect(await tenants.version(TENANT)).toBe(version + 1);
  });

  it("accepts `*` as a deliberate write over whatever is current", async () => {
    const before = await tenants.version(TENANT);
    const response = await putConfig(config, "*");
    expect(response.status).toBe(200);
    expect(response.headers.etag).toBe(`"${String(before + 1)}"`);
  });
});

describe("one active holder per role per team (partner agency, authority)", () => {
  it("refuses a second active holder with 409 naming the holder's person id, storing nothing", async () => {
    let etag = (await getDirectory()).headers.etag ?? "";
    const first = await putStaff("tm-north-1", teamManager("tm-north-1", "team-north"), etag);
    expect(first.status).toBe(200);
    etag = first.headers.etag ?? "";

    const second = await putStaff("tm-north-2", teamManager("tm-north-2", "team-north"), etag);
    expect(second.status).toBe(409);
    expect(second.body).toMatchObject({
      code: "ROLE_ALREADY_HELD",
      errors: [{ pointer: "/roles/0", detail: "team_manager for team team-north is held by tm-north-1" }],
    });
    expect(await tenants.getStaff(TENANT, "tm-north-2")).toBeUndefined();
    expect((await getDirectory()).headers.etag).toBe(etag);

    // Another team's role, or the same person again, is no conflict.
    const elsewhere = await putStaff("tm-north-2", teamManager("tm-north-2", "team-south"), etag);
    expect(elsewhere.status).toBe(200);
    const again = await putStaff(
      "tm-north-1",
      teamManager("tm-north-1", "team-north"),
      elsewhere.headers.etag,
    );
    expect(again.status).toBe(200);
  });

  it("hands a role over once its holder has left (or lost it), and keeps leavers out of the count", async () => {
    let etag = (await getDirectory()).headers.etag ?? "";
    const left = await putStaff("tm-west-1", teamManager("tm-west-1", "team-west"), etag);
    etag = left.headers.etag ?? "";
    const leaving = await putStaff("tm-west-1", teamManager("tm-west-1", "team-west", false), etag);
    expect(leaving.status).toBe(200);
    const successor = await putStaff(
      "tm-west-2",
      teamManager("tm-west-2", "team-west"),
      leaving.headers.etag,
    );
    expect(successor.status).toBe(200);
    // The leaver coming back as holder would be a second one.
    const back = await putStaff("tm-west-1", teamManager("tm-west-1", "team-west"), successor.headers.etag);
    expect(back.status).toBe(409);
    const lookup = await tenants.directoryLookup(TENANT);
    expect(lookup({ role: "team_manager", title: "Team Manager" }, { teamId: "team-west" })?.personId).toBe(
      "tm-west-2",
    );
  });

  it("never lets two concurrent writes both take one role", async () => {
    const outcomes = await Promise.allSettled(
      ["tm-race-1", "tm-race-2", "tm-race-3"].map((personId) =>
        tenants.writeStaff(TENANT, { personId, ...teamManager(personId, "team-race") }),
      ),
    );
    expect(outcomes.filter((o) => o.status === "fulfilled")).toHaveLength(1);
    for (const o of outcomes)
      if (o.status === "rejected") expect(o.reason).toBeInstanceOf(RoleAlreadyHeldError);
    const holders = (await tenants.listStaff(TENANT)).filter((m) =>
      m.roles.some((r) => r.scope.kind === "team" && r.scope.teamId === "team-race"),
    );
    expect(holders).toHaveLength(1);
  });

  it("applies across the authority and per partner agency too", async () => {
    const hos = (personId: string) => ({
      personId,
      displayName: `Invented ${personId}`,
      email: `${personId}@authority.example`,
      active: true,
      roles: [{ role: "head_of_service", scope: { kind: "authority" } }],
    });
    await tenants.writeStaff(TENANT, hos("hos-1"));
    await expect(tenants.writeStaff(TENANT, hos("hos-2"))).rejects.toBeInstanceOf(RoleAlreadyHeldError);
    const agency = (personId: string, partnerAgencyId: string) => ({
      ...hos(personId),
      roles: [{ role: "designated_officer", scope: { kind: "partner_agency", partnerAgencyId } }],
    });
    await tenants.writeStaff(TENANT, agency("do-police", "police"));
    await tenants.writeStaff(TENANT, agency("do-health", "health"));
    await expect(tenants.writeStaff(TENANT, agency("do-police-2", "police"))).rejects.toBeInstanceOf(
      RoleAlreadyHeldError,
    );
  });
});
