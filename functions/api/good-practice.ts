import { ulid } from "ulid";
import * as z from "zod/mini";
import { TenantNotConfiguredError, UnknownProtocolError } from "../app/execute-command.js";
import { actorSchema, channelSchema } from "../domain/challenge/actor.js";
import { goodPracticeInputSchema, recordGoodPractice } from "../domain/good-practice.js";
import { about } from "../domain/about.js";
import { goodPracticeDependencies } from "./http/good-practice-dependencies.js";
import { createHandler, defineRoute } from "./http/middleware.js";
import { goodPracticeRoute } from "./routes.js";

/** The response: the notification as recorded. */
export const goodPracticeViewSchema = z
  .object({
    notification: z
      .extend(goodPracticeInputSchema, {
        id: z.string().check(z.meta(about("The notification's id", "01JV4M2A7B9C3D5E6F8G0H1J2K"))),
        protocolId: z.string().check(z.meta(about("The protocol it was recorded under", "halton"))),
        recordedAt: z.string().check(z.meta(about("When it was recorded", "2026-05-14T09:30:00.000Z"))),
        recordedBy: actorSchema.check(z.meta({ description: "Who recorded it" })),
        channel: channelSchema.check(z.meta(about("How it came: api or email", "api"))),
        recordedAs: z
          .enum(["case_note", "partner_email"])
          .check(z.meta(about("Kept as a case note, or emailed to a partner agency", "case_note"))),
      })
      .check(z.meta({ description: "The notification as recorded" })),
  })
  .check(z.meta({ id: "GoodPracticeResult" }));

/**
 * POST /v1/good-practice: record a good practice notification (its own small record, under the
 * tenant's current protocol). The domain checks the caller is a raiser and the protocol has them.
 */
export const spec = defineRoute({
  route: goodPracticeRoute,
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
    if (deps.goodPractice === undefined)
      throw new Error("the good practice store is not wired (ApiDependencies.goodPractice)");
    await deps.goodPractice.put(principal.tenantId, recorded);
    return { status: 201, body: { notification: recorded } };
  },
});

export const handler = createHandler(spec, goodPracticeDependencies);
