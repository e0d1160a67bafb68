import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  NotInDirectoryError,
  UnknownAbsenceError,
  endAbsence,
  recordAbsence,
} from "../../../functions/app/absences.js";
import type { Absence } from "../../../functions/domain/absence.js";
import { TenantStore, type StaffMember } from "../../../functions/store/tenant-store.js";
import { createTestTable, localDocumentClient } from "../../support/dynamodb-local.js";
import { TENANT_A, TENANT_B } from "../../support/fixtures.js";

/** Absences in the staff directory, on DynamoDB Local: recorded, ended, kept across a PUT, never lost to a race. */

let client: DynamoDBDocumentClient;
let tableName: string;
let drop: () => Promise<void>;
let tenants: TenantStore;

beforeAll(async () => {
  client = localDocumentClient();
  ({ tableName, drop } = await createTestTable(client));
  tenants = new TenantStore(client, tableName, () => new Date("2026-12-05T09:00:00.000Z"));
});

afterAll(async () => {
  await drop();
  client.destroy();
});

const team = { kind: "team", teamId: "team-north" } as const;
const holder: StaffMember = {
  personId: "tm-holder",
  displayName: "Invented Holder",
  email: "holder@test-borough.example",
  active: true,
  roles: [{ role: "team_manager", scope: team }],
};
const cover: StaffMember = {
  personId: "tm-cover",
  displayName: "Invented Cover",
  email: "cover@test-borough.example",
  active: true,
  roles: [],
  coverFor: [{ role: "team_manager", scope: team }],
};
const absence = (absenceId: string, from: string, to?: string) => ({
  absenceId,
  from,
  ...(to === undefined ? {} : { to }),
  source: "api" as const,
  recordedBy: "ism-ida",
  recordedAt: "2026-12-05T09:00:00.000Z",
});
const recipient = { role: "team_manager", title: "Team Manager" };

describe("absences in the staff directory", () => {
  it("are recorded once per id, read back with the member, survive a PUT of the member, and end early", async () => {
    await tenants.upsertStaff(TENANT_A, holder);
    await tenants.upsertStaff(TENANT_A, cover);
    const recorded = await recordAbsence(
      tenants,
      TENANT_A,
      holder.personId,
      absence("abs-1", "2026-12-07", "2026-12-11"),
    );
    // A retry with the same id records nothing twice.
    await recordAbsence(tenants, TENANT_A, holder.personId, absence("abs-1", "2026-12-07", "2026-12-11"));
    expect((await tenants.getStaff(TENANT_A, holder.personId))?.absences).toEqual([recorded]);

    // Replacing the member's entry keeps the absences recorded meanwhile.
    await tenants.upsertStaff(TENANT_A, { ...holder, displayName: "Invented Holder (renamed)" });
    const entry = await tenants.getStaff(TENANT_A, holder.personId);
    expect(entry?.displayName).toBe("Invented Holder (renamed)");
    expect(entry?.absences).toEqual([recorded]);

    const lookup = await tenants.directoryLookup(TENANT_A);
    const scope = { teamId: "team-north" };
    expect(lookup.absence?.(holder.personId, recipient, scope, "2026-12-06")).toBeUndefined();
    expect(lookup.absence?.(holder.personId, recipient, scope, "2026-12-08")).toEqual({
      absence: recorded,
      cover: { ...recipient, personId: cover.personId, email: cover.email },
    });
    expect(
      lookup.absence?.(holder.personId, recipient, { teamId: "team-south" }, "2026-12-08")?.cover,
    ).toBeUndefined();

    const ended = await endAbsence(tenants, TENANT_A, holder.personId, "abs-1", "2026-12-09", "ism-ida");
    expect(ended).toMatchObject({ endedOn: "2026-12-09", endedBy: "ism-ida" });
    const after = await tenants.directoryLookup(TENANT_A);
    expect(after.absence?.(holder.personId, recipient, scope, "2026-12-08")).toBeDefined();
    expect(after.absence?.(holder.personId, recipient, scope, "2026-12-09")).toBeUndefined();
    // Another tenant's directory knows nothing of it.
    expect(await tenants.getStaff(TENANT_B, holder.personId)).toBeUndefined();
  });

  it("are never lost when two are recorded at once (the write is conditional on what was read)", async () => {
    // Another team's manager: one active holder per role per team.
    const person = {
      ...holder,
      personId: "tm-busy",
      roles: [{ role: "team_manager", scope: { kind: "team" as const, teamId: "team-busy" } }],
    };
    await tenants.upsertStaff(TENANT_A, person);
    await Promise.all(
      ["a", "b", "c", "d"].map((id) =>
        recordAbsence(tenants, TENANT_A, person.personId, absence(`abs-${id}`, "2026-12-14")),
      ),
    );
    const ids = ((await tenants.getStaff(TENANT_A, person.personId))?.absences ?? []).map(
      (a: Absence) => a.absenceId,
    );
    expect(ids.sort()).toEqual(["abs-a", "abs-b", "abs-c", "abs-d"]);
    // A stale expectation is refused rather than overwriting.
    expect(
      await tenants.replaceAbsences(TENANT_A, person.personId, [], [absence("abs-z", "2026-12-20")]),
    ).toBe(false);
  });

  it("are refused for someone not in the directory, an unknown absence, or a bad date, and nothing is stored", async () => {
    await expect(
      recordAbsence(tenants, TENANT_A, "nobody", absence("abs-1", "2026-12-07")),
    ).rejects.toBeInstanceOf(NotInDirectoryError);
    await expect(
      endAbsence(tenants, TENANT_A, holder.personId, "abs-unknown", "2026-12-09", "ism-ida"),
    ).rejects.toBeInstanceOf(UnknownAbsenceError);
    await expect(
      tenants.replaceAbsences(TENANT_A, holder.personId, undefined, [absence("abs-bad", "7 December")]),
    ).rejects.toThrow();
    expect((await tenants.getStaff(TENANT_A, holder.personId))?.absences?.map((a) => a.absenceId)).toEqual([
      "abs-1",
    ]);
    // The condition needs the person's item: no item is created for someone unknown.
    expect(
      await tenants.replaceAbsences(TENANT_A, "nobody", undefined, [absence("abs-1", "2026-12-07")]),
    ).toBe(false);
    expect(await tenants.getStaff(TENANT_A, "nobody")).toBeUndefined();
  });
});
