import {
  IdempotencyItemAlreadyExistsError,
  IdempotencyItemNotFoundError,
  IdempotencyRecordStatus,
} from "@aws-lambda-powertools/idempotency";
import { BasePersistenceLayer, IdempotencyRecord } from "@aws-lambda-powertools/idempotency/persistence";
import type { WorkflowOutcome, WorkflowSignal } from "../../../functions/app/execute-command.js";
import type { ApiDependencies, TenantAdmin } from "../../../functions/api/http/dependencies.js";
import { presetProtocol } from "../../../functions/api/http/dependencies.js";
import type { ChallengeEvent, ChallengeState } from "../../../functions/domain/challenge/index.js";
import { nextToAct } from "../../../functions/domain/challenge/index.js";
import type { GoodPracticeNotification } from "../../../functions/domain/good-practice.js";
import { presets } from "../../../functions/domain/presets/index.js";
import {
  type ChallengeStore,
  ConcurrencyConflictError,
  type GoodPracticeStore,
  type Page,
  type StoredChallenge,
  type StoredEvent,
  type StoredTaskToken,
  type TrayQuery,
} from "../../../functions/store/ports.js";
import {
  RoleAlreadyHeldError,
  type StaffMember,
  type TenantConfig,
  TenantVersionMismatchError,
  type Versioned,
  createDirectoryLookup,
  rolesHeldByOthers,
  staffMemberSchema,
  tenantConfigSchema,
} from "../../../functions/store/tenant-store.js";
import { TENANT } from "../../support/api-events.js";

/** In-memory fakes of the API's ports, for handler tests. */

export const NOW = new Date("2026-06-01T09:00:00Z"); // a Monday, 10:00 in London
export const PROTOCOL_ID = "nottingham";

const key = (tenantId: string, challengeId: string) => `${tenantId}|${challengeId}`;

export class InMemoryChallengeStore implements ChallengeStore {
  readonly snapshots = new Map<string, ChallengeState>();
  readonly log = new Map<string, ChallengeEvent[]>();
  readonly tokens = new Map<string, StoredTaskToken>();
  appendCalls = 0;
  /** Errors the next `append` calls throw, in order (before anything is written). */
  readonly appendFailures: Error[] = [];
  /** Errors the next `get` calls throw, in order. */
  readonly getFailures: Error[] = [];
  /** Runs at the start of every append: lets a test change the challenge "concurrently". */
  beforeAppend: (() => void) | undefined;

  get(tenantId: string, challengeId: string): Promise<StoredChallenge | undefined> {
    const failure = this.getFailures.shift();
    if (failure !== undefined) return Promise.reject(failure);
    const state = this.snapshots.get(key(tenantId, challengeId));
    return Promise.resolve(state === undefined ? undefined : { tenantId, state });
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
    this.appendCalls += 1;
    this.beforeAppend?.();
    const failure = this.appendFailures.shift();
    if (failure !== undefined) return Promise.reject(failure);
    const k = key(tenantId, newState.challengeId);
    const current = this.snapshots.get(k)?.version ?? 0;
    if (current !== expectedVersion) {
      return Promise.reject(new ConcurrencyConflictError(newState.challengeId, expectedVersion));
    }
    this.snapshots.set(k, structuredClone(newState));
    this.log.set(k, [...(this.log.get(k) ?? []), ...structuredClone(events)]);
    return Promise.resolve();
  }

  /** Writes a state directly (a concurrent writer). */
  overwrite(tenantId: string, state: ChallengeState): void {
    this.snapshots.set(key(tenantId, state.challengeId), state);
  }

  private page(
    tenantId: string,
    keep: (s: ChallengeState) => boolean,
    query?: TrayQuery,
  ): Page<ChallengeState> {
    const items = [...this.snapshots.entries()]
      .filter(([k, s]) => k.startsWith(`${tenantId}|`) && keep(s))
      .map(([, s]) => s)
      .sort((a, b) => (a.currentStage?.deadline ?? "").localeCompare(b.currentStage?.deadline ?? ""));
    return { items: items.slice(0, query?.limit ?? 25) };
  }

