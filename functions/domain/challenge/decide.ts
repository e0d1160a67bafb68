import { z } from "zod";
import type { Protocol, RaiserRole, Recipient, ReferralPolicy, Stage, TrackProtocol } from "../protocol.js";
import { commandSchema } from "./commands.js";
import type { ChallengeForm, Command, CommandOf, ReferralKind } from "./commands.js";
import { DomainError } from "./errors.js";
import type { DomainErrorCode } from "./errors.js";
import type {
  Assignee,
  ChallengeEvent,
  ChallengeEventType,
  EventEnvelope,
  EventOf,
  StageOpenedVia,
} from "./events.js";
import { initialState } from "./evolve.js";
import { actionDatePassed, reminderTime } from "./reminders.js";
import type { ChallengeState, DecideContext, OpenStage } from "./state.js";

/**
 * The decision half of the aggregate: `decide(state, command, ctx)` either accepts the command and
 * returns the events that record it, or refuses it with a DomainError whose message says why in
 * words a social worker understands. It never throws for a refused command, never mutates its
 * inputs and reads time and ids only from `ctx`.
 *
 * Every rule comes from the protocol data (ladders, bypass rules, referral policies); there is no
 * authority-specific code.
 */
export type DecideResult = { ok: true; events: ChallengeEvent[] } | { ok: false; error: DomainError };

const LONDON_INSTANT = new Intl.DateTimeFormat("en-GB", {
  timeZone: "Europe/London",
  weekday: "short",
  day: "numeric",
  month: "short",
  year: "numeric",
  hour: "2-digit",
  minute: "2-digit",
  hourCycle: "h23",
});
const CALENDAR_DAY = new Intl.DateTimeFormat("en-GB", {
  timeZone: "UTC",
  weekday: "short",
  day: "numeric",
  month: "short",
  year: "numeric",
});

/** "Fri, 29 May 2026, 17:00" (London time). */
function when(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : LONDON_INSTANT.format(date);
}

/** "Fri, 29 May 2026" for a YYYY-MM-DD day. */
function day(isoDay: string): string {
  const date = new Date(`${isoDay}T00:00:00Z`);
  return Number.isNaN(date.getTime()) ? isoDay : CALENDAR_DAY.format(date);
}

function refuse(code: DomainErrorCode, message: string): DecideResult {
  return { ok: false, error: new DomainError(code, message) };
}

function accept(events: ChallengeEvent[]): DecideResult {
  return { ok: true, events };
}

/** For a literal `T` the envelope is exactly that event type, so callers get ordinary ChallengeEvents. */
type Emit = <T extends ChallengeEventType>(
  type: T,
  data: EventOf<T>["data"],
) => EventEnvelope<T, EventOf<T>["data"]>;

/** Builds envelopes: seq continues from the state's version, `at` is ctx.now, actor and channel are the command's. */
function emitter(state: ChallengeState, command: Command, at: string): Emit {
  let seq = state.version;
  return (type, data) => {
    seq += 1;
    return {
      type,
      challengeId: command.challengeId,
      seq,
      at,
      actor: command.actor,
      channel: command.channel,
      data,
    };
  };
}

/** Everything a handler needs about an existing challenge. */
interface Scope {
  readonly state: ChallengeState;
  readonly ctx: DecideContext;
  readonly protocol: Protocol;
  readonly track: TrackProtocol;
  readonly form: ChallengeForm;
  readonly emit: Emit;
  readonly at: string;
}

// ---------------------------------------------------------------------------------------------
// Words

function stageName(stage: Stage): string {
  return `${stage.label} (${stage.recipient.title})`;
}

function raiserTitle(protocol: Protocol, role: RaiserRole): string {
  return protocol.raiserTitles[role];
}

function referralName(kind: ReferralKind, policy?: ReferralPolicy): string {
  if (policy !== undefined) return `referral to ${policy.recipient.title}`;
  return kind === "cafcass" ? "Cafcass referral" : "referral to the safeguarding partnership";
}

