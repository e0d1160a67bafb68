/**
 * A Lambda `Context` for handlers invoked in this process: the fields Powertools' logger and
 * idempotency utility read (function name, request id, remaining time), with the function's
 * timeout counting down in real time as on AWS.
 *
 * Every function runs in this one process, many invocations at once, as on a Lambda execution
 * environment that takes concurrent invocations (`AWS_LAMBDA_MAX_CONCURRENCY`). There the runtime
 * opens an InvokeStore context per invocation, and Powertools keeps the logger's Lambda context,
 * keys, correlation id and level in it; {@link invokeIsolated} does the same here, so a POST
 * /v1/challenges line is not stamped with the function name of a workflow step running meanwhile.
 */
import { randomUUID } from "node:crypto";
import { InvokeStore, InvokeStoreBase } from "@aws/lambda-invoke-store";
import type { Context } from "aws-lambda";
import { asCaller } from "./dynamodb-callers.js";

/** What the local runtime allows at once per function; any value turns on per-invocation state. */
const MAX_CONCURRENCY = "64";

let store: InvokeStoreBase | undefined;

/**
 * Call once, before any handler module is loaded: declares concurrent invocations (Powertools reads
 * `AWS_LAMBDA_MAX_CONCURRENCY`) and creates the per-invocation store they are kept apart by.
 */
export async function prepareConcurrentInvocations(): Promise<void> {
  process.env.AWS_LAMBDA_MAX_CONCURRENCY ??= MAX_CONCURRENCY;
  store = await InvokeStore.getInstanceAsync(true);
}

/**
 * Invokes a handler in its own invocation context: its log keys, Lambda context and log level are
 * its own. `prepare` runs inside that context first (the runtime sets a function's log level there,
 * as each function has its own environment on AWS).
 */
export function invokeIsolated<E, R>(
  handler: (event: E, context: Context) => Promise<R>,
  event: E,
  context: Context,
  prepare?: () => void,
): Promise<R> {
  // Its DynamoDB calls count against its function (dynamodb-callers.ts, bench:local).
  return asCaller(context.functionName, () => {
    if (store === undefined) return handler(event, context);
    return store.run({ [InvokeStoreBase.PROTECTED_KEYS.REQUEST_ID]: context.awsRequestId }, () => {
      prepare?.();
      return handler(event, context);
    });
  });
}

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
