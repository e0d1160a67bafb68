/**
 * A Lambda `Context` for handlers invoked in this process: the fields Powertools' logger and
 * idempotency utility read (function name, request id, remaining time), with the function's
 * timeout counting down in real time as on AWS.
 */
import { randomUUID } from "node:crypto";
import type { Context } from "aws-lambda";

export function lambdaContext(
  functionName: string,
  options: { readonly region?: string; readonly accountId?: string; readonly timeoutMs?: number } = {},
): Context {
  const region = options.region ?? "eu-west-2";
  const accountId = options.accountId ?? "000000000000";
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  const unsupported = (): never => {
    throw new Error("the callback-style context methods are not supported locally: return a promise");
  };
  // The type still lists the deprecated callback methods (done, fail, succeed): present, and refusing.
  const deprecated = { done: unsupported, fail: unsupported, succeed: unsupported };
  return {
    ...deprecated,
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: "$LATEST",
    invokedFunctionArn: `arn:aws:lambda:${region}:${accountId}:function:${functionName}`,
    memoryLimitInMB: "512",
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: "local",
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
}
