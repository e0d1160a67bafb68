import { createHash } from "node:crypto";
import type {
  ChallengeEvent,
  DeadlineSituation,
  EventOf,
  SmartAction,
  ReassignedBecause,
  TimedOutBecause,
} from "../domain/challenge/events.js";
import { timedOutWords } from "../domain/challenge/timer.js";
import { evolve, initialState } from "../domain/challenge/evolve.js";
import type { Assignee } from "../domain/challenge/events.js";
import type { ChallengeState, DirectoryLookup, OpenStage } from "../domain/challenge/state.js";
import type { ReferralKind } from "../domain/challenge/commands.js";
import type { Protocol, Recipient, TrackProtocol } from "../domain/protocol.js";
import { normaliseEmail, type ReplyParty } from "./reply-token.js";
import {
  type ChallengeFacts,
  type Notification,
  type NotificationKind,
  type RenderedEmail,
  type StageFacts,
  type TemplateSet,
  caseRecordUrl,
  challengeReference,
  dateInWords,
  deadlineInWords,
  renderEmail,
  resolveTemplates,
} from "./templates.js";
import { escapeHtml } from "../shared/html.js";

/**
 * Which emails a committed event needs: pure. The mail sender (send-notification.ts) reads each
 * new event item from the table's stream (the transactional outbox), replays the challenge's
 * events up to it, and asks {@link notificationsFor}; it renders, signs and sends what it is told.
 *
 * One email per recipient address per event (first-listed wins, so the email a person can act on
 * beats a copy); copies are separate emails, never Cc, so every Reply-To is personal. The only Cc
 * is the raiser's copy of a referral, which cannot be replied to.
 *
 * | event                     | to                                      | kind                                   | reply as   |
 * | ------------------------- | --------------------------------------- | -------------------------------------- | ---------- |
 * | StageOpened               | the assignee and each co-assignee       | stage_opened (auto_escalated if timer) | assignee   |
 * |                           | the previous assignee(s) (timer only)   | auto_escalated_previous                | -          |
 * |                           | the raiser (timer only)                 | notice: auto_escalated_raiser          | -          |
 * |                           | each copyTo person                      | stage_opened_copy                      | -          |
 * | StageReassigned           | the cover (now the stage's recipient)   | stage_opened                           | assignee   |
 * |                           | the absent recipient                    | stage_opened_copy                      | -          |
 * |                           | the raiser                              | notice: stage_reassigned               | -          |
 * | ReminderSent              | the assignee and each co-assignee       | reminder                               | assignee   |
 * | ResponseRecorded          | the raiser                              | response_received                      | raiser     |
 * | ActionPlanAgreed          | the raiser and the stage's assignee     | notice: action_plan_agreed             | -          |
 * | ActionsFellDue            | the raiser                              | action_due (the actions listed)        | -          |
 * | Escalated off the ladder  | the raiser (timer only)                 | notice: ladder_exhausted               | -          |
 * | RaiserAlerted             | the raiser                              | notice: raiser_alerted (decide by ...) | -          |
 * | DeadlineShortened         | the stage's assignee                    | notice: deadline_shortened             | -          |
 * | Resolved, Closed          | the raiser and the last assignee        | resolved, closed                       | -          |
 * | Withdrawn                 | the last assignee                       | closed (with the reason)               | -          |
 * | ReferralRequested         | each approver the policy names          | notice: referral_approval              | -          |
 * | ReferralMade              | the policy's recipient (Cc the raiser)  | referral                               | -          |
 * | DecisionRequested         | the decider the event names (Cc raiser) | notice: decision_requested             | -          |
 * | DecisionRecorded          | the raiser                              | notice: decision_recorded              | -          |
 *
 * Nothing for ChallengeRaised (its StageOpened follows in the same commit), Escalated onto another
 * stage by a person (its StageOpened says it), StageAcknowledged, MeetingRecorded, ReferralApproved,
 * ActionCompleted/Missed, Reopened (its StageOpened follows) and DifferenceNoted. The reminder's
 * reply address is the StageOpened email's (same stage visit, same expiry). The action_due email
 * has none: no stage is open while a plan is monitored, so a reply could not be recorded; the raiser
 * records each action as done or not done through the API or the case record. A person's own
 * action through the API is not confirmed back to them, except where the brief's record emails
 * (Resolved, Closed, ActionPlanAgreed) go to both parties.
 *
 * "notice" kinds are situations the template set (templates.ts) has no kind for yet; they are
 * rendered here with the same rules (no child's name, only references in subjects) and fixed
 * wording. TODO(templates owner): add raiser_alerted, ladder_exhausted, action_plan_agreed,
 * referral_approval and undeliverable to `notificationKinds` so tenants can word them too.
 */

/** Why a person is written to: recorded on the delivery record and carried in the SES message tags. */
export type RecipientRole =
  | "assignee"
  | "previous_assignee"
  | "copy"
  | "raiser"
  | "referral_recipient"
  | "referral_approver"
  | "decider";

export interface MailRecipient {
  readonly email: string;
  /** The directory's display name, for the greeting. */
  readonly name?: string;
  readonly personId?: string;
}

/** What the Reply-To token of an email binds: the stage visit, the party, and when it stops working. */
export interface ReplyGrant {
  readonly party: ReplyParty;
  readonly stageId: string;
  readonly stageOpenedAt: string;
  readonly expiresAt: Date;
}

