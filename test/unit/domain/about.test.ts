import * as z from "zod/mini";
import { describe, expect, it } from "vitest";
import { about, documentedLike } from "../../../functions/domain/about.js";

describe("documentedLike", () => {
  const request = z.strictObject({
    child: z
      .strictObject({
        name: z.string().check(z.trim(), z.minLength(1), z.meta(about("The child's name", "Ava Example"))),
      })
      .check(z.meta({ description: "The child" })),
    agency: z
      .optional(
        z.strictObject({
          id: z.string().check(z.minLength(1), z.meta(about("The agency's id", "health-trust"))),
        }),
      )
      .check(z.meta({ description: "A partner agency" })),
  });
  const stored = z.strictObject({
    child: z.strictObject({ name: z.string() }),
    agency: z.optional(z.strictObject({ id: z.string() })),
    extra: z.number(),
  });

  it("gives the stored shape the request's descriptions and examples, at every depth", () => {
    const json = z.toJSONSchema(documentedLike(stored, request), { io: "output" }) as {
      properties: Record<string, { description?: string; properties?: Record<string, unknown> }>;
    };
    expect(json.properties.child?.description).toBe("The child");
    expect(json.properties.child?.properties?.name).toMatchObject({
      description: "The child's name",
      examples: ["Ava Example"],
    });
    expect(json.properties.agency?.description).toBe("A partner agency");
    expect(json.properties.agency?.properties?.id).toMatchObject({ description: "The agency's id" });
    expect(json.properties.extra?.description).toBeUndefined();
  });

  it("keeps the stored shape's own validation: strict, no trimming, optional where it was", () => {
    const documented = documentedLike(stored, request);
    expect(documented.parse({ child: { name: " " }, extra: 1 })).toEqual({ child: { name: " " }, extra: 1 });
    expect(documented.safeParse({ child: { name: "A", typo: 1 }, extra: 1 }).success).toBe(false);
    expect(documented.safeParse({ child: { name: "A" }, extra: 1, other: true }).success).toBe(false);
  });
});
