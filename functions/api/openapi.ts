import * as z from "zod/mini";
import { spec as acknowledge } from "./acknowledge.js";
import { spec as ackLink } from "./ack-link.js";
import { spec as ackLinkPage } from "./ack-link-page.js";
import { spec as agreeActionPlan } from "./agree-action-plan.js";
import { spec as approveReferral } from "./approve-referral.js";
import { spec as benchmarkParticipation } from "./benchmark-participation.js";
import { spec as bypass } from "./bypass.js";
import { spec as childCaseNotes } from "./child-case-notes.js";
import { spec as childChallenges } from "./child-challenges.js";
import { spec as close } from "./close.js";
import { spec as completeAction } from "./complete-action.js";
import { spec as decideAfterLadder } from "./decide-after-ladder.js";
import { spec as escalate } from "./escalate.js";
import { spec as getChallenge } from "./get-challenge.js";
import { spec as getConfig } from "./get-config.js";
import { spec as getDirectory } from "./get-directory.js";
import { spec as goodPractice } from "./good-practice.js";
import { CLAIMS } from "./http/auth.js";
import {
  type AnyRouteSpec,
  CORRELATION_HEADER,
  IDEMPOTENCY_HEADER,
  REPLAYED_HEADER,
  createHandler,
  defineRoute,
} from "./http/middleware.js";
import { routePermissions } from "./http/permissions.js";
import { IF_MATCH_HEADER } from "./http/command-route.js";
import { PROBLEM_CONTENT_TYPE, problemSchema } from "./http/problem.js";
import { spec as markResolved } from "./mark-resolved.js";
import { spec as missAction } from "./miss-action.js";
import { spec as myTray } from "./my-tray.js";
import { spec as noteDifference } from "./note-difference.js";
import { spec as overdueTray } from "./overdue-tray.js";
import { spec as putConfig } from "./put-config.js";
import { spec as putStaffMember } from "./put-staff-member.js";
import { spec as recordAbsence } from "./record-absence.js";
import { spec as endAbsence } from "./end-absence.js";
import { spec as raiseChallenge } from "./raise-challenge.js";
import { spec as recordMeeting } from "./record-meeting.js";
import { spec as reportsOverdue } from "./reports-overdue.js";
import { BENCHMARK_CSV_HEADER } from "../reports/benchmark-render.js";
import { spec as reportsBenchmark } from "./reports-benchmark.js";
import { spec as reportsLive } from "./reports-live.js";
import { spec as reportsThemes } from "./reports-themes.js";
import { spec as reopen } from "./reopen.js";
import { spec as requestReferral } from "./request-referral.js";
import { spec as respond } from "./respond.js";
import { spec as shortenDeadline } from "./shorten-deadline.js";
import { routes } from "./routes.js";
import { spec as teamChallenges } from "./team-challenges.js";
import { spec as withdraw } from "./withdraw.js";
import { spec as legalHold } from "./legal-hold.js";

/**
 * The OpenAPI 3.1 document, built from routes.ts and the very zod schemas the handlers validate
 * with (`z.toJSONSchema`), so the document cannot drift from the code. `bin/openapi.ts` writes it
 * to docs/openapi.json; a test fails when the committed file differs from what this builds.
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
      "concurrently even after the service's retries; or the Idempotency-Key is in use",
  ),
  PreconditionFailed: problemResponse(
    "VERSION_MISMATCH: the challenge is no longer at the version If-Match named (it changed since it was read); " +
      "the detail says the current version. Reload, check what changed, and decide again",
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

/**
 * Success bodies a route sends besides JSON, chosen by a query parameter: the themes report's CSV
 * attachment and printable HTML page (functions/api/reports-themes.ts), and the benchmark's.
 */
const OTHER_MEDIA_TYPES: Readonly<Record<string, Record<string, Json>>> = {
  "ack-link-page": {
    "text/html": {
      schema: { type: "string", description: "The confirmation page, with its Acknowledge button" },
      example: '<!doctype html><html lang="en-GB">...</html>',
    },
  },
  "ack-link": {
    "text/html": {
      schema: { type: "string", description: "The page saying the acknowledgement is recorded" },
      example: '<!doctype html><html lang="en-GB">...</html>',
    },
  },
  "reports-live": {
    "text/html": {
      schema: { type: "string", description: "The live page: one printable, self-contained HTML page" },
      example: '<!doctype html><html lang="en-GB">...</html>',
    },
  },
  "reports-themes": {
    "text/csv": {
      schema: {
        type: "string",
        description:
          "format=csv, sent as an attachment: a header line `section,track,category,label,value`, then one row per figure",
      },
      example: "section,track,category,label,value\nraised,LAC,raiser,IRO,12\n",
    },
    "text/html": {
      schema: { type: "string", description: "format=html: one printable page with every figure" },
      example: '<!doctype html><html lang="en">...</html>',
    },
  },
  "reports-benchmark": {
    "text/csv": {
      schema: {
        type: "string",
        description: `format=csv, sent as an attachment: a header line \`${BENCHMARK_CSV_HEADER.join(",")}\`, then one row per figure`,
      },
      example: `${BENCHMARK_CSV_HEADER.join(",")}\nmedian_working_days_to_resolution,Median working days from raising to resolution,9,7,6,8,11,median_to_upper_quartile,no\n`,
    },
    "text/html": {
      schema: {
        type: "string",
        description: "format=html: one printable page, this authority beside the others",
      },
      example: '<!doctype html><html lang="en">...</html>',
    },
  },
};

