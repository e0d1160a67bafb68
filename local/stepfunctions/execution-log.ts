/**
 * Where the local Step Functions keeps its executions: one append-only file of JSON lines per
 * execution, so a change costs what that change is (a few history events, the pending task),
 * never a rewrite of every execution. Lines:
 *   {"k":"record", ...the execution without its history}   first line, or after compaction
 *   {"k":"event","e":{...one history event}}
 *   {"k":"state", status, stopDate, output, error, cause, pendingTask, pendingWait, resumeCount}
 * Writes run on libuv's thread pool (fs/promises), one file at a time per execution, coalesced:
 * saves asked for while one is in flight become one append of everything new. A file is
 * compacted (rewritten as one record line, to a temporary file renamed over it) when its state
 * lines pile up and when the execution ends. A crash can cut the last line short: loading stops
 * at the first line that is not JSON, keeping what came before.
 */
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, readdirSync } from "node:fs";
import { appendFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { ExecutionRecord, HistoryEvent } from "./engine.js";

/** State lines after which a file is compacted (each wait adds two: its start and its end). */
const COMPACT_AFTER_STATE_LINES = 64;

type MutableState = Pick<
  ExecutionRecord,
  "status" | "stopDate" | "output" | "error" | "cause" | "pendingTask" | "pendingWait" | "resumeCount"
>;

interface FileState {
  readonly path: string;
  /** The engine's live record (the engine mutates it; saves read it). */
  record: ExecutionRecord;
  /** History events on disk. */
  eventsWritten: number;
  /** The last state written (as JSON text), to skip unchanged ones. */
  stateText: string | undefined;
  stateLines: number;
  /** Whether the file has its first (record) line. */
  started: boolean;
  dirty: boolean;
  writing: Promise<void> | undefined;
}

export class ExecutionLog {
  private readonly files = new Map<string, FileState>();
  private closed = false;
  private counter = 0;

  constructor(
    readonly dir: string,
    private readonly log: (message: string) => void,
  ) {
    mkdirSync(dir, { recursive: true });
  }

  /** Every execution on disk (synchronous: the engine is opening and nothing runs yet). */
  load(): ExecutionRecord[] {
    const loaded: ExecutionRecord[] = [];
    for (const name of readdirSync(this.dir)) {
      if (!name.endsWith(".jsonl")) continue;
      const path = join(this.dir, name);
      const record = this.parse(path, readFileSync(path, "utf8"));
      if (record === undefined) continue;
      loaded.push(record);
    }
    return loaded;
  }

  /** Schedules writing what changed in `record` since its last save; resolves once it is on disk. */
  save(record: ExecutionRecord): Promise<void> {
    if (this.closed) return Promise.resolve();
    const file = this.fileOf(record);
    file.dirty = true;
    file.writing ??= this.drain(file);
    return file.writing;
  }

  /** Waits for every write in flight and refuses further ones (another process may own the files next). */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.files.values()].flatMap((file) => (file.writing ? [file.writing] : [])));
  }

  private fileOf(record: ExecutionRecord): FileState {
    let file = this.files.get(record.executionArn);
    if (file === undefined) {
      file = {
        path: join(this.dir, fileNameOf(record.executionArn)),
        record,
        eventsWritten: 0,
        stateText: undefined,
        stateLines: 0,
        started: false,
        dirty: false,
        writing: undefined,
      };
      this.files.set(record.executionArn, file);
    }
    file.record = record;
    return file;
  }

  private async drain(file: FileState): Promise<void> {
    try {
      while (file.dirty) {
        file.dirty = false;
        const record = file.record;
        try {
          if (!file.started || record.status !== "RUNNING" || file.stateLines >= COMPACT_AFTER_STATE_LINES) {
            await this.compact(file, record);
          } else {
            await this.append(file, record);
          }
        } catch (error) {
          this.log(`could not save ${file.path}: ${String(error)}`);
        }
      }
    } finally {
      file.writing = undefined;
    }
  }

  private async append(file: FileState, record: ExecutionRecord): Promise<void> {
    const lines: string[] = [];
    const events = record.history.length;
    for (const event of record.history.slice(file.eventsWritten))
      lines.push(JSON.stringify({ k: "event", e: event }));
    const stateText = JSON.stringify(stateOf(record));
    const stateChanged = stateText !== file.stateText;
    if (stateChanged) lines.push(`{"k":"state",${stateText.slice(1)}`);
    if (lines.length === 0) return;
    await appendFile(file.path, `${lines.join("\n")}\n`, "utf8");
    file.eventsWritten = events;
    if (stateChanged) {
      file.stateText = stateText;
      file.stateLines += 1;
    }
  }

  /** Rewrites the file as one record line (history included), atomically. */
  private async compact(file: FileState, record: ExecutionRecord): Promise<void> {
    const events = record.history.length;
    const stateText = JSON.stringify(stateOf(record));
    const temporary = `${file.path}.${process.pid}.${++this.counter}.tmp`;
    try {
      await writeFile(temporary, `${JSON.stringify({ k: "record", ...record })}\n`, "utf8");
      await rename(temporary, file.path);
    } catch (error) {
      await rm(temporary, { force: true });
      throw error;
    }
    file.started = true;
    file.eventsWritten = events;
    file.stateText = stateText;
    file.stateLines = 0;
  }

  private parse(path: string, text: string): ExecutionRecord | undefined {
    let record: ExecutionRecord | undefined;
    let stateLines = 0;
    const lines = text.split("\n");
    for (const [index, line] of lines.entries()) {
      if (line === "") continue;
      let entry: { k?: unknown; e?: unknown } & Record<string, unknown>;
      try {
        entry = JSON.parse(line) as typeof entry;
      } catch {
        // A line cut short by a crash: what came before it stands.
        this.log(`${path}: line ${index + 1} is not JSON; keeping the ${index} line(s) before it`);
        break;
      }
      if (entry.k === "record") {
        const { k: _k, ...rest } = entry;
        record = rest as unknown as ExecutionRecord;
        stateLines = 0;
      } else if (record !== undefined && entry.k === "event") {
        record.history.push(entry.e as HistoryEvent);
      } else if (record !== undefined && entry.k === "state") {
        const { k: _k, ...state } = entry;
        // Absent in a state line means absent (a pending task that ended): start from none.
        const {
          stopDate: _s,
          output: _o,
          error: _e,
          cause: _c,
          pendingTask: _t,
          pendingWait: _w,
          ...kept
        } = record;
        record = Object.assign(kept, state);
        stateLines += 1;
      }
    }
    if (record === undefined) {
      this.log(`${path}: no execution record in it; skipped`);
      return undefined;
    }
    this.files.set(record.executionArn, {
      path,
      record,
      eventsWritten: record.history.length,
      stateText: JSON.stringify(stateOf(record)),
      stateLines,
      started: true,
      dirty: false,
      writing: undefined,
    });
    return record;
  }
}

function stateOf(record: ExecutionRecord): MutableState {
  return {
    status: record.status,
    ...(record.stopDate === undefined ? {} : { stopDate: record.stopDate }),
    ...(record.output === undefined ? {} : { output: record.output }),
    ...(record.error === undefined ? {} : { error: record.error }),
    ...(record.cause === undefined ? {} : { cause: record.cause }),
    ...(record.pendingTask === undefined ? {} : { pendingTask: record.pendingTask }),
    ...(record.pendingWait === undefined ? {} : { pendingWait: record.pendingWait }),
    resumeCount: record.resumeCount,
  };
}

/** Execution names may hold characters a file name cannot: name the file by a hash of the ARN. */
function fileNameOf(executionArn: string): string {
  return `${createHash("sha256").update(executionArn).digest("hex").slice(0, 40)}.jsonl`;
}
