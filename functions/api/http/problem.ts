import type { APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import * as z from "zod/mini";
// Named: a value read through the `z.core` namespace would bundle all of zod's core.
import { $ZodError } from "zod/v4/core";
import { DomainError, type DomainErrorCode } from "../../domain/challenge/errors.js";
import { ConcurrencyConflictError } from "../../store/ports.js";
import { TenantNotConfiguredError } from "../../app/execute-command.js";
import { PROBLEM_BASE, PROBLEM_CONTENT_TYPE } from "./problem-type.js";

/**
 * RFC 9457 problem details (`application/problem+json`) for every error the API returns.
 *
 * `type` is `https://challenge-resolution.example/problems/<code>`; `code` repeats the stable
 * machine code (for domain refusals, the DomainErrorCode) so clients need not parse URIs. Every
 * code is UPPER_SNAKE, the domain's and the API's own alike (`ApiErrorCode`), so one switch on
 * `code` covers them all.
 * Validation errors list each failing field: `errors: [{ pointer: "/form/child/dateOfBirth", detail }]`
 * (a JSON Pointer into the request body), or `parameter` / `header` for path, query and header values.
 *
 * ## Status codes (the one table)
 *
 * | status | when                                                                                              | code(s)                                                      | retry?                 |
 * |--------|---------------------------------------------------------------------------------------------------|--------------------------------------------------------------|------------------------|
 * | 400    | body is not JSON; body, path or query fails its schema; bad Idempotency-Key header; bad cursor   | MALFORMED_JSON, VALIDATION_ERROR                             | no (fix the request)   |
 * | 401    | no verified token claims reached the function (the authorizer should make this impossible)       | UNAUTHENTICATED                                              | no                     |
 * | 403    | token lacks the route's scope, has no valid tenant/role, or the role may not call the route       | FORBIDDEN                                                    | no                     |
 * | 403    | domain: the caller may not do this / is not the current stage's recipient                         | NOT_PERMITTED, NOT_RECIPIENT                                 | no                     |
 * | 403    | domain: an approval from someone not holding (or covering) the approving role, or the subject     | NOT_APPROVER                                                 | no                     |
 * | 404    | no such challenge (or action) in the caller's tenant; another tenant's ids are simply not found   | NOT_FOUND, UNKNOWN_ACTION                                    | no                     |
 * | 409    | the challenge's state does not allow the action now                                               | WRONG_STATUS, ALREADY_EXISTS, DEADLINE_NOT_PASSED            | after reloading        |
 * | 409    | the stage the command named (`stageId`) is no longer open: someone moved the challenge           | STAGE_MOVED (detail says where it is now)                    | no: reload, decide     |
 * | 409    | a concurrent change won the race even after the service's own retries                            | CONCURRENT_MODIFICATION                                      | yes: reload and retry  |
 * | 409    | a request with the same Idempotency-Key is still being processed                                 | IDEMPOTENCY_KEY_IN_USE (with Retry-After)                    | yes, same key          |
 * | 409    | the tenant has not chosen its protocol yet                                                        | TENANT_NOT_CONFIGURED                                        | after PUT /v1/config   |
 * | 409    | a staff write gives a role another active person holds for the same team (agency, authority)     | ROLE_ALREADY_HELD (errors point at each role, name the holder) | after changing holder |
 * | 412    | the challenge's version is not the one If-Match named: it changed since it was read              | VERSION_MISMATCH (detail says the current version)           | no: reload, decide     |
 * | 412    | the configuration and directory are not at the version If-Match named                            | TENANT_VERSION_MISMATCH (detail says the current version)    | no: reload, decide     |
 * | 428    | a configuration or directory write without If-Match                                               | PRECONDITION_REQUIRED                                        | with the read's ETag   |
 * | 415    | a body that is not `application/json`                                                             | UNSUPPORTED_MEDIA_TYPE                                       | no                     |
 * | 422    | well-formed request the protocol refuses (bypass not allowed, unknown stage/theme, no recipient) | INVALID_COMMAND, UNKNOWN_*, BYPASS_NOT_ALLOWED, REFERRAL_*, ... | no                  |
 * | 422    | an Idempotency-Key reused with a different request                                                | IDEMPOTENCY_KEY_REUSED                                       | no: use a new key      |
 * | 503    | a dependency is throttling, unreachable or timing out (throughput, refused connection, timeout)  | SERVICE_UNAVAILABLE (with Retry-After, `retryable: true`)   | yes, same key          |
 * | 500    | anything else: a generic detail, nothing internal                                                  | INTERNAL_ERROR                                               | maybe                  |
 *
 * Throttling is a 503 with `Retry-After` rather than a 500: the request was valid, nothing was
 * written (the transaction is all or nothing), and the client should try again, ideally with the
 * same Idempotency-Key.
 */

/** The API's own codes, beside the domain's (DomainErrorCode); the same UPPER_SNAKE casing. */
export type ApiErrorCode =
  | "MALFORMED_JSON"
  | "UNSUPPORTED_MEDIA_TYPE"
  | "UNAUTHENTICATED"
  | "FORBIDDEN"
  | "NOT_FOUND"
  | "VALIDATION_ERROR"
  | "CONCURRENT_MODIFICATION"
  | "TENANT_NOT_CONFIGURED"
  | "TENANT_VERSION_MISMATCH"
  | "PRECONDITION_REQUIRED"
  | "ROLE_ALREADY_HELD"
  | "IDEMPOTENCY_KEY_IN_USE"
  | "IDEMPOTENCY_KEY_REUSED"
  | "SERVICE_UNAVAILABLE"
  | "INTERNAL_ERROR";

/** Every `code` a problem may carry. */
export type ProblemCode = ApiErrorCode | DomainErrorCode;

/** The one casing of problem codes: UPPER_SNAKE. */
export const PROBLEM_CODE_PATTERN = /^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*$/;

export interface FieldError {
  /** JSON Pointer (RFC 6901) into the request body, e.g. `/form/child/dateOfBirth`; `""` for the whole body. */
  readonly pointer?: string;
  /** A path or query parameter. */
  readonly parameter?: string;
  /** A request header. */
  readonly header?: string;
  /** What rule the value broke, in plain words. */
  readonly detail: string;
}

export interface ProblemDetails {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly instance?: string;
  /** Stable machine code: a DomainErrorCode, or one of the API's own codes (the type URI's last segment). */
  readonly code: ProblemCode;
  readonly errors?: readonly FieldError[];
  /** True when the same request may succeed if simply retried later. */
  readonly retryable?: boolean;
  readonly correlationId?: string;
}

/** An error that already knows its HTTP shape. Throw it anywhere in a handler. */
export class HttpProblem extends Error {
  override readonly name = "HttpProblem";
  constructor(
    readonly status: number,
    readonly code: ApiErrorCode,
    readonly title: string,
    detail: string,
    readonly extras: {
      readonly errors?: readonly FieldError[];
      readonly retryable?: boolean;
      readonly headers?: Readonly<Record<string, string>>;
    } = {},
  ) {
    super(detail);
  }
}

export const problems = {
  malformedJson: () =>
    new HttpProblem(400, "MALFORMED_JSON", "Malformed JSON", "The request body is not valid JSON.", {
      errors: [{ pointer: "", detail: "not valid JSON" }],
    }),
  unsupportedMediaType: () =>
    new HttpProblem(
      415,
      "UNSUPPORTED_MEDIA_TYPE",
      "Unsupported media type",
      "Send the request body as application/json.",
      { errors: [{ header: "content-type", detail: "must be application/json" }] },
    ),
  unauthenticated: () =>
    new HttpProblem(401, "UNAUTHENTICATED", "Unauthenticated", "A valid bearer token is required.", {
      headers: { "www-authenticate": "Bearer" },
    }),
  forbidden: (detail: string) => new HttpProblem(403, "FORBIDDEN", "Forbidden", detail),
  preconditionRequired: () =>
    new HttpProblem(
      428,
      "PRECONDITION_REQUIRED",
      "Precondition required",
      "Send If-Match with the ETag of GET /v1/config or GET /v1/directory.",
      { errors: [{ header: "if-match", detail: "is required" }] },
    ),
  notFound: (detail: string) => new HttpProblem(404, "NOT_FOUND", "Not found", detail),
  validation: (errors: readonly FieldError[]) =>
    new HttpProblem(
      400,
      "VALIDATION_ERROR",
      "Invalid request",
      `The request has ${errors.length} invalid ${errors.length === 1 ? "value" : "values"}: ${errors
        .map((e) => `${e.pointer ?? e.parameter ?? e.header ?? ""} ${e.detail}`.trim())
        .join("; ")}.`,
      { errors },
    ),
} as const;

/**
 * DomainError code → HTTP status. A `Record` over the union: adding a code to the domain without
 * deciding its status here is a compile error.
 */
export const domainErrorStatus: Readonly<Record<DomainErrorCode, { status: number; title: string }>> = {
  NOT_FOUND: { status: 404, title: "Not found" },
  UNKNOWN_ACTION: { status: 404, title: "No such action" },
  NOT_PERMITTED: { status: 403, title: "Not permitted" },
  NOT_RECIPIENT: { status: 403, title: "Not the stage's recipient" },
  NOT_APPROVER: { status: 403, title: "Not the holder of the approving role" },
  ALREADY_EXISTS: { status: 409, title: "Already exists" },
  WRONG_STATUS: { status: 409, title: "Not possible in the challenge's current state" },
  DEADLINE_NOT_PASSED: { status: 409, title: "Deadline not passed" },
  STAGE_MOVED: { status: 409, title: "The challenge has moved on from that stage" },
  VERSION_MISMATCH: { status: 412, title: "The challenge has changed since it was read" },
  INVALID_COMMAND: { status: 422, title: "Invalid command" },
  UNKNOWN_STAGE: { status: 422, title: "Unknown stage" },
  UNKNOWN_TRACK: { status: 422, title: "Unknown track" },
  UNKNOWN_THEME: { status: 422, title: "Unknown theme" },
  BYPASS_NOT_ALLOWED: { status: 422, title: "Bypass not allowed" },
  NOT_A_BYPASS: { status: 422, title: "Not a bypass" },
  REFERRAL_NOT_AVAILABLE: { status: 422, title: "Referral not available" },
  REFERRAL_NEEDS_APPROVAL: { status: 422, title: "Referral needs approval" },
  ATTESTATION_MISSING: { status: 422, title: "Attestation missing" },
  NO_RECIPIENT: { status: 422, title: "Nobody holds the recipient role" },
};

const TRANSIENT_AWS_ERRORS = new Set([
  "ProvisionedThroughputExceededException",
  "ThrottlingException",
  "Throttling",
  "RequestLimitExceeded",
  "TooManyRequestsException",
  "InternalServerError",
  "InternalFailure",
  "ServiceUnavailable",
  "ServiceUnavailableException",
  "TimeoutError",
]);
/**
 * Node's codes for a connection that could not be made or was cut (DynamoDB unreachable, a socket
 * or request timeout): nothing reached the table, or a transaction the store retries safely.
 */
const NETWORK_ERROR_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "ESOCKETTIMEDOUT",
  "EPIPE",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ECONNABORTED",
]);
const TRANSIENT_CANCELLATION_CODES = new Set([
  "ThrottlingError",
  "ProvisionedThroughputExceeded",
  "TransactionConflict",
]);

