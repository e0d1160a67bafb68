import { KMSClient, SignCommand } from "@aws-sdk/client-kms";
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { logger as powertoolsLogger } from "../shared/observability.js";
import { now as serviceNow } from "../shared/clock.js";
import {
  buildDigest,
  DIGEST_CONTENT_TYPE,
  DIGEST_PERIOD_MS,
  DIGEST_SIGNING_ALGORITHM,
  type DigestEntry,
  digestDayPrefix,
  digestKey,
  formatDigestFile,
  latestDuePeriod,
  parseDigestFile,
  sha256OfBytes,
  signedStatement,
} from "./digest-format.js";
import { londonDay } from "../domain/london-time.js";
import { EXPORT_PREFIX } from "./export-format.js";
import { exportedRecordInstant } from "./tombstone-format.js";

/**
 * The digest writer (scheduled hourly): seals every hour that is due and not sealed yet, oldest
 * first, each digest chained to the one before (format and reasons in digest-format.ts).
 *
 * - It finds the newest digest written (looking back {@link LOOKBACK_DAYS} days), then writes one
 *   digest per hour from there up to the newest due hour, so a missed run is caught up rather than
 *   leaving a gap. With no digest in that window it starts a new chain (the verifier names that).
 * - Writes are `If-None-Match: *`: a period's key is written once. A second run of the same hour
 *   (a retry, two overlapping invocations) gets 412, reads the digest that won and chains on from it,
 *   so there are never two digests for one hour.
 * - At most {@link MAX_PERIODS_PER_RUN} hours per run, so a long catch-up fits the timeout; the next
 *   run carries on.
 * - Logs keys and counts only.
 */

export interface DigestWriterDeps {
  readonly s3: Pick<S3Client, "send">;
  readonly kms: Pick<KMSClient, "send">;
  readonly bucket: string;
  readonly keyId: string;
  readonly now: () => Date;
  readonly log?: {
    info(message: string, attributes: Record<string, unknown>): void;
    error(message: string, attributes: Record<string, unknown>): void;
  };
}

export interface DigestRunSummary {
  /** Digest keys this run wrote. */
  readonly written: readonly string[];
  /** Digest keys another run had written already (412). */
  readonly alreadyWritten: readonly string[];
  /** Hours still due after this run (a long catch-up continues next run). */
  readonly remaining: number;
}

export const LOOKBACK_DAYS = 35;
export const MAX_PERIODS_PER_RUN = 72;
const GET_CONCURRENCY = 16;

interface ExportObjectFacts extends DigestEntry {
  /** The event's instant, or undefined when the object is not an export line. */
  readonly at: number | undefined;
}

async function bodyBytes(s3: Pick<S3Client, "send">, bucket: string, key: string): Promise<Uint8Array> {
  const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  if (response.Body === undefined) throw new Error(`s3://${bucket}/${key} has no body`);
  return response.Body.transformToByteArray();
}

async function listKeys(
  s3: Pick<S3Client, "send">,
  bucket: string,
  prefix: string,
  delimiter?: string,
): Promise<{ keys: string[]; prefixes: string[] }> {
  const keys: string[] = [];
  const prefixes: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({
        Bucket: bucket,
        Prefix: prefix,
        ...(delimiter === undefined ? {} : { Delimiter: delimiter }),
        ...(token === undefined ? {} : { ContinuationToken: token }),
      }),
    );
    for (const item of page.Contents ?? []) if (item.Key !== undefined) keys.push(item.Key);
    for (const item of page.CommonPrefixes ?? []) if (item.Prefix !== undefined) prefixes.push(item.Prefix);
    token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
  } while (token !== undefined);
  return { keys, prefixes };
}

/** Every export object of one London day (all tenants), hashed. */
async function exportsOfDay(deps: DigestWriterDeps, day: string): Promise<ExportObjectFacts[]> {
  const tenants = await listKeys(deps.s3, deps.bucket, `${EXPORT_PREFIX}/`, "/");
  const keys: string[] = [];
  for (const tenant of tenants.prefixes) {
    keys.push(...(await listKeys(deps.s3, deps.bucket, `${tenant}date=${day}/`)).keys);
  }
  const facts: ExportObjectFacts[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < keys.length) {
      const key = keys[next++];
      if (key === undefined) continue;
      const bytes = await bodyBytes(deps.s3, deps.bucket, key);
      facts.push({
        key,
        sha256: sha256OfBytes(bytes),
        bytes: bytes.length,
        at: exportedRecordInstant(bytes),
      });
    }
  };
  await Promise.all(Array.from({ length: Math.min(GET_CONCURRENCY, keys.length) }, worker));
  const unreadable = facts.filter((f) => f.at === undefined).length;
  if (unreadable > 0) {
    // Sealed in no digest; the verifier reports each such object as not an export line.
    deps.log?.error("export objects that are not export lines", { day, count: unreadable });
  }
  return facts;
}

