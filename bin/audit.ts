/**
 * The auditors' command line:
 *
 *   npx tsx bin/audit.ts verify [--public-key <file> | --key-id <KMS key>] <folder-or-file>...
 *       Checks every challenge's hash chain in NDJSON exports (folders are searched for .ndjson and
 *       .jsonl files), and the signed digests under `digests/` against the exports with the digest
 *       key's public half: a PEM or DER file, or fetched with KMS GetPublicKey (credentials as the SDK
 *       finds them). Says so when no digest was checked. Prints every problem as `file:line: message`;
 *       exits 1 if there is any, or if digests were found but no public key was given.
 *
 *   npx tsx bin/audit.ts timeline <challengeId> <folder-or-file>... [--protocol <protocol.json>]
 *       Prints one challenge's events in plain words. Stage names come from the shipped preset
 *       named in the challenge's first event, or from the protocol JSON given. Problems with the
 *       challenge's chain are printed after the timeline, and the exit code is then 1.
 *
 *   npx tsx bin/audit.ts backfill --tenant <id> --from <YYYY-MM> --to <YYYY-MM> [--since <ISO instant>]
 *       Re-exports the tenant's events from the table to the audit bucket after a stream outage
 *       (TABLE_NAME and AUDIT_BUCKET from the environment, AWS credentials as the SDK finds them).
 *       Idempotent: objects already exported are left as they are.
 *
 * Exit codes: 0 all well, 1 problems found, 2 the command was used wrongly.
 */
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { findPreset } from "../functions/domain/presets/index.js";
import { parseProtocol, type Protocol } from "../functions/domain/protocol.js";
import type { KeyObject } from "node:crypto";
import {
  checkChains,
  type Problem,
  EXPORT_FILE,
  formatProblem,
  parseExport,
  readExportSources,
  readFiles,
  verifyExport,
} from "../functions/audit/verify.js";
import { DIGEST_SIGNING_ALGORITHM, publicKeyFrom } from "../functions/audit/digest-format.js";
import { isDigestFile, verifyDigests } from "../functions/audit/verify-digests.js";
import { formatTimelineEntry, timeline } from "../functions/audit/timeline.js";

export interface Output {
  out(line: string): void;
  err(line: string): void;
}

const USAGE = `usage:
  audit verify [--public-key <file> | --key-id <KMS key>] <folder-or-file>...
  audit timeline <challengeId> <folder-or-file>... [--protocol <protocol.json>]
  audit backfill --tenant <id> --from <YYYY-MM> --to <YYYY-MM> [--since <ISO instant>]`;

const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

