import { IdempotencyConfig, makeIdempotent } from "@aws-lambda-powertools/idempotency";
import type { BasePersistenceLayer } from "@aws-lambda-powertools/idempotency/persistence";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { MetricUnit } from "@aws-lambda-powertools/metrics";
import { logMetrics } from "@aws-lambda-powertools/metrics/middleware";
import middy, { type MiddlewareObj } from "@middy/core";
import httpHeaderNormalizer from "@middy/http-header-normalizer";
import type {
  APIGatewayProxyEventV2WithJWTAuthorizer,
  APIGatewayProxyStructuredResultV2,
  Context,
} from "aws-lambda";
import * as z from "zod/mini";
import { logger, metrics } from "../../shared/observability.js";
import type { RouteDefinition } from "../routes.js";
import { type Principal, principalFrom } from "./auth.js";
import { CORRELATION_HEADER, correlationIdOf } from "./correlation.js";
import { type ApiDependencies, productionDependencies } from "./dependencies.js";
import { assertMayCall } from "./permissions.js";
import { type FieldError, fieldErrors, problemResponse, problems, toProblem } from "./problem.js";

/**
 * The one handler factory every route uses:
 *
 *   middy: header normalisation → logger (Lambda context, correlation id) → metrics →
 *          problem+json on any error
 *   then:  principal (JWT claims, scope, role) → JSON body → zod validation of body, path and
 *          query → If-Match when the route requires it (428) → Idempotency-Key (POST/PUT) → the
 *          route's own `handle` → its result as JSON, or as text (`text`: CSV, HTML).

 * What a route is (method, path, scope, roles, idempotency, versions) comes from the route table
 * (routes.ts); a handler's `spec` adds only its own schemas and `handle`.
 *
 * Correlation id: the `x-correlation-id` request header when it is a sane token, else API
 * Gateway's request id; it is logged on every line and echoed in the response (also inside problems).
 *
 * Idempotency (Powertools, DynamoDBPersistenceLayer in the same table): a POST or PUT carrying an
 * `Idempotency-Key` header is keyed on tenant + route + that key. The first successful response is
 * stored for 24 hours (IDEMPOTENCY_TTL_SECONDS); a retry with the same key gets it back (with
 * `idempotent-replayed: true`) and nothing runs twice. Failures are not stored: a retry after a
 * 4xx/5xx runs again. The same key with a different request (or another caller) is refused with
 * 422; a retry while the first is still running gets 409 with Retry-After. Requests without the
 * header work as usual: commands are still guarded by the snapshot version.
 */

/** A handler's result: status, a JSON body or a text body, extra headers. */
export interface ApiResult {
  readonly status: number;
  /** Sent as JSON (`application/json`). */
  readonly body?: unknown;
  /**
   * Sent as it is (CSV, HTML, plain text) instead of `body`; the `content-type` header names it
   * (default `text/plain; charset=utf-8`). The route lists its text media types in `response.text`.
   */
  readonly text?: string;
  readonly headers?: Readonly<Record<string, string>>;
}

/** A text representation a route may answer with, for the OpenAPI document. */
export interface TextMedia {
  readonly description: string;
  readonly example: string;
}

type Out<S> = S extends z.ZodMiniType ? z.output<S> : undefined;

export interface ApiRequest<B, P, Q> {
  readonly body: B;
  readonly path: P;
  readonly query: Q;
  readonly principal: Principal;
  readonly route: RouteDefinition;
  readonly correlationId: string;
  readonly event: APIGatewayProxyEventV2WithJWTAuthorizer;
}

export interface RouteSpec<
  B extends z.ZodMiniType | undefined = undefined,
  P extends z.ZodMiniType | undefined = undefined,
  Q extends z.ZodMiniType | undefined = undefined,
