/**
 * `npm run bench`: every section's figures in one run, then one summary of the figures issue 11
 * tracks, side by side with their targets. Nothing here is asserted: timings on a shared 2-core
 * machine vary, so figures that are times are ratios against a baseline measured in the same run,
 * and runs are compared on the same machine. A section is one `bench/<topic>.ts` exporting an
 * async function that prints its table and may return {@link BenchFigure} rows for the summary;
 * add it with one `await section(...)` line at the end of this file.
 */
import { benchBundles } from "./bundles.js";
import { printCalls } from "./calls.js";
import { core } from "./core.js";
import type { BenchFigure } from "./figures.js";
import { transitions } from "./transitions.js";

const summary: BenchFigure[] = [];
const failed: string[] = [];

/** A section: prints its table; may return its figures for the summary (or nothing). */
type Section = () => unknown;

function isFigures(value: unknown): value is readonly BenchFigure[] {
  return (
    Array.isArray(value) && value.every((row) => typeof row === "object" && row !== null && "figure" in row)
  );
}

/** Runs one section; a section that fails is reported and the others still run. */
async function section(title: string, run: Section): Promise<void> {
  console.log(`\n== ${title}`);
  try {
    const figures = await run();
    if (isFigures(figures)) summary.push(...figures);
  } catch (error) {
    failed.push(title);
    console.log(
      `  section failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
    );
  }
}

// The summary comes last, after every section below, however many there are.
process.once("beforeExit", () => {
  console.log("\n== Summary (issue 11)");
  console.log(`${"figure".padEnd(62)} ${"now".padEnd(30)} ${"target".padEnd(16)} met`);
  for (const { figure, now, target, met } of summary) {
    console.log(
      `${figure.padEnd(62)} ${now.padEnd(30)} ${target.padEnd(16)} ${met === undefined ? "-" : met ? "yes" : "NO"}`,
    );
  }
  if (failed.length > 0) {
    console.log(`sections that failed: ${failed.join(", ")}`);
    process.exitCode = 1;
  }
});

console.log(
  `Challenge & Resolution Service benchmarks (Node ${process.version}, ${new Date().toISOString()})`,
);

await section("Pure core: calendar, domain, audit hash", core);
await section("Step Functions transitions and cost per challenge", transitions);
await section("Handler bundles and import time", benchBundles);
await section("DynamoDB calls per command and per workflow task", printCalls);
