/**
 * The README's "Setting up an authority", as a newcomer follows it: a new tenant on the Halton
 * protocol (not the demo's Nottingham), stored by `npm run authority -- init` from the example
 * CSV, then a challenge raised, answered by email, escalated, resolved, reported on and its audit
 * export verified. The commands are read from the README's block and run with bash and curl, as a
 * person pastes them; the request bodies are the files the README names. Only what a person copies
 * from the step before (`<challengeId>`, `<Reply-To address>`) and this runtime's own ports and
 * data folder are substituted, so the README cannot drift from what is tested.
 */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type E2eRuntime, auditExport, eventually, startE2eRuntime } from "../support/e2e-harness.js";
import { bareAddress, isTo, sentMail } from "../support/e2e-mail.js";

const run = promisify(execFile);
const root = fileURLToPath(new URL("../../", import.meta.url));
const readme = readFileSync(`${root}README.md`, "utf8");

interface Step {
  readonly what: string;
  readonly command: string;
}

/** The README section's shell block: each `# N. what` comment and the command line after it. */
function readmeSteps(): Step[] {
  const section = readme.slice(readme.indexOf("## Setting up an authority"));
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1] ?? "";
  const steps: Step[] = [];
  let what: string | undefined;
  for (const line of block.split("\n")) {
    const heading = /^# \d+\. (.*)$/.exec(line);
    if (heading?.[1] !== undefined) what = heading[1];
    else if (line.trim() !== "" && what !== undefined) {
      steps.push({ what, command: line });
      what = undefined;
    }
  }
  return steps;
}

/** The tenants the README starts the service with: `MAIL_TENANT_IDS=... npm start`. */
const mailTenantIds = /^ {4}MAIL_TENANT_IDS=(\S+) npm start$/m.exec(
  readme.slice(readme.indexOf("## Setting up an authority")),
)?.[1];

const steps = readmeSteps();
const placeholders = new Map<string, string>();
let e2e: E2eRuntime;

/**
 * Runs step `index` in bash from the repository root, after the definitions of the steps before it
 * (`mint()`, `export ...`), as one terminal session would hold them.
 */
async function runStep(index: number): Promise<string> {
  const runtime = e2e.current();
  const substitute = (command: string): string => {
    let out = command
      .replaceAll(".local-data", e2e.dataDir)
      .replaceAll("127.0.0.1:4025", `${runtime.urls.smtp.host}:${String(runtime.urls.smtp.port)}`);
    for (const [placeholder, value] of placeholders) out = out.replaceAll(placeholder, value);
    return out;
  };
  const definitions = steps
    .slice(0, index)
    .map((s) => s.command)
    .filter((c) => c.startsWith("mint()") || c.startsWith("export "));
  const script = ["set -e", ...definitions, steps[index]?.command ?? "false"].map(substitute).join("\n");
  const { stdout } = await run("bash", ["-c", script], {
    cwd: root,
    env: {
      ...process.env,
      API: runtime.urls.api,
      LOCAL_DYNAMODB_PORT: String(e2e.ports.dynamodb),
      POWERTOOLS_LOG_LEVEL: "SILENT",
    },
    maxBuffer: 16 * 1024 * 1024,
  });
  return stdout;
}

interface ChallengeView {
  challenge: {
    challengeId: string;
    protocolId: string;
    status: string;
    track: string;
    currentStage: { stageId: string; responses: { response: string }[] } | null;
    history: { stageId: string; exit: string }[];
  };
  timeline: { type: string; channel: string }[];
}

beforeAll(async () => {
  if (mailTenantIds === undefined) throw new Error("the README no longer says how to start for a new tenant");
  vi.stubEnv("MAIL_TENANT_IDS", mailTenantIds);
  e2e = await startE2eRuntime();
}, 120_000);

afterAll(async () => {
  await e2e.dispose();
  vi.unstubAllEnvs();
});