  openByDueDate(tenantId: string, dueBy: string, query?: TrayQuery): Promise<Page<ChallengeState>> {
    return Promise.resolve(
      this.page(
        tenantId,
        (s) => s.status === "open" && s.currentStage !== null && s.currentStage.deadline <= dueBy,
        query,
      ),
    );
  }
  byRecipient(tenantId: string, personId: string, query?: TrayQuery): Promise<Page<ChallengeState>> {
    return Promise.resolve(this.page(tenantId, (s) => nextToAct(s)?.personId === personId, query));
  }
  byChild(tenantId: string, caseRecordId: string, query?: TrayQuery): Promise<Page<ChallengeState>> {
    return Promise.resolve(this.page(tenantId, (s) => s.form.child.caseRecordId === caseRecordId, query));
  }
  byTeam(tenantId: string, teamId: string, query?: TrayQuery): Promise<Page<ChallengeState>> {
    return Promise.resolve(this.page(tenantId, (s) => s.form.team.id === teamId, query));
  }
  raisedInMonth(tenantId: string, month: string, query?: TrayQuery): Promise<Page<ChallengeState>> {
    return Promise.resolve(this.page(tenantId, (s) => s.raisedAt.startsWith(month), query));
  }

  saveTaskToken(tenantId: string, challengeId: string, stageId: string, token: string): Promise<void> {
    this.tokens.set(key(tenantId, challengeId), { stageId, token });
    return Promise.resolve();
  }
  getTaskToken(tenantId: string, challengeId: string): Promise<StoredTaskToken | undefined> {
    return Promise.resolve(this.tokens.get(key(tenantId, challengeId)));
  }
}

export class InMemoryTenantStore implements TenantAdmin {
  readonly configs = new Map<string, TenantConfig>();
  readonly staff = new Map<string, Map<string, StaffMember>>();
  readonly versions = new Map<string, number>();
  putCalls = 0;

  getConfig(tenantId: string): Promise<TenantConfig | undefined> {
    return Promise.resolve(this.configs.get(tenantId));
  }
  version(tenantId: string): Promise<number> {
    return Promise.resolve(this.versions.get(tenantId) ?? 0);
  }
  /** As the real store: refuses a stale expected version; raises the version (DynamoDB Local tests the race). */
  private raise(tenantId: string, expected: number | undefined): number {
    const current = this.versions.get(tenantId) ?? 0;
    if (expected !== undefined && expected !== current)
      throw new TenantVersionMismatchError(expected, current);
    this.versions.set(tenantId, current + 1);
    return current + 1;
  }
  putConfig(tenantId: string, config: unknown): Promise<TenantConfig> {
    return this.writeConfig(tenantId, config).then((written) => written.value);
  }
  writeConfig(tenantId: string, config: unknown, expected?: number): Promise<Versioned<TenantConfig>> {
    this.putCalls += 1;
    const valid = tenantConfigSchema.parse(config);
    const version = this.raise(tenantId, expected);
    this.configs.set(tenantId, valid);
    return Promise.resolve({ value: valid, version });
  }
  listStaff(tenantId: string): Promise<StaffMember[]> {
    return Promise.resolve(
      [...(this.staff.get(tenantId)?.values() ?? [])].sort((a, b) => a.personId.localeCompare(b.personId)),
    );
  }
  upsertStaff(tenantId: string, member: unknown): Promise<StaffMember> {
    return this.writeStaff(tenantId, member).then((written) => written.value);
  }
  async writeStaff(tenantId: string, member: unknown, expected?: number): Promise<Versioned<StaffMember>> {
    this.putCalls += 1;
    const valid = staffMemberSchema.parse(member);
    const held = rolesHeldByOthers(valid, await this.listStaff(tenantId));
    if (held.length > 0) throw new RoleAlreadyHeldError(held);
    const version = this.raise(tenantId, expected);
    const directory = this.staff.get(tenantId) ?? new Map<string, StaffMember>();
    directory.set(valid.personId, valid);
    this.staff.set(tenantId, directory);
    return { value: valid, version };
  }
  async directoryLookup(tenantId: string) {
    return createDirectoryLookup(await this.listStaff(tenantId));
  }
  getStaff(tenantId: string, personId: string): Promise<StaffMember | undefined> {
    return Promise.resolve(this.staff.get(tenantId)?.get(personId));
  }
  replaceAbsences(): Promise<boolean> {
    return Promise.reject(new Error("absences are tested on DynamoDB Local (test/integration)"));
  }
}

