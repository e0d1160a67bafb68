/**
 * The auditors' command line (`npm run audit -- --help` lists every command, its options and the
 * environment it reads):
 *
 *   verify [--public-key <file> | --key-id <KMS key>] <folder-or-file>...
 *                                           every challenge's hash chain, and the signed digests
 *   timeline <challengeId|CR-ref> <folder-or-file>... [--protocol <protocol.json>]
 *   backfill --tenant <id> --from <YYYY-MM> --to <YYYY-MM> [--since <ISO instant>]
 *
 * Exit codes: 0 all well, 1 problems found, 2 the command was used wrongly.
 */
import { isEntryPoint, type Output, runAsScript, runProgram } from "./cli.js";
import { readFile } from "node:fs/promises";
import { Command } from "commander";
import { findPreset } from "../functions/domain/presets/index.js";
import { type Protocol } from "../functions/domain/protocol.js";
import { parseProtocol } from "../functions/domain/protocol-schema.js";
import type { KeyObject } from "node:crypto";
import {
  checkChains,
  type Problem,
  EXPORT_FILE,
  formatProblem,
  parseExport,
  parseTombstones,
  readFiles,
  verifyExport,
} from "../functions/audit/verify.js";
import { isTombstoneFile } from "../functions/audit/tombstone-format.js";
import { DIGEST_SIGNING_ALGORITHM, publicKeyFrom } from "../functions/audit/digest-format.js";
import { isDigestFile, verifyDigests } from "../functions/audit/verify-digests.js";
import { formatTimelineEntry, timeline, tombstoneTimelineEntry } from "../functions/audit/timeline.js";

export type { Output };

const USAGE = "usage: audit <verify|timeline|backfill> ... (audit --help for each command's options)";

const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

async function verify(
  paths: readonly string[],
  values: { readonly publicKey?: string; readonly keyId?: string },
  io: Output,
): Promise<number> {
  if (paths.length === 0 || (values.publicKey !== undefined && values.keyId !== undefined)) {
    io.err(USAGE);
    return 2;
  }
  const read = await readAuditFiles(paths);
  const { exportFiles, tombstoneFiles, digestFiles } = read;
  const report = verifyExport(asText(exportFiles), asText(tombstoneFiles));
  const problems: Pick<Problem, "file" | "line" | "message">[] = [...read.problems, ...report.problems];
  const notes: string[] = [];
  let unchecked = false;

  const publicKey = await digestPublicKey(values.publicKey, values.keyId);
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
    // Tombstones are sealed in the digests like events.
    const digests = verifyDigests({
      digests: digestFiles,
      exports: [...exportFiles, ...tombstoneFiles],
      publicKey,
    });
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
  for (const deleted of report.deleted) io.out(deleted.message);
  for (const note of notes) io.out(note);
  const deletedCount = report.deleted.length === 0 ? "" : ` (${report.deleted.length} deleted at retention)`;
  const checked = `${plural(report.lines, "line")} in ${plural(report.files, "file")}, ${plural(report.challenges, "challenge")}${deletedCount}`;
  if (problems.length === 0 && !unchecked) {
    io.out(`OK: ${checked}; every chain is whole.`);
    return 0;
  }
  io.out(`FAILED: ${plural(problems.length, "problem")} in ${checked}.`);
  return 1;
}

type ReadFile = { readonly file: string; readonly bytes: Uint8Array };

/** Every export, tombstone and digest file under the paths (a named file is read whatever its name). */
async function readAuditFiles(paths: readonly string[]): Promise<{
  exportFiles: ReadFile[];
  tombstoneFiles: ReadFile[];
  digestFiles: ReadFile[];
  problems: Problem[];
}> {
  const read = await readFiles(
    paths,
    (file) => EXPORT_FILE.test(file) || isDigestFile(file) || isTombstoneFile(file),
  );
  const digestFiles = read.files.filter((f) => isDigestFile(f.file));
  const tombstoneFiles = read.files.filter((f) => !isDigestFile(f.file) && isTombstoneFile(f.file));
  const exportFiles = read.files.filter((f) => !isDigestFile(f.file) && !isTombstoneFile(f.file));
  return { exportFiles, tombstoneFiles, digestFiles, problems: read.problems };
}

const asText = (files: readonly ReadFile[]): { file: string; text: string }[] =>
  files.map((f) => ({ file: f.file, text: Buffer.from(f.bytes).toString("utf8") }));

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

/** The reference emails show, `CR-<challengeId>`, names the same challenge as its bare id. */
export function challengeIdOf(reference: string): string {
  return reference.replace(/^CR-/i, "");
}

