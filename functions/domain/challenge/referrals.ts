import type { ReferralPolicy } from "../protocol.js";
import type { CommandOf, ReferralKind } from "./commands.js";
import {
  accept,
  describeStatus,
  isRaiser,
  isRefusal,
  onlyRaiser,
  raiserTitle,
  referralName,
  refuse,
  stageName,
  titles,
  when,
  wrongStatus,
} from "./decision.js";
import type { DecideResult, Scope } from "./decision.js";
import type { ChallengeEvent } from "./events.js";
import { decisionRequested } from "./after-ladder.js";
import { stageRecipients } from "./recipient-actions.js";

/** Referrals (Cafcass, safeguarding partnership): requesting one and approving it. */

/** The track's policy for a kind of referral and its name in words, or a refusal saying the track has none. */
function referralPolicy(
  scope: Scope,
  kind: ReferralKind,
): { policy: ReferralPolicy; name: string } | DecideResult {
  const { track } = scope;
  const policy = track[kind];
  if (policy === undefined) {
    return refuse(
      "REFERRAL_NOT_AVAILABLE",
      `the ${track.track} process in this protocol has no ${referralName(kind)}`,
    );
  }
  return { policy, name: referralName(kind, policy) };
}

/**
 * The referral is made: sent to the policy's recipient with the policy's documents, and, where the
 * policy names a decision that follows (003), that decision is asked for. Refused (NO_RECIPIENT)
 * when nobody holds the deciding role.
 */
function referralMade(
  scope: Scope,
  kind: ReferralKind,
  policy: ReferralPolicy,
  before: ChallengeEvent[],
): DecideResult {
  const made = scope.emit("ReferralMade", {
    kind,
    recipient: policy.recipient,
    documents: policy.documents,
  });
  if (policy.decision === undefined) return accept([...before, made]);
  const requested = decisionRequested(scope, kind, policy.decision);
  if (isRefusal(requested)) return requested;
  return accept([...before, made, requested]);
}

export function requestReferral(scope: Scope, command: CommandOf<"RequestReferral">): DecideResult {
  const { protocol, track, state } = scope;
  const found = referralPolicy(scope, command.kind);
  if (isRefusal(found)) return found;
  const { policy, name } = found;
  if (!isRaiser(scope, command)) return onlyRaiser(scope, `make a ${name}`);
  const role = scope.form.raiserRole;
  if (!policy.raiserRoles.includes(role)) {
    const guidance = track.endOfLadderGuidance[role];
    return refuse(
      "NOT_PERMITTED",
      `in this protocol a ${name} is made by the ${policy.raiserRoles.map((r) => raiserTitle(protocol, r)).join(" or ")}, not the ${raiserTitle(protocol, role)} ("${policy.citation}")${guidance === undefined ? "" : `. ${guidance}`}`,
    );
  }
  const existing = state.referrals.find((r) => r.kind === command.kind);
  if (existing !== undefined) {
    return refuse(
      "WRONG_STATUS",
      `a ${name} was already requested on ${when(existing.requestedAt)} and is ${existing.status === "made" ? "made" : "waiting for approval"}`,
    );
  }
  if (policy.when === "after_final_stage") {
    if (state.status !== "ladder_exhausted") {
      const last = track.stages.at(-1);
      return refuse(
        "REFERRAL_NOT_AVAILABLE",
        `in this protocol a ${name} is made only after the last stage${last === undefined ? "" : `, ${stageName(last)},`} has been tried without resolution ("${policy.citation}"), and ${describeStatus(scope)}`,
      );
    }
  } else if (
    state.status !== "open" &&
    state.status !== "monitoring" &&
    state.status !== "ladder_exhausted"
  ) {
    return wrongStatus(scope, `a ${name} cannot be made now`);
  }
  const known = new Set(policy.attestations.map((a) => a.id));
  const unknown = command.attestations.filter((a) => !known.has(a));
  if (unknown.length > 0) {
    return refuse(
      "INVALID_COMMAND",
      `${unknown.map((a) => `"${a}"`).join(", ")} ${unknown.length === 1 ? "is not a statement" : "are not statements"} this protocol asks for with a ${name}${policy.attestations.length === 0 ? " (it asks for none)" : ` (it asks for: ${policy.attestations.map((a) => a.id).join(", ")})`}`,
    );
  }
  const missing = policy.attestations.filter((a) => !command.attestations.includes(a.id));
  if (missing.length > 0) {
    return refuse(
      "ATTESTATION_MISSING",
      `before a ${name} you must confirm: ${missing.map((a) => `"${a.text}"`).join("; ")} ("${policy.citation}")`,
    );
  }
  const attestations = policy.attestations.map((a) => a.id);
  const requested = scope.emit("ReferralRequested", {
    kind: command.kind,
    rationale: command.rationale,
    attestations,
    approvalsNeeded: policy.approvalBy,
  });
  if (policy.approvalBy.length > 0) return accept([requested]);
  return referralMade(scope, command.kind, policy, [requested]);
}

export function approveReferral(scope: Scope, command: CommandOf<"ApproveReferral">): DecideResult {
  const { state } = scope;
  const found = referralPolicy(scope, command.kind);
  if (isRefusal(found)) return found;
  const { policy, name } = found;
  if (command.actor.role !== "manager" && command.actor.role !== "iro_service_manager") {
    return refuse(
      "NOT_PERMITTED",
      `a ${name} is approved by ${titles(policy.approvalBy) || "nobody: it needs no approval"}, not by someone signed in as ${command.actor.role}`,
    );
  }
  if (state.status === "withdrawn" || state.status === "closed") {
    return wrongStatus(scope, `the ${name} can no longer be approved`);
  }
  const referral = state.referrals.find((r) => r.kind === command.kind);
  if (referral?.status !== "awaiting_approval") {
    return refuse(
      "WRONG_STATUS",
      referral === undefined
        ? `no ${name} has been requested for this challenge, so there is nothing to approve`
        : `the ${name} was already made: there is nothing left to approve`,
    );
  }
  const role = referral.approvalsNeeded.find((r) => r.role === command.approverRole);
  if (role === undefined) {
    return refuse(
      "NOT_PERMITTED",
      `this ${name} needs approval by ${titles(referral.approvalsNeeded)}; "${command.approverRole}" is not one of them`,
    );
  }
  if (referral.approvedBy.includes(role.role)) {
    return refuse("WRONG_STATUS", `the ${role.title} has already approved this ${name}`);
  }
  const open = scope.state.currentStage;
  if (open !== null && stageRecipients(open).some((r) => r.personId === command.actor.id)) {
    return refuse(
      "NOT_APPROVER",
      `the recipient of the open stage is the subject of this challenge and cannot approve a ${name} about it: the ${role.title} must approve it`,
    );
  }
  const standing = scope.ctx.directory.standing(command.actor.id, role.role, { teamId: scope.form.team.id });
  if (standing === undefined) {
    return refuse(
      "NOT_APPROVER",
      `only the person the staff directory names as ${role.title} for team ${scope.form.team.name} (or their named cover) can approve this ${name} as the ${role.title}, and you are not: ask them, or ask the directory's administrator to record you as cover`,
    );
  }
  const approved = scope.emit("ReferralApproved", {
    kind: command.kind,
    approverRole: role.role,
    ...(standing === "cover" ? { asCover: true } : {}),
    ...(command.comment === undefined ? {} : { comment: command.comment }),
  });
  const approvals = new Set([...referral.approvedBy, role.role]);
  if (!referral.approvalsNeeded.every((r) => approvals.has(r.role))) return accept([approved]);
  return referralMade(scope, command.kind, policy, [approved]);
}
