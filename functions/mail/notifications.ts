import { createHash } from "node:crypto";
import type { Assignee, ChallengeEvent, EventOf, UndeliverableReason } from "../domain/challenge/events.js";
import { evolve, initialState } from "../domain/challenge/evolve.js";
import type { ChallengeState, DirectoryLookup, OpenStage } from "../domain/challenge/state.js";
import { type RecipientRole, openingsBefore, recipientTitleFor } from "../domain/email-recipients.js";
import type { NotificationKind } from "../domain/email-templates.js";
import type { Protocol, Recipient, TrackProtocol } from "../domain/protocol.js";
import { normaliseEmail, type ReplyParty } from "./reply-token.js";
import {
  type ChallengeFacts,
  type Notification,
  type RenderOptions,
  type RenderedEmail,
  type StageFacts,
  REFERRAL_NAMES,
  renderEmail,
} from "./templates.js";

/**
 * The plan: which emails a committed event needs, pure. For each event it lists who is told what:
 * a recipient, a template key (the email's `kind`) and the facts its template renders
 * ({@link PlannedEmail.notification}). The wording is templates.ts (defaults, and the tenant's
 * overrides checked by domain/email-templates.ts); the transport is outbound.ts and mailer.ts. The
 * mail sender (send-notification.ts) reads each new event item from the table's stream (the
 * transactional outbox), replays the challenge's events up to it, and asks
 * {@link notificationsFor}; it renders, signs and sends what it is told.
 *
 * One email per recipient address per event (first-listed wins, so the email a person can act on
 * beats a copy); copies are separate emails, never Cc, so every Reply-To is personal. The only Cc
 * is the raiser's copy of a referral, which cannot be replied to.
 *
 * | event                     | to                                      | kind                                   | reply as   |
 * | ------------------------- | --------------------------------------- | -------------------------------------- | ---------- |
 * | StageOpened               | the assignee and each co-assignee       | stage_opened (auto_escalated if timer) | assignee   |
 * |                           | the previous assignee(s) (timer only)   | auto_escalated_previous                | -          |
 * |                           | the raiser (timer only)                 | auto_escalated_raiser                  | -          |
 * |                           | each copyTo person                      | stage_opened_copy                      | -          |
 * | StageReassigned           | the cover (now the stage's recipient)   | stage_opened                           | assignee   |
 * |                           | the absent recipient                    | stage_opened_copy                      | -          |
 * |                           | the raiser                              | stage_reassigned                       | -          |
 * | ReminderSent              | the assignee and each co-assignee       | reminder                               | assignee   |
 * | ResponseRecorded          | the raiser                              | response_received                      | raiser     |
 * | ActionPlanAgreed          | the raiser and the stage's assignee     | action_plan_agreed                     | -          |
 * | ActionsFellDue            | the raiser                              | action_due (the actions listed)        | -          |
 * | Escalated off the ladder  | the raiser (timer only)                 | ladder_exhausted                       | -          |
 * | RaiserAlerted             | the raiser                              | raiser_alerted (decide by ...)         | -          |
 * | DeadlineShortened         | the stage's assignee                    | deadline_shortened                     | -          |
 * | Resolved, Closed          | the raiser and the last assignee        | resolved, closed                       | -          |
 * | Withdrawn                 | the last assignee                       | closed (with the reason)               | -          |
 * | ReferralRequested         | each approver the policy names          | referral_approval                      | -          |
 * | ReferralMade              | the policy's recipient (Cc the raiser)  | referral                               | -          |
 * | DecisionRequested         | the decider the event names (Cc raiser) | decision_requested                     | -          |
 * | DecisionRecorded          | the raiser                              | decision_recorded                      | -          |
 * | (an email undeliverable)  | the raiser ({@link undeliverableNotice})| undeliverable                          | -          |
 *
 * Nothing for ChallengeRaised (its StageOpened follows in the same commit), Escalated onto another
 * stage by a person (its StageOpened says it), StageAcknowledged, MeetingRecorded, ReferralApproved,
 * ActionCompleted/Missed, Reopened (its StageOpened follows), DifferenceNoted, legal holds, and
 * NotificationUndeliverable (the raiser's alert is sent when the failure is recorded, with its own
 * delivery record: outbound.ts). The reminder's reply address is the StageOpened email's (same
 * stage visit, same expiry). The action_due email has none: no stage is open while a plan is monitored, so a reply could not be recorded; the raiser
 * records each action as done or not done through the API or the case record. A person's own
 * action through the API is not confirmed back to them, except where the brief's record emails
 * (Resolved, Closed, ActionPlanAgreed) go to both parties.
 */

export type { RecipientRole } from "../domain/email-recipients.js";

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

export interface PlannedEmail {
  /** Unique among the emails of one event: `<role>:<person id, or a hash of the address>`. */
  readonly recipientKey: string;
  readonly recipientRole: RecipientRole;
  readonly kind: NotificationKind;
  readonly to: MailRecipient;
  readonly cc: readonly MailRecipient[];
  /** What the email says, as facts for its template (templates.ts renders it in the tenant's wording). */
  readonly notification: Notification;
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
    notification: Notification,
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
    this.emails.push({
      recipientKey: `${recipientRole}:${to.personId ?? addressKey(address)}`,
      recipientRole,
      kind: notification.kind,
      to,
      cc,
      notification,
      ...(options.reply === undefined ? {} : { reply: options.reply }),
    });
  }
}

/** An email addressed by name when the directory knows it. */
function templated(notification: Notification, to: MailRecipient | undefined): Notification {
  const name = to?.name;
  return name === undefined ? notification : { ...notification, recipientName: name };
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
          templated(
            {
              kind: "auto_escalated_raiser",
              challenge,
              previousStage,
              stage,
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
        templated(
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
      const content = (to: MailRecipient | undefined): Notification =>
        templated({ kind: "action_plan_agreed", challenge, stage, actions: event.data.actions }, to);
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
        templated(
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
        templated(
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
        templated(
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
          templated(
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
        templated(
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
        templated(
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
    case "NotificationUndeliverable":
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
    templated(
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
// Wording

/** Renders a planned email in the tenant's wording (templates.ts). */
export function renderPlanned(email: PlannedEmail, options: RenderOptions): RenderedEmail {
  return renderEmail(email.notification, options);
}
