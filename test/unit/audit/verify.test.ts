import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { main } from "../../../bin/audit.js";
import { exportObject, formatLine, toExportLine } from "../../../functions/audit/export-format.js";
import {
  formatProblem,
  verifyExport,
  type ExportSource,
  type Problem,
} from "../../../functions/audit/verify.js";
import {
  exportedRecordInstant,
  formatTombstone,
  tombstoneKey,
  type TombstoneRecord,
} from "../../../functions/audit/tombstone-format.js";
import { getPreset } from "../../../functions/domain/presets/index.js";
import { eventHash, sha256Hex } from "../../../functions/store/event-hash.js";
import { IRO, Story, TENANT, aForm, chain, manager } from "./support.js";

/**
 * The verifier, against exports built with the store's real hash function from challenges run
 * through the real domain, then tampered with the ways an export can be damaged.
 */

const nottingham = getPreset("nottingham");
const halton = getPreset("halton");

/** Nine events: raise (2), acknowledge, respond, escalate (2), respond, resolve, close. */
function firstChallenge(): Story {
  const story = new Story(nottingham, "ch-verify-1");
  const tm = manager("team_manager", "north");
  const sm = manager("service_manager", "north");
  story.do(
    { type: "Raise", actor: IRO, channel: "api", form: aForm({ themes: ["needs_not_met"] }) },
    "2026-05-21T09:00:00Z",
  );
  story.do({ type: "Acknowledge", actor: tm, channel: "email" }, "2026-05-22T08:30:00Z");
  story.do(
    { type: "Respond", actor: tm, channel: "email", response: "A core group is booked." },
    "2026-05-26T13:00:00Z",
  );
  story.do(
    { type: "Escalate", actor: IRO, channel: "api", reasons: "The date is too late." },
    "2026-05-27T09:00:00Z",
  );
  story.do(
    { type: "Respond", actor: sm, channel: "api", response: "Brought forward." },
    "2026-06-01T10:00:00Z",
  );
  story.do(
    { type: "MarkResolved", actor: IRO, channel: "api", summary: "Core group held." },
    "2026-06-02T10:00:00Z",
  );
  story.do({ type: "Close", actor: IRO, channel: "api", summary: "Closed." }, "2026-06-03T10:00:00Z");
  return story;
}

/** Four events under Halton's LAC ladder. */
function secondChallenge(): Story {
  const story = new Story(halton, "ch-verify-2");
  story.do(
    { type: "Raise", actor: IRO, channel: "api", form: aForm({ track: "LAC", themes: ["assessments"] }) },
    "2026-05-18T09:00:00Z",
  );
  story.do({ type: "Escalate", actor: IRO, channel: "api", reasons: "No progress." }, "2026-05-20T09:00:00Z");
  return story;
}

const linesOf = (story: Story): string[] =>
  chain(TENANT, story.events).map((stored) => formatLine(toExportLine(stored)).trimEnd());

const file = (name: string, lines: readonly string[]): ExportSource => ({
  file: name,
  text: `${lines.join("\n")}\n`,
});

function verify(...sources: ExportSource[]): Problem[] {
  return [...verifyExport(sources).problems];
}

/** Rewrites one line's JSON. */
function edit(line: string, change: (record: Record<string, unknown>) => void): string {
  const record = JSON.parse(line) as Record<string, unknown>;
  change(record);
  return JSON.stringify(record);
}

