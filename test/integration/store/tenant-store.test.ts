import { GetCommand, PutCommand, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { $ZodError } from "zod/v4/core";
import { CorruptItemError } from "../../../functions/store/items.js";
import { keys } from "../../../functions/store/table.js";
import {
  TenantStore,
  type StaffMember,
  type TenantConfig,
  createDirectoryLookup,
} from "../../../functions/store/tenant-store.js";
import { createTestTable, localDocumentClient } from "../../support/dynamodb-local.js";
import { TENANT_A, TENANT_B } from "../../support/fixtures.js";

let client: DynamoDBDocumentClient;
let tableName: string;
let drop: () => Promise<void>;
let tenants: TenantStore;

beforeAll(async () => {
  client = localDocumentClient();
  ({ tableName, drop } = await createTestTable(client));
  tenants = new TenantStore(client, tableName, () => new Date("2025-03-03T09:00:00.000Z"));
});

afterAll(async () => {
  await drop();
  client.destroy();
});

const config: TenantConfig = {
  protocolId: "test-protocol",
  closureDays: ["2025-12-29", "2025-12-30"],
  closeOfBusiness: "17:00",
  reminders: { workingDaysBeforeDeadline: 1 },
};

const manager = (personId: string, roles: StaffMember["roles"], active = true): StaffMember => ({
  personId,
  displayName: `Invented Person ${personId}`,
  email: `${personId}@test-borough.example`,
  active,
  roles,
});

describe("tenant configuration", () => {
  it("round-trips and is scoped to its tenant", async () => {
    expect(await tenants.getConfig(TENANT_A)).toBeUndefined();
    await tenants.putConfig(TENANT_A, config);
    expect(await tenants.getConfig(TENANT_A)).toEqual(config);
    expect(await tenants.getConfig(TENANT_B)).toBeUndefined();

    const minimal = { protocolId: "other-protocol", closureDays: [], reminders: {} };
    await tenants.putConfig(TENANT_A, minimal);
    expect(await tenants.getConfig(TENANT_A)).toEqual(minimal);
  });

  it("refuses an invalid configuration and stores nothing", async () => {
    const bad = [
      { ...config, protocolId: "Not A Slug" },
      { ...config, closureDays: ["2025-02-30"] },
      { ...config, closureDays: ["2025-12-29", "2025-12-29"] },
      { ...config, closeOfBusiness: "5pm" },
      { ...config, reminders: { workingDaysBeforeDeadline: 11 } },
      { ...config, unexpected: true },
    ];
    for (const candidate of bad) {
      await expect(tenants.putConfig(TENANT_B, candidate)).rejects.toBeInstanceOf($ZodError);
    }
    expect(await tenants.getConfig(TENANT_B)).toBeUndefined();
  });

  it("reports a corrupt configuration item clearly", async () => {
    await client.send(
      new PutCommand({
        TableName: tableName,
        Item: {
          ...keys.config("corrupt-tenant"),
          entity: "config",
          tenantId: "corrupt-tenant",
          config: { protocolId: 7 },
          updatedAt: "2025-03-03T09:00:00.000Z",
        },
      }),
    );
    await expect(tenants.getConfig("corrupt-tenant")).rejects.toBeInstanceOf(CorruptItemError);
  });
});

describe("staff directory", () => {
  it("upserts, lists and reads back staff, per tenant", async () => {
    const tm = manager("tm-0001", [{ role: "team_manager", scope: { kind: "team", teamId: "team-north" } }]);
    await tenants.upsertStaff(TENANT_A, tm);
    await tenants.upsertStaff(TENANT_A, { ...tm, displayName: "Invented Person Renamed" });
    await tenants.upsertStaff(TENANT_B, manager("b-0001", []));
    expect(await tenants.getStaff(TENANT_A, "tm-0001")).toEqual({
      ...tm,
      displayName: "Invented Person Renamed",
    });
    expect((await tenants.listStaff(TENANT_A)).map((m) => m.personId)).toEqual(["tm-0001"]);
    expect((await tenants.listStaff(TENANT_B)).map((m) => m.personId)).toEqual(["b-0001"]);
    expect(await tenants.getStaff(TENANT_B, "tm-0001")).toBeUndefined();

    const { Item } = await client.send(
      new GetCommand({ TableName: tableName, Key: keys.staff(TENANT_A, "tm-0001") }),
    );
    expect(Item).toMatchObject({
      entity: "staff",
      tenantId: TENANT_A,
      updatedAt: "2025-03-03T09:00:00.000Z",
    });
  });

  it("keeps ids with separators apart", async () => {
    await tenants.upsertStaff("sep-tenant", { ...manager("a#b", []), email: "ab@test-borough.example" });
    await tenants.upsertStaff("sep-tenant", { ...manager("a%23b", []), email: "ab2@test-borough.example" });
    expect((await tenants.listStaff("sep-tenant")).map((m) => m.personId).sort()).toEqual(["a#b", "a%23b"]);
  });

  it("refuses invalid entries", async () => {
    const bad = [
      { ...manager("x", []), email: "not-an-email" },
      { ...manager("x", []), personId: "" },
      manager("x", [{ role: "Team Manager", scope: { kind: "team", teamId: "t" } }]),
      { ...manager("x", []), roles: [{ role: "team_manager", scope: { kind: "everywhere" } }] },
      { ...manager("x", []), active: undefined },
    ];
    for (const candidate of bad) {
      await expect(tenants.upsertStaff(TENANT_A, candidate)).rejects.toBeInstanceOf($ZodError);
    }
    expect(await tenants.getStaff(TENANT_A, "x")).toBeUndefined();
  });
});

describe("directory lookup", () => {
  it("resolves roles in the partner agency only (never the council's), else team then authority-wide, skipping leavers", async () => {
    const tenant = "lookup-tenant";
    const staff = [
      manager("tm-north", [{ role: "team_manager", scope: { kind: "team", teamId: "team-north" } }]),
      manager(
        "tm-south-left",
        [{ role: "team_manager", scope: { kind: "team", teamId: "team-south" } }],
        false,
      ),
      manager("hos-1", [{ role: "head_of_service", scope: { kind: "authority" } }]),
      manager("police-di", [
        { role: "designated_officer", scope: { kind: "partner_agency", partnerAgencyId: "police" } },
      ]),
      manager("csc-do", [{ role: "designated_officer", scope: { kind: "authority" } }]),
    ];
    for (const m of staff) await tenants.upsertStaff(tenant, m);
    const lookup = await tenants.directoryLookup(tenant);

    const tm = { role: "team_manager", title: "Team Manager" };
    expect(lookup(tm, { teamId: "team-north" })).toEqual({
      ...tm,
      personId: "tm-north",
      email: "tm-north@test-borough.example",
    });
    expect(lookup(tm, { teamId: "team-south" })).toBeUndefined();
    expect(
      lookup({ role: "head_of_service", title: "Head of Service" }, { teamId: "team-north" })?.personId,
    ).toBe("hos-1");
    // Two holders at one place (entries written before staff writes refused a second): the lowest
    // person id, whatever order they were read in.
    const legacy = [
      manager("hos-2", [{ role: "head_of_service", scope: { kind: "authority" } }]),
      manager("hos-1", [{ role: "head_of_service", scope: { kind: "authority" } }]),
    ];
    expect(
      createDirectoryLookup(legacy)({ role: "head_of_service", title: "Head of Service" }, { teamId: "t" })
        ?.personId,
    ).toBe("hos-1");
    const dOfficer = { role: "designated_officer", title: "Designated Officer" };
    expect(lookup(dOfficer, { teamId: "team-north", partnerAgencyId: "police" })?.personId).toBe("police-di");
    // No holder in the agency: nobody, never the council's own holder (issue 9 §3).
    expect(lookup(dOfficer, { teamId: "team-north", partnerAgencyId: "health" })).toBeUndefined();
    expect(lookup(dOfficer, { teamId: "team-north" })?.personId).toBe("csc-do");
    expect(lookup({ role: "director", title: "Director" }, { teamId: "team-north" })).toBeUndefined();

    // Standing, for approvals: holders in scope, not leavers, not the agency's holder for the council.
    expect(lookup.standing("hos-1", "head_of_service", { teamId: "team-north" })).toBe("holder");
    expect(lookup.standing("tm-north", "team_manager", { teamId: "team-south" })).toBeUndefined();
    expect(lookup.standing("tm-south-left", "team_manager", { teamId: "team-south" })).toBeUndefined();
    expect(lookup.standing("police-di", "designated_officer", { teamId: "team-north" })).toBeUndefined();
    expect(lookup.standing("nobody", "head_of_service", { teamId: "team-north" })).toBeUndefined();
  });

  it("stores named cover and answers it as cover, never as a holder to send challenges to", async () => {
    const tenant = "cover-tenant";
    await tenants.upsertStaff(tenant, {
      ...manager("tm-north", [{ role: "team_manager", scope: { kind: "team", teamId: "team-north" } }]),
      coverFor: [{ role: "head_of_service", scope: { kind: "authority" } }],
    });
    const lookup = await tenants.directoryLookup(tenant);
    expect(lookup.standing("tm-north", "head_of_service", { teamId: "team-north" })).toBe("cover");
    expect(
      lookup({ role: "head_of_service", title: "Head of Service" }, { teamId: "team-north" }),
    ).toBeUndefined();
  });
});
