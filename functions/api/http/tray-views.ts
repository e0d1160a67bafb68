import * as z from "zod/mini";
import type { ChallengeState } from "../../domain/challenge/state.js";
import type { Protocol } from "../../domain/protocol.js";
import type { Page, TrayQuery } from "../../store/ports.js";
import { challengeStateSchema } from "../../store/items.js";
import { actorRoleSchema } from "../../domain/challenge/actor.js";
import { about } from "../../domain/about.js";

/** What the tray routes return (a page of challenges, ids and deadlines only), and their paging. */

export const trayItemSchema = z
  .object({
    challengeId: z.string().check(z.meta(about("The challenge's id", "01JV4K8Z3M6N2P9Q5R7S1T3W4X"))),
    status: challengeStateSchema.shape.status,
    track: challengeStateSchema.shape.track,
    protocolId: z.string().check(z.meta(about("The protocol it runs under", "halton"))),
    caseRecordId: z.string().check(z.meta(about("The child's id in the case-record system", "MOS-4821"))),
    teamId: z.string().check(z.meta(about("The team whose work it is about", "team-east"))),
    raisedAt: z.string().check(z.meta(about("When it was raised", "2026-05-14T09:30:00.000Z"))),
    raiserRole: actorRoleSchema.check(z.meta(about("IRO or CPC", "IRO"))),
    stage: z
      .nullable(
        z.object({
          stageId: z.string().check(z.meta(about("The open stage's id", "stage_1"))),
          label: z.string().check(z.meta(about("Its label in the protocol", "Stage 1"))),
          deadline: z
            .string()
            .check(z.meta(about("When it must be resolved by", "2026-05-21T16:00:00.000Z"))),
          assigneePersonId: z.string().check(z.meta(about("Who must answer", "pm-east-lena"))),
          assigneeTitle: z.string().check(z.meta(about("Their title in the protocol", "Principal Manager"))),
          acknowledged: z.boolean().check(z.meta(about("Whether the recipient has acknowledged it", true))),
          responded: z
            .boolean()
            .check(z.meta(about("Whether a response has been recorded at this stage", false))),
          overdue: z.boolean().check(z.meta(about("Whether the deadline has passed", false))),
          /**
           * Whose move it is: the recipient's, or (the deadline passed and the protocol put it to
           * them) the raiser's decision: resolve, or escalate with reasons.
           */
          awaiting: z
            .enum(["recipient", "raiser_decision"])
            .check(
              z.meta(
                about(
                  "Whose move it is: the recipient's, or the raiser's decision (resolve, or escalate with reasons)",
                  "recipient",
                ),
              ),
            ),
          /** When the raiser was asked to decide by; the stage escalates by itself after it. */
          raiserDecisionBy: z
            .optional(z.string())
            .check(
              z.meta(
                about(
                  "When the raiser must decide by; it escalates by itself after",
                  "2026-05-22T16:00:00.000Z",
                ),
              ),
            ),
        }),
      )
      .check(z.meta({ description: "The open stage; null when none is" })),
    /** After the last stage: the decision the protocol owes (000's AD, 003's partnership manager), until made. */
    decision: z
      .optional(
        z.object({
          deciderTitle: z.string().check(z.meta(about("The deciding role's title", "Assistant Director"))),
          deciderPersonId: z.string().check(z.meta(about("Who holds it", "od-tomas"))),
          dueBy: z.string().check(z.meta(about("When the decision is due", "2026-06-12T16:00:00.000Z"))),
          overdue: z.boolean().check(z.meta(about("Whether it is past due", false))),
        }),
      )
      .check(
        z.meta({ description: "After the last stage: the decision the protocol owes, until it is made" }),
      ),
  })
  .check(
    z.meta({
      id: "TrayItem",
      description:
        "A challenge in a work tray: ids, stage and deadline only (open the challenge for details)",
    }),
  );
export type TrayItem = z.infer<typeof trayItemSchema>;

/**
 * Paging for every tray: `limit` (1-100, default 25) and the `next` a previous page returned. The
 * query parameter and the response field share the name `next`, so an integrator passes the value
 * back as it came. Strict: a misspelt or retired parameter (`cursor`) is refused, not read as "first page".
 */