export type NoticeKind =
  | "raiser_alerted"
  | "ladder_exhausted"
  | "auto_escalated_raiser"
  | "deadline_shortened"
  | "decision_requested"
  | "decision_recorded"
  | "action_plan_agreed"
  | "referral_approval"
  | "stage_reassigned"
  | "undeliverable";

/** Why an email could not be delivered (SES bounce, complaint or rejection). */
export type UndeliverableReason = "bounced" | "complaint" | "rejected";

export type ServiceNotice =
  | {
      readonly kind: "raiser_alerted";
      readonly challenge: ChallengeFacts;
      readonly stage: StageFacts;
      /** What was missing at the deadline. */
      readonly reason: DeadlineSituation;
      /** When the raiser was asked to decide by (the protocol's ask_raiser rule); absent: theirs to decide. */
      readonly decideBy?: string;
      /** The stage is the informal stage: resolving it or opening the formal stage is the choice. */
      readonly informal: boolean;
    }
  | {
      readonly kind: "ladder_exhausted";
      readonly challenge: ChallengeFacts;
      readonly stage: StageFacts;
      readonly timedOut?: TimedOutBecause;
    }
  | {
      readonly kind: "auto_escalated_raiser";
      readonly challenge: ChallengeFacts;
      /** The stage left. */
      readonly stage: StageFacts;
      /** The stage opened. */
      readonly nextStage: StageFacts;
      /** The timer's reasons, as recorded on the Escalated event. */
      readonly reasons: string;
    }
  | {
      readonly kind: "deadline_shortened";
      readonly challenge: ChallengeFacts;
      /** The stage, with its new deadline. */
      readonly stage: StageFacts;
      readonly previousDeadline: string;
      readonly reason: string;
    }
  | {
      readonly kind: "decision_requested";
      readonly challenge: ChallengeFacts;
      readonly deciderTitle: string;
      readonly dueBy: string;
      /** The protocol's sentence that names the decision. */
      readonly citation: string;
    }
  | {
      readonly kind: "decision_recorded";
      readonly challenge: ChallengeFacts;
      readonly deciderTitle: string;
      readonly upheld: boolean;
      readonly reasons: string;
    }
  | {
      readonly kind: "action_plan_agreed";
      readonly challenge: ChallengeFacts;
      readonly stage: StageFacts;
      readonly actions: readonly SmartAction[];
    }
  | {
      readonly kind: "referral_approval";
      readonly challenge: ChallengeFacts;
      readonly referral: {
        readonly kind: ReferralKind;
        readonly recipientTitle: string;
        readonly rationale: string;
        readonly approverTitle: string;
      };
    }
  | {
      readonly kind: "stage_reassigned";
      readonly challenge: ChallengeFacts;
      /** The stage, as addressed to the absent recipient's role; its deadline unchanged. */
      readonly stage: StageFacts;
      readonly because: ReassignedBecause;
      /** The absence's last day (YYYY-MM-DD); absent: no end was stated. */
      readonly absentUntil?: string;
    }
  | {
      readonly kind: "undeliverable";
      readonly challenge: ChallengeFacts;
      /** The protocol's title of the person the failed email was for, e.g. "Service Manager". */
      readonly recipientTitle: string;
      readonly reason: UndeliverableReason;
    };

export type EmailContent =
  | { readonly source: "template"; readonly notification: Notification }
  | { readonly source: "notice"; readonly notice: ServiceNotice; readonly recipientName?: string };

export interface PlannedEmail {
  /** Unique among the emails of one event: `<role>:<person id, or a hash of the address>`. */
  readonly recipientKey: string;
  readonly recipientRole: RecipientRole;
  readonly kind: NotificationKind | NoticeKind;
  readonly to: MailRecipient;
  readonly cc: readonly MailRecipient[];
  readonly content: EmailContent;
  /** Present when the recipient can act by replying: the handler signs a token for `to.email`. */
  readonly reply?: ReplyGrant;
}

/** Someone the event should have reached but who has no usable address (logged and counted, not an error). */
export interface Unaddressed {
  readonly recipientRole: RecipientRole;
  /** The protocol role looked up, when the recipient is found by role. */
  readonly role?: string;
  readonly reason: "not_in_directory" | "inactive" | "no_holder";
}

export interface NotificationPlan {
  readonly emails: readonly PlannedEmail[];
  readonly unaddressed: readonly Unaddressed[];
}

/** A person in the tenant's staff directory, as the mail needs them. */
export interface DirectoryPerson {
  readonly email: string;
  readonly name: string;
  /** People who have left stay in the directory but receive nothing new. */
  readonly active: boolean;
}

export interface NotificationDirectory {
  /** The directory entry for a person id (the raiser's address comes from here). */
  readonly person: (personId: string) => DirectoryPerson | undefined;
  /** Who holds a protocol role for a team or agency (referral recipients and approvers). */
  readonly holder: DirectoryLookup;
}

export interface NotificationInput {
  readonly event: ChallengeEvent;
  /** The challenge's events in order, up to and including `event` (later ones are ignored). */
  readonly history: readonly ChallengeEvent[];
  /** The protocol the challenge runs under. */
  readonly protocol: Protocol;
  readonly directory: NotificationDirectory;
  /** Signs every email, e.g. "Northby Council Children's Services". */
  readonly authorityName: string;
}

/** How long a reply address keeps working after the later of the stage's deadline and the email. */
export const REPLY_VALIDITY_DAYS = 60;

const DAY_MS = 24 * 60 * 60 * 1000;