export class FakeWorkflow implements WorkflowSignal {
  readonly started: { tenantId: string; challengeId: string }[] = [];
  readonly notified: { tenantId: string; challengeId: string; outcome: WorkflowOutcome }[] = [];
  startError: Error | undefined;
  notifyError: Error | undefined;

  start(tenantId: string, challengeId: string): Promise<void> {
    if (this.startError !== undefined) return Promise.reject(this.startError);
    this.started.push({ tenantId, challengeId });
    return Promise.resolve();
  }
  notify(tenantId: string, challengeId: string, outcome: WorkflowOutcome): Promise<void> {
    if (this.notifyError !== undefined) return Promise.reject(this.notifyError);
    this.notified.push({ tenantId, challengeId, outcome });
    return Promise.resolve();
  }
}

export class InMemoryGoodPractice implements GoodPracticeStore {
  readonly saved: { tenantId: string; notification: GoodPracticeNotification }[] = [];
  put(tenantId: string, notification: GoodPracticeNotification): Promise<void> {
    this.saved.push({ tenantId, notification });
    return Promise.resolve();
  }
}

/**
 * Powertools' own idempotency logic over a Map, with the DynamoDB layer's conditions: a record is
 * replaced only when absent, expired, or in progress past its in-progress expiry.
 */
export class InMemoryIdempotencyLayer extends BasePersistenceLayer {
  readonly records = new Map<string, IdempotencyRecord>();

  protected override _putRecord(record: IdempotencyRecord): Promise<void> {
    const existing = this.records.get(record.idempotencyKey);
    const replaceable =
      existing === undefined ||
      existing.isExpired() ||
      (existing.getStatus() === IdempotencyRecordStatus.INPROGRESS &&
        existing.inProgressExpiryTimestamp !== undefined &&
        existing.inProgressExpiryTimestamp < Date.now());
    if (!replaceable) {
      return Promise.reject(
        new IdempotencyItemAlreadyExistsError(`already exists: ${record.idempotencyKey}`, existing),
      );
    }
    this.records.set(record.idempotencyKey, record);
    return Promise.resolve();
  }
  protected override _getRecord(idempotencyKey: string): Promise<IdempotencyRecord> {
    const record = this.records.get(idempotencyKey);
    return record === undefined
      ? Promise.reject(new IdempotencyItemNotFoundError())
      : Promise.resolve(record);
  }
  protected override _updateRecord(record: IdempotencyRecord): Promise<void> {
    this.records.set(record.idempotencyKey, record);
    return Promise.resolve();
  }
  protected override _deleteRecord(record: IdempotencyRecord): Promise<void> {
    this.records.delete(record.idempotencyKey);
    return Promise.resolve();
  }
}

