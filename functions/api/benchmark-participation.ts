import * as z from "zod/mini";
import { TenantNotConfiguredError } from "../app/execute-command.js";
import { benchmarkDependencies } from "./http/benchmark-dependencies.js";
import { createHandler, defineRoute } from "./http/middleware.js";
import { benchmarkParticipationRoute } from "./routes.js";

/**
 * PUT /v1/benchmark/participation: the authority opts in to (or out of) the benchmark across
 * authorities, with the children it counts for "challenges per 100 children". Opting in lets the
 * benchmark job count this authority's quarterly figures into the anonymised distribution, and lets
 * it see that distribution; opting out stops both from the next publication. A setting, so a retry
 * stores the same thing again; the person who set it is recorded.
 */

const children = (what: string, example: number) =>
  z.optional(z.number().check(z.int(), z.gte(0), z.lte(1_000_000))).check(
    z.meta({
      description: `How many ${what} the authority counts (its latest published figure); unset: the per-100-children figure is left out`,
      example,
    }),
  );

export const participationBodySchema = z
  .strictObject({
    optedIn: z
      .boolean()
      .check(z.meta({ description: "Whether this authority takes part in the benchmark", example: true })),
    childrenLookedAfter: children("children looked after", 412),
    childrenOnProtectionPlans: children("children on child protection plans", 268),
  })
  .check(z.meta({ id: "BenchmarkParticipationRequest" }));

// The request's fields, not z.extend: that would copy the request's own id too.
export const participationViewSchema = z
  .strictObject({
    ...participationBodySchema.shape,
    updatedBy: z
      .string()
      .check(z.meta({ description: "The person who last changed it (their id)", example: "ism-01" })),
    updatedAt: z.iso
      .datetime()
      .check(z.meta({ description: "When it was last changed", example: "2026-12-04T10:15:00.000Z" })),
  })
  .check(
    z.meta({
      id: "BenchmarkParticipation",
      description: "The authority's benchmark participation as stored",
    }),
  );

export const spec = defineRoute({
  route: benchmarkParticipationRoute,
  body: participationBodySchema,
  response: { status: 200, description: "The participation as stored", schema: participationViewSchema },
  handle: async ({ body, principal }, deps) => {
    const { tenantId } = principal;
    if (deps.benchmark === undefined)
      throw new Error("the benchmark store is not wired (ApiDependencies.benchmark)");
    if ((await deps.tenants.getConfig(tenantId)) === undefined) throw new TenantNotConfiguredError(tenantId);
    const stored = await deps.benchmark.putParticipation(tenantId, {
      ...body,
      updatedBy: principal.actor.id,
      updatedAt: deps.clock().toISOString(),
    });
    return { status: 200, body: stored };
  },
});

export const handler = createHandler(spec, benchmarkDependencies);