describe("verifyExport", () => {
  const a = linesOf(firstChallenge());
  const b = linesOf(secondChallenge());

  it("passes an untouched export", () => {
    expect(a).toHaveLength(9);
    const report = verifyExport([file("a.ndjson", a), file("b.ndjson", b)]);
    expect(report.problems).toEqual([]);
    expect(report).toMatchObject({ files: 2, lines: 13, challenges: 2 });
  });

  it("names the line of an edited record", () => {
    const tampered = [...a];
    tampered[3] = edit(a[3] ?? "", (r) => {
      r.data = { ...(r.data as object), response: "Nothing is booked." };
    });
    const problems = verify(file("a.ndjson", tampered), file("b.ndjson", b));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ file: "a.ndjson", line: 4, kind: "hash_mismatch", seq: 4 });
    expect(problems[0]?.message).toMatch(/changed after it was written/);
    expect(formatProblem(problems[0] as Problem)).toMatch(
      /^a\.ndjson:4: test-borough\/ch-verify-1 event 4: /,
    );
  });

  it("names where a deleted line was", () => {
    const tampered = a.filter((_, i) => i !== 2);
    const problems = verify(file("a.ndjson", tampered));
    expect(problems).toHaveLength(1);
    // Event 4 now sits on line 3, right after event 2 on line 2.
    expect(problems[0]).toMatchObject({ file: "a.ndjson", line: 3, kind: "missing_events", seq: 4 });
    expect(problems[0]?.message).toMatch(/event 3 is missing between event 2 \(line 2\) and this one/);
  });

  it("names swapped lines", () => {
    const tampered = [...a];
    [tampered[2], tampered[3]] = [a[3] ?? "", a[2] ?? ""];
    const problems = verify(file("a.ndjson", tampered));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ file: "a.ndjson", line: 4, kind: "out_of_order", seq: 3 });
    expect(problems[0]?.message).toMatch(/comes after event 4 \(line 3\)/);
  });

  it("names a duplicated line and the line it copies", () => {
    const tampered = [...a, a[1] ?? ""];
    const problems = verify(file("a.ndjson", tampered));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ file: "a.ndjson", line: 10, kind: "duplicate", seq: 2 });
    expect(problems[0]?.message).toMatch(/repeats line 2/);
  });

  it("names a changed hash, and not the next line that still links to the true one", () => {
    const tampered = [...a];
    tampered[3] = edit(a[3] ?? "", (r) => {
      r.hash = sha256Hex("not the real hash");
    });
    const problems = verify(file("a.ndjson", tampered));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ file: "a.ndjson", line: 4, kind: "hash_mismatch" });
    expect(problems[0]?.message).toMatch(/its hash was changed/);
  });

  it("catches a forger who edits a record and recomputes its hash: the next link breaks", () => {
    const tampered = [...a];
    tampered[3] = edit(a[3] ?? "", (r) => {
      r.data = { ...(r.data as object), response: "Nothing is booked." };
      const { tenantId, prevHash, hash: _hash, ...event } = r;
      r.hash = eventHash(tenantId as string, event, prevHash as string);
    });
    const problems = verify(file("a.ndjson", tampered));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ file: "a.ndjson", line: 5, kind: "broken_link", seq: 5 });
    expect(problems[0]?.message).toMatch(/does not link to event 4 \(line 4\)/);
  });

  it("refuses lines with fields an export never has, and lines that are not JSON", () => {
    const tampered = [...a];
    tampered[1] = edit(a[1] ?? "", (r) => {
      r.childName = "added later";
    });
    tampered[6] = (a[6] ?? "").slice(0, 40);
    const problems = verify(file("a.ndjson", tampered));
    expect(problems.map((p) => [p.line, p.kind])).toEqual([
      [2, "not_an_export_line"],
      // Line 2's event is then missing from the chain: the gap is named at the next line.
      [3, "missing_events"],
      [7, "not_json"],
      [8, "missing_events"],
    ]);
    expect(problems[0]?.message).toMatch(/unexpected field childName/);
  });

  it("reports every problem, in the file it is in", () => {
    const tamperedA = a.filter((_, i) => i !== 5);
    tamperedA[1] = edit(a[1] ?? "", (r) => {
      r.at = "2026-05-21T09:00:01.000Z";
    });
    const tamperedB = [...b];
    tamperedB[2] = edit(b[2] ?? "", (r) => {
      r.channel = "email";
    });
    const problems = verify(file("a.ndjson", tamperedA), file("b.ndjson", tamperedB));
    expect(problems.map((p) => `${p.file}:${p.line}:${p.kind}`)).toEqual([
      "a.ndjson:2:hash_mismatch",
      "a.ndjson:6:missing_events",
      "b.ndjson:3:hash_mismatch",
    ]);
  });

  it("checks a chain spread over many files (one object per event)", () => {
    const objects = chain(TENANT, firstChallenge().events).map(exportObject);
    const sources = objects.map((o) => ({ file: o.key, text: o.body }));
    expect(verify(...sources)).toEqual([]);
    // Losing one object leaves a gap named at the next event's object.
    const problems = verify(...sources.filter((_, i) => i !== 4));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ file: objects[5]?.key, line: 1, kind: "missing_events" });
  });
});

