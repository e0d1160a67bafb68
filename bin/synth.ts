/**
 * `npm run synth`: runs `cdk synth --quiet` (the CDK CLI, as it is: `npx cdk synth` still works)
 * and ends with a short summary read from the cloud assembly (bin/synth-summary.ts) instead of a
 * "Bundling asset ..." line per function. Every other line the CLI prints (warnings, annotations,
 * cdk-nag's report when a rule fails) is passed through. Extra arguments go to `cdk synth`
 * (`npm run synth -- -c authority=riverside`). Exits with the CLI's code.
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { formatSummary, summariseAssembly } from "./synth-summary.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const BUNDLING = /^Bundling asset /;

const child = spawn(
  join(root, "node_modules", ".bin", "cdk"),
  ["synth", "--quiet", ...process.argv.slice(2)],
  {
    cwd: root,
    stdio: ["inherit", "pipe", "pipe"],
  },
);

let bundles = 0;
function passThrough(stream: NodeJS.ReadableStream, to: NodeJS.WritableStream): Promise<void> {
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  lines.on("line", (line) => {
    if (BUNDLING.test(line)) bundles++;
    else to.write(`${line}\n`);
  });
  return new Promise((resolve) => lines.once("close", resolve));
}

const exitCode = await Promise.all([
  passThrough(child.stdout, process.stdout),
  passThrough(child.stderr, process.stderr),
  new Promise<number>((resolve) => {
    child.once("exit", (code, signal) => {
      resolve(code ?? (signal === null ? 0 : 1));
    });
  }),
]).then(([, , code]) => code);

if (exitCode !== 0) {
  console.error(`cdk synth failed (exit ${String(exitCode)}); see above.`);
  process.exitCode = exitCode;
} else {
  console.log(`\nSynthesised to cdk.out, ${String(bundles)} function bundles built with esbuild.`);
  for (const line of formatSummary(summariseAssembly(join(root, "cdk.out")))) console.log(line);
}
