import * as z from "zod";
import type { ChallengeEvent } from "../../domain/challenge/events.js";
import type { ChallengeState } from "../../domain/challenge/state.js";
import { timedOutWords } from "../../domain/challenge/timer.js";
import type { Protocol } from "../../domain/protocol.js";
import type { Page, TrayQuery } from "../../store/ports.js";
import { challengeStateSchema } from "../../store/items.js";
import { actorRoleSchema, actorSchema, channelSchema } from "../../domain/challenge/actor.js";
import { goodPracticeInputSchema } from "../../domain/good-practice.js";
import { staffMemberSchema, tenantConfigSchema } from "../../store/tenant-store.js";

/**
 * What the API returns, and the zod schemas the OpenAPI document shows for it.
 *
 * Timeline summaries are one plain-English line per event, written for a social worker. They name
 * stages and roles, never people or the child: the full details are in the challenge itself.
 */

export const challengeSchema = challengeStateSchema.meta({
  id: "Challenge",
  description: "A challenge's current state (its snapshot)",
});

export const timelineEntrySchema = z
  .object({
    seq: z.number().int().min(1),
    type: z.string(),
    at: z.iso.datetime({ offset: true }),
    actorRole: actorRoleSchema,
    channel: channelSchema,
    summary: z.string(),
  })
  .meta({ id: "TimelineEntry", description: "One event of a challenge, in order, in plain words" });
export type TimelineEntry = z.infer<typeof timelineEntrySchema>;

export const challengeWithTimelineSchema = z
  .object({ challenge: challengeSchema, timeline: z.array(timelineEntrySchema) })
  .meta({ id: "ChallengeWithTimeline" });

export const commandResultSchema = z
  .object({
    challenge: challengeSchema,
    /** The events this request recorded (none when it changed nothing). */
    events: z.array(timelineEntrySchema),
  })
  .meta({ id: "CommandResult", description: "The challenge after the command, and the events it recorded" });

export const trayItemSchema = z
  .object({
    challengeId: z.string(),
    status: challengeStateSchema.shape.status,
    track: challengeStateSchema.shape.track,
    protocolId: z.string(),
    caseRecordId: z.string(),
    teamId: z.string(),
    raisedAt: z.string(),
    raiserRole: actorRoleSchema,
    stage: z
      .object({
        stageId: z.string(),
        label: z.string(),
        deadline: z.string(),
        assigneePersonId: z.string(),
        assigneeTitle: z.string(),
        acknowledged: z.boolean(),
        responded: z.boolean(),
        overdue: z.boolean(),
        /**
         * Whose move it is: the recipient's, or (the deadline passed and the protocol put it to
         * them) the raiser's decision: resolve, or escalate with reasons.
         */
        awaiting: z.enum(["recipient", "raiser_decision"]),
        /** When the raiser was asked to decide by; the stage escalates by itself after it. */
        raiserDecisionBy: z.string().optional(),
      })
      .nullable(),
    /** After the last stage: the decision the protocol owes (000's AD, 003's partnership manager), until made. */
    decision: z
      .object({
        deciderTitle: z.string(),
        deciderPersonId: z.string(),
        dueBy: z.string(),
        overdue: z.boolean(),
      })
      .optional(),
  })
  .meta({
    id: "TrayItem",
    description: "A challenge in a work tray: ids, stage and deadline only (open the challenge for details)",
  });
export type TrayItem = z.infer<typeof trayItemSchema>;

/**
 * Paging for every tray: `limit` (1-100, default 25) and the `next` a previous page returned. The
 * query parameter and the response field share the name `next`, so an integrator passes the value
 * back as it came. Strict: a misspelt or retired parameter (`cursor`) is refused, not read as "first page".
 */
export const trayQuerySchema = z.strictObject({
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(100)
    .optional()
    .meta({ description: "Items per page, 1 to 100; default 25", examples: [25] }),
  next: z
    .string()
    .min(1)
    .max(2048)
    .optional()
    .meta({
      description: "The `next` value of the previous page, as it came; omit for the first page",
      examples: ["eyJwayI6IlQjaGFsdG9uI0NIIzAxSiJ9"],
    }),
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
    items: z.array(trayItemSchema),
    next: z
      .string()
      .optional()
      .meta({
        description: "Pass as the `next` query parameter for the following page; absent on the last page",
        examples: ["eyJwayI6IlQjaGFsdG9uI0NIIzAxSiJ9"],
      }),
  })
  .meta({
    id: "TrayPage",
    description:
      "A page of a work tray; pass `next` back as the `next` query parameter for the following page",
  });

const london = new Intl.DateTimeFormat("en-GB", {
  timeZone: "Europe/London",
  day: "numeric",
  month: "long",
  year: "numeric",
  hour: "2-digit",
  minute: "2-digit",
});

function londonTime(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : london.format(date);
}

/** "Stage 2" for a stage id, from the challenge's protocol when known. */
export type StageLabeller = (stageId: string) => string;

export function stageLabeller(protocol: Protocol | undefined): StageLabeller {
  const labels = new Map<string, string>();
  for (const track of Object.values(protocol?.tracks ?? {})) {
    for (const stage of track.stages) labels.set(stage.id, stage.label);
  }
  return (stageId) => labels.get(stageId) ?? stageId;
}

const REFERRAL_TO = { cafcass: "Cafcass", partnership: "the safeguarding partnership" } as const;