async function timelineCommand(
  reference: string,
  paths: readonly string[],
  values: { readonly protocol?: string },
  io: Output,
): Promise<number> {
  const challengeId = challengeIdOf(reference);
  let custom: Protocol | undefined;
  if (values.protocol !== undefined) {
    custom = parseProtocol(JSON.parse(await readFile(values.protocol, "utf8")));
  }

  const read = await readAuditFiles(paths);
  const unreadable = read.problems;
  const sources = asText(read.exportFiles);
  const { parsed, problems: unparsed } = parseExport(sources);
  const mine = parsed.filter((p) => p.line.challengeId === challengeId);
  const tombstones = parseTombstones(asText(read.tombstoneFiles)).tombstones.filter(
    (t) => t.record.challengeId === challengeId,
  );
  if (mine.length === 0 && tombstones.length === 0) {
    io.err(`no events of challenge ${challengeId} in ${plural(sources.length, "file")}`);
    return 1;
  }
  const tenants = [
    ...new Set([...mine.map((p) => p.line.tenantId), ...tombstones.map((t) => t.record.tenantId)]),
  ].sort();
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
    const deletions = tombstones.filter((t) => t.record.tenantId === tenantId);
    for (const deletion of deletions)
      io.out(formatTimelineEntry(tombstoneTimelineEntry(deletion.record, lines.length)));

    const problems = checkChains(entries, deletions);
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

interface BackfillOptions {
  readonly tenant: string;
  readonly from: string;
  readonly to: string;
  readonly since?: string;
}

/**
 * Without TABLE_NAME and AUDIT_BUCKET, backfill works on the local runtime (`npm start`): its
 * table, its audit bucket and its endpoints (LOCAL_*_PORT), with the same dummy credentials.
 */
async function useLocalRuntimeWhenUnset(io: Output): Promise<void> {
  if ((process.env.TABLE_NAME ?? "") !== "" || (process.env.AUDIT_BUCKET ?? "") !== "") return;
  const [{ applyHandlerEnvironment, handlerEnvironment, localSettings }, { portsFromEnv }] =
    await Promise.all([import("../local/settings.js"), import("../local/ports.js")]);
  const settings = localSettings();
  const environment = handlerEnvironment(settings, portsFromEnv());
  applyHandlerEnvironment(environment, "WARN");
  io.out(
    `TABLE_NAME and AUDIT_BUCKET are not set: using the local runtime's table ${settings.tableName} ` +
      `(${environment.AWS_ENDPOINT_URL_DYNAMODB ?? ""}) and bucket ${settings.auditBucket}.`,
  );
}

async function backfillCommand(values: BackfillOptions, io: Output): Promise<number> {
  await useLocalRuntimeWhenUnset(io);
  const table = process.env.TABLE_NAME;
  const bucket = process.env.AUDIT_BUCKET;
  if (table === undefined || table === "" || bucket === undefined || bucket === "") {
    io.err(
      "backfill needs both TABLE_NAME and AUDIT_BUCKET in the environment (or neither, for the local runtime)",
    );
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

const ENVIRONMENT = `Environment:
  TABLE_NAME, AUDIT_BUCKET   backfill: the stack's table and audit bucket; when neither is set,
                             the local runtime's (npm start), on its LOCAL_*_PORT endpoints
  AWS_REGION, AWS_PROFILE, AWS_ACCESS_KEY_ID, ...   backfill: AWS credentials as the SDK finds them
  verify and timeline read only the files given, never AWS (verify --key-id calls KMS GetPublicKey).

Exit codes: 0 all well, 1 problems found, 2 the command was used wrongly.`;

/** The commands; each action stores its exit code in `exit`. */
function program(io: Output, exit: { code: number }): Command {
  const root = new Command("audit")
    .description("Check and read the audit exports of the Challenge & Resolution Service")
    .exitOverride()
    .configureOutput({
      writeOut: (text) => {
        io.out(text.trimEnd());
      },
      writeErr: (text) => {
        io.err(text.trimEnd());
      },
      outputError: (text, write) => {
        write(`${USAGE}\n${text}`);
      },
    });
  root
    .command("verify")
    .description(
      "Check every challenge's hash chain in NDJSON exports (folders are searched for .ndjson and .jsonl " +
        "files) and the signed digests under digests/ with the digest key's public half; print every " +
        "problem as file:line: message. Digests found but no key given is a failure",
    )
    .argument("<paths...>", "export folders or files (with the digests/ folder, to check the signed digests)")
    .option("--public-key <file>", "the digest key's public half, PEM or DER")
    .option("--key-id <KMS key>", "fetch the digest key's public half with KMS GetPublicKey instead")
    .action(async (paths: string[], values: { publicKey?: string; keyId?: string }) => {
      exit.code = await verify(paths, values, io);
    });
  root
    .command("timeline")
    .description(
      "Print one challenge's events in plain words, then any problem with its chain. Stage names come from " +
        "the shipped preset named in its first event, or from --protocol",
    )
    .argument("<challenge>", "the challenge id, or the CR-... reference its emails show")
    .argument("<paths...>", "export folders or files")
    .option("--protocol <protocol.json>", "a protocol document, for an authority's own protocol")
    .action(async (reference: string, paths: string[], values: { protocol?: string }) => {
      exit.code = await timelineCommand(reference, paths, values, io);
    });
  root
    .command("backfill")
    .description(
      "Re-export a tenant's events from the table to the audit bucket after a stream outage; objects " +
        "already exported are left as they are",
    )
    .requiredOption("--tenant <id>", "the tenant")
    .requiredOption("--from <YYYY-MM>", "first month challenges were raised in")
    .requiredOption("--to <YYYY-MM>", "last month challenges were raised in")
    .option("--since <ISO instant>", "only events recorded at or after this instant")
    .action(async (values: BackfillOptions) => {
      exit.code = await backfillCommand(values, io);
    });
  for (const command of root.commands) command.exitOverride().configureOutput(root.configureOutput());
  root.addHelpText(
    "after",
    () => `\n${root.commands.map((command) => command.helpInformation()).join("\n")}\n${ENVIRONMENT}`,
  );
  return root;
}

/** Runs the command line; returns the exit code. */
export async function main(argv: readonly string[], io: Output): Promise<number> {
  const exit = { code: 2 };
  return runProgram(program(io, exit), argv, io, exit);
}

if (isEntryPoint(import.meta.url)) await runAsScript(main);