function titles(recipients: readonly Recipient[]): string {
  const names = recipients.map((r) => r.title);
  if (names.length <= 1) return names.join("");
  return `${names.slice(0, -1).join(", ")} and ${names.at(-1) ?? ""}`;
}

function stageById(track: TrackProtocol, stageId: string): { stage: Stage; index: number } | undefined {
  const index = track.stages.findIndex((s) => s.id === stageId);
  const stage = track.stages[index];
  return stage === undefined ? undefined : { stage, index };
}

function stageLabel(scope: Scope, open: OpenStage): string {
  return stageById(scope.track, open.stageId)?.stage.label ?? open.stageId;
}

function openStageName(scope: Scope, open: OpenStage): string {
  const found = stageById(scope.track, open.stageId);
  return found === undefined ? open.stageId : stageName(found.stage);
}

/** Where the challenge stands, as a clause: "Stage 2 is open and waiting for the Service Manager". */
function describeStatus(scope: Scope): string {
  const { state, track } = scope;
  switch (state.status) {
    case "none":
      return "it has not been raised";
    case "open":
      return state.currentStage === null
        ? "it is open"
        : `${stageLabel(scope, state.currentStage)} is open and waiting for the ${state.currentStage.assignee.title}`;
    case "monitoring": {
      const planStage = state.actionPlan === null ? undefined : stageById(track, state.actionPlan.stageId);
      return planStage === undefined
        ? "an action plan is being monitored"
        : `the action plan agreed at ${planStage.stage.label} is being monitored`;
    }
    case "ladder_exhausted": {
      const last = track.stages.at(-1);
      return last === undefined
        ? "every stage has been tried"
        : `every stage has been tried, up to ${stageName(last)}`;
    }
    case "resolved":
      return state.resolvedAt === undefined
        ? "it was resolved"
        : `it was resolved on ${when(state.resolvedAt)}`;
    case "withdrawn":
      return "it was withdrawn";
    case "closed":
      return state.closedAt === undefined ? "it is closed" : `it was closed on ${when(state.closedAt)}`;
  }
}

function wrongStatus(scope: Scope, what: string): DecideResult {
  return refuse("WRONG_STATUS", `${what}: ${describeStatus(scope)}`);
}

// ---------------------------------------------------------------------------------------------
// Shared rules

function isRaiser(scope: Scope, command: Command): boolean {
  return command.actor.id === scope.state.raiser.id;
}

function onlyRaiser(scope: Scope, verb: string): DecideResult {
  const title = raiserTitle(scope.protocol, scope.form.raiserRole);
  return refuse("NOT_PERMITTED", `only the ${title} who raised this challenge can ${verb}`);
}

/** The open stage and its protocol definition, or a refusal saying there is none. */
function requireOpenStage(
  scope: Scope,
  what: string,
): { open: OpenStage; stage: Stage; index: number } | DecideResult {
  const open = scope.state.currentStage;
  if (scope.state.status !== "open" || open === null)
    return wrongStatus(scope, `there is no open stage to ${what}`);
  const found = stageById(scope.track, open.stageId);
  if (found === undefined) {
    return refuse(
      "UNKNOWN_STAGE",
      `the open stage "${open.stageId}" is no longer on the ${scope.track.track} ladder of this protocol; ask the service administrator to check the protocol`,
    );
  }
  return { open, ...found };
}

function isRefusal(value: object): value is DecideResult {
  return "ok" in value;
}

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