/** The tombstone the exporter writes when ch-verify-1 (nine events) is deleted at retention. */
const deletion: TombstoneRecord = {
  record: "retention-tombstone",
  tenantId: TENANT,
  challengeId: "ch-verify-1",
  retainUntil: "2026-06-03",
  retentionRule: "cp_authority_rule",
  reason:
    "The authority's child-protection retention rule (tenant setting retention.childProtectionUntilAge)",
  decidedOn: "2026-06-04",
  deletionStartedAt: "2026-06-04T01:00:00.000Z",
  deletionCompletedAt: "2026-06-04T01:00:02.000Z",
  eventCount: 9,
  itemsDeleted: 14,
};
const tombstoneFile = (record: TombstoneRecord = deletion): ExportSource => ({
  file: tombstoneKey(record),
  text: formatTombstone(record),
});

describe("verifyExport: challenges deleted at retention", () => {
  const a = linesOf(firstChallenge());
  const b = linesOf(secondChallenge());
  const said = "test-borough/ch-verify-1: deleted at retention on 2026-06-04 (rule cp_authority_rule: ";

  it("reports events gone with their challenge as its deletion, not as a broken chain", () => {
    // The first four events' audit copies expired; the rest are still locked.
    const rest = [file("a.ndjson", a.slice(4)), file("b.ndjson", b)];
    expect(verifyExport(rest).problems.map((p) => p.kind)).toEqual(["missing_events"]);
    const report = verifyExport(rest, [tombstoneFile()]);
    expect(report.problems).toEqual([]);
    expect(report.deleted).toHaveLength(1);
    expect(report.deleted[0]?.message).toContain(said);
    expect(report.deleted[0]?.message).toMatch(
      /retention date 2026-06-03\); 5 of its 9 events remain in the export$/,
    );
  });

  it("a challenge whose every event is gone is a deletion, and a whole chain beside it still verifies", () => {
    const report = verifyExport([file("b.ndjson", b)], [tombstoneFile()]);
    expect(report.problems).toEqual([]);
    expect(report).toMatchObject({ files: 2, lines: 4, challenges: 1 });
    expect(report.deleted[0]?.message).toMatch(/; none of its 9 events remain in the export$/);
  });

  it("still names an edited event of a deleted challenge", () => {
    const tampered = a.slice(4);
    tampered[0] = edit(tampered[0] ?? "", (r) => {
      r.at = "2026-05-27T09:05:00Z";
    });
    const problems = verifyExport([file("a.ndjson", tampered)], [tombstoneFile()]).problems;
    expect(problems.map((p) => p.kind)).toEqual(["hash_mismatch"]);
  });

  it("names an event beyond the count its tombstone records", () => {
    const problems = verifyExport(
      [file("a.ndjson", a)],
      [tombstoneFile({ ...deletion, eventCount: 7 })],
    ).problems;
    expect(problems.map((p) => [p.kind, p.seq])).toEqual([
      ["after_deletion", 8],
      ["after_deletion", 9],
    ]);
    expect(problems[0]?.message).toMatch(/comes after the 7 events its tombstone counts/);
  });

  it("refuses a tombstone with a field the exporter never writes, and two tombstones that differ", () => {
    const smuggled = {
      ...tombstoneFile(),
      text: `${JSON.stringify({ ...deletion, childName: "Invented" })}\n`,
    };
    const report = verifyExport([file("b.ndjson", b)], [smuggled]);
    expect(report.problems).toHaveLength(1);
    expect(report.problems[0]).toMatchObject({ kind: "not_a_tombstone", file: smuggled.file, line: 1 });
    expect(report.problems[0]?.message).toMatch(/unexpected field childName/);
    expect(report.problems[0]?.message).not.toMatch(/Invented/);
    expect(report.deleted).toEqual([]);

    const rival = {
      file: "copy/tombstones/ch-verify-1.json",
      text: formatTombstone({ ...deletion, eventCount: 3 }),
    };
    const twice = verifyExport([file("b.ndjson", b)], [tombstoneFile(), rival]);
    expect(twice.problems.map((p) => p.kind)).toEqual(["conflicting_records"]);
  });
});

