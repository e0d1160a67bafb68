/**
 * Handler bundles: each handler's index.mjs size (from the esbuild metafile, by npm package) and its
 * module import time as a ratio to a bare handler module that only creates the same AWS SDK clients.
 * Bundled exactly as the stack bundles them (lib/functions.ts BUNDLING, with a source map where the
 * function ships one) and imported in child processes with NODE_OPTIONS=--enable-source-maps where
 * the function has it, as the functions run on Lambda.
 * test/infra/bundling.test.ts asserts the sizes with the same helpers; times are only printed.
 */
import type { BenchFigure } from "./figures.js";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { App } from "aws-cdk-lib";
import { build, type Metafile } from "esbuild";
import cdkJson from "../cdk.json" with { type: "json" };
import { buildChallengeApp } from "../lib/challenge-stack.js";
import { BUNDLING, PROJECT_ROOT } from "../lib/functions.js";

/** Every handler's index.mjs must fit in this (issue 11). */
export const BUNDLE_BUDGET_BYTES = 300 * 1024;

export const OWN_CODE = "own code";

export interface HandlerBundle {
  /** Handler file relative to the repository root, as in lib/. */
  readonly entry: string;
  /** The bundled file. */
  readonly file: string;
  /** Bytes of index.mjs. */
  readonly bytes: number;
  /** Bytes in the output by npm package name, or {@link OWN_CODE}; largest first. */
  readonly packages: readonly (readonly [string, number])[];
  /** The external AWS SDK packages the bundle imports (provided by the Lambda runtime). */
  readonly sdkPackages: readonly string[];
  /** Bundled with a source map, which the function applies (`--enable-source-maps`). */
  readonly sourceMap: boolean;
}

function outName(entry: string): string {
  return entry
    .replace(/^functions\//, "")
    .replace(/\.ts$/, "")
    .replaceAll("/", "__");
}

/** Bytes each npm package (or own code) contributes to one output file, largest first. */
export function bytesByPackage(output: Metafile["outputs"][string]): [string, number][] {
  const byPackage = new Map<string, number>();
  for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
    // The last node_modules segment: a nested copy counts as the package that holds the code.
    const name = /.*node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input)?.[1] ?? OWN_CODE;
    byPackage.set(name, (byPackage.get(name) ?? 0) + bytesInOutput);
  }
  return [...byPackage].filter(([, bytes]) => bytes > 0).sort((a, b) => b[1] - a[1]);
}

/** Every Lambda function of the stack, in stack order: its entry and whether it ships a source map. */
export function stackHandlers(): { readonly entry: string; readonly sourceMaps: boolean }[] {
  const app = new App({ context: { ...cdkJson.context, "aws:cdk:bundling-stacks": [] } });
  return buildChallengeApp(app).functions.all.map(({ entry, sourceMaps }) => ({ entry, sourceMaps }));
}

/** The entry of every Lambda function of the stack, in stack order. */
export function handlerEntries(): string[] {
  return stackHandlers().map((fn) => fn.entry);
}

/**
 * Bundles every entry into `outdir` (which must sit inside the repository, so the bundles resolve
 * the AWS SDK from node_modules as Lambda's runtime provides it) with the stack's esbuild options.
 */
export async function bundleHandlers(
  entries: readonly string[],
  outdir: string,
  options: { sourcemap?: boolean; withoutSourceMaps?: ReadonlySet<string> } = {},
): Promise<HandlerBundle[]> {
  // As the stack builds them: with a source map unless the function ships none.
  const mapped = (entry: string) =>
    options.sourcemap === true && options.withoutSourceMaps?.has(entry) !== true;
  const groups = [entries.filter(mapped), entries.filter((entry) => !mapped(entry))];
  const outputs: Metafile["outputs"] = {};
  for (const [i, group] of groups.entries()) {
    if (group.length === 0) continue;
    const result = await build({
      entryPoints: Object.fromEntries(group.map((entry) => [outName(entry), path.join(PROJECT_ROOT, entry)])),
      outdir,
      absWorkingDir: PROJECT_ROOT,
      outExtension: { ".js": ".mjs" },
      bundle: true,
      platform: "node",
      format: BUNDLING.format,
      target: BUNDLING.target,
      mainFields: [...BUNDLING.mainFields],
      banner: { js: BUNDLING.banner },
      minify: BUNDLING.minify,
      charset: BUNDLING.charset,
      sourcemap: i === 0 && options.sourcemap === true ? "linked" : false,
      sourcesContent: BUNDLING.sourcesContent,
      external: [...BUNDLING.externalModules],
      logLevel: "silent",
      metafile: true,
    });
    Object.assign(outputs, result.metafile.outputs);
  }
  return entries.map((entry) => {
    const file = path.join(outdir, `${outName(entry)}.mjs`);
    const output = outputs[path.relative(PROJECT_ROOT, file)];
    if (output === undefined) throw new Error(`no bundle for ${entry}`);
    const packages = bytesByPackage(output);
    const sdkPackages = [
      ...new Set(
        output.imports
          .filter((i) => i.external && i.path.startsWith("@aws-sdk/"))
          .map((i) => /^@aws-sdk\/[^/]+/.exec(i.path)?.[0] ?? i.path),
      ),
    ].sort();
    return { entry, file, bytes: output.bytes, packages, sdkPackages, sourceMap: mapped(entry) };
  });
}

