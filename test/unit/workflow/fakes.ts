import type {
  Observer,
  TenantContextSource,
  TenantSettings,
  WorkflowSignal,
} from "../../../functions/app/execute-command.js";
import type { TaskCompletion, WorkflowTaskDependencies } from "../../../functions/workflow/tasks.js";
import type {
  ChallengeEvent,
  ChallengeState,
  Command,
  DirectoryLookup,
} from "../../../functions/domain/challenge/index.js";
import { presets } from "../../../functions/domain/presets/index.js";
import type { Protocol } from "../../../functions/domain/protocol.js";
import {
  type ChallengeStore,
  ConcurrencyConflictError,
  type Page,
  type StoredChallenge,
  type StoredEvent,
  type StoredTaskToken,
} from "../../../functions/store/ports.js";
import { type StaffMember, createDirectoryLookup } from "../../../functions/store/tenant-store.js";

/**
 * In-memory fakes of the workflow tasks' ports and a Nottingham scenario (an invented authority
 * running the Nottingham preset: 4 levels, 5 working days each, automatic escalation). Every
 * person here is invented.
 */

export const TENANT = "nottingham-test";
export const TEAM_ID = "team-meadows";
export const IRO = { id: "iro-1", role: "IRO" } as const;

/** Wednesday 20 May 2026, 10:00 London: the Spring bank holiday is Monday 25 May. */
export const RAISED_AT = new Date("2026-05-20T09:00:00Z");
/** 5 working days: 21, 22, (25 is a bank holiday) 26, 27, 28 May; 17:00 BST. */
export const LEVEL_1_DEADLINE = "2026-05-28T16:00:00.000Z";
/** Nottingham reminds one working day before the deadline, at its time: Wednesday 27 May, 17:00 BST. */
export const LEVEL_1_REMINDER = "2026-05-27T16:00:00.000Z";
/** From 28 May: 29 May, 1, 2, 3, 4 June; 17:00 BST. */
export const LEVEL_2_DEADLINE = "2026-06-04T16:00:00.000Z";
/** One working day before it: Wednesday 3 June, 17:00 BST. */
export const LEVEL_2_REMINDER = "2026-06-03T16:00:00.000Z";

export const settings: TenantSettings = { protocolId: "nottingham", closureDays: [] };

function member(personId: string, role: string, scope: StaffMember["roles"][number]["scope"]): StaffMember {
  return {
    personId,
    displayName: `Invented ${personId}`,
    email: `${personId}@example.test`,
    active: true,
    roles: [{ role, scope }],
  };
}

export const staff: StaffMember[] = [
  member("tm-1", "team_manager", { kind: "team", teamId: TEAM_ID }),
  member("sm-1", "service_manager", { kind: "team", teamId: TEAM_ID }),
  member("hos-1", "head_of_service", { kind: "authority" }),
  member("dir-1", "director_childrens_services", { kind: "authority" }),
];

export function raiseCommand(challengeId: string): Command {
  return {
    type: "Raise",
    challengeId,
    actor: IRO,
    channel: "api",
    form: {
      child: {
        name: "Invented Child",
        dateOfBirth: "2015-04-01",
        caseRecordId: "CR-0001",
        caseRecordSystem: "LCS",
      },
      track: "LAC",
      raiserRole: "IRO",
      socialWorker: { name: "Invented Worker" },
      team: { id: TEAM_ID, name: "Meadows Team" },
      teamManagerName: "Invented Manager",
      worries: "The care plan has drifted.",
      actionsTaken: "Discussed with the social worker.",
      impactOnChild: "Delay in permanence.",
      childViews: "Wants to know the plan.",
      whatNeedsToHappen: "A permanence meeting.",
      desiredOutcome: "An agreed plan.",
      timescale: "Two weeks",
      themes: ["needs_not_met"],
      immediateRisk: false,
    },
  };
}

export function presetProtocol(protocolId: string): Protocol | undefined {
  return Object.hasOwn(presets, protocolId) ? presets[protocolId] : undefined;
}

const key = (tenantId: string, challengeId: string) => `${tenantId}|${challengeId}`;

export class InMemoryChallengeStore implements ChallengeStore {
  readonly snapshots = new Map<string, ChallengeState>();
  readonly log = new Map<string, ChallengeEvent[]>();
  readonly tokens = new Map<string, StoredTaskToken>();
  readonly tokenSaves: { challengeId: string; stageId: string; token: string }[] = [];
  /** Runs after a token is saved: lets a test change the challenge "at the same moment". */
  afterTokenSave: (() => Promise<void>) | undefined;

  get(tenantId: string, challengeId: string): Promise<StoredChallenge | undefined> {
    const state = this.snapshots.get(key(tenantId, challengeId));
    return Promise.resolve(state === undefined ? undefined : { tenantId, state: structuredClone(state) });
  }

