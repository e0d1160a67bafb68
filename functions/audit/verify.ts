import { readdir, readFile, stat } from "node:fs/promises";
import path from "node:path";
import * as z from "zod/mini";
import { canonicalJson, eventHash } from "../store/event-hash.js";
import { londonDay } from "../domain/london-time.js";
import { eventOfLine, exportLineSchema, type ExportLine } from "./export-format.js";
import { tombstoneRecordSchema, type TombstoneRecord } from "./tombstone-format.js";

/**
 * The auditors' verifier: reads NDJSON exports (files, or folder trees of them), groups the lines
 * by tenant and challenge and checks each challenge's hash chain:
 *
 * - every line is JSON with exactly the export fields (an added field is a change to the record);
 * - every hash recomputes from the line (functions/store/event-hash.ts, the store's own definition):
 *   an edited record, or a changed hash, is named;
 * - `seq` starts at 1 with no gaps (a deleted line) and no duplicates (the same line twice, or two
 *   different records claiming one place);
 * - every `prevHash` is the hash of the event before it (1's is empty);
 * - within a file, a challenge's lines run in `seq` order (swapped or moved lines).
 *
 * - a challenge with a retention tombstone (tombstone-format.ts) was deleted at the end of its
 *   retention period: its events that are gone are reported as that deletion, not as gaps; an event
 *   beyond the count the tombstone records is a problem (recorded after its deletion).
 *
 * It reports every problem, each with its file and line, not just the first. Limits, stated so
 * nobody over-reads a clean result: a chain proves its events belong together and were not edited,
 * but a deleted *last* event (or a wholly deleted challenge) leaves no gap to see; the Object Lock on
 * the bucket is what stops that, and the table's snapshot holds each chain's head hash. Order
 * across files is not checked: the exporter writes one object per event.
 */

export interface ExportSource {
  /** The file's path as the auditor gave it (or found under a folder they gave). */
  readonly file: string;
  readonly text: string;
}

export interface Location {
  readonly file: string;
  /** 1-based; 0 when the problem is with the whole file. */
  readonly line: number;
}

export type ProblemKind =
  | "unreadable"
  | "not_json"
  | "not_an_export_line"
  | "hash_mismatch"
  | "broken_link"
  | "missing_events"
  | "duplicate"
  | "conflicting_records"
  | "out_of_order"
  | "not_a_tombstone"
  | "after_deletion";

export interface Problem extends Location {
  readonly kind: ProblemKind;
  readonly tenantId?: string;
  readonly challengeId?: string;
  readonly seq?: number;
  readonly message: string;
}

/** A line that parsed as an export line, with where it was and what its hash should be. */
export interface ParsedLine {
  readonly loc: Location;
  readonly line: ExportLine;
  /** The hash its contents give. */
  readonly recomputed: string;
  /** Canonical JSON of the whole line: two lines are copies when these are equal. */
  readonly canonical: string;
}

/** A retention tombstone read from an export, with where it was. */
export interface ParsedTombstone {
  readonly loc: Location;
  readonly record: TombstoneRecord;
}

/** A challenge deleted at retention, as its tombstone and the events still in the export show it. */
export interface DeletedChallenge {
  readonly tenantId: string;
  readonly challengeId: string;
  readonly tombstone: TombstoneRecord;
  /** Its events still in the export (their objects' Object Lock may not have ended yet). */
  readonly eventsInExport: number;
  readonly message: string;
}

export interface VerifyReport {
  readonly files: number;
  readonly lines: number;
  readonly challenges: number;
  readonly problems: readonly Problem[];
  /** Challenges deleted at the end of their retention period (not problems). */
  readonly deleted: readonly DeletedChallenge[];
}

// --- reading ---------------------------------------------------------------------------------

export const EXPORT_FILE = /\.(ndjson|jsonl)$/i;

/**
 * Reads the files named, and every `.ndjson` / `.jsonl` file under the folders named (recursively,
 * in name order so output is stable). A path that cannot be read is a problem, not a crash.
 */
export async function readExportSources(
  paths: readonly string[],
): Promise<{ sources: ExportSource[]; problems: Problem[] }> {
  const { files, problems } = await readFiles(paths, (file) => EXPORT_FILE.test(file));
  return {
    sources: files.map((f) => ({ file: f.file, text: Buffer.from(f.bytes).toString("utf8") })),
    problems,
  };
}

/**
 * Reads the files named, and every file under the folders named that `accept` takes (recursively,
 * in name order), as bytes. A path that cannot be read is a problem, not a crash.
 */
