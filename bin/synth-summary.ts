/**
 * What `npm run synth` prints at the end, read from the cloud assembly `cdk synth` wrote: per stack,
 * its resources by type, and the cdk-nag outcome (findings left, and acknowledgements with their
 * reasons). Reads files only, so a test can run it on an assembly synthesised without bundling.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";

interface MetadataEntry {
  readonly type: string;
  readonly data?: unknown;
}

interface Manifest {
  readonly artifacts?: Record<
    string,
    {
      readonly type: string;
      readonly displayName?: string;
      readonly properties?: { readonly templateFile?: string };
      readonly metadata?: Record<string, MetadataEntry[]>;
      readonly additionalMetadataFile?: string;
    }
  >;
}

interface ValidationReport {
  readonly pluginReports?: readonly {
    readonly pluginName?: string;
    readonly violations?: readonly { readonly severity?: string; readonly ruleName: string }[];
  }[];
}

/** The construct metadata type under which `Validations.of(scope).acknowledge` records a rule and its reason. */
const ACKNOWLEDGED = "aws:cdk:acknowledged-rules";

export interface StackSummary {
  readonly name: string;
  readonly templateFile: string;
  readonly resourceCount: number;
  /** Resource types, most numerous first (ties by name). */
  readonly resourcesByType: readonly (readonly [type: string, count: number])[];
  /** Each acknowledgement: a rule on a construct, with the reason given (empty when none was). */
  readonly acknowledgements: readonly {
    readonly path: string;
    readonly rule: string;
    readonly reason: string;
  }[];
}

export interface AssemblySummary {
  readonly stacks: readonly StackSummary[];
  /** Findings the validation plugins reported (nothing acknowledged them), by severity. */
  readonly findings: Readonly<Record<string, number>>;
}

function readJson(path: string): unknown {
  return JSON.parse(readFileSync(path, "utf8"));
}

function readJsonIfPresent(path: string): unknown {
  try {
    return readJson(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

/** Summarises the cloud assembly in `directory` (cdk.out). */
export function summariseAssembly(directory: string): AssemblySummary {
  const manifest = readJson(join(directory, "manifest.json")) as Manifest;
  const stacks: StackSummary[] = [];
  for (const [id, artifact] of Object.entries(manifest.artifacts ?? {})) {
    if (artifact.type !== "aws:cloudformation:stack") continue;
    const templateFile = artifact.properties?.templateFile ?? `${id}.template.json`;
    const template = readJson(join(directory, templateFile)) as {
      Resources?: Record<string, { Type: string }>;
    };
    const counts = new Map<string, number>();
    for (const resource of Object.values(template.Resources ?? {}))
      counts.set(resource.Type, (counts.get(resource.Type) ?? 0) + 1);
    const metadata =
      artifact.additionalMetadataFile === undefined
        ? (artifact.metadata ?? {})
        : (readJson(join(directory, artifact.additionalMetadataFile)) as Record<string, MetadataEntry[]>);
    const acknowledgements = Object.entries(metadata).flatMap(([path, entries]) =>
      entries
        .filter((entry) => entry.type === ACKNOWLEDGED)
        .flatMap((entry) =>
          Object.entries((entry.data ?? {}) as Record<string, unknown>).map(([rule, reason]) => ({
            path,
            rule,
            reason: typeof reason === "string" ? reason.trim() : "",
          })),
        ),
    );
    stacks.push({
      name: artifact.displayName ?? id,
      templateFile,
      resourceCount: [...counts.values()].reduce((a, b) => a + b, 0),
      resourcesByType: [...counts.entries()].sort(([a, x], [b, y]) => y - x || a.localeCompare(b)),
      acknowledgements,
    });
  }
  const report = readJsonIfPresent(join(directory, "validation-report.json")) as ValidationReport | undefined;
  const findings: Record<string, number> = {};
  for (const plugin of report?.pluginReports ?? []) {
    for (const violation of plugin.violations ?? []) {
      const severity = violation.severity ?? "error";
      findings[severity] = (findings[severity] ?? 0) + 1;
    }
  }
  return { stacks, findings };
}

const plural = (count: number, one: string, many = `${one}s`): string =>
  `${String(count)} ${count === 1 ? one : many}`;

/** The lines printed after a synth: a few per stack, then the cdk-nag outcome. */
export function formatSummary(
  summary: AssemblySummary,
  options: { readonly topTypes?: number } = {},
): string[] {
  const top = options.topTypes ?? 6;
  const lines: string[] = [];
  for (const stack of summary.stacks) {
    const shown = stack.resourcesByType.slice(0, top).map(([type, count]) => `${String(count)} ${type}`);
    const others = stack.resourcesByType.length - shown.length;
    lines.push(`Stack ${stack.name}: ${plural(stack.resourceCount, "resource")} (${stack.templateFile})`);
    lines.push(`  ${shown.join(", ")}${others > 0 ? `, and ${plural(others, "other type")}` : ""}`);
    const rules = new Set(stack.acknowledgements.map((a) => a.rule));
    const withoutReason = stack.acknowledgements.filter((a) => a.reason === "").length;
    lines.push(
      `  cdk-nag: ${plural(stack.acknowledgements.length, "acknowledgement")} (${plural(rules.size, "rule")}), ` +
        (withoutReason === 0 ? "each with a reason" : `${String(withoutReason)} WITHOUT a reason`),
    );
  }
  const severities = Object.entries(summary.findings);
  lines.push(
    severities.length === 0
      ? "cdk-nag (AwsSolutions, Serverless, NIST 800-53 rev 5): 0 errors, 0 warnings left unacknowledged"
      : `cdk-nag (AwsSolutions, Serverless, NIST 800-53 rev 5): ${severities.map(([s, n]) => `${String(n)} ${s}`).join(", ")} left unacknowledged`,
  );
  return lines;
}
