import { createEnglandCalendar } from "../../../functions/domain/calendar.js";
import {
  decide,
  replay,
  type Actor,
  type Assignee,
  type ChallengeEvent,
  type ChallengeForm,
  type ChallengeState,
  type Command,
  type DecideContext,
  type DirectoryLookup,
  type DirectoryScope,
} from "../../../functions/domain/challenge/index.js";
import type { Protocol, Recipient } from "../../../functions/domain/protocol.js";
import { eventHash } from "../../../functions/store/event-hash.js";
import type { StoredEvent } from "../../../functions/store/ports.js";

/**
 * Audit test data: challenges run through the real domain (`decide`, `replay`) under the shipped
 * presets with the real England calendar, and their events chained with the store's own hash
 * function. Every child, worker and manager here is invented.
 */

export const calendar = createEnglandCalendar();
export const TENANT = "test-borough";

export const IRO: Actor = { id: "iro-ada", role: "IRO" };
export const CPC: Actor = { id: "cpc-bea", role: "CPC" };
export const TIMER: Actor = { id: "workflow-timer", role: "system" };

export const CHILD_NAME = "Tess Invented";
export const CHILD_DOB = "2016-07-09";

/** The invented person holding `role` for a team or partner agency. */
export function personId(role: string, scope: string): string {
  return `${role}@${scope}`;
}

export const directory: DirectoryLookup = Object.assign(
  (recipient: Recipient, scope: DirectoryScope): Assignee => {
    const where = scope.partnerAgencyId ?? scope.teamId;
    return {
      role: recipient.role,
      title: recipient.title,
      personId: personId(recipient.role, where),
      email: `${recipient.role}.${where}@example.org`,
    };
  },
  {
    standing: (id: string, role: string, scope: DirectoryScope) =>
      id === personId(role, scope.partnerAgencyId ?? scope.teamId) ? ("holder" as const) : undefined,
  },
);

/** The manager holding `role` for `teamId`, as an actor. */
export function manager(role: string, teamId: string): Actor {
  return { id: personId(role, teamId), role: "manager" };
}

export function aForm(overrides: Partial<ChallengeForm> = {}): ChallengeForm {
  return {
    child: { name: CHILD_NAME, dateOfBirth: CHILD_DOB, caseRecordId: "CR-000777", caseRecordSystem: "LCS" },
    track: "CP",
    raiserRole: "IRO",
    socialWorker: { name: "Sol Madeup", email: "sol.madeup@example.org" },
    team: { id: "north", name: "North Locality Team" },
    teamManagerName: "Tam Fictional",
    worries: "Core group meetings have not taken place for eight weeks.",
    actionsTaken: "Discussed with the social worker twice.",
    impactOnChild: "The plan is drifting.",
    childViews: "Wants to know who their social worker is.",
    whatNeedsToHappen: "Core group to meet within ten days.",
    desiredOutcome: "Plan progressed.",
    timescale: "Ten working days.",
    themes: [],
    immediateRisk: false,
    ...overrides,
  };
}

type CommandWithoutId = Command extends infer C
  ? C extends Command
    ? Omit<C, "challengeId">
    : never
  : never;

/** One challenge under one protocol: runs commands that must be accepted, keeps every event. */
export class Story {
  readonly events: ChallengeEvent[] = [];
  private ids = 0;

  constructor(
    readonly protocol: Protocol,
    readonly challengeId: string,
  ) {}

  get state(): ChallengeState {
    return replay(this.events, this.challengeId);
  }

  /** The state folded from the events up to and including `iso`. */
  stateAt(iso: string): ChallengeState {
    return replay(
      this.events.filter((e) => Date.parse(e.at) <= Date.parse(iso)),
      this.challengeId,
    );
  }

  private ctx(now: string): DecideContext {
    return {
      protocol: this.protocol,
      calendar,
      directory,
      now: new Date(now),
      newId: () => `${this.challengeId}-act-${++this.ids}`,
    };
  }

  do(command: CommandWithoutId, now: string): ChallengeEvent[] {
    const result = decide(this.state, { ...command, challengeId: this.challengeId }, this.ctx(now));
    if (!result.ok) {
      throw new Error(`${command.type} refused: ${result.error.code}: ${result.error.message}`);
    }
    this.events.push(...result.events);
    return result.events;
  }
}

/** The events as the store keeps them: each carries the hash of the one before. */
export function chain(tenantId: string, events: readonly ChallengeEvent[]): StoredEvent[] {
  let prevHash = "";
  return events.map((event) => {
    const hash = eventHash(tenantId, event, prevHash);
    const stored = { tenantId, event, prevHash, hash };
    prevHash = hash;
    return stored;
  });
}