/** The newest digest at or before `upTo`, with the SHA-256 of its file, or undefined. */
async function newestDigest(
  deps: DigestWriterDeps,
  upTo: Date,
): Promise<{ key: string; sha256: string; periodEnd: Date } | undefined> {
  const newestKey = digestKey(upTo);
  for (let back = 0; back < LOOKBACK_DAYS; back++) {
    const day = new Date(upTo.getTime() - back * 24 * DIGEST_PERIOD_MS);
    const { keys } = await listKeys(deps.s3, deps.bucket, digestDayPrefix(day));
    const key = keys
      .filter((k) => k <= newestKey)
      .sort()
      .at(-1);
    if (key !== undefined) return readDigestLink(deps, key);
  }
  return undefined;
}

async function readDigestLink(
  deps: DigestWriterDeps,
  key: string,
): Promise<{ key: string; sha256: string; periodEnd: Date }> {
  const bytes = await bodyBytes(deps.s3, deps.bucket, key);
  const file = parseDigestFile(Buffer.from(bytes).toString("utf8"));
  return { key, sha256: sha256OfBytes(bytes), periodEnd: new Date(file.digest.periodEnd) };
}

function isPreconditionFailed(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  return error.name === "PreconditionFailed" || status === 412;
}

/** Writes every due digest (see the module comment). */
export async function writeDueDigests(deps: DigestWriterDeps): Promise<DigestRunSummary> {
  const due = latestDuePeriod(deps.now());
  let previous = await newestDigest(deps, due);
  let start = previous === undefined ? due : previous.periodEnd;
  const written: string[] = [];
  const alreadyWritten: string[] = [];
  const days = new Map<string, Promise<ExportObjectFacts[]>>();

  while (start.getTime() <= due.getTime() && written.length + alreadyWritten.length < MAX_PERIODS_PER_RUN) {
    const end = start.getTime() + DIGEST_PERIOD_MS;
    // A UTC hour lies within one London day (London's offsets are whole hours).
    const day = londonDay(start.toISOString());
    let dayFacts = days.get(day);
    if (dayFacts === undefined) {
      dayFacts = exportsOfDay(deps, day);
      days.set(day, dayFacts);
    }
    const inPeriod = (await dayFacts).filter(
      (f) => f.at !== undefined && f.at >= start.getTime() && f.at < end,
    );
    const body = buildDigest({
      periodStart: start,
      exports: inPeriod,
      previous: previous === undefined ? null : { key: previous.key, sha256: previous.sha256 },
      signingKeyId: deps.keyId,
    });
    const signed = await deps.kms.send(
      new SignCommand({
        KeyId: deps.keyId,
        Message: signedStatement(body),
        MessageType: "RAW",
        SigningAlgorithm: DIGEST_SIGNING_ALGORITHM,
      }),
    );
    if (signed.Signature === undefined) throw new Error("KMS Sign returned no signature");
    const key = digestKey(start);
    const text = formatDigestFile(body, signed.Signature);
    try {
      await deps.s3.send(
        new PutObjectCommand({
          Bucket: deps.bucket,
          Key: key,
          Body: text,
          ContentType: DIGEST_CONTENT_TYPE,
          // Object Lock buckets require an integrity checksum on every PUT (as for the exports).
          ChecksumAlgorithm: "SHA256",
          IfNoneMatch: "*",
        }),
      );
      written.push(key);
      previous = { key, sha256: sha256OfBytes(Buffer.from(text, "utf8")), periodEnd: new Date(end) };
    } catch (error) {
      if (!isPreconditionFailed(error)) throw error;
      // Another run sealed this hour first: chain on from the digest that exists.
      alreadyWritten.push(key);
      previous = await readDigestLink(deps, key);
    }
    deps.log?.info("audit digest", { key, exports: body.exports.length });
    start = new Date(end);
  }
  const remaining = Math.max(0, Math.round((due.getTime() - start.getTime()) / DIGEST_PERIOD_MS) + 1);
  deps.log?.info("audit digests done", {
    written: written.length,
    alreadyWritten: alreadyWritten.length,
    remaining,
  });
  return { written, alreadyWritten, remaining };
}

// --- the Lambda ------------------------------------------------------------------------------

let defaultDeps: DigestWriterDeps | undefined;

/** The deployed handler: AUDIT_BUCKET and DIGEST_KEY_ID set by lib/audit.ts; the event is ignored. */
export const handler = (): Promise<DigestRunSummary> => {
  if (defaultDeps === undefined) {
    const bucket = process.env.AUDIT_BUCKET;
    const keyId = process.env.DIGEST_KEY_ID;
    if (bucket === undefined || bucket === "" || keyId === undefined || keyId === "") {
      throw new Error(
        "Configuration error: AUDIT_BUCKET and DIGEST_KEY_ID must be set. The CDK stack sets them.",
      );
    }
    defaultDeps = {
      s3: new S3Client({}),
      kms: new KMSClient({}),
      bucket,
      keyId,
      now: serviceNow,
      log: powertoolsLogger,
    };
  }
  return writeDueDigests(defaultDeps);
};