> {
  /** The route's id in routes.ts (the id of `route`). */
  readonly routeId: string;
  /**
   * The route's definition in routes.ts (which says everything else about the route), imported by
   * name: a handler bundles its own route, not the whole table.
   */
  readonly route: RouteDefinition;
  readonly body?: B;
  readonly path?: P;
  readonly query?: Q;
  /** The success response, for the OpenAPI document. */
  readonly response: RouteResponse;
  readonly handle: (request: ApiRequest<Out<B>, Out<P>, Out<Q>>, deps: ApiDependencies) => Promise<ApiResult>;
  /**
   * The route's production wiring when it needs more than the shared one (the command routes'
   * workflow signal: command-dependencies.ts). `createHandler`'s own `deps` argument overrides it.
   */
  readonly dependencies?: () => ApiDependencies;
}

/** Declares a route: fixes the generic types and names the route's id from its definition. */
export function defineRoute<
  B extends z.ZodMiniType | undefined = undefined,
  P extends z.ZodMiniType | undefined = undefined,
  Q extends z.ZodMiniType | undefined = undefined,
>(spec: Omit<RouteSpec<B, P, Q>, "routeId">): RouteSpec<B, P, Q> {
  return { ...spec, routeId: spec.route.id };
}

/** A route's success response: its status, and its JSON schema and/or text media types. */
export interface RouteResponse {
  readonly status: number;
  readonly description: string;
  readonly schema?: z.ZodMiniType;
  /** Text bodies it may send instead of JSON (`ApiResult.text`), by media type. */
  readonly text?: Readonly<Record<string, TextMedia>>;
}

/** A route spec with its types erased, for code that walks all routes (the OpenAPI builder). */
export interface AnyRouteSpec {
  readonly routeId: string;
  readonly body?: z.ZodMiniType | undefined;
  readonly path?: z.ZodMiniType | undefined;
  readonly query?: z.ZodMiniType | undefined;
  readonly response: RouteResponse;
}

export const IDEMPOTENCY_HEADER = "idempotency-key";
/** The request header naming the version a write expects (an ETag from a read). */
export const IF_MATCH_HEADER = "if-match";
export const REPLAYED_HEADER = "idempotent-replayed";

const idempotencyKeySchema = z
  .string()
  .check(
    z.minLength(8, "must be at least 8 characters (use a UUID)"),
    z.maxLength(255, "must be at most 255 characters"),
    z.regex(/^[\x21-\x7e]+$/, "must be printable ASCII without spaces"),
  );

/** A version as a strong entity tag (`"7"`): a challenge's, or the tenant's configuration and directory's. */
export function etagOf(version: number): string {
  return `"${String(version)}"`;
}

/**
 * The version an `If-Match` header names: a single ETag from a read (`"7"`; `W/"7"` and a bare `7`
 * are accepted too). `*` or no header: no expectation. Anything else is a 400 naming the header.
 */
export function expectedVersionFrom(header: string | undefined): number | undefined {
  if (header === undefined || header.trim() === "*") return undefined;
  const match = /^\s*(?:W\/)?"?(\d{1,15})"?\s*$/.exec(header);
  if (match?.[1] === undefined) {
    throw problems.validation([
      { header: IF_MATCH_HEADER, detail: 'must be one ETag from a read, e.g. "7"' },
    ]);
  }
  return Number(match[1]);
}

type Event = APIGatewayProxyEventV2WithJWTAuthorizer;
type Result = APIGatewayProxyStructuredResultV2;

/** Per-invocation facts the error middleware needs. */
interface RequestFacts {
  correlationId: string;
  instance: string;
  /** performance.now() when the request reached the handler, for the request line's duration_ms. */
  startedAt: number;
}
const factsKey = Symbol("requestFacts");
type WithFacts = Context & { [factsKey]?: RequestFacts };

