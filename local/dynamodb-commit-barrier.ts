/**
 * A commit barrier in front of DynamoDB Local, so that a TransactWriteItems it has acknowledged
 * survives the JVM being killed (issue 10).
 *
 * Why: DynamoDB Local keeps its data in SQLite and runs every statement as a job on one queue
 * (sqlite4java's SQLiteQueue, one thread, first in first out). Its TransactWriteItems writes the
 * items inside BEGIN ... COMMIT, but `SQLiteDBAccess.commitTransaction` only puts the COMMIT job on
 * the queue and returns without waiting for it (every other call waits for its job), so the
 * answer reaches the client while the transaction is still uncommitted. A SIGKILL in that window
 * loses a write that was acknowledged: a raise answered 201 was gone after a restart. PutItem and
 * UpdateItem wait for their jobs. (Found by reading DynamoDBLocal.jar with javap. Measured with
 * 8 writers and a SIGKILL of the JVM: 5 of 449 acknowledged transactions lost over 12 kills; none
 * of 164 PutItems over 5 kills; none of 361 transactions each followed by a GetItem over 13 kills;
 * with this barrier, none of 101 over 8 kills, and none in the fault suite.)
 *
 * The fix, from outside the jar: this proxy forwards every request unchanged, and when a
 * TransactWriteItems (or ExecuteTransaction) succeeds it first sends DynamoDB Local a one-item
 * Scan of the same table, which goes through the same queue after the COMMIT and waits for its
 * job, and only then answers the client. So an acknowledged transaction is a committed one, and
 * SQLite's own journal (synchronous=FULL by default) keeps it across a kill.
 */
import { type IncomingMessage, type Server, type ServerResponse, createServer, request } from "node:http";
import { forwarding } from "./dynamodb-callers.js";
import { LOCAL_HOST, closeLocally, listenLocally } from "./ports.js";

export interface CommitBarrier {
  readonly endpoint: string;
  /** Transactions made durable before their answer (tests and the console). */
  readonly barriers: () => number;
  /** Calls forwarded so far, by operation (`GetItem`, `GetRecords`, ...): bench:local reports them per challenge. */
  readonly calls: () => Readonly<Record<string, number>>;
  stop(): Promise<void>;
}

const TRANSACTION_TARGETS = new Set([
  "DynamoDB_20120810.TransactWriteItems",
  "DynamoDB_20120810.ExecuteTransaction",
]);

interface Upstream {
  readonly status: number;
  readonly headers: IncomingMessage["headers"];
  readonly body: Buffer;
}

function readBody(stream: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.once("end", () => {
      resolve(Buffer.concat(chunks));
    });
    stream.once("error", reject);
  });
}

function send(
  upstreamPort: number,
  method: string,
  path: string,
  headers: IncomingMessage["headers"],
  body: Buffer,
): Promise<Upstream> {
  return new Promise((resolve, reject) => {
    const outgoing = forwarding(() =>
      request(
        {
          host: LOCAL_HOST,
          port: upstreamPort,
          method,
          path,
          headers: { ...headers, "content-length": body.length },
        },
        (response) => {
          readBody(response).then((responseBody) => {
            resolve({ status: response.statusCode ?? 502, headers: response.headers, body: responseBody });
          }, reject);
        },
      ),
    );
    outgoing.once("error", reject);
    outgoing.end(body);
  });
}

/** The table a transaction names first (every item of TransactWriteItems names its table). */
function transactionTable(target: string, body: Buffer): string | undefined {
  try {
    const parsed = JSON.parse(body.toString("utf8")) as {
      TransactItems?: Record<string, { TableName?: unknown } | undefined>[];
      TransactStatements?: { Statement?: unknown }[];
    };
    if (target.endsWith("TransactWriteItems")) {
      const first = parsed.TransactItems?.[0];
      const operation = first === undefined ? undefined : Object.values(first)[0];
      return typeof operation?.TableName === "string" ? operation.TableName : undefined;
    }
    const statement = parsed.TransactStatements?.[0]?.Statement;
    const match =
      typeof statement === "string" ? /\b(?:INTO|UPDATE|FROM)\s+"?([\w.-]+)"?/i.exec(statement) : null;
    return match?.[1];
  } catch {
    return undefined;
  }
}

/** Starts the barrier on `port`, forwarding to DynamoDB Local on `upstreamPort`. */
export async function startCommitBarrier(port: number, upstreamPort: number): Promise<CommitBarrier> {
  let barriers = 0;
  const calls: Record<string, number> = {};
  const handle = async (incoming: IncomingMessage, outgoing: ServerResponse): Promise<void> => {
    const body = await readBody(incoming);
    const target = incoming.headers["x-amz-target"];
    const operation = typeof target === "string" ? (target.split(".").pop() ?? target) : "other";
    calls[operation] = (calls[operation] ?? 0) + 1;
    const answer = await send(
      upstreamPort,
      incoming.method ?? "POST",
      incoming.url ?? "/",
      incoming.headers,
      body,
    );
    if (answer.status === 200 && typeof target === "string" && TRANSACTION_TARGETS.has(target)) {
      const table = transactionTable(target, body);
      if (table !== undefined) {
        // Queued after the COMMIT, and waited for: when it answers, the transaction is on disk.
        await send(
          upstreamPort,
          "POST",
          "/",
          { ...incoming.headers, "x-amz-target": "DynamoDB_20120810.Scan" },
          Buffer.from(JSON.stringify({ TableName: table, Limit: 1 })),
        );
        barriers += 1;
      }
    }
    outgoing.writeHead(answer.status, answer.headers);
    outgoing.end(answer.body);
  };
  const server: Server = createServer((incoming, outgoing) => {
    handle(incoming, outgoing).catch(() => {
      // DynamoDB Local unreachable (stopped, restarting): the client sees a dropped connection,
      // as it would talking to the JVM directly, and retries.
      outgoing.destroy();
    });
  });
  server.keepAliveTimeout = 60_000;
  await listenLocally(server, "dynamodb", port);
  // Stopped by the runtime, or when its JVM dies (local/dynamodb.ts), whichever comes first: once.
  let stopped: Promise<void> | undefined;
  return {
    endpoint: `http://${LOCAL_HOST}:${port}`,
    barriers: () => barriers,
    calls: () => ({ ...calls }),
    stop: () => (stopped ??= closeLocally(server)),
  };
}
