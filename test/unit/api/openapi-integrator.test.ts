import { describe, expect, it } from "vitest";
import { buildOpenApiDocument } from "../../../functions/api/openapi.js";

interface JsonSchema {
  $ref?: string;
  description?: string;
  examples?: unknown[];
  properties?: Record<string, JsonSchema>;
}

/** What an integrator reading the OpenAPI document needs and Redocly's recommended rules ask for. */
describe("the OpenAPI document, for an integrator", () => {
  const document = buildOpenApiDocument();

  it("names its servers and its licence", () => {
    expect(document.servers.map((s) => s.url)).toEqual([
      "https://{apiId}.execute-api.{region}.amazonaws.com",
      "http://127.0.0.1:4000",
    ]);
    expect(document.info.license).toMatchObject({ name: expect.any(String) as unknown });
  });

  it("describes every field of the raise request, with an example for each value", () => {
    const schemas = document.components.schemas as Record<string, JsonSchema>;
    const undescribed: string[] = [];
    const walk = (schema: JsonSchema | undefined, path: string): void => {
      if (schema === undefined) return;
      if (schema.$ref !== undefined) {
        walk(schemas[schema.$ref.replace("#/components/schemas/", "")], path);
        return;
      }
      for (const [name, field] of Object.entries(schema.properties ?? {})) {
        const resolved =
          field.$ref === undefined ? field : schemas[field.$ref.replace("#/components/schemas/", "")];
        const isObject = resolved?.properties !== undefined;
        if (field.description === undefined && resolved?.description === undefined)
          undescribed.push(`${path}/${name}`);
        else if (!isObject && field.examples === undefined && resolved?.examples === undefined) {
          undescribed.push(`${path}/${name} (no example)`);
        }
        walk(field, `${path}/${name}`);
      }
    };
    walk(schemas.RaiseChallengeRequest, "");
    expect(undescribed).toEqual([]);
  });

  it("declares the themes report's CSV and HTML bodies beside its JSON", () => {
    const ok = (document.paths["/v1/reports/themes"]?.get?.responses as Record<string, { content: object }>)[
      "200"
    ];
    expect(Object.keys(ok?.content ?? {})).toEqual(["application/json", "text/csv", "text/html"]);
  });
});
