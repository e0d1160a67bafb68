/**
 * A minimal S3 endpoint on 127.0.0.1 for the local runtime: just what the audit exporter and the
 * inbound mail path use (PutObject, GetObject, HeadObject, ListObjectsV2, plus CreateBucket,
 * HeadBucket, ListBuckets and DeleteObject for tools), path-style only.
 *
 * Objects are plain files at `<root>/<bucket>/<key>` (so `ls` and `cat` show the audit export), with
 * their content type, ETag and user metadata beside them under `<root>/.meta/<bucket>/<key>.json`
 * (`.meta` can never be a bucket name: bucket names start with a letter or digit).
 *
 * Path style: with an IP-address endpoint (`AWS_ENDPOINT_URL_S3=http://127.0.0.1:<port>`) the AWS
 * SDK for JavaScript v3 addresses buckets by path, because an IP address cannot take a bucket
 * subdomain. The SDK has no environment variable to force path style (its `forcePathStyle` is a
 * client option only; `AWS_S3_FORCE_PATH_STYLE` is read by other tools, not by SDK v3), so the
 * endpoint must be an IP address, never `localhost`.
 *
 * What the writers rely on and this honours: `If-None-Match: *` (the audit exporter's write-once
 * PUT answers 412 PreconditionFailed when the key exists, atomically), `x-amz-checksum-sha256` (checked,
 * BadDigest when wrong), and bodies sent `aws-chunked` with trailing checksums (the SDK's default for
 * streams). No signatures are checked, no versioning, no Object Lock: the bucket settings that make
 * the audit record immutable on AWS are asserted in the CDK tests, not emulated here.
 */
import { createHash, randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { link, mkdir, readFile, readdir, rename, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join, resolve, sep } from "node:path";
import { closeLocally, LOCAL_HOST, listenLocally } from "./ports.js";

export interface S3ServerOptions {
  /** Folder holding one sub-folder per bucket. */
  readonly root: string;
  readonly port: number;
  /** Buckets created at start (if missing). */
  readonly buckets?: readonly string[];
  readonly log?: (message: string) => void;
}

export interface S3Server {
  readonly endpoint: string;
  readonly port: number;
  stop(): Promise<void>;
}

interface ObjectMeta {
  readonly contentType: string;
  readonly etag: string;
  readonly size: number;
  readonly lastModified: string;
  readonly metadata: Record<string, string>;
}

class S3Error extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly resource?: string,
  ) {
    super(message);
  }
}

const META_DIR = ".meta";
const MAX_BODY_BYTES = 64 * 1024 * 1024;
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const XML_HEADER = '<?xml version="1.0" encoding="UTF-8"?>\n';
const S3_NS = "http://s3.amazonaws.com/doc/2006-03-01/";
/** Sub-resources this endpoint does not offer: refused rather than mistaken for a plain object call. */
const UNSUPPORTED = [
  "uploads",
  "uploadId",
  "acl",
  "tagging",
  "versioning",
  "versionId",
  "retention",
  "legal-hold",
  "object-lock",
  "policy",
  "lifecycle",
  "cors",
  "website",
  "notification",
  "replication",
  "encryption",
  "delete",
  "attributes",
  "restore",
  "select",
];

function escapeXml(text: string): string {
  return text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&apos;");
}

function xml(tag: string, value: string | number | boolean): string {
  return `<${tag}>${escapeXml(String(value))}</${tag}>`;
}

