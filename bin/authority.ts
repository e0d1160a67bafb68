/**
 * Setting up an authority (a tenant): `npm run authority -- init --tenant <id> --preset <protocol>
 * --directory staff.csv` stores the tenant's configuration and its staff directory, then says
 * which roles of the protocol's ladder still have no holder. `npm run authority -- --help` lists
 * every option. Against the local runtime (`npm start`) by default; `--table` and `--endpoint`
 * (or TABLE_NAME and AWS_ENDPOINT_URL_DYNAMODB) point it elsewhere.
 *
 * The directory CSV (docs/staff.example.csv): a header line, then one line per role a person holds:
 *
 *   personId,displayName,email,role,scope
 *   tm-ash,Ash Example,ash.example@example.org,team_manager,team:team-east
 *
 * `scope` is `authority`, `team:<teamId>` or `partner_agency:<id>`; a person with several roles has
 * several lines. An optional `active` column (`true`/`false`, default true) marks leavers.
 *
 * Exit codes: 0 stored, 1 stored but roles are missing, 2 the input was refused (nothing stored).
 */
import { isEntryPoint, type Output, runAsScript, runProgram } from "./cli.js";
import { readFile } from "node:fs/promises";
import { Command } from "commander";
import { findPreset, presets } from "../functions/domain/presets/index.js";
import { rolesWithoutHolder } from "../functions/domain/protocol-guide.js";
import { type StaffMember, type TenantConfig, staffMemberSchema } from "../functions/store/tenant-store.js";
import { tenantConfigInputSchema } from "../functions/store/tenant-config-input.js";

export type { Output };

/** One CSV line into fields: commas separate, double quotes enclose, `""` is a quote. */
function csvFields(line: string): string[] {
  const fields: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line.charAt(i);
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") {
      fields.push(field.trim());
      field = "";
    } else field += c;
  }
  fields.push(field.trim());
  return fields;
}

function scopeOf(text: string): StaffMember["roles"][number]["scope"] | undefined {
  if (text === "authority") return { kind: "authority" };
  const [kind, id] = text.split(":", 2);
  if (id === undefined || id === "") return undefined;
  if (kind === "team") return { kind: "team", teamId: id };
  if (kind === "partner_agency") return { kind: "partner_agency", partnerAgencyId: id };
  return undefined;
}

/** Parses the directory CSV; returns the people (roles gathered per person) or every line's problem. */
export function parseDirectoryCsv(text: string): { staff: StaffMember[]; problems: string[] } {
  const lines = text.split(/\r?\n/);
  const header = csvFields(lines[0] ?? "").map((h) => h.toLowerCase());
  const column = (name: string): number => header.indexOf(name.toLowerCase());
  const problems: string[] = [];
  for (const name of ["personId", "displayName", "email", "role", "scope"]) {
    if (column(name) < 0) problems.push(`line 1: the header has no ${name} column`);
  }
  if (problems.length > 0) return { staff: [], problems };
  const people = new Map<string, { displayName: string; email: string; active: boolean; roles: unknown[] }>();
  lines.slice(1).forEach((line, index) => {
    if (line.trim() === "" || line.trim().startsWith("#")) return;
    const fields = csvFields(line);
    const get = (name: string): string => fields[column(name)] ?? "";
    const where = `line ${String(index + 2)}`;
    const scope = scopeOf(get("scope"));
    if (scope === undefined) {
      problems.push(`${where}: scope "${get("scope")}" is not authority, team:<id> or partner_agency:<id>`);
      return;
    }
    const activeText = column("active") < 0 ? "" : get("active").toLowerCase();
    const person = people.get(get("personId")) ?? {
      displayName: get("displayName"),
      email: get("email"),
      active: activeText !== "false",
      roles: [],
    };
    person.roles.push({ role: get("role"), scope });
    people.set(get("personId"), person);
  });
  const staff: StaffMember[] = [];
  for (const [personId, person] of people) {
    const parsed = staffMemberSchema.safeParse({ personId, ...person });
    if (parsed.success) staff.push(parsed.data);
    else
      problems.push(
        `${personId || "(no personId)"}: ${parsed.error.issues.map((i) => `${i.path.join(".")} ${i.message}`).join("; ")}`,
      );
  }
  return { staff, problems };
}

interface InitOptions {
  readonly tenant: string;
  readonly preset: string;
  readonly directory: string;
  readonly closureDay: string[];
  readonly table?: string;
  readonly endpoint?: string;
  readonly region?: string;
}