/** When a reply token for an email sent at `sentAt` about a stage due at `deadline` expires. */
export function replyExpiry(deadline: string, sentAt: string): Date {
  const base = Math.max(Date.parse(deadline) || 0, Date.parse(sentAt) || 0);
  return new Date(base + REPLY_VALIDITY_DAYS * DAY_MS);
}

/** The challenge before and after `event`, folded from the history. */
export function statesAround(
  event: ChallengeEvent,
  history: readonly ChallengeEvent[],
): { before: ChallengeState; after: ChallengeState } {
  const before = history
    .filter((e) => e.seq < event.seq)
    .sort((a, b) => a.seq - b.seq)
    .reduce(evolve, initialState(event.challengeId));
  return { before, after: evolve(before, event) };
}

// ---------------------------------------------------------------------------------------------
// Facts for the templates

function trackOf(protocol: Protocol, state: ChallengeState): TrackProtocol | undefined {
  return protocol.tracks[state.track];
}

function challengeFacts(state: ChallengeState, protocol: Protocol, authorityName: string): ChallengeFacts {
  return {
    challengeId: state.challengeId,
    form: state.form,
    raiserTitle: protocol.raiserTitles[state.form.raiserRole],
    authorityName,
  };
}

function stageFacts(
  track: TrackProtocol | undefined,
  stageId: string,
  recipientTitle: string,
  deadline: string,
): StageFacts {
  const stage = track?.stages.find((s) => s.id === stageId);
  return {
    label: stage?.label ?? stageId,
    title: stage?.title ?? stageId,
    recipientTitle,
    deadline,
  };
}

function openStageFacts(track: TrackProtocol | undefined, open: OpenStage): StageFacts {
  return stageFacts(track, open.stageId, open.assignee.title, open.deadline);
}

/** The stage after `index` as the raiser's reply instructions name it; null at the top of the ladder. */
function nextStageOf(
  track: TrackProtocol | undefined,
  index: number,
  state: ChallengeState,
): { label: string; recipientTitle: string } | null {
  const next = track?.stages[index + 1];
  if (next === undefined) return null;
  const recipient =
    state.form.partnerAgency !== undefined && next.partnerRecipient !== undefined
      ? next.partnerRecipient
      : next.recipient;
  return { label: next.label, recipientTitle: recipient.title };
}

/** The StageOpened events before `seq`, latest last. */
function openingsBefore(history: readonly ChallengeEvent[], seq: number): EventOf<"StageOpened">[] {
  return history
    .filter((e): e is EventOf<"StageOpened"> => e.type === "StageOpened" && e.seq < seq)
    .sort((a, b) => a.seq - b.seq);
}

const REFERRAL_NAMES: Record<ReferralKind, string> = {
  cafcass: "Cafcass",
  partnership: "the safeguarding children partnership",
};

// ---------------------------------------------------------------------------------------------
// Planning

function addressKey(email: string): string {
  return createHash("sha256").update(normaliseEmail(email)).digest("hex").slice(0, 16);
}

class Plan {
  readonly emails: PlannedEmail[] = [];
  readonly unaddressed: Unaddressed[] = [];
  private readonly addresses = new Set<string>();

  constructor(private readonly directory: NotificationDirectory) {}

  /** The plan as plain data. */
  result(): NotificationPlan {
    return { emails: [...this.emails], unaddressed: [...this.unaddressed] };
  }

  /** An assignee recorded on an event: their address as recorded, unless the directory says they left. */
  assignee(assignee: Assignee, role: RecipientRole): MailRecipient | undefined {
    const person = this.directory.person(assignee.personId);
    if (person !== undefined && !person.active) {
      this.unaddressed.push({ recipientRole: role, role: assignee.role, reason: "inactive" });
      return undefined;
    }
    return {
      email: assignee.email,
      personId: assignee.personId,
      ...(person === undefined ? {} : { name: person.name }),
    };
  }

  /** A person by id from the directory (the raiser). */
  person(personId: string, role: RecipientRole): MailRecipient | undefined {
    const person = this.directory.person(personId);
    if (person === undefined || !person.active) {
      this.unaddressed.push({
        recipientRole: role,
        reason: person === undefined ? "not_in_directory" : "inactive",
      });
      return undefined;
    }
    return { email: person.email, name: person.name, personId };
  }

  /**
   * Whoever holds a protocol role for the challenge's team, or across the authority: referral
   * approvers and recipients are the council's roles even when the challenge is with a partner
   * agency (the directory no longer falls back from an agency to the council), and the approver
   * written to is the one the domain accepts the approval from (referrals.ts).
   */
  holder(
    recipient: Recipient,
    state: ChallengeState,
    role: RecipientRole,
  ): { to: MailRecipient; title: string } | undefined {
    const found = this.directory.holder(recipient, { teamId: state.form.team.id });
    if (found === undefined) {
      this.unaddressed.push({ recipientRole: role, role: recipient.role, reason: "no_holder" });
      return undefined;
    }
    const to = this.assignee(found, role);
    return to === undefined ? undefined : { to, title: found.title };
  }

  add(
    to: MailRecipient | undefined,
    recipientRole: RecipientRole,
    content: EmailContent,
    options: { reply?: ReplyGrant; cc?: readonly (MailRecipient | undefined)[] } = {},
  ): void {
    if (to === undefined) return;
    const address = normaliseEmail(to.email);
    if (address === "" || this.addresses.has(address)) return;
    this.addresses.add(address);
    const cc: MailRecipient[] = [];
    for (const copy of options.cc ?? []) {
      if (copy === undefined) continue;
      const ccAddress = normaliseEmail(copy.email);
      if (ccAddress === "" || ccAddress === address || cc.some((c) => normaliseEmail(c.email) === ccAddress))
        continue;
      cc.push(copy);
    }
    const kind = content.source === "template" ? content.notification.kind : content.notice.kind;
    this.emails.push({
      recipientKey: `${recipientRole}:${to.personId ?? addressKey(address)}`,
      recipientRole,
      kind,
      to,
      cc,
      content,
      ...(options.reply === undefined ? {} : { reply: options.reply }),
    });
  }
}

