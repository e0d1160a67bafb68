/**
 * The local Step Functions endpoint: an HTTP server on 127.0.0.1 speaking the service's JSON
 * protocol (POST, `X-Amz-Target: AWSStepFunctions.<Operation>`, `application/x-amz-json-1.0`),
 * so handlers use the real `@aws-sdk/client-sfn` pointed at it through `AWS_ENDPOINT_URL_SFN`.
 * Requests are not signature-checked (any credentials work). Timestamps go out as epoch seconds
 * and errors as `{"__type":"com.amazonaws.sfn#<Code>","message":...}` with status 400, which the
 * SDK turns into its named exceptions.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { ExecutionStatus, HistoryEvent, LocalStepFunctions } from "./engine.js";
import { SfnApiError } from "./errors.js";

export interface StepFunctionsServerOptions {
  readonly engine: LocalStepFunctions;
  /** 0 (the default) picks a free port. */
  readonly port?: number;
  readonly host?: string;
  /** Where unexpected errors go. Default: console.error. */
  readonly log?: (message: string) => void;
}

export interface StepFunctionsServer {
  readonly port: number;
  /** For `AWS_ENDPOINT_URL_SFN` or an SDK client's `endpoint`. */
  readonly endpoint: string;
  /** Stops accepting requests and closes open connections; resolves with the port it freed. */
  stop(): Promise<number>;
}

const CONTENT_TYPE = "application/x-amz-json-1.0";
const TARGET_PREFIX = "AWSStepFunctions.";
const MAX_BODY_BYTES = 2 * 1024 * 1024;
const STATUSES: readonly ExecutionStatus[] = ["RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"];

type Body = Record<string, unknown>;
type Operation = (engine: LocalStepFunctions, body: Body) => unknown;

export async function startStepFunctionsServer(
  options: StepFunctionsServerOptions,
): Promise<StepFunctionsServer> {
  const host = options.host ?? "127.0.0.1";
  const log =
    options.log ??
    ((message: string) => {
      console.error(`[local stepfunctions] ${message}`);
    });
  const server = createServer((request, response) => {
    void handle(options.engine, request, response, log);
  });
  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      reject(
        error.code === "EADDRINUSE"
          ? new Error(
              `local Step Functions: port ${options.port ?? 0} on ${host} is already in use ` +
                "(is another `npm start` running?). Stop that process or choose another port.",
            )
          : error,
      );
    };
    server.once("error", onError);
    server.listen(options.port ?? 0, host, () => {
      server.off("error", onError);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    port,
    endpoint: `http://${host}:${port}`,
    stop: () => stopServer(server, port),
  };
}

function stopServer(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.close((error) => {
      if (error) reject(error);
      else resolve(port);
    });
    // The SDK keeps connections alive; without this close() would wait for them to idle out.
    server.closeAllConnections();
  });
}