/** Whether an error (AWS SDK v3 or wrapped by Powertools idempotency) is worth retrying as-is. */
export function isTransient(error: unknown, depth = 0): boolean {
  if (depth > 4 || typeof error !== "object" || error === null) return false;
  const e = error as {
    name?: unknown;
    $retryable?: unknown;
    code?: unknown;
    $metadata?: { httpStatusCode?: unknown };
    CancellationReasons?: readonly { Code?: unknown }[];
    cause?: unknown;
    errors?: unknown;
  };
  if (typeof e.name === "string" && TRANSIENT_AWS_ERRORS.has(e.name)) return true;
  if (typeof e.code === "string" && NETWORK_ERROR_CODES.has(e.code)) return true;
  // Node reports a refused dual-stack connection as an AggregateError of one error per address.
  if (Array.isArray(e.errors) && e.errors.some((inner) => isTransient(inner, depth + 1))) return true;
  if (e.$retryable !== undefined && e.$retryable !== null && e.$retryable !== false) return true;
  const status = e.$metadata?.httpStatusCode;
  if (typeof status === "number" && status >= 500) return true;
  if (
    e.name === "TransactionCanceledException" &&
    e.CancellationReasons?.some((r) => typeof r.Code === "string" && TRANSIENT_CANCELLATION_CODES.has(r.Code))
  ) {
    return true;
  }
  return isTransient(e.cause, depth + 1);
}

