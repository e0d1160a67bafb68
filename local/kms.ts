/**
 * A minimal KMS endpoint (JSON protocol: Sign, GetPublicKey) for one asymmetric signing key, so the
 * audit digest writer signs exactly as on AWS, through `@aws-sdk/client-kms` pointed here by
 * `AWS_ENDPOINT_URL_KMS`, and `npm run audit -- verify --key-id <arn>` fetches the public key the
 * same way.
 *
 * The key is an ECC_NIST_P256 pair made on first start and kept (0600) in the data folder, so
 * digests written before a restart still verify. As KMS does: Sign takes a RAW message of at most
 * 4096 bytes and returns a DER-encoded ECDSA_SHA_256 signature; GetPublicKey returns the
 * DER-encoded SubjectPublicKeyInfo. MessageType DIGEST is refused here (Node signs only whole
 * messages); the digest writer never sends it.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, sign } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { dirname } from "node:path";
import { closeLocally, LOCAL_HOST, listenLocally } from "./ports.js";
import { readAwsJson, sendAwsJson } from "./aws-json.js";

export interface KmsServer {
  readonly endpoint: string;
  stop(): Promise<void>;
}

const MAX_RAW_MESSAGE_BYTES = 4096;
const ALGORITHM = "ECDSA_SHA_256";

/**
 * The local signing key's private half, created (0600, PKCS#8 PEM) on first use. Its public half is
 * written beside it (`<file>.public.pem`) for `npm run audit -- verify --public-key`.
 */
export function localSigningKey(file: string): KeyObject {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(readFileSync(file, "utf8"));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    privateKey = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey;
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, privateKey.export({ type: "pkcs8", format: "pem" }), { mode: 0o600 });
  }
  writeFileSync(
    file.replace(/\.pem$/, ".public.pem"),
    createPublicKey(privateKey).export({ type: "spki", format: "pem" }),
  );
  return privateKey;
}

class KmsError extends Error {
  constructor(
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

export async function startKmsServer(options: {
  readonly port: number;
  /** The key's ARN; requests may name it by ARN or by its key id (the ARN's last segment). */
  readonly keyArn: string;
  readonly privateKey: KeyObject;
}): Promise<KmsServer> {
  const keyId = options.keyArn.split("/").at(-1) ?? options.keyArn;
  const publicKeyDer = createPublicKey(options.privateKey).export({ type: "spki", format: "der" });

  const operation = (target: string, body: Record<string, unknown>): Record<string, unknown> => {
    if (body.KeyId !== options.keyArn && body.KeyId !== keyId) {
      throw new KmsError("NotFoundException", `Key '${String(body.KeyId)}' does not exist`);
    }
    switch (target) {
      case "TrentService.GetPublicKey":
        return {
          KeyId: options.keyArn,
          PublicKey: publicKeyDer.toString("base64"),
          KeySpec: "ECC_NIST_P256",
          KeyUsage: "SIGN_VERIFY",
          SigningAlgorithms: [ALGORITHM],
        };
      case "TrentService.Sign": {
        if (body.SigningAlgorithm !== ALGORITHM) {
          throw new KmsError("InvalidKeyUsageException", `This key signs with ${ALGORITHM} only`);
        }
        if ((body.MessageType ?? "RAW") !== "RAW") {
          throw new KmsError("ValidationException", "This local KMS signs RAW messages only");
        }
        const message = Buffer.from(typeof body.Message === "string" ? body.Message : "", "base64");
        if (message.length === 0 || message.length > MAX_RAW_MESSAGE_BYTES) {
          throw new KmsError("ValidationException", "Message must be 1 to 4096 bytes");
        }
        return {
          KeyId: options.keyArn,
          Signature: sign("sha256", message, { key: options.privateKey, dsaEncoding: "der" }).toString(
            "base64",
          ),
          SigningAlgorithm: ALGORITHM,
        };
      }
      default:
        throw new KmsError("UnsupportedOperationException", `${target} is not supported locally`);
    }
  };

  const server: Server = createServer((request, response) => {
    const send = (status: number, body: unknown, errorType?: string): void => {
      sendAwsJson(response, status, body, errorType);
    };
    const target = String(request.headers["x-amz-target"] ?? "");
    readAwsJson(request)
      .then((body) => {
        send(200, operation(target, body));
      })
      .catch((error: unknown) => {
        const type = error instanceof KmsError ? error.type : "ValidationException";
        send(400, { __type: type, message: error instanceof Error ? error.message : String(error) }, type);
      });
  });
  const port = await listenLocally(server, "kms", options.port);
  return { endpoint: `http://${LOCAL_HOST}:${port}`, stop: () => closeLocally(server) };
}