async function verify(args: readonly string[], io: Output): Promise<number> {
  const { values, positionals: paths } = parseArgs({
    args: [...args],
    options: { "public-key": { type: "string" }, "key-id": { type: "string" } },
    allowPositionals: true,
  });
  if (paths.length === 0 || (values["public-key"] !== undefined && values["key-id"] !== undefined)) {
    io.err(USAGE);
    return 2;
  }
  const read = await readFiles(paths, (file) => EXPORT_FILE.test(file) || isDigestFile(file));
  const exportFiles = read.files.filter((f) => !isDigestFile(f.file));
  const digestFiles = read.files.filter((f) => isDigestFile(f.file));
  const sources = exportFiles.map((f) => ({ file: f.file, text: Buffer.from(f.bytes).toString("utf8") }));
  const report = verifyExport(sources);
  const problems: Pick<Problem, "file" | "line" | "message">[] = [...read.problems, ...report.problems];
  const notes: string[] = [];
  let unchecked = false;

  const publicKey = await digestPublicKey(values["public-key"], values["key-id"]);
  if (digestFiles.length === 0) {
    if (publicKey !== undefined) {
      unchecked = true;
      notes.push(
        "No digests were found under the paths given, though a public key was: were the digests deleted, or not copied? Nothing was checked against a signature.",
      );
    } else {
      notes.push(
        "No digests were checked (none under the paths given): the hash chains alone cannot show an edited event whose hashes were recomputed.",
      );
    }
  } else if (publicKey === undefined) {
    unchecked = true;
    notes.push(
      `${plural(digestFiles.length, "digest")} found but not checked: give the digest key's public half with --public-key <file> or --key-id <KMS key>.`,
    );
  } else {
    const digests = verifyDigests({ digests: digestFiles, exports: exportFiles, publicKey });
    problems.push(...digests.problems);
    notes.push(
      `Digests: ${plural(digests.digestsChecked, "signed digest")} verified` +
        (digests.sealedFrom === undefined
          ? ""
          : `, sealing ${digests.sealedFrom} to ${digests.sealedTo ?? "?"}`) +
        `; ${plural(digests.exportsSealed, "export object")} match their digest` +
        (digests.exportsNotYetSealed > 0
          ? `, ${digests.exportsNotYetSealed} newer than the last digest (not sealed yet)`
          : "") +
        (digests.exportsBeforeFirstDigest > 0
          ? `, ${digests.exportsBeforeFirstDigest} older than the first digest (never sealed)`
          : "") +
        ". A deleted newest digest leaves no gap: check the last sealed hour against the time of your copy.",
    );
  }

  for (const problem of problems) io.out(formatProblem(problem));
  for (const note of notes) io.out(note);
  const checked = `${plural(report.lines, "line")} in ${plural(report.files, "file")}, ${plural(report.challenges, "challenge")}`;
  if (problems.length === 0 && !unchecked) {
    io.out(`OK: ${checked}; every chain is whole.`);
    return 0;
  }
  io.out(`FAILED: ${plural(problems.length, "problem")} in ${checked}.`);
  return 1;
}

/** The digest key's public half: from a file, or from KMS GetPublicKey (the AWS SDK loaded only then). */
async function digestPublicKey(
  file: string | undefined,
  keyId: string | undefined,
): Promise<KeyObject | undefined> {
  if (file !== undefined) return publicKeyFrom(await readFile(file));
  if (keyId === undefined) return undefined;
  const { KMSClient, GetPublicKeyCommand } = await import("@aws-sdk/client-kms");
  const answer = await new KMSClient({}).send(new GetPublicKeyCommand({ KeyId: keyId }));
  if (answer.PublicKey === undefined) throw new Error(`KMS returned no public key for ${keyId}`);
  if (
    answer.KeyUsage !== "SIGN_VERIFY" ||
    !(answer.SigningAlgorithms ?? []).includes(DIGEST_SIGNING_ALGORITHM)
  ) {
    throw new Error(
      `${keyId} is not a signing key for ${DIGEST_SIGNING_ALGORITHM}: it cannot be the digest key`,
    );
  }
  return publicKeyFrom(answer.PublicKey);
}

async function timelineCommand(args: readonly string[], io: Output): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...args],
    options: { protocol: { type: "string" } },
    allowPositionals: true,
  });
  const [challengeId, ...paths] = positionals;
  if (challengeId === undefined || paths.length === 0) {
    io.err(USAGE);
    return 2;
  }
  let custom: Protocol | undefined;
  if (values.protocol !== undefined) {
    custom = parseProtocol(JSON.parse(await readFile(values.protocol, "utf8")));
  }

  const { sources, problems: unreadable } = await readExportSources(paths);
  const { parsed, problems: unparsed } = parseExport(sources);
  const mine = parsed.filter((p) => p.line.challengeId === challengeId);
  if (mine.length === 0) {
    io.err(`no events of challenge ${challengeId} in ${plural(sources.length, "file")}`);
    return 1;
  }
  const tenants = [...new Set(mine.map((p) => p.line.tenantId))].sort();
  let failed = false;
  for (const tenantId of tenants) {
    const entries = mine.filter((p) => p.line.tenantId === tenantId);
    // One record per seq: the first whose hash recomputes (else the first).
    const bySeq = new Map<number, (typeof entries)[number]>();
    for (const entry of entries) {
      const held = bySeq.get(entry.line.seq);
      if (
        held === undefined ||
        (held.recomputed !== held.line.hash && entry.recomputed === entry.line.hash)
      ) {
        bySeq.set(entry.line.seq, entry);
      }
    }
    const lines = [...bySeq.values()].map((p) => p.line);
    const raised = lines.find((l) => l.type === "ChallengeRaised");
    const protocolId = typeof raised?.data.protocolId === "string" ? raised.data.protocolId : undefined;
    const protocol = custom ?? (protocolId === undefined ? undefined : findPreset(protocolId));

    io.out(
      `Challenge ${challengeId} (tenant ${tenantId})${protocol === undefined ? "" : `: ${protocol.name}`}`,
    );
    for (const entry of timeline(lines, protocol)) io.out(formatTimelineEntry(entry));

    const problems = checkChains(entries);
    if (problems.length > 0) {
      failed = true;
      io.err(`The chain of this challenge is not whole (${plural(problems.length, "problem")}):`);
      for (const problem of problems) io.err(formatProblem(problem));
    }
  }
  const unreadableCount = unreadable.length + unparsed.length;
  if (unreadableCount > 0) {
    failed = true;
    io.err(
      `${plural(unreadableCount, "file or line", "files or lines")} could not be read, so this timeline may be incomplete: run verify for details.`,
    );
  }
  return failed ? 1 : 0;
}

