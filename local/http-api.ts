/**
 * The HTTP API on 127.0.0.1: the local stand-in for API Gateway's HTTP API with its JWT authorizer.
 *
 * For every route in functions/api/routes.ts (the table CDK builds the real API from), a request is
 * turned into the payload-2.0 event API Gateway sends (`APIGatewayProxyEventV2WithJWTAuthorizer`:
 * route key, raw path and query, lower-cased headers, cookies, path parameters, body with
 * `isBase64Encoded`, and `requestContext.authorizer.jwt` with the verified claims and scopes), the
 * SAME handler module is invoked in this process, and its response is returned verbatim.
 *
 * As API Gateway's JWT authorizer does before any handler runs: no or malformed bearer token,
 * bad signature, wrong issuer or audience, expired: 401 `{"message":"Unauthorized"}`; a valid
 * token without the route's scope: 403 `{"message":"Forbidden"}`; no route: 404
 * `{"message":"Not Found"}`; a handler that throws: 500 `{"message":"Internal Server Error"}`.
 * Claims reach the handler as API Gateway passes them: strings (numbers as text, arrays as "[a b]").
 *
 * Local extras (no token, loopback only): an index page at `/`, the OpenAPI document at
 * `/openapi.json`, and under `/_local/` the service clock, the demo tokens and the JWKS of the local
 * signing key (see runtime.ts).
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { APIGatewayProxyEventV2WithJWTAuthorizer } from "aws-lambda";
import type { RouteDefinition } from "../functions/api/routes.js";
import type { LambdaHandler } from "./functions.js";
import { type TokenIssuer, verifyToken } from "./jwt.js";
import { invokeIsolated, lambdaContext } from "./lambda-context.js";
import { closeLocally, LOCAL_HOST, listenLocally } from "./ports.js";

export interface LocalRoute {
  readonly route: RouteDefinition;
  readonly handler: LambdaHandler;
}

/**
 * An answer from a local endpoint: a JSON body, or (with `contentType`) a text body sent as it is,
 * such as the index page's HTML.
 */
export type LocalAnswer =
  | { readonly status: number; readonly body: unknown; readonly contentType?: undefined }
  | { readonly status: number; readonly body: string; readonly contentType: string };

/**
 * Handles the local-only paths (`/`, `/openapi.json`, `/_local/...`, `/.well-known/...`): returns
 * the answer, or undefined for "no such endpoint".
 */
export type LocalEndpoint = (method: string, path: string, body: unknown) => Promise<LocalAnswer | undefined>;

/** Paths served without a token, locally only: the index page, the OpenAPI document and the extras. */
export function isLocalOnlyPath(path: string): boolean {
  return (
    path === "/" ||
    path === "/openapi.json" ||
    path.startsWith("/_local/") ||
    path.startsWith("/.well-known/")
  );
}

export interface HttpApiOptions {
  readonly port: number;
  readonly routes: readonly LocalRoute[];
  readonly issuer: TokenIssuer;
  readonly region: string;
  readonly accountId: string;
  readonly localEndpoints: LocalEndpoint;
  readonly log?: (message: string) => void;
}

export interface HttpApi {
  readonly url: string;
  stop(): Promise<void>;
}

interface CompiledRoute extends LocalRoute {
  readonly pattern: RegExp;
  readonly names: readonly string[];
}

const MAX_BODY_BYTES = 10 * 1024 * 1024; // API Gateway's payload limit
const TEXT_TYPES =
  /^(text\/|application\/(json|[\w.+-]+\+json|xml|[\w.+-]+\+xml|x-www-form-urlencoded|javascript))/i;

function compile(route: LocalRoute): CompiledRoute {
  const names: string[] = [];
  const source = route.route.path
    .split("/")
    .map((segment) => {
      const parameter = /^\{(\w+)\+?\}$/.exec(segment);
      if (parameter?.[1] !== undefined) {
        names.push(parameter[1]);
        return segment.endsWith("+}") ? "(.+)" : "([^/]+)";
      }
      return segment.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    })
    .join("/");
  return { ...route, pattern: new RegExp(`^${source}$`), names };
}

function json(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
    ...headers,
  });
  response.end(text);
}

async function readBody(request: IncomingMessage): Promise<Buffer | "too_large"> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > MAX_BODY_BYTES) return "too_large";
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
}

/** Claims as API Gateway passes them to the integration: every value a string. */
function claimStrings(claims: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(claims)) {
    if (value === undefined || value === null) continue;
    out[name] = Array.isArray(value)
      ? `[${value.map((v) => (typeof v === "string" ? v : JSON.stringify(v))).join(" ")}]`
      : typeof value === "string"
        ? value
        : JSON.stringify(value);
  }
  return out;
}

