import { generateKeyPairSync } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { SignCommand } from "@aws-sdk/client-kms";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { main } from "../../../bin/audit.js";
import {
  buildDigest,
  digestKey,
  latestDuePeriod,
  parseDigestFile,
  sha256OfBytes,
  signedStatement,
} from "../../../functions/audit/digest-format.js";
import { exportObject } from "../../../functions/audit/export-format.js";
import { verifyExport } from "../../../functions/audit/verify.js";
import { writeDueDigests, type DigestWriterDeps } from "../../../functions/audit/write-digests.js";
import { getPreset } from "../../../functions/domain/presets/index.js";
import { eventHash } from "../../../functions/store/event-hash.js";
import type { StoredEvent } from "../../../functions/store/ports.js";
import { BUCKET, KEY_ID, kmsMock, mockAudit, s3Mock, type MockedAudit } from "./digest-support.js";
import { IRO, Story, TENANT, aForm, chain, manager } from "./support.js";

/**
 * Signed digests: the format, the writer (against a mocked bucket and KMS key that behave like the
 * real ones) and the offline verifier, including every way of rewriting the audit trail the hash
 * chain alone cannot see.
 */

function story(): StoredEvent[] {
  const s = new Story(getPreset("nottingham"), "ch-digest-1");
  const tm = manager("team_manager", "north");
  s.do({ type: "Raise", actor: IRO, channel: "api", form: aForm() }, "2026-05-21T09:00:00Z");
  s.do({ type: "Acknowledge", actor: tm, channel: "email" }, "2026-05-21T11:30:00Z");
  s.do(
    { type: "Respond", actor: tm, channel: "email", response: "A core group is booked." },
    "2026-05-22T08:00:00Z",
  );
  return chain(TENANT, s.events);
}

function deps(audit: MockedAudit, now: string): DigestWriterDeps {
  return { s3: audit.s3, kms: audit.kms, bucket: BUCKET, keyId: KEY_ID, now: () => new Date(now) };
}

function must<T>(value: T | undefined): T {
  if (value === undefined) throw new Error("expected a value");
  return value;
}

function bytes(audit: MockedAudit, key: string): Uint8Array {
  return must(audit.objects.get(key));
}

function text(audit: MockedAudit, key: string): string {
  return Buffer.from(bytes(audit, key)).toString("utf8");
}

/** The bucket with the story exported and sealed: a first digest before it, then every hour to 22 May 10:00. */
async function sealedBucket(): Promise<{ audit: MockedAudit; events: StoredEvent[] }> {
  const audit = mockAudit();
  await writeDueDigests(deps(audit, "2026-05-21T09:00:00Z")); // seals 07:00-08:00, before any event
  const events = story();
  for (const object of events.map(exportObject)) audit.objects.set(object.key, Buffer.from(object.body));
  await writeDueDigests(deps(audit, "2026-05-22T12:00:00Z"));
  return { audit, events };
}

describe("digest format", () => {
  it("keys a digest by its UTC hour, and refuses a period that is not a whole hour", () => {
    expect(digestKey(new Date("2026-05-21T09:00:00Z"))).toBe("digests/2026/05/21/2026-05-21T09Z.json");
    expect(() => digestKey(new Date("2026-05-21T09:30:00Z"))).toThrow(/whole UTC hour/);
  });

  it("makes an hour due one hour after it ends", () => {
    expect(latestDuePeriod(new Date("2026-05-21T11:59:59Z")).toISOString()).toBe("2026-05-21T09:00:00.000Z");
    expect(latestDuePeriod(new Date("2026-05-21T12:00:00Z")).toISOString()).toBe("2026-05-21T10:00:00.000Z");
  });

  it("builds the same digest from the same objects in any order", () => {
    const entries = [
      { key: "exports/b", sha256: "b".repeat(64), bytes: 2 },
      { key: "exports/a", sha256: "a".repeat(64), bytes: 1 },
    ];
    const input = { periodStart: new Date("2026-05-21T09:00:00Z"), previous: null, signingKeyId: KEY_ID };
    const one = buildDigest({ ...input, exports: entries });
    const two = buildDigest({ ...input, exports: [...entries].reverse() });
    expect(one).toEqual(two);
    expect(one.exports.map((e) => e.key)).toEqual(["exports/a", "exports/b"]);
    expect(one.periodEnd).toBe("2026-05-21T10:00:00.000Z");
    expect(() => buildDigest({ ...input, exports: [...entries, must(entries[0])] })).toThrow(/listed twice/);
  });

  it("signs a short statement of the digest's hash, under KMS's 4096-byte message limit however busy the hour", () => {
    const exports = Array.from({ length: 20_000 }, (_, i) => ({
      key: `exports/tenant=${TENANT}/date=2026-05-21/ch-${i}-0000000001.ndjson`,
      sha256: "c".repeat(64),
      bytes: 900,
    }));
    const body = buildDigest({
      periodStart: new Date("2026-05-21T09:00:00Z"),
      exports,
      previous: null,
      signingKeyId: KEY_ID,
    });
    expect(signedStatement(body).length).toBeLessThan(200);
    const other = buildDigest({
      ...body,
      periodStart: new Date(body.periodStart),
      exports: exports.slice(1),
    });
    expect(Buffer.from(signedStatement(other))).not.toEqual(Buffer.from(signedStatement(body)));
  });
});