async function handle(
  engine: LocalStepFunctions,
  request: IncomingMessage,
  response: ServerResponse,
  log: (message: string) => void,
): Promise<void> {
  try {
    if (request.method !== "POST")
      throw new SfnApiError("UnknownOperationException", "only POST is supported");
    const target = request.headers["x-amz-target"];
    const operationName =
      typeof target === "string" && target.startsWith(TARGET_PREFIX)
        ? target.slice(TARGET_PREFIX.length)
        : "";
    const operation = OPERATIONS[operationName];
    if (!operation) {
      throw new SfnApiError("UnknownOperationException", `unsupported operation ${String(target)}`);
    }
    const body = await readBody(request);
    const result = await operation(engine, body);
    send(response, 200, toWire(result ?? {}));
  } catch (error) {
    if (error instanceof SfnApiError) {
      send(response, 400, { __type: `com.amazonaws.sfn#${error.code}`, message: error.message }, error.code);
    } else {
      log(`request failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      send(
        response,
        500,
        { __type: "com.amazonaws.sfn#InternalFailure", message: String(error) },
        "InternalFailure",
      );
    }
  }
}

function send(response: ServerResponse, status: number, body: unknown, errorType?: string): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    "content-type": CONTENT_TYPE,
    "content-length": Buffer.byteLength(text),
    ...(errorType ? { "x-amzn-errortype": errorType } : {}),
  });
  response.end(text);
}

async function readBody(request: IncomingMessage): Promise<Body> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > MAX_BODY_BYTES) throw new SfnApiError("ValidationException", "request body too large");
    chunks.push(buffer);
  }
  const text = Buffer.concat(chunks).toString("utf8");
  if (text.trim() === "") return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new SfnApiError("ValidationException", "request body is not JSON");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new SfnApiError("ValidationException", "request body must be a JSON object");
  }
  return parsed as Body;
}

/** Dates become epoch seconds (awsJson1_0's timestamp format); undefined fields are dropped. */
function toWire(value: unknown): unknown {
  if (value instanceof Date) return value.getTime() / 1000;
  if (Array.isArray(value)) return value.map(toWire);
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, field]) => field !== undefined)
        .map(([key, field]) => [key, toWire(field)]),
    );
  }
  return value;
}

function text(body: Body, field: string): string {
  const value = body[field];
  if (typeof value !== "string" || value === "") {
    throw new SfnApiError("ValidationException", `1 validation error detected: '${field}' is required`);
  }
  return value;
}

function optionalText(body: Body, field: string): string | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") throw new SfnApiError("ValidationException", `'${field}' must be a string`);
  return value;
}

/** `nextToken` is the index of the next item; `maxResults` 0 or absent means 100 (AWS's default). */
function page<T>(items: readonly T[], body: Body): { items: T[]; nextToken?: string } {
  const max =
    typeof body.maxResults === "number" && body.maxResults > 0 ? Math.min(body.maxResults, 1000) : 100;
  const start = typeof body.nextToken === "string" ? Number.parseInt(body.nextToken, 10) : 0;
  if (!Number.isInteger(start) || start < 0) throw new SfnApiError("InvalidToken", "Invalid Token");
  const slice = items.slice(start, start + max);
  return start + max < items.length ? { items: slice, nextToken: String(start + max) } : { items: slice };
}

function historyEvent(event: HistoryEvent): Record<string, unknown> {
  return {
    id: event.id,
    previousEventId: event.previousEventId,
    timestamp: new Date(event.timestamp),
    type: event.type,
    ...(event.detailsKey && event.details ? { [event.detailsKey]: event.details } : {}),
  };
}

const OPERATIONS: Readonly<Record<string, Operation>> = {
  CreateStateMachine: (engine, body) =>
    engine.createStateMachine({
      name: text(body, "name"),
      definition: text(body, "definition"),
      roleArn: text(body, "roleArn"),
    }),
  DescribeStateMachine: (engine, body) => {
    const record = engine.describeStateMachine(text(body, "stateMachineArn"));
    return {
      stateMachineArn: record.stateMachineArn,
      name: record.name,
      status: "ACTIVE",
      definition: record.definition,
      roleArn: record.roleArn,
      type: "STANDARD",
      creationDate: new Date(record.creationDate),
    };
  },
  ListStateMachines: (engine, body) => {
    const { items, nextToken } = page(engine.listStateMachines(), body);
    return {
      stateMachines: items.map((record) => ({
        stateMachineArn: record.stateMachineArn,
        name: record.name,
        type: "STANDARD",
        creationDate: new Date(record.creationDate),
      })),
      nextToken,
    };
  },
  StartExecution: (engine, body) =>
    engine.startExecution({
      stateMachineArn: text(body, "stateMachineArn"),
      name: optionalText(body, "name"),
      input: optionalText(body, "input"),
    }),
  DescribeExecution: (engine, body) => {
    const { pendingTask: _pendingTask, ...description } = engine.describeExecution(
      text(body, "executionArn"),
    );
    return {
      ...description,
      inputDetails: { included: true },
      ...(description.output === undefined ? {} : { outputDetails: { included: true } }),
    };
  },
  StopExecution: (engine, body) =>
    engine.stopExecution({
      executionArn: text(body, "executionArn"),
      error: optionalText(body, "error"),
      cause: optionalText(body, "cause"),
    }),
  ListExecutions: (engine, body) => {
    const statusFilter = optionalText(body, "statusFilter");
    if (statusFilter !== undefined && !STATUSES.includes(statusFilter as ExecutionStatus)) {
      throw new SfnApiError("ValidationException", `statusFilter must be one of ${STATUSES.join(", ")}`);
    }
    const executions = engine.listExecutions({
      stateMachineArn: text(body, "stateMachineArn"),
      ...(statusFilter === undefined ? {} : { statusFilter: statusFilter as ExecutionStatus }),
    });
    const { items, nextToken } = page(executions, body);
    return { executions: items, nextToken };
  },
  GetExecutionHistory: (engine, body) => {
    const events = [...engine.getExecutionHistory(text(body, "executionArn"))];
    if (body.reverseOrder === true) events.reverse();
    const { items, nextToken } = page(events, body);
    return { events: items.map(historyEvent), nextToken };
  },
  SendTaskSuccess: (engine, body) => {
    engine.sendTaskSuccess(text(body, "taskToken"), text(body, "output"));
    return {};
  },
  SendTaskFailure: (engine, body) => {
    engine.sendTaskFailure(text(body, "taskToken"), optionalText(body, "error"), optionalText(body, "cause"));
    return {};
  },
  SendTaskHeartbeat: (engine, body) => {
    engine.sendTaskHeartbeat(text(body, "taskToken"));
    return {};
  },
};
