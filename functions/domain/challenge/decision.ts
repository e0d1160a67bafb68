import type {
  Protocol,
  RaiserRole,
  Recipient,
  ReferralPolicy,
  Stage,
  TrackProtocol,
  Window,
} from "../protocol.js";
import { instantInRefusalWords } from "../dates-in-words.js";
import type { ChallengeForm, Command, ReferralKind } from "./commands.js";
import { DomainError } from "./errors.js";
import type { DomainErrorCode } from "./errors.js";
import type { ChallengeEvent, ChallengeEventType, EventEnvelope, EventOf } from "./events.js";
import type { ChallengeState, DecideContext, OpenStage } from "./state.js";

/**
 * The shared machinery of `decide`: the result type, refusing and accepting, building event
 * envelopes, the scope of a decision about an existing challenge, the words refusals are made of and
 * the permission and open-stage checks every command handler relies on.
 */

/** Accepted: the events that record the command. Refused: a DomainError saying why. */
export type DecideResult = { ok: true; events: ChallengeEvent[] } | { ok: false; error: DomainError };

// Made on first use: only a refusal's words need it, and the first Intl formatter a process makes
// pays ICU's start-up (~12 ms), which a cold start should not pay for a command that is accepted.
let calendarDay: Intl.DateTimeFormat | undefined;
const calendarDayFormat = (): Intl.DateTimeFormat =>
  (calendarDay ??= new Intl.DateTimeFormat("en-GB", {
    timeZone: "UTC",
    weekday: "short",
    day: "numeric",
    month: "short",
    year: "numeric",
  }));

/** "Fri, 29 May 2026, 17:00" (London time). */
export function when(iso: string): string {
  return Number.isNaN(Date.parse(iso)) ? iso : instantInRefusalWords(iso);
}

/** "Fri, 29 May 2026" for a YYYY-MM-DD day. */
export function day(isoDay: string): string {
  const date = new Date(`${isoDay}T00:00:00Z`);
  return Number.isNaN(date.getTime()) ? isoDay : calendarDayFormat().format(date);
}

const UNIT_WORDS = {
  working_days: ["working day", "working days"],
  calendar_days: ["calendar day", "calendar days"],
  weeks: ["week", "weeks"],
} as const;

/** "5 working days", "2 weeks", "1 calendar day". */
export function windowWords(window: Window): string {
  const [one, many] = UNIT_WORDS[window.unit];
  return `${window.length} ${window.length === 1 ? one : many}`;
}

export function refuse(code: DomainErrorCode, message: string): DecideResult {
  return { ok: false, error: new DomainError(code, message) };
}

export function accept(events: ChallengeEvent[]): DecideResult {
  return { ok: true, events };
}

/** For a literal `T` the envelope is exactly that event type, so callers get ordinary ChallengeEvents. */
export type Emit = <T extends ChallengeEventType>(
  type: T,
  data: EventOf<T>["data"],
) => EventEnvelope<T, EventOf<T>["data"]>;

/** Builds envelopes: seq continues from the state's version, `at` is ctx.now, actor and channel are the command's. */
export function emitter(state: ChallengeState, command: Command, at: string): Emit {
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
export interface Scope {
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

export function stageName(stage: Stage): string {
  return `${stage.label} (${stage.recipient.title})`;
}

export function raiserTitle(protocol: Protocol, role: RaiserRole): string {
  return protocol.raiserTitles[role];
}

export function referralName(kind: ReferralKind, policy?: ReferralPolicy): string {
  if (policy !== undefined) return `referral to ${policy.recipient.title}`;
  return kind === "cafcass" ? "Cafcass referral" : "referral to the safeguarding partnership";
}

export function titles(recipients: readonly Recipient[]): string {
  const names = recipients.map((r) => r.title);
  if (names.length <= 1) return names.join("");
  return `${names.slice(0, -1).join(", ")} and ${names.at(-1) ?? ""}`;
}

export function stageById(
  track: TrackProtocol,
  stageId: string,
): { stage: Stage; index: number } | undefined {
  const index = track.stages.findIndex((s) => s.id === stageId);
  const stage = track.stages[index];
  return stage === undefined ? undefined : { stage, index };
}

function stageLabel(scope: Scope, open: OpenStage): string {
  return stageById(scope.track, open.stageId)?.stage.label ?? open.stageId;
}

export function openStageName(scope: Scope, open: OpenStage): string {
  const found = stageById(scope.track, open.stageId);
  return found === undefined ? open.stageId : stageName(found.stage);
}

/** Where the challenge stands, as a clause: "Stage 2 is open and waiting for the Service Manager". */
export function describeStatus(scope: Scope): string {
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

export function wrongStatus(scope: Scope, what: string): DecideResult {
  return refuse("WRONG_STATUS", `${what}: ${describeStatus(scope)}`);
}

// ---------------------------------------------------------------------------------------------
// Shared rules

export function isRaiser(scope: Scope, command: Command): boolean {
  return command.actor.id === scope.state.raiser.id;
}

export function onlyRaiser(scope: Scope, verb: string): DecideResult {
  const title = raiserTitle(scope.protocol, scope.form.raiserRole);
  return refuse("NOT_PERMITTED", `only the ${title} who raised this challenge can ${verb}`);
}

/** The open stage and its protocol definition, or a refusal saying there is none. */
export function requireOpenStage(
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

/**
 * The command's precondition (`command.expected`), or undefined when it holds or names nothing.
 * A version (If-Match) that no longer matches is VERSION_MISMATCH; a stage that is no longer the
 * open one is STAGE_MOVED. Both say where the challenge is now, so the sender can reload and decide.
 */
export function unmetExpectation(scope: Scope, command: Command): DecideResult | undefined {
  const expected = command.expected;
  if (expected === undefined) return undefined;
  const { state } = scope;
  if (expected.version !== undefined && expected.version !== state.version) {
    return refuse(
      "VERSION_MISMATCH",
      `this was asked of version ${expected.version} of the challenge, but it has changed since and is now at version ${state.version} (${describeStatus(scope)}); reload it and decide again`,
    );
  }
  if (expected.stageId !== undefined && expected.stageId !== state.currentStage?.stageId) {
    const named = stageById(scope.track, expected.stageId)?.stage.label ?? `stage "${expected.stageId}"`;
    const now = state.currentStage === null ? "" : ` (stage "${state.currentStage.stageId}")`;
    return refuse(
      "STAGE_MOVED",
      `this was asked of ${named}, but the challenge has moved on: ${describeStatus(scope)}${now}, version ${state.version}`,
    );
  }
  return undefined;
}

export function isRefusal(value: object): value is DecideResult {
  return "ok" in value;
}

export function isTimer(command: Command): boolean {
  return command.actor.role === "system" && command.channel === "timer";
}