async function backfillCommand(args: readonly string[], io: Output): Promise<number> {
  const { values } = parseArgs({
    args: [...args],
    options: {
      tenant: { type: "string" },
      from: { type: "string" },
      to: { type: "string" },
      since: { type: "string" },
    },
  });
  const table = process.env.TABLE_NAME;
  const bucket = process.env.AUDIT_BUCKET;
  if (values.tenant === undefined || values.from === undefined || values.to === undefined) {
    io.err(USAGE);
    return 2;
  }
  if (table === undefined || table === "" || bucket === undefined || bucket === "") {
    io.err("backfill needs TABLE_NAME and AUDIT_BUCKET in the environment");
    return 2;
  }
  // Loaded here so verify and timeline never load the AWS SDK.
  const [
    { DynamoDBClient },
    { DynamoDBDocumentClient },
    { S3Client },
    { DynamoChallengeStore },
    { backfillTenant },
  ] = await Promise.all([
    import("@aws-sdk/client-dynamodb"),
    import("@aws-sdk/lib-dynamodb"),
    import("@aws-sdk/client-s3"),
    import("../functions/store/dynamo-challenge-store.js"),
    import("../functions/audit/backfill.js"),
  ]);
  const documents = DynamoDBDocumentClient.from(new DynamoDBClient({}), {
    marshallOptions: { removeUndefinedValues: true },
  });
  const summary = await backfillTenant({
    store: new DynamoChallengeStore(documents, table),
    s3: new S3Client({}),
    bucket,
    tenantId: values.tenant,
    fromMonth: values.from,
    toMonth: values.to,
    ...(values.since === undefined ? {} : { since: values.since }),
    onProgress: (p) => {
      io.out(`${p.month} ${p.challengeId}: ${p.written} written, ${p.alreadyExported} already exported`);
    },
  });
  io.out(
    `Backfill done: ${plural(summary.challenges, "challenge")} raised in ${plural(summary.months, "month")}, ` +
      `${plural(summary.events, "event")}: ${summary.written} written, ${summary.alreadyExported} already exported.`,
  );
  return 0;
}

/** Runs the command line; returns the exit code. */
export async function main(argv: readonly string[], io: Output): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case "verify":
        return await verify(rest, io);
      case "timeline":
        return await timelineCommand(rest, io);
      case "backfill":
        return await backfillCommand(rest, io);
      default:
        io.err(USAGE);
        return 2;
    }
  } catch (error) {
    io.err(error instanceof Error ? error.message : String(error));
    return 2;
  }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.exitCode = await main(process.argv.slice(2), {
    out: (line) => {
      process.stdout.write(`${line}\n`);
    },
    err: (line) => {
      process.stderr.write(`${line}\n`);
    },
  });
}