/** Turns a zod issue path into a JSON Pointer (RFC 6901: `~` → `~0`, `/` → `~1`). */
export function toPointer(path: readonly PropertyKey[]): string {
  return path.map((p) => "/" + String(p).replace(/~/g, "~0").replace(/\//g, "~1")).join("");
}

/** Field errors for a ZodError, located in the body (`pointer`) or a named parameter or header. */
export function fieldErrors(
  error: z.core.$ZodError,
  location: "body" | "path" | "query" | "header",
): readonly FieldError[] {
  return error.issues.flatMap((issue): FieldError[] => {
    const detail = describeIssue(issue);
    if (issue.code === "unrecognized_keys") {
      return issue.keys.map((key) => locate([...issue.path, key], location, "is not a recognised field"));
    }
    return [locate(issue.path, location, detail)];
  });
}

function locate(
  path: readonly PropertyKey[],
  location: "body" | "path" | "query" | "header",
  detail: string,
): FieldError {
  if (location === "body") return { pointer: toPointer(path), detail };
  const name = path.map(String).join(".");
  return location === "header" ? { header: name, detail } : { parameter: name, detail };
}

/** A plain-words rule for an issue; never echoes the rejected value (it may be personal data). */
function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === "invalid_type" && /received undefined/.test(issue.message)) return "is required";
  return issue.message;
}

