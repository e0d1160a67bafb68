/**
 * Every Lambda entry of the stack bundles with the stack's esbuild options and loads as an ES
 * module exporting `handler`. The stack tests skip bundling for speed; this catches what only
 * bundling shows (a CommonJS dependency that needs `require`, a missing export) in one esbuild run.
 */
import { mkdtempSync, rmSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { App } from "aws-cdk-lib";
import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import cdkJson from "../../cdk.json" with { type: "json" };
import { buildChallengeApp } from "../../lib/challenge-stack.js";
import { BUNDLING, PROJECT_ROOT } from "../../lib/functions.js";

// Inside the repository, so the bundles resolve the AWS SDK from node_modules as Lambda's runtime provides it.
const outdir = mkdtempSync(path.join(PROJECT_ROOT, "node_modules", ".infra-bundles-"));
let entries: string[] = [];

beforeAll(async () => {
  const app = new App({ context: { ...cdkJson.context, "aws:cdk:bundling-stacks": [] } });
  entries = buildChallengeApp(app).functions.all.map((fn) => fn.entry);
  const started = performance.now();
  await build({
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
  });
  console.info(`bundled ${entries.length} handlers in ${Math.round(performance.now() - started)} ms`);
}, 120_000);

const savedEnv = { ...process.env };
afterAll(() => {
  rmSync(outdir, { recursive: true, force: true });
  process.env = savedEnv;
});

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
});
