import type { ChallengeForm } from "./commands.js";
import type { ChallengeEvent, EscalationKind } from "./events.js";
import type { ChallengeState, OpenStage, Referral, StageVisit, TrackedAction } from "./state.js";

/**
 * The fold: `evolve(state, event)` applies one event, `replay(events)` many from the start.
 *
 * Total and deterministic: every event is applied whatever the state (an event that refers to a
 * stage that is not open changes nothing but the version), no clock, no randomness, never throws.
 * `decide` is what guarantees events only arrive in a sensible order.
 */

/**
 * Placeholder form of a challenge that does not exist yet (status "none"). The contract's state
 * type requires a form; nothing reads it until ChallengeRaised replaces it.
 */
const NO_FORM: ChallengeForm = {
  child: { name: "", dateOfBirth: "", caseRecordId: "", caseRecordSystem: "other" },
  track: "CP",
  raiserRole: "IRO",
  socialWorker: { name: "" },
  team: { id: "", name: "" },
  teamManagerName: "",
  worries: "",
  actionsTaken: "",
  impactOnChild: "",
  childViews: "",
  whatNeedsToHappen: "",
  desiredOutcome: "",
  timescale: "",
  themes: [],
  immediateRisk: false,
};

/**
 * The state before the first event: version 0, status "none". Only `challengeId`, `version` and
 * `status` are meaningful; the other fields are placeholders until the challenge is raised.
 */
export function initialState(challengeId: string): ChallengeState {
  return {
    challengeId,
    version: 0,
    status: "none",
    protocolId: "",
    track: NO_FORM.track,
    raiser: { id: "nobody", role: "system" },
    form: NO_FORM,
    raisedAt: "",
    safeguardingConcern: false,
    currentStage: null,
    history: [],
    lastExitedStageId: null,
    highestStageIndex: -1,
    actionPlan: null,
    referrals: [],
    differences: [],
    autoEscalations: 0,
  };
}

/** Leaves the open stage (if any): records the visit in the history and remembers it as last exited. */
function exitStage(
  state: ChallengeState,
  at: string,
  exit: EscalationKind | StageVisit["exit"],
): Pick<ChallengeState, "currentStage" | "history" | "lastExitedStageId"> {
  const stage = state.currentStage;
  if (stage === null) {
    return {
      currentStage: null,
      history: state.history,
      lastExitedStageId: state.lastExitedStageId,
    };
  }
  const visit: StageVisit = { stageId: stage.stageId, openedAt: stage.openedAt, exitedAt: at, exit };
  return { currentStage: null, history: [...state.history, visit], lastExitedStageId: stage.stageId };
}

/** Applies `change` to the open stage when it is the stage named, else leaves the state alone. */
function onStage(
  state: ChallengeState,
  stageId: string,
  change: (stage: OpenStage) => OpenStage,
): ChallengeState {
  const stage = state.currentStage;
  if (stage?.stageId !== stageId) return state;
  return { ...state, currentStage: change(stage) };
}

function onReferral(
  state: ChallengeState,
  kind: Referral["kind"],
  change: (referral: Referral) => Referral,
): ChallengeState {
  return { ...state, referrals: state.referrals.map((r) => (r.kind === kind ? change(r) : r)) };
}

function onAction(
  state: ChallengeState,
  actionId: string,
  change: (action: TrackedAction) => TrackedAction,
): ChallengeState {
  const plan = state.actionPlan;
  if (plan === null) return state;
  return {
    ...state,
    actionPlan: { ...plan, actions: plan.actions.map((a) => (a.id === actionId ? change(a) : a)) },
  };
}

function withoutResolvedAt(state: ChallengeState): ChallengeState {
  const { resolvedAt: _resolvedAt, ...rest } = state;
  return rest;
}

/** Applies one event. The version becomes the number of events folded so far. */
export function evolve(state: ChallengeState, event: ChallengeEvent): ChallengeState {
  const next = apply(state, event);
  return { ...next, version: state.version + 1 };
}

