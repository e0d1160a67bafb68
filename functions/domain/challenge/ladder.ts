import type {
  Protocol,
  RaiserRole,
  Recipient,
  ReferralPolicy,
  Stage,
  TrackProtocol,
  Window,
} from "../protocol.js";
import type { ChallengeForm, ReferralKind } from "./commands.js";
import { accept, isRefusal, raiserTitle, referralName, refuse } from "./decision.js";
import type { DecideResult, Scope } from "./decision.js";
import { routeAroundAbsence } from "../absence-cover.js";
import type { AbsenceFacts, Assignee, EventOf, StageOpenedVia, TimedOutBecause } from "./events.js";
import type { DecideContext, DirectoryScope, OpenStage } from "./state.js";

/**
 * Moving along a track's ladder: who a stage is addressed to and when it is due, whether a bypass
 * is allowed, whether a referral has stopped the escalation, and leaving one stage for a later one.
 */

/**
 * Whether a referral already made under a policy that does not run alongside the escalation has
 * stopped the ladder (e.g. Rotherham: the IRO gives "a clear rationale for not pursuing the
 * escalation process"). The open stage stays open for its recipient's response, but nobody moves
 * the challenge up the ladder any more.
 */
function escalationStoppedBy(scope: Scope): { policy: ReferralPolicy; kind: ReferralKind } | undefined {
  for (const referral of scope.state.referrals) {
    const policy = scope.track[referral.kind];
    if (referral.status === "made" && policy !== undefined && !policy.concurrentWithEscalation) {
      return { policy, kind: referral.kind };
    }
  }
  return undefined;
}

export function escalationStopped(scope: Scope): DecideResult | undefined {
  const stopped = escalationStoppedBy(scope);
  if (stopped === undefined) return undefined;
  return refuse(
    "WRONG_STATUS",
    `the escalation stopped when the ${referralName(stopped.kind, stopped.policy)} was made: in this protocol the referral is made instead of continuing the escalation ("${stopped.policy.citation}")`,
  );
}

/**
 * Whether the raiser may skip from stage `fromIndex` (-1 when raising) to stage `toIndex`, under
 * the track's bypass rule for their role.
 */
export function checkBypass(
  protocol: Protocol,
  track: TrackProtocol,
  role: RaiserRole,
  toStage: Stage,
  evidence: { safeguardingConcern: boolean; immediateRisk: boolean },
): DecideResult | undefined {
  const rule = track.bypass[role];
  const title = raiserTitle(protocol, role);
  switch (rule.allowed) {
    case "any":
      return undefined;
    case "never":
      return refuse(
        "BYPASS_NOT_ALLOWED",
        `${track.track} track in this protocol does not allow bypass by the ${title} ("${rule.citation}"): every stage must be followed in turn, so ${toStage.label} can only be reached by escalating one stage at a time`,
      );
    case "safeguarding_concern":
      return evidence.safeguardingConcern
        ? undefined
        : refuse(
            "BYPASS_NOT_ALLOWED",
            `${track.track} track in this protocol lets the ${title} bypass stages only where there is a safeguarding concern ("${rule.citation}"), and no safeguarding concern was stated: state the concern to go straight to ${toStage.label}, or escalate one stage at a time`,
          );
    case "immediate_risk":
      return evidence.immediateRisk
        ? undefined
        : refuse(
            "BYPASS_NOT_ALLOWED",
            `${track.track} track in this protocol lets stages be taken out of sequence only when the child is at immediate risk of significant harm ("${rule.citation}"), and the challenge form does not record an immediate risk: escalate one stage at a time`,
          );
  }
}

/**
 * Who a stage is addressed to: its partner-agency recipient when the challenge is with a partner
 * agency and the stage names one (Halton CP, Nottingham), looked up in that agency only; else its
 * children's social care recipient and any co-equal recipients (003: both Heads of Service).
 */
export function addresseeOf(
  stage: Stage,
  form: ChallengeForm,
): {
  recipient: Recipient;
  coRecipients: readonly Recipient[];
  scope: DirectoryScope;
  whose: string;
} {
  if (form.partnerAgency !== undefined && stage.partnerRecipient !== undefined) {
    return {
      recipient: stage.partnerRecipient,
      coRecipients: [],
      scope: { teamId: form.team.id, partnerAgencyId: form.partnerAgency.id },
      whose: form.partnerAgency.name,
    };
  }
  return {
    recipient: stage.recipient,
    coRecipients: stage.coRecipients ?? [],
    scope: { teamId: form.team.id },
    whose: `team ${form.team.name}`,
  };
}

