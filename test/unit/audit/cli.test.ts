import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { main } from "../../../bin/audit.js";
import { exportObject } from "../../../functions/audit/export-format.js";
import { getPreset } from "../../../functions/domain/presets/index.js";
import { IRO, Story, TENANT, aForm, chain } from "./support.js";

/** The audit command line as a newcomer meets it: its help, and the references emails show. */
describe("bin/audit.ts", () => {
  let out: string[];
  let err: string[];
  let dir: string;
  const io = {
    out: (line: string) => out.push(line),
    err: (line: string) => err.push(line),
  };

  beforeEach(async () => {
    out = [];
    err = [];
    dir = await mkdtemp(path.join(tmpdir(), "audit-cli-"));
    const story = new Story(getPreset("nottingham"), "01M91HF5419N9NZ1KPB724H55Y");
    story.do({ type: "Raise", actor: IRO, channel: "api", form: aForm() }, "2026-05-21T09:00:00Z");
    for (const object of chain(TENANT, story.events).map(exportObject)) {
      const target = path.join(dir, object.key);
      await mkdir(path.dirname(target), { recursive: true });
      await writeFile(target, object.body, "utf8");
    }
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("--help prints every command, its options and the environment on stdout, and exits 0", async () => {
    expect(await main(["--help"], io)).toBe(0);
    expect(err).toEqual([]);
    const help = out.join("\n");
    for (const text of [
      "Usage: audit verify",
      "Usage: audit timeline",
      "--protocol <protocol.json>",
      "Usage: audit backfill",
      "--tenant <id>",
      "--from <YYYY-MM>",
      "--to <YYYY-MM>",
      "--since <ISO instant>",
      "TABLE_NAME, AUDIT_BUCKET",
      "Exit codes",
    ])
      expect(help).toContain(text);
  });

  it("timeline accepts the CR-... reference the emails show", async () => {
    expect(await main(["timeline", "CR-01M91HF5419N9NZ1KPB724H55Y", dir], io)).toBe(0);
    expect(out[0]).toMatch(/^Challenge 01M91HF5419N9NZ1KPB724H55Y \(tenant test-borough\)/);
    expect(out[1]).toMatch(/Raised by IRO/);
  });

  it("a missing required option names it and exits 2", async () => {
    expect(await main(["backfill", "--tenant", "t"], io)).toBe(2);
    expect(err.join("\n")).toMatch(/--from <YYYY-MM>/);
  });
});