describe("the digest writer", () => {
  it("starts a chain, then seals every hour since, each listing its hour's export objects and chained to the one before", async () => {
    const { audit, events } = await sealedBucket();
    const digestKeys = [...audit.objects.keys()].filter((k) => k.startsWith("digests/")).sort();
    // 07:00 on the 21st to 10:00 on the 22nd: 28 hours, empty hours included.
    expect(digestKeys).toHaveLength(28);
    expect(digestKeys[0]).toBe("digests/2026/05/21/2026-05-21T07Z.json");
    expect(digestKeys.at(-1)).toBe("digests/2026/05/22/2026-05-22T10Z.json");

    const files = digestKeys.map((k) => parseDigestFile(text(audit, k)));
    expect(files[0]?.digest.previous).toBeNull();
    for (let i = 1; i < files.length; i++) {
      const previousKey = must(digestKeys[i - 1]);
      expect(files[i]?.digest.previous).toEqual({
        key: previousKey,
        sha256: sha256OfBytes(bytes(audit, previousKey)),
      });
    }
    const nine = parseDigestFile(text(audit, "digests/2026/05/21/2026-05-21T09Z.json"));
    const raised = events
      .filter((e) => Date.parse(e.event.at) === Date.parse("2026-05-21T09:00:00Z"))
      .map((e) => exportObject(e).key)
      .sort();
    expect(raised.length).toBeGreaterThan(0);
    expect(nine.digest.exports.map((e) => e.key)).toEqual(raised);
    const first = must(raised[0]);
    expect(nine.digest.exports[0]).toEqual({
      key: first,
      sha256: sha256OfBytes(bytes(audit, first)),
      bytes: bytes(audit, first).length,
    });
    expect(parseDigestFile(text(audit, "digests/2026/05/21/2026-05-21T10Z.json")).digest.exports).toEqual([]);
  });

  it("writes each digest once, write-once and checksummed, and a second run of the same hour writes nothing", async () => {
    const { audit } = await sealedBucket();
    const puts = s3Mock.commandCalls(PutObjectCommand).map((c) => c.args[0].input);
    expect(puts.every((p) => p.IfNoneMatch === "*" && p.ChecksumAlgorithm === "SHA256")).toBe(true);
    const before = new Map(audit.objects);
    const again = await writeDueDigests(deps(audit, "2026-05-22T12:59:00Z"));
    expect(again).toEqual({ written: [], alreadyWritten: [], remaining: 0 });
    expect(audit.objects).toEqual(before);
  });

  it("when another run sealed the hour first (412), keeps that digest and chains on from it", async () => {
    const audit = mockAudit();
    await writeDueDigests(deps(audit, "2026-05-21T09:00:00Z"));
    // A rival run writes the 08:00 digest between this run's search and its write.
    const rival = mockAudit(generateKeyPairSync("ec", { namedCurve: "P-256" }));
    for (const [k, v] of audit.objects) rival.objects.set(k, v);
    await writeDueDigests(deps(rival, "2026-05-21T10:00:00Z"));
    const rivalEight = bytes(rival, "digests/2026/05/21/2026-05-21T08Z.json");
    const shared = mockAudit();
    for (const [k, v] of audit.objects) shared.objects.set(k, v);
    s3Mock.on(PutObjectCommand, { Key: "digests/2026/05/21/2026-05-21T08Z.json" }).callsFake(() => {
      shared.objects.set("digests/2026/05/21/2026-05-21T08Z.json", rivalEight);
      throw Object.assign(new Error("At least one of the pre-conditions you specified did not hold"), {
        name: "PreconditionFailed",
        $metadata: { httpStatusCode: 412 },
      });
    });
    const run = await writeDueDigests(deps(shared, "2026-05-21T11:00:00Z"));
    expect(run.alreadyWritten).toEqual(["digests/2026/05/21/2026-05-21T08Z.json"]);
    expect(run.written).toEqual(["digests/2026/05/21/2026-05-21T09Z.json"]);
    expect(shared.objects.get("digests/2026/05/21/2026-05-21T08Z.json")).toBe(rivalEight);
    const nine = parseDigestFile(text(shared, "digests/2026/05/21/2026-05-21T09Z.json"));
    expect(nine.digest.previous?.sha256).toBe(sha256OfBytes(rivalEight));
  });

  it("writes nothing for an hour KMS would not sign, and the next run catches up without a gap", async () => {
    const audit = mockAudit();
    await writeDueDigests(deps(audit, "2026-05-21T09:00:00Z"));
    const working = kmsMock.commandCalls(SignCommand).length;
    kmsMock.on(SignCommand).rejects(Object.assign(new Error("throttled"), { name: "ThrottlingException" }));
    await expect(writeDueDigests(deps(audit, "2026-05-21T11:00:00Z"))).rejects.toThrow("throttled");
    expect(kmsMock.commandCalls(SignCommand).length).toBe(working + 1);
    expect(audit.objects.has("digests/2026/05/21/2026-05-21T08Z.json")).toBe(false);

    const healed = mockAudit();
    for (const [k, v] of audit.objects) healed.objects.set(k, v);
    const run = await writeDueDigests(deps(healed, "2026-05-21T11:00:00Z"));
    expect(run.written).toEqual([
      "digests/2026/05/21/2026-05-21T08Z.json",
      "digests/2026/05/21/2026-05-21T09Z.json",
    ]);
  });
});

