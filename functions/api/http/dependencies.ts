import type { BasePersistenceLayer } from "@aws-lambda-powertools/idempotency/persistence";
import { loggingObserver } from "../../app/logging-observer.js";
import { DynamoDBPersistenceLayer } from "@aws-lambda-powertools/idempotency/dynamodb";
import type { AbsenceDirectory } from "../../app/absences.js";
import type { ExecuteDependencies, WorkflowSignal } from "../../app/execute-command.js";
import type { DirectoryLookup } from "../../domain/challenge/state.js";
import { findPreset } from "../../domain/presets/index.js";
import { DynamoChallengeStore } from "../../store/dynamo-challenge-store.js";
import type { Participation, PublishedBenchmark } from "../../store/benchmark-store.js";
import type { ChallengeStore, GoodPracticeStore } from "../../store/ports.js";
import { TABLE, keys } from "../../store/table.js";
import {
  type StaffMember,
  type TenantConfig,
  TenantReader,
  type Versioned,
} from "../../store/tenant-store.js";
import { dynamoDb, documentClient } from "../../shared/clients.js";
import { now } from "../../shared/clock.js";
import { config } from "../../shared/config.js";

/**
 * What the route handlers need, as ports. Tests pass fakes to `createHandler(spec, deps)`; Lambda
 * uses {@link productionDependencies}, built once per process on the first request.
 */

/** What the routes read of the tenant store (commands, reads, reports). */
export interface TenantReads {
  getConfig(tenantId: string): Promise<TenantConfig | undefined>;
  /** The configuration and directory version (the ETag of their reads). */
  version(tenantId: string): Promise<number>;
  listStaff(tenantId: string, options?: { consistent?: boolean }): Promise<StaffMember[]>;
  getStaff: AbsenceDirectory["getStaff"];
  directoryLookup(tenantId: string): Promise<DirectoryLookup>;
}

/** The tenant store's writes: the configuration and directory routes'. */
export interface TenantWrites {
  writeConfig(tenantId: string, config: unknown, expectedVersion?: number): Promise<Versioned<TenantConfig>>;
  writeStaff(tenantId: string, member: unknown, expectedVersion?: number): Promise<Versioned<StaffMember>>;
  replaceAbsences: AbsenceDirectory["replaceAbsences"];
}

/**
 * The tenant store as the API uses it. The writes are optional so that only the configuration and
 * directory routes bundle them (their production wiring is tenant-write-dependencies.ts); those
 * routes require them through {@link tenantWrites}.
 */
export type TenantAdmin = TenantReads & Partial<TenantWrites>;

/** The tenant store with its writes, or an error saying the route was wired without them. */
export function tenantWrites(tenants: TenantAdmin): TenantReads & TenantWrites {
  if (!hasWrites(tenants))
    throw new Error("the tenant store's writes are not wired (tenantWriteDependencies)");
  return tenants;
}

function hasWrites(tenants: TenantAdmin): tenants is TenantReads & TenantWrites {
  return (
    tenants.writeConfig !== undefined &&
    tenants.writeStaff !== undefined &&
    tenants.replaceAbsences !== undefined
  );
}

/** The benchmark's records as the API uses them (functions/store/benchmark-store.ts). */
export interface BenchmarkRecords {
  getParticipation(tenantId: string): Promise<Participation | undefined>;
  putParticipation(tenantId: string, participation: Participation): Promise<Participation>;
  getPublished(quarter: string): Promise<PublishedBenchmark | undefined>;
}

export interface ApiDependencies extends ExecuteDependencies {
  readonly tenants: TenantAdmin;
  /** Optional so only the routes that record or count good practice bundle its store; they require it. */
  readonly goodPractice?: GoodPracticeStore;
  /** The idempotency persistence for a tenant (one per tenant: the tenant is in the partition key). */
  readonly idempotency: (tenantId: string) => BasePersistenceLayer;
  readonly idempotencyTtlSeconds: number;
  /** Optional so only the benchmark routes bundle its store (and fake it in tests); they require it. */
  readonly benchmark?: BenchmarkRecords;
}

/** The known protocols: the shipped presets. */
export const presetProtocol = findPreset;

/**
 * Idempotency records in the single table: pk `T#<tenant>#IDEMPOTENCY` (tenant first, like every
 * key), sk `api#<hash of [tenant, route, Idempotency-Key]>`, TTL on the table's `expiresAt`.
 */
export function idempotencyPartition(tenantId: string): string {
  return `${keys.tenantPartition(tenantId)}#IDEMPOTENCY`;
}

export function idempotencyPersistenceFactory(
  tableName: string,
  client: DynamoDBPersistenceLayerClient,
): (tenantId: string) => BasePersistenceLayer {
  const byTenant = new Map<string, BasePersistenceLayer>();
  return (tenantId) => {
    let layer = byTenant.get(tenantId);
    if (layer === undefined) {
      layer = new DynamoDBPersistenceLayer({
        tableName,
        keyAttr: TABLE.partitionKey,
        sortKeyAttr: TABLE.sortKey,
        staticPkValue: idempotencyPartition(tenantId),
        expiryAttr: TABLE.ttlAttribute,
        awsSdkV3Client: client,
      });
      byTenant.set(tenantId, layer);
    }
    return layer;
  };
}
type DynamoDBPersistenceLayerClient = NonNullable<
  ConstructorParameters<typeof DynamoDBPersistenceLayer>[0]["awsSdkV3Client"]
>;

let production: ApiDependencies | undefined;

/**
 * The workflow signal of a route that decides no command: only the command routes start or signal a
 * challenge's workflow run, and they add the Step Functions signal (command-dependencies.ts), so no
 * other route loads the Step Functions client. A route that decides commands without it fails loudly.
 */
const unwiredWorkflow: WorkflowSignal = {
  start: () => Promise.reject(new Error(UNWIRED)),
  notify: () => Promise.reject(new Error(UNWIRED)),
};
const UNWIRED =
  "this route's wiring has no workflow signal: a route that decides commands takes commandDependencies (api/http/command-dependencies.ts)";

/**
 * The real adapters every route needs, from the validated environment. Built once per process. A
 * route family's own stores are added by {@link productionDependenciesWith} in the family's module.
 */
export function productionDependencies(): ApiDependencies {
  if (production !== undefined) return production;
  const { TABLE_NAME, IDEMPOTENCY_TTL_SECONDS } = config();
  const challenges: ChallengeStore = new DynamoChallengeStore(documentClient, TABLE_NAME);
  production = {
    challenges,
    tenants: new TenantReader(documentClient, TABLE_NAME),
    protocols: presetProtocol,
    workflow: unwiredWorkflow,
    clock: now,
    observer: loggingObserver,
    idempotency: idempotencyPersistenceFactory(TABLE_NAME, dynamoDb),
    idempotencyTtlSeconds: IDEMPOTENCY_TTL_SECONDS,
  };
  return production;
}

/**
 * The production wiring plus a route family's own stores (good practice, the benchmark, the tenant
 * store's writes, the command routes' workflow signal), built once
 * per process. Called from the family's own module, so a route outside the family bundles none of
 * those stores.
 */
export function productionDependenciesWith(
  extra: (tableName: string, shared: ApiDependencies) => Partial<ApiDependencies>,
): () => ApiDependencies {
  let built: ApiDependencies | undefined;
  return () => {
    if (built !== undefined) return built;
    const shared = productionDependencies();
    built = { ...shared, ...extra(config().TABLE_NAME, shared) };
    return built;
  };
}
