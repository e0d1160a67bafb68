import * as z from "zod/mini";
import { protocolGuide } from "../domain/protocol-guide.js";
import { deadlineActionSchema, windowSchema } from "../domain/protocol.js";
import { createHandler, defineRoute, etagOf } from "./http/middleware.js";
import { problems } from "./http/problem.js";
import { tenantSettingsViewSchema } from "./http/tenant-views.js";
import { getConfigRoute } from "./routes.js";

const recipient = z
  .object({
    role: z.string().check(z.meta({ description: "The directory role", examples: ["team_manager"] })),
    title: z
      .string()
      .check(z.meta({ description: "The protocol's own words for it", examples: ["Team Manager"] })),
  })
  .check(z.meta({ id: "LadderRecipient", description: "A role the protocol sends work to" }));

const ladderStage = z
  .object({
    id: z
      .string()
      .check(z.meta({ description: "The stage id (startAtStageId, toStageId)", examples: ["level_2"] })),
    label: z.string().check(z.meta({ description: "Short label", examples: ["Level 2"] })),
    title: z
      .string()
      .check(z.meta({ description: "The protocol's name for the stage", examples: ["Service Manager"] })),
    recipient,
    partnerRecipient: z.nullable(recipient).check(
      z.meta({
        description:
          "Who receives it instead when the challenge is with a partner agency; null: no difference",
      }),
    ),
    coRecipients: z.array(recipient).check(
      z.meta({
        description: "Co-equal recipients beside `recipient`: each is sent the stage and may answer it",
      }),
    ),
    copyTo: z.array(recipient).check(z.meta({ description: "Who is copied in" })),
    window: windowSchema.check(
      z.meta({
        description:
          "The time to resolve the stage, from the day after it opens, ending at close of business",
        examples: [{ length: 5, unit: "working_days" }],
      }),
    ),
    onNoResponse: deadlineActionSchema.check(
      z.meta({
        description:
          "What happens at the deadline when nobody responded: escalate by itself; ask_raiser (the raiser resolves or escalates within a decision window, else it escalates by itself); alert_raiser",
        examples: ["escalate"],
      }),
    ),
    onNoResolution: deadlineActionSchema.check(
      z.meta({
        description: "What happens at the deadline when a response came but the stage was not resolved",
        examples: ["ask_raiser"],
      }),
    ),
  })
  .check(z.meta({ id: "LadderStage", description: "One stage of a track's ladder" }));

const guideSchema = z
  .object({
    id: z.string().check(z.meta({ description: "The protocol (preset) id", examples: ["halton"] })),
    name: z.string().check(
      z.meta({
        description: "The protocol's title",
        examples: ["Halton: IRM Dispute Resolution process for Child Protection and Looked After Children"],
      }),
    ),
    tracks: z
      .array(
        z.object({
          track: z
            .enum(["CP", "LAC"])
            .check(z.meta({ description: "Child protection or looked-after children", examples: ["LAC"] })),
          stages: z.array(ladderStage).check(z.meta({ description: "The ladder, first stage first" })),
        }),
      )
      .check(z.meta({ description: "Each track the protocol covers" })),
    themes: z
      .array(
        z.object({
          id: z.string().check(
            z.meta({
              description: "Theme id, as `themes` in a raise",
              examples: ["poor_partnership_working"],
            }),
          ),
          label: z
            .string()
            .check(
              z.meta({ description: "Its label", examples: ["Poor partnership working amongst agencies"] }),
            ),
        }),
      )
      .check(z.meta({ description: "The themes a challenge may be tagged with" })),
    roles: z
      .array(recipient)
      .check(z.meta({ description: "Every role the staff directory must hold for this protocol" })),
  })
  .check(
    z.meta({
      id: "ProtocolGuide",
      description: "The protocol's ladders, themes and roles, for setting up and raising",
    }),
  );

// The settings' fields, not z.extend: that would copy the settings' own id ("TenantSettings") too.
const responseSchema = z
  .object({
    ...tenantSettingsViewSchema.shape,
    guide: z
      .nullable(guideSchema)
      .check(z.meta({ description: "null when the protocol id is not a shipped one" })),
  })
  .check(
    z.meta({
      id: "TenantSettingsWithGuide",
      description: "The tenant's configuration, its protocol and that protocol's guide",
    }),
  );

/**
 * GET /v1/config: the tenant's protocol choice and calendar settings, and the protocol's ladders,
 * themes and roles. The ETag is the tenant's configuration and directory version, read first (as
 * for GET /v1/directory): send it as If-Match to PUT /v1/config.
 */
export const spec = defineRoute({
  route: getConfigRoute,
  response: {
    status: 200,
    description: "The tenant's settings; the ETag is the version to write at",
    schema: responseSchema,
  },
  handle: async ({ principal }, deps) => {
    const version = await deps.tenants.version(principal.tenantId);
    const config = await deps.tenants.getConfig(principal.tenantId);
    if (config === undefined) {
      throw problems.notFound("This authority has not set up its protocol yet (PUT /v1/config).");
    }
    const protocol = deps.protocols(config.protocolId);
    return {
      status: 200,
      headers: { etag: etagOf(version) },
      body: {
        config,
        protocol: protocol === undefined ? null : { id: protocol.id, name: protocol.name },
        guide: protocol === undefined ? null : protocolGuide(protocol),
      },
    };
  },
});

export const handler = createHandler(spec);
