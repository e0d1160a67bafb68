/**
 * A minimal Secrets Manager endpoint (GetSecretValue and DescribeSecret, JSON protocol) so the mail
 * handlers read the reply-token signing key exactly as on AWS, from `REPLY_TOKEN_SECRET_ARN`
 * through `@aws-sdk/client-secrets-manager` pointed here by `AWS_ENDPOINT_URL_SECRETS_MANAGER`.
 *
 * The key is generated on first start and kept in the data folder, so reply addresses in mail
 * already sent keep working after a restart. Its shape is the one functions/mail/reply-token.ts
 * parses (`replyKeyRingSecretSchema`: `{ current: { id, secret } }`, secret base64 of 32+ bytes).
 */
import { randomBytes, randomUUID } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { dirname } from "node:path";
import { closeLocally, LOCAL_HOST, listenLocally } from "./ports.js";
import { readAwsJson, sendAwsJson } from "./aws-json.js";

export interface LocalSecret {
  readonly name: string;
  readonly arn: string;
  readonly secretString: string;
}

export interface SecretsServer {
  readonly endpoint: string;
  stop(): Promise<void>;
}

/** The reply-token key ring, created (0600) on first use. */
export function replyTokenKeyRing(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  const text = JSON.stringify({ current: { id: 1, secret: randomBytes(32).toString("base64") } });
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text, { mode: 0o600 });
  return text;
}

export async function startSecretsServer(options: {
  readonly port: number;
  readonly secrets: readonly LocalSecret[];
}): Promise<SecretsServer> {
  const created = Date.now() / 1000;
  const versionId = randomUUID();
  const find = (id: unknown): LocalSecret | undefined =>
    options.secrets.find((s) => s.name === id || s.arn === id);

  const server: Server = createServer((request, response) => {
    const send = (status: number, body: unknown, errorType?: string): void => {
      sendAwsJson(response, status, body, errorType);
    };
    const target = String(request.headers["x-amz-target"] ?? "");
    readAwsJson(request)
      .then((body) => {
        const secret = find(body.SecretId);
        if (target !== "secretsmanager.GetSecretValue" && target !== "secretsmanager.DescribeSecret") {
          send(
            400,
            { __type: "UnknownOperationException", message: `${target} is not supported locally` },
            "UnknownOperationException",
          );
        } else if (secret === undefined) {
          send(
            400,
            {
              __type: "ResourceNotFoundException",
              message: "Secrets Manager can't find the specified secret.",
            },
            "ResourceNotFoundException",
          );
        } else if (target === "secretsmanager.DescribeSecret") {
          send(200, { ARN: secret.arn, Name: secret.name, CreatedDate: created });
        } else {
          send(200, {
            ARN: secret.arn,
            Name: secret.name,
            SecretString: secret.secretString,
            VersionId: versionId,
            VersionStages: ["AWSCURRENT"],
            CreatedDate: created,
          });
        }
      })
      .catch((error: unknown) => {
        send(400, { __type: "InvalidRequestException", message: String(error) }, "InvalidRequestException");
      });
  });
  const port = await listenLocally(server, "secrets", options.port);
  return { endpoint: `http://${LOCAL_HOST}:${port}`, stop: () => closeLocally(server) };
}
