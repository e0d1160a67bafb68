import { KMSClient, SignCommand, type SignCommandInput } from "@aws-sdk/client-kms";
import {
  GetObjectCommand,
  type GetObjectCommandInput,
  ListObjectsV2Command,
  type ListObjectsV2CommandInput,
  PutObjectCommand,
  type PutObjectCommandInput,
  S3Client,
  S3ServiceException,
} from "@aws-sdk/client-s3";
import { generateKeyPairSync, type KeyObject, sign } from "node:crypto";
import { mockClient } from "aws-sdk-client-mock";

/**
 * A mocked audit bucket and digest key that behave like the real ones where the digest writer
 * depends on it: the bucket keeps bytes, lists by prefix and delimiter in key order, and answers
 * 412 to `If-None-Match: *` on a key that exists; the key signs RAW messages of at most 4096 bytes
 * with ECDSA P-256 / SHA-256, DER-encoded, as KMS does.
 */

export const BUCKET = "audit-bucket";
export const KEY_ID = "arn:aws:kms:eu-west-2:111122223333:key/digest-test";

export const s3Mock = mockClient(S3Client);
export const kmsMock = mockClient(KMSClient);

export interface MockedAudit {
  readonly objects: Map<string, Uint8Array>;
  readonly publicKey: KeyObject;
  readonly s3: S3Client;
  readonly kms: KMSClient;
}

function preconditionFailed(): S3ServiceException {
  return new S3ServiceException({
    name: "PreconditionFailed",
    $fault: "client",
    $metadata: { httpStatusCode: 412 },
    message: "At least one of the pre-conditions you specified did not hold",
  });
}

export function mockAudit(keyPair = generateKeyPairSync("ec", { namedCurve: "P-256" })): MockedAudit {
  s3Mock.reset();
  kmsMock.reset();
  const objects = new Map<string, Uint8Array>();
  s3Mock.on(PutObjectCommand).callsFake((input: PutObjectCommandInput) => {
    const key = input.Key ?? "";
    if (input.IfNoneMatch === "*" && objects.has(key)) throw preconditionFailed();
    if (typeof input.Body !== "string") throw new Error("the writers send string bodies");
    objects.set(key, Buffer.from(input.Body, "utf8"));
    return {};
  });
  s3Mock.on(GetObjectCommand).callsFake((input: GetObjectCommandInput) => {
    const bytes = objects.get(input.Key ?? "");
    if (bytes === undefined) {
      throw new S3ServiceException({
        name: "NoSuchKey",
        $fault: "client",
        $metadata: { httpStatusCode: 404 },
      });
    }
    return { Body: { transformToByteArray: () => Promise.resolve(bytes) } };
  });
  s3Mock.on(ListObjectsV2Command).callsFake((input: ListObjectsV2CommandInput) => {
    const prefix = input.Prefix ?? "";
    const keys = [...objects.keys()].filter((k) => k.startsWith(prefix)).sort();
    if (input.Delimiter === undefined) return { Contents: keys.map((Key) => ({ Key })), IsTruncated: false };
    const prefixes = new Set<string>();
    const contents: string[] = [];
    for (const key of keys) {
      const at = key.indexOf(input.Delimiter, prefix.length);
      if (at < 0) contents.push(key);
      else prefixes.add(key.slice(0, at + input.Delimiter.length));
    }
    return {
      Contents: contents.map((Key) => ({ Key })),
      CommonPrefixes: [...prefixes].map((Prefix) => ({ Prefix })),
      IsTruncated: false,
    };
  });
  kmsMock.on(SignCommand).callsFake((input: SignCommandInput) => {
    if (input.KeyId !== KEY_ID) throw new Error(`no key ${String(input.KeyId)}`);
    if (input.MessageType !== "RAW" || input.SigningAlgorithm !== "ECDSA_SHA_256") {
      throw new Error("the digest writer signs RAW messages with ECDSA_SHA_256");
    }
    const message = input.Message ?? new Uint8Array();
    if (message.length > 4096) throw new Error("ValidationException: a RAW message is at most 4096 bytes");
    return {
      KeyId: KEY_ID,
      Signature: sign("sha256", message, keyPair.privateKey),
      SigningAlgorithm: "ECDSA_SHA_256",
    };
  });
  return { objects, publicKey: keyPair.publicKey, s3: new S3Client({}), kms: new KMSClient({}) };
}
