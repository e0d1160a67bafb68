import { existsSync, readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { fileURLToPath } from "node:url";
import { describe, expect, it, vi } from "vitest";

vi.hoisted(() => {
  process.env.POWERTOOLS_METRICS_DISABLED = "true";
  process.env.POWERTOOLS_LOG_LEVEL = "SILENT";
});

import { generateOpenApiDocument, gunzipOpenApi, loadRouteSpecs } from "../../../bin/openapi.js";
import { buildOpenApiDocument } from "../../../bin/openapi-document.js";
import { acceptsGzip, handler as openapiHandler } from "../../../functions/api/openapi.js";
import { OPENAPI_JSON_GZIP } from "../../../functions/api/openapi-gzip.js";
import { problemSchema } from "../../../functions/api/http/problem-schema.js";
import { routeEntry, routes } from "../../../functions/api/routes.js";
import { apiEvent, callers, invoke } from "../../support/api-events.js";

const committedPath = fileURLToPath(new URL("../../../docs/openapi.json", import.meta.url));
const root = fileURLToPath(new URL("../../../", import.meta.url));

const specs = await loadRouteSpecs();
const document = await generateOpenApiDocument();

describe("OpenAPI document", () => {
  it("is committed and equal to what the code generates (run `npx tsx bin/openapi.ts` to refresh)", () => {
    const committed = JSON.parse(readFileSync(committedPath, "utf8")) as unknown;
    expect(committed).toEqual(JSON.parse(JSON.stringify(document)));
  });

  it("has every route of routes.ts, with its method, scope and path parameters", () => {
    for (const route of routes) {
      const operation = document.paths[route.path]?.[route.method.toLowerCase()];
      expect(operation, `${route.method} ${route.path}`).toBeDefined();
      // Who may call it, from the same table the middleware checks.
      expect(operation?.["x-roles"], route.id).toEqual(route.roles);
      // The acknowledgement link's routes take no bearer token: the signed link is the credential.
      expect(operation?.security).toEqual(route.signedLink === true ? [] : [{ bearerAuth: [route.scope] }]);
      const declared = [...route.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
      const documented = ((operation?.parameters ?? []) as { in?: string; name?: string }[])
        .filter((p) => p.in === "path")
        .map((p) => p.name)
        .sort();
      expect(documented, route.id).toEqual(declared);
    }
    const operations = Object.values(document.paths).flatMap((byMethod) => Object.keys(byMethod));
    expect(operations).toHaveLength(routes.length);
  });

  it("documents problem+json errors and the bearer JWT scheme", () => {
    expect(document.openapi).toBe("3.1.0");
    expect(document.components.securitySchemes.bearerAuth).toMatchObject({
      type: "http",
      scheme: "bearer",
      bearerFormat: "JWT",
    });
    expect(document.components.responses.BadRequest).toMatchObject({
      content: { "application/problem+json": { schema: { $ref: "#/components/schemas/Problem" } } },
    });
    expect(document.components.schemas.Problem).toBeDefined();
    // The request bodies are the commands' own schemas, less what the server supplies.
    const respond = document.components.schemas.RespondRequest as { properties: Record<string, unknown> };
    expect(Object.keys(respond.properties)).toEqual(["response", "stageId"]);
    const raise = document.components.schemas.RaiseChallengeRequest as {
      properties: Record<string, unknown>;
      required: string[];
    };
    expect(raise.required).toContain("form");
    expect(raise.properties).not.toHaveProperty("actor");
  });

  it("has a handler file and a spec for every route, and refuses to build without one", () => {
    expect(specs.map((s) => s.routeId)).toEqual(routes.map((r) => r.id));
    for (const route of routes) expect(existsSync(root + routeEntry(route)), routeEntry(route)).toBe(true);
    const withoutOne = specs.filter((s) => s.routeId !== "put-config");
    expect(() => buildOpenApiDocument(withoutOne)).toThrow(/put-config has no handler spec/);
  });

  it("is served by GET /v1/openapi.json as committed, to every role the table lets read it", async () => {
    const response = await invoke(openapiHandler, apiEvent("openapi", { caller: callers.lcs }));
    expect(response.status).toBe(200);
    expect(response.headers["content-type"]).toBe("application/json");
    expect(response.body).toEqual(JSON.parse(readFileSync(committedPath, "utf8")));
  });

  it("is sent gzipped, as committed, to a client that accepts gzip (the bundled form), and plain to one that does not", async () => {
    const committed = JSON.parse(readFileSync(committedPath, "utf8")) as unknown;
    const event = apiEvent("openapi", {
      caller: callers.lcs,
      headers: { "accept-encoding": "gzip, deflate, br" },
    });
    const raw = (await openapiHandler(event)) as {
      headers: Record<string, string>;
      body: string;
      isBase64Encoded?: boolean;
    };
    expect(raw.isBase64Encoded).toBe(true);
    expect(raw.headers).toMatchObject({ "content-encoding": "gzip", vary: "accept-encoding" });
    expect(JSON.parse(gunzipSync(Buffer.from(raw.body, "base64")).toString("utf8"))).toEqual(committed);
    // The generated module holds exactly that text (npm run openapi keeps it when it decodes the same).
    expect(JSON.parse(gunzipOpenApi(OPENAPI_JSON_GZIP))).toEqual(committed);
    // A client that refuses gzip gets the same document as plain JSON.
    const plain = await invoke(
      openapiHandler,
      apiEvent("openapi", { caller: callers.lcs, headers: { "accept-encoding": "gzip;q=0, identity" } }),
    );
    expect(plain.headers["content-encoding"]).toBeUndefined();
    expect(plain.body).toEqual(committed);
  });

  it.each([
    ["gzip", true],
    ["deflate, gzip;q=0.5", true],
    ["*", true],
    ["GZIP", true],
    ["gzip;q=0", false],
    ["identity", false],
    ["", false],
    [undefined, false],
  ])("reads Accept-Encoding %j as accepting gzip: %s", (header, accepted) => {
    expect(acceptsGzip(header)).toBe(accepted);
  });

  it("refuses GET /v1/openapi.json to a role the table does not name, as problem+json", async () => {
    const response = await invoke(
      openapiHandler,
      apiEvent("openapi", {
        claims: { sub: "wf", role: "system", tenant_id: "tenant-a", scope: "challenges/read" },
      }),
    );
    expect(response.status).toBe(403);
    expect(response.headers["content-type"]).toBe("application/problem+json");
    expect(problemSchema.safeParse(response.body).success).toBe(true);
    expect(response.body).toMatchObject({ code: "FORBIDDEN", status: 403 });
  });
});
