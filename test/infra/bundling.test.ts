/**
 * Every Lambda entry of the stack bundles with the stack's esbuild options, loads as an ES module
 * exporting `handler`, and fits the bundle budget (bench/bundles.ts: 300 KB of index.mjs). The stack
 * tests skip bundling for speed; this catches what only bundling shows (a CommonJS dependency that
 * needs `require`, a missing export, a dependency that brings its weight back) in one esbuild run.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  BUNDLE_BUDGET_BYTES,
  type HandlerBundle,
  biggestPackages,
  bundleHandlers,
  handlerEntries,
  kb,
} from "../../bench/bundles.js";
import { PROJECT_ROOT } from "../../lib/functions.js";
import { ackLinkPageRoute, routeEntry, routes } from "../../functions/api/routes.js";

// Inside the repository, so the bundles resolve the AWS SDK from node_modules as Lambda's runtime provides it.
const outdir = mkdtempSync(path.join(PROJECT_ROOT, "node_modules", ".infra-bundles-"));
let bundles: HandlerBundle[] = [];
/** Zod schemas each handler builds at load, by entry (counted when the bundles are first imported). */
const schemasBuiltAtLoad = new Map<string, number>();

beforeAll(async () => {
  const started = performance.now();
  bundles = await bundleHandlers(handlerEntries(), outdir);
  console.info(`bundled ${bundles.length} handlers in ${Math.round(performance.now() - started)} ms`);
}, 120_000);

const savedEnv = { ...process.env };
afterAll(() => {
  rmSync(outdir, { recursive: true, force: true });
  process.env = savedEnv;
});

describe("Lambda bundles", () => {
  it("cover one entry per function, each a distinct file", () => {
    expect(bundles.length).toBeGreaterThan(30);
    expect(new Set(bundles.map((b) => b.entry)).size).toBe(bundles.length);
  });

  it("load as ES modules and export a handler function", async () => {
    // What the handlers read at module load; the values are never used to call AWS here.
    process.env.TABLE_NAME ??= "table";
    process.env.STATE_MACHINE_ARN ??= "arn:aws:states:eu-west-2:000000000000:stateMachine:challenge";
    process.env.AWS_REGION ??= "eu-west-2";
    const failures: string[] = [];
    // Counts the zod schemas each bundle builds while it loads, through the hook zod calls for every
    // schema it constructs (each bundle inlines its own zod, all of which read this global).
    let built = 0;
    const zodConfig = ((
      globalThis as { __zod_globalConfig?: { postProcessor?: () => void } }
    ).__zod_globalConfig ??= {});
    zodConfig.postProcessor = () => {
      built += 1;
    };
    for (const bundle of bundles) {
      built = 0;
      try {
        const module = (await import(pathToFileURL(bundle.file).href)) as { handler?: unknown };
        schemasBuiltAtLoad.set(bundle.entry, built);
        if (typeof module.handler !== "function") failures.push(`${bundle.entry}: no handler export`);
      } catch (error) {
        failures.push(`${bundle.entry}: ${(error as Error).message}`);
      }
    }
    delete zodConfig.postProcessor;
    expect(failures).toEqual([]);
  }, 120_000);

  it("build few zod schemas at load: no function builds the event or command schemas it never uses", () => {
    // Building schemas was most of a handler's own import time (issue 11). Every command's schema is
    // built on first use of its type, and the event schemas with the first history read
    // (store/event-item.ts); the stream consumers decode every record with them, so they build them
    // at load. Either regression adds about 300 schemas to most functions.
    expect(schemasBuiltAtLoad.size).toBe(bundles.length);
    expect(schemasBuiltAtLoad.get("functions/api/escalate.ts")).toBeGreaterThan(500); // the hook counts
    const decodesEveryRecord = new Set(["functions/reactor/reactor.ts"]);
    const over = [...schemasBuiltAtLoad]
      .filter(([entry, count]) => count > (decodesEveryRecord.has(entry) ? 1_500 : 1_200))
      .map(([entry, count]) => `${entry}: ${count}`);
    expect(over).toEqual([]);
  });

  it(`keep every handler's index.mjs within ${kb(BUNDLE_BUDGET_BYTES)} KB`, () => {
    const tooLarge = bundles
      .filter((bundle) => bundle.bytes > BUNDLE_BUDGET_BYTES)
      .map((bundle) => `${bundle.entry}: ${kb(bundle.bytes)} KB (${biggestPackages(bundle)})`);
    expect(tooLarge).toEqual([]);
  });

  it("load the Step Functions and SES clients only where they are called", () => {
    // Loading an SDK client package is ~10-15 ms of a cold start: a read route, the reports, the
    // retention job and the inbound receiver call neither service.
    const loads = (pkg: string) =>
      bundles.filter((b) => b.sdkPackages.includes(pkg)).map((b) => b.entry.replace(/^functions\//, ""));
    // The API routes the route table marks as deciding commands, and the acknowledgement page, which
    // shares the acknowledgement link's flow and wiring.
    const apiSignallers = new Set([
      ...routes.filter((route) => route.signalsWorkflow === true).map(routeEntry),
      routeEntry(ackLinkPageRoute),
    ]);
    const signalsWorkflow = (entry: string) =>
      /^(workflow\/|reactor\/|mail\/(apply-reply|delivery-events))/.test(entry) ||
      apiSignallers.has(`functions/${entry}`);
    const sfn = loads("@aws-sdk/client-sfn");
    expect(sfn.filter((entry) => !signalsWorkflow(entry))).toEqual([]);
    expect(sfn).toContain("api/escalate.ts");
    expect(sfn).toContain("workflow/open-stage.ts");
    const ses = loads("@aws-sdk/client-sesv2");
    expect(ses).not.toContain("mail/receive-email.ts");
    expect(ses).toContain("mail/apply-reply.ts");
  });

  it("carry no MIME builder: SES builds the messages the functions send (v2 Simple sends)", () => {
    const found = bundles.flatMap((bundle) =>
      bundle.packages
        .filter(([name]) => /^(nodemailer|mailcomposer|libmime)$/.test(name))
        .map(([name, bytes]) => `${bundle.entry}: ${name} ${kb(bytes)} KB`),
    );
    expect(found).toEqual([]);
  });

  it("carry zod's English messages wherever zod is bundled (zod/mini loads none by itself)", () => {
    // functions/domain/about.ts sets them; without it every problem detail would read "Invalid input".
    const withoutEnglish = bundles
      .filter((bundle) => bundle.packages.some(([name]) => name === "zod"))
      .filter((bundle) => !readFileSync(bundle.file, "utf8").includes("Invalid input: expected "))
      .map((bundle) => bundle.entry);
    expect(withoutEnglish).toEqual([]);
  });

  it("take nothing from date-holidays, moment or astronomia at run time", () => {
    const found = bundles.flatMap((bundle) =>
      bundle.packages
        .filter(([name]) => /^(date-holidays|moment|moment-timezone|astronomia)$/.test(name))
        .map(([name, bytes]) => `${bundle.entry}: ${name} ${kb(bytes)} KB`),
    );
    expect(found).toEqual([]);
  });
});