async function init(options: InitOptions, io: Output): Promise<number> {
  const protocol = findPreset(options.preset);
  if (protocol === undefined) {
    io.err(`No preset "${options.preset}". Presets: ${Object.keys(presets).join(", ")}.`);
    return 2;
  }
  const config = tenantConfigInputSchema.safeParse({
    protocolId: protocol.id,
    closureDays: options.closureDay,
    reminders: {},
  } satisfies TenantConfig);
  if (!config.success) {
    io.err(`The configuration is refused: ${config.error.issues.map((i) => i.message).join("; ")}`);
    return 2;
  }
  const { staff, problems } = parseDirectoryCsv(await readFile(options.directory, "utf8"));
  if (problems.length > 0) {
    io.err(`${options.directory}: nothing stored, ${String(problems.length)} problem(s):`);
    for (const problem of problems) io.err(`  ${problem}`);
    return 2;
  }

  // Loaded here so --help and refused input never load the AWS SDK.
  const [
    { DynamoDBClient },
    { DynamoDBDocumentClient },
    { TenantStore },
    { localSettings, localUrl },
    { portsFromEnv },
  ] = await Promise.all([
    import("@aws-sdk/client-dynamodb"),
    import("@aws-sdk/lib-dynamodb"),
    import("../functions/store/tenant-store.js"),
    import("../local/settings.js"),
    import("../local/ports.js"),
  ]);
  const local = localSettings();
  const table = options.table ?? process.env.TABLE_NAME ?? local.tableName;
  const endpoint = options.endpoint ?? process.env.AWS_ENDPOINT_URL_DYNAMODB;
  const isLocal = options.table === undefined && process.env.TABLE_NAME === undefined;
  const client = DynamoDBDocumentClient.from(
    new DynamoDBClient({
      region: options.region ?? process.env.AWS_REGION ?? local.region,
      ...(isLocal
        ? {
            endpoint: endpoint ?? localUrl(portsFromEnv().dynamodb),
            // The local runtime checks no signature: never send real credentials there.
            credentials: { accessKeyId: "local", secretAccessKey: "local" },
          }
        : endpoint === undefined
          ? {}
          : { endpoint }),
    }),
    { marshallOptions: { removeUndefinedValues: true } },
  );
  try {
    const tenants = new TenantStore(client, table);
    for (const member of staff) await tenants.upsertStaff(options.tenant, member);
    // The configuration last: its presence says the authority is set up.
    await tenants.putConfig(options.tenant, config.data);
  } finally {
    client.destroy();
  }
  io.out(
    `Stored ${options.tenant}: protocol ${protocol.id} (${protocol.name}), ${String(staff.length)} staff, ` +
      `table ${table}${isLocal ? " (the local runtime)" : ""}.`,
  );
  const missing = rolesWithoutHolder(protocol, staff);
  if (missing.length === 0) {
    io.out("Every role of the ladder has a holder.");
    return 0;
  }
  io.out("Roles of the ladder with no holder yet (add them to the CSV and run init again):");
  for (const role of missing) {
    io.out(
      `  ${role.role} (${role.title})${role.teams.length === 0 ? ": nobody" : `: none for ${role.teams.join(", ")} and nobody authority-wide`}`,
    );
  }
  return 1;
}

function program(io: Output, exit: { code: number }): Command {
  const output = {
    writeOut: (text: string) => {
      io.out(text.trimEnd());
    },
    writeErr: (text: string) => {
      io.err(text.trimEnd());
    },
  };
  const root = new Command("authority")
    .description("Set up an authority (tenant) of the Challenge & Resolution Service")
    .exitOverride()
    .configureOutput(output);
  root
    .command("init")
    .description(
      "Store the tenant's configuration (the protocol) and its staff directory, then list the protocol's roles " +
        "that still have no holder. Safe to run again: people are replaced by personId.",
    )
    .requiredOption("--tenant <id>", "the tenant id (the tokens' tenant_id claim)")
    .requiredOption("--preset <protocol>", `the protocol: ${Object.keys(presets).join(", ")}`)
    .requiredOption("--directory <staff.csv>", "the staff directory (see docs/staff.example.csv)")
    .option(
      "--closure-day <YYYY-MM-DD>",
      "a closure day of the authority, beyond bank holidays (repeat for more)",
      (value: string, previous: string[]) => [...previous, value],
      [],
    )
    .option("--table <name>", "the DynamoDB table (default: TABLE_NAME, else the local runtime's)")
    .option("--endpoint <url>", "the DynamoDB endpoint (default: AWS_ENDPOINT_URL_DYNAMODB, else AWS's)")
    .option("--region <region>", "the AWS region (default: AWS_REGION)")
    .exitOverride()
    .configureOutput(output)
    .action(async (options: InitOptions) => {
      exit.code = await init(options, io);
    });
  root.addHelpText(
    "after",
    `\nEnvironment: TABLE_NAME, AWS_ENDPOINT_URL_DYNAMODB, AWS_REGION and AWS credentials as the SDK finds them;\n` +
      `with none of TABLE_NAME or --table, the local runtime's table on LOCAL_DYNAMODB_PORT (npm start).\n` +
      `Exit codes: 0 stored and every role held, 1 stored with roles missing, 2 refused (nothing stored).`,
  );
  return root;
}

/** Runs the command line; returns the exit code. */
export async function main(argv: readonly string[], io: Output): Promise<number> {
  const exit = { code: 2 };
  return runProgram(program(io, exit), argv, io, exit);
}

if (isEntryPoint(import.meta.url)) await runAsScript(main);
