import * as z from "zod/mini";
import { CLAIMS } from "../functions/api/http/claims.js";
import { CORRELATION_HEADER } from "../functions/api/http/correlation.js";
import {
  type AnyRouteSpec,
  IDEMPOTENCY_HEADER,
  IF_MATCH_HEADER,
  REPLAYED_HEADER,
  type TextMedia,
} from "../functions/api/http/middleware.js";
import { problemSchema } from "../functions/api/http/problem-schema.js";
import { PROBLEM_CONTENT_TYPE } from "../functions/api/http/problem-type.js";
import { routes } from "../functions/api/routes.js";

/**
 * The OpenAPI 3.1 document, built from the route table (routes.ts: paths, scopes, roles, versions,
 * idempotency) and the very zod schemas each handler's `spec` validates with (`z.toJSONSchema`), so
 * the document cannot drift from the code. bin/openapi.ts loads every handler's spec and writes the
 * document to docs/openapi.json, which the deployed GET /v1/openapi.json serves as it is
 * (functions/api/openapi.ts); a test fails when the committed file differs from what this builds.
 * Build-time only: no handler imports this, so no handler bundles every route's schemas.
 */

type Json = Record<string, unknown>;

export interface OpenApiDocument {
  readonly openapi: "3.1.0";
  readonly info: Json;
  readonly servers: readonly Json[];
  readonly security: readonly Json[];
  readonly paths: Record<string, Record<string, Json>>;
  readonly components: {
    readonly schemas: Record<string, Json>;
    readonly responses: Record<string, Json>;
    readonly parameters: Record<string, Json>;
    readonly headers: Record<string, Json>;
    readonly securitySchemes: Record<string, Json>;
  };
}

const SCHEMA_REF = "#/components/schemas/";

function pascal(id: string): string {
  return id
    .split(/[^A-Za-z0-9]+/)
    .filter((part) => part.length > 0)
    .map((part) => (part[0]?.toUpperCase() ?? "") + part.slice(1))
    .join("");
}

function camel(id: string): string {
  const p = pascal(id);
  return (p[0]?.toLowerCase() ?? "") + p.slice(1);
}

/** Rewrites `#/$defs/X` references to components. */
function rewriteRefs(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(rewriteRefs);
  if (value !== null && typeof value === "object") {
    const out: Json = {};
    for (const [key, inner] of Object.entries(value)) {
      out[key] =
        key === "$ref" && typeof inner === "string" && inner.startsWith("#/$defs/")
          ? SCHEMA_REF + inner.slice("#/$defs/".length)
          : rewriteRefs(inner);
    }
    return out;
  }
  return value;
}

class SchemaSet {
  readonly schemas: Record<string, Json> = {};

  /** Converts a zod schema, hoisting the named sub-schemas (`.meta({ id })`) into components. */
  convert(schema: z.ZodMiniType, io: "input" | "output"): Json {
    const json = z.toJSONSchema(schema, { io, unrepresentable: "any", target: "draft-2020-12" }) as Json;
    const { $schema: _ignored, $defs, ...rest } = json;
    for (const [id, def] of Object.entries(($defs ?? {}) as Record<string, Json>)) this.add(id, def);
    return rewriteRefs(rest) as Json;
  }

  /** Converts and names a schema; returns a reference to it. */
  named(name: string, schema: z.ZodMiniType, io: "input" | "output"): Json {
    const json = this.convert(schema, io);
    // A schema that is itself named comes back as a bare reference to its hoisted definition.
    if (typeof json.$ref === "string" && Object.keys(json).length === 1) return json;
    this.add(name, json);
    return { $ref: SCHEMA_REF + name };
  }

  private add(name: string, json: Json): void {
    const rewritten = rewriteRefs(json) as Json;
    const existing = this.schemas[name];
    if (existing !== undefined && JSON.stringify(existing) !== JSON.stringify(rewritten)) {
      throw new Error(`two different schemas are both called ${name} in the OpenAPI document`);
    }
    this.schemas[name] = rewritten;
  }
}

