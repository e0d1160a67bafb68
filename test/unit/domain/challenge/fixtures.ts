import { expect } from "vitest";
import { createEnglandCalendar } from "../../../../functions/domain/calendar.js";
import type {
  Actor,
  Assignee,
  ChallengeEvent,
  ChallengeForm,
  ChallengeState,
  Command,
  DecideContext,
  DecideResult,
  DomainErrorCode,
  DirectoryLookup,
  DirectoryScope,
} from "../../../../functions/domain/challenge/index.js";
import { decide, evolve, initialState } from "../../../../functions/domain/challenge/index.js";
import type { Protocol, Recipient } from "../../../../functions/domain/protocol.js";
import { parseProtocol } from "../../../../functions/domain/protocol-schema.js";

/**
 * Test fixtures: an invented protocol that exercises every rule of the model, an invented staff
 * directory and invented children. No real people.
 */

export const TEAM = { id: "team-a", name: "Riverside Family Support" };
export const PARTNER = { id: "health-trust", name: "Northgate Health Trust" };

export const testProtocol: Protocol = parseProtocol({
  id: "test-protocol",
  name: "Test Challenge Protocol",
  source: { file: "test", title: "Test" },
  raiserTitles: { IRO: "IRO", CPC: "CP Chair" },
  tracks: {
    CP: {
      track: "CP",
      stages: [
        {
          id: "informal",
          label: "Informal",
          title: "Informal discussion",
          informal: true,
          recipient: { role: "social_worker", title: "Social Worker" },
          copyTo: [{ role: "team_manager", title: "Team Manager" }],
          responseWindowWorkingDays: 5,
          meeting: false,
          onNoResponse: "escalate",
          caseNoteTitle: "Informal",
          citation: "informal citation",
        },
        {
          id: "stage-1",
          label: "Stage 1",
          title: "Stage 1 form",
          informal: false,
          recipient: { role: "team_manager", title: "Team Manager" },
          partnerRecipient: { role: "team_manager", title: "Partner Team Manager" },
          copyTo: [
            { role: "service_manager", title: "Service Manager" },
            { role: "iro_service_manager", title: "IRO Service Manager" },
            { role: "vacant_role", title: "Vacant Post" },
          ],
          responseWindowWorkingDays: 5,
          meeting: false,
          onNoResponse: "escalate",
          onNoResolution: { action: "escalate", citation: "stage 1 no-resolution citation" },
          caseNoteTitle: "Stage 1",
          citation: "stage 1 citation",
        },
        {
          id: "stage-2",
          label: "Stage 2",
          title: "Stage 2 form",
          informal: false,
          recipient: { role: "service_manager", title: "Service Manager" },
          copyTo: [],
          responseWindowWorkingDays: 5,
          meeting: true,
          onNoResponse: "escalate",
          // No onNoResolution: the default, ask the raiser. Two working days to decide.
          raiserDecisionWindow: { length: 2, unit: "working_days" },
          caseNoteTitle: "Stage 2",
          citation: "stage 2 citation",
        },
        {
          id: "stage-3",
          label: "Stage 3",
          title: "Stage 3 form",
          informal: false,
          recipient: { role: "head_of_service", title: "Head of Service" },
          copyTo: [],
          responseWindowWorkingDays: 10,
          meeting: true,
          onNoResponse: "alert_raiser",
          caseNoteTitle: "Stage 3",
          reopenAtStageId: "stage-2",
          citation: "stage 3 citation",
        },
      ],
      bypass: {
        IRO: { allowed: "any", citation: "the IRO may bypass any stage" },
        CPC: { allowed: "safeguarding_concern", citation: "chairs may bypass with safeguarding concerns" },
      },
      cafcass: {
        when: "any_point",
        raiserRoles: ["IRO"],
        approvalBy: [
          { role: "iro_service_manager", title: "IRO Service Manager" },
          { role: "head_of_safeguarding", title: "Head of Safeguarding" },
        ],
        attestations: [{ id: "legal_advice", text: "Independent legal advice has been sought" }],
        concurrentWithEscalation: false,
        recipient: { role: "cafcass", title: "Cafcass" },
        documents: ["The care plan"],
        citation: "a clear rationale for not pursuing the escalation",
      },
      partnership: {
        when: "after_final_stage",
        raiserRoles: ["IRO", "CPC"],
        approvalBy: [],
        attestations: [],
        concurrentWithEscalation: true,
        recipient: { role: "safeguarding_partnership", title: "Safeguarding Partnership" },
        documents: [],
        citation: "refer to the partnership when unresolved",
      },
      difference: {
        decidedBy: { role: "assistant_director", title: "Assistant Director" },
        window: { length: 10, unit: "working_days" },
        citation: "note the difference",
      },
      endOfLadderGuidance: { CPC: "Discuss next steps with your Service Manager." },
    },
    LAC: {
      track: "LAC",
      stages: [
        {
          id: "lac-1",
          label: "Level 1",
          title: "Level 1",
          informal: false,
          recipient: { role: "team_manager", title: "Team Manager" },
          copyTo: [],
          responseWindowWorkingDays: 5,
          meeting: false,
          onNoResponse: "escalate",
          caseNoteTitle: "Level 1",
          citation: "level 1",
        },
        {
          id: "lac-2",
          label: "Level 2",
          title: "Level 2",
          informal: false,
          recipient: { role: "service_manager", title: "Service Manager" },
          copyTo: [],
          responseWindowWorkingDays: 5,
          meeting: false,
          onNoResponse: "escalate",
          caseNoteTitle: "Level 2",
          citation: "level 2",
        },
        {
          id: "lac-3",
          label: "Level 3",
          title: "Level 3",
          informal: false,
          recipient: { role: "director", title: "Director" },
          copyTo: [],
          responseWindowWorkingDays: 5,
          meeting: false,
          onNoResponse: "escalate",
          caseNoteTitle: "Level 3",
          citation: "level 3",
        },
      ],
      bypass: {
        IRO: { allowed: "never", citation: "each stage must be followed" },
        CPC: { allowed: "immediate_risk", citation: "only at immediate risk of significant harm" },
      },
      cafcass: {
        when: "any_point",
        raiserRoles: ["IRO"],
        approvalBy: [],
        attestations: [],
        concurrentWithEscalation: true,
        recipient: { role: "cafcass", title: "Cafcass" },
        documents: [],
        citation: "concurrent referral allowed",
      },
      endOfLadderGuidance: {},
    },
  },
  themes: [
    { id: "drift", label: "Drift and delay" },
    { id: "voice_of_child", label: "Voice of the child" },
  ],
  reminderWorkingDaysBeforeDeadline: 1,
  goodPracticeNotifications: true,
});

