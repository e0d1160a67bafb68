import { ulid } from "ulid";
import { TenantNotConfiguredError, UnknownProtocolError } from "../app/execute-command.js";
import { goodPracticeInputSchema, recordGoodPractice } from "../domain/good-practice.js";
import { createHandler, defineRoute } from "./http/middleware.js";
import { goodPracticeViewSchema } from "./http/views.js";

/**
 * POST /v1/good-practice: record a good practice notification (its own small record, under the
 * tenant's current protocol). The domain checks the caller is a raiser and the protocol has them.
 */
export const spec = defineRoute({
  routeId: "good-practice",
  body: goodPracticeInputSchema,
  response: { status: 201, description: "The notification as recorded", schema: goodPracticeViewSchema },
  handle: async ({ body, principal }, deps) => {
    const config = await deps.tenants.getConfig(principal.tenantId);
    if (config === undefined) throw new TenantNotConfiguredError(principal.tenantId);
    const protocol = deps.protocols(config.protocolId);
    if (protocol === undefined) throw new UnknownProtocolError(config.protocolId);
    const recorded = recordGoodPractice(body, {
      protocol,
      actor: principal.actor,
      channel: "api",
      now: deps.clock(),
      newId: deps.newId ?? (() => ulid()),
    });
    if (recorded instanceof Error) throw recorded;
    await deps.goodPractice.put(principal.tenantId, recorded);
    return { status: 201, body: { notification: recorded } };
  },
});

export const handler = createHandler(spec);
