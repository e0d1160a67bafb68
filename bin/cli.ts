/**
 * What the command-line tools in bin/ share: where they write, how they tell that they were run
 * rather than imported (by a test), and how a commander program's outcome becomes an exit code.
 */
import { fileURLToPath } from "node:url";
import { type Command, CommanderError } from "commander";

/** Where a tool writes its lines: the process's streams, or a test's lists. */
export interface Output {
  out(line: string): void;
  err(line: string): void;
}

/** Whether the module at `moduleUrl` is the script node was started with, not one imported by a test. */
export function isEntryPoint(moduleUrl: string): boolean {
  return process.argv[1] !== undefined && fileURLToPath(moduleUrl) === process.argv[1];
}

/** Runs a tool's `main` on the process's arguments and streams; its result is the exit code. */
export async function runAsScript(
  main: (argv: readonly string[], io: Output) => Promise<number>,
): Promise<void> {
  process.exitCode = await main(process.argv.slice(2), {
    out: (line) => {
      process.stdout.write(`${line}\n`);
    },
    err: (line) => {
      process.stderr.write(`${line}\n`);
    },
  });
}

/**
 * Runs a commander program whose actions store their exit code in `exit`. Returns that code; 0 for
 * --help and --version; 2 for a wrong use (commander has already described it) or for an error,
 * described here.
 */
export async function runProgram(
  program: Command,
  argv: readonly string[],
  io: Output,
  exit: { code: number },
): Promise<number> {
  try {
    await program.parseAsync([...argv], { from: "user" });
    return exit.code;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    io.err(error instanceof Error ? error.message : String(error));
    return 2;
  }
}
