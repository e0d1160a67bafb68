import { describe, expect, it } from "vitest";
import { generateOpenApiDocument } from "../../../bin/openapi.js";

const document = await generateOpenApiDocument();

/** What an integrator reading the OpenAPI document needs and Redocly's recommended rules ask for. */
describe("the OpenAPI document, for an integrator", () => {
  it("names its servers and its licence", () => {
    expect(document.servers.map((s) => s.url)).toEqual([
      "https://{apiId}.execute-api.{region}.amazonaws.com",
      "http://127.0.0.1:4000",
    ]);
    expect(document.info.license).toMatchObject({ name: expect.any(String) as unknown });
  });

  it("declares the themes report's CSV and HTML bodies beside its JSON", () => {
    const ok = (document.paths["/v1/reports/themes"]?.get?.responses as Record<string, { content: object }>)[
      "200"
    ];
    expect(Object.keys(ok?.content ?? {})).toEqual(["application/json", "text/csv", "text/html"]);
  });
});
