/**
 * The retention report:
 *
 *   npm run retention -- dry-run [--tenant <id>]... [--as-of <YYYY-MM-DD>]
 *       Lists, per tenant, the records past their retention date that the daily job would delete,
 *       and those a legal hold keeps. Deletes nothing. Ids, dates and rules only: no personal data.
 *       TABLE_NAME from the environment (the local runtime's table when run beside `npm start`,
 *       with AWS_ENDPOINT_URL_DYNAMODB); tenants from --tenant or RETENTION_TENANT_IDS; the as-of
 *       date defaults to today (London).
 *
 * Exit codes: 0 done, 2 the command was used wrongly.
 */
import { isEntryPoint, type Output, runAsScript } from "./cli.js";
import { parseArgs } from "node:util";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { londonDay } from "../functions/domain/london-time.js";
import { runRetention, type RetentionReport } from "../functions/retention/run-retention.js";
import { RetentionStore } from "../functions/store/retention-store.js";
import { isTenantId } from "../functions/store/table.js";
import type { RetentionRepository } from "../functions/retention/run-retention.js";

export type { Output };

const USAGE = "usage: retention dry-run [--tenant <id>]... [--as-of <YYYY-MM-DD>]";

/** One line per record: tenant, challenge, retention date, rule, what the job would do. */
export function formatReport(report: RetentionReport): string[] {
  const lines = report.lines.map((line) =>
    [
      line.tenantId,
      line.challengeId,
      `kept until ${line.retainUntil}`,
      line.rule,
      line.outcome === "held" ? `HELD since ${line.heldSince ?? "?"}` : "would be deleted",
    ].join("\t"),
  );
  return [
    ...lines,
    `As of ${report.asOf}: ${report.counts.would_delete} would be deleted, ${report.counts.held} held.`,
  ];
}

export async function main(
  argv: readonly string[],
  io: Output,
  env: Record<string, string | undefined> = process.env,
  repository?: RetentionRepository,
  today: Date = new Date(),
): Promise<number> {
  const [command, ...rest] = argv;
  if (command !== "dry-run") {
    io.err(USAGE);
    return 2;
  }
  let values: { tenant?: string[]; "as-of"?: string };
  try {
    ({ values } = parseArgs({
      args: [...rest],
      options: { tenant: { type: "string", multiple: true }, "as-of": { type: "string" } },
      strict: true,
    }));
  } catch (error) {
    io.err(`${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
    return 2;
  }
  const tenantIds = values.tenant ?? (env.RETENTION_TENANT_IDS ?? "").split(",").filter((id) => id !== "");
  if (tenantIds.length === 0 || !tenantIds.every(isTenantId)) {
    io.err(`name the tenants with --tenant (or RETENTION_TENANT_IDS)\n${USAGE}`);
    return 2;
  }
  const asOf = values["as-of"] ?? londonDay(today.toISOString());
  if (!/^\d{4}-\d{2}-\d{2}$/.test(asOf) || Number.isNaN(Date.parse(asOf))) {
    io.err(`--as-of must be a date YYYY-MM-DD\n${USAGE}`);
    return 2;
  }
  let store = repository;
  if (store === undefined) {
    const table = env.TABLE_NAME;
    if (table === undefined || table === "") {
      io.err("dry-run needs TABLE_NAME in the environment");
      return 2;
    }
    store = new RetentionStore(DynamoDBDocumentClient.from(new DynamoDBClient({})), table);
  }
  const report = await runRetention(store, { tenantIds, asOf, dryRun: true }, () => today);
  for (const line of formatReport(report)) io.out(line);
  return 0;
}

if (isEntryPoint(import.meta.url)) await runAsScript(main);
