import type { WorkingDayCalendar } from "../calendar.js";
import type { Protocol, Recipient, Track } from "../protocol.js";
import type { Absence } from "../absence.js";
import type { Actor, Channel } from "./actor.js";
import type { ChallengeForm, ReferralKind } from "./commands.js";
import type {
  Assignee,
  DeadlineSituation,
  EventOf,
  EscalationKind,
  SmartAction,
  StageOpenedVia,
} from "./events.js";

/**
 * - `open`: a stage is open and waiting for its recipient;
 * - `monitoring`: an action plan was agreed; the raiser tracks the actions;
 * - `ladder_exhausted`: the last stage was left unresolved: refer, note a difference or close;
 * - `resolved`, `withdrawn`, `closed`: finished (a resolved challenge may still be reopened).
 */
export type ChallengeStatus =
  "open" | "monitoring" | "ladder_exhausted" | "resolved" | "withdrawn" | "closed";

/** One recipient's acknowledgement of the notification that a stage was opened for them. */
export interface StageAcknowledgement {
  readonly personId: string;
  readonly at: string;
  readonly channel: Channel;
}

export interface OpenStage {
  readonly stageId: string;
  readonly stageIndex: number;
  readonly via: StageOpenedVia;
  readonly openedAt: string;
  readonly deadline: string;
  readonly assignee: Assignee;
  /** Co-equal recipients: each may act as the assignee (empty for events that predate them). */
  readonly coAssignees: readonly Assignee[];
  readonly copyTo: readonly Assignee[];
  /** The first acknowledgement by any recipient. */
  readonly acknowledgedAt?: string;
  /**
   * Each recipient's acknowledgement of their own notification: who, when, through which channel.
   * Absent on snapshots written before it was kept (their `acknowledgedAt` alone says it was).
   */
  readonly acknowledgements?: readonly StageAcknowledgement[];
  readonly responses: readonly { readonly at: string; readonly response: string }[];
  readonly meetings: readonly {
    readonly heldOn: string;
    readonly attendees: readonly string[];
    readonly summary: string;
  }[];
  /** Set when the deadline passed and the protocol put the next step to the raiser. */
  readonly raiserAlertedAt?: string;
  /** What was missing when the raiser was told: a response, or a resolution. */
  readonly raiserAlertReason?: DeadlineSituation;
  /**
   * Set when the raiser was asked to resolve or escalate by this instant (ISO): if they do
   * neither, the timer escalates the stage then.
   */
  readonly raiserDecisionBy?: string;
  /** Set when the recipient was reminded before the deadline (at most once per stage visit). */
  readonly remindedAt?: string;
}

export interface StageVisit {
  readonly stageId: string;
  readonly openedAt: string;
  readonly exitedAt: string;
  readonly exit: EscalationKind | "plan_agreed" | "resolved" | "withdrawn" | "closed";
}

export interface TrackedAction extends SmartAction {
  readonly status: "open" | "completed" | "missed";
  readonly note?: string;
  /** Set when the action's date passed while it was open and the raiser was asked about it (once). */
  readonly dueNotifiedAt?: string;
}

export interface Referral {
  readonly kind: ReferralKind;
  readonly status: "awaiting_approval" | "made";
  readonly requestedAt: string;
  readonly approvalsNeeded: readonly Recipient[];
  readonly approvedBy: readonly string[];
}

export type PendingDecision = EventOf<"DecisionRequested">["data"] & { readonly requestedAt: string };

export interface ChallengeState {
  readonly challengeId: string;
  /** Number of events folded so far; 0 before the challenge exists. */
  readonly version: number;
  readonly status: ChallengeStatus | "none";
  readonly protocolId: string;
  readonly track: Track;
  readonly raiser: Actor;
  readonly form: ChallengeForm;
  readonly raisedAt: string;
  readonly safeguardingConcern: boolean;
  readonly currentStage: OpenStage | null;
  readonly history: readonly StageVisit[];
  /** The stage most recently left: where a failed action plan reopens. */
  readonly lastExitedStageId: string | null;
  /** The highest stage index ever opened (reports: "highest stage reached"). */
  readonly highestStageIndex: number;
  readonly actionPlan: { readonly stageId: string; readonly actions: readonly TrackedAction[] } | null;
  readonly referrals: readonly Referral[];
  readonly differences: readonly { readonly at: string; readonly summary: string }[];
  /** A decision the protocol owes after the ladder, until it is recorded (DecisionRequested's data). */
  readonly pendingDecision?: PendingDecision;
  readonly autoEscalations: number;
  readonly resolvedAt?: string;
  readonly closedAt?: string;
  /** Set while a legal hold stops deletion at the end of the retention period: since when, by whom (id), why. */
  readonly legalHold?: LegalHold;
}

export interface LegalHold {
  readonly since: string;
  readonly by: string;
  readonly reason: string;
}

/** Where a role is looked up: a team's, or (for a partner agency's challenge) only that agency's. */
export interface DirectoryScope {
  readonly teamId: string;
  readonly partnerAgencyId?: string;
}

/** How a person stands towards a role: they hold it, they are its named cover, or neither. */
export type RoleStanding = "holder" | "cover";

/**
 * The tenant's staff directory as `decide` sees it (built in the app layer from the tenant store).
 * Called as a function, it resolves a protocol role to the person who holds it for a team (or, when
 * `partnerAgencyId` is given, for that partner agency only: never the council's own holder), or
 * undefined when nobody does. `standing` says whether a person holds (or covers) a role for the
 * scope: approvals count only from them.
 */
export interface DirectoryLookup {
  (recipient: Recipient, scope: DirectoryScope): Assignee | undefined;
  standing(personId: string, role: string, scope: DirectoryScope): RoleStanding | undefined;
  /**
   * When the person is absent on the London day `day` (YYYY-MM-DD): the absence, and the role's
   * named cover for the scope who is not absent themselves (none when nobody covers it). Undefined
   * when they are there. Optional: a directory that records no absences has nobody away.
   */
  absence?(
    personId: string,
    recipient: Recipient,
    scope: DirectoryScope,
    day: string,
  ): AbsentHolder | undefined;
}

/** A holder away on a given day: their absence, and who covers their role (see DirectoryLookup.absence). */
export interface AbsentHolder {
  readonly absence: Absence;
  readonly cover?: Assignee;
}

/** What `decide` needs besides the state and the command: all of it pure data or pure functions. */
export interface DecideContext {
  readonly protocol: Protocol;
  readonly calendar: WorkingDayCalendar;
  readonly directory: DirectoryLookup;
  readonly now: Date;
  /** New ids for SMART actions; injected so tests are deterministic. */
  readonly newId: () => string;
}