describe("the README's journey for a new authority on another preset", () => {
  it("has the steps in the order the test expects", () => {
    expect(mailTenantIds).toBe("demo-borough,riverside");
    expect(steps.map((s) => s.what)).toEqual([
      expect.stringContaining("Store the configuration"),
      expect.stringContaining("mint local tokens"),
      expect.stringContaining("IRO"),
      expect.stringContaining("Read the ladders"),
      expect.stringContaining("Raise"),
      expect.stringContaining("challenge's id"),
      expect.stringContaining("Answer by email"),
      expect.stringContaining("reply"),
      expect.stringContaining("escalates"),
      expect.stringContaining("resolved"),
      expect.stringContaining("history"),
      expect.stringContaining("themes report"),
      expect.stringContaining("audit export"),
    ]);
    for (const file of ["raise.json", "escalate.json", "resolve.json", "reply.eml"])
      expect(
        steps.some((s) => s.command.includes(`docs/examples/new-authority/${file}`)),
        file,
      ).toBe(true);
  });

  it("sets up riverside on Halton, then raises, answers by email, escalates, resolves, reports and verifies", async () => {
    const runtime = e2e.current();

    const init = await runStep(0);
    expect(init).toContain("Stored riverside: protocol halton");
    expect(init).toContain("Every role of the ladder has a holder.");

    const config = JSON.parse(await runStep(3)) as {
      config: { protocolId: string };
      guide: { tracks: { track: string; stages: { stageId: string }[] }[] };
    };
    expect(config.config.protocolId).toBe("halton");

    const raised = JSON.parse(await runStep(4)) as ChallengeView;
    const id = raised.challenge.challengeId;
    expect(raised.challenge).toMatchObject({ protocolId: "halton", track: "LAC", status: "open" });
    expect(raised.challenge.currentStage?.stageId).toBe("stage_1");
    placeholders.set("<challengeId>", id);

    // Lena, team-east's team_manager in the CSV, is emailed the informal stage 1.
    const toLena = await eventually("Lena's email", async () =>
      (await sentMail(runtime)).find(
        (m) => isTo(m, "lena.fictive@example.org") && m.replyTo.length > 0 && m.subject.includes(id),
      ),
    );
    const replyTo = bareAddress(toLena.replyTo[0] ?? "");
    placeholders.set("<Reply-To address>", replyTo);

    await runStep(7);
    const answered = await eventually("Lena's emailed answer on the challenge", async () => {
      const view = JSON.parse(await runStep(10)) as ChallengeView;
      return view.challenge.currentStage?.responses.some((r) => r.response.includes("placement plan will be"))
        ? view
        : undefined;
    });
    expect(answered.timeline.some((t) => t.type === "ResponseRecorded" && t.channel === "email")).toBe(true);

    const escalated = JSON.parse(await runStep(8)) as ChallengeView;
    expect(escalated.challenge.currentStage?.stageId).toBe("stage_2");
    await eventually("Rhea's email for stage 2", async () =>
      (await sentMail(runtime)).some((m) => isTo(m, "rhea.inventa@example.org")) ? true : undefined,
    );

    const resolved = JSON.parse(await runStep(9)) as ChallengeView;
    expect(resolved.challenge.status).toBe("resolved");
    const history = JSON.parse(await runStep(10)) as ChallengeView;
    expect(history.challenge.history.map((h) => [h.stageId, h.exit])).toEqual([
      ["stage_1", "requested"],
      ["stage_2", "resolved"],
    ]);

    const report = JSON.parse(await runStep(11)) as Record<string, unknown>;
    expect(JSON.stringify(report)).toContain("placement_choice");

    // The export follows the stream: wait for every event of the challenge before verifying it.
    const events = history.timeline.length;
    await eventually("the challenge's events in the audit export", async () => {
      const { lines } = await auditExport(runtime);
      return lines.filter((l) => l.challengeId === id).length >= events ? true : undefined;
    });
    const audit = await runStep(12);
    expect(audit).toContain("every chain is whole");
    expect(audit).toContain("Response at Stage 1 from Principal Manager (email)");
    expect(audit).toContain("Resolved at Stage 2");
  }, 180_000);
});
