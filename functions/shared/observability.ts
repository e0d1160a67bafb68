import type { Context } from "aws-lambda";
import { LogFormatter, LogItem, Logger } from "@aws-lambda-powertools/logger";
import type { LogAttributes, UnformattedAttributes } from "@aws-lambda-powertools/logger/types";
import { Metrics } from "@aws-lambda-powertools/metrics";

/**
 * Logger and Metrics: one of each per Lambda process, shared by every handler.
 *
 * No Powertools Tracer: it wraps the X-Ray SDK (aws-xray-sdk-core, cls-hooked, semver: ~120 KB in
 * every handler), which AWS put in maintenance mode in February 2026 in favour of OpenTelemetry.
 * X-Ray stays on through the functions' active tracing (each invocation's segment, linked to API
 * Gateway's and Step Functions' traces); the log lines carry the trace id (`xray_trace_id`).
 * Per-call AWS SDK subsegments, if wanted, come from the ADOT (OpenTelemetry) Lambda layer, with
 * no code change here.
 *
 * Personal data never reaches the logs. Handlers log ids (tenant, challenge, person, request),
 * the route, and outcome codes; they never log request bodies. As a second line of defence the
 * log formatter below redacts, wherever they appear in a log item (however deeply nested):
 * - any attribute whose NAME says it holds personal or free-text data (names, dates of birth,
 *   emails, bodies, forms, free-text answers such as `worries` or `response`);
 * - anything that looks like an email address inside any string (error messages included).
 * The service name comes from POWERTOOLS_SERVICE_NAME when set (CDK sets it), else the default here.
 */
export const SERVICE_NAME = "challenge-resolution";
export const METRICS_NAMESPACE = "ChallengeResolution";

const REDACTED = "[redacted]";

/**
 * Attribute names (compared case-insensitively, ignoring `_` and `-`) whose values are never logged.
 * Ids are deliberately absent: `tenantId`, `challengeId`, `personId`, `caseRecordId` are what logs are for.
 */
const DENIED_KEYS = new Set(
  [
    // Request and response payloads carry the child's details and the professionals' free text.
    "body",
    "rawBody",
    "payload",
    "form",
    "child",
    "socialWorker",
    // People.
    "name",
    "childName",
    "firstName",
    "lastName",
    "fullName",
    "teamManagerName",
    "displayName",
    "dateOfBirth",
    "dob",
    "birthDate",
    "email",
    "emailAddress",
    "address",
    "phone",
    "telephone",
    // Free text written about the child.
    "worries",
    "actionsTaken",
    "impactOnChild",
    "childViews",
    "whatNeedsToHappen",
    "desiredOutcome",
    "response",
    "responses",
    "summary",
    "reasons",
    "reason",
    "rationale",
    "note",
    "comment",
    "attendees",
    "action",
    "actions",
    // Credentials.
    "authorization",
    "cookie",
    "token",
    "taskToken",
    "idempotencyKey",
  ].map(normaliseKey),
);

const EMAIL = /[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g;

function normaliseKey(key: string): string {
  return key.replace(/[-_]/g, "").toLowerCase();
}

/** Whether a log attribute with this name must never be written. Exported for tests. */
export function isDeniedKey(key: string): boolean {
  return DENIED_KEYS.has(normaliseKey(key));
}

/** Returns a copy of `value` with personal data removed (see the module comment). Never mutates its input. */
export function redact(value: unknown, depth = 0): unknown {
  if (depth > 12) return REDACTED;
  if (typeof value === "string") return value.replace(EMAIL, "[email]");
  if (Array.isArray(value)) return value.map((item) => redact(item, depth + 1));
  if (value instanceof Error) {
    return redact({ name: value.name, message: value.message, stack: value.stack }, depth + 1);
  }
  if (value !== null && typeof value === "object") {
    // An error (ours, or as Powertools formats it) keeps its `name`: a class name, not a person's.
    const errorLike = "stack" in value || "location" in value;
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value)) {
      const keep = errorLike && key === "name" && typeof inner === "string";
      out[key] = keep ? inner : isDeniedKey(key) ? REDACTED : redact(inner, depth + 1);
    }
    return out;
  }
  return value;
}

/** `challengeId` → `challenge_id`: the casing of Powertools' own keys (`function_name`, `cold_start`). */
export function snakeCase(key: string): string {
  return key
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .replace(/([A-Z])([A-Z][a-z])/g, "$1_$2")
    .toLowerCase();
}

/** A copy of `value` with every object key, however deeply nested, in snake_case. */
export function snakeCaseKeys(value: unknown, depth = 0): unknown {
  if (depth > 12) return value;
  if (Array.isArray(value)) return value.map((item) => snakeCaseKeys(item, depth + 1));
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value).map(([key, inner]) => [snakeCase(key), snakeCaseKeys(inner, depth + 1)]),
    );
  }
  return value;
}

/**
 * The standard Powertools JSON layout (the same keys as its default formatter, which the package
 * does not export), with the message and every extra attribute passed through {@link redact}, and
 * every extra key in snake_case like Powertools' own, whatever casing the calling code used: one
 * casing to query in CloudWatch Logs Insights.
 */
export class RedactingLogFormatter extends LogFormatter {
  override formatAttributes(attributes: UnformattedAttributes, additional: LogAttributes): LogItem {
    const context = attributes.lambdaContext;
    return new LogItem({
      attributes: {
        level: attributes.logLevel,
        message: redact(attributes.message),
        timestamp: this.formatTimestamp(attributes.timestamp),
        service: attributes.serviceName,
        cold_start: context?.coldStart,
        function_arn: context?.invokedFunctionArn,
        function_memory_size: context?.memoryLimitInMB,
        function_name: context?.functionName,
        function_request_id: context?.awsRequestId,
        sampling_rate: attributes.sampleRateValue,
        xray_trace_id: attributes.xRayTraceId,
      },
    }).addAttributes(snakeCaseKeys(redact(additional)) as LogAttributes);
  }
}

export const logger = new Logger({
  serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? SERVICE_NAME,
  logFormatter: new RedactingLogFormatter(),
});

export const metrics = new Metrics({
  namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? METRICS_NAMESPACE,
  serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? SERVICE_NAME,
});

/**
 * The narrow metrics port batch handlers depend on (counts, flushed once per batch), so their tests
 * can pass a recorder instead of Powertools.
 */
export interface CountMetrics {
  addMetric(name: string, unit: "Count", value: number): void;
  publishStoredMetrics(): void;
}

/** Powertools metrics behind {@link CountMetrics}. */
export const countMetrics: CountMetrics = {
  addMetric: (name, unit, value) => {
    metrics.addMetric(name, unit, value);
  },
  publishStoredMetrics: () => {
    metrics.publishStoredMetrics();
  },
};

/**
 * Wraps a Lambda handler: fresh log keys and the Lambda context per invocation, metrics flushed at
 * the end (only when there are any). The context is optional so the local runtime can call the
 * same handler in-process with just the event.
 */
export function withLambdaContext<E, R>(
  run: (event: E) => Promise<R>,
): (event: E, context?: Context) => Promise<R> {
  return async (event, context) => {
    logger.resetKeys();
    if (context !== undefined) logger.addContext(context);
    try {
      return await run(event);
    } finally {
      if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
    }
  };
}
