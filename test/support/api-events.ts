import type { APIGatewayProxyEventV2WithJWTAuthorizer, Context } from "aws-lambda";
import { type RouteDefinition, routes } from "../../functions/api/routes.js";

/**
 * API Gateway HTTP API (payload 2.0) events with JWT authorizer claims, as API Gateway hands them
 * to a Lambda, for handler tests and the local server's tests.
 */

export const TENANT = "tenant-a";
export const OTHER_TENANT = "tenant-b";

export interface Caller {
  readonly sub: string;
  readonly role: string;
  readonly tenant: string;
  readonly scopes: readonly string[];
}

const ALL_SCOPES = [
  "challenges/read",
  "challenges/write",
  "config/read",
  "config/write",
  "reports/read",
] as const;

export const callers = {
  iro: { sub: "iro-1", role: "IRO", tenant: TENANT, scopes: ALL_SCOPES },
  otherIro: { sub: "iro-2", role: "IRO", tenant: TENANT, scopes: ALL_SCOPES },
  cpc: { sub: "cpc-1", role: "CPC", tenant: TENANT, scopes: ALL_SCOPES },
  /** The team manager of team-a: level 1's recipient in the test directory. */
  teamManager: { sub: "tm-1", role: "manager", tenant: TENANT, scopes: ALL_SCOPES },
  /** A manager of another team: not the recipient of team-a's stages. */
  otherManager: { sub: "tm-2", role: "manager", tenant: TENANT, scopes: ALL_SCOPES },
  serviceManager: { sub: "ism-1", role: "iro_service_manager", tenant: TENANT, scopes: ALL_SCOPES },
  auditor: {
    sub: "aud-1",
    role: "auditor",
    tenant: TENANT,
    scopes: ["challenges/read", "config/read", "reports/read"],
  },
  lcs: { sub: "lcs-client", role: "case_record_system", tenant: TENANT, scopes: ["challenges/read"] },
  foreignIro: { sub: "iro-9", role: "IRO", tenant: OTHER_TENANT, scopes: ALL_SCOPES },
} as const satisfies Record<string, Caller>;

export interface EventOptions {
  readonly pathParameters?: Record<string, string>;
  readonly query?: Record<string, string>;
  /** An object is sent as JSON; a string is sent as is. */
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
  /** The caller; `null` for an event without authorizer claims. */
  readonly caller?: Caller | null;
  /** Replace the claims entirely (malformed tokens). */
  readonly claims?: Record<string, string | number | boolean | string[]>;
  /** Override the scopes the authorizer lists (null: none listed). */
  readonly scopes?: readonly string[] | null;
  readonly requestId?: string;
}

function routeFor(route: RouteDefinition | string): RouteDefinition {
  if (typeof route !== "string") return route;
  const found = routes.find((r) => r.id === route);
  if (found === undefined) throw new Error(`no route ${route}`);
  return found;
}

let requestCounter = 0;

/** An HTTP API v2 event for a route, the path filled in from `pathParameters`. */
export function apiEvent(
  routeOrId: RouteDefinition | string,
  options: EventOptions = {},
): APIGatewayProxyEventV2WithJWTAuthorizer {
  const route = routeFor(routeOrId);
  const pathParameters = options.pathParameters ?? {};
  const rawPath = route.path.replace(/\{(\w+)\}/g, (_, name: string) => {
    const value = pathParameters[name];
    if (value === undefined) throw new Error(`route ${route.id} needs the path parameter ${name}`);
    return encodeURIComponent(value);
  });
  const caller = options.caller === undefined ? callers.iro : options.caller;
  const body =
    options.body === undefined
      ? undefined
      : typeof options.body === "string"
        ? options.body
        : JSON.stringify(options.body);
  const headers: Record<string, string> = {
    host: "api.example",
    "user-agent": "vitest",
    ...(body === undefined ? {} : { "Content-Type": "application/json" }),
    ...options.headers,
  };
  const query = options.query;
  const claims =
    options.claims ??
    (caller === null
      ? undefined
      : { sub: caller.sub, role: caller.role, tenant_id: caller.tenant, scope: caller.scopes.join(" ") });
  const scopes =
    options.scopes === undefined ? (caller === null ? null : [...caller.scopes]) : options.scopes;
  requestCounter += 1;
  const requestId = options.requestId ?? `req-${requestCounter}`;

  const requestContext = {
    accountId: "123456789012",
    apiId: "api",
    domainName: "api.example",
    domainPrefix: "api",
    http: {
      method: route.method,
      path: rawPath,
      protocol: "HTTP/1.1",
      sourceIp: "127.0.0.1",
      userAgent: "vitest",
    },
    requestId,
    routeKey: `${route.method} ${route.path}`,
    stage: "$default",
    time: "01/Jun/2026:09:00:00 +0000",
    timeEpoch: Date.parse("2026-06-01T09:00:00Z"),
    ...(claims === undefined
      ? {}
      : {
          authorizer: {
            principalId: "",
            integrationLatency: 0,
            jwt: { claims, scopes: scopes === null ? null : [...scopes] },
          },
        }),
  };

  // Without claims the event deliberately lacks `authorizer`, which the type says is always there.
  return {
    version: "2.0",
    routeKey: `${route.method} ${route.path}`,
    rawPath,
    rawQueryString: query === undefined ? "" : new URLSearchParams(query).toString(),
    headers,
    ...(query === undefined ? {} : { queryStringParameters: query }),
    ...(Object.keys(pathParameters).length === 0 ? {} : { pathParameters }),
    requestContext,
    ...(body === undefined ? {} : { body }),
    isBase64Encoded: false,
  } as APIGatewayProxyEventV2WithJWTAuthorizer;
}

/** A Lambda context with enough time left for the idempotency in-progress window. */
export function lambdaContext(functionName = "api-test"): Context {
  const context = {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: "$LATEST",
    invokedFunctionArn: `arn:aws:lambda:eu-west-2:123456789012:function:${functionName}`,
    memoryLimitInMB: "512",
    awsRequestId: `aws-req-${requestCounter}`,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: "stream",
    getRemainingTimeInMillis: () => 30_000,
  } satisfies Omit<Context, "done" | "fail" | "succeed">;
  // The deprecated callback methods (done/fail/succeed) are never called by middy or Powertools.
  return context as Context;
}

export interface ParsedResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  /** The JSON body (undefined when there is none). */
  readonly body: unknown;
}

/** Calls a handler and parses its JSON response. */
export async function invoke(
  handler: (event: APIGatewayProxyEventV2WithJWTAuthorizer, context: Context) => Promise<unknown>,
  event: APIGatewayProxyEventV2WithJWTAuthorizer,
): Promise<ParsedResponse> {
  const raw = (await handler(event, lambdaContext())) as {
    statusCode: number;
    headers?: Record<string, string | number | boolean>;
    body?: string;
  };
  const headers = Object.fromEntries(
    Object.entries(raw.headers ?? {}).map(([k, v]) => [k.toLowerCase(), String(v)]),
  );
  return {
    status: raw.statusCode,
    headers,
    body: raw.body === undefined ? undefined : (JSON.parse(raw.body) as unknown),
  };
}
