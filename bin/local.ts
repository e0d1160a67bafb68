#!/usr/bin/env node
/**
 * `npm start`: the whole Challenge & Resolution Service on this machine (local/runtime.ts), with the
 * demo authority loaded, ready-made tokens (in a file, never printed) and the demo's next steps.
 *
 * Data is kept in `.local-data/` (LOCAL_DATA_DIR to move it): stop with Ctrl-C and start again to
 * carry on where you were; delete the folder to start afresh. Ports: LOCAL_*_PORT (local/ports.ts).
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, relative, resolve } from "node:path";
import { DEMO_CHILDREN, DEMO_IDENTITIES, DEMO_TENANT, raiseChallengeBody } from "../local/demo.js";
import { JavaMissingError } from "../local/dynamodb.js";
import { demoSteps, raiseBodyPath, tokensFilePath } from "../local/guide.js";
import { PortInUseError, portsFromEnv } from "../local/ports.js";
import { type LocalRuntime, startLocalRuntime } from "../local/runtime.js";

const started = performance.now();
const dataDir = resolve(process.env.LOCAL_DATA_DIR ?? ".local-data");
const shown = relative(process.cwd(), dataDir) || ".";

function line(text = ""): void {
  process.stdout.write(`${text}\n`);
}

function writeHelpers(runtime: LocalRuntime): { tokensFile: string; bodyFile: string } {
  const bodyFile = raiseBodyPath(dataDir);
  mkdirSync(dirname(bodyFile), { recursive: true });
  writeFileSync(bodyFile, `${JSON.stringify(raiseChallengeBody(DEMO_CHILDREN[0]), null, 2)}\n`);
  const tokensFile = tokensFilePath(dataDir);
  const exports = Object.entries(runtime.tokens).map(([label, token]) => `export TOKEN_${label}=${token}`);
  writeFileSync(
    tokensFile,
    [
      `# Demo tokens for ${DEMO_TENANT} (valid 30 days). Use: source ${tokensFile}`,
      `export API=${runtime.urls.api}`,
      ...exports,
      "",
    ].join("\n"),
    { mode: 0o600 },
  );
  return { tokensFile, bodyFile };
}

/** The addresses, where the tokens are, and the demo's steps: no token is printed (they are ~800 characters each). */
function printReady(runtime: LocalRuntime): void {
  const { urls } = runtime;
  const { tokensFile } = writeHelpers(runtime);
  const clock = runtime.clock.view();
  line();
  line(
    `Ready in ${((performance.now() - started) / 1000).toFixed(1)} s. Data in ${dataDir}/ (delete it to start afresh).`,
  );
  line();
  line(`  Start here        ${urls.api}/          (index page: links to everything below)`);
  line(
    `  API               ${urls.api}           (OpenAPI: ${urls.api}/openapi.json, no token needed locally)`,
  );
  line(`  Sent mail         ${urls.mail}           (JSON: ${urls.mailStore})`);
  line(
    `  Replies (SMTP)    ${urls.smtp.host}:${urls.smtp.port}            to the Reply-To address of a notification`,
  );
  line(`  Service clock     ${clock.london} (London)   ${urls.api}/_local/clock`);
  line(`  Tokens            ${tokensFile}`);
  line(
    `                    ${DEMO_IDENTITIES.length} demo people of ${DEMO_TENANT}: $TOKEN_${DEMO_IDENTITIES.map((i) => i.label).join(", $TOKEN_")}`,
  );
  line();
  line("Next steps:");
  demoSteps(urls, dataDir, runtime.clock.now()).forEach((step, index) => {
    line(`  ${String(index + 1)}. ${step.what}`);
    if (step.command !== undefined) line(`       ${step.command}`);
  });
  line();
  line("Ctrl-C stops everything (DynamoDB Local's Java process included).");
}

/** The parent of a process, from /proc (Linux); undefined elsewhere or when it has gone. */
function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const parent = Number(fields[1]);
    return Number.isInteger(parent) ? parent : undefined;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * `npm start` runs `sh -c "tsx bin/local.ts"`, and tsx runs this file in a child process. A
 * SIGTERM sent to npm alone (a process manager, `timeout 60 npm start`) reaches `sh`, which exits
 * without passing it on, leaving this process and the JVM behind. So: the launching processes (up
 * to three levels up) are watched, and when one of them exits, the runtime stops as on SIGTERM.
 */
function watchLaunchers(onGone: (pid: number) => void): void {
  const chain: number[] = [];
  for (
    let pid: number | undefined = process.ppid;
    pid !== undefined && pid > 1 && chain.length < 3;
    pid = parentOf(pid)
  ) {
    chain.push(pid);
  }
  const timer = setInterval(() => {
    const gone = chain.find((pid) => !isAlive(pid));
    if (gone !== undefined) {
      clearInterval(timer);
      onGone(gone);
    }
  }, 1_000);
  timer.unref();
}

async function main(): Promise<void> {
  line(`Challenge & Resolution Service: starting locally (data in ${shown}/)`);
  let ports;
  try {
    ports = portsFromEnv();
  } catch (error) {
    process.stderr.write(`\n${(error as Error).message}\n`);
    process.exit(1);
  }
  let runtime: LocalRuntime;
  try {
    runtime = await startLocalRuntime({
      dataDir,
      ports,
      progress: (text) => {
        line(`  ✓ ${text}`);
      },
      warn: (text) => {
        process.stderr.write(`  ! ${text}\n`);
      },
    });
  } catch (error) {
    if (error instanceof PortInUseError || error instanceof JavaMissingError) {
      process.stderr.write(`\n${error.message}\n`);
    } else {
      process.stderr.write(
        `\nCould not start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      );
    }
    process.exit(1);
  }
  printReady(runtime);

  let stoppingSince: number | undefined;
  const shutdown = (signal: NodeJS.Signals): void => {
    if (stoppingSince !== undefined) {
      // npm and tsx pass a Ctrl-C on as well, so one key press can arrive twice: only a later one forces.
      if (Date.now() - stoppingSince < 2_000) return;
      line(`\n${signal} again: exiting now (the Java process is killed on exit).`);
      process.exit(130);
    }
    stoppingSince = Date.now();
    line(`\n${signal}: stopping...`);
    runtime.stop().then(
      () => {
        line("Stopped. Data kept in " + shown + "/.");
        process.exit(0);
      },
      (error: unknown) => {
        process.stderr.write(`error while stopping: ${String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", shutdown);
  process.on("SIGTERM", shutdown);
  process.on("SIGHUP", shutdown);
  watchLaunchers((pid) => {
    if (stoppingSince !== undefined) return;
    line(`\nThe process that started this one (pid ${pid}) has exited.`);
    shutdown("SIGTERM");
  });
}

await main();