/** Sets the correlation id and log keys; turns any error into problem+json; counts outcomes. */
function httpApi(route: RouteDefinition): MiddlewareObj<Event, Result, Error, WithFacts> {
  const finish = (status: number, response: Result, correlationId: string): Result => {
    metrics.addMetric(`Http${Math.floor(status / 100)}xx`, MetricUnit.Count, 1);
    return { ...response, headers: { ...response.headers, [CORRELATION_HEADER]: correlationId } };
  };
  return {
    before: (request) => {
      const correlationId = correlationIdOf(request.event);
      logger.setCorrelationId(correlationId);
      logger.appendKeys({ route: route.id, method: route.method });
      metrics.addDimension("route", route.id);
      request.context[factsKey] = {
        correlationId,
        instance: request.event.rawPath,
        startedAt: performance.now(),
      };
    },
    after: (request) => {
      const facts = request.context[factsKey];
      const response = request.response;
      if (response === null || facts === undefined) return;
      const status = response.statusCode ?? 200;
      logger.info("request completed", {
        status,
        duration_ms: Math.round(performance.now() - facts.startedAt),
      });
      request.response = finish(status, response, facts.correlationId);
    },
    onError: (request) => {
      const facts = request.context[factsKey] ?? {
        correlationId: correlationIdOf(request.event),
        instance: request.event.rawPath,
        startedAt: performance.now(),
      };
      const duration_ms = Math.round(performance.now() - facts.startedAt);
      const mapped = toProblem(request.error, facts);
      if (mapped.serverFault) {
        logger.error({
          message: "request failed",
          status: mapped.problem.status,
          code: mapped.problem.code,
          duration_ms,
          error: request.error,
        });
      } else {
        logger.info("request refused", {
          status: mapped.problem.status,
          code: mapped.problem.code,
          duration_ms,
        });
      }
      request.response = finish(mapped.problem.status, problemResponse(mapped), facts.correlationId);
    },
  };
}

function isJsonContentType(value: string | undefined): boolean {
  if (value === undefined) return true; // tolerate a missing header on a JSON body
  const type = value.split(";")[0]?.trim().toLowerCase() ?? "";
  return type === "application/json" || type.endsWith("+json");
}

/** The request body as JSON: `{}` when there is none (so a bodiless command validates as an empty object). */
function parseJsonBody(event: Event): unknown {
  if (event.body === undefined || event.body.length === 0) return {};
  if (!isJsonContentType(event.headers["content-type"])) throw problems.unsupportedMediaType();
  const text = event.isBase64Encoded ? Buffer.from(event.body, "base64").toString("utf8") : event.body;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw problems.malformedJson();
  }
}

function validate<S extends z.ZodMiniType | undefined>(
  schema: S,
  input: unknown,
  location: "body" | "path" | "query",
  errors: FieldError[],
): Out<S> {
  if (schema === undefined) return undefined as Out<S>;
  const result = schema.safeParse(input);
  if (result.success) return result.data as Out<S>;
  errors.push(...fieldErrors(result.error, location));
  return undefined as Out<S>;
}

/** The stored form of a response: plain JSON (no undefined anywhere, which DynamoDB would refuse). */
interface StoredResult {
  readonly status: number;
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
}

function toStored(result: ApiResult): StoredResult {
  return JSON.parse(JSON.stringify(result)) as StoredResult;
}

async function runIdempotently(
  persistence: BasePersistenceLayer,
  ttlSeconds: number,
  context: Context,
  payload: { key: readonly string[]; request: unknown },
  run: () => Promise<ApiResult>,
): Promise<ApiResult> {
  let fresh: StoredResult | undefined;
  let thrown: { error: unknown } | undefined;
  const config = new IdempotencyConfig({
    eventKeyJmesPath: "key",
    payloadValidationJmesPath: "request",
    throwOnNoIdempotencyKey: true,
    expiresAfterSeconds: ttlSeconds,
    lambdaContext: context,
  });
  const once = makeIdempotent(
    async (_payload: typeof payload): Promise<StoredResult> => {
      try {
        fresh = toStored(await run());
      } catch (error) {
        thrown = { error };
        throw error;
      }
      return fresh;
    },
    // A fixed prefix: the route and tenant are inside the hashed key, so one persistence layer per
    // tenant serves every route without per-request reconfiguration (safe under concurrency).
    { persistenceStore: persistence, config, keyPrefix: "api" },
  );
  try {
    const result = await once(payload);
    if (fresh !== undefined) return fresh;
    metrics.addMetric("IdempotentReplay", MetricUnit.Count, 1);
    const replay = result;
    return { ...replay, headers: { ...replay.headers, [REPLAYED_HEADER]: "true" } };
  } catch (error) {
    // The handler's own error wins over a failure to tidy up the idempotency record.
    if (thrown !== undefined) throw thrown.error;
    if (fresh !== undefined) {
      // The command succeeded but its response could not be remembered: answer anyway. A retry
      // with the same key waits for the in-progress record to lapse, then is decided afresh
      // against the new state (the version guard stops a lost update).
      logger.warn("response not saved for the Idempotency-Key", { error: (error as Error).name });
      return fresh;
    }
    throw error;
  }
}