export const IRO: Actor = { id: "iro-ada", role: "IRO" };
export const CPC: Actor = { id: "cpc-bea", role: "CPC" };
export const OTHER_IRO: Actor = { id: "iro-cal", role: "IRO" };
export const ISM: Actor = { id: "ism-dee", role: "iro_service_manager" };
export const TIMER: Actor = { id: "workflow-timer", role: "system" };
export const STRANGER: Actor = { id: "someone-else", role: "manager" };

/** The invented person holding `role` for a team or partner agency: id `role@scope`. */
export function personId(role: string, scope: string = TEAM.id): string {
  return `${role}@${scope}`;
}

export function manager(role: string, scope: string = TEAM.id): Actor {
  return {
    id: personId(role, scope),
    role: role === "iro_service_manager" ? "iro_service_manager" : "manager",
  };
}

/** An invented directory: everyone holds their role except those listed as vacant. */
export function directory(vacant: readonly string[] = ["vacant_role"]): DirectoryLookup {
  const lookup = (recipient: Recipient, scope: DirectoryScope): Assignee | undefined => {
    if (vacant.includes(recipient.role)) return undefined;
    const where = scope.partnerAgencyId ?? scope.teamId;
    return {
      role: recipient.role,
      title: recipient.title,
      personId: personId(recipient.role, where),
      email: `${recipient.role}.${where}@example.org`,
    };
  };
  const standing = (id: string, role: string, scope: DirectoryScope) =>
    !vacant.includes(role) && id === personId(role, scope.partnerAgencyId ?? scope.teamId)
      ? ("holder" as const)
      : undefined;
  return Object.assign(lookup, { standing });
}

