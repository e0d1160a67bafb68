/**
 * One JSON file, rewritten atomically: the text goes to a temporary file in the same folder,
 * which is then renamed over the old one, so a crash leaves either the old or the new file, never
 * half of one. Writes are serialised; saves requested while one is in flight coalesce into a
 * single next write of the latest text.
 */
import { mkdirSync, readFileSync } from "node:fs";
import { rename, rm, writeFile } from "node:fs/promises";
import { dirname } from "node:path";

interface Waiter {
  resolve: () => void;
  reject: (error: unknown) => void;
}

export class JsonFile {
  private queued: { text: string; waiters: Waiter[] } | undefined;
  private writing: Promise<void> | undefined;
  private closed = false;
  private counter = 0;

  constructor(readonly path: string) {
    mkdirSync(dirname(path), { recursive: true });
  }

  /** The parsed file, or undefined when it does not exist yet. */
  read(): unknown {
    let text: string;
    try {
      text = readFileSync(this.path, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw error;
    }
    try {
      return JSON.parse(text) as unknown;
    } catch (error) {
      throw new Error(
        `${this.path} is not valid JSON (${(error as Error).message}); move it aside to start afresh`,
        { cause: error },
      );
    }
  }

  /** Resolves once `text` (or a later text) is on disk. Ignored after {@link close}. */
  write(text: string): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      if (this.queued) {
        this.queued.text = text;
        this.queued.waiters.push({ resolve, reject });
      } else {
        this.queued = { text, waiters: [{ resolve, reject }] };
      }
      this.writing ??= this.drain();
    });
  }

  /** Waits for pending writes, then refuses further ones (another process may own the file next). */
  async close(): Promise<void> {
    await this.writing;
    this.closed = true;
  }

  private async drain(): Promise<void> {
    while (this.queued) {
      const job = this.queued;
      this.queued = undefined;
      const temporary = `${this.path}.${process.pid}.${++this.counter}.tmp`;
      try {
        await writeFile(temporary, job.text, "utf8");
        await rename(temporary, this.path);
        for (const waiter of job.waiters) waiter.resolve();
      } catch (error) {
        await rm(temporary, { force: true });
        for (const waiter of job.waiters) waiter.reject(error);
      }
    }
    this.writing = undefined;
  }
}
