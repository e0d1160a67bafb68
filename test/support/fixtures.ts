import type { Actor } from "../../functions/domain/challenge/actor.js";
import type { ChallengeForm } from "../../functions/domain/challenge/commands.js";
import type { Assignee, ChallengeEvent, StageOpened } from "../../functions/domain/challenge/events.js";
import type { ChallengeState, OpenStage } from "../../functions/domain/challenge/state.js";

/**
 * Test data for the store: challenge states and the events that lead to them, built by hand (the
 * store stores what it is given; the domain's decide/evolve are tested elsewhere). Every child,
 * worker and manager here is invented.
 */

export const TENANT_A = "test-borough";
export const TENANT_B = "other-borough";

export const IRO: Actor = { id: "iro-0001", role: "IRO" };

export function aForm(
  overrides: Omit<Partial<ChallengeForm>, "child" | "team"> & {
    child?: Partial<ChallengeForm["child"]>;
    team?: Partial<ChallengeForm["team"]>;
  } = {},
): ChallengeForm {
  const { child, team, ...rest } = overrides;
  return {
    child: {
      name: "Poppy Invented",
      dateOfBirth: "2014-02-03",
      caseRecordId: "TEST-CR-0001",
      caseRecordSystem: "LCS",
      ...child,
    },
    track: "LAC",
    raiserRole: "IRO",
    socialWorker: { name: "Sam Madeup" },
    team: { id: "team-north", name: "North Locality Team", ...team },
    teamManagerName: "Alex Fictional",
    worries: "The permanence plan has not progressed since the last review.",
    actionsTaken: "Raised informally with the social worker at the review.",
    impactOnChild: "Uncertainty about where the child will live long term.",
    childViews: "Wants to know where she will live next year.",
    whatNeedsToHappen: "A permanence planning meeting within four weeks.",
    desiredOutcome: "A clear permanence plan agreed.",
    timescale: "Four weeks",
    themes: ["permanence"],
    immediateRisk: false,
    ...rest,
  };
}

export function anAssignee(personId: string, role = "team_manager", title = "Team Manager"): Assignee {
  return { role, title, personId, email: `${personId}@test-borough.example` };
}

/** What one `append` call takes: the version it expects, the new events and the resulting state. */
export interface Batch {
  readonly expectedVersion: number;
  readonly events: ChallengeEvent[];
  readonly state: ChallengeState;
}

export interface ChallengeOptions {
  readonly challengeId?: string;
  readonly raisedAt?: string;
  readonly deadline?: string;
  readonly assignee?: Assignee;
  readonly form?: ChallengeForm;
}

let counter = 0;

/**
 * A challenge that moves through a few steps. Each step returns the batch to append and advances
 * the fixture, so `store.append(tenant, b.expectedVersion, b.events, b.state)` in order replays it.
 */
export class ChallengeFixture {
  private current: ChallengeState | undefined;
  readonly challengeId: string;
  private readonly options: ChallengeOptions;

  constructor(options: ChallengeOptions = {}) {
    counter += 1;
    this.challengeId = options.challengeId ?? `01TESTCHALLENGE${counter.toString().padStart(6, "0")}`;
    this.options = options;
  }

  /** A second writer starting from this fixture's current state (for races). */
  fork(): ChallengeFixture {
    const copy = new ChallengeFixture({ ...this.options, challengeId: this.challengeId });
    copy.current = this.state;
    return copy;
  }

  get state(): ChallengeState {
    if (this.current === undefined) throw new Error("raise() first");
    return this.current;
  }

