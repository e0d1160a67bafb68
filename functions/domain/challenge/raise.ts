import type { CommandOf } from "./commands.js";
import { accept, isRefusal, raiserTitle, refuse, stageById, when } from "./decision.js";
import type { DecideResult, Emit } from "./decision.js";
import { checkBypass, openingOf } from "./ladder.js";
import type { ChallengeState, DecideContext } from "./state.js";

/** Raising a challenge: the one command decided before the challenge exists. */

export function raise(
  state: ChallengeState,
  command: CommandOf<"Raise">,
  ctx: DecideContext,
  emit: Emit,
  at: string,
): DecideResult {
  const { protocol } = ctx;
  if (state.status !== "none") {
    return refuse(
      "ALREADY_EXISTS",
      `challenge ${command.challengeId} was already raised on ${when(state.raisedAt)}: act on it rather than raising it again`,
    );
  }
  const form = command.form;
  const track = protocol.tracks[form.track];
  if (track === undefined) {
    const covered = Object.keys(protocol.tracks).join(" and ");
    return refuse(
      "UNKNOWN_TRACK",
      `this protocol (${protocol.name}) has no ${form.track} process: it covers ${covered} only`,
    );
  }
  if (command.actor.role !== form.raiserRole) {
    return refuse(
      "NOT_PERMITTED",
      `the form says the challenge is raised by the ${raiserTitle(protocol, form.raiserRole)}, but you are signed in as ${command.actor.role}: the ${raiserTitle(protocol, form.raiserRole)} raises the challenge themselves`,
    );
  }
  const themeIds = new Set(protocol.themes.map((t) => t.id));
  const unknownThemes = form.themes.filter((t) => !themeIds.has(t));
  if (unknownThemes.length > 0) {
    return refuse(
      "UNKNOWN_THEME",
      `${unknownThemes.map((t) => `"${t}"`).join(", ")} ${unknownThemes.length === 1 ? "is not one of" : "are not among"} this protocol's themes; the theme ids are: ${protocol.themes.map((t) => `${t.id} (${t.label})`).join("; ")}`,
    );
  }

  let index = 0;
  let bypassRationale: string | undefined;
  // Starting at the first formal stage is not a bypass where the protocol makes the informal stage optional.
  let isBypass = false;
  if (command.startAtStageId !== undefined) {
    const found = stageById(track, command.startAtStageId);
    if (found === undefined) {
      return refuse(
        "UNKNOWN_STAGE",
        `there is no stage "${command.startAtStageId}" on the ${track.track} ladder of this protocol (its stages are ${track.stages.map((s) => s.id).join(", ")})`,
      );
    }
    index = found.index;
    isBypass = index > 0 && !(index === 1 && track.informalStageOptional !== undefined);
    if (isBypass) {
      const refused = checkBypass(protocol, track, form.raiserRole, found.stage, {
        safeguardingConcern: command.safeguardingConcern === true,
        immediateRisk: form.immediateRisk,
      });
      if (refused !== undefined) return refused;
      if (command.bypassRationale === undefined) {
        const skipped = track.stages.slice(0, index).map((s) => s.label);
        return refuse(
          "INVALID_COMMAND",
          `starting at ${found.stage.label} skips ${skipped.join(", ")}: give the rationale for the bypass`,
        );
      }
      bypassRationale = command.bypassRationale;
    }
  }

  const opening = openingOf(track, form, ctx, index, isBypass ? "bypassed" : "raised", at);
  if (isRefusal(opening)) return opening;
  return accept([
    emit("ChallengeRaised", {
      form,
      protocolId: protocol.id,
      track: track.track,
      raiser: command.actor,
      safeguardingConcern: command.safeguardingConcern ?? false,
      ...(bypassRationale === undefined ? {} : { bypassRationale }),
    }),
    emit("StageOpened", opening),
  ]);
}