export async function readFiles(
  paths: readonly string[],
  accept: (file: string) => boolean,
): Promise<{ files: { file: string; bytes: Uint8Array }[]; problems: Problem[] }> {
  const files: { file: string; bytes: Uint8Array }[] = [];
  const problems: Problem[] = [];
  const unreadable = (file: string, error: unknown): void => {
    const reason = error instanceof Error ? error.message : String(error);
    problems.push({ file, line: 0, kind: "unreadable", message: `cannot be read: ${reason}` });
  };

  const visit = async (target: string, named: boolean): Promise<void> => {
    let info;
    try {
      info = await stat(target);
    } catch (error) {
      unreadable(target, error);
      return;
    }
    if (info.isDirectory()) {
      let entries: string[];
      try {
        entries = (await readdir(target)).sort();
      } catch (error) {
        unreadable(target, error);
        return;
      }
      for (const entry of entries) await visit(path.join(target, entry), false);
      return;
    }
    if (!named && !accept(target)) return;
    try {
      files.push({ file: target, bytes: await readFile(target) });
    } catch (error) {
      unreadable(target, error);
    }
  };

  for (const target of paths) await visit(target, true);
  return { files, problems };
}

// --- parsing ---------------------------------------------------------------------------------

function fieldProblems(error: z.core.$ZodError): string {
  // Paths and messages only: the values may be personal data, and the auditor has the file.
  const issues = error.issues.slice(0, 5).map((issue) => {
    const where = issue.path.length === 0 ? "the line" : issue.path.join(".");
    return issue.code === "unrecognized_keys"
      ? `unexpected field${issue.keys.length === 1 ? "" : "s"} ${issue.keys.join(", ")}`
      : `${where}: ${issue.message}`;
  });
  const more = error.issues.length > 5 ? ` (and ${error.issues.length - 5} more)` : "";
  return `${issues.join("; ")}${more}`;
}

/** Parses every non-blank line of the sources. Lines that are not export lines become problems. */
export function parseExport(sources: readonly ExportSource[]): { parsed: ParsedLine[]; problems: Problem[] } {
  const parsed: ParsedLine[] = [];
  const problems: Problem[] = [];
  for (const source of sources) {
    const lines = source.text.split("\n");
    lines.forEach((rawLine, index) => {
      const text = rawLine.endsWith("\r") ? rawLine.slice(0, -1) : rawLine;
      if (text.trim() === "") return;
      const loc = { file: source.file, line: index + 1 };
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        problems.push({
          ...loc,
          kind: "not_json",
          message: "not a JSON line: the line was damaged or cut short",
        });
        return;
      }
      const result = exportLineSchema.safeParse(json);
      if (!result.success) {
        problems.push({
          ...loc,
          kind: "not_an_export_line",
          message: `not an export line: ${fieldProblems(result.error)}`,
        });
        return;
      }
      const line = result.data;
      try {
        parsed.push({
          loc,
          line,
          recomputed: eventHash(line.tenantId, eventOfLine(line), line.prevHash),
          canonical: canonicalJson(line),
        });
      } catch (error) {
        problems.push({
          ...loc,
          kind: "not_an_export_line",
          message: `not an export line: ${error instanceof Error ? error.message : String(error)}`,
        });
      }
    });
  }
  return { parsed, problems };
}

/** Parses tombstone files (one JSON record each). Anything else in them is a problem. */
export function parseTombstones(sources: readonly ExportSource[]): {
  tombstones: ParsedTombstone[];
  problems: Problem[];
} {
  const tombstones: ParsedTombstone[] = [];
  const problems: Problem[] = [];
  for (const source of sources) {
    const lines = source.text.split("\n").filter((l) => l.trim() !== "");
    const loc = { file: source.file, line: 1 };
    let json: unknown;
    try {
      if (lines.length !== 1) throw new Error("not one line");
      json = JSON.parse(lines[0] ?? "");
    } catch {
      problems.push({ ...loc, kind: "not_json", message: "not a tombstone: not one JSON line" });
      continue;
    }
    const result = tombstoneRecordSchema.safeParse(json);
    if (!result.success) {
      problems.push({
        ...loc,
        kind: "not_a_tombstone",
        message: `not a tombstone: ${fieldProblems(result.error)}`,
      });
      continue;
    }
    tombstones.push({ loc, record: result.data });
  }
  return { tombstones, problems };
}

/** How a deletion at retention is told: "deleted at retention on <date> (rule …)". */
export function deletedAtRetentionWords(tombstone: TombstoneRecord): string {
  return `deleted at retention on ${londonDay(tombstone.deletionCompletedAt)} (rule ${tombstone.retentionRule}: ${tombstone.reason}; retention date ${tombstone.retainUntil})`;
}

const challengeKey = (tenantId: string, challengeId: string): string => `${tenantId}\u0000${challengeId}`;

// --- checking --------------------------------------------------------------------------------

const short = (hash: string): string => (hash === "" ? "(empty)" : `${hash.slice(0, 12)}…`);

