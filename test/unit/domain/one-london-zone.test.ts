import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";

/**
 * London time has one home (functions/domain/london-time.ts): no other production file names the
 * zone or brings a date library into a Lambda bundle. A source scan, so a second copy fails here.
 */

const FUNCTIONS = path.resolve(import.meta.dirname, "../../../functions");
const HOME = path.join("domain", "london-time.ts");

async function sources(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((e) => e.isFile() && e.name.endsWith(".ts"))
    .map((e) => path.relative(FUNCTIONS, path.join(e.parentPath, e.name)));
}

describe("one London zone", () => {
  it('names "Europe/London" in functions/domain/london-time.ts only, and imports luxon nowhere', async () => {
    const files = await sources(FUNCTIONS);
    expect(files).toContain(HOME);
    const zone = /["'`]Europe\/London["'`]/;
    const luxon = /from\s+["']luxon["']|import\(\s*["']luxon["']\s*\)|require\(\s*["']luxon["']\s*\)/;
    const offenders: string[] = [];
    for (const file of files) {
      const text = await readFile(path.join(FUNCTIONS, file), "utf8");
      if (file !== HOME && zone.test(text)) offenders.push(`${file}: names the zone`);
      if (luxon.test(text)) offenders.push(`${file}: imports luxon`);
    }
    expect(offenders).toEqual([]);
    expect(zone.test(await readFile(path.join(FUNCTIONS, HOME), "utf8"))).toBe(true);
  });
});
