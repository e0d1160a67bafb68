import * as z from "zod/mini";
import { presets } from "../domain/presets/index.js";
import { tenantConfigInputSchema } from "../store/tenant-config-input.js";
import { tenantWrites } from "./http/dependencies.js";
import { tenantWriteDependencies } from "./http/tenant-write-dependencies.js";
import { createHandler, defineRoute } from "./http/middleware.js";
import { writeAtReadVersion } from "./http/tenant-write.js";
import { tenantSettingsViewSchema } from "./http/tenant-views.js";
import { about } from "../domain/about.js";
import { putConfigRoute } from "./routes.js";

const presetIds = Object.keys(presets);

/**
 * PUT /v1/config: choose the protocol (one of the shipped presets) and the authority's closure days.
 * The body is the configuration's input schema (the stored one with the email wording's rules), with
 * `protocolId` narrowed to the known presets.
 * Challenges already raised keep the protocol they were raised under. Only at the version read
 * (If-Match: the ETag of GET /v1/config or GET /v1/directory; http/tenant-write.ts).
 */
export const spec = defineRoute({
  route: putConfigRoute,
  body: z.extend(tenantConfigInputSchema, {
    protocolId: z
      .enum(presetIds)
      .check(z.meta(about("The protocol this authority runs: one of the shipped presets", "halton"))),
  }),
  response: {
    status: 200,
    description: "The settings as stored; the ETag is the new version",
    schema: tenantSettingsViewSchema,
  },
  handle: async ({ body, principal, event }, deps) => {
    const { value: config, headers } = await writeAtReadVersion(event.headers, (expected) =>
      tenantWrites(deps.tenants).writeConfig(principal.tenantId, body, expected),
    );
    const protocol = deps.protocols(config.protocolId);
    return {
      status: 200,
      headers,
      body: { config, protocol: protocol === undefined ? null : { id: protocol.id, name: protocol.name } },
    };
  },
});

export const handler = createHandler(spec, tenantWriteDependencies);
