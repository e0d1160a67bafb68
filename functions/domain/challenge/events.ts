import type { Recipient, Track, Window } from "../protocol.js";
import type { Actor, Channel } from "./actor.js";
import type { ChallengeForm, ReferralKind } from "./commands.js";

/**
 * Events: immutable facts, the source of truth. Every event says who did it, when and through
 * which channel. `seq` is the challenge's version after the event (1 for the first).
 */
export interface EventEnvelope<T extends string, D> {
  readonly type: T;
  readonly challengeId: string;
  readonly seq: number;
  /** ISO-8601 instant (UTC). */
  readonly at: string;
  readonly actor: Actor;
  readonly channel: Channel;
  readonly data: D;
}

/** The person a stage is addressed to, resolved from the tenant's staff directory when the stage opens. */
export interface Assignee extends Recipient {
  readonly personId: string;
  readonly email: string;
  /** Set when this is the named cover of the role's holder, who was absent: the holder's person id. */
  readonly actingFor?: string;
}

/** The absence a stage was routed around, as recorded on the event (days are London, inclusive). */
export interface AbsenceFacts {
  /** The absent holder's person id. */
  readonly personId: string;
  readonly from: string;
  /** Absent: no end was stated. */
  readonly to?: string;
}

/** How a stage came to be opened. */
export type StageOpenedVia = "raised" | "escalated" | "auto_escalated" | "bypassed" | "reopened";

export type ChallengeRaised = EventEnvelope<
  "ChallengeRaised",
  {
    form: ChallengeForm;
    protocolId: string;
    track: Track;
    raiser: Actor;
    safeguardingConcern: boolean;
    bypassRationale?: string;
  }
>;

export type StageOpened = EventEnvelope<
  "StageOpened",
  {
    stageId: string;
    stageIndex: number;
    via: StageOpenedVia;
    openedAt: string;
    /** ISO instant: close of business on the last working day of the response window. */
    deadline: string;
    assignee: Assignee;
    /** Co-equal recipients (the stage's `coRecipients`), each able to act as the assignee. Absent on older events: none. */
    coAssignees?: readonly Assignee[];
    copyTo: readonly Assignee[];
    /** Copy-to roles nobody holds: named so the gap is seen, not dropped silently. Absent on older events: none. */
    notCopied?: readonly Recipient[];
    /**
     * Recipients away when the stage opened whose role has no named cover: it was sent to them
     * anyway (there is no one else), and the gap is recorded so it is seen. Absent: none.
     */
    uncovered?: readonly AbsenceFacts[];
  }
>;

/** Why an open stage passed from its absent recipient to the role's named cover. */
export type ReassignedBecause = "out_of_office" | "absence_recorded";

/**
 * An open stage passed from a recipient who is away to their role's named cover (the cover's
 * Assignee carries `actingFor`); the absent person is copied from now on. The deadline does not move.
 */
export type StageReassigned = EventEnvelope<
  "StageReassigned",
  {
    stageId: string;
    from: Assignee;
    to: Assignee;
    because: ReassignedBecause;
    absence: AbsenceFacts;
  }
>;

export type StageAcknowledged = EventEnvelope<"StageAcknowledged", { stageId: string }>;

export type ResponseRecorded = EventEnvelope<"ResponseRecorded", { stageId: string; response: string }>;

export type MeetingRecorded = EventEnvelope<
  "MeetingRecorded",
  { stageId: string; heldOn: string; attendees: readonly string[]; summary: string }
>;

export interface SmartAction {
  readonly id: string;
  readonly action: string;
  readonly byWhen: string;
  readonly byWhom: string;
}

export type ActionPlanAgreed = EventEnvelope<
  "ActionPlanAgreed",
  { stageId: string; actions: readonly SmartAction[] }
>;

export type EscalationKind = "requested" | "no_response" | "bypass";

export type Escalated = EventEnvelope<
  "Escalated",
  {
    fromStageId: string;
    /** null when the last stage was left: the ladder is exhausted. */
    toStageId: string | null;
    kind: EscalationKind;
    /** Reasons the response was unsatisfactory, or the bypass rationale. */
    reasons: string;
    safeguardingConcern?: boolean;
    /**
     * Why the timer escalated (kind "no_response" is every automatic escalation): nobody responded,
     * a response came but the stage was not resolved, or the raiser was asked to decide and did not.
     * Absent on events recorded before this was kept: read them as "no_response".
     */
    timedOut?: TimedOutBecause;
  }
>;

/** What was missing when a stage's deadline passed. */
export type DeadlineSituation = "no_response" | "no_resolution";

/** Why the timer escalated a stage by itself. */
export type TimedOutBecause = DeadlineSituation | "raiser_did_not_decide";

/**
 * The deadline passed and the protocol puts the next step to the raiser. With `decideBy` (the
 * protocol's `ask_raiser` rule): resolve the challenge, or escalate it with reasons, by then, or it
 * escalates by itself. Without: the raiser decides, and the timer does nothing more.
 */
export type RaiserAlerted = EventEnvelope<
  "RaiserAlerted",
  { stageId: string; reason: DeadlineSituation; decideBy?: string }
>;

/**
 * The raiser (or an IRO service manager) shortened an open stage's window for this challenge (000
 * §2.4: the child's age or the nature of the concern): the stage is now due by `deadline`.
 */
