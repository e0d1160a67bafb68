import { describe, expect, it } from "vitest";
import * as z from "zod";
import { TenantNotConfiguredError } from "../../../functions/app/execute-command.js";
import { CLAIMS, principalFrom } from "../../../functions/api/http/auth.js";
import {
  HttpProblem,
  PROBLEM_CODE_PATTERN,
  problems,
  domainErrorStatus,
  isTransient,
  toPointer,
  toProblem,
} from "../../../functions/api/http/problem.js";
import { PROBLEM_BASE } from "../../../functions/api/http/problem-type.js";
import { mayCall, routeById, routes } from "../../../functions/api/routes.js";
import { DomainError } from "../../../functions/domain/challenge/errors.js";
import { ConcurrencyConflictError } from "../../../functions/store/ports.js";
import { ConfigurationError, parseConfig } from "../../../functions/shared/config.js";
import { RedactingLogFormatter, isDeniedKey, redact } from "../../../functions/shared/observability.js";
import { type ApiResult, createHandler, defineRoute } from "../../../functions/api/http/middleware.js";
import { apiEvent, callers, lambdaContext } from "../../support/api-events.js";
import { makeFakes } from "./fakes.js";

describe("problem mapping", () => {
  const status = (error: unknown) => toProblem(error).problem.status;

  it("maps every DomainError code through the one table", () => {
    expect(domainErrorStatus.NOT_FOUND.status).toBe(404);
    expect(domainErrorStatus.NOT_RECIPIENT.status).toBe(403);
    expect(domainErrorStatus.NOT_PERMITTED.status).toBe(403);
    expect(domainErrorStatus.WRONG_STATUS.status).toBe(409);
    expect(domainErrorStatus.BYPASS_NOT_ALLOWED.status).toBe(422);
    for (const [code, { status: s }] of Object.entries(domainErrorStatus)) {
      const p = toProblem(new DomainError(code as keyof typeof domainErrorStatus, "why")).problem;
      expect(p).toMatchObject({ status: s, code, type: PROBLEM_BASE + code, detail: "why" });
    }
  });

  it("maps the other errors", () => {
    expect(status(new z.ZodError([]))).toBe(400);
    expect(status(new ConcurrencyConflictError("c", 1))).toBe(409);
    expect(status(new TenantNotConfiguredError("t"))).toBe(409);
    expect(status(Object.assign(new Error("x"), { name: "IdempotencyAlreadyInProgressError" }))).toBe(409);
    expect(status(Object.assign(new Error("x"), { name: "IdempotencyValidationError" }))).toBe(422);
    expect(status(Object.assign(new Error("bad cursor"), { name: "InvalidQueryError" }))).toBe(400);
    expect(status(new HttpProblem(404, "NOT_FOUND", "Not found", "no such thing"))).toBe(404);
    expect(status("a string")).toBe(500);
    expect(status(undefined)).toBe(500);
  });

  it("gives every problem code, the API's and the domain's, one casing: UPPER_SNAKE", () => {
    const thrown: unknown[] = [
      ...Object.keys(domainErrorStatus).map(
        (code) => new DomainError(code as keyof typeof domainErrorStatus, "x"),
      ),
      problems.malformedJson(),
      problems.unsupportedMediaType(),
      problems.unauthenticated(),
      problems.forbidden("x"),
      problems.notFound("x"),
      problems.validation([{ pointer: "/a", detail: "x" }]),
      new z.ZodError([]),
      new ConcurrencyConflictError("c", 1),
      new TenantNotConfiguredError("t"),
      Object.assign(new Error("x"), { name: "IdempotencyAlreadyInProgressError" }),
      Object.assign(new Error("x"), { name: "IdempotencyValidationError" }),
      Object.assign(new Error("x"), { name: "InvalidQueryError" }),
      { name: "ThrottlingException" },
      new Error("anything else"),
    ];
    const codes = thrown.map((error) => toProblem(error).problem.code);
    expect(codes.length).toBeGreaterThan(30);
    for (const code of codes) expect(code).toMatch(PROBLEM_CODE_PATTERN);
    expect(codes).toContain("VALIDATION_ERROR");
    expect(codes).toContain("UNKNOWN_THEME");
    expect(PROBLEM_CODE_PATTERN.test("validation-error")).toBe(false);
  });

  it("never leaks an unknown error's message", () => {
    const p = toProblem(new Error("password=hunter2 at db.internal"), {
      correlationId: "c-1",
      instance: "/v1/x",
    });
    expect(p.serverFault).toBe(true);
    expect(JSON.stringify(p.problem)).not.toMatch(/hunter2|db\.internal/);
    expect(p.problem).toMatchObject({
      status: 500,
      code: "INTERNAL_ERROR",
      correlationId: "c-1",
      instance: "/v1/x",
    });
  });

  it("recognises transient AWS errors, also when wrapped", () => {
    expect(isTransient({ name: "ThrottlingException" })).toBe(true);
    expect(isTransient({ name: "X", $retryable: { throttling: true } })).toBe(true);
    expect(isTransient({ name: "X", $metadata: { httpStatusCode: 503 } })).toBe(true);
    expect(
      isTransient({
        name: "TransactionCanceledException",
        CancellationReasons: [{ Code: "None" }, { Code: "ThrottlingError" }],
      }),
    ).toBe(true);
    expect(
      isTransient({
        name: "TransactionCanceledException",
        CancellationReasons: [{ Code: "ConditionalCheckFailed" }],
      }),
    ).toBe(false);
    expect(
      isTransient(new Error("wrapper", { cause: { name: "ProvisionedThroughputExceededException" } })),
    ).toBe(true);
    expect(isTransient(new Error("plain"))).toBe(false);
  });

  it("escapes JSON Pointer tokens", () => {
    expect(toPointer(["form", "child", "dateOfBirth"])).toBe("/form/child/dateOfBirth");
    expect(toPointer(["a/b", "c~d", 0])).toBe("/a~1b/c~0d/0");
    expect(toPointer([])).toBe("");
  });
});