/** `name 123 KB` for the n biggest packages of a bundle, own code included. */
export function biggestPackages(bundle: HandlerBundle, n = 3): string {
  return bundle.packages
    .slice(0, n)
    .map(([name, bytes]) => `${name} ${kb(bytes)} KB`)
    .join(", ");
}

export const kb = (bytes: number): number => Math.round(bytes / 1024);

// ---------------------------------------------------------------------------------------------
// Import time

/** What the handlers read from the environment at module load; never used to call AWS here. */
const HANDLER_ENV = {
  TABLE_NAME: "table",
  STATE_MACHINE_ARN: "arn:aws:states:eu-west-2:000000000000:stateMachine:challenge",
  AWS_REGION: "eu-west-2",
};

/** As the stack sets it for a function whose bundle has a source map (lib/functions.ts). */
const SOURCE_MAPS_ENV = { NODE_OPTIONS: "--enable-source-maps" };

const TIME_IMPORT = `const started = performance.now();
await import(process.argv[1]);
process.stdout.write(String(performance.now() - started));`;

function importMs(file: string, sourceMaps: boolean): number {
  const out = execFileSync(
    process.execPath,
    ["--input-type=module", "-e", TIME_IMPORT, pathToFileURL(file).href],
    {
      env: { ...process.env, ...HANDLER_ENV, ...(sourceMaps ? SOURCE_MAPS_ENV : {}) },
      encoding: "utf8",
      // The SDK's Node.js 20 support notice and the like: not part of the figure.
      stdio: ["ignore", "pipe", "ignore"],
    },
  );
  return Number(out);
}

/**
 * A module that only creates the SDK clients a handler's bundle imports (one of each client class,
 * and the DynamoDB document client over its DynamoDB client): the floor a handler cannot go below.
 */
