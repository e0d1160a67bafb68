/**
 * Every Lambda entry of the stack bundles with the stack's esbuild options and loads as an ES
 * module exporting `handler`. The stack tests skip bundling for speed; this catches what only
 * bundling shows (a CommonJS dependency that needs `require`, a missing export) in one esbuild run.
 */
import { mkdtempSync, rmSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { App } from "aws-cdk-lib";
import { build, type Metafile } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import cdkJson from "../../cdk.json" with { type: "json" };
import { buildChallengeApp } from "../../lib/challenge-stack.js";
import { BUNDLING, PROJECT_ROOT } from "../../lib/functions.js";

// Inside the repository, so the bundles resolve the AWS SDK from node_modules as Lambda's runtime provides it.
const outdir = mkdtempSync(path.join(PROJECT_ROOT, "node_modules", ".infra-bundles-"));
let entries: string[] = [];
let metafile: Metafile | undefined;

beforeAll(async () => {
  const app = new App({ context: { ...cdkJson.context, "aws:cdk:bundling-stacks": [] } });
  entries = buildChallengeApp(app).functions.all.map((fn) => fn.entry);
  const started = performance.now();
  const result = await build({
    entryPoints: Object.fromEntries(entries.map((entry) => [outName(entry), path.join(PROJECT_ROOT, entry)])),
    outdir,
    outExtension: { ".js": ".mjs" },
    bundle: true,
    platform: "node",
    format: BUNDLING.format,
    target: BUNDLING.target,
    mainFields: [...BUNDLING.mainFields],
    banner: { js: BUNDLING.banner },
    minify: BUNDLING.minify,
    external: [...BUNDLING.externalModules],
    logLevel: "silent",
    metafile: true,
  });
  metafile = result.metafile;
  console.info(`bundled ${entries.length} handlers in ${Math.round(performance.now() - started)} ms`);
}, 120_000);

const savedEnv = { ...process.env };
afterAll(() => {
  rmSync(outdir, { recursive: true, force: true });
  process.env = savedEnv;
});

/**
 * The largest share one npm package may take of a handler bundle. A dependency that brings half a
 * megabyte of code or data into every cold start (as date-holidays' every-country rules and
 * moment-timezone's zone data once did) fails here with its name, rather than unnoticed.
 */
const MAX_PACKAGE_BYTES = 500 * 1024;

/** Bytes each npm package (or "own code") contributes to one output file. */
function bytesByPackage(output: Metafile["outputs"][string]): Map<string, number> {
  const byPackage = new Map<string, number>();
  for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
    const name = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input)?.[1] ?? "own code";
    byPackage.set(name, (byPackage.get(name) ?? 0) + bytesInOutput);
  }
  return byPackage;
}

function outName(entry: string): string {
  return entry
    .replace(/^functions\//, "")
    .replace(/\.ts$/, "")
    .replaceAll("/", "__");
}

describe("Lambda bundles", () => {
  it("cover one entry per function, each a distinct file", () => {
    expect(entries.length).toBeGreaterThan(30);
    expect(new Set(entries).size).toBe(entries.length);
  });

  it("load as ES modules and export a handler function", async () => {
    // What the handlers read at module load; the values are never used to call AWS here.
    process.env.TABLE_NAME ??= "table";
    process.env.STATE_MACHINE_ARN ??= "arn:aws:states:eu-west-2:000000000000:stateMachine:challenge";
    process.env.AWS_REGION ??= "eu-west-2";
    const failures: string[] = [];
    for (const entry of entries) {
      try {
        const module = (await import(pathToFileURL(path.join(outdir, `${outName(entry)}.mjs`)).href)) as {
          handler?: unknown;
        };
        if (typeof module.handler !== "function") failures.push(`${entry}: no handler export`);
      } catch (error) {
        failures.push(`${entry}: ${(error as Error).message}`);
      }
    }
    expect(failures).toEqual([]);
  }, 120_000);

  it("take no more than 500 KB from any one package, and nothing from date-holidays at run time", () => {
    const outputs = Object.entries(metafile?.outputs ?? {}).filter(([file]) => file.endsWith(".mjs"));
    expect(outputs).toHaveLength(entries.length);
    const tooLarge: string[] = [];
    for (const [file, output] of outputs) {
      for (const [name, bytes] of bytesByPackage(output)) {
        if (bytes > MAX_PACKAGE_BYTES || /^(date-holidays|moment|moment-timezone|astronomia)$/.test(name)) {
          tooLarge.push(`${path.basename(file)}: ${name} ${Math.round(bytes / 1024)} KB`);
        }
      }
    }
    expect(tooLarge).toEqual([]);
  });
});