describe("principal", () => {
  it("takes tenant, role and subject from the claims named in one place", () => {
    expect(CLAIMS).toMatchObject({ tenant: "tenant_id", role: "role", subject: "sub", scope: "scope" });
    const p = principalFrom(
      apiEvent("get-challenge", { caller: callers.teamManager, pathParameters: { challengeId: "x" } }),
      "challenges/read",
    );
    expect(p).toMatchObject({ tenantId: "tenant-a", actor: { id: "tm-1", role: "manager" } });
  });

  it("parses a scope claim in HTTP API's bracketed array form", () => {
    const event = apiEvent("get-challenge", {
      pathParameters: { challengeId: "x" },
      claims: { sub: "a", role: "IRO", tenant_id: "t", scope: "[challenges/read challenges/write]" },
      scopes: null,
    });
    expect([...principalFrom(event, "challenges/read").scopes]).toEqual([
      "challenges/read",
      "challenges/write",
    ]);
  });

  it("refuses tenant ids that could not be a key", () => {
    const event = apiEvent("get-challenge", {
      pathParameters: { challengeId: "x" },
      claims: { sub: "a", role: "IRO", tenant_id: "T#evil", scope: "challenges/read" },
    });
    expect(() => principalFrom(event, "challenges/read")).toThrow(/tenant_id/);
  });
});

describe("permissions", () => {
  it("names, for every route of the table, who may call it: some role, or none for a signed link only", () => {
    expect(new Set(routes.map((r) => r.id)).size).toBe(routes.length);
    for (const route of routes) {
      if (route.signedLink === true) expect(route.roles, route.id).toEqual([]);
      else expect(route.roles.length, route.id).toBeGreaterThan(0);
    }
  });

  it("keeps auditors and case-record systems read-only", () => {
    for (const route of routes) {
      if (route.method !== "GET") {
        expect(mayCall(route.id, "auditor"), route.id).toBe(false);
        expect(mayCall(route.id, "case_record_system"), route.id).toBe(false);
      }
      expect(mayCall(route.id, "system"), route.id).toBe(false);
    }
    expect(mayCall("get-challenge", "auditor")).toBe(true);
    expect(mayCall("no-such-route", "IRO")).toBe(false);
  });
});