function at(loc: Location, here: Location): string {
  return loc.file === here.file ? `line ${loc.line}` : `${loc.file}:${loc.line}`;
}

/**
 * Checks the chains of all the challenges among `parsed`, with the tombstones of those deleted at
 * retention; returns the problems, in file and line order.
 */
export function checkChains(
  parsed: readonly ParsedLine[],
  tombstones: readonly ParsedTombstone[] = [],
): Problem[] {
  const groups = new Map<string, ParsedLine[]>();
  for (const entry of parsed) {
    const key = challengeKey(entry.line.tenantId, entry.line.challengeId);
    const group = groups.get(key);
    if (group === undefined) groups.set(key, [entry]);
    else group.push(entry);
  }
  const deletions = tombstonesByChallenge(tombstones);
  const problems: Problem[] = [...deletions.problems];
  for (const [key, group] of groups) problems.push(...checkChallenge(group, deletions.byChallenge.get(key)));
  return sortProblems(problems);
}

/** One tombstone per challenge; two that differ are rivals (a copy is harmless). */
function tombstonesByChallenge(tombstones: readonly ParsedTombstone[]): {
  byChallenge: Map<string, TombstoneRecord>;
  problems: Problem[];
} {
  const byChallenge = new Map<string, ParsedTombstone>();
  const problems: Problem[] = [];
  for (const tombstone of tombstones) {
    const { tenantId, challengeId } = tombstone.record;
    const key = challengeKey(tenantId, challengeId);
    const held = byChallenge.get(key);
    if (held === undefined) byChallenge.set(key, tombstone);
    else if (canonicalJson(held.record) !== canonicalJson(tombstone.record)) {
      problems.push({
        ...tombstone.loc,
        kind: "conflicting_records",
        tenantId,
        challengeId,
        message: `${tenantId}/${challengeId}: a second, different tombstone (the other is ${held.loc.file}); one of the two was changed`,
      });
    }
  }
  return { byChallenge: new Map([...byChallenge].map(([k, t]) => [k, t.record])), problems };
}

function checkChallenge(entries: readonly ParsedLine[], tombstone?: TombstoneRecord): Problem[] {
  const problems: Problem[] = [];
  const problem = (entry: ParsedLine, kind: ProblemKind, message: string): void => {
    const { tenantId, challengeId, seq } = entry.line;
    problems.push({
      ...entry.loc,
      kind,
      tenantId,
      challengeId,
      seq,
      message: `${tenantId}/${challengeId} event ${seq}: ${message}`,
    });
  };

  // Order within each file: a line whose seq is below one already seen in the same file has moved.
  const seen = new Set<number>();
  const highestInFile = new Map<string, ParsedLine>();
  for (const entry of entries) {
    const seq = entry.line.seq;
    if (seen.has(seq)) continue; // a duplicate: reported below
    seen.add(seq);
    const highest = highestInFile.get(entry.loc.file);
    if (highest !== undefined && seq < highest.line.seq) {
      problem(
        entry,
        "out_of_order",
        `out of order: it comes after event ${highest.line.seq} (${at(highest.loc, entry.loc)}); the lines were moved or swapped`,
      );
    }
    if (highest === undefined || seq > highest.line.seq) highestInFile.set(entry.loc.file, entry);
  }

  // One record per seq: the first that matches its hash (else the first), the rest are copies or rivals.
  const bySeq = new Map<number, ParsedLine[]>();
  for (const entry of entries) {
    const list = bySeq.get(entry.line.seq);
    if (list === undefined) bySeq.set(entry.line.seq, [entry]);
    else list.push(entry);
  }
  const primary = new Map<number, ParsedLine>();
  for (const [seq, list] of bySeq) {
    const chosen = list.find((e) => e.recomputed === e.line.hash) ?? list[0];
    if (chosen === undefined) continue;
    primary.set(seq, chosen);
    for (const other of list) {
      if (other === chosen) continue;
      if (other.canonical === chosen.canonical) {
        problem(other, "duplicate", `appears more than once: this line repeats ${at(chosen.loc, other.loc)}`);
      } else {
        const mismatch = other.recomputed === other.line.hash ? "" : ", and this one does not match its hash";
        problem(
          other,
          "conflicting_records",
          `two different records claim this place in the chain (the other is at ${at(chosen.loc, other.loc)})${mismatch}`,
        );
      }
    }
  }

  const seqs = [...primary.keys()].sort((a, b) => a - b);
  let previousSeq: number | undefined;
  for (const seq of seqs) {
    const entry = primary.get(seq);
    if (entry === undefined) continue;
    const { line } = entry;

    // The record against its own hash.
    if (entry.recomputed !== line.hash) {
      const next = primary.get(seq + 1);
      if (next !== undefined && next.line.prevHash === entry.recomputed) {
        problem(
          entry,
          "hash_mismatch",
          `its hash was changed: the record gives ${short(entry.recomputed)} (which event ${seq + 1} links to) but says ${short(line.hash)}`,
        );
      } else {
        problem(
          entry,
          "hash_mismatch",
          `the record was changed after it was written: its contents no longer give its hash ${short(line.hash)}`,
        );
      }
    }

    if (tombstone !== undefined && seq > tombstone.eventCount) {
      problem(
        entry,
        "after_deletion",
        `comes after the ${tombstone.eventCount} events its tombstone counts: the challenge was ${deletedAtRetentionWords(tombstone)}, so this record was added afterwards`,
      );
    }

    // Its place in the chain.
    if (seq === 1) {
      if (line.prevHash !== "") {
        problem(
          entry,
          "broken_link",
          `the first event of a challenge links to nothing, but this one has prevHash ${short(line.prevHash)}`,
        );
      }
    } else if (previousSeq !== seq - 1) {
      // Events gone from a challenge deleted at retention: their audit copies expired with it.
      if (tombstone !== undefined) {
        previousSeq = seq;
        continue;
      }
      const before = previousSeq === undefined ? undefined : primary.get(previousSeq);
      const first = (previousSeq ?? 0) + 1;
      const missing =
        first === seq - 1 ? `event ${first} is missing` : `events ${first} to ${seq - 1} are missing`;
      problem(
        entry,
        "missing_events",
        before === undefined
          ? `${missing}: this is the challenge's earliest event in the export`
          : `${missing} between event ${before.line.seq} (${at(before.loc, entry.loc)}) and this one`,
      );
    } else {
      const prev = primary.get(seq - 1);
      // When the previous record's own hash was changed, this link still matches what its contents
      // give: that problem is the previous line's, already reported.
      if (prev !== undefined && line.prevHash !== prev.line.hash && line.prevHash !== prev.recomputed) {
        problem(
          entry,
          "broken_link",
          `does not link to event ${seq - 1} (${at(prev.loc, entry.loc)}): its prevHash is ${short(line.prevHash)} but that event's hash is ${short(prev.line.hash)}; one of the two records was changed`,
        );
      }
    }
    previousSeq = seq;
  }
  return problems;
}