/** A template email addressed by name when the directory knows it. */
function templated(notification: Notification, to: MailRecipient | undefined): EmailContent {
  const name = to?.name;
  return {
    source: "template",
    notification: name === undefined ? notification : { ...notification, recipientName: name },
  };
}

function notice(notice: ServiceNotice, to: MailRecipient | undefined): EmailContent {
  return to?.name === undefined
    ? { source: "notice", notice }
    : { source: "notice", notice, recipientName: to.name };
}

/**
 * The emails one committed event needs (see the table at the top of this file). Pure and
 * deterministic: a redelivered event plans the same emails with the same recipient keys.
 */
export function notificationsFor(input: NotificationInput): NotificationPlan {
  const { event, history, protocol, directory, authorityName } = input;
  const { before, after } = statesAround(event, history);
  const plan = new Plan(directory);
  if (after.status === "none") return plan.result();
  const track = trackOf(protocol, after);
  const challenge = challengeFacts(after, protocol, authorityName);
  const raiser = (): MailRecipient | undefined => plan.person(after.raiser.id, "raiser");
  /** The assignee of the stage open before the event, else of the last stage opened. */
  const lastAssignee = (): MailRecipient | undefined => {
    const assignee =
      before.currentStage?.assignee ?? openingsBefore(history, event.seq).at(-1)?.data.assignee;
    if (assignee === undefined || assignee.personId === after.raiser.id) return undefined;
    return plan.assignee(assignee, "assignee");
  };

  switch (event.type) {
    case "StageOpened": {
      const d = event.data;
      const reply: ReplyGrant = {
        party: "assignee",
        stageId: d.stageId,
        stageOpenedAt: d.openedAt,
        expiresAt: replyExpiry(d.deadline, event.at),
      };
      const previous = d.via === "auto_escalated" ? openingsBefore(history, event.seq).at(-1) : undefined;
      // Every recipient (the assignee, then any co-equal recipients) gets the stage as their own
      // email with their own reply address: each may act on it.
      for (const person of [d.assignee, ...(d.coAssignees ?? [])]) {
        const stage = stageFacts(track, d.stageId, person.title, d.deadline);
        const to = plan.assignee(person, "assignee");
        if (previous === undefined) {
          plan.add(to, "assignee", templated({ kind: "stage_opened", challenge, stage }, to), { reply });
        } else {
          const previousStage = stageFacts(
            track,
            previous.data.stageId,
            previous.data.assignee.title,
            previous.data.deadline,
          );
          plan.add(
            to,
            "assignee",
            templated({ kind: "auto_escalated", challenge, stage, previousStage }, to),
            { reply },
          );
        }
      }
      if (previous !== undefined) {
        const stage = stageFacts(track, d.stageId, d.assignee.title, d.deadline);
        const previousStage = stageFacts(
          track,
          previous.data.stageId,
          previous.data.assignee.title,
          previous.data.deadline,
        );
        for (const person of [previous.data.assignee, ...(previous.data.coAssignees ?? [])]) {
          const missed = plan.assignee(person, "previous_assignee");
          plan.add(
            missed,
            "previous_assignee",
            templated({ kind: "auto_escalated_previous", challenge, stage, previousStage }, missed),
          );
        }
        // The raiser hears of every automatic escalation, with the timer's reasons.
        const escalated = history.find(
          (e): e is EventOf<"Escalated"> => e.type === "Escalated" && e.seq === event.seq - 1,
        );
        const to = raiser();
        plan.add(
          to,
          "raiser",
          notice(
            {
              kind: "auto_escalated_raiser",
              challenge,
              stage: previousStage,
              nextStage: stage,
              reasons: escalated?.data.reasons ?? "",
            },
            to,
          ),
        );
      }
      const stage = stageFacts(track, d.stageId, d.assignee.title, d.deadline);
      for (const person of d.copyTo) {
        const copy = plan.assignee(person, "copy");
        plan.add(copy, "copy", templated({ kind: "stage_opened_copy", challenge, stage }, copy));
      }
      break;
    }

    case "StageReassigned": {
      // The cover gets the stage as the recipient (with their own reply address), the absent
      // recipient a copy, and the raiser is told who has it now; the deadline is the stage's own.
      const open = after.currentStage;
      if (open?.stageId !== event.data.stageId) break;
      const stage = stageFacts(track, open.stageId, event.data.to.title, open.deadline);
      const cover = plan.assignee(event.data.to, "assignee");
      plan.add(cover, "assignee", templated({ kind: "stage_opened", challenge, stage }, cover), {
        reply: {
          party: "assignee",
          stageId: open.stageId,
          stageOpenedAt: open.openedAt,
          expiresAt: replyExpiry(open.deadline, event.at),
        },
      });
      const absent = plan.assignee(event.data.from, "copy");
      plan.add(absent, "copy", templated({ kind: "stage_opened_copy", challenge, stage }, absent));
      const to = raiser();
      const until = event.data.absence.to;
      plan.add(
        to,
        "raiser",
        notice(
          {
            kind: "stage_reassigned",
            challenge,
            stage,
            because: event.data.because,
            ...(until === undefined ? {} : { absentUntil: until }),
          },
          to,
        ),
      );
      break;
    }

    case "ReminderSent": {
      const open = after.currentStage;
      if (open?.stageId !== event.data.stageId) break;
      for (const person of [open.assignee, ...open.coAssignees]) {
        const to = plan.assignee(person, "assignee");
        const stage = stageFacts(track, open.stageId, person.title, open.deadline);
        plan.add(to, "assignee", templated({ kind: "reminder", challenge, stage }, to), {
          reply: {
            party: "assignee",
            stageId: open.stageId,
            stageOpenedAt: open.openedAt,
            expiresAt: replyExpiry(open.deadline, event.at),
          },
        });
      }
      break;
    }

    case "ResponseRecorded": {
      const open = after.currentStage;
      if (open?.stageId !== event.data.stageId) break;
      const to = raiser();
      plan.add(
        to,
        "raiser",
        templated(
          {
            kind: "response_received",
            challenge,
            stage: openStageFacts(track, open),
            response: event.data.response,
            nextStage: nextStageOf(track, open.stageIndex, after),
          },
          to,
        ),
        {
          reply: {
            party: "raiser",
            stageId: open.stageId,
            stageOpenedAt: open.openedAt,
            expiresAt: replyExpiry(open.deadline, event.at),
          },
        },
      );
      break;
    }

    case "ActionPlanAgreed": {
      const open = before.currentStage;
      const stage =
        open === null ? stageFacts(track, event.data.stageId, "", event.at) : openStageFacts(track, open);
      const content = (to: MailRecipient | undefined): EmailContent =>
        notice({ kind: "action_plan_agreed", challenge, stage, actions: event.data.actions }, to);
      const to = raiser();
      plan.add(to, "raiser", content(to));
      const manager = lastAssignee();
      plan.add(manager, "assignee", content(manager));
      break;
    }

    case "Escalated": {
      // Every automatic escalation is told to the raiser: off the ladder, or onto the next stage.
      const open = before.currentStage;
      if (event.data.kind !== "no_response" || open === null) break;
      // Onto another stage: the raiser's email goes with that stage's StageOpened (it knows the
      // new deadline). Off the ladder: here.
      if (event.data.toStageId !== null) break;
      const to = raiser();
      const timedOut = event.data.timedOut;
      plan.add(
        to,
        "raiser",
        notice(
          {
            kind: "ladder_exhausted",
            challenge,
            stage: openStageFacts(track, open),
            ...(timedOut === undefined ? {} : { timedOut }),
          },
          to,
        ),
      );
      break;
    }

    case "RaiserAlerted": {
      const open = after.currentStage;
      if (open === null) break;
      const to = raiser();
      const decideBy = event.data.decideBy;
      const informal = track?.stages.find((s) => s.id === open.stageId)?.informal ?? false;
      plan.add(
        to,
        "raiser",
        notice(
          {
            kind: "raiser_alerted",
            challenge,
            stage: openStageFacts(track, open),
            reason: event.data.reason,
            informal,
            ...(decideBy === undefined ? {} : { decideBy }),
          },
          to,
        ),
      );
      break;
    }

    case "DeadlineShortened": {
      const open = after.currentStage;
      if (open?.stageId !== event.data.stageId) break;
      const assignee = plan.assignee(open.assignee, "assignee");
      plan.add(
        assignee,
        "assignee",
        notice(
          {
            kind: "deadline_shortened",
            challenge,
            stage: openStageFacts(track, open),
            previousDeadline: event.data.previousDeadline,
            reason: event.data.reason,
          },
          assignee,
        ),
      );
      break;
    }

    case "Resolved":
    case "Closed": {
      const kind = event.type === "Resolved" ? "resolved" : "closed";
      const summary = event.data.summary;
      const to = raiser();
      plan.add(to, "raiser", templated({ kind, challenge, summary }, to));
      const manager = lastAssignee();
      plan.add(manager, "assignee", templated({ kind, challenge, summary }, manager));
      break;
    }

    case "Withdrawn": {
      const manager = lastAssignee();
      const summary = `The ${challenge.raiserTitle} withdrew the challenge. Their reason:\n${event.data.reason}`;
      plan.add(manager, "assignee", templated({ kind: "closed", challenge, summary }, manager));
      break;
    }

    case "ReferralRequested": {
      const policy = track?.[event.data.kind];
      for (const approver of event.data.approvalsNeeded) {
        const found = plan.holder(approver, after, "referral_approver");
        if (found === undefined) continue;
        plan.add(
          found.to,
          "referral_approver",
          notice(
            {
              kind: "referral_approval",
              challenge,
              referral: {
                kind: event.data.kind,
                recipientTitle: policy?.recipient.title ?? REFERRAL_NAMES[event.data.kind],
                rationale: event.data.rationale,
                approverTitle: approver.title,
              },
            },
            found.to,
          ),
        );
      }
      break;
    }

    case "ReferralMade": {
      const found = plan.holder(event.data.recipient, after, "referral_recipient");
      if (found === undefined) break;
      const request = history
        .filter(
          (e): e is EventOf<"ReferralRequested"> =>
            e.type === "ReferralRequested" && e.seq < event.seq && e.data.kind === event.data.kind,
        )
        .at(-1);
      plan.add(
        found.to,
        "referral_recipient",
        templated(
          {
            kind: "referral",
            challenge,
            referral: {
              kind: event.data.kind,
              recipientTitle: event.data.recipient.title,
              rationale: request?.data.rationale ?? "",
              documents: event.data.documents,
            },
          },
          found.to,
        ),
        { cc: [raiser()] },
      );
      break;
    }

    case "DecisionRequested": {
      const decider = plan.person(event.data.personId, "decider");
      plan.add(
        decider,
        "decider",
        notice(
          {
            kind: "decision_requested",
            challenge,
            deciderTitle: event.data.decidedBy.title,
            dueBy: event.data.dueBy,
            citation: event.data.citation,
          },
          decider,
        ),
        { cc: [raiser()] },
      );
      break;
    }

    case "DecisionRecorded": {
      const to = raiser();
      plan.add(
        to,
        "raiser",
        notice(
          {
            kind: "decision_recorded",
            challenge,
            deciderTitle: event.data.decidedBy.title,
            upheld: event.data.upheld,
            reasons: event.data.reasons,
          },
          to,
        ),
      );
      break;
    }

    case "ActionsFellDue": {
      const actions = after.actionPlan?.actions ?? [];
      const due = event.data.actionIds
        .map((id) => actions.find((a) => a.id === id))
        .filter((a) => a !== undefined)
        .map(({ action, byWhen, byWhom }) => ({ action, byWhen, byWhom }));
      if (due.length === 0) break;
      const to = raiser();
      plan.add(to, "raiser", templated({ kind: "action_due", challenge, actions: due }, to));
      break;
    }

    case "ChallengeRaised":
    case "StageAcknowledged":
    case "MeetingRecorded":
    case "ReferralApproved":
    case "ActionCompleted":
    case "ActionMissed":
    case "Reopened":
    case "DifferenceNoted":
      break;
  }
  return plan.result();
}

