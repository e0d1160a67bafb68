/**
 * Signed audit digests end to end on the local runtime `npm start` runs: a challenge raised over
 * the API is exported by the stream consumer, the hourly schedule (on the service clock) has the
 * digest writer seal the hour through the local KMS endpoint, and `npm run audit -- verify` checks
 * the bucket's folder with the public key fetched from that endpoint (GetPublicKey), then catches
 * an export object edited afterwards.
 */
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../bin/audit.js";
import { parseDigestFile } from "../../functions/audit/digest-format.js";
import { raiseChallengeBody, DEMO_CHILDREN } from "../../local/demo.js";
import {
  type E2eRuntime,
  advanceClock,
  api,
  auditExport,
  eventually,
  startE2eRuntime,
} from "../support/e2e-harness.js";

async function filesUnder(folder: string): Promise<string[]> {
  try {
    const entries = await readdir(folder, { recursive: true, withFileTypes: true });
    return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
  } catch {
    return [];
  }
}

describe("audit digests on the local runtime", () => {
  let e2e: E2eRuntime;
  let bucketDir: string;
  let out: string[];
  const io = { out: (line: string) => out.push(line), err: (line: string) => out.push(line) };

  beforeAll(async () => {
    e2e = await startE2eRuntime();
    bucketDir = join(e2e.dataDir, "s3", e2e.current().settings.auditBucket);
  }, 90_000);

  afterAll(async () => {
    await e2e.dispose();
  }, 30_000);

  it("seals the hour of a raised challenge with a digest that verify checks with the key from KMS GetPublicKey", async () => {
    const rt = e2e.current();
    const [child] = DEMO_CHILDREN;
    const raised = await api(rt, "POST", "/v1/challenges", rt.tokens.IRO, raiseChallengeBody(child));
    expect(raised.status).toBe(201);
    const exported = await eventually("the export objects", async () => {
      const { lines } = await auditExport(rt);
      return lines.length >= 2 ? lines : undefined;
    });

    // Two hours later the raise's hour is due; the schedule runs on the clock advance.
    await advanceClock(rt, { hours: 2 });
    const exportKeys = (await filesUnder(join(bucketDir, "exports"))).map((f) =>
      f.slice(bucketDir.length + 1),
    );
    const sealing = await eventually(
      "a digest listing the exports",
      async () => {
        for (const file of await filesUnder(join(bucketDir, "digests"))) {
          const digest = parseDigestFile(await readFile(file, "utf8")).digest;
          if (digest.exports.length > 0) return { file, digest };
        }
        return undefined;
      },
      30_000,
    );
    expect(sealing.digest.exports.map((e) => e.key).sort()).toEqual(exportKeys.sort());
    expect(exportKeys).toHaveLength(exported.length);
    expect(sealing.digest.signingKeyId).toBe(rt.settings.digestKeyArn);

    out = [];
    expect(await main(["verify", "--key-id", rt.settings.digestKeyArn, bucketDir], io)).toBe(0);
    expect(out).toContainEqual(
      expect.stringMatching(
        new RegExp(`signed digests? verified.*; ${exportKeys.length} export objects match their digest`),
      ),
    );

    // An object changed after it was sealed: the digest, not the chain, is what names it.
    const target = join(bucketDir, exportKeys[0] ?? "");
    await writeFile(target, (await readFile(target, "utf8")).replace('"channel":"api"', '"channel":"email"'));
    out = [];
    expect(await main(["verify", "--key-id", rt.settings.digestKeyArn, bucketDir], io)).toBe(1);
    expect(out).toContainEqual(expect.stringContaining(`${target}: does not match the digest digests/`));
    expect(e2e.warnings.filter((w) => w.includes("audit digests"))).toEqual([]);
  }, 120_000);
});