function sortProblems(problems: Problem[]): Problem[] {
  return problems.sort((a, b) => (a.file === b.file ? a.line - b.line : a.file < b.file ? -1 : 1));
}

/**
 * Verifies a whole export: parses every source and checks every chain in it, the tombstones of
 * challenges deleted at retention explaining their missing events.
 */
export function verifyExport(
  sources: readonly ExportSource[],
  tombstoneSources: readonly ExportSource[] = [],
): VerifyReport {
  const { parsed, problems } = parseExport(sources);
  const { tombstones, problems: tombstoneProblems } = parseTombstones(tombstoneSources);
  const challenges = new Set(parsed.map((p) => challengeKey(p.line.tenantId, p.line.challengeId)));
  const lines = sources.reduce((n, s) => n + s.text.split("\n").filter((l) => l.trim() !== "").length, 0);
  const eventsOf = new Map<string, Set<number>>();
  for (const p of parsed) {
    const key = challengeKey(p.line.tenantId, p.line.challengeId);
    eventsOf.set(key, (eventsOf.get(key) ?? new Set()).add(p.line.seq));
  }
  const deleted = [...tombstonesByChallenge(tombstones).byChallenge.values()].map((tombstone) => {
    const { tenantId, challengeId, eventCount } = tombstone;
    const eventsInExport = eventsOf.get(challengeKey(tenantId, challengeId))?.size ?? 0;
    const remain =
      eventsInExport === 0
        ? `none of its ${eventCount} events remain in the export`
        : `${eventsInExport} of its ${eventCount} events remain in the export`;
    return {
      tenantId,
      challengeId,
      tombstone,
      eventsInExport,
      message: `${tenantId}/${challengeId}: ${deletedAtRetentionWords(tombstone)}; ${remain}`,
    };
  });
  return {
    files: sources.length + tombstoneSources.length,
    lines,
    challenges: challenges.size,
    problems: sortProblems([...problems, ...tombstoneProblems, ...checkChains(parsed, tombstones)]),
    deleted: deleted.sort((a, b) => (a.message < b.message ? -1 : a.message > b.message ? 1 : 0)),
  };
}

/** `file:line: message` (just `file: message` for a whole-file problem), as compilers print them. */
export function formatProblem(problem: Pick<Problem, "file" | "line" | "message">): string {
  return problem.line === 0
    ? `${problem.file}: ${problem.message}`
    : `${problem.file}:${problem.line}: ${problem.message}`;
}