/**
 * The raiser's alert when an email about their challenge could not be delivered (a permanent
 * bounce, a complaint, or SES refusing it). Nothing when the failed email was the raiser's own
 * (their address is the one failing) or was itself such an alert (no loops).
 */
export function undeliverableNotice(input: {
  /** Every event of the challenge, in order. */
  readonly history: readonly ChallengeEvent[];
  readonly protocol: Protocol;
  readonly directory: NotificationDirectory;
  readonly authorityName: string;
  readonly failed: {
    /** The event whose email failed, when it was an event's email. */
    readonly seq?: number;
    readonly recipientRole: RecipientRole;
    readonly kind: string;
    readonly reason: UndeliverableReason;
  };
}): NotificationPlan {
  const { history, protocol, directory, authorityName, failed } = input;
  const plan = new Plan(directory);
  const first = history[0];
  if (first === undefined || failed.recipientRole === "raiser" || failed.kind === "undeliverable") {
    return plan.result();
  }
  const state = [...history].sort((a, b) => a.seq - b.seq).reduce(evolve, initialState(first.challengeId));
  if (state.status === "none") return plan.result();
  const to = plan.person(state.raiser.id, "raiser");
  plan.add(
    to,
    "raiser",
    notice(
      {
        kind: "undeliverable",
        challenge: challengeFacts(state, protocol, authorityName),
        recipientTitle: recipientTitleFor(history, failed.seq, failed.recipientRole),
        reason: failed.reason,
      },
      to,
    ),
  );
  return plan.result();
}