export interface ProblemResponse {
  readonly problem: ProblemDetails;
  readonly headers: Readonly<Record<string, string>>;
  /** Whether this is the API's fault (log at error level) rather than the caller's. */
  readonly serverFault: boolean;
}

/**
 * Maps any thrown value to a problem. Unknown errors become a generic 500: their message, name
 * and stack are logged by the caller but never returned.
 */
export function toProblem(
  error: unknown,
  context: { instance?: string; correlationId?: string } = {},
): ProblemResponse {
  const make = (
    status: number,
    code: ProblemCode,
    title: string,
    detail: string,
    extras: HttpProblem["extras"] = {},
  ): ProblemResponse => ({
    problem: {
      type: PROBLEM_BASE + code,
      title,
      status,
      detail,
      ...(context.instance === undefined ? {} : { instance: context.instance }),
      code,
      ...(extras.errors === undefined ? {} : { errors: extras.errors }),
      ...(extras.retryable === undefined ? {} : { retryable: extras.retryable }),
      ...(context.correlationId === undefined ? {} : { correlationId: context.correlationId }),
    },
    headers: extras.headers ?? {},
    serverFault: status >= 500,
  });

  if (error instanceof HttpProblem) {
    return make(error.status, error.code, error.title, error.message, error.extras);
  }
  if (error instanceof $ZodError) {
    const p = problems.validation(fieldErrors(error, "body"));
    return make(p.status, p.code, p.title, p.message, p.extras);
  }
  if (error instanceof DomainError) {
    const { status, title } = domainErrorStatus[error.code];
    return make(status, error.code, title, error.message);
  }
  if (error instanceof ConcurrencyConflictError) {
    return make(
      409,
      "CONCURRENT_MODIFICATION",
      "Changed by someone else",
      "The challenge was changed by someone else at the same time. Reload it and try again.",
      { retryable: true },
    );
  }
  const name = error instanceof Error ? error.name : "";
  if (error instanceof TenantNotConfiguredError) {
    return make(409, "TENANT_NOT_CONFIGURED", "Not set up yet", error.message);
  }
  if (name === "InvalidQueryError" && error instanceof Error) {
    // The store's refusal of a tray query (bad cursor, limit or id): the caller's mistake.
    const p = problems.validation([{ parameter: "query", detail: error.message }]);
    return make(p.status, p.code, p.title, p.message, p.extras);
  }
  if (name === "IdempotencyAlreadyInProgressError") {
    return make(
      409,
      "IDEMPOTENCY_KEY_IN_USE",
      "Request in progress",
      "A request with this Idempotency-Key is still being processed. Retry shortly with the same key.",
      { retryable: true, headers: { "retry-after": "1" } },
    );
  }
  if (name === "IdempotencyValidationError") {
    return make(
      422,
      "IDEMPOTENCY_KEY_REUSED",
      "Idempotency-Key reused",
      "This Idempotency-Key was already used for a different request. Use a new key for a new request.",
      { errors: [{ header: "idempotency-key", detail: "already used for a different request" }] },
    );
  }
  if (isTransient(error)) {
    return make(
      503,
      "SERVICE_UNAVAILABLE",
      "Service busy",
      "The service is busy or briefly unavailable. Nothing was changed; retry after a short wait, with the same Idempotency-Key.",
      { retryable: true, headers: { "retry-after": "1" } },
    );
  }
  return make(
    500,
    "INTERNAL_ERROR",
    "Internal error",
    "Something went wrong on our side. If it persists, report it quoting the correlation id.",
  );
}

/** The HTTP response for a problem. */
export function problemResponse(p: ProblemResponse): APIGatewayProxyStructuredResultV2 {
  return {
    statusCode: p.problem.status,
    headers: { "content-type": PROBLEM_CONTENT_TYPE, ...p.headers },
    body: JSON.stringify(p.problem),
  };
}
