import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

vi.hoisted(() => {
  process.env.POWERTOOLS_METRICS_DISABLED = "true";
  process.env.POWERTOOLS_LOG_LEVEL = "SILENT";
});

import { DynamoDBClient, ProvisionedThroughputExceededException } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import * as z from "zod";
import { spec as approveReferralSpec } from "../../../functions/api/approve-referral.js";
import { spec as escalateSpec } from "../../../functions/api/escalate.js";
import { spec as getChallengeSpec } from "../../../functions/api/get-challenge.js";
import type { ApiDependencies } from "../../../functions/api/http/dependencies.js";
import { createHandler } from "../../../functions/api/http/middleware.js";
import { generateOpenApiDocument } from "../../../bin/openapi.js";
import { spec as raiseSpec } from "../../../functions/api/raise-challenge.js";
import { spec as respondSpec } from "../../../functions/api/respond.js";
import { commandSchema, commandTypes } from "../../../functions/domain/challenge/commands.js";
import { DynamoChallengeStore } from "../../../functions/store/dynamo-challenge-store.js";
import { TenantStore } from "../../../functions/store/tenant-store.js";
import { apiEvent, callers, invoke } from "../../support/api-events.js";
import { type Fakes, NOW, makeFakes, raiseBody } from "./fakes.js";

/**
 * Bad input, precisely refused (issue 10): unknown fields at any depth and over-long strings are a
 * 400 naming the field, never dropped or passed to the domain; an unreachable or throttling
 * DynamoDB is a 503 the client may retry, never a 500.
 */

interface Problem {
  status: number;
  code: string;
  detail: string;
  errors?: { pointer?: string; header?: string; detail: string }[];
  retryable?: boolean;
}

type Json = Record<string, unknown>;

/**
 * Every place in a JSON Schema where an object accepts unknown properties or a string has no
 * maximum length, following `$ref`s into `components.schemas` (each once).
 */
function looseSpots(root: unknown, where: string, components: Record<string, Json> = {}): string[] {
  const found: string[] = [];
  const seen = new Set<string>();
  const walk = (node: unknown, at: string): void => {
    if (Array.isArray(node)) {
      node.forEach((inner, i) => {
        walk(inner, `${at}[${String(i)}]`);
      });
      return;
    }
    if (node === null || typeof node !== "object") return;
    const schema = node as Json;
    if (typeof schema.$ref === "string") {
      const name = schema.$ref.split("/").at(-1) ?? "";
      if (!seen.has(name)) {
        seen.add(name);
        walk(components[name], `#${name}`);
      }
      return;
    }
    if (schema.type === "object" && schema.additionalProperties !== false)
      found.push(`${at}: object not strict`);
    const fixed = schema.enum !== undefined || schema.const !== undefined;
    if (schema.type === "string" && !fixed && typeof schema.maxLength !== "number")
      found.push(`${at}: string without maxLength`);
    for (const [key, inner] of Object.entries(schema)) walk(inner, `${at}/${key}`);
  };
  walk(root, where);
  return found;
}

describe("every request schema is strict and bounded", () => {
  it("the OpenAPI document: no request body object without additionalProperties:false, no string without maxLength", async () => {
    const document = await generateOpenApiDocument();
    const spots: string[] = [];
    let bodies = 0;
    for (const [path, operations] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        const body = operation.requestBody as Json | undefined;
        if (body !== undefined) {
          bodies += 1;
          spots.push(...looseSpots(body, `${method} ${path} body`, document.components.schemas));
        }
        for (const parameter of operation.parameters as Json[]) {
          const schema = parameter.$ref === undefined ? parameter.schema : undefined;
          spots.push(...looseSpots(schema, `${method} ${path} ${String(parameter.name)}`));
        }
      }
    }
    for (const [name, parameter] of Object.entries(document.components.parameters))
      spots.push(...looseSpots(parameter.schema, `parameter ${name}`));
    expect(bodies).toBeGreaterThan(15);
    expect(spots).toEqual([]);
  });

  it("every domain command (whatever channel it comes from): strict at every depth, every string bounded", () => {
    expect(commandTypes.length).toBeGreaterThan(20);
    for (const type of commandTypes) {
      const json = z.toJSONSchema(commandSchema(type), { io: "input", unrepresentable: "any" }) as Json;
      expect(looseSpots(json, type, (json.$defs ?? {}) as Record<string, Json>)).toEqual([]);
    }
  });

  it("the walk finds what it is looking for (a loose object and an unbounded string)", () => {
    const loose = z.toJSONSchema(z.object({ inner: z.strictObject({ s: z.string() }) }), { io: "input" });
    expect(looseSpots(loose, "x")).toEqual([
      "x: object not strict",
      "x/properties/inner/properties/s: string without maxLength",
    ]);
  });
});

