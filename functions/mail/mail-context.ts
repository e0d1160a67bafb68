import type { ChallengeEvent } from "../domain/challenge/events.js";
import { replay } from "../domain/challenge/evolve.js";
import type { ChallengeState } from "../domain/challenge/state.js";
import { findPreset } from "../domain/presets/index.js";
import type { Protocol } from "../domain/protocol.js";
import type { ChallengeStore } from "../store/ports.js";
import type { TemplateSet } from "../domain/email-templates.js";
import { type StaffMember, type TenantConfig, createDirectoryLookup } from "../store/tenant-store.js";
import type { NotificationDirectory } from "./notifications.js";
import { resolveTemplates } from "./templates.js";

// What the mail needs to know about a tenant and a challenge

/** What the mail reads of a tenant's configuration (stored and checked by the tenant store). */
export type MailTenantConfig = Pick<TenantConfig, "authorityName" | "mailTemplates">;

/** The tenant store as the mail reads it (TenantStore fits). */
export interface MailTenantSource {
  listStaff(tenantId: string): Promise<readonly StaffMember[]>;
  getConfig(tenantId: string): Promise<MailTenantConfig | undefined>;
}

/** The tenant's templates when its configuration overrides any wording, else undefined (the defaults). */
export function templatesFromConfig(config: MailTenantConfig | undefined): TemplateSet | undefined {
  const overrides = config?.mailTemplates;
  return overrides === undefined ? undefined : resolveTemplates(overrides);
}

/** The authority's name as its emails sign off, when its configuration has one. */
export function authorityNameFromConfig(config: MailTenantConfig | undefined): string | undefined {
  const name = config?.authorityName?.trim();
  return name === undefined || name === "" ? undefined : name;
}

export interface ChallengeMailContext {
  /** Every event of the challenge, as stored when it was loaded. */
  readonly history: readonly ChallengeEvent[];
  /** The challenge now (after every event in `history`). */
  readonly current: ChallengeState;
  readonly protocol: Protocol;
  readonly directory: NotificationDirectory;
  readonly templates?: TemplateSet;
  readonly authorityName: string;
}

/** The known protocols: the shipped presets. */
export const presetProtocol = findPreset;

/** The challenge has no protocol this service knows: a data or deployment fault. */
export class MailContextError extends Error {
  override readonly name = "MailContextError";
}

export function directoryOf(staff: readonly StaffMember[]): NotificationDirectory {
  const byId = new Map(staff.map((m) => [m.personId, m]));
  return {
    person: (personId) => {
      const m = byId.get(personId);
      return m === undefined ? undefined : { email: m.email, name: m.displayName, active: m.active };
    },
    holder: createDirectoryLookup(staff),
  };
}

/** Loads what rendering a challenge's emails needs; caches tenant data for the life of the loader. */
export class MailContextLoader {
  private readonly tenantCache = new Map<
    string,
    Promise<{ directory: NotificationDirectory; templates?: TemplateSet; authorityName: string }>
  >();
  private readonly challengeCache = new Map<string, Promise<ChallengeMailContext>>();

  constructor(
    private readonly challenges: Pick<ChallengeStore, "events">,
    private readonly tenants: MailTenantSource,
    private readonly protocols: (protocolId: string) => Protocol | undefined,
    private readonly defaultAuthorityName: string,
  ) {}

  load(tenantId: string, challengeId: string): Promise<ChallengeMailContext> {
    const cacheKey = `${tenantId}\n${challengeId}`;
    let pending = this.challengeCache.get(cacheKey);
    if (pending === undefined) {
      pending = this.loadChallenge(tenantId, challengeId);
      this.challengeCache.set(cacheKey, pending);
      pending.catch(() => this.challengeCache.delete(cacheKey));
    }
    return pending;
  }

  private tenant(tenantId: string) {
    let pending = this.tenantCache.get(tenantId);
    if (pending === undefined) {
      pending = (async () => {
        const [staff, tenantConfig] = await Promise.all([
          this.tenants.listStaff(tenantId),
          this.tenants.getConfig(tenantId),
        ]);
        const templates = templatesFromConfig(tenantConfig);
        return {
          directory: directoryOf(staff),
          ...(templates === undefined ? {} : { templates }),
          authorityName: authorityNameFromConfig(tenantConfig) ?? this.defaultAuthorityName,
        };
      })();
      this.tenantCache.set(tenantId, pending);
      pending.catch(() => this.tenantCache.delete(tenantId));
    }
    return pending;
  }

  private async loadChallenge(tenantId: string, challengeId: string): Promise<ChallengeMailContext> {
    const [stored, tenant] = await Promise.all([
      this.challenges.events(tenantId, challengeId),
      this.tenant(tenantId),
    ]);
    const history = stored.map((s) => s.event);
    const raised = history.find((e) => e.type === "ChallengeRaised");
    const protocolId = raised?.type === "ChallengeRaised" ? raised.data.protocolId : undefined;
    const protocol = protocolId === undefined ? undefined : this.protocols(protocolId);
    if (protocol === undefined) {
      throw new MailContextError(
        `challenge ${challengeId} has no known protocol (${protocolId ?? "not raised"})`,
      );
    }
    return { history, current: replay(history, challengeId), protocol, ...tenant };
  }
}