function scopesOf(claims: Record<string, unknown>): string[] {
  const raw = claims.scope ?? claims.scp;
  if (Array.isArray(raw)) return raw.filter((s): s is string => typeof s === "string");
  if (typeof raw === "string") return raw.split(" ").filter((s) => s.length > 0);
  return [];
}

/** The `www-authenticate` header API Gateway sends with its 401 and 403 answers. */
function challengeHeader(error: string, description: string): Record<string, string> {
  return { "www-authenticate": `Bearer scope="" error="${error}" error_description="${description}"` };
}

function requestTimeOf(date: Date): string {
  // API Gateway's requestTime: "12/Mar/2020:19:03:58 +0000".
  const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  const pad = (n: number): string => String(n).padStart(2, "0");
  return `${pad(date.getUTCDate())}/${months[date.getUTCMonth()] ?? ""}/${date.getUTCFullYear()}:${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} +0000`;
}

export async function startHttpApi(options: HttpApiOptions): Promise<HttpApi> {
  const compiled = options.routes.map(compile);
  const log =
    options.log ??
    ((message: string) => {
      console.error(`[local api] ${message}`);
    });

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const method = request.method ?? "GET";
    const url = new URL(request.url ?? "/", `http://${LOCAL_HOST}`);
    const rawPath = url.pathname;
    const body = await readBody(request);
    if (body === "too_large") {
      json(response, 413, { message: "Request Entity Too Large" });
      return;
    }

    if (isLocalOnlyPath(rawPath)) {
      let parsed: unknown = undefined;
      if (body.length > 0) {
        try {
          parsed = JSON.parse(body.toString("utf8"));
        } catch {
          json(response, 400, { message: "The body must be JSON" });
          return;
        }
      }
      const answer = await options.localEndpoints(method, rawPath, parsed);
      if (answer === undefined) json(response, 404, { message: "Not Found" });
      else if (answer.contentType === undefined) json(response, answer.status, answer.body);
      else {
        response.writeHead(answer.status, {
          "content-type": answer.contentType,
          "content-length": Buffer.byteLength(answer.body),
        });
        response.end(answer.body);
      }
      return;
    }

    let match: { route: CompiledRoute; values: RegExpExecArray } | undefined;
    for (const route of compiled) {
      if (route.route.method !== method) continue;
      const values = route.pattern.exec(rawPath);
      if (values !== null) {
        match = { route, values };
        break;
      }
    }
    if (match === undefined) {
      json(response, 404, { message: "Not Found" });
      return;
    }
    const { route, values } = match;

    // --- the JWT authorizer (a signed-link route has none, as on AWS: its handler checks the link) ---
    let jwt: { claims: Record<string, string>; scopes: string[] } | undefined;
    if (route.route.signedLink !== true) {
      const authorization = request.headers.authorization;
      const bearer =
        authorization === undefined ? undefined : /^(?:Bearer\s+)?(\S+)\s*$/i.exec(authorization)?.[1];
      if (bearer === undefined) {
        json(response, 401, { message: "Unauthorized" });
        return;
      }
      const verified = await verifyToken(options.issuer, bearer);
      if (!verified.ok) {
        json(
          response,
          401,
          { message: "Unauthorized" },
          challengeHeader("invalid_token", verified.description),
        );
        return;
      }
      const claims = verified.claims as Record<string, unknown>;
      const scopes = scopesOf(claims);
      if (!scopes.includes(route.route.scope)) {
        json(
          response,
          403,
          { message: "Forbidden" },
          challengeHeader("insufficient_scope", `the token does not have the scope ${route.route.scope}`),
        );
        return;
      }
      jwt = { claims: claimStrings(claims), scopes };
    }

    // --- the payload-2.0 event ---------------------------------------------------------------
    const headers: Record<string, string> = {};
    let cookies: string[] | undefined;
    for (let i = 0; i < request.rawHeaders.length; i += 2) {
      const name = (request.rawHeaders[i] ?? "").toLowerCase();
      const value = request.rawHeaders[i + 1] ?? "";
      if (name === "cookie") {
        cookies = [...(cookies ?? []), ...value.split(/;\s*/).filter((c) => c.length > 0)];
        continue;
      }
      headers[name] = name in headers ? `${headers[name] ?? ""},${value}` : value;
    }
    headers["x-forwarded-for"] ??= request.socket.remoteAddress ?? LOCAL_HOST;
    headers["x-forwarded-proto"] ??= "http";
    headers["x-forwarded-port"] ??= String(options.port);
    const rawQueryString = url.search.startsWith("?") ? url.search.slice(1) : "";
    const query: Record<string, string> = {};
    for (const [name, value] of url.searchParams) {
      query[name] = name in query ? `${query[name] ?? ""},${value}` : value;
    }
    const pathParameters: Record<string, string> = {};
    route.names.forEach((name, index) => {
      const raw = values[index + 1] ?? "";
      try {
        pathParameters[name] = decodeURIComponent(raw);
      } catch {
        pathParameters[name] = raw;
      }
    });
    const contentType = headers["content-type"] ?? "";
    const isText = body.length === 0 || contentType === "" || TEXT_TYPES.test(contentType);
    const now = new Date();
    const requestId = randomUUID();
    const routeKey = `${route.route.method} ${route.route.path}`;
    // Without an authorizer (a signed-link route) the event has no `authorizer`, as API Gateway sends it.
    const event = {
      version: "2.0",
      routeKey,
      rawPath,
      rawQueryString,
      ...(cookies === undefined ? {} : { cookies }),
      headers,
      ...(Object.keys(query).length === 0 ? {} : { queryStringParameters: query }),
      ...(route.names.length === 0 ? {} : { pathParameters }),
      requestContext: {
        accountId: options.accountId,
        apiId: "local",
        ...(jwt === undefined ? {} : { authorizer: { principalId: "", integrationLatency: 0, jwt } }),
        domainName: headers.host ?? `${LOCAL_HOST}:${options.port}`,
        domainPrefix: (headers.host ?? LOCAL_HOST).split(".")[0] ?? "local",
        http: {
          method,
          path: rawPath,
          protocol: `HTTP/${request.httpVersion}`,
          sourceIp: request.socket.remoteAddress ?? LOCAL_HOST,
          userAgent: headers["user-agent"] ?? "",
        },
        requestId,
        routeKey,
        stage: "$default",
        time: requestTimeOf(now),
        timeEpoch: now.getTime(),
      },
      ...(body.length === 0
        ? { isBase64Encoded: false }
        : isText
          ? { body: body.toString("utf8"), isBase64Encoded: false }
          : { body: body.toString("base64"), isBase64Encoded: true }),
    } as APIGatewayProxyEventV2WithJWTAuthorizer;

    let result: unknown;
    try {
      result = await invokeIsolated(
        route.handler,
        event,
        lambdaContext(route.route.id, {
          region: options.region,
          accountId: options.accountId,
          timeoutMs: 10_000,
        }),
      );
    } catch (error) {
      log(`${routeKey} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      json(response, 500, { message: "Internal Server Error" }, { "apigw-requestid": requestId });
      return;
    }
    send(response, result, requestId);
  };

  const server: Server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      log(`request failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      if (!response.headersSent) json(response, 500, { message: "Internal Server Error" });
      else response.destroy();
    });
  });
  const port = await listenLocally(server, "api", options.port);
  return { url: `http://${LOCAL_HOST}:${port}`, stop: () => closeLocally(server) };
}