describe("npm run audit -- verify, with digests", () => {
  let dir: string;
  let keyFile: string;
  let out: string[];
  const io = {
    out: (line: string) => out.push(line),
    err: (line: string) => out.push(line),
  };

  async function copyBucket(audit: MockedAudit): Promise<void> {
    for (const [key, bytes] of audit.objects) {
      const target = path.join(dir, "bucket", key);
      await mkdir(path.dirname(target), { recursive: true });
      await writeFile(target, bytes);
    }
    keyFile = path.join(dir, "digest-key.pem");
    await writeFile(keyFile, audit.publicKey.export({ type: "spki", format: "pem" }));
  }

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "audit-digests-"));
    out = [];
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const bucketDir = (): string => path.join(dir, "bucket");
  const file = (key: string): string => path.join(dir, "bucket", key);

  it("passes an untouched copy of the bucket, saying what the digests sealed", async () => {
    const { audit } = await sealedBucket();
    await copyBucket(audit);
    expect(await main(["verify", "--public-key", keyFile, bucketDir()], io)).toBe(0);
    expect(out).toContain(
      "Digests: 28 signed digests verified, sealing 2026-05-21T07:00:00.000Z to 2026-05-22T11:00:00.000Z; 4 export objects match their digest. A deleted newest digest leaves no gap: check the last sealed hour against the time of your copy.",
    );
    expect(out.at(-1)).toBe("OK: 4 lines in 4 files, 1 challenge; every chain is whole.");
  });

  it("accepts the key as the DER bytes KMS GetPublicKey returns", async () => {
    const { audit } = await sealedBucket();
    await copyBucket(audit);
    const der = path.join(dir, "digest-key.der");
    await writeFile(der, audit.publicKey.export({ type: "spki", format: "der" }));
    expect(await main(["verify", "--public-key", der, bucketDir()], io)).toBe(0);
  });

  it("catches an event edited with its own hash (and every later hash) recomputed, which the chain alone misses", async () => {
    const { audit, events } = await sealedBucket();
    // The forger rewrites the response and re-chains everything after it.
    const forged: StoredEvent[] = [];
    let prevHash = "";
    for (const stored of events) {
      // The stage's deadline is moved later; that hash and every later link and hash are recomputed.
      const event =
        stored.event.type === "StageOpened"
          ? { ...stored.event, data: { ...stored.event.data, deadline: "2026-07-01T16:00:00.000Z" } }
          : stored.event;
      const hash = eventHash(TENANT, event, prevHash);
      forged.push({ tenantId: TENANT, event, prevHash, hash });
      prevHash = hash;
    }
    const changed = forged.filter((f, i) => f.hash !== events[i]?.hash).map(exportObject);
    expect(changed.map((o) => o.line.seq)).toEqual([2, 3, 4]);
    for (const object of changed) audit.objects.set(object.key, Buffer.from(object.body));
    await copyBucket(audit);

    const chainsOnly = verifyExport(forged.map(exportObject).map((o) => ({ file: o.key, text: o.body })));
    expect(chainsOnly.problems).toEqual([]);

    expect(await main(["verify", "--public-key", keyFile, bucketDir()], io)).toBe(1);
    for (const object of changed) {
      expect(out).toContainEqual(
        expect.stringMatching(
          new RegExp(
            `^${file(object.key).replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: does not match the digest digests/`,
          ),
        ),
      );
    }
    expect(out.at(-1)).toMatch(new RegExp(`^FAILED: ${changed.length} problems? in`));
  });

  it("names an export object deleted after it was sealed", async () => {
    const { audit, events } = await sealedBucket();
    const last = exportObject(must(events.at(-1))).key;
    audit.objects.delete(last);
    await copyBucket(audit);
    expect(await main(["verify", "--public-key", keyFile, bucketDir()], io)).toBe(1);
    expect(out).toContainEqual(
      `${file("digests/2026/05/22/2026-05-22T08Z.json")}: lists export ${last}, which is missing: the object was deleted (or not copied)`,
    );
  });

  it("names an object added to an hour that was already sealed", async () => {
    const { audit, events } = await sealedBucket();
    const s = new Story(getPreset("nottingham"), "ch-digest-late");
    s.do({ type: "Raise", actor: IRO, channel: "api", form: aForm() }, "2026-05-21T15:00:00Z");
    const late = chain(TENANT, s.events).map(exportObject);
    for (const object of late) audit.objects.set(object.key, Buffer.from(object.body));
    await copyBucket(audit);
    expect(events.length).toBe(4);
    expect(await main(["verify", "--public-key", keyFile, bucketDir()], io)).toBe(1);
    expect(out.filter((l) => l.includes("no digest lists it"))).toHaveLength(late.length);
  });

  it("names a digest whose content was edited (its signature fails)", async () => {
    const { audit } = await sealedBucket();
    const key = "digests/2026/05/21/2026-05-21T09Z.json";
    const parsed = parseDigestFile(text(audit, key));
    const edited = { ...parsed, digest: { ...parsed.digest, exports: parsed.digest.exports.slice(1) } };
    audit.objects.set(key, Buffer.from(`${JSON.stringify(edited)}\n`));
    await copyBucket(audit);
    expect(await main(["verify", "--public-key", keyFile, bucketDir()], io)).toBe(1);
    expect(out).toContainEqual(
      expect.stringContaining(`${file(key)}: the signature does not verify with the public key given`),
    );
  });

  it("names a gap where a digest was deleted from the chain", async () => {
    const { audit } = await sealedBucket();
    const key = "digests/2026/05/21/2026-05-21T20Z.json";
    audit.objects.delete(key);
    await copyBucket(audit);
    expect(await main(["verify", "--public-key", keyFile, bucketDir()], io)).toBe(1);
    expect(out).toContainEqual(
      `${file("digests/2026/05/21/2026-05-21T21Z.json")}: the previous digest ${key} it names is missing: a digest was deleted (or not copied)`,
    );
  });

  it("refuses every digest under the wrong public key", async () => {
    const { audit } = await sealedBucket();
    await copyBucket(audit);
    const other = generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey;
    await writeFile(keyFile, other.export({ type: "spki", format: "pem" }));
    expect(await main(["verify", "--public-key", keyFile, bucketDir()], io)).toBe(1);
    expect(out.filter((l) => l.includes("the signature does not verify"))).toHaveLength(28);
    expect(out).toContainEqual(expect.stringMatching(/^Digests: 0 signed digests verified/));
  });

  it("fails when digests are present but no public key is given, and says so", async () => {
    const { audit } = await sealedBucket();
    await copyBucket(audit);
    expect(await main(["verify", bucketDir()], io)).toBe(1);
    expect(out).toContain(
      "28 digests found but not checked: give the digest key's public half with --public-key <file> or --key-id <KMS key>.",
    );
  });

  it("says clearly when no digest was checked, and fails when a key was given but the digests are gone", async () => {
    const { audit } = await sealedBucket();
    for (const key of [...audit.objects.keys()]) if (key.startsWith("digests/")) audit.objects.delete(key);
    await copyBucket(audit);
    expect(await main(["verify", bucketDir()], io)).toBe(0);
    expect(out).toContainEqual(
      expect.stringMatching(/^No digests were checked \(none under the paths given\)/),
    );
    out = [];
    expect(await main(["verify", "--public-key", keyFile, bucketDir()], io)).toBe(1);
    expect(out).toContainEqual(
      expect.stringMatching(/^No digests were found under the paths given, though a public key was/),
    );
  });
});