describe("log redaction", () => {
  it("removes personal and free-text fields wherever they are, keeps ids", () => {
    const out = redact({
      tenantId: "t",
      challengeId: "c",
      body: '{"form":{}}',
      form: { child: { name: "Alice", dateOfBirth: "2015-04-01", caseRecordId: "LCS-1" } },
      nested: [{ email: "a@b.example", personId: "p-1", child_name: "Alice" }],
      error: new Error("could not mail sam.worker@authority.example"),
    }) as Record<string, unknown>;
    const text = JSON.stringify(out);
    expect(text).not.toMatch(/Alice|2015-04-01|a@b\.example|sam\.worker/);
    expect(out).toMatchObject({ tenantId: "t", challengeId: "c", body: "[redacted]", form: "[redacted]" });
    expect((out.nested as Record<string, unknown>[])[0]).toEqual({
      email: "[redacted]",
      personId: "p-1",
      child_name: "[redacted]",
    });
    expect(out.error).toMatchObject({ name: "Error", message: "could not mail [email]" });
    expect(isDeniedKey("Date_Of_Birth")).toBe(true);
    expect(isDeniedKey("caseRecordId")).toBe(false);
  });

  it("the formatter applies it to every log item", () => {
    const item = new RedactingLogFormatter().formatAttributes(
      {
        logLevel: "INFO",
        message: "mail to x@y.example failed",
        timestamp: new Date(0),
        serviceName: "svc",
        sampleRateValue: 0,
        awsRegion: "eu-west-2",
      },
      { dateOfBirth: "2015-04-01", route: "raise-challenge" },
    );
    expect(item.getAttributes()).toMatchObject({
      message: "mail to [email] failed",
      date_of_birth: "[redacted]",
      route: "raise-challenge",
      service: "svc",
    });
  });

  it("writes every key in snake_case, as Powertools writes its own", () => {
    const item = new RedactingLogFormatter().formatAttributes(
      {
        logLevel: "INFO",
        message: "m",
        timestamp: new Date(0),
        serviceName: "svc",
        sampleRateValue: 0,
        awsRegion: "r",
      },
      { challengeId: "c-1", asOf: "2026-01-01", counts: { heldRecords: 2 }, duration_ms: 3, stageId: "a" },
    );
    const attributes = item.getAttributes();
    expect(attributes).toMatchObject({
      challenge_id: "c-1",
      as_of: "2026-01-01",
      counts: { held_records: 2 },
      duration_ms: 3,
      stage_id: "a",
    });
    for (const key of Object.keys(attributes)) expect(key).toMatch(/^[a-z0-9_]+$/);
  });
});

describe("config", () => {
  it("names every missing or bad variable", () => {
    expect(() => parseConfig({})).toThrow(ConfigurationError);
    expect(() => parseConfig({ STATE_MACHINE_ARN: "nope" })).toThrow(
      /TABLE_NAME is not set; STATE_MACHINE_ARN is invalid/,
    );
    expect(
      parseConfig({ TABLE_NAME: "t", STATE_MACHINE_ARN: "arn:aws:states:eu-west-2:1:stateMachine:x" }),
    ).toEqual({
      TABLE_NAME: "t",
      STATE_MACHINE_ARN: "arn:aws:states:eu-west-2:1:stateMachine:x",
      IDEMPOTENCY_TTL_SECONDS: 86400,
    });
  });
});

describe("text bodies (ApiResult.text)", () => {
  const textRoute = (result: ApiResult) =>
    defineRoute({
      route: routeById("reports-themes"),
      response: { status: 200, description: "text" },
      handle: () => Promise.resolve(result),
    });
  const call = async (result: ApiResult) => {
    const { deps } = await makeFakes();
    const handler = createHandler(textRoute(result), deps);
    return (await handler(apiEvent("reports-themes", { caller: callers.auditor }), lambdaContext())) as {
      statusCode: number;
      headers: Record<string, string>;
      body?: string;
    };
  };

  it("sends the text as it is, under the content type the route names", async () => {
    const csv = 'section,label\n"quoted, with comma",1\n';
    const response = await call({
      status: 200,
      text: csv,
      headers: { "content-type": "text/csv; charset=utf-8" },
    });
    expect(response.statusCode).toBe(200);
    expect(response.body).toBe(csv);
    expect(response.headers["content-type"]).toBe("text/csv; charset=utf-8");
    expect(response.headers["cache-control"]).toBe("no-store");
  });

  it("defaults to text/plain, and JSON bodies stay JSON", async () => {
    const plain = await call({ status: 200, text: "just words" });
    expect(plain.body).toBe("just words");
    expect(plain.headers["content-type"]).toBe("text/plain; charset=utf-8");
    const json = await call({ status: 200, body: "a JSON string" });
    expect(json.body).toBe('"a JSON string"');
    expect(json.headers["content-type"]).toBe("application/json");
  });
});