describe("bin/audit.ts", () => {
  let dir: string;
  let out: string[];
  let err: string[];
  const io = {
    out: (line: string) => out.push(line),
    err: (line: string) => err.push(line),
  };

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "audit-export-"));
    out = [];
    err = [];
    for (const story of [firstChallenge(), secondChallenge()]) {
      for (const object of chain(TENANT, story.events).map(exportObject)) {
        const target = path.join(dir, object.key);
        await mkdir(path.dirname(target), { recursive: true });
        await writeFile(target, object.body, "utf8");
      }
    }
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("verify: passes a folder tree of untouched objects", async () => {
    expect(await main(["verify", dir], io)).toBe(0);
    expect(out.at(-1)).toBe("OK: 13 lines in 13 files, 2 challenges; every chain is whole.");
  });

  it("verify: names the tampered object and line, and exits 1", async () => {
    const target = path.join(
      dir,
      "exports/tenant=test-borough/date=2026-05-26/ch-verify-1-0000000004.ndjson",
    );
    const text = await readFile(target, "utf8");
    await writeFile(target, text.replace("A core group is booked.", "Nothing is booked."), "utf8");
    expect(await main(["verify", dir], io)).toBe(1);
    expect(out[0]).toBe(
      `${target}:1: test-borough/ch-verify-1 event 4: the record was changed after it was written: its contents no longer give its hash ${(JSON.parse(text) as { hash: string }).hash.slice(0, 12)}…`,
    );
    expect(out.at(-1)).toMatch(/^FAILED: 1 problem in 13 lines/);
  });

  it("verify: a path that does not exist is a problem, not a crash", async () => {
    expect(await main(["verify", path.join(dir, "nope")], io)).toBe(1);
    expect(out[0]).toMatch(/nope: cannot be read/);
  });

  it("timeline: tells one challenge in plain words", async () => {
    expect(await main(["timeline", "ch-verify-1", dir], io)).toBe(0);
    expect(err).toEqual([]);
    expect(out).toEqual([
      "Challenge ch-verify-1 (tenant test-borough): Nottingham City Council: Practice Resolution Protocol",
      "Thu 21 May 2026 10:00 — Raised by IRO (api) about the child protection plan at Level 1: Team Manager, due by 5pm on Friday 29 May",
      "Fri 22 May 2026 09:30 — Level 1 acknowledged by Team Manager (email)",
      "Tue 26 May 2026 14:00 — Response at Level 1 from Team Manager (email)",
      "Wed 27 May 2026 10:00 — Escalated by IRO (api) from Level 1 to Level 2: Service Manager, due by 5pm on Wednesday 3 June",
      "Mon 1 June 2026 11:00 — Response at Level 2 from Service Manager (api)",
      "Tue 2 June 2026 11:00 — Resolved at Level 2, recorded by IRO (api)",
      "Wed 3 June 2026 11:00 — Closed by IRO (api)",
    ]);
  });

  it("timeline: warns, and exits 1, when the challenge's chain is broken", async () => {
    await rm(path.join(dir, "exports/tenant=test-borough/date=2026-05-22/ch-verify-1-0000000003.ndjson"));
    expect(await main(["timeline", "ch-verify-1", dir], io)).toBe(1);
    expect(err[0]).toMatch(/not whole \(1 problem\)/);
    expect(err[1]).toMatch(/ch-verify-1-0000000004\.ndjson:1: .*event 3 is missing/);
  });

  /** Deletes ch-verify-1 at retention in the copy: its tombstone, and its first `expired` events gone. */
  async function deleteAtRetention(expired: number): Promise<void> {
    const source = tombstoneFile();
    const target = path.join(dir, source.file);
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(target, source.text, "utf8");
    for (const object of chain(TENANT, firstChallenge().events).map(exportObject).slice(0, expired)) {
      await rm(path.join(dir, object.key));
    }
  }

  it("verify: a challenge deleted at retention is said so, and the export passes", async () => {
    await deleteAtRetention(9);
    expect(await main(["verify", dir], io)).toBe(0);
    expect(out[0]).toMatch(
      /^test-borough\/ch-verify-1: deleted at retention on 2026-06-04 \(rule cp_authority_rule: .*; none of its 9 events remain in the export$/,
    );
    expect(out.at(-1)).toBe(
      "OK: 4 lines in 5 files, 1 challenge (1 deleted at retention); every chain is whole.",
    );
  });

  it("timeline: tells the deletion after the events that remain", async () => {
    await deleteAtRetention(7);
    expect(await main(["timeline", "ch-verify-1", dir], io)).toBe(0);
    expect(err).toEqual([]);
    expect(out.slice(1)).toEqual([
      // The raise (and with it the protocol's id) is gone: stage ids are shown.
      "Tue 2 June 2026 11:00 — Resolved at level_2, recorded by IRO (api)",
      "Wed 3 June 2026 11:00 — Closed by IRO (api)",
      "Thu 4 June 2026 02:00 — Deleted at retention on Thu 4 June 2026 (rule cp_authority_rule: The authority's child-protection retention rule (tenant setting retention.childProtectionUntilAge); retention date Wed 3 June 2026): 2 of its 9 events remain in the export",
    ]);
  });

  it("timeline: a challenge with no events left is told by its tombstone", async () => {
    await deleteAtRetention(9);
    expect(await main(["timeline", "CR-ch-verify-1", dir], io)).toBe(0);
    expect(out).toEqual([
      "Challenge ch-verify-1 (tenant test-borough)",
      expect.stringMatching(
        /^Thu 4 June 2026 02:00 — Deleted at retention on .*: 0 of its 9 events remain in the export$/,
      ),
    ]);
  });

  it("usage errors exit 2", async () => {
    expect(await main(["verify"], io)).toBe(2);
    expect(await main(["frobnicate"], io)).toBe(2);
    expect(err[0]).toMatch(/^usage:/);
  });
});

describe("exportedRecordInstant (what places an object in a digest hour)", () => {
  const bytes = (text: string): Uint8Array => Buffer.from(text, "utf8");

  it("is an event's `at` and a tombstone's completion, so the digests seal tombstones too", () => {
    const [first] = linesOf(firstChallenge());
    expect(exportedRecordInstant(bytes(`${first ?? ""}\n`))).toBe(Date.parse("2026-05-21T09:00:00Z"));
    expect(exportedRecordInstant(bytes(formatTombstone(deletion)))).toBe(
      Date.parse(deletion.deletionCompletedAt),
    );
  });

  it("is undefined for anything else, including a tombstone with an added field", () => {
    expect(exportedRecordInstant(bytes("not json"))).toBeUndefined();
    expect(exportedRecordInstant(bytes(JSON.stringify({ ...deletion, note: "x" })))).toBeUndefined();
  });
});
