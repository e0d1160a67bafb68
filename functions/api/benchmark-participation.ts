import * as z from "zod";
import { TenantNotConfiguredError } from "../app/execute-command.js";
import { createHandler, defineRoute } from "./http/middleware.js";

/**
 * PUT /v1/benchmark/participation: the authority opts in to (or out of) the benchmark across
 * authorities, with the children it counts for "challenges per 100 children". Opting in lets the
 * benchmark job count this authority's quarterly figures into the anonymised distribution, and lets
 * it see that distribution; opting out stops both from the next publication. A setting, so a retry
 * stores the same thing again; the person who set it is recorded.
 */

const children = (what: string, example: number) =>
  z
    .number()
    .int()
    .min(0)
    .max(1_000_000)
    .optional()
    .meta({
      description: `How many ${what} the authority counts (its latest published figure); unset: the per-100-children figure is left out`,
      example,
    });

export const participationBodySchema = z
  .strictObject({
    optedIn: z
      .boolean()
      .meta({ description: "Whether this authority takes part in the benchmark", example: true }),
    childrenLookedAfter: children("children looked after", 412),
    childrenOnProtectionPlans: children("children on child protection plans", 268),
  })
  .meta({ id: "BenchmarkParticipationRequest" });

export const participationViewSchema = participationBodySchema
  .extend({
    updatedBy: z
      .string()
      .meta({ description: "The person who last changed it (their id)", example: "ism-01" }),
    updatedAt: z.iso
      .datetime()
      .meta({ description: "When it was last changed", example: "2026-12-04T10:15:00.000Z" }),
  })
  .meta({ id: "BenchmarkParticipation", description: "The authority's benchmark participation as stored" });

export const spec = defineRoute({
  routeId: "benchmark-participation",
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

export const handler = createHandler(spec);
