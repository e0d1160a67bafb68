import * as z from "zod/mini";
import { recordAction, recordActionsDue } from "./action-plan.js";
import { commandSchema, commandTypes, isCommandType } from "./commands.js";
import type { Command, CommandOf } from "./commands.js";
import { accept, emitter, refuse, unmetExpectation } from "./decision.js";
import type { DecideResult, Scope } from "./decision.js";
import { evolve, initialState } from "./evolve.js";
import { raise } from "./raise.js";
import {
  bypass,
  close,
  escalate,
  markResolved,
  noteDifference,
  reopen,
  shortenDeadline,
  withdraw,
} from "./raiser-actions.js";
import { acknowledge, agreeActionPlan, recordMeeting, respond } from "./recipient-actions.js";
import { setLegalHold } from "./legal-hold.js";
import { approveReferral, requestReferral } from "./referrals.js";
import { decideAfterLadder } from "./after-ladder.js";
import { routeToCover } from "./route-to-cover.js";
import type { ChallengeEvent } from "./events.js";
import type { ChallengeState, DecideContext } from "./state.js";
import { autoEscalate, sendReminder } from "./timer.js";

/**
 * The decision half of the aggregate: `decide(state, command, ctx)` either accepts the command and
 * returns the events that record it, or refuses it with a DomainError whose message says why in
 * words a social worker understands. It never throws for a refused command, never mutates its
 * inputs and reads time and ids only from `ctx`.
 *
 * Every rule comes from the protocol data (ladders, bypass rules, referral policies); there is no
 * authority-specific code.
 */
export type { DecideResult } from "./decision.js";

/**
 * Decides a command against a challenge's state (`undefined` or `initialState(id)` before it
 * exists). Accepted: the events to append, numbered from `state.version + 1`. Refused: a
 * DomainError saying why; nothing is to be written.
 */
export function decide(
  state: ChallengeState | undefined,
  command: Command,
  ctx: DecideContext,
): DecideResult {
  // The command's own schema, not a union of all of them: a function builds only the schemas of
  // the commands it is given (commands.ts).
  const type: unknown = (command as { readonly type?: unknown }).type;
  if (!isCommandType(type)) {
    return refuse(
      "INVALID_COMMAND",
      `the request is incomplete or malformed:\n✖ unknown command type ${JSON.stringify(type)}: expected one of ${commandTypes.join(", ")}\n  → at type`,
    );
  }
  const parsed = commandSchema(type).safeParse(command);
  if (!parsed.success) {
    return refuse(
      "INVALID_COMMAND",
      `the request is incomplete or malformed:\n${z.prettifyError(parsed.error)}`,
    );
  }
  const cmd = parsed.data;
  const current = state ?? initialState(cmd.challengeId);
  if (current.challengeId !== cmd.challengeId) {
    return refuse(
      "INVALID_COMMAND",
      `the command is for challenge ${cmd.challengeId} but was applied to challenge ${current.challengeId}`,
    );
  }
  const at = ctx.now.toISOString();
  const emit = emitter(current, cmd, at);

  if (cmd.type === "Raise") {
    const raised = raise(current, cmd, ctx, emit, at);
    if (!raised.ok || cmd.referral === undefined) return raised;
    return withReferral(raised.events.reduce(evolve, current), cmd, raised.events, ctx);
  }

  if (current.status === "none") {
    return refuse("NOT_FOUND", `there is no challenge ${cmd.challengeId}: it has not been raised`);
  }
  if (current.protocolId !== ctx.protocol.id) {
    return refuse(
      "INVALID_COMMAND",
      `challenge ${cmd.challengeId} runs under protocol "${current.protocolId}", but protocol "${ctx.protocol.id}" was supplied`,
    );
  }
  const track = ctx.protocol.tracks[current.track];
  if (track === undefined) {
    return refuse(
      "UNKNOWN_TRACK",
      `this challenge follows the ${current.track} process, which protocol "${ctx.protocol.id}" no longer has`,
    );
  }
  const scope: Scope = { state: current, ctx, protocol: ctx.protocol, track, form: current.form, emit, at };
  // What the sender expected (the stage they saw, the version they read) is checked before any
  // rule: a command decided again after a concurrent change acts only if that still holds.
  const unmet = unmetExpectation(scope, cmd);
  if (unmet !== undefined) return unmet;

  switch (cmd.type) {
    case "Acknowledge":
      return acknowledge(scope, cmd);
    case "Respond":
      return respond(scope, cmd);
    case "RecordMeeting":
      return recordMeeting(scope, cmd);
    case "AgreeActionPlan":
      return agreeActionPlan(scope, cmd);
    case "MarkResolved":
      return markResolved(scope, cmd);
    case "Escalate":
      return escalate(scope, cmd);
    case "Bypass":
      return bypass(scope, cmd);
    case "AutoEscalate":
      return autoEscalate(scope, cmd);
    case "SendReminder":
      return sendReminder(scope, cmd);
    case "ShortenDeadline":
      return shortenDeadline(scope, cmd);
    case "RecordActionsDue":
      return recordActionsDue(scope, cmd);
    case "RequestReferral":
      return requestReferral(scope, cmd);
    case "ApproveReferral":
      return approveReferral(scope, cmd);
    case "CompleteAction":
    case "MissAction":
      return recordAction(scope, cmd);
    case "Reopen":
      return reopen(scope, cmd);
    case "NoteDifference":
      return noteDifference(scope, cmd);
    case "DecideAfterLadder":
      return decideAfterLadder(scope, cmd);
    case "Withdraw":
      return withdraw(scope, cmd);
    case "Close":
      return close(scope, cmd);
    case "SetLegalHold":
      return setLegalHold(scope, cmd);
    case "RouteToCover":
      return routeToCover(scope, cmd);
  }
}

/**
 * A raise that carries a referral: the referral is decided as the raiser's RequestReferral on the
 * challenge just raised, by the same rules (who may refer, at which point, which attestations), and
 * the two are accepted together or refused together: one decision, one transaction.
 */
function withReferral(
  raisedState: ChallengeState,
  raise: CommandOf<"Raise">,
  raisedEvents: ChallengeEvent[],
  ctx: DecideContext,
): DecideResult {
  const referral = raise.referral;
  if (referral === undefined) return accept(raisedEvents);
  const referred = decide(
    raisedState,
    {
      type: "RequestReferral",
      challengeId: raise.challengeId,
      actor: raise.actor,
      channel: raise.channel,
      kind: referral.kind,
      rationale: referral.rationale,
      attestations: referral.attestations,
    },
    ctx,
  );
  if (!referred.ok) {
    return refuse(
      referred.error.code,
      `the challenge was not raised, because the referral sent with it was refused: ${referred.error.message}`,
    );
  }
  return accept([...raisedEvents, ...referred.events]);
}