/** One plain-English line for an event. */
export function summarise(event: ChallengeEvent, label: StageLabeller): string {
  switch (event.type) {
    case "ChallengeRaised":
      return `${event.data.raiser.role} raised a challenge about the ${event.data.track === "CP" ? "child protection" : "looked-after child's"} plan${event.data.bypassRationale === undefined ? "" : ", starting above the first stage"}${event.data.safeguardingConcern ? " (safeguarding concern)" : ""}`;
    case "StageOpened": {
      const how = {
        raised: "opened",
        escalated: "opened on escalation",
        auto_escalated: "opened automatically after no response",
        bypassed: "opened by bypass",
        reopened: "reopened",
      }[event.data.via];
      const to = [event.data.assignee, ...(event.data.coAssignees ?? [])].map((a) => `the ${a.title}`);
      const notCopied = (event.data.notCopied ?? []).map((r) => r.title);
      return `${label(event.data.stageId)} ${how} for ${to.join(" and ")}; response due by ${londonTime(event.data.deadline)}${notCopied.length === 0 ? "" : `; not copied: no holder: ${notCopied.join(", ")}`}`;
    }
    case "StageAcknowledged":
      return `${label(event.data.stageId)} acknowledged by the ${event.actor.role} (${event.channel})`;
    case "ResponseRecorded":
      return `The ${event.actor.role} responded at ${label(event.data.stageId)}`;
    case "MeetingRecorded":
      return `Meeting on ${event.data.heldOn} recorded at ${label(event.data.stageId)} (${event.data.attendees.length} attending)`;
    case "ActionPlanAgreed":
      return `Action plan agreed at ${label(event.data.stageId)} with ${event.data.actions.length} ${event.data.actions.length === 1 ? "action" : "actions"}`;
    case "Escalated": {
      const to =
        event.data.toStageId === null
          ? "beyond the last stage: the ladder is exhausted"
          : `to ${label(event.data.toStageId)}`;
      const from = label(event.data.fromStageId);
      if (event.data.kind === "no_response")
        return `${timedOutWords(event.data.timedOut)}: moved automatically from ${from} ${to}`;
      if (event.data.kind === "bypass") return `Bypassed from ${from} ${to}`;
      return `Escalated from ${from} ${to}`;
    }
    case "RaiserAlerted":
      return `${timedOutWords(event.data.reason)} at ${label(event.data.stageId)}: the raiser was alerted to decide the next step${event.data.decideBy === undefined ? "" : ` by ${londonTime(event.data.decideBy)}, or it escalates automatically`}`;
    case "DeadlineShortened":
      return `Window shortened at ${label(event.data.stageId)}: now due by ${londonTime(event.data.deadline)} (was ${londonTime(event.data.previousDeadline)})`;
    case "ReminderSent":
      return `Reminder sent: a response at ${label(event.data.stageId)} is due by ${londonTime(event.data.deadline)}`;
    case "Resolved":
      return event.data.stageId === null ? "Resolved" : `Resolved at ${label(event.data.stageId)}`;
    case "ReferralRequested": {
      const approvals = event.data.approvalsNeeded.length;
      return `Referral to ${REFERRAL_TO[event.data.kind]} requested${approvals === 0 ? "" : `, awaiting approval by ${event.data.approvalsNeeded.map((r) => `the ${r.title}`).join(" and ")}`}`;
    }
    case "ReferralApproved":
      return `Referral to ${REFERRAL_TO[event.data.kind]} approved by the ${event.data.approverRole}`;
    case "ReferralMade":
      return `Referral made to ${REFERRAL_TO[event.data.kind]} (${event.data.recipient.title})`;
    case "ActionCompleted":
      return "An agreed action was recorded as done";
    case "ActionMissed":
      return "An agreed action was recorded as not done";
    case "ActionsFellDue": {
      const n = event.data.actionIds.length;
      return `${n} agreed ${n === 1 ? "action" : "actions"} fell due: the raiser was asked whether ${n === 1 ? "it was" : "they were"} done`;
    }
    case "Reopened":
      return `Reopened at ${label(event.data.atStageId)}`;
    case "DifferenceNoted":
      return `The raiser maintains their position; the difference is noted for the ${event.data.decidedBy.title} to decide`;
    case "DecisionRequested":
      return `The ${event.data.decidedBy.title}'s decision is awaited by ${new Date(event.data.dueBy).toISOString().slice(0, 10)}`;
    case "DecisionRecorded":
      return `The ${event.data.decidedBy.title} decided: ${event.data.upheld ? "upheld" : "not upheld"}`;
    case "Withdrawn":
      return "Withdrawn by the raiser";
    case "Closed":
      return "Closed";
    case "LegalHoldPlaced":
      return "Legal hold placed: the record will not be deleted at the end of its retention period";
    case "LegalHoldLifted":
      return "Legal hold lifted";
  }
}

export function timelineEntry(event: ChallengeEvent, label: StageLabeller): TimelineEntry {
  return {
    seq: event.seq,
    type: event.type,
    at: event.at,
    actorRole: event.actor.role,
    channel: event.channel,
    summary: summarise(event, label),
  };
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

export const tenantSettingsViewSchema = z
  .object({
    config: tenantConfigSchema,
    protocol: z.object({ id: z.string(), name: z.string() }).nullable(),
  })
  .meta({ id: "TenantSettings", description: "The tenant's configuration and the protocol it names" });

export const staffMemberViewSchema = z
  .object({ member: staffMemberSchema })
  .meta({ id: "StaffMemberResult" });

export const directoryViewSchema = z
  .object({ staff: z.array(staffMemberSchema) })
  .meta({ id: "Directory", description: "The staff directory" });

export const goodPracticeViewSchema = z
  .object({
    notification: goodPracticeInputSchema.extend({
      id: z.string(),
      protocolId: z.string(),
      recordedAt: z.string(),
      recordedBy: actorSchema,
      channel: channelSchema,
      recordedAs: z.enum(["case_note", "partner_email"]),
    }),
  })
  .meta({ id: "GoodPracticeResult" });
