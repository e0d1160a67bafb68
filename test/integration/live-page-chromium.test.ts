import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inflateSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { demoLiveHtml, renderedDom, screenshotHtml } from "../../bin/report-screenshot.js";

/**
 * The live page in headless Chromium (Debian's package; .ci/run installs it): the page must load,
 * lay out and paint, at a desktop width and a phone's. Fails when Chromium is missing (the set-up
 * installs it), when the page does not parse into its landmarks, tables and charts, or when the
 * screenshot is blank (a control page with nothing in it shows the check can fail).
 */

interface Png {
  readonly width: number;
  readonly height: number;
  /** Distinct byte values over the decompressed scanlines: 1 or 2 for a blank page. */
  readonly distinctBytes: number;
}

function readPng(bytes: Buffer): Png {
  expect(bytes.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  let offset = 8;
  let width = 0;
  let height = 0;
  const data: Buffer[] = [];
  while (offset < bytes.length) {
    const length = bytes.readUInt32BE(offset);
    const type = bytes.toString("latin1", offset + 4, offset + 8);
    const body = bytes.subarray(offset + 8, offset + 8 + length);
    if (type === "IHDR") {
      width = body.readUInt32BE(0);
      height = body.readUInt32BE(4);
    } else if (type === "IDAT") data.push(body);
    offset += 12 + length;
  }
  const pixels = inflateSync(Buffer.concat(data));
  return { width, height, distinctBytes: new Set(pixels).size };
}

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "live-page-chromium-"));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

async function shot(html: string, width: number, height: number): Promise<Png> {
  const file = join(work, `shot-${width}.png`);
  await screenshotHtml(html, file, { width, height });
  return readPng(await readFile(file));
}

describe("the live page in headless Chromium", () => {
  const html = demoLiveHtml();

  it("parses into its landmarks, headings, tables and charts", { timeout: 90_000 }, async () => {
    const dom = await renderedDom(html);
    for (const landmark of ["<header>", "<main>", "<footer>", '<nav aria-label="On this page">'])
      expect(dom).toContain(landmark);
    expect(dom).toMatch(/<h1>Demo Borough: where every challenge stands<\/h1>/);
    expect(dom.match(/<h2 /g)?.length).toBeGreaterThanOrEqual(5);
    expect(dom).toContain("<caption");
    expect(dom).toContain('<th scope="col">Acknowledged</th>');
    expect(dom.match(/<svg role="img"/g)?.length).toBe(3);
    expect(dom).toContain('<a href="#timeline-demo-13">demo-13</a>');
    expect(dom).toContain('id="timeline-demo-13"');
  });

  it("paints a page at a desktop width and at a phone's", { timeout: 120_000 }, async () => {
    const desktop = await shot(html, 1200, 1600);
    expect([desktop.width, desktop.height]).toEqual([1200, 1600]);
    expect(desktop.distinctBytes).toBeGreaterThan(50);
    const phone = await shot(html, 390, 844);
    expect(phone.width).toBe(390);
    expect(phone.distinctBytes).toBeGreaterThan(50);
    // The control: a page that draws nothing is caught by the same check.
    const blank = await shot("<!doctype html><title>blank</title>", 390, 844);
    expect(blank.distinctBytes).toBeLessThanOrEqual(50);
  });
});