/** Every route's spec (the document follows routes.ts's order, not this list's). */
export function routeSpecs(): readonly AnyRouteSpec[] {
  return [
    raiseChallenge,
    getChallenge,
    acknowledge,
    ackLinkPage,
    ackLink,
    respond,
    recordMeeting,
    agreeActionPlan,
    markResolved,
    escalate,
    shortenDeadline,
    bypass,
    requestReferral,
    approveReferral,
    completeAction,
    missAction,
    reopen,
    noteDifference,
    decideAfterLadder,
    withdraw,
    legalHold,
    close,
    overdueTray,
    myTray,
    childChallenges,
    childCaseNotes,
    teamChallenges,
    reportsThemes,
    reportsOverdue,
    reportsBenchmark,
    benchmarkParticipation,
    reportsLive,
    getConfig,
    putConfig,
    getDirectory,
    putStaffMember,
    recordAbsence,
    endAbsence,
    goodPractice,
    spec,
  ];
}

export function buildOpenApiDocument(): OpenApiDocument {
  const schemas = new SchemaSet();
  schemas.named("Problem", problemSchema, "output");
  const specs = new Map(routeSpecs().map((s) => [s.routeId, s]));
  const paths: Record<string, Record<string, Json>> = {};

  for (const route of routes) {
    const routeSpec = specs.get(route.id);
    if (routeSpec === undefined) throw new Error(`route ${route.id} has no handler spec`);
    const idempotent = routeSpec.idempotent ?? route.method !== "GET";
    const parameters: Json[] = [
      ...parametersOf(schemas, routeSpec.path, "path"),
      ...parametersOf(schemas, routeSpec.query, "query"),
      { $ref: "#/components/parameters/CorrelationId" },
      ...(idempotent ? [{ $ref: "#/components/parameters/IdempotencyKey" }] : []),
      ...(routeSpec.ifMatch === true ? [{ $ref: "#/components/parameters/IfMatch" }] : []),
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
          ...(routeSpec.etag === true ? { etag: { $ref: "#/components/headers/ETag" } } : {}),
          ...(ok.status === 201
            ? { location: { description: "The new resource", schema: { type: "string" } } }
            : {}),
        },
        ...(ok.schema === undefined
          ? // A page only (no JSON): its media types alone.
            OTHER_MEDIA_TYPES[route.id] === undefined
            ? {}
            : { content: OTHER_MEDIA_TYPES[route.id] }
          : {
              content: {
                "application/json": {
                  schema: schemas.named(`${pascal(route.id)}Response`, ok.schema, "output"),
                },
                ...OTHER_MEDIA_TYPES[route.id],
              },
            }),
      },
      "400": { $ref: "#/components/responses/BadRequest" },
      "401": { $ref: "#/components/responses/Unauthorized" },
      "403": { $ref: "#/components/responses/Forbidden" },
      ...(mayBeMissing ? { "404": { $ref: "#/components/responses/NotFound" } } : {}),
      ...(route.method === "GET" ? {} : { "409": { $ref: "#/components/responses/Conflict" } }),
      ...(routeSpec.ifMatch === true ? { "412": { $ref: "#/components/responses/PreconditionFailed" } } : {}),
      ...(routeSpec.body === undefined
        ? {}
        : { "415": { $ref: "#/components/responses/UnsupportedMediaType" } }),
      ...(route.method === "GET" ? {} : { "422": { $ref: "#/components/responses/UnprocessableContent" } }),
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
      "x-roles": routePermissions[route.id] ?? [],
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
        "escalates twice. Several responses to one stage are allowed by design (a recipient may add to their " +
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
      },
      headers: {
        CorrelationId: { description: "The request's correlation id", schema: { type: "string" } },
        ETag: {
          description:
            'The challenge\'s version as a strong entity tag (`"7"`): send it as If-Match on a command',
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

let built: OpenApiDocument | undefined;

/** GET /v1/openapi.json: this API's OpenAPI 3.1 document. */
export const spec = defineRoute({
  routeId: "openapi",
  response: { status: 200, description: "The OpenAPI 3.1 document" },
  handle: () => {
    built ??= buildOpenApiDocument();
    return Promise.resolve({ status: 200, body: built, headers: { "cache-control": "public, max-age=300" } });
  },
});

export const handler = createHandler(spec);
