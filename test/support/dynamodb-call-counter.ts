import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";

/**
 * Counts the DynamoDB API calls a client sends, by operation ("BatchGetItem", "TransactWriteItems"),
 * with an SDK middleware at the `initialize` step: once per `send`, whatever the SDK retries
 * underneath. Attach it to every client a handler uses (the document client and, for Powertools'
 * idempotency records, the plain one); document clients share their base client's stack.
 */
export interface DynamoDbCallCounter {
  /** Every call since the last reset, in order. */
  readonly calls: readonly string[];
  /** Watches a client (adding the middleware once per client). */
  attach(client: DynamoDBClient | DynamoDBDocumentClient): void;
  /** Forgets the calls so far. */
  reset(): void;
  /** The calls made while `run` ran (the counter is reset first). */
  during(run: () => Promise<unknown>): Promise<readonly string[]>;
}

const MIDDLEWARE_NAME = "dynamoDbCallCounter";

export function dynamoDbCallCounter(): DynamoDbCallCounter {
  const calls: string[] = [];
  const attached = new WeakSet<object>();
  return {
    calls,
    attach(client) {
      const stack = client.middlewareStack;
      if (attached.has(stack)) return;
      attached.add(stack);
      stack.add(
        (next, context) => (args) => {
          calls.push(context.commandName?.replace(/Command$/, "") ?? "unknown");
          return next(args);
        },
        { step: "initialize", name: MIDDLEWARE_NAME, override: true },
      );
    },
    reset() {
      calls.length = 0;
    },
    async during(run) {
      calls.length = 0;
      await run();
      return [...calls];
    },
  };
}