export async function startS3Server(options: S3ServerOptions): Promise<S3Server> {
  const root = resolve(options.root);
  const log =
    options.log ??
    ((message: string) => {
      console.error(`[local s3] ${message}`);
    });
  await mkdir(root, { recursive: true });
  for (const bucket of options.buckets ?? []) await mkdir(join(root, bucket), { recursive: true });

  const server = createServer((request, response) => {
    handle(root, request, response).catch((error: unknown) => {
      if (error instanceof S3Error) {
        sendError(request, response, error);
      } else {
        log(`request failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
        sendError(request, response, new S3Error(500, "InternalError", "We encountered an internal error."));
      }
    });
  });
  const port = await listenLocally(server, "s3", options.port);
  return {
    endpoint: `http://${LOCAL_HOST}:${port}`,
    port,
    stop: () => closeLocally(server),
  };
}

function sendError(request: IncomingMessage, response: ServerResponse, error: S3Error): void {
  if (response.headersSent) {
    response.destroy();
    return;
  }
  const requestId = randomUUID();
  if (request.method === "HEAD") {
    response.writeHead(error.status, { "x-amz-request-id": requestId, "x-amz-error-code": error.code });
    response.end();
    return;
  }
  const body =
    XML_HEADER +
    `<Error>${xml("Code", error.code)}${xml("Message", error.message)}` +
    (error.resource === undefined ? "" : xml("Resource", error.resource)) +
    `${xml("RequestId", requestId)}</Error>`;
  response.writeHead(error.status, {
    "content-type": "application/xml",
    "content-length": Buffer.byteLength(body),
    "x-amz-request-id": requestId,
  });
  response.end(body);
}

/** `<root>/<bucket>` for a valid bucket name. */
function bucketDir(root: string, bucket: string): string {
  if (!BUCKET_NAME.test(bucket) || bucket.includes("..")) {
    throw new S3Error(400, "InvalidBucketName", "The specified bucket is not valid.", bucket);
  }
  return join(root, bucket);
}

/** The file of a key, refusing keys that would leave the bucket's folder or clash with its layout. */
function objectPath(base: string, key: string): string {
  const segments = key.split("/");
  if (
    key.length === 0 ||
    Buffer.byteLength(key) > 1024 ||
    key.includes("\0") ||
    segments.some((s) => s === "" || s === "." || s === "..")
  ) {
    throw new S3Error(
      400,
      "InvalidArgument",
      "This local S3 stores keys as files: a key needs non-empty segments without '.' or '..'.",
      key,
    );
  }
  const path = resolve(base, ...segments);
  if (!path.startsWith(base + sep)) throw new S3Error(400, "InvalidArgument", "Invalid key.", key);
  return path;
}

function metaPath(root: string, bucket: string, key: string): string {
  return `${objectPath(join(root, META_DIR, bucket), key)}.json`;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

async function requireBucket(root: string, bucket: string): Promise<string> {
  const dir = bucketDir(root, bucket);
  if (!(await exists(dir)))
    throw new S3Error(404, "NoSuchBucket", "The specified bucket does not exist.", bucket);
  return dir;
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > MAX_BODY_BYTES) throw new S3Error(400, "EntityTooLarge", "Your proposed upload is too large.");
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
}

/** Decodes an `aws-chunked` body: `<hex size>[;chunk-signature=...]\r\n<data>\r\n` ... `0\r\n<trailers>\r\n`. */
function decodeAwsChunked(body: Buffer): Buffer {
  const parts: Buffer[] = [];
  let offset = 0;
  for (;;) {
    const lineEnd = body.indexOf("\r\n", offset);
    if (lineEnd < 0) throw new S3Error(400, "IncompleteBody", "The aws-chunked body is truncated.");
    const header = body.subarray(offset, lineEnd).toString("latin1");
    const size = Number.parseInt(header.split(";")[0] ?? "", 16);
    if (!Number.isInteger(size) || size < 0)
      throw new S3Error(400, "InvalidRequest", "Bad aws-chunked chunk size.");
    offset = lineEnd + 2;
    if (size === 0) return Buffer.concat(parts); // trailers (checksums) follow; they are not needed
    if (offset + size > body.length)
      throw new S3Error(400, "IncompleteBody", "The aws-chunked body is truncated.");
    parts.push(body.subarray(offset, offset + size));
    offset += size + 2;
  }
}

function isAwsChunked(request: IncomingMessage): boolean {
  const encoding = request.headers["content-encoding"] ?? "";
  const sha = String(request.headers["x-amz-content-sha256"] ?? "");
  return /(^|,)\s*aws-chunked\s*(,|$)/i.test(encoding) || sha.startsWith("STREAMING-");
}

function userMetadata(request: IncomingMessage): Record<string, string> {
  const metadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (name.startsWith("x-amz-meta-") && typeof value === "string") metadata[name] = value;
  }
  return metadata;
}

async function handle(root: string, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const url = new URL(request.url ?? "/", `http://${LOCAL_HOST}`);
  const method = request.method ?? "GET";
  for (const name of UNSUPPORTED) {
    if (url.searchParams.has(name)) {
      throw new S3Error(501, "NotImplemented", `The local S3 endpoint does not support ?${name}.`);
    }
  }
  const path = url.pathname;
  const slash = path.indexOf("/", 1);
  const bucket = decodeURIComponent(slash < 0 ? path.slice(1) : path.slice(1, slash));
  const key = slash < 0 ? "" : decodeURIComponent(path.slice(slash + 1));

  if (bucket === "") {
    if (method !== "GET") throw new S3Error(405, "MethodNotAllowed", "Not allowed.");
    await listBuckets(root, response);
    return;
  }
  if (key === "") {
    switch (method) {
      case "PUT":
        await mkdir(bucketDir(root, bucket), { recursive: true });
        response.writeHead(200, { location: `/${bucket}` }).end();
        return;
      case "HEAD":
        await requireBucket(root, bucket);
        response.writeHead(200).end();
        return;
      case "GET":
        await listObjects(root, bucket, url.searchParams, response);
        return;
      default:
        throw new S3Error(405, "MethodNotAllowed", "Not allowed.");
    }
  }
  switch (method) {
    case "PUT":
      await putObject(root, bucket, key, request, response);
      return;
    case "GET":
    case "HEAD":
      await getObject(root, bucket, key, method === "HEAD", response);
      return;
    case "DELETE": {
      const dir = await requireBucket(root, bucket);
      await rm(objectPath(dir, key), { force: true });
      await rm(metaPath(root, bucket, key), { force: true });
      response.writeHead(204).end();
      return;
    }
    default:
      throw new S3Error(405, "MethodNotAllowed", "Not allowed.");
  }
}

async function putObject(
  root: string,
  bucket: string,
  key: string,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  if (request.headers["x-amz-copy-source"] !== undefined) {
    throw new S3Error(501, "NotImplemented", "The local S3 endpoint does not support CopyObject.");
  }
  const dir = await requireBucket(root, bucket);
  const file = objectPath(dir, key);
  const raw = await readBody(request);
  const body = isAwsChunked(request) ? decodeAwsChunked(raw) : raw;
  const sha256 = request.headers["x-amz-checksum-sha256"];
  if (typeof sha256 === "string" && createHash("sha256").update(body).digest("base64") !== sha256) {
    throw new S3Error(400, "BadDigest", "The SHA256 you specified did not match the calculated checksum.");
  }
  const etag = `"${createHash("md5").update(body).digest("hex")}"`;
  const meta: ObjectMeta = {
    contentType: request.headers["content-type"] ?? "binary/octet-stream",
    etag,
    size: body.length,
    lastModified: new Date().toISOString(),
    metadata: userMetadata(request),
  };
  const ifNoneMatch = request.headers["if-none-match"];
  const ifMatch = request.headers["if-match"];
  if (typeof ifMatch === "string") {
    const current = await readMeta(root, bucket, key, file);
    if (current === undefined) throw new S3Error(404, "NoSuchKey", "The specified key does not exist.", key);
    if (ifMatch !== "*" && ifMatch !== current.etag) {
      throw new S3Error(
        412,
        "PreconditionFailed",
        "At least one of the pre-conditions you specified did not hold",
        "If-Match",
      );
    }
  }

  await mkdir(dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.${randomUUID()}.tmp`;
  await writeFile(temporary, body);
  try {
    if (ifNoneMatch === "*") {
      // link() fails if the key exists: the write-once check and the write are one step.
      try {
        await link(temporary, file);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "EEXIST") {
          throw new S3Error(
            412,
            "PreconditionFailed",
            "At least one of the pre-conditions you specified did not hold",
            "If-None-Match",
          );
        }
        throw error;
      }
    } else {
      await rename(temporary, file);
    }
  } finally {
    await rm(temporary, { force: true });
  }
  const metaFile = metaPath(root, bucket, key);
  await mkdir(dirname(metaFile), { recursive: true });
  await writeFile(metaFile, JSON.stringify(meta));
  response.writeHead(200, {
    etag,
    ...(typeof sha256 === "string" ? { "x-amz-checksum-sha256": sha256 } : {}),
    "x-amz-request-id": randomUUID(),
  });
  response.end();
}

async function readMeta(
  root: string,
  bucket: string,
  key: string,
  file: string,
): Promise<ObjectMeta | undefined> {
  let info;
  try {
    info = await stat(file);
  } catch {
    return undefined;
  }
  if (!info.isFile()) return undefined;
  try {
    return JSON.parse(await readFile(metaPath(root, bucket, key), "utf8")) as ObjectMeta;
  } catch {
    // A file put there by hand: describe it from the file itself.
    const body = await readFile(file);
    return {
      contentType: "binary/octet-stream",
      etag: `"${createHash("md5").update(body).digest("hex")}"`,
      size: info.size,
      lastModified: info.mtime.toISOString(),
      metadata: {},
    };
  }
}

async function getObject(
  root: string,
  bucket: string,
  key: string,
  headOnly: boolean,
  response: ServerResponse,
): Promise<void> {
  const dir = await requireBucket(root, bucket);
  const file = objectPath(dir, key);
  const meta = await readMeta(root, bucket, key, file);
  if (meta === undefined) throw new S3Error(404, "NoSuchKey", "The specified key does not exist.", key);
  const body = headOnly ? undefined : await readFile(file);
  response.writeHead(200, {
    "content-type": meta.contentType,
    "content-length": body?.length ?? meta.size,
    etag: meta.etag,
    "last-modified": new Date(meta.lastModified).toUTCString(),
    "accept-ranges": "bytes",
    "x-amz-request-id": randomUUID(),
    ...meta.metadata,
  });
  response.end(body);
}

async function listBuckets(root: string, response: ServerResponse): Promise<void> {
  const entries = await readdir(root, { withFileTypes: true });
  const buckets = entries.filter((e) => e.isDirectory() && BUCKET_NAME.test(e.name)).map((e) => e.name);
  const body =
    XML_HEADER +
    `<ListAllMyBucketsResult xmlns="${S3_NS}"><Owner>${xml("ID", "local")}</Owner><Buckets>` +
    buckets
      .map((name) => `<Bucket>${xml("Name", name)}${xml("CreationDate", new Date(0).toISOString())}</Bucket>`)
      .join("") +
    "</Buckets></ListAllMyBucketsResult>";
  response.writeHead(200, { "content-type": "application/xml" }).end(body);
}

/** Every key in a bucket folder, in S3's order (UTF-8 binary order). */
async function allKeys(dir: string): Promise<string[]> {
  const keys: string[] = [];
  const walk = async (folder: string, prefix: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(folder, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      if (entry.isDirectory()) await walk(join(folder, entry.name), `${prefix}${entry.name}/`);
      else if (entry.isFile() && !entry.name.endsWith(".tmp")) keys.push(`${prefix}${entry.name}`);
    }
  };
  await walk(dir, "");
  return keys.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}

async function listObjects(
  root: string,
  bucket: string,
  query: URLSearchParams,
  response: ServerResponse,
): Promise<void> {
  const dir = await requireBucket(root, bucket);
  const prefix = query.get("prefix") ?? "";
  const delimiter = query.get("delimiter") ?? "";
  const maxKeys = Math.min(1000, Math.max(0, Number.parseInt(query.get("max-keys") ?? "1000", 10) || 1000));
  const token = query.get("continuation-token");
  const startAfter =
    token === null ? (query.get("start-after") ?? "") : Buffer.from(token, "base64url").toString("utf8");
  const encodeKeys = query.get("encoding-type") === "url";
  const encode = (key: string): string => (encodeKeys ? encodeURIComponent(key).replace(/%2F/g, "/") : key);

  const contents: string[] = [];
  const prefixes: string[] = [];
  let count = 0;
  let last = "";
  let truncated = false;
  for (const key of await allKeys(dir)) {
    if (!key.startsWith(prefix) || (startAfter !== "" && key <= startAfter)) continue;
    let commonPrefix: string | undefined;
    if (delimiter !== "") {
      const at = key.indexOf(delimiter, prefix.length);
      if (at >= 0) commonPrefix = key.slice(0, at + delimiter.length);
    }
    if (commonPrefix !== undefined && prefixes.includes(commonPrefix)) continue;
    if (count >= maxKeys) {
      truncated = true;
      break;
    }
    count++;
    if (commonPrefix !== undefined) {
      prefixes.push(commonPrefix);
      // Continue after every key under this prefix, not after its first.
      last = `${commonPrefix}\uffff`;
      continue;
    }
    const meta = await readMeta(root, bucket, key, objectPath(dir, key));
    if (meta === undefined) continue;
    last = key;
    contents.push(
      "<Contents>" +
        xml("Key", encode(key)) +
        xml("LastModified", meta.lastModified) +
        xml("ETag", meta.etag) +
        xml("Size", meta.size) +
        xml("StorageClass", "STANDARD") +
        "</Contents>",
    );
  }
  const body =
    XML_HEADER +
    `<ListBucketResult xmlns="${S3_NS}">` +
    xml("Name", bucket) +
    xml("Prefix", encode(prefix)) +
    (delimiter === "" ? "" : xml("Delimiter", encode(delimiter))) +
    xml("MaxKeys", maxKeys) +
    xml("KeyCount", count) +
    xml("IsTruncated", truncated) +
    (encodeKeys ? xml("EncodingType", "url") : "") +
    (token === null ? "" : xml("ContinuationToken", token)) +
    (truncated ? xml("NextContinuationToken", Buffer.from(last).toString("base64url")) : "") +
    contents.join("") +
    prefixes.map((p) => `<CommonPrefixes>${xml("Prefix", encode(p))}</CommonPrefixes>`).join("") +
    "</ListBucketResult>";
  response.writeHead(200, { "content-type": "application/xml", "content-length": Buffer.byteLength(body) });
  response.end(body);
}