  events(tenantId: string, challengeId: string): Promise<readonly StoredEvent[]> {
    const events = this.log.get(key(tenantId, challengeId)) ?? [];
    return Promise.resolve(events.map((event) => ({ tenantId, event, prevHash: "", hash: "" })));
  }

  append(
    tenantId: string,
    expectedVersion: number,
    events: readonly ChallengeEvent[],
    newState: ChallengeState,
  ): Promise<void> {
    const k = key(tenantId, newState.challengeId);
    if ((this.snapshots.get(k)?.version ?? 0) !== expectedVersion) {
      return Promise.reject(new ConcurrencyConflictError(newState.challengeId, expectedVersion));
    }
    this.snapshots.set(k, structuredClone(newState));
    this.log.set(k, [...(this.log.get(k) ?? []), ...structuredClone(events)]);
    return Promise.resolve();
  }

  eventsOf(tenantId: string, challengeId: string): ChallengeEvent[] {
    return this.log.get(key(tenantId, challengeId)) ?? [];
  }

  private unused(): Promise<Page<ChallengeState>> {
    return Promise.reject(new Error("trays are not used by the workflow"));
  }
  openByDueDate(): Promise<Page<ChallengeState>> {
    return this.unused();
  }
  byRecipient(): Promise<Page<ChallengeState>> {
    return this.unused();
  }
  byChild(): Promise<Page<ChallengeState>> {
    return this.unused();
  }
  byTeam(): Promise<Page<ChallengeState>> {
    return this.unused();
  }
  raisedInMonth(): Promise<Page<ChallengeState>> {
    return this.unused();
  }

  async saveTaskToken(tenantId: string, challengeId: string, stageId: string, token: string): Promise<void> {
    this.tokens.set(key(tenantId, challengeId), { stageId, token });
    this.tokenSaves.push({ challengeId, stageId, token });
    await this.afterTokenSave?.();
  }
  getTaskToken(tenantId: string, challengeId: string): Promise<StoredTaskToken | undefined> {
    return Promise.resolve(this.tokens.get(key(tenantId, challengeId)));
  }
}

export class InMemoryTenants implements TenantContextSource {
  constructor(
    /** null: the tenant has not chosen its protocol. */
    private readonly config: TenantSettings | null = settings,
    private readonly members: readonly StaffMember[] = staff,
  ) {}
  getConfig(): Promise<TenantSettings | undefined> {
    return Promise.resolve(this.config ?? undefined);
  }
  directoryLookup(): Promise<DirectoryLookup> {
    return Promise.resolve(createDirectoryLookup(this.members));
  }
}

export class RecordingObserver implements Observer {
  readonly counts: string[] = [];
  readonly warnings: string[] = [];
  readonly errors: string[] = [];
  warn(message: string): void {
    this.warnings.push(message);
  }
  error(message: string): void {
    this.errors.push(message);
  }
  count(metric: string): void {
    this.counts.push(metric);
  }
}

export class FakeCompletion implements TaskCompletion {
  readonly sent: { taskToken: string; output: unknown }[] = [];
  result: "sent" | "gone" = "sent";
  succeed(taskToken: string, output: unknown): Promise<"sent" | "gone"> {
    this.sent.push({ taskToken, output });
    return Promise.resolve(this.result);
  }
}

/** A mutable clock for the tests. */
export class TestClock {
  constructor(private current: Date = RAISED_AT) {}
  readonly now = (): Date => new Date(this.current);
  set(iso: string | Date): void {
    this.current = new Date(iso);
  }
}

export const noWorkflow: WorkflowSignal = { start: () => Promise.resolve(), notify: () => Promise.resolve() };

export interface Fakes {
  readonly challenges: InMemoryChallengeStore;
  readonly tenants: InMemoryTenants;
  readonly observer: RecordingObserver;
  readonly completion: FakeCompletion;
  readonly clock: TestClock;
  readonly deps: WorkflowTaskDependencies & { readonly completion: FakeCompletion };
}

export function makeFakes(options: { tenants?: InMemoryTenants } = {}): Fakes {
  const challenges = new InMemoryChallengeStore();
  const tenants = options.tenants ?? new InMemoryTenants();
  const observer = new RecordingObserver();
  const completion = new FakeCompletion();
  const clock = new TestClock();
  return {
    challenges,
    tenants,
    observer,
    completion,
    clock,
    deps: { challenges, tenants, protocols: presetProtocol, clock: clock.now, observer, completion },
  };
}

/**
 * A view with the chain of waits it foresees cut `depth` deep (0: without `then`), so a test can
 * compare one part of the chain, or a chain with a fresh view's (which foresees one wait further).
 */
export function foreseenTo<V extends object>(view: V, depth: number): V {
  if (!("then" in view) || typeof view.then !== "object" || view.then === null) return view;
  const { then, ...rest } = view;
  return (depth <= 0 ? rest : { ...rest, then: foreseenTo(then, depth - 1) }) as V;
}