export const calendar = createEnglandCalendar();

export function context(
  now: string | Date,
  options: { protocol?: Protocol; vacant?: readonly string[]; ids?: () => string } = {},
): DecideContext {
  let n = 0;
  return {
    protocol: options.protocol ?? testProtocol,
    calendar,
    directory: directory(options.vacant),
    now: typeof now === "string" ? new Date(now) : now,
    newId: options.ids ?? (() => `action-${++n}`),
  };
}

export function form(overrides: Partial<ChallengeForm> = {}): ChallengeForm {
  return {
    child: {
      name: "Test Child Alpha",
      dateOfBirth: "2015-03-14",
      caseRecordId: "LCS-000123",
      caseRecordSystem: "LCS",
    },
    track: "CP",
    raiserRole: "IRO",
    socialWorker: { name: "Sam Example" },
    team: TEAM,
    teamManagerName: "Tam Example",
    worries: "Core group meetings have not taken place for eight weeks.",
    actionsTaken: "Discussed with the social worker on two occasions.",
    impactOnChild: "The plan is drifting and the child is not being seen.",
    childViews: "Wants to know who their social worker is.",
    whatNeedsToHappen: "Core group to meet within ten days.",
    desiredOutcome: "Plan progressed and child seen fortnightly.",
    timescale: "Ten working days.",
    themes: ["drift"],
    immediateRisk: false,
    ...overrides,
  };
}

export const ID = "ch-0001";

type Base = { challengeId: string; actor: Actor; channel: Command["channel"] };
export function base(actor: Actor, channel: Command["channel"] = "api"): Base {
  return { challengeId: ID, actor, channel };
}

export function raiseCommand(
  overrides: Partial<Extract<Command, { type: "Raise" }>> = {},
  formOverrides: Partial<ChallengeForm> = {},
): Command {
  return { type: "Raise", ...base(IRO), form: form(formOverrides), ...overrides };
}

/** Decides and, when accepted, folds: the state after the command and the events it produced. */
export function step(
  state: ChallengeState,
  command: Command,
  ctx: DecideContext,
): { state: ChallengeState; events: ChallengeEvent[]; result: DecideResult } {
  const result = decide(state, command, ctx);
  if (!result.ok) return { state, events: [], result };
  return { state: result.events.reduce(evolve, state), events: result.events, result };
}

/** Like step, but fails the test when the command is refused. */
export function accepted(state: ChallengeState, command: Command, ctx: DecideContext): ChallengeState {
  const { result, state: next } = step(state, command, ctx);
  if (!result.ok)
    throw new Error(
      `expected ${command.type} to be accepted, got ${result.error.code}: ${result.error.message}`,
    );
  return next;
}

export function expectRefused(result: DecideResult, code: DomainErrorCode, message: RegExp): void {
  expect(result.ok).toBe(false);
  if (result.ok) return;
  expect(result.error.code).toBe(code);
  expect(result.error.message).toMatch(message);
}

export function eventsOf(result: DecideResult): ChallengeEvent[] {
  if (!result.ok) throw new Error(`refused: ${result.error.code}: ${result.error.message}`);
  return result.events;
}

export const RAISED_AT = "2026-05-21T09:00:00Z"; // Thursday 21 May 2026

/** A CP challenge raised by the IRO at the informal stage of the test protocol. */
export function raised(
  overrides: Partial<Extract<Command, { type: "Raise" }>> = {},
  formOverrides: Partial<ChallengeForm> = {},
): ChallengeState {
  return accepted(initialState(ID), raiseCommand(overrides, formOverrides), context(RAISED_AT));
}