const RECIPIENT_ROLE_WORDS: Record<RecipientRole, string> = {
  assignee: "recipient",
  previous_assignee: "previous recipient",
  copy: "person copied in",
  raiser: "raiser",
  referral_recipient: "referral recipient",
  referral_approver: "person asked to approve the referral",
  decider: "person asked to decide after the last stage",
};

/** The protocol's title of whoever an event's email of this role went to, as far as the events say. */
export function recipientTitleFor(
  history: readonly ChallengeEvent[],
  seq: number | undefined,
  role: RecipientRole,
): string {
  const event = seq === undefined ? undefined : history.find((e) => e.seq === seq);
  if (event === undefined) return RECIPIENT_ROLE_WORDS[role];
  if (role === "referral_recipient" && event.type === "ReferralMade") return event.data.recipient.title;
  if (role === "assignee" && event.type === "StageOpened") return event.data.assignee.title;
  if (role === "assignee" || role === "previous_assignee") {
    // Before a StageOpened: the stage it replaced; before any other event: the stage last opened.
    const opening = openingsBefore(history, event.seq).at(-1);
    if (opening !== undefined) return opening.data.assignee.title;
  }
  return RECIPIENT_ROLE_WORDS[role];
}

/**
 * Whether an email that asks its recipient to act is about a stage visit that has closed since
 * (the stream delivered the event late, or a retry came after the challenge moved on). Such an
 * email is not sent: its reply address would only be refused. Emails that only inform are sent.
 */
export function isSuperseded(email: PlannedEmail, current: ChallengeState): boolean {
  const grant = email.reply;
  if (grant === undefined) return false;
  const open = current.currentStage;
  return (
    current.status !== "open" ||
    open === null ||
    open.stageId !== grant.stageId ||
    Date.parse(open.openedAt) !== Date.parse(grant.stageOpenedAt)
  );
}

// ---------------------------------------------------------------------------------------------
// Tenant wording

/**
 * The tenant's templates when its configuration carries overrides (`mailTemplates`, checked by
 * templates.ts's storedTemplateOverridesSchema when the configuration is stored), else undefined
 * (the defaults).
 */
export function templatesFromConfig(config: unknown): TemplateSet | undefined {
  if (typeof config !== "object" || config === null || !("mailTemplates" in config)) return undefined;
  const overrides = (config as { mailTemplates?: unknown }).mailTemplates;
  return overrides === undefined ? undefined : resolveTemplates(overrides);
}

