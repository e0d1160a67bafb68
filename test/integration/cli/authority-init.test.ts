import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { main, parseDirectoryCsv } from "../../../bin/authority.js";
import { TenantStore } from "../../../functions/store/tenant-store.js";
import { createTestTable, dynamoDbEndpoint, localDocumentClient } from "../../support/dynamodb-local.js";

/** `npm run authority -- init` against DynamoDB Local, with the example directory the README shows. */
describe("authority init", () => {
  const client = localDocumentClient();
  let table: { tableName: string; drop: () => Promise<void> };
  let dir: string;
  let out: string[];
  let err: string[];
  const io = {
    out: (line: string) => out.push(line),
    err: (line: string) => err.push(line),
  };
  const run = (tenant: string, csv: string): Promise<number> =>
    main(
      [
        "init",
        "--tenant",
        tenant,
        "--preset",
        "halton",
        "--directory",
        csv,
        "--table",
        table.tableName,
      ].concat(["--endpoint", dynamoDbEndpoint(), "--region", "eu-west-2"]),
      io,
    );

  beforeAll(async () => {
    vi.stubEnv("AWS_ACCESS_KEY_ID", "local");
    vi.stubEnv("AWS_SECRET_ACCESS_KEY", "local");
    table = await createTestTable(client);
    dir = await mkdtemp(path.join(tmpdir(), "authority-init-"));
  });

  afterAll(async () => {
    vi.unstubAllEnvs();
    await table.drop();
    await rm(dir, { recursive: true, force: true });
  });

  it("stores the configuration and the example directory; every Halton role is held", async () => {
    out = [];
    err = [];
    expect(await run("halton-test", "docs/staff.example.csv")).toBe(0);
    expect(err).toEqual([]);
    expect(out.at(-1)).toBe("Every role of the ladder has a holder.");
    const tenants = new TenantStore(client, table.tableName);
    expect((await tenants.getConfig("halton-test"))?.protocolId).toBe("halton");
    const staff = await tenants.listStaff("halton-test");
    expect(staff.map((m) => m.personId)).toContain("pm-east-lena");
    expect(staff.find((m) => m.personId === "pm-east-lena")?.roles).toEqual([
      { role: "team_manager", scope: { kind: "team", teamId: "team-east" } },
    ]);
  });

  it("names the roles that still have no holder, and exits 1", async () => {
    out = [];
    err = [];
    const csv = path.join(dir, "partial.csv");
    await writeFile(
      csv,
      "personId,displayName,email,role,scope\n" +
        "pm-a,Ann Invented,ann.invented@example.org,team_manager,team:team-a\n" +
        "pm-a,Ann Invented,ann.invented@example.org,service_manager,authority\n",
    );
    expect(await run("halton-partial", csv)).toBe(1);
    const report = out.join("\n");
    expect(report).toMatch(/assistant_director \(Operational Director\): nobody/);
    expect(report).not.toMatch(/team_manager/);
  });

  it("refuses a bad directory, stores nothing and names the lines", async () => {
    out = [];
    err = [];
    const csv = path.join(dir, "bad.csv");
    await writeFile(
      csv,
      "personId,displayName,email,role,scope\npm-b,Bo Invented,not-an-email,team_manager,team:x\npm-c,Cy,c@example.org,team_manager,county\n",
    );
    expect(await run("halton-bad", csv)).toBe(2);
    expect(err.join("\n")).toMatch(/line 3: scope "county"/);
    expect(await new TenantStore(client, table.tableName).getConfig("halton-bad")).toBeUndefined();
  });

  it("reads quoted CSV fields", () => {
    const { staff, problems } = parseDirectoryCsv(
      'personId,displayName,email,role,scope\nx-1,"Quinn, ""Q"" Invented",q@example.org,iro,authority\n',
    );
    expect(problems).toEqual([]);
    expect(staff[0]?.displayName).toBe('Quinn, "Q" Invented');
  });
});