/** A stage's response window: as the seed states it (`window`), else its working days. */
export function stageWindow(stage: Stage): Window {
  return stage.window === undefined
    ? { length: stage.responseWindowWorkingDays, unit: "working_days" }
    : { length: stage.window.length, unit: stage.window.unit };
}

/** Works out who a stage is addressed to and its deadline: the data of its StageOpened event. */
export function openingOf(
  track: TrackProtocol,
  form: ChallengeForm,
  ctx: DecideContext,
  index: number,
  via: StageOpenedVia,
  at: string,
): EventOf<"StageOpened">["data"] | DecideResult {
  const stage = track.stages[index];
  if (stage === undefined)
    return refuse("UNKNOWN_STAGE", `there is no stage ${index + 1} on the ${track.track} ladder`);
  const { recipient, coRecipients, scope, whose } = addresseeOf(stage, form);
  const holder = ctx.directory(recipient, scope);
  if (holder === undefined) return noHolder(stage, recipient, whose);
  // A holder away today: the stage goes to their named cover, the holder copied (absence-cover.ts).
  const today = ctx.calendar.londonDate(ctx.now);
  const absentCopied: Assignee[] = [];
  const uncovered: AbsenceFacts[] = [];
  const routed = (person: Assignee): Assignee => {
    const route = routeAroundAbsence(ctx.directory, person, scope, today);
    if (route.copy !== undefined) absentCopied.push(route.copy);
    else if (route.absence !== undefined) uncovered.push(route.absence);
    return route.to;
  };
  const assignee = routed(holder);
  const coAssignees: Assignee[] = [];
  for (const role of coRecipients) {
    const found = ctx.directory(role, scope);
    if (found === undefined) return noHolder(stage, role, whose);
    if (found.personId === holder.personId) continue;
    const person = routed(found);
    if (person.personId !== assignee.personId && !coAssignees.some((c) => c.personId === person.personId)) {
      coAssignees.push(person);
    }
  }
  const addressed = [assignee, ...coAssignees];
  const copyTo: Assignee[] = absentCopied.filter((c) => !addressed.some((a) => a.personId === c.personId));
  const notCopied: Recipient[] = [];
  for (const role of stage.copyTo) {
    const person = ctx.directory(role, { teamId: form.team.id });
    if (person === undefined) {
      notCopied.push(role);
    } else if (![...addressed, ...copyTo].some((c) => c.personId === person.personId)) {
      copyTo.push(person);
    }
  }
  const deadline = ctx.calendar.windowEnd(ctx.now, stageWindow(stage)).toISOString();
  return {
    stageId: stage.id,
    stageIndex: index,
    via,
    openedAt: at,
    deadline,
    assignee,
    coAssignees,
    copyTo,
    notCopied,
    ...(uncovered.length === 0 ? {} : { uncovered }),
  };
}

/** A refusal: nobody holds a role the stage is addressed to (for a partner agency: in that agency). */
function noHolder(stage: Stage, recipient: Recipient, whose: string): DecideResult {
  return refuse(
    "NO_RECIPIENT",
    `nobody in the staff directory holds the role "${recipient.title}" for ${whose}, so ${stage.label} has no one to send it to: add them to the directory and try again`,
  );
}

/** Leaves the open stage for stage `toIndex` (or off the end of the ladder when it is past the last). */
export function moveUp(
  scope: Scope,
  open: OpenStage,
  toIndex: number,
  kind: EventOf<"Escalated">["data"]["kind"],
  reasons: string,
  safeguardingConcern?: boolean,
  timedOut?: TimedOutBecause,
): DecideResult {
  const via: StageOpenedVia =
    kind === "requested" ? "escalated" : kind === "no_response" ? "auto_escalated" : "bypassed";
  const extra = {
    ...(safeguardingConcern === undefined ? {} : { safeguardingConcern }),
    ...(timedOut === undefined ? {} : { timedOut }),
  };
  if (toIndex >= scope.track.stages.length) {
    return accept([
      scope.emit("Escalated", { fromStageId: open.stageId, toStageId: null, kind, reasons, ...extra }),
    ]);
  }
  const opening = openingOf(scope.track, scope.form, scope.ctx, toIndex, via, scope.at);
  if (isRefusal(opening)) return opening;
  return accept([
    scope.emit("Escalated", {
      fromStageId: open.stageId,
      toStageId: opening.stageId,
      kind,
      reasons,
      ...extra,
    }),
    scope.emit("StageOpened", opening),
  ]);
}
