/**
 * What a newcomer does after `npm start`, exactly as printed: the test starts `bin/local.ts` in a
 * child process (a temporary data folder, free ports), reads the "Next steps" it prints, and runs
 * those shell commands with bash and curl, as a person would paste them. Only the placeholders a
 * person fills in (the Reply-To address, the challenge id) are substituted. It also checks the
 * console shows no token, and the index page and OpenAPI document need none.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PORT_SETTINGS, freePorts, type LocalPorts } from "../../local/ports.js";
import { eventually } from "../support/e2e-harness.js";

const run = promisify(execFile);

interface Step {
  readonly what: string;
  readonly command?: string;
}

interface StoredEmail {
  readonly destination: { readonly to?: readonly string[] };
  readonly subject: string;
  readonly replyTo?: readonly string[];
}

let dataDir: string;
let ports: LocalPorts;
let child: ChildProcess;
let output = "";
let steps: Step[] = [];
let api: string;

/** Runs one printed command in bash, after `source`-ing the tokens file as step 1 says. */
async function shell(command: string): Promise<string> {
  const first = steps[0]?.command ?? "";
  const { stdout } = await run("bash", ["-c", `set -e; ${first}; ${command}`], { cwd: dataDir });
  return stdout;
}

async function mail(): Promise<readonly StoredEmail[]> {
  const response = await fetch(`http://127.0.0.1:${String(ports.ses)}/store`);
  return ((await response.json()) as { emails: StoredEmail[] }).emails;
}

/** The printed steps: "  1. what" followed by an indented command line. */
function parseSteps(text: string): Step[] {
  const lines = text.slice(text.indexOf("Next steps:")).split("\n").slice(1);
  const parsed: Step[] = [];
  for (const line of lines) {
    const heading = /^ {2}\d+\. (.*)$/.exec(line);
    if (heading?.[1] !== undefined) parsed.push({ what: heading[1] });
    else if (/^ {7}\S/.test(line) && parsed.length > 0) {
      const last = parsed.pop();
      if (last !== undefined) parsed.push({ ...last, command: line.trim() });
    } else if (line.trim() === "" && parsed.length > 0) break;
  }
  return parsed;
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "crs-start-"));
  ports = await freePorts();
  const env: NodeJS.ProcessEnv = { ...process.env, LOCAL_DATA_DIR: dataDir };
  for (const [name, setting] of Object.entries(PORT_SETTINGS))
    env[setting.env] = String(ports[name as keyof LocalPorts]);
  child = spawn(process.execPath, ["--import", "tsx", "bin/local.ts"], {
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout?.on("data", (chunk: Buffer) => {
    output += chunk.toString("utf8");
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    output += chunk.toString("utf8");
  });
  await eventually(
    "the ready message",
    () => (output.includes("Ctrl-C stops") ? true : undefined),
    90_000,
    200,
  );
  steps = parseSteps(output);
  api = `http://127.0.0.1:${String(ports.api)}`;
}, 120_000);

afterAll(async () => {
  if (child.exitCode === null) {
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    await exited;
  }
  await rm(dataDir, { recursive: true, force: true });
});

describe("npm start, as a newcomer meets it", () => {
  it("prints the addresses, the absolute tokens file and steps, and no token", () => {
    expect(output).toContain(`${api}/openapi.json`);
    expect(output).toContain(join(dataDir, "tokens.env"));
    // A JWT is three base64url parts; none is printed (they live in tokens.env).
    expect(output).not.toMatch(/eyJ[\w-]+\.[\w-]+\.[\w-]+/);
    expect(steps.map((s) => s.what)).toEqual([
      expect.stringContaining("tokens"),
      expect.stringContaining("Raise"),
      expect.stringContaining("email"),
      expect.stringContaining("4 working days"),
      expect.stringContaining("1 more working day"),
      expect.stringContaining("Answer by email"),
      expect.stringContaining("history"),
      expect.stringContaining("report"),
    ]);
  });

  it("serves the index page and the OpenAPI document without a token, locally", async () => {
    const index = await fetch(`${api}/`);
    expect(index.status).toBe(200);
    expect(index.headers.get("content-type")).toMatch(/^text\/html/);
    const html = await index.text();
    for (const href of [
      "/openapi.json",
      "/_local/tokens",
      "/_local/clock",
      `http://127.0.0.1:${String(ports.ses)}`,
    ])
      expect(html).toContain(`href="${href}"`);
    const document = (await (await fetch(`${api}/openapi.json`)).json()) as { servers: { url: string }[] };
    expect(document.servers[0]?.url).toBe(api);
    // The API's own copy still needs a token, as on AWS.
    expect((await fetch(`${api}/v1/openapi.json`)).status).toBe(401);
  });

  it("runs the printed steps: raise, reminder after 4 working days, escalation after 1 more, a reply by email, the report", async () => {
    const [, raise, , four, one, reply, show, report] = steps;
    const raised = JSON.parse(await shell(raise?.command ?? "false")) as {
      challenge: { challengeId: string };
    };
    const id = raised.challenge.challengeId;
    expect(id).toMatch(/^[0-9A-Z]{26}$/);
    await eventually("the team manager's email", async () =>
      (await mail()).some((m) => m.subject.includes(id) && !m.subject.startsWith("Reminder"))
        ? true
        : undefined,
    );

    await shell(four?.command ?? "false");
    await eventually("the reminder", async () =>
      (await mail()).some((m) => m.subject.startsWith("Reminder") && m.subject.includes(id))
        ? true
        : undefined,
    );
    expect((await mail()).some((m) => m.subject.includes("escalated"))).toBe(false);

    await shell(one?.command ?? "false");
    const escalated = await eventually("the escalation email", async () =>
      (await mail()).find((m) => m.subject.includes("escalated to you") && m.subject.includes(id)),
    );
    const replyTo = escalated.replyTo?.[0] ?? "";
    expect(escalated.destination.to?.[0]).toContain("evan.price@example.org");

    await writeFile(
      join(dataDir, "reply.eml"),
      `From: evan.price@example.org\r\nTo: ${replyTo}\r\nSubject: Re: ${escalated.subject}\r\n\r\n` +
        "A placement review is booked for Monday; the plan will be updated by Friday.\r\n",
    );
    await shell((reply?.command ?? "false").replace("<Reply-To address>", replyTo));
    const answered = await eventually("the emailed response on the challenge", async () => {
      const view = JSON.parse(await shell((show?.command ?? "false").replace("<challengeId>", id))) as {
        challenge: { currentStage: { responses: { response: string }[] } | null };
      };
      return view.challenge.currentStage?.responses.some((r) => r.response.includes("placement review"))
        ? view
        : undefined;
    });
    expect(answered.challenge.currentStage?.responses).toHaveLength(1);

    await shell(report?.command ?? "false");
    const { stdout } = await run("cat", [join(dataDir, "report.html")]);
    expect(stdout).toMatch(/<html/i);
  }, 120_000);
});