describe("bad input is a 400 naming the field", () => {
  let fakes: Fakes;
  beforeEach(async () => {
    fakes = await makeFakes();
  });

  it("unknown fields inside the form are refused with their paths, and nothing is raised", async () => {
    const body = raiseBody();
    const form = body.form as { child: Json; socialWorker: Json };
    form.child.zzzNested = "x";
    form.socialWorker.emial = "sam.worker@authority.example";
    const response = await invoke(
      createHandler(raiseSpec, fakes.deps),
      apiEvent("raise-challenge", { body }),
    );
    expect(response.status).toBe(400);
    const problem = response.body as Problem;
    expect(problem.code).toBe("VALIDATION_ERROR");
    expect(problem.errors?.map((e) => e.pointer).sort()).toEqual([
      "/form/child/zzzNested",
      "/form/socialWorker/emial",
    ]);
    expect(fakes.challenges.snapshots.size).toBe(0);
  });

  it("a 200,000-character approverRole is refused before the domain sees it", async () => {
    const response = await invoke(
      createHandler(approveReferralSpec, fakes.deps),
      apiEvent("approve-referral", {
        caller: callers.serviceManager,
        pathParameters: { challengeId: "01JCHALLENGE0000000000000A", kind: "cafcass" },
        body: { approverRole: "x".repeat(200_000) },
      }),
    );
    expect(response.status).toBe(400);
    expect((response.body as Problem).errors).toEqual([
      { pointer: "/approverRole", detail: expect.stringContaining("200") as unknown },
    ]);
    // The detail states the rule; it never echoes the value.
    expect(JSON.stringify(response.body)).not.toContain("xxxxxxxxxx");
  });

  it("an escalation must name the stage it escalates from", async () => {
    const response = await invoke(
      createHandler(escalateSpec, fakes.deps),
      apiEvent("escalate", {
        pathParameters: { challengeId: "01JCHALLENGE0000000000000A" },
        body: { reasons: "The response does not answer the worry." },
      }),
    );
    expect(response.status).toBe(400);
    expect((response.body as Problem).errors).toEqual([{ pointer: "/stageId", detail: "is required" }]);
  });

  it("an If-Match that is not an ETag of this API is a 400 naming the header", async () => {
    const response = await invoke(
      createHandler(respondSpec, fakes.deps),
      apiEvent("respond", {
        caller: callers.teamManager,
        pathParameters: { challengeId: "01JCHALLENGE0000000000000A" },
        headers: { "If-Match": "yesterday's" },
        body: { response: "ok" },
      }),
    );
    expect(response.status).toBe(400);
    expect((response.body as Problem).errors).toEqual([
      { header: "if-match", detail: expect.any(String) as unknown },
    ]);
  });
});

describe("DynamoDB unreachable, throttling or timing out: 503, retryable, with Retry-After", () => {
  const documentClient = DynamoDBDocumentClient.from(new DynamoDBClient({ region: "eu-west-2" }));
  const ddb = mockClient(documentClient);
  let deps: ApiDependencies;

  beforeEach(async () => {
    const fakes = await makeFakes();
    ddb.reset();
    // The real repositories over a client whose every call fails as the network or service would.
    deps = {
      ...fakes.deps,
      challenges: new DynamoChallengeStore(documentClient, "table"),
      tenants: new TenantStore(documentClient, "table", () => NOW),
    };
  });
  afterEach(() => {
    ddb.reset();
  });

  const connectionRefused = () =>
    Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:8000"), {
      code: "ECONNREFUSED",
      errno: -111,
      syscall: "connect",
    });
  const socketTimeout = () =>
    Object.assign(new Error("Connection timed out after 1000 ms"), {
      name: "TimeoutError",
      code: "ETIMEDOUT",
    });
  const throttled = () =>
    new ProvisionedThroughputExceededException({
      message: "Rate exceeded",
      $metadata: { httpStatusCode: 400 },
    });
  const refusedDualStack = () =>
    Object.assign(new AggregateError([connectionRefused(), connectionRefused()], ""), {
      code: "ECONNREFUSED",
    });

  const failures: [string, () => Error][] = [
    ["connection refused", connectionRefused],
    ["connection refused on every address (AggregateError)", refusedDualStack],
    ["a socket timeout", socketTimeout],
    ["throttling", throttled],
  ];

  for (const [what, failure] of failures) {
    it(`${what}: a read and a command both answer 503 with retryable:true and Retry-After`, async () => {
      ddb.onAnyCommand().rejects(failure());
      const read = await invoke(
        createHandler(getChallengeSpec, deps),
        apiEvent("get-challenge", { pathParameters: { challengeId: "01JCHALLENGE0000000000000A" } }),
      );
      const command = await invoke(
        createHandler(respondSpec, deps),
        apiEvent("respond", {
          caller: callers.teamManager,
          pathParameters: { challengeId: "01JCHALLENGE0000000000000A" },
          body: { response: "A core group is booked." },
        }),
      );
      for (const response of [read, command]) {
        expect(response.status).toBe(503);
        expect(response.headers["content-type"]).toBe("application/problem+json");
        expect(Number(response.headers["retry-after"])).toBeGreaterThan(0);
        expect(response.body).toMatchObject({ code: "SERVICE_UNAVAILABLE", retryable: true, status: 503 });
      }
      expect(ddb.calls().length).toBeGreaterThan(0);
    });
  }

  it("a plain programming error is still a 500, not a 503", async () => {
    ddb.onAnyCommand().rejects(new TypeError("cannot read properties of undefined"));
    const read = await invoke(
      createHandler(getChallengeSpec, deps),
      apiEvent("get-challenge", { pathParameters: { challengeId: "01JCHALLENGE0000000000000A" } }),
    );
    expect(read.status).toBe(500);
  });
});
