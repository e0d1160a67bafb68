/**
 * The AWS JSON 1.1 protocol as the local stand-ins for KMS and Secrets Manager speak it: a POST whose
 * `X-Amz-Target` names the operation, a JSON body, and errors typed by `x-amzn-errortype`.
 */
import type { IncomingMessage, ServerResponse } from "node:http";

/** The request's JSON object; an empty body is `{}`, anything but an object too. */
export async function readAwsJson(request: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString("utf8");
  if (text.trim() === "") return {};
  const parsed: unknown = JSON.parse(text);
  return typeof parsed === "object" && parsed !== null ? (parsed as Record<string, unknown>) : {};
}

/** Answers with `body` as JSON; `errorType` marks an error the SDK raises by that name. */
export function sendAwsJson(
  response: ServerResponse,
  status: number,
  body: unknown,
  errorType?: string,
): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    "content-type": "application/x-amz-json-1.1",
    "content-length": Buffer.byteLength(text),
    ...(errorType === undefined ? {} : { "x-amzn-errortype": errorType }),
  });
  response.end(text);
}