/** Builds the Lambda handler for a route. `deps` defaults to the production wiring, built on first use. */
export function createHandler<
  B extends z.ZodMiniType | undefined,
  P extends z.ZodMiniType | undefined,
  Q extends z.ZodMiniType | undefined,
>(spec: RouteSpec<B, P, Q>, deps?: ApiDependencies | (() => ApiDependencies)) {
  const route = spec.route;
  const idempotent = route.idempotent ?? route.method !== "GET";
  let resolved: ApiDependencies | undefined = typeof deps === "object" ? deps : undefined;
  const dependencies = (): ApiDependencies => {
    resolved ??= typeof deps === "function" ? deps() : (spec.dependencies ?? productionDependencies)();
    return resolved;
  };

  const core = async (event: Event, context: WithFacts): Promise<Result> => {
    const principal = principalFrom(event, route.scope);
    logger.appendKeys({
      tenant_id: principal.tenantId,
      actor_role: principal.actor.role,
      actor_id: principal.actor.id,
    });
    if (principal.clientId !== undefined) logger.appendKeys({ client_id: principal.clientId });
    assertMayCall(route, principal.actor.role);

    const errors: FieldError[] = [];
    // `spec.x` is optional in the spec's type; its generic says whether it is there.
    const path = validate<P>(spec.path as P, event.pathParameters ?? {}, "path", errors);
    const query = validate<Q>(spec.query as Q, event.queryStringParameters ?? {}, "query", errors);
    const rawBody = spec.body === undefined ? undefined : parseJsonBody(event);
    const body = validate<B>(spec.body as B, rawBody, "body", errors);
    const keyHeader = idempotent ? event.headers[IDEMPOTENCY_HEADER] : undefined;
    const key = keyHeader === undefined ? undefined : idempotencyKeySchema.safeParse(keyHeader);
    if (key?.success === false) {
      errors.push(...key.error.issues.map((i) => ({ header: IDEMPOTENCY_HEADER, detail: i.message })));
    }
    if (errors.length > 0) throw problems.validation(errors);
    if (route.ifMatch === "tenant" && event.headers[IF_MATCH_HEADER] === undefined) {
      throw problems.preconditionRequired();
    }

    const ids = event.pathParameters ?? {};
    if (ids.challengeId !== undefined) logger.appendKeys({ challenge_id: ids.challengeId });

    const d = dependencies();
    const request: ApiRequest<Out<B>, Out<P>, Out<Q>> = {
      body,
      path,
      query,
      principal,
      route,
      correlationId: context[factsKey]?.correlationId ?? correlationIdOf(event),
      event,
    };
    const run = () => spec.handle(request, d);
    const result =
      key?.success === true
        ? await runIdempotently(
            d.idempotency(principal.tenantId),
            d.idempotencyTtlSeconds,
            context,
            {
              key: [principal.tenantId, route.id, key.data],
              request: {
                actor: principal.actor.id,
                path: event.pathParameters ?? {},
                query: query ?? null,
                body: rawBody ?? null,
              },
            },
            run,
          )
        : await run();

    if (result.text !== undefined) {
      return {
        statusCode: result.status,
        headers: {
          "content-type": "text/plain; charset=utf-8",
          "cache-control": "no-store",
          ...result.headers,
        },
        body: result.text,
      };
    }
    return {
      statusCode: result.status,
      headers: {
        ...(result.body === undefined ? {} : { "content-type": "application/json" }),
        "cache-control": "no-store",
        ...result.headers,
      },
      ...(result.body === undefined ? {} : { body: JSON.stringify(result.body) }),
    };
  };

  return middy<Event, Result, Error, WithFacts>()
    .use(httpHeaderNormalizer())
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logMetrics(metrics, { captureColdStartMetric: true }))
    .use(httpApi(route))
    .handler(core);
}
