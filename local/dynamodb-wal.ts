/**
 * DynamoDB Local's database file in SQLite's write-ahead-log mode (issue 12).
 *
 * Why: DynamoDB Local keeps its data in one SQLite file and runs every statement on one queue. It
 * sets no journal mode, so SQLite uses its default rollback journal: every commit creates a journal
 * file, syncs it, writes the database, syncs that, and deletes the journal: three or four fsyncs
 * per write, which at scale is what that queue spends its time on (measured: 2,000 mixed calls,
 * 16 at a time, took 54 s with the rollback journal, 25 s in WAL mode, 19 s in memory). In WAL mode
 * a commit appends to `<file>-wal` and syncs it once (DynamoDB Local keeps SQLite's default
 * `synchronous=FULL`), so an acknowledged write still survives the JVM being killed; the commit
 * barrier (dynamodb-commit-barrier.ts) is still what makes "acknowledged" mean "committed".
 *
 * The mode is stored in the file itself (header bytes 18 and 19: 1 rollback, 2 WAL), and DynamoDB
 * Local cannot be asked to run a PRAGMA, so it is set here, before the JVM opens the file:
 * - no file yet: an empty database is written in WAL mode (what `PRAGMA journal_mode=WAL` writes
 *   for a new file: one empty 4,096-byte page; DynamoDB Local creates its tables in it);
 * - a file in rollback mode with no hot journal beside it: the two bytes are set to 2, which is
 *   all SQLite itself changes. With a journal left by a crash the file is left alone (SQLite must
 *   roll that journal back first, in rollback mode); the next start switches it.
 * See https://www.sqlite.org/fileformat.html (the database header) and https://www.sqlite.org/wal.html.
 */
import { closeSync, existsSync, openSync, readSync, statSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";

/** The file DynamoDB Local keeps every table in with `-sharedDb`. */
export const SHARED_DB_FILE = "shared-local-instance.db";

const MAGIC = "SQLite format 3\0";
const PAGE_SIZE = 4096;
const ROLLBACK = 1;
const WAL = 2;

/** An empty SQLite database in WAL mode: the 100-byte header, then an empty table b-tree leaf page. */
export function emptyWalDatabase(): Buffer {
  const page = Buffer.alloc(PAGE_SIZE);
  page.write(MAGIC, 0, "latin1");
  page.writeUInt16BE(PAGE_SIZE, 16);
  page[18] = WAL; // file format write version
  page[19] = WAL; // file format read version
  page[21] = 64; // maximum embedded payload fraction (must be 64)
  page[22] = 32; // minimum embedded payload fraction (must be 32)
  page[23] = 32; // leaf payload fraction (must be 32)
  page.writeUInt32BE(1, 24); // file change counter
  page.writeUInt32BE(1, 28); // database size in pages
  page.writeUInt32BE(1, 92); // version-valid-for: equals the change counter
  page.writeUInt32BE(3_040_001, 96); // the SQLite version that wrote it
  page[100] = 0x0d; // page 1's b-tree: a table leaf with no cells
  page.writeUInt16BE(PAGE_SIZE, 105); // cell content area starts at the page's end
  return page;
}

/**
 * Puts DynamoDB Local's shared database in `dbPath` into WAL mode (see the module comment). Returns
 * what it did. Call only while no JVM has the file open.
 */
export function useWriteAheadLog(dbPath: string): "created" | "switched" | "already" | "left" {
  const file = join(dbPath, SHARED_DB_FILE);
  if (!existsSync(file) || statSync(file).size === 0) {
    writeFileSync(file, emptyWalDatabase());
    return "created";
  }
  const journal = `${file}-journal`;
  if (existsSync(journal) && statSync(journal).size > 0) return "left";
  const fd = openSync(file, "r+");
  try {
    const header = Buffer.alloc(20);
    if (readSync(fd, header, 0, 20, 0) < 20 || header.toString("latin1", 0, 16) !== MAGIC) return "left";
    if (header[18] === WAL && header[19] === WAL) return "already";
    if (header[18] !== ROLLBACK || header[19] !== ROLLBACK) return "left";
    writeSync(fd, Buffer.from([WAL, WAL]), 0, 2, 18);
    return "switched";
  } finally {
    closeSync(fd);
  }
}
