import { deadlineRule } from "./challenge/timer.js";
import { stageWindow } from "./challenge/ladder.js";
import type { DeadlineAction, Protocol, Recipient, Track, Window } from "./protocol.js";

/**
 * What an authority setting up a protocol needs to know about it, read from the protocol's data:
 * each track's stages (label, recipient, copies, window), its themes, and the directory roles it
 * will ask for. Used by GET /v1/config and `npm run authority -- init`.
 */

export interface LadderStage {
  readonly id: string;
  readonly label: string;
  readonly title: string;
  readonly recipient: Recipient;
  readonly partnerRecipient: Recipient | null;
  /** Co-equal recipients beside `recipient`, each sent the stage and able to answer it. */
  readonly coRecipients: readonly Recipient[];
  readonly copyTo: readonly Recipient[];
  /** The time to resolve the stage, as the seed states it. */
  readonly window: Window;
  /** What happens at the deadline when nobody responded. */
  readonly onNoResponse: DeadlineAction;
  /** What happens at the deadline when a response came but the stage was not resolved. */
  readonly onNoResolution: DeadlineAction;
}

export interface ProtocolGuide {
  readonly id: string;
  readonly name: string;
  readonly tracks: readonly { readonly track: Track; readonly stages: readonly LadderStage[] }[];
  readonly themes: readonly { readonly id: string; readonly label: string }[];
  /** Every role the protocol sends work to (stages, copies, referral approvers and recipients, difference deciders). */
  readonly roles: readonly Recipient[];
}

/** The roles a protocol sends work to, each once, in ladder order (the first title a role is given). */
export function protocolRoles(protocol: Protocol): Recipient[] {
  const seen = new Map<string, Recipient>();
  const add = (recipient: Recipient | undefined): void => {
    if (recipient !== undefined && !seen.has(recipient.role))
      seen.set(recipient.role, { role: recipient.role, title: recipient.title });
  };
  for (const track of Object.values(protocol.tracks)) {
    for (const stage of track.stages) {
      add(stage.recipient);
      stage.coRecipients?.forEach(add);
      add(stage.partnerRecipient);
      stage.copyTo.forEach(add);
    }
    for (const referral of [track.cafcass, track.partnership]) {
      referral?.approvalBy.forEach(add);
      add(referral?.recipient);
    }
    add(track.difference?.decidedBy);
  }
  return [...seen.values()];
}

export function protocolGuide(protocol: Protocol): ProtocolGuide {
  return {
    id: protocol.id,
    name: protocol.name,
    tracks: Object.values(protocol.tracks).map((track) => ({
      track: track.track,
      stages: track.stages.map((stage) => ({
        id: stage.id,
        label: stage.label,
        title: stage.title,
        recipient: stage.recipient,
        partnerRecipient: stage.partnerRecipient ?? null,
        coRecipients: stage.coRecipients ?? [],
        copyTo: stage.copyTo,
        window: stageWindow(stage),
        onNoResponse: deadlineRule(stage, "no_response").action,
        onNoResolution: deadlineRule(stage, "no_resolution").action,
      })),
    })),
    themes: protocol.themes.map((theme) => ({ id: theme.id, label: theme.label })),
    roles: protocolRoles(protocol),
  };
}

/** A directory entry as far as role holding goes. */
export interface RoleHolder {
  readonly active: boolean;
  readonly roles: readonly {
    readonly role: string;
    readonly scope: { readonly kind: string; readonly teamId?: string };
  }[];
}

export interface MissingRole extends Recipient {
  /** Teams with no holder of the role when nobody holds it across the authority; empty: nobody holds it at all. */
  readonly teams: readonly string[];
}

/**
 * The protocol's roles that the directory cannot route to: held by no active person at all, or,
 * when nobody holds them across the authority, missing for some of the directory's teams.
 * (Partner-agency holders only serve that agency's challenges, so they do not count here.)
 */
export function rolesWithoutHolder(protocol: Protocol, staff: readonly RoleHolder[]): MissingRole[] {
  const active = staff.filter((member) => member.active).flatMap((member) => member.roles);
  const teams = [
    ...new Set(
      active.flatMap((r) =>
        r.scope.kind === "team" && r.scope.teamId !== undefined ? [r.scope.teamId] : [],
      ),
    ),
  ].sort();
  const missing: MissingRole[] = [];
  for (const recipient of protocolRoles(protocol)) {
    const held = active.filter((r) => r.role === recipient.role && r.scope.kind !== "partner_agency");
    if (held.some((r) => r.scope.kind === "authority")) continue;
    const heldFor = new Set(held.flatMap((r) => (r.scope.kind === "team" ? [r.scope.teamId] : [])));
    if (held.length === 0) missing.push({ ...recipient, teams: [] });
    else {
      const without = teams.filter((team) => !heldFor.has(team));
      if (without.length > 0) missing.push({ ...recipient, teams: without });
    }
  }
  return missing;
}