export const trayQuerySchema = z.strictObject({
  limit: z
    .optional(z.coerce.number().check(z.int(), z.gte(1), z.lte(100)))
    .check(z.meta({ description: "Items per page, 1 to 100; default 25", examples: [25] })),
  next: z.optional(z.string().check(z.minLength(1), z.maxLength(2048))).check(
    z.meta({
      description: "The `next` value of the previous page, as it came; omit for the first page",
      examples: ["eyJwayI6IlQjaGFsdG9uI0NIIzAxSiJ9"],
    }),
  ),
});

/** The API's paging words for the store's tray query (the store calls the position a cursor). */
export function trayQuery(query: z.infer<typeof trayQuerySchema>): TrayQuery {
  return {
    ...(query.limit === undefined ? {} : { limit: query.limit }),
    ...(query.next === undefined ? {} : { cursor: query.next }),
  };
}

export const trayPageSchema = z
  .object({
    items: z.array(trayItemSchema).check(z.meta({ description: "This page's challenges" })),
    next: z.optional(z.string()).check(
      z.meta({
        description: "Pass as the `next` query parameter for the following page; absent on the last page",
        examples: ["eyJwayI6IlQjaGFsdG9uI0NIIzAxSiJ9"],
      }),
    ),
  })
  .check(
    z.meta({
      id: "TrayPage",
      description:
        "A page of a work tray; pass `next` back as the `next` query parameter for the following page",
    }),
  );

/** "Stage 2" for a stage id, from the challenge's protocol when known. */
export type StageLabeller = (stageId: string) => string;

export function stageLabeller(protocol: Protocol | undefined): StageLabeller {
  const labels = new Map<string, string>();
  for (const track of Object.values(protocol?.tracks ?? {})) {
    for (const stage of track.stages) labels.set(stage.id, stage.label);
  }
  return (stageId) => labels.get(stageId) ?? stageId;
}

export function trayItem(state: ChallengeState, now: Date, label: StageLabeller): TrayItem {
  const stage = state.currentStage;
  const pending = state.pendingDecision;
  return {
    ...(pending === undefined
      ? {}
      : {
          decision: {
            deciderTitle: pending.decidedBy.title,
            deciderPersonId: pending.personId,
            dueBy: pending.dueBy,
            overdue: Date.parse(pending.dueBy) < now.getTime(),
          },
        }),
    challengeId: state.challengeId,
    status: state.status,
    track: state.track,
    protocolId: state.protocolId,
    caseRecordId: state.form.child.caseRecordId,
    teamId: state.form.team.id,
    raisedAt: state.raisedAt,
    raiserRole: state.raiser.role,
    stage:
      stage === null
        ? null
        : {
            stageId: stage.stageId,
            label: label(stage.stageId),
            deadline: stage.deadline,
            assigneePersonId: stage.assignee.personId,
            assigneeTitle: stage.assignee.title,
            acknowledged: stage.acknowledgedAt !== undefined,
            responded: stage.responses.length > 0,
            overdue: Date.parse(stage.deadline) < now.getTime(),
            awaiting: stage.raiserAlertedAt === undefined ? "recipient" : "raiser_decision",
            ...(stage.raiserDecisionBy === undefined ? {} : { raiserDecisionBy: stage.raiserDecisionBy }),
          },
  };
}

export function trayPage(
  page: Page<ChallengeState>,
  now: Date,
  protocols: (id: string) => Protocol | undefined,
): z.infer<typeof trayPageSchema> {
  const labellers = new Map<string, StageLabeller>();
  const labelFor = (protocolId: string): StageLabeller => {
    let labeller = labellers.get(protocolId);
    if (labeller === undefined) {
      labeller = stageLabeller(protocols(protocolId));
      labellers.set(protocolId, labeller);
    }
    return labeller;
  };
  return {
    items: page.items.map((state) => trayItem(state, now, labelFor(state.protocolId))),
    ...(page.next === undefined ? {} : { next: page.next }),
  };
}