/**
 * Writes a handler's result as API Gateway does for payload 2.0: a result with `statusCode` is
 * used as is (headers, cookies, body, base64); anything else is a 200 JSON body.
 */
function send(response: ServerResponse, result: unknown, requestId: string): void {
  if (typeof result === "object" && result !== null && "statusCode" in result) {
    const structured = result as {
      statusCode?: unknown;
      headers?: Record<string, unknown>;
      multiValueHeaders?: Record<string, unknown[]>;
      cookies?: unknown[];
      body?: unknown;
      isBase64Encoded?: unknown;
    };
    const status = typeof structured.statusCode === "number" ? structured.statusCode : 200;
    const headers: Record<string, string | string[]> = { "apigw-requestid": requestId };
    for (const [name, value] of Object.entries(structured.headers ?? {})) {
      if (value !== undefined && value !== null)
        headers[name.toLowerCase()] = typeof value === "string" ? value : JSON.stringify(value);
    }
    for (const [name, list] of Object.entries(structured.multiValueHeaders ?? {})) {
      headers[name.toLowerCase()] = list
        .map((v) => (typeof v === "string" ? v : JSON.stringify(v)))
        .join(",");
    }
    if (Array.isArray(structured.cookies) && structured.cookies.length > 0) {
      headers["set-cookie"] = structured.cookies.map((c) => (typeof c === "string" ? c : JSON.stringify(c)));
    }
    const body =
      typeof structured.body === "string"
        ? structured.isBase64Encoded === true
          ? Buffer.from(structured.body, "base64")
          : Buffer.from(structured.body, "utf8")
        : Buffer.alloc(0);
    headers["content-length"] = String(body.length);
    response.writeHead(status, headers);
    response.end(body);
    return;
  }
  const text = typeof result === "string" ? result : JSON.stringify(result ?? null);
  response.writeHead(200, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
    "apigw-requestid": requestId,
  });
  response.end(text);
}