function apply(state: ChallengeState, event: ChallengeEvent): ChallengeState {
  switch (event.type) {
    case "ChallengeRaised":
      return {
        ...state,
        status: "open",
        protocolId: event.data.protocolId,
        track: event.data.track,
        raiser: event.data.raiser,
        form: event.data.form,
        raisedAt: event.at,
        safeguardingConcern: event.data.safeguardingConcern,
      };

    case "StageOpened": {
      const d = event.data;
      return {
        ...state,
        status: "open",
        currentStage: {
          stageId: d.stageId,
          stageIndex: d.stageIndex,
          via: d.via,
          openedAt: d.openedAt,
          deadline: d.deadline,
          assignee: d.assignee,
          coAssignees: d.coAssignees ?? [],
          copyTo: d.copyTo,
          responses: [],
          meetings: [],
        },
        highestStageIndex: Math.max(state.highestStageIndex, d.stageIndex),
      };
    }

    case "StageReassigned": {
      const { from, to } = event.data;
      return onStage(state, event.data.stageId, (s) => {
        // The cover has not seen the stage yet: an acknowledgement by the absent recipient is not theirs.
        const { acknowledgedAt: _acknowledgedAt, ...rest } = s;
        const passed = s.assignee.personId === from.personId;
        return {
          ...(passed ? rest : s),
          assignee: passed ? to : s.assignee,
          coAssignees: s.coAssignees.map((c) => (c.personId === from.personId ? to : c)),
          copyTo: [
            ...s.copyTo.filter((c) => c.personId !== from.personId && c.personId !== to.personId),
            from,
          ],
        };
      });
    }

    case "StageAcknowledged":
      return onStage(state, event.data.stageId, (s) => ({
        ...s,
        acknowledgedAt: s.acknowledgedAt ?? event.at,
        acknowledgements: [
          ...(s.acknowledgements ?? []),
          { personId: event.actor.id, at: event.at, channel: event.channel },
        ],
      }));

    case "ResponseRecorded":
      return onStage(state, event.data.stageId, (s) => ({
        ...s,
        responses: [...s.responses, { at: event.at, response: event.data.response }],
      }));

    case "MeetingRecorded": {
      const { heldOn, attendees, summary } = event.data;
      return onStage(state, event.data.stageId, (s) => ({
        ...s,
        meetings: [...s.meetings, { heldOn, attendees, summary }],
      }));
    }

    case "ActionPlanAgreed":
      return {
        ...state,
        ...exitStage(state, event.at, "plan_agreed"),
        status: "monitoring",
        actionPlan: {
          stageId: event.data.stageId,
          actions: event.data.actions.map((a) => ({ ...a, status: "open" as const })),
        },
      };

    case "Escalated": {
      const exhausted = event.data.toStageId === null;
      return {
        ...state,
        ...exitStage(state, event.at, event.data.kind),
        // The next stage's StageOpened follows in the same batch and sets the stage.
        status: exhausted ? "ladder_exhausted" : state.status,
        autoEscalations: state.autoEscalations + (event.data.kind === "no_response" ? 1 : 0),
      };
    }

    case "RaiserAlerted": {
      const { reason, decideBy } = event.data;
      return onStage(state, event.data.stageId, (s) => ({
        ...s,
        raiserAlertedAt: event.at,
        raiserAlertReason: reason,
        ...(decideBy === undefined ? {} : { raiserDecisionBy: decideBy }),
      }));
    }

    case "DeadlineShortened":
      return onStage(state, event.data.stageId, (s) => ({ ...s, deadline: event.data.deadline }));

    case "ReminderSent":
      return onStage(state, event.data.stageId, (s) => ({ ...s, remindedAt: event.at }));

    case "Resolved":
      return {
        ...state,
        ...exitStage(state, event.at, "resolved"),
        status: "resolved",
        resolvedAt: event.at,
      };

    case "ReferralRequested": {
      const referral: Referral = {
        kind: event.data.kind,
        status: "awaiting_approval",
        requestedAt: event.at,
        approvalsNeeded: event.data.approvalsNeeded,
        approvedBy: [],
      };
      return { ...state, referrals: [...state.referrals.filter((r) => r.kind !== referral.kind), referral] };
    }

    case "ReferralApproved":
      return onReferral(state, event.data.kind, (r) => ({
        ...r,
        approvedBy: [...r.approvedBy, event.data.approverRole],
      }));

    case "ReferralMade": {
      const kind = event.data.kind;
      if (!state.referrals.some((r) => r.kind === kind)) {
        const made: Referral = {
          kind,
          status: "made",
          requestedAt: event.at,
          approvalsNeeded: [],
          approvedBy: [],
        };
        return { ...state, referrals: [...state.referrals, made] };
      }
      return onReferral(state, kind, (r) => ({ ...r, status: "made" }));
    }

    case "ActionCompleted": {
      const note = event.data.note;
      return onAction(state, event.data.actionId, (a) => ({
        ...a,
        status: "completed",
        ...(note === undefined ? {} : { note }),
      }));
    }

    case "ActionMissed":
      return onAction(state, event.data.actionId, (a) => ({ ...a, status: "missed", note: event.data.note }));

    case "ActionsFellDue":
      return event.data.actionIds.reduce(
        (s, actionId) => onAction(s, actionId, (a) => ({ ...a, dueNotifiedAt: event.at })),
        state,
      );

    case "Reopened":
      // The StageOpened (via "reopened") that follows in the same batch sets the stage.
      return { ...withoutResolvedAt(state), status: "open" };

    case "DifferenceNoted":
      return {
        ...state,
        differences: [...state.differences, { at: event.at, summary: event.data.summary }],
      };

    case "DecisionRequested":
      return { ...state, pendingDecision: { ...event.data, requestedAt: event.at } };

    case "DecisionRecorded": {
      const { pendingDecision: _decided, ...rest } = state;
      return rest;
    }

    case "Withdrawn":
      return { ...state, ...exitStage(state, event.at, "withdrawn"), status: "withdrawn" };

    case "Closed":
      return { ...state, ...exitStage(state, event.at, "closed"), status: "closed", closedAt: event.at };

    case "LegalHoldPlaced":
      return { ...state, legalHold: { since: event.at, by: event.actor.id, reason: event.data.reason } };

    case "LegalHoldLifted": {
      const { legalHold: _lifted, ...rest } = state;
      return rest;
    }

    case "NotificationUndeliverable":
      // A fact about the mail, for the record: the challenge itself is where it was.
      return state;
  }
}

/** Folds events from the initial state. The challenge id comes from the first event. */
export function replay(events: readonly ChallengeEvent[], challengeId?: string): ChallengeState {
  const id = challengeId ?? events[0]?.challengeId ?? "";
  return events.reduce(evolve, initialState(id));
}