export type DeadlineShortened = EventEnvelope<
  "DeadlineShortened",
  {
    stageId: string;
    /** The new deadline (ISO instant): the end of `window` counted from when the stage opened. */
    deadline: string;
    previousDeadline: string;
    window: Window;
    reason: string;
  }
>;

/** The stage's recipient was reminded, before its deadline, that a response is due. */
export type ReminderSent = EventEnvelope<"ReminderSent", { stageId: string; deadline: string }>;

/** The date agreed for these actions passed while they were open: the raiser is asked whether they were done. */
export type ActionsFellDue = EventEnvelope<"ActionsFellDue", { actionIds: readonly string[] }>;

export type Resolved = EventEnvelope<"Resolved", { stageId: string | null; summary: string }>;

export type ReferralRequested = EventEnvelope<
  "ReferralRequested",
  {
    kind: ReferralKind;
    rationale: string;
    attestations: readonly string[];
    approvalsNeeded: readonly Recipient[];
  }
>;

export type ReferralApproved = EventEnvelope<
  "ReferralApproved",
  {
    kind: ReferralKind;
    approverRole: string;
    /** Set when the approver was the role's named cover in the directory, not its holder. */
    asCover?: boolean;
    comment?: string;
  }
>;

export type ReferralMade = EventEnvelope<
  "ReferralMade",
  { kind: ReferralKind; recipient: Recipient; documents: readonly string[] }
>;

export type ActionCompleted = EventEnvelope<"ActionCompleted", { actionId: string; note?: string }>;

export type ActionMissed = EventEnvelope<"ActionMissed", { actionId: string; note: string }>;

/** Where the challenge was reopened from: the workflow's run continues (monitoring) or a new run starts (resolved). */
export type ReopenedFrom = "monitoring" | "resolved";

export type Reopened = EventEnvelope<
  "Reopened",
  { atStageId: string; reason: string; fromStatus: ReopenedFrom }
>;

export type DifferenceNoted = EventEnvelope<"DifferenceNoted", { summary: string; decidedBy: Recipient }>;

/** What a post-ladder decision follows: a noted difference (000) or a partnership referral made (003). */
export type DecisionAfter = "difference" | ReferralKind;

/** A post-ladder decision falls due: who must make it (the directory's holder at the time) and by when. */
export type DecisionRequested = EventEnvelope<
  "DecisionRequested",
  { after: DecisionAfter; decidedBy: Recipient; personId: string; dueBy: string; citation: string }
>;

/** The post-ladder decision, made by the event's actor (the holder or their named cover). */
export type DecisionRecorded = EventEnvelope<
  "DecisionRecorded",
  { after: DecisionAfter; decidedBy: Recipient; upheld: boolean; reasons: string; asCover?: true }
>;

export type Withdrawn = EventEnvelope<"Withdrawn", { reason: string }>;

/** Why an email could not be delivered: a permanent bounce, a complaint, or SES refusing to send it. */
export type UndeliverableReason = "bounced" | "complaint" | "rejected";

/**
 * An email about the challenge could not be delivered (functions/mail/deliveries.ts): recorded so
 * the audit export and the timeline show that a person may never have been told. It names the
 * email (`notificationId`, one event per failed email however often the failure is reported), the
 * person and why they were written to; never their address. The actor is the mail system.
 */
export type NotificationUndeliverable = EventEnvelope<
  "NotificationUndeliverable",
  {
    /** The failed email: its SES message id, or `send#<seq>#<recipient key>` when SES refused to send it. */
    notificationId: string;
    /** The event whose email failed; absent for an email that was not an event's (an alert). */
    eventSeq?: number;
    /** The kind of email (a template key, or the notice's kind). */
    kind: string;
    /** Why the person was written to (the delivery record's recipient role, e.g. "assignee"). */
    recipientRole: string;
    /** The protocol's title of the person it was for, e.g. "Service Manager". */
    recipientTitle: string;
    /** The person it was for, when the delivery record names them. */
    recipientPersonId?: string;
    reason: UndeliverableReason;
  }
>;

export type Closed = EventEnvelope<"Closed", { summary: string }>;

/** A legal hold placed on the record, or lifted; the envelope's actor is the person who did it. */
export type LegalHoldPlaced = EventEnvelope<"LegalHoldPlaced", { reason: string }>;
export type LegalHoldLifted = EventEnvelope<"LegalHoldLifted", { reason: string }>;

export type ChallengeEvent =
  | ChallengeRaised
  | StageOpened
  | StageReassigned
  | StageAcknowledged
  | ResponseRecorded
  | MeetingRecorded
  | ActionPlanAgreed
  | Escalated
  | RaiserAlerted
  | DeadlineShortened
  | ReminderSent
  | Resolved
  | ReferralRequested
  | ReferralApproved
  | ReferralMade
  | ActionCompleted
  | ActionMissed
  | ActionsFellDue
  | Reopened
  | DifferenceNoted
  | DecisionRequested
  | DecisionRecorded
  | Withdrawn
  | Closed
  | LegalHoldPlaced
  | LegalHoldLifted
  | NotificationUndeliverable;

export type ChallengeEventType = ChallengeEvent["type"];
export type EventOf<T extends ChallengeEventType> = Extract<ChallengeEvent, { type: T }>;