function escalationStopped(scope: Scope): DecideResult | undefined {
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
function checkBypass(
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
 * agency and the stage names one (Halton CP), else its children's social care recipient.
 */
function addresseeOf(
  stage: Stage,
  form: ChallengeForm,
): { recipient: Recipient; scope: { teamId: string; partnerAgencyId?: string }; whose: string } {
  if (form.partnerAgency !== undefined && stage.partnerRecipient !== undefined) {
    return {
      recipient: stage.partnerRecipient,
      scope: { teamId: form.team.id, partnerAgencyId: form.partnerAgency.id },
      whose: form.partnerAgency.name,
    };
  }
  return { recipient: stage.recipient, scope: { teamId: form.team.id }, whose: `team ${form.team.name}` };
}

/** Works out who a stage is addressed to and its deadline: the data of its StageOpened event. */
function openingOf(
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
  const { recipient, scope, whose } = addresseeOf(stage, form);
  const assignee = ctx.directory(recipient, scope);
  if (assignee === undefined) {
    return refuse(
      "NO_RECIPIENT",
      `nobody in the staff directory holds the role "${recipient.title}" for ${whose}, so ${stage.label} has no one to send it to: add them to the directory and try again`,
    );
  }
  const copyTo: Assignee[] = [];
  for (const role of stage.copyTo) {
    const person = ctx.directory(role, { teamId: form.team.id });
    if (
      person !== undefined &&
      person.personId !== assignee.personId &&
      !copyTo.some((c) => c.personId === person.personId)
    ) {
      copyTo.push(person);
    }
  }
  const deadline = ctx.calendar.deadlineAfter(ctx.now, stage.responseWindowWorkingDays).toISOString();
  return { stageId: stage.id, stageIndex: index, via, openedAt: at, deadline, assignee, copyTo };
}

// ---------------------------------------------------------------------------------------------
// Raise

function raise(
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
      `${unknownThemes.map((t) => `"${t}"`).join(", ")} ${unknownThemes.length === 1 ? "is not one of" : "are not among"} this protocol's themes (${protocol.themes.map((t) => t.label).join("; ")})`,
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

// ---------------------------------------------------------------------------------------------
// The recipient's side

function acknowledge(scope: Scope, command: CommandOf<"Acknowledge">): DecideResult {
  const found = requireOpenStage(scope, "acknowledge");
  if (isRefusal(found)) return found;
  const { open, stage } = found;
  if (command.actor.id !== open.assignee.personId) {
    return refuse(
      "NOT_RECIPIENT",
      `only the current recipient (${open.assignee.title}) can acknowledge ${stage.label}`,
    );
  }
  if (open.acknowledgedAt !== undefined) {
    return refuse("WRONG_STATUS", `${stage.label} was already acknowledged on ${when(open.acknowledgedAt)}`);
  }
  return accept([scope.emit("StageAcknowledged", { stageId: open.stageId })]);
}

function respond(scope: Scope, command: CommandOf<"Respond">): DecideResult {
  const found = requireOpenStage(scope, "respond to");
  if (isRefusal(found)) return found;
  const { open } = found;
  if (command.actor.id !== open.assignee.personId) {
    return refuse(
      "NOT_RECIPIENT",
      `only the current recipient (${open.assignee.title}) can respond to this stage`,
    );
  }
  return accept([scope.emit("ResponseRecorded", { stageId: open.stageId, response: command.response })]);
}

function isAssigneeOrRaiser(scope: Scope, command: Command, open: OpenStage): boolean {
  return command.actor.id === open.assignee.personId || isRaiser(scope, command);
}

function recordMeeting(scope: Scope, command: CommandOf<"RecordMeeting">): DecideResult {
  const found = requireOpenStage(scope, "record a meeting for");
  if (isRefusal(found)) return found;
  const { open, stage } = found;
  if (!isAssigneeOrRaiser(scope, command, open)) {
    return refuse(
      "NOT_PERMITTED",
      `only the current recipient (${open.assignee.title}) or the ${raiserTitle(scope.protocol, scope.form.raiserRole)} who raised the challenge can record a meeting for ${stage.label}`,
    );
  }
  const today = scope.ctx.calendar.londonDate(scope.ctx.now);
  if (command.heldOn > today) {
    return refuse(
      "INVALID_COMMAND",
      `a meeting is recorded once it has taken place: ${day(command.heldOn)} is after today (${day(today)})`,
    );
  }
  return accept([
    scope.emit("MeetingRecorded", {
      stageId: open.stageId,
      heldOn: command.heldOn,
      attendees: command.attendees,
      summary: command.summary,
    }),
  ]);
}

function agreeActionPlan(scope: Scope, command: CommandOf<"AgreeActionPlan">): DecideResult {
  const found = requireOpenStage(scope, "agree an action plan at");
  if (isRefusal(found)) return found;
  const { open, stage } = found;
  if (!isAssigneeOrRaiser(scope, command, open)) {
    return refuse(
      "NOT_PERMITTED",
      `only the current recipient (${open.assignee.title}) or the ${raiserTitle(scope.protocol, scope.form.raiserRole)} who raised the challenge can record the action plan agreed at ${stage.label}`,
    );
  }
  const actions = command.actions.map((a) => ({ id: scope.ctx.newId(), ...a }));
  return accept([scope.emit("ActionPlanAgreed", { stageId: open.stageId, actions })]);
}

// ---------------------------------------------------------------------------------------------
// The raiser's side: resolution and escalation

function markResolved(scope: Scope, command: CommandOf<"MarkResolved">): DecideResult {
  if (!isRaiser(scope, command) && command.actor.role !== "iro_service_manager") {
    return refuse(
      "NOT_PERMITTED",
      `only the ${raiserTitle(scope.protocol, scope.form.raiserRole)} who raised this challenge (or their service manager) can mark it resolved`,
    );
  }
  const { status, currentStage } = scope.state;
  if (status !== "open" && status !== "monitoring" && status !== "ladder_exhausted") {
    return wrongStatus(scope, "this challenge cannot be marked resolved");
  }
  return accept([
    scope.emit("Resolved", { stageId: currentStage?.stageId ?? null, summary: command.summary }),
  ]);
}

/** Leaves the open stage for stage `toIndex` (or off the end of the ladder when it is past the last). */
function moveUp(
  scope: Scope,
  open: OpenStage,
  toIndex: number,
  kind: EventOf<"Escalated">["data"]["kind"],
  reasons: string,
  safeguardingConcern?: boolean,
): DecideResult {
  const via: StageOpenedVia =
    kind === "requested" ? "escalated" : kind === "no_response" ? "auto_escalated" : "bypassed";
  const extra = safeguardingConcern === undefined ? {} : { safeguardingConcern };
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

function escalate(scope: Scope, command: CommandOf<"Escalate">): DecideResult {
  if (!isRaiser(scope, command)) return onlyRaiser(scope, "escalate it");
  const found = requireOpenStage(scope, "escalate from");
  if (isRefusal(found)) return found;
  const stopped = escalationStopped(scope);
  if (stopped !== undefined) return stopped;
  return moveUp(scope, found.open, found.index + 1, "requested", command.reasons);
}

function bypass(scope: Scope, command: CommandOf<"Bypass">): DecideResult {
  if (!isRaiser(scope, command)) return onlyRaiser(scope, "move it past a stage");
  const found = requireOpenStage(scope, "bypass from");
  if (isRefusal(found)) return found;
  const stopped = escalationStopped(scope);
  if (stopped !== undefined) return stopped;
  const target = stageById(scope.track, command.toStageId);
  if (target === undefined) {
    return refuse(
      "UNKNOWN_STAGE",
      `there is no stage "${command.toStageId}" on the ${scope.track.track} ladder of this protocol (its stages are ${scope.track.stages.map((s) => s.id).join(", ")})`,
    );
  }
  if (target.index <= found.index) {
    return refuse(
      "NOT_A_BYPASS",
      `${target.stage.label} is not later than the current stage (${found.stage.label}): a bypass moves the challenge up the ladder`,
    );
  }
  if (target.index === found.index + 1) {
    return refuse(
      "NOT_A_BYPASS",
      `${target.stage.label} is the next stage after ${found.stage.label}, so no stage is skipped: escalate with your reasons instead`,
    );
  }
  const safeguardingConcern = command.safeguardingConcern ?? scope.state.safeguardingConcern;
  const refused = checkBypass(scope.protocol, scope.track, scope.form.raiserRole, target.stage, {
    safeguardingConcern,
    immediateRisk: scope.form.immediateRisk,
  });
  if (refused !== undefined) return refused;
  return moveUp(scope, found.open, target.index, "bypass", command.rationale, safeguardingConcern);
}

function autoEscalate(scope: Scope, command: CommandOf<"AutoEscalate">): DecideResult {
  if (command.actor.role !== "system" || command.channel !== "timer") {
    return refuse(
      "NOT_PERMITTED",
      "automatic escalation is made by the workflow's timer only; to escalate yourself, give your reasons with an escalation",
    );
  }
  const open = scope.state.currentStage;
  if (scope.state.status !== "open" || open === null) {
    return wrongStatus(scope, `nothing to do: stage "${command.stageId}" is no longer open`);
  }
  if (open.stageId !== command.stageId) {
    return refuse(
      "WRONG_STATUS",
      `nothing to do: stage "${command.stageId}" is no longer open (the challenge is now at ${openStageName(scope, open)})`,
    );
  }
  const found = requireOpenStage(scope, "escalate from");
  if (isRefusal(found)) return found;
  const { stage, index } = found;
  if (scope.ctx.now.getTime() < new Date(open.deadline).getTime()) {
    return refuse(
      "DEADLINE_NOT_PASSED",
      `the ${open.assignee.title} has until ${when(open.deadline)} to respond to ${stage.label}; it escalates automatically only after that`,
    );
  }
  const lastResponse = open.responses.at(-1);
  if (lastResponse !== undefined) {
    return refuse(
      "WRONG_STATUS",
      `nothing to do: the ${open.assignee.title} responded on ${when(lastResponse.at)}, so whether to escalate is the raiser's decision`,
    );
  }
  const stopped = escalationStopped(scope);
  if (stopped !== undefined) return stopped;
  if (stage.onNoResponse === "alert_raiser") {
    if (open.raiserAlertedAt !== undefined) {
      return refuse(
        "WRONG_STATUS",
        `nothing to do: the raiser was already told on ${when(open.raiserAlertedAt)} that ${stage.label} had no response`,
      );
    }
    return accept([scope.emit("RaiserAlerted", { stageId: open.stageId, reason: "no_response" })]);
  }
  return moveUp(
    scope,
    open,
    index + 1,
    "no_response",
    `No response from the ${open.assignee.title} to ${stage.label} by the deadline, ${when(open.deadline)}`,
  );
}

// ---------------------------------------------------------------------------------------------
// The timer's reminders: before a stage's deadline, and when agreed actions fall due

function isTimer(command: Command): boolean {
  return command.actor.role === "system" && command.channel === "timer";
}

function sendReminder(scope: Scope, command: CommandOf<"SendReminder">): DecideResult {
  if (!isTimer(command)) {
    return refuse("NOT_PERMITTED", "reminders before a deadline are sent by the workflow's timer only");
  }
  const open = scope.state.currentStage;
  if (scope.state.status !== "open" || open === null) {
    return wrongStatus(scope, `nothing to do: stage "${command.stageId}" is no longer open`);
  }
  if (open.stageId !== command.stageId) {
    return refuse(
      "WRONG_STATUS",
      `nothing to do: stage "${command.stageId}" is no longer open (the challenge is now at ${openStageName(scope, open)})`,
    );
  }
  const found = requireOpenStage(scope, "send a reminder about");
  if (isRefusal(found)) return found;
  const { stage } = found;
  const days = scope.protocol.reminderWorkingDaysBeforeDeadline;
  const remindAt = reminderTime(open.deadline, scope.protocol, scope.ctx.calendar);
  if (remindAt === undefined) {
    return refuse(
      "NOT_PERMITTED",
      `this protocol (${scope.protocol.name}) sends no reminders before a deadline`,
    );
  }
  const lastResponse = open.responses.at(-1);
  if (lastResponse !== undefined) {
    return refuse(
      "WRONG_STATUS",
      `nothing to do: the ${open.assignee.title} responded to ${stage.label} on ${when(lastResponse.at)}`,
    );
  }
  if (open.remindedAt !== undefined) {
    return refuse(
      "WRONG_STATUS",
      `nothing to do: the ${open.assignee.title} was already reminded about ${stage.label} on ${when(open.remindedAt)}`,
    );
  }
  const remindAtIso = remindAt.toISOString();
  if (remindAt.getTime() <= Date.parse(open.openedAt)) {
    return refuse(
      "WRONG_STATUS",
      `nothing to do: ${stage.label} opened on ${when(open.openedAt)}, after its reminder time (${when(remindAtIso)}), so the email that opened it is the reminder`,
    );
  }
  const now = scope.ctx.now.getTime();
  if (now < remindAt.getTime()) {
    return refuse(
      "DEADLINE_NOT_PASSED",
      `the ${open.assignee.title} is reminded about ${stage.label} at ${when(remindAtIso)}, ${days} working ${days === 1 ? "day" : "days"} before the deadline (${when(open.deadline)}), and not before`,
    );
  }
  if (now >= Date.parse(open.deadline)) {
    return refuse(
      "WRONG_STATUS",
      `too late for a reminder: the deadline for ${stage.label}, ${when(open.deadline)}, has passed, so the protocol's no-response rule applies instead`,
    );
  }
  return accept([scope.emit("ReminderSent", { stageId: open.stageId, deadline: open.deadline })]);
}

function recordActionsDue(scope: Scope, command: CommandOf<"RecordActionsDue">): DecideResult {
  if (!isTimer(command)) {
    return refuse(
      "NOT_PERMITTED",
      "actions are recorded as fallen due by the workflow's timer only; to say whether an action was done, record it as done or not done",
    );
  }
  const { state, ctx } = scope;
  if (state.status !== "monitoring") {
    return wrongStatus(scope, "nothing to do: actions fall due only while an action plan is being monitored");
  }
  const plan = state.actionPlan;
  if (plan === null) {
    return refuse("UNKNOWN_ACTION", "no action plan has been agreed for this challenge");
  }
  const today = ctx.calendar.londonDate(ctx.now);
  const seen = new Set<string>();
  for (const actionId of command.actionIds) {
    if (seen.has(actionId)) {
      return refuse("INVALID_COMMAND", `the action "${actionId}" is listed more than once`);
    }
    seen.add(actionId);
    const action = plan.actions.find((a) => a.id === actionId);
    if (action === undefined) {
      return refuse(
        "UNKNOWN_ACTION",
        `there is no action "${actionId}" in the action plan agreed for this challenge`,
      );
    }
    if (action.status !== "open") {
      return refuse(
        "WRONG_STATUS",
        `nothing to do: the action "${action.action}" was already recorded as ${action.status === "completed" ? "done" : "not done"}`,
      );
    }
    if (action.dueNotifiedAt !== undefined) {
      return refuse(
        "WRONG_STATUS",
        `nothing to do: the ${raiserTitle(scope.protocol, scope.form.raiserRole)} was already asked on ${when(action.dueNotifiedAt)} whether the action "${action.action}" was done`,
      );
    }
    if (!actionDatePassed(action.byWhen, ctx.now, ctx.calendar)) {
      return refuse(
        "DEADLINE_NOT_PASSED",
        `the action "${action.action}" is due by ${day(action.byWhen)}: it falls due once that day has passed, and today is ${day(today)}`,
      );
    }
  }
  return accept([scope.emit("ActionsFellDue", { actionIds: command.actionIds })]);
}

// ---------------------------------------------------------------------------------------------
// Referrals (Cafcass, safeguarding partnership)

function requestReferral(scope: Scope, command: CommandOf<"RequestReferral">): DecideResult {
  const { protocol, track, state } = scope;
  const policy = track[command.kind];
  if (policy === undefined) {
    return refuse(
      "REFERRAL_NOT_AVAILABLE",
      `the ${track.track} process in this protocol has no ${referralName(command.kind)}`,
    );
  }
  const name = referralName(command.kind, policy);
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
  return accept([
    requested,
    scope.emit("ReferralMade", {
      kind: command.kind,
      recipient: policy.recipient,
      documents: policy.documents,
    }),
  ]);
}

function approveReferral(scope: Scope, command: CommandOf<"ApproveReferral">): DecideResult {
  const { track, state } = scope;
  const policy = track[command.kind];
  if (policy === undefined) {
    return refuse(
      "REFERRAL_NOT_AVAILABLE",
      `the ${track.track} process in this protocol has no ${referralName(command.kind)}`,
    );
  }
  const name = referralName(command.kind, policy);
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
  const approved = scope.emit("ReferralApproved", {
    kind: command.kind,
    approverRole: role.role,
    ...(command.comment === undefined ? {} : { comment: command.comment }),
  });
  const approvals = new Set([...referral.approvedBy, role.role]);
  if (!referral.approvalsNeeded.every((r) => approvals.has(r.role))) return accept([approved]);
  return accept([
    approved,
    scope.emit("ReferralMade", {
      kind: command.kind,
      recipient: policy.recipient,
      documents: policy.documents,
    }),
  ]);
}

// ---------------------------------------------------------------------------------------------
// Action plans and reopening

function recordAction(
  scope: Scope,
  command: CommandOf<"CompleteAction"> | CommandOf<"MissAction">,
): DecideResult {
  const { state } = scope;
  if (state.status === "withdrawn" || state.status === "closed") {
    return wrongStatus(scope, "actions can no longer be recorded");
  }
  const plan = state.actionPlan;
  const action = plan?.actions.find((a) => a.id === command.actionId);
  if (plan === null || action === undefined) {
    return refuse(
      "UNKNOWN_ACTION",
      plan === null
        ? "no action plan has been agreed for this challenge"
        : `there is no action "${command.actionId}" in the action plan agreed for this challenge`,
    );
  }
  if (!isRaiser(scope, command)) {
    // The plan's stage is no longer open, so its recipient is whoever now holds that role.
    const planStage = stageById(scope.track, plan.stageId)?.stage;
    const addressee = planStage === undefined ? undefined : addresseeOf(planStage, scope.form);
    const holder =
      addressee === undefined ? undefined : scope.ctx.directory(addressee.recipient, addressee.scope);
    if (holder?.personId !== command.actor.id) {
      return refuse(
        "NOT_PERMITTED",
        `only the ${raiserTitle(scope.protocol, scope.form.raiserRole)} who raised the challenge or the ${addressee?.recipient.title ?? "manager"} who agreed the plan can record whether an action was done`,
      );
    }
  }
  if (action.status !== "open") {
    return refuse(
      "WRONG_STATUS",
      `the action "${action.action}" was already recorded as ${action.status === "completed" ? "done" : "not done"}`,
    );
  }
  if (command.type === "CompleteAction") {
    return accept([
      scope.emit("ActionCompleted", {
        actionId: action.id,
        ...(command.note === undefined ? {} : { note: command.note }),
      }),
    ]);
  }
  return accept([scope.emit("ActionMissed", { actionId: action.id, note: command.note })]);
}

function reopen(scope: Scope, command: CommandOf<"Reopen">): DecideResult {
  if (!isRaiser(scope, command)) return onlyRaiser(scope, "reopen it");
  const { state, track } = scope;
  if (state.status !== "monitoring" && state.status !== "resolved") {
    return wrongStatus(scope, "only a challenge being monitored or resolved can be reopened");
  }
  if (state.lastExitedStageId === null) {
    return wrongStatus(scope, "there is no stage to go back to");
  }
  const last = stageById(track, state.lastExitedStageId);
  if (last === undefined) {
    return refuse(
      "UNKNOWN_STAGE",
      `the stage last exited ("${state.lastExitedStageId}") is no longer on the ${track.track} ladder of this protocol`,
    );
  }
  const target = stageById(track, last.stage.reopenAtStageId ?? last.stage.id);
  if (target === undefined) {
    return refuse("UNKNOWN_STAGE", `${last.stage.label} reopens at a stage that is not on the ladder`);
  }
  const opening = openingOf(track, scope.form, scope.ctx, target.index, "reopened", scope.at);
  if (isRefusal(opening)) return opening;
  return accept([
    scope.emit("Reopened", {
      atStageId: target.stage.id,
      reason: command.reason,
      fromStatus: state.status,
    }),
    scope.emit("StageOpened", opening),
  ]);
}

// ---------------------------------------------------------------------------------------------
// The end of the road

function noteDifference(scope: Scope, command: CommandOf<"NoteDifference">): DecideResult {
  if (!isRaiser(scope, command)) return onlyRaiser(scope, "note a difference");
  const difference = scope.track.difference;
  if (difference === undefined) {
    return refuse(
      "NOT_PERMITTED",
      `the ${scope.track.track} process in this protocol has no step for noting a difference after the last stage`,
    );
  }
  if (scope.state.status !== "ladder_exhausted") {
    return wrongStatus(
      scope,
      `a difference is noted only once every stage has been tried without resolution ("${difference.citation}")`,
    );
  }
  return accept([
    scope.emit("DifferenceNoted", { summary: command.summary, decidedBy: difference.decidedBy }),
  ]);
}

function withdraw(scope: Scope, command: CommandOf<"Withdraw">): DecideResult {
  if (!isRaiser(scope, command)) return onlyRaiser(scope, "withdraw it");
  const { status } = scope.state;
  if (status === "resolved" || status === "withdrawn" || status === "closed") {
    return wrongStatus(scope, "it cannot be withdrawn");
  }
  return accept([scope.emit("Withdrawn", { reason: command.reason })]);
}

function close(scope: Scope, command: CommandOf<"Close">): DecideResult {
  if (!isRaiser(scope, command) && command.actor.role !== "iro_service_manager") {
    return refuse(
      "NOT_PERMITTED",
      `only the ${raiserTitle(scope.protocol, scope.form.raiserRole)} who raised this challenge (or their service manager) can close it`,
    );
  }
  const { status, actionPlan } = scope.state;
  if (status === "monitoring") {
    const open = actionPlan?.actions.filter((a) => a.status === "open") ?? [];
    if (open.length > 0) {
      return refuse(
        "WRONG_STATUS",
        `${open.length} agreed ${open.length === 1 ? "action is" : "actions are"} still open: record whether ${open.length === 1 ? "it was" : "they were"} done before closing`,
      );
    }
  } else if (status !== "resolved" && status !== "ladder_exhausted") {
    return wrongStatus(scope, "it cannot be closed yet");
  }
  return accept([scope.emit("Closed", { summary: command.summary })]);
}

// ---------------------------------------------------------------------------------------------

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
  const parsed = commandSchema.safeParse(command);
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

  if (cmd.type === "Raise") return raise(current, cmd, ctx, emit, at);

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
    case "Withdraw":
      return withdraw(scope, cmd);
    case "Close":
      return close(scope, cmd);
  }
}