/** The authority's name from the tenant configuration when it has one (see {@link templatesFromConfig}). */
export function authorityNameFromConfig(config: unknown): string | undefined {
  if (typeof config !== "object" || config === null || !("authorityName" in config)) return undefined;
  const name = (config as { authorityName?: unknown }).authorityName;
  return typeof name === "string" && name.trim() !== "" ? name.trim() : undefined;
}

// ---------------------------------------------------------------------------------------------
// Rendering

export interface PlannedRenderOptions {
  readonly caseRecordBaseUrl: string;
  readonly templates?: TemplateSet;
}

/** Renders a planned email: a template kind through templates.ts, a notice with its fixed wording. */
export function renderPlanned(email: PlannedEmail, options: PlannedRenderOptions): RenderedEmail {
  if (email.content.source === "template") {
    return renderEmail(email.content.notification, {
      caseRecordBaseUrl: options.caseRecordBaseUrl,
      ...(options.templates === undefined ? {} : { templates: options.templates }),
    });
  }
  return renderNotice(email.content.notice, email.content.recipientName, options.caseRecordBaseUrl);
}

type Block = { readonly text: string } | { readonly heading: string; readonly items: readonly string[] };

const PLAN_NAMES = { CP: "child protection plan", LAC: "care plan" } as const;

const UNDELIVERABLE_WORDS: Record<UndeliverableReason, string> = {
  bounced: "could not be delivered: their mail system refused it",
  complaint: "was reported as unwanted by their mail system, so further emails to them may not arrive",
  rejected: "could not be sent",
};

/** A notice's subject and paragraphs. Subjects carry the reference and protocol words only. */
function noticeParts(n: ServiceNotice, greeting: string | undefined): { subject: string; blocks: Block[] } {
  const ref = challengeReference(n.challenge.challengeId);
  const plan = PLAN_NAMES[n.challenge.form.track];
  const hello = (fallback: string): Block => ({ text: `Dear ${greeting ?? fallback},` });
  switch (n.kind) {
    case "raiser_alerted": {
      const missing =
        n.reason === "no_response"
          ? `had no response from the ${n.stage.recipientTitle}`
          : `was answered by the ${n.stage.recipientTitle} but not resolved`;
      const choice = n.informal
        ? "resolve it, or open the formal stage by escalating it with your reasons"
        : "mark it resolved, or escalate it with your reasons";
      return {
        subject: `${n.decideBy === undefined ? "" : "Your decision needed: "}${timedOutWords(n.reason)}: challenge ${ref} (${n.stage.label}, ${n.stage.recipientTitle})`,
        blocks: [
          hello(n.challenge.raiserTitle),
          {
            text: `Challenge ${ref} about a child's ${plan} ${missing} at ${n.stage.label}: ${n.stage.title} by ${deadlineInWords(n.stage.deadline)}.`,
          },
          {
            text:
              n.decideBy === undefined
                ? "Under the protocol, what happens next is your decision: you can escalate the challenge with your reasons, or record what you have agreed instead, on the case record."
                : `Under the protocol, please ${choice} by ${deadlineInWords(n.decideBy)}. If you do neither, it escalates to the next stage automatically, and the record will say why.`,
          },
        ],
      };
    }
    case "auto_escalated_raiser":
      return {
        subject: `Escalated automatically: challenge ${ref} is now at ${n.nextStage.label} (${n.nextStage.recipientTitle})`,
        blocks: [
          hello(n.challenge.raiserTitle),
          {
            text: `Challenge ${ref} about a child's ${plan} has escalated automatically from ${n.stage.label}: ${n.stage.title} to ${n.nextStage.label}: ${n.nextStage.title}. The ${n.nextStage.recipientTitle} has been asked to respond by ${deadlineInWords(n.nextStage.deadline)}.`,
          },
          { text: `Why:\n${n.reasons}` },
        ],
      };
    case "decision_requested":
      return {
        subject: `Your decision needed by ${deadlineInWords(n.dueBy)}: challenge ${ref}`,
        blocks: [
          hello(n.deciderTitle),
          {
            text: `Challenge ${ref} about a child's ${plan} has been through every stage of the protocol without resolution. The protocol asks the ${n.deciderTitle} to decide: "${n.citation}"`,
          },
          {
            text: `Please record your decision, with your reasons, on the case record by ${deadlineInWords(n.dueBy)}. Until you do it stays in your work tray, and in the overdue view once that time has passed.`,
          },
        ],
      };
    case "decision_recorded":
      return {
        subject: `Decision recorded: challenge ${ref} ${n.upheld ? "upheld" : "not upheld"} by the ${n.deciderTitle}`,
        blocks: [
          hello(n.challenge.raiserTitle),
          {
            text: `The ${n.deciderTitle} has decided on challenge ${ref} about a child's ${plan}: ${n.upheld ? "upheld" : "not upheld"}.`,
          },
          {
            text: `Their reasons:
${n.reasons}`,
          },
        ],
      };
    case "deadline_shortened":
      return {
        subject: `Earlier deadline: challenge ${ref} (${n.stage.label}) is now due by ${deadlineInWords(n.stage.deadline)}`,
        blocks: [
          hello(n.stage.recipientTitle),
          {
            text: `The deadline for challenge ${ref} about a child's ${plan}, at ${n.stage.label}: ${n.stage.title}, has been brought forward from ${deadlineInWords(n.previousDeadline)} to ${deadlineInWords(n.stage.deadline)}.`,
          },
          { text: `Why a response is needed more quickly:\n${n.reason}` },
          { text: "Please respond on the case record by the new deadline." },
        ],
      };
    case "ladder_exhausted": {
      const missing =
        (n.timedOut ?? "no_response") === "no_response" ? "had no response" : "had no resolution";
      return {
        subject: `Every stage tried: challenge ${ref} ${missing} at ${n.stage.label}`,
        blocks: [
          hello(n.challenge.raiserTitle),
          {
            text: `Challenge ${ref} about a child's ${plan} ${missing} from the ${n.stage.recipientTitle} at ${n.stage.label}: ${n.stage.title} by ${deadlineInWords(n.stage.deadline)}. That was the last stage of the protocol.`,
          },
          {
            text: "Please decide what happens next on the case record: a referral, where the protocol provides one, noting a difference, or closing the challenge.",
          },
        ],
      };
    }
    case "action_plan_agreed":
      return {
        subject: `Action plan agreed: challenge ${ref} (${n.stage.label})`,
        blocks: [
          hello("colleague"),
          {
            text: `An action plan has been agreed for challenge ${ref} at ${n.stage.label}: ${n.stage.title}.`,
          },
          {
            heading: "The agreed actions",
            items: n.actions.map((a) => `${a.action} (by ${a.byWhom}, by ${dateInWords(a.byWhen)})`),
          },
          {
            text: "Whether each action was done is recorded on the case record. If an action is missed, the challenge can be reopened at the stage it last left.",
          },
        ],
      };
    case "referral_approval": {
      const name = REFERRAL_NAMES[n.referral.kind];
      return {
        subject: `Approval needed: referral to ${name}, challenge ${ref}`,
        blocks: [
          hello(n.referral.approverTitle),
          {
            text: `The ${n.challenge.raiserTitle} has asked for challenge ${ref}, about a child's ${plan}, to be referred to ${name} (${n.referral.recipientTitle}). Under the protocol the referral needs the approval of the ${n.referral.approverTitle} before it is made.`,
          },
          { text: `Why the referral is requested:\n${n.referral.rationale}` },
          { text: "Please record your decision on the case record." },
        ],
      };
    }
    case "stage_reassigned": {
      const why =
        n.because === "out_of_office" ? "replied that they are out of the office" : "is recorded as away";
      const until =
        n.absentUntil === undefined ? "and did not say until when" : `until ${dateInWords(n.absentUntil)}`;
      return {
        subject: `Passed to cover: challenge ${ref} (${n.stage.label}, ${n.stage.recipientTitle} away)`,
        blocks: [
          hello(n.challenge.raiserTitle),
          {
            text: `The ${n.stage.recipientTitle} who has challenge ${ref} about a child's ${plan} at ${n.stage.label}: ${n.stage.title} ${why} ${until}. The challenge has been passed to the named cover for the ${n.stage.recipientTitle}, who acts for them; they are copied.`,
          },
          {
            text: `The deadline has not changed: a response is due by ${deadlineInWords(n.stage.deadline)}.`,
          },
        ],
      };
    }
    case "undeliverable":
      return {
        subject: `Email not delivered: challenge ${ref}`,
        blocks: [
          hello(n.challenge.raiserTitle),
          {
            text: `An email about challenge ${ref} to the ${n.recipientTitle} ${UNDELIVERABLE_WORDS[n.reason]}. They may not know that the challenge is waiting for them.`,
          },
          {
            text: "Please contact them another way, and ask the service administrator to check their address in the staff directory.",
          },
        ],
      };
  }
}