async function writeBareHandler(sdkPackages: readonly string[], file: string): Promise<void> {
  const lines: string[] = [];
  const made: string[] = [];
  for (const [i, name] of sdkPackages.entries()) {
    if (!name.startsWith("@aws-sdk/client-")) {
      if (name !== "@aws-sdk/lib-dynamodb") lines.push(`import "${name}";`);
      continue;
    }
    const exported = Object.keys((await import(name)) as Record<string, unknown>);
    const client = exported.find((key) => key.endsWith("Client") && !key.startsWith("_"));
    if (client === undefined) throw new Error(`${name} exports no client class`);
    lines.push(`import { ${client} as C${i} } from "${name}";`);
    made.push(
      name === "@aws-sdk/client-dynamodb" && sdkPackages.includes("@aws-sdk/lib-dynamodb")
        ? `DynamoDBDocumentClient.from(new C${i}({}))`
        : `new C${i}({})`,
    );
  }
  if (sdkPackages.includes("@aws-sdk/lib-dynamodb")) {
    lines.push(`import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";`);
  }
  lines.push(`const clients = [${made.join(", ")}];`, "export const handler = async () => clients.length;");
  writeFileSync(file, `${lines.join("\n")}\n`);
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

/**
 * The same figures by family (the folder under functions/: api, workflow, mail, ...), medians of the
 * per-handler medians above, and each family's worst ratio: a summary, not another measurement.
 */
function printByFamily(
  bundles: readonly HandlerBundle[],
  handlerMs: readonly number[],
  bareMs: readonly number[],
  ratios: readonly number[],
): void {
  const families = new Map<string, number[]>();
  bundles.forEach((bundle, i) => {
    const family = /^functions\/([^/]+)\//.exec(bundle.entry)?.[1] ?? bundle.entry;
    families.set(family, [...(families.get(family) ?? []), i]);
  });
  console.log(
    `\n${"family (handlers)".padEnd(36)} ${"import ms".padStart(9)} ${"bare ms".padStart(8)} ${"ratio".padStart(6)} ${"worst".padStart(6)}`,
  );
  for (const [family, members] of families) {
    const pick = (values: readonly number[]): number[] => members.map((i) => values[i] ?? 0);
    const worst = members.reduce((a, b) => ((ratios[b] ?? 0) > (ratios[a] ?? 0) ? b : a));
    console.log(
      `${`${family} (${members.length})`.padEnd(36)} ${median(pick(handlerMs)).toFixed(0).padStart(9)} ${median(pick(bareMs)).toFixed(0).padStart(8)} ${`x${median(pick(ratios)).toFixed(2)}`.padStart(6)} ${`x${(ratios[worst] ?? 0).toFixed(2)}`.padStart(6)}   ${bundles[worst]?.entry.replace(/^functions\//, "") ?? ""}`,
    );
  }
}

/** Prints, per handler, bundle KB and import time against a bare handler with the same SDK clients. */
export async function benchBundles(
  runs = Number(process.env.BENCH_IMPORT_RUNS ?? 9),
): Promise<BenchFigure[]> {
  const outdir = mkdtempSync(path.join(PROJECT_ROOT, "node_modules", ".bench-bundles-"));
  try {
    const handlers = stackHandlers();
    const bundles = await bundleHandlers(
      handlers.map((fn) => fn.entry),
      outdir,
      {
        sourcemap: true,
        withoutSourceMaps: new Set(handlers.filter((fn) => !fn.sourceMaps).map((fn) => fn.entry)),
      },
    );
    // A bare module per set of SDK clients and Node options: each handler against its own floor.
    const bareKey = (bundle: HandlerBundle): string => `${bundle.sdkPackages.join(",")}|${bundle.sourceMap}`;
    const bareFiles = new Map<string, { file: string; sourceMaps: boolean }>();
    for (const bundle of bundles) {
      const key = bareKey(bundle);
      if (bareFiles.has(key)) continue;
      const file = path.join(outdir, `bare-${bareFiles.size}.mjs`);
      await writeBareHandler(bundle.sdkPackages, file);
      bareFiles.set(key, { file, sourceMaps: bundle.sourceMap });
    }

    console.log(
      `\nHandler bundles (index.mjs, KB; budget ${kb(BUNDLE_BUDGET_BYTES)} KB) and module import time` +
        `\nvs a bare module creating the same SDK clients (child processes, --enable-source-maps where the function ships a map, each handler right after its bare module, median of ${runs} rounds' ratios; BENCH_IMPORT_RUNS=n for more)\n`,
    );
    console.log(
      `${"handler".padEnd(36)} ${"KB".padStart(5)} ${"import ms".padStart(9)} ${"bare ms".padStart(8)} ${"ratio".padStart(6)}   biggest packages`,
    );
    // Paired samples: in every round each handler is imported right after its own bare module, and
    // its figure is the median of those rounds' ratios. Both sides of a ratio see the same moment
    // of a shared machine; with one bare median shared by many handlers, a bare module that drew a
    // quick round made every one of its handlers look slow together.
    const loadBefore = loadavg()[0] ?? 0;
    const handlerTimes = bundles.map((): number[] => []);
    const pairedBareTimes = bundles.map((): number[] => []);
    const roundRatios = bundles.map((): number[] => []);
    for (let run = 0; run < runs; run++) {
      bundles.forEach((bundle, i) => {
        const bare = bareFiles.get(bareKey(bundle));
        if (bare === undefined) throw new Error(`no bare module for ${bundle.entry}`);
        const bareMs = importMs(bare.file, bare.sourceMaps);
        const handlerMs = importMs(bundle.file, bundle.sourceMap);
        pairedBareTimes[i]?.push(bareMs);
        handlerTimes[i]?.push(handlerMs);
        roundRatios[i]?.push(handlerMs / bareMs);
      });
    }
    const ratios = roundRatios.map(median);
    bundles.forEach((bundle, i) => {
      const handlerMs = median(handlerTimes[i] ?? []);
      const bareMs = median(pairedBareTimes[i] ?? []);
      const ratio = ratios[i] ?? 0;
      const over = bundle.bytes > BUNDLE_BUDGET_BYTES ? "!" : " ";
      console.log(
        `${bundle.entry.replace(/^functions\//, "").padEnd(36)} ${String(kb(bundle.bytes)).padStart(5)}${over}` +
          `${handlerMs.toFixed(0).padStart(9)} ${bareMs.toFixed(0).padStart(8)} ${`x${ratio.toFixed(2)}`.padStart(6)}   ${biggestPackages(bundle)}`,
      );
    });
    // The machine's load beside the times: a busy 2-core machine moves them by a third or more.
    console.log(
      `\n1-minute load average before / after the rounds: ${loadBefore.toFixed(1)} / ${(loadavg()[0] ?? 0).toFixed(1)}`,
    );
    printByFamily(bundles, handlerTimes.map(median), pairedBareTimes.map(median), ratios);
    const sizes = bundles.map((b) => b.bytes);
    const over = bundles.filter((b) => b.bytes > BUNDLE_BUDGET_BYTES).length;
    console.log(
      `\n${"bundles: median / max".padEnd(36)} ${kb(median(sizes))} / ${kb(Math.max(...sizes))} KB; ${over} of ${bundles.length} over ${kb(BUNDLE_BUDGET_BYTES)} KB` +
        `\n${"import time vs bare: median / max".padEnd(36)} x${median(ratios).toFixed(2)} / x${Math.max(...ratios).toFixed(2)}; ${ratios.filter((r) => r > 1.5).length} of ${ratios.length} over x1.5`,
    );
    return [
      {
        figure: "handler bundle (index.mjs), median / max",
        now: `${kb(median(sizes))} / ${kb(Math.max(...sizes))} KB (${over} over)`,
        target: `every <= ${kb(BUNDLE_BUDGET_BYTES)} KB`,
        met: over === 0,
      },
      {
        figure: "import time vs a bare handler with the same clients, max",
        now: `x${Math.max(...ratios).toFixed(2)} (median x${median(ratios).toFixed(2)})`,
        target: "<= x1.5",
        met: Math.max(...ratios) <= 1.5,
      },
    ];
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}
