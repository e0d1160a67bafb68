/**
 * What an integrator reads in the OpenAPI document (built from the handlers' zod schemas; the
 * drift test in openapi.test.ts keeps docs/openapi.json equal to it): every field of every request
 * body, response body (JSON, problem+json) and path or query parameter has a description and an
 * example. A failure names each field that lacks one, by the schema that defines it.
 */
import { describe, expect, it } from "vitest";
import { generateOpenApiDocument } from "../../../bin/openapi.js";

interface JsonSchema {
  $ref?: string;
  type?: string | string[];
  description?: string;
  examples?: unknown[];
  example?: unknown;
  properties?: Record<string, JsonSchema>;
  additionalProperties?: JsonSchema | boolean;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
}

interface Parameter {
  $ref?: string;
  name?: string;
  in?: string;
  description?: string;
  example?: unknown;
  schema?: JsonSchema;
}

interface MediaType {
  schema?: JsonSchema;
}

interface Operation {
  parameters?: Parameter[];
  requestBody?: { content: Record<string, MediaType> };
  responses: Record<string, { $ref?: string; content?: Record<string, MediaType> }>;
}

const document = await generateOpenApiDocument();
const schemas = document.components.schemas as Record<string, JsonSchema>;
const responses = document.components.responses as Record<string, { content?: Record<string, MediaType> }>;
const SCHEMA_REF = "#/components/schemas/";
const RESPONSE_REF = "#/components/responses/";

function resolve(schema: JsonSchema): JsonSchema {
  if (schema.$ref === undefined) return schema;
  const target = schemas[schema.$ref.slice(SCHEMA_REF.length)];
  if (target === undefined) throw new Error(`dangling reference ${schema.$ref}`);
  return resolve(target);
}

/** The alternatives a value may take: the schema itself, or each branch of its anyOf / oneOf / allOf. */
function branches(schema: JsonSchema): JsonSchema[] {
  const resolved = resolve(schema);
  const alternatives = [...(resolved.anyOf ?? []), ...(resolved.oneOf ?? []), ...(resolved.allOf ?? [])];
  return alternatives.length === 0 ? [resolved] : alternatives.flatMap(branches);
}

/**
 * A value made of named fields (an object, a map, or a list of them) is exemplified by its fields'
 * examples; every other value (text, number, boolean, enum, list of those) needs its own example.
 */
function isComposite(schema: JsonSchema): boolean {
  return branches(schema).some(
    (branch) =>
      branch.properties !== undefined ||
      typeof branch.additionalProperties === "object" ||
      (branch.items !== undefined && isComposite(branch.items)),
  );
}

function hasDescription(schema: JsonSchema): boolean {
  return resolve(schema).description !== undefined || schema.description !== undefined;
}

/** An example on the field, on what it refers to, or on each non-null alternative of it. */
function hasExample(schema: JsonSchema): boolean {
  const own = (s: JsonSchema): boolean =>
    (s.examples !== undefined && s.examples.length > 0) || s.example !== undefined;
  if (own(schema) || own(resolve(schema))) return true;
  const alternatives = branches(schema).filter((b) => b.type !== "null");
  return alternatives.length > 0 && alternatives.every((b) => b !== resolve(schema) && own(b));
}

/**
 * Every field below `schema` that an integrator would meet without a description or an example,
 * named from the component that defines it (`Challenge.raiser.id`), or from `path` when inline.
 */
function gapsIn(schema: JsonSchema, path: string, seen: Set<string> = new Set()): string[] {
  if (schema.$ref !== undefined) {
    const name = schema.$ref.slice(SCHEMA_REF.length);
    if (seen.has(name)) return [];
    seen.add(name);
    return gapsIn(resolve(schema), name, seen);
  }
  const gaps: string[] = [];
  const alternatives = [...(schema.anyOf ?? []), ...(schema.oneOf ?? []), ...(schema.allOf ?? [])];
  for (const alternative of alternatives) gaps.push(...gapsIn(alternative, path, seen));
  for (const [name, field] of Object.entries(schema.properties ?? {})) {
    const at = `${path}.${name}`;
    if (!hasDescription(field)) gaps.push(`${at}: no description`);
    if (!isComposite(field) && !hasExample(field)) gaps.push(`${at}: no example`);
    gaps.push(...gapsIn(field, at, seen));
  }
  if (typeof schema.additionalProperties === "object") {
    gaps.push(...gapsIn(schema.additionalProperties, `${path}.*`, seen));
  }
  if (schema.items !== undefined) gaps.push(...gapsIn(schema.items, `${path}[]`, seen));
  return gaps;
}

function parameterGaps(operationName: string, parameter: Parameter): string[] {
  if (parameter.$ref !== undefined) return []; // the shared headers in components, described there
  const at = `${operationName} ${parameter.in ?? "?"} parameter ${parameter.name ?? "?"}`;
  const gaps: string[] = [];
  if (parameter.description === undefined) gaps.push(`${at}: no description`);
  if (parameter.example === undefined && (parameter.schema === undefined || !hasExample(parameter.schema)))
    gaps.push(`${at}: no example`);
  return gaps;
}

describe("every field of every request and response in the OpenAPI document", () => {
  const operations = Object.entries(document.paths).flatMap(([path, byMethod]) =>
    Object.entries(byMethod).map(([method, operation]) => ({
      name: `${method.toUpperCase()} ${path}`,
      operation: operation as unknown as Operation,
    })),
  );

  it("walks a document with request bodies, responses and parameters to check", () => {
    expect(operations.length).toBeGreaterThan(30);
    expect(operations.filter((o) => o.operation.requestBody !== undefined).length).toBeGreaterThan(15);
  });

  it("has a description and an example for each", () => {
    const gaps: string[] = [];
    const seen = new Set<string>();
    for (const { name, operation } of operations) {
      for (const parameter of operation.parameters ?? []) gaps.push(...parameterGaps(name, parameter));
      const body = operation.requestBody?.content["application/json"]?.schema;
      if (body !== undefined) gaps.push(...gapsIn(body, `${name} request`, seen));
      for (const [status, response] of Object.entries(operation.responses)) {
        // Errors are shared responses in components (problem+json); successes are inline (JSON).
        const shared =
          response.$ref === undefined ? undefined : responses[response.$ref.slice(RESPONSE_REF.length)];
        for (const media of Object.values((shared ?? response).content ?? {})) {
          if (media.schema !== undefined) gaps.push(...gapsIn(media.schema, `${name} ${status}`, seen));
        }
      }
    }
    expect(gaps).toEqual([]);
  });

  it("finds a field left without a description or an example", () => {
    const bare: JsonSchema = {
      type: "object",
      properties: {
        described: { type: "string", description: "has both", examples: ["x"] },
        bare: { type: "string" },
        nested: { type: "object", description: "a group", properties: { inner: { type: "integer" } } },
      },
    };
    expect(gapsIn(bare, "sample")).toEqual([
      "sample.bare: no description",
      "sample.bare: no example",
      "sample.nested.inner: no description",
      "sample.nested.inner: no example",
    ]);
  });
});