function renderNotice(n: ServiceNotice, recipientName: string | undefined, baseUrl: string): RenderedEmail {
  const { subject: rawSubject, blocks: body } = noticeParts(n, recipientName?.trim() || undefined);
  const subject = rawSubject
    .replace(/[\p{Cc}\u2028\u2029]+/gu, " ")
    .replace(/\s+/g, " ")
    .trim();
  const form = n.challenge.form;
  const url = caseRecordUrl(baseUrl, form.child.caseRecordId);
  const link = `Case record (${form.child.caseRecordSystem} ${form.child.caseRecordId}): `;
  const blocks: Block[] = [...body, { text: `${link}${url}` }, { text: n.challenge.authorityName }];
  const text = blocks
    .map((b) => ("text" in b ? b.text : [b.heading, ...b.items.map((i) => `- ${i}`)].join("\n")))
    .join("\n\n");
  const paragraph = (t: string): string => `<p>${escapeHtml(t).replace(/\r?\n/g, "<br>\n")}</p>`;
  const html = blocks.map((b) => {
    if (!("text" in b)) {
      return [
        `<h3>${escapeHtml(b.heading)}</h3>`,
        "<ul>",
        ...b.items.map((i) => `<li>${escapeHtml(i)}</li>`),
        "</ul>",
      ].join("\n");
    }
    if (b.text.startsWith(link)) {
      return `<p>${escapeHtml(link)}<a href="${escapeHtml(url)}">${escapeHtml(url)}</a></p>`;
    }
    return paragraph(b.text);
  });
  return {
    subject,
    text: `${text.trim()}\n`,
    html: [
      "<!doctype html>",
      '<html lang="en-GB">',
      '<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">',
      `<title>${escapeHtml(subject)}</title></head>`,
      '<body style="font-family: Arial, sans-serif; font-size: 16px; line-height: 1.5; color: #0b0c0c;">',
      ...html,
      "</body>",
      "</html>",
      "",
    ].join("\n"),
  };
}