function parametersOf(
  schemas: SchemaSet,
  schema: z.ZodMiniType | undefined,
  where: "path" | "query",
): Json[] {
  if (schema === undefined) return [];
  const json = schemas.convert(schema, "input");
  const properties = (json.properties ?? {}) as Record<string, Json>;
  const required = new Set((json.required ?? []) as string[]);
  return Object.entries(properties).map(([name, property]) => {
    const { description, ...rest } = property;
    return {
      name,
      in: where,
      required: where === "path" || required.has(name),
      ...(typeof description === "string" ? { description } : {}),
      schema: rest,
    };
  });
}

const problemResponse = (description: string): Json => ({
  description,
  headers: { [CORRELATION_HEADER]: { $ref: "#/components/headers/CorrelationId" } },
  content: { [PROBLEM_CONTENT_TYPE]: { schema: { $ref: SCHEMA_REF + "Problem" } } },
});

const PROBLEM_RESPONSES: Record<string, Json> = {
  BadRequest: problemResponse("The request is malformed or fails validation; `errors` points at each field"),
  Unauthorized: problemResponse("No valid bearer token"),
  Forbidden: problemResponse(
    "The token lacks the scope, tenant or role this route needs, or the caller may not act",
  ),
  NotFound: problemResponse("No such resource in the caller's tenant"),
  Conflict: problemResponse(
    "The challenge's state does not allow this now (WRONG_STATUS); the stage named by `stageId` is no longer " +
      "open (STAGE_MOVED: someone else moved the challenge, the detail says where it is now); it changed " +
      "concurrently even after the service's retries; the Idempotency-Key is in use; or (ROLE_ALREADY_HELD, " +
      "a staff write) another active person holds that role for that team, partner agency or authority: " +
      "`errors` points at each such role and names its holder's person id",
  ),
  PreconditionFailed: problemResponse(
    "VERSION_MISMATCH: the challenge is no longer at the version If-Match named (it changed since it was read); " +
      "the detail says the current version. Reload, check what changed, and decide again",
  ),
  TenantPreconditionFailed: problemResponse(
    "TENANT_VERSION_MISMATCH: the configuration and directory are no longer at the version If-Match named " +
      "(someone changed them since they were read); the detail says the current version and nothing was " +
      "stored. Read again (GET /v1/config or GET /v1/directory), check what changed, and decide again",
  ),
  PreconditionRequired: problemResponse(
    "PRECONDITION_REQUIRED: a configuration or directory write must say the version it was read at " +
      "(If-Match: the ETag of GET /v1/config or GET /v1/directory); nothing was stored",
  ),
  UnsupportedMediaType: problemResponse("The body is not application/json"),
  UnprocessableContent: problemResponse(
    "The protocol refuses the request (e.g. bypass not allowed), or the Idempotency-Key was used for another request",
  ),
  ServiceUnavailable: problemResponse(
    "Busy or briefly unavailable; retry after Retry-After, with the same Idempotency-Key",
  ),
  InternalError: problemResponse("Unexpected error; nothing internal is disclosed"),
};

function textContent(text: Readonly<Record<string, TextMedia>> | undefined): Record<string, Json> {
  return Object.fromEntries(
    Object.entries(text ?? {}).map(([type, media]) => [
      type,
      { schema: { type: "string", description: media.description }, example: media.example },
    ]),
  );
}

/** The If-Match parameter and ETag header components for a version (routes.ts `VersionOf`). */
const IF_MATCH_PARAMETER = { challenge: "IfMatch", tenant: "TenantIfMatch" } as const;
const ETAG_HEADER = { challenge: "ETag", tenant: "TenantETag" } as const;
const PRECONDITION_FAILED = { challenge: "PreconditionFailed", tenant: "TenantPreconditionFailed" } as const;