  raise(): Batch {
    const at = this.options.raisedAt ?? "2025-03-10T10:00:00.000Z";
    const form = this.options.form ?? aForm();
    const opened = this.stageOpened(2, at, {
      stageId: "stage-1",
      stageIndex: 0,
      via: "raised",
      deadline: this.options.deadline ?? "2025-03-17T17:00:00.000Z",
      assignee: this.options.assignee ?? anAssignee("tm-0001"),
    });
    const events: ChallengeEvent[] = [
      {
        type: "ChallengeRaised",
        challengeId: this.challengeId,
        seq: 1,
        at,
        actor: IRO,
        channel: "api",
        data: {
          form,
          protocolId: "test-protocol",
          track: form.track,
          raiser: IRO,
          safeguardingConcern: false,
        },
      },
      opened,
    ];
    const state: ChallengeState = {
      challengeId: this.challengeId,
      version: 2,
      status: "open",
      protocolId: "test-protocol",
      track: form.track,
      raiser: IRO,
      form,
      raisedAt: at,
      safeguardingConcern: false,
      currentStage: openStage(opened),
      history: [],
      lastExitedStageId: null,
      highestStageIndex: 0,
      actionPlan: null,
      referrals: [],
      differences: [],
      autoEscalations: 0,
    };
    return this.advance(0, events, state);
  }

  respond(response = "We will hold a planning meeting next week.", at = "2025-03-12T09:30:00.000Z"): Batch {
    const state = this.state;
    const stage = this.openStage();
    const event: ChallengeEvent = {
      type: "ResponseRecorded",
      challengeId: this.challengeId,
      seq: state.version + 1,
      at,
      actor: { id: stage.assignee.personId, role: "manager" },
      channel: "email",
      data: { stageId: stage.stageId, response },
    };
    return this.advance(state.version, [event], {
      ...state,
      version: state.version + 1,
      currentStage: { ...stage, responses: [...stage.responses, { at, response }] },
    });
  }

  /** Escalates to the next stage, now addressed to `to` with a new deadline. */
  escalate(to: Assignee, deadline: string, at = "2025-03-14T11:00:00.000Z"): Batch {
    const state = this.state;
    const stage = this.openStage();
    const nextIndex = stage.stageIndex + 1;
    const nextId = `stage-${nextIndex + 1}`;
    const opened = this.stageOpened(state.version + 2, at, {
      stageId: nextId,
      stageIndex: nextIndex,
      via: "escalated",
      deadline,
      assignee: to,
    });
    const events: ChallengeEvent[] = [
      {
        type: "Escalated",
        challengeId: this.challengeId,
        seq: state.version + 1,
        at,
        actor: IRO,
        channel: "api",
        data: { fromStageId: stage.stageId, toStageId: nextId, kind: "requested", reasons: "No plan yet." },
      },
      opened,
    ];
    return this.advance(state.version, events, {
      ...state,
      version: state.version + 2,
      currentStage: openStage(opened),
      history: [
        ...state.history,
        { stageId: stage.stageId, openedAt: stage.openedAt, exitedAt: at, exit: "requested" },
      ],
      lastExitedStageId: stage.stageId,
      highestStageIndex: Math.max(state.highestStageIndex, nextIndex),
    });
  }

  /** The deadline passed unresolved: the timer asks the raiser to decide by `decideBy`. */
  askRaiser(decideBy: string, at = "2025-03-17T17:00:00.000Z"): Batch {
    const state = this.state;
    const stage = this.openStage();
    const reason = stage.responses.length === 0 ? "no_response" : "no_resolution";
    const event: ChallengeEvent = {
      type: "RaiserAlerted",
      challengeId: this.challengeId,
      seq: state.version + 1,
      at,
      actor: { id: "workflow-timer", role: "system" },
      channel: "timer",
      data: { stageId: stage.stageId, reason, decideBy },
    };
    return this.advance(state.version, [event], {
      ...state,
      version: state.version + 1,
      currentStage: { ...stage, raiserAlertedAt: at, raiserAlertReason: reason, raiserDecisionBy: decideBy },
    });
  }

  /**
   * The ladder was exhausted and a decision the protocol owes after it is asked of `personId` by
   * `dueBy` (one batch: the store only needs the resulting state and an event to chain).
   */
  askDecision(personId: string, dueBy: string, at = "2025-03-24T10:00:00.000Z"): Batch {
    const state = this.state;
    const stage = this.openStage();
    const data = {
      after: "difference" as const,
      decidedBy: { role: "assistant_director", title: "AD" },
      personId,
      dueBy,
      citation: "AD to make decision on upholding differences.",
    };
    const event: ChallengeEvent = {
      type: "DecisionRequested",
      challengeId: this.challengeId,
      seq: state.version + 1,
      at,
      actor: IRO,
      channel: "api",
      data,
    };
    return this.advance(state.version, [event], {
      ...state,
      version: state.version + 1,
      status: "ladder_exhausted",
      currentStage: null,
      history: [
        ...state.history,
        { stageId: stage.stageId, openedAt: stage.openedAt, exitedAt: at, exit: "no_response" },
      ],
      lastExitedStageId: stage.stageId,
      pendingDecision: { ...data, requestedAt: at },
    });
  }