/** Everybody a Nottingham challenge from team-a can reach: the team manager per team, the rest authority-wide. */
export function directoryFor(protocolId = PROTOCOL_ID): StaffMember[] {
  const protocol = presets[protocolId];
  if (protocol === undefined) throw new Error(`no preset ${protocolId}`);
  const roles = new Set<string>();
  for (const track of Object.values(protocol.tracks)) {
    for (const stage of track.stages) {
      roles.add(stage.recipient.role);
      if (stage.partnerRecipient !== undefined) roles.add(stage.partnerRecipient.role);
      for (const copy of stage.copyTo) roles.add(copy.role);
    }
  }
  roles.delete("team_manager");
  const person = (
    personId: string,
    role: string,
    scope: StaffMember["roles"][number]["scope"],
  ): StaffMember => ({
    personId,
    displayName: `Person ${personId}`,
    email: `${personId}@authority.example`,
    active: true,
    roles: [{ role, scope }],
  });
  return [
    person("tm-1", "team_manager", { kind: "team", teamId: "team-a" }),
    person("tm-2", "team_manager", { kind: "team", teamId: "team-b" }),
    ...[...roles].map((role) => person(`${role}-1`, role, { kind: "authority" })),
  ];
}

export interface Fakes {
  readonly challenges: InMemoryChallengeStore;
  readonly tenants: InMemoryTenantStore;
  readonly workflow: FakeWorkflow;
  readonly goodPractice: InMemoryGoodPractice;
  readonly idempotencyLayers: Map<string, InMemoryIdempotencyLayer>;
  readonly observed: { warn: string[]; error: string[]; counts: string[] };
  readonly deps: ApiDependencies;
}

/** Fresh fakes with TENANT configured (Nottingham, its directory) and a fixed clock. */
export async function makeFakes(): Promise<Fakes> {
  const challenges = new InMemoryChallengeStore();
  const tenants = new InMemoryTenantStore();
  await tenants.putConfig(TENANT, { protocolId: PROTOCOL_ID, closureDays: [], reminders: {} });
  for (const member of directoryFor()) await tenants.upsertStaff(TENANT, member);
  tenants.putCalls = 0;
  const workflow = new FakeWorkflow();
  const goodPractice = new InMemoryGoodPractice();
  const idempotencyLayers = new Map<string, InMemoryIdempotencyLayer>();
  const observed = { warn: [] as string[], error: [] as string[], counts: [] as string[] };
  let ids = 0;
  const deps: ApiDependencies = {
    challenges,
    tenants,
    protocols: presetProtocol,
    workflow,
    clock: () => NOW,
    newId: () => `id-${++ids}`,
    observer: {
      warn: (message) => observed.warn.push(message),
      error: (message) => observed.error.push(message),
      count: (metric) => observed.counts.push(metric),
    },
    goodPractice,
    idempotency: (tenantId) => {
      let layer = idempotencyLayers.get(tenantId);
      if (layer === undefined) {
        layer = new InMemoryIdempotencyLayer();
        idempotencyLayers.set(tenantId, layer);
      }
      return layer;
    },
    idempotencyTtlSeconds: 3600,
  };
  return { challenges, tenants, workflow, goodPractice, idempotencyLayers, observed, deps };
}

/** A complete raise request body for team-a's child (Nottingham CP, IRO). */
export function raiseBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const protocol = presets[PROTOCOL_ID];
  return {
    form: {
      child: {
        name: "Alice Example",
        dateOfBirth: "2015-04-01",
        caseRecordId: "LCS-123",
        caseRecordSystem: "LCS",
      },
      track: "CP",
      raiserRole: "IRO",
      socialWorker: { name: "Sam Worker", email: "sam.worker@authority.example" },
      team: { id: "team-a", name: "Assessment Team A" },
      teamManagerName: "Terry Manager",
      worries: "The child protection plan has drifted: no core group for eight weeks.",
      actionsTaken: "Spoke with the social worker on 12 May.",
      impactOnChild: "Risks are not being reviewed.",
      childViews: "Wants to see the social worker more often.",
      whatNeedsToHappen: "Hold a core group within five working days.",
      desiredOutcome: "A core group held and the plan reviewed.",
      timescale: "Five working days",
      themes: [protocol?.themes[0]?.id ?? "missing"],
      immediateRisk: false,
    },
    ...overrides,
  };
}