/** The document for `specs`: every route of routes.ts's handler spec (bin/openapi.ts loads them). */
export function buildOpenApiDocument(routeSpecs: readonly AnyRouteSpec[]): OpenApiDocument {
  const schemas = new SchemaSet();
  schemas.named("Problem", problemSchema, "output");
  const specs = new Map(routeSpecs.map((s) => [s.routeId, s]));
  const paths: Record<string, Record<string, Json>> = {};

  for (const route of routes) {
    const routeSpec = specs.get(route.id);
    if (routeSpec === undefined) throw new Error(`route ${route.id} has no handler spec`);
    const idempotent = route.idempotent ?? route.method !== "GET";
    const textMedia = textContent(routeSpec.response.text);
    const parameters: Json[] = [
      ...parametersOf(schemas, routeSpec.path, "path"),
      ...parametersOf(schemas, routeSpec.query, "query"),
      { $ref: "#/components/parameters/CorrelationId" },
      ...(idempotent ? [{ $ref: "#/components/parameters/IdempotencyKey" }] : []),
      ...(route.ifMatch === undefined
        ? []
        : [{ $ref: `#/components/parameters/${IF_MATCH_PARAMETER[route.ifMatch]}` }]),
    ];
    const ok = routeSpec.response;
    // Routes that name a resource (path ids), and the tenant's configuration before it is set.
    const mayBeMissing = routeSpec.path !== undefined || route.id === "get-config";
    const responses: Record<string, Json> = {
      [String(ok.status)]: {
        description: ok.description,
        headers: {
          [CORRELATION_HEADER]: { $ref: "#/components/headers/CorrelationId" },
          ...(idempotent ? { [REPLAYED_HEADER]: { $ref: "#/components/headers/IdempotentReplayed" } } : {}),
          ...(route.etag === undefined
            ? {}
            : { etag: { $ref: `#/components/headers/${ETAG_HEADER[route.etag]}` } }),
          ...(ok.status === 201
            ? { location: { description: "The new resource", schema: { type: "string" } } }
            : {}),
        },
        ...(ok.schema === undefined
          ? // A page only (no JSON): its media types alone.
            Object.keys(textMedia).length === 0
            ? {}
            : { content: textMedia }
          : {
              content: {
                "application/json": {
                  schema: schemas.named(`${pascal(route.id)}Response`, ok.schema, "output"),
                },
                ...textMedia,
              },
            }),
      },
      "400": { $ref: "#/components/responses/BadRequest" },
      "401": { $ref: "#/components/responses/Unauthorized" },
      "403": { $ref: "#/components/responses/Forbidden" },
      ...(mayBeMissing ? { "404": { $ref: "#/components/responses/NotFound" } } : {}),
      ...(route.method === "GET" ? {} : { "409": { $ref: "#/components/responses/Conflict" } }),
      ...(route.ifMatch === undefined
        ? {}
        : { "412": { $ref: `#/components/responses/${PRECONDITION_FAILED[route.ifMatch]}` } }),
      ...(routeSpec.body === undefined
        ? {}
        : { "415": { $ref: "#/components/responses/UnsupportedMediaType" } }),
      ...(route.method === "GET" ? {} : { "422": { $ref: "#/components/responses/UnprocessableContent" } }),
      ...(route.ifMatch === "tenant"
        ? { "428": { $ref: "#/components/responses/PreconditionRequired" } }
        : {}),
      "500": { $ref: "#/components/responses/InternalError" },
      "503": { $ref: "#/components/responses/ServiceUnavailable" },
    };
    const operation: Json = {
      operationId: camel(route.id),
      summary: route.summary,
      tags: [(route.path.split("/")[2] ?? "api").replace(/\.json$/, "")],
      // A signed-link route takes no bearer token: the link's token is the credential.
      security: route.signedLink === true ? [] : [{ bearerAuth: [route.scope] }],
      "x-required-scope": route.scope,
      "x-roles": route.roles,
      parameters,
      ...(routeSpec.body === undefined
        ? {}
        : {
            requestBody: {
              required: true,
              content: {
                "application/json": {
                  schema: schemas.named(`${pascal(route.id)}Request`, routeSpec.body, "input"),
                },
              },
            },
          }),
      responses,
    };
    const byMethod = (paths[route.path] ??= {});
    byMethod[route.method.toLowerCase()] = operation;
  }

  return {
    openapi: "3.1.0",
    info: {
      title: "Challenge & Resolution Service",
      version: "1.0.0",
      description:
        "Runs English local authorities' IRO and Child Protection Chair challenge and resolution protocols. " +
        "Errors are RFC 9457 problem details. POST and PUT accept an Idempotency-Key header: a retry with the " +
        "same key returns the first response and changes nothing. Commands act once: every read of a challenge " +
        "carries its version as an ETag; a command may send it back as If-Match (412 VERSION_MISMATCH if the " +
        "challenge changed since) and names the open stage it acts on as `stageId` (required to escalate or " +
        "bypass; 409 STAGE_MOVED once that stage is no longer open), so a double click or a retry never " +
        "escalates twice. The tenant's configuration and directory carry one version between them, the ETag " +
        "of their reads: their writes must send it back as If-Match (428 without it, 412 when it moved on). " +
        "Several responses to one stage are allowed by design (a recipient may add to their " +
        "answer while the stage is open). A 503 (retryable: true, Retry-After) means nothing was changed: " +
        "retry after the wait, with the same Idempotency-Key.",
      license: {
        name: "Proprietary: for the deploying local authority's use",
        url: "https://challenge-resolution.example/licence",
      },
    },
    servers: [
      {
        url: "https://{apiId}.execute-api.{region}.amazonaws.com",
        description: "One deployment per local authority (the stack's API Url output)",
        variables: {
          apiId: { default: "abcde12345", description: "The HTTP API's id" },
          region: { default: "eu-west-2", description: "The AWS region the authority deploys to" },
        },
      },
      { url: "http://127.0.0.1:4000", description: "The local runtime (npm start)" },
    ],
    security: [{ bearerAuth: [] }],
    paths,
    components: {
      schemas: Object.fromEntries(Object.entries(schemas.schemas).sort(([a], [b]) => a.localeCompare(b))),
      responses: PROBLEM_RESPONSES,
      parameters: {
        CorrelationId: {
          name: CORRELATION_HEADER,
          in: "header",
          required: false,
          description: "Echoed in the response and logged; API Gateway's request id when absent",
          schema: { type: "string", maxLength: 128, pattern: "^[A-Za-z0-9._:=-]{1,128}$" },
        },
        IdempotencyKey: {
          name: IDEMPOTENCY_HEADER,
          in: "header",
          required: false,
          description:
            "A unique key (e.g. a UUID) per intended change. Retrying with the same key within 24 hours returns " +
            "the first successful response and does nothing twice.",
          schema: { type: "string", minLength: 8, maxLength: 255 },
        },
        IfMatch: {
          name: IF_MATCH_HEADER,
          in: "header",
          required: false,
          description:
            'The ETag of the challenge as last read (its version, e.g. `"7"`). The command acts only if the ' +
            "challenge is still at that version; otherwise 412 VERSION_MISMATCH says the current one. " +
            "Omit it (or send `*`) to act on the challenge as it is, subject to `stageId`.",
          schema: { type: "string", maxLength: 40 },
        },
        TenantIfMatch: {
          name: IF_MATCH_HEADER,
          in: "header",
          required: true,
          description:
            "The ETag of GET /v1/config or GET /v1/directory (or of the last write's response): the version of " +
            'the configuration and directory together, e.g. `"12"`. The write is stored only if nothing in either ' +
            "changed since; otherwise 412 TENANT_VERSION_MISMATCH. Required (428 without it). `*` writes over " +
            "whatever is current: for set-up scripts that own the whole configuration.",
          schema: { type: "string", maxLength: 40 },
        },
      },
      headers: {
        CorrelationId: { description: "The request's correlation id", schema: { type: "string" } },
        ETag: {
          description:
            'The challenge\'s version as a strong entity tag (`"7"`): send it as If-Match on a command',
          schema: { type: "string" },
        },
        TenantETag: {
          description:
            'The version of the tenant\'s configuration and directory together, as a strong entity tag (`"12"`): ' +
            "send it as If-Match on PUT /v1/config or PUT /v1/directory/{personId}",
          schema: { type: "string" },
        },
        IdempotentReplayed: {
          description:
            "`true` when this is the stored response of an earlier request with the same Idempotency-Key",
          schema: { type: "string", enum: ["true"] },
        },
      },
      securitySchemes: {
        bearerAuth: {
          type: "http",
          scheme: "bearer",
          bearerFormat: "JWT",
          description:
            `An access token from the authority's identity provider, verified by API Gateway. Claims: ` +
            `\`${CLAIMS.tenant}\` (the tenant), \`${CLAIMS.role}\` (IRO, CPC, manager, iro_service_manager, ` +
            `case_record_system, auditor), \`${CLAIMS.subject}\` (the person or client), \`${CLAIMS.scope}\` ` +
            `(space-separated: challenges/read, challenges/write, config/read, config/write, reports/read).`,
        },
      },
    },
  };
}