  /** The decision asked for by {@link askDecision} is recorded by its decider. */
  decideAfterLadder(personId: string, at = "2025-03-26T10:00:00.000Z"): Batch {
    const { pendingDecision, ...state } = this.state;
    if (pendingDecision === undefined) throw new Error("no decision is awaited");
    const event: ChallengeEvent = {
      type: "DecisionRecorded",
      challengeId: this.challengeId,
      seq: state.version + 1,
      at,
      actor: { id: personId, role: "manager" },
      channel: "api",
      data: {
        after: pendingDecision.after,
        decidedBy: pendingDecision.decidedBy,
        upheld: true,
        reasons: "Upheld.",
      },
    };
    return this.advance(state.version, [event], { ...state, version: state.version + 1 });
  }

  resolve(summary = "Permanence plan agreed.", at = "2025-03-20T15:00:00.000Z"): Batch {
    const state = this.state;
    const stage = this.openStage();
    const event: ChallengeEvent = {
      type: "Resolved",
      challengeId: this.challengeId,
      seq: state.version + 1,
      at,
      actor: IRO,
      channel: "api",
      data: { stageId: stage.stageId, summary },
    };
    return this.advance(state.version, [event], {
      ...state,
      version: state.version + 1,
      status: "resolved",
      currentStage: null,
      history: [
        ...state.history,
        { stageId: stage.stageId, openedAt: stage.openedAt, exitedAt: at, exit: "resolved" },
      ],
      lastExitedStageId: stage.stageId,
      resolvedAt: at,
    });
  }

  /** `count` responses in one batch (for the transaction-size limit). */
  manyResponses(count: number): Batch {
    const state = this.state;
    const stage = this.openStage();
    const events: ChallengeEvent[] = Array.from({ length: count }, (_, i) => ({
      type: "ResponseRecorded",
      challengeId: this.challengeId,
      seq: state.version + i + 1,
      at: "2025-03-12T09:30:00.000Z",
      actor: { id: stage.assignee.personId, role: "manager" },
      channel: "api",
      data: { stageId: stage.stageId, response: `Update ${i + 1}` },
    }));
    return this.advance(state.version, events, {
      ...state,
      version: state.version + count,
      currentStage: {
        ...stage,
        responses: [
          ...stage.responses,
          ...events.map((_, i) => ({ at: "2025-03-12T09:30:00.000Z", response: `Update ${i + 1}` })),
        ],
      },
    });
  }

  private openStage(): OpenStage {
    const stage = this.state.currentStage;
    if (stage === null) throw new Error("no stage is open");
    return stage;
  }

  private stageOpened(
    seq: number,
    at: string,
    data: Pick<StageOpened["data"], "stageId" | "stageIndex" | "via" | "deadline" | "assignee">,
  ): StageOpened {
    return {
      type: "StageOpened",
      challengeId: this.challengeId,
      seq,
      at,
      actor: IRO,
      channel: "api",
      data: { ...data, openedAt: at, copyTo: [] },
    };
  }

  private advance(expectedVersion: number, events: ChallengeEvent[], state: ChallengeState): Batch {
    this.current = state;
    return { expectedVersion, events, state };
  }
}

function openStage(opened: StageOpened): OpenStage {
  const { stageId, stageIndex, via, openedAt, deadline, assignee, copyTo } = opened.data;
  return {
    stageId,
    stageIndex,
    via,
    openedAt,
    deadline,
    assignee,
    coAssignees: opened.data.coAssignees ?? [],
    copyTo,
    responses: [],
    meetings: [],
  };
}
