import { setTimeout as sleep } from "node:timers/promises";
import {
  GetCommand,
  TransactWriteCommand,
  type DynamoDBDocumentClient,
  paginateQuery,
} from "@aws-sdk/lib-dynamodb";
import { type Absence, MAX_ABSENCES, absenceOn, absenceSchema } from "../domain/absence.js";
import * as z from "zod/mini";
import { templateOverridesSchema } from "../domain/email-template-overrides.js";
import { retentionSettingsSchema } from "../domain/retention.js";
import { about } from "../domain/about.js";
import type { Recipient } from "../domain/protocol.js";
import type { Assignee } from "../domain/challenge/events.js";
import type {
  AbsentHolder,
  DirectoryLookup,
  DirectoryScope,
  RoleStanding,
} from "../domain/challenge/state.js";
import { CorruptItemError, cancellationReasons, parseItem, withoutUndefined } from "./items.js";
import { CONFIG_SK, ENTITY, STAFF_SK_PREFIX, TABLE, TENANT_VERSION_SK, keys } from "./table.js";
import { raiseTenantVersion, tenantVersionOf } from "./tenant-version.js";

/**
 * A tenant's configuration and staff directory, both in the tenant's own partition (`T#<tenant>`):
 * `CONFIG` and one `STAFF#<personId>` item per person. Both are validated on the way in (a bad
 * request is a {@link z.core.$ZodError}) and on the way out (a bad item is a {@link CorruptItemError}).
 *
 * Cache and how it is invalidated: commands and workflow tasks ask for the configuration and the
 * directory `atVersion`, the tenant's version (store/tenant-version.ts) read strongly consistent
 * in the same call as the challenge. Every configuration or staff write raises that version in the
 * same transaction, so a container's cached copy is used only while no write has committed since
 * it was read; any other version reads the tenant's partition again (one query). A person marked
 * as left is therefore never routed to by a decision read after the change committed: the same
 * guarantee as reading the directory on every command, without the reads.
 */

const slug = z
  .string()
  .check(
    z.regex(/^[a-z][a-z0-9_-]*$/, "a lower-case identifier: letters, digits, '-' and '_'"),
    z.maxLength(64),
  );
const id = z.string().check(z.trim(), z.minLength(1), z.maxLength(128));

/**
 * A DNS name with a top-level domain: zod's `regexes.domain`, written out here because reading it
 * through zod's `regexes` namespace bundles every one of zod's patterns (~5 KB) into each function
 * that reads a configuration. A test checks it stays the same as zod's.
 */
export const DNS_NAME_PATTERN =
  /^(?=.{1,253}$)([a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z]{2,63}$/;

/**
 * The case-note webhook. Only its address is configuration: this document is readable by every
 * member of staff (GET /v1/config) and sits in the table, so the HMAC signing secret is NOT here.
 * It is kept in Secrets Manager under a name derived from the tenant id
 * (`CASE_NOTE_WEBHOOK_SECRET_PREFIX` + tenant id), so a tenant can never sign with another's key.
 * HTTPS to a DNS name only: no plain HTTP, no IP literals or `localhost` (nothing on the Lambda's
 * own network), and no user name or password in the URL (it would be readable here).
 */
export const caseNoteWebhookSchema = z.strictObject({
  url: z.url({ protocol: /^https$/, hostname: DNS_NAME_PATTERN }).check(
    z.maxLength(2048),
    z.refine((url) => !/^https:\/\/[^/?#]*@/i.test(url), "must not carry a user name or password"),
    z.meta(
      about(
        "Where each case note is POSTed, signed: HTTPS to a DNS name, no credentials in the URL",
        "https://case-records.riverside.example/hooks/case-notes",
      ),
    ),
  ),
});
export type CaseNoteWebhook = z.infer<typeof caseNoteWebhookSchema>;

/** The email wording field's description: one text for the read form here and the write form. */
export const MAIL_TEMPLATES_ABOUT = {
  description: "The authority's own wording of its emails, per notification; unset ones keep the defaults",
};

/**
 * A tenant's configuration as stored and read. Every read (each command, workflow task and mail)
 * parses it with this: the email wording in its shape only, without the rules a wording must keep,
 * which a configuration is checked against where it comes in (tenantConfigInputSchema in
 * tenant-config-input.ts: PUT /v1/config's body, the authority CLI) and which the mail checks again,
 * as a whole template set, before it uses a wording (resolveTemplates). Nothing stored is unchecked,
 * so reading needs neither the rules nor their weight in every function's bundle.
 */
export const tenantConfigSchema = z.strictObject({
  /** The protocol this authority runs: a preset id (functions/domain/presets). */
  protocolId: slug.check(
    z.meta(
      about(
        "The protocol this authority runs: a preset id (lcs-issues-resolution, rotherham, halton, ...)",
        "halton",
      ),
    ),
  ),
  /** The authority's own closure days (YYYY-MM-DD, London), on top of weekends and bank holidays. */
  closureDays: z.array(z.iso.date().check(z.maxLength(10))).check(
    z.maxLength(400),
    z.refine((days) => new Set(days).size === days.length, "closure days must not repeat"),
    z.meta(
      about("The authority's own closure days (London dates), beyond weekends and bank holidays", [
        "2026-12-29",
      ]),
    ),
  ),
  /** Close of business (HH:MM, London) when deadlines fall; the calendar's default when unset. */
  closeOfBusiness: z
    .optional(z.string().check(z.maxLength(5), z.regex(/^([01]\d|2[0-3]):[0-5]\d$/, "HH:MM, 24-hour")))
    .check(z.meta(about("Close of business (HH:MM, London) when deadlines fall; unset: 17:00", "17:00"))),
  reminders: z
    .strictObject({
      /** Working days before a deadline to remind the recipient; 0 for none; unset: the protocol's setting. */
      workingDaysBeforeDeadline: z
        .optional(z.number().check(z.int(), z.gte(0), z.lte(10)))
        .check(
          z.meta(
            about(
              "Working days before a deadline to remind the recipient; 0 for none; unset: the protocol's",
              1,
            ),
          ),
        ),
    })
    .check(z.meta({ description: "When recipients are reminded" })),
  /**
   * Optional: where each new case note is POSTed as it is recorded (the case-record system's
   * receiving end; functions/case-notes/push-case-notes.ts). Without it nothing is pushed and the
   * case-record system pulls (GET /v1/children/{caseRecordId}/case-notes).
   */
  caseNoteWebhook: z
    .optional(caseNoteWebhookSchema)
    .check(
      z.meta({ description: "Where each new case note is POSTed; unset: the case-record system pulls them" }),
    ),
  /** The authority's name as its emails sign off; unset: the deployment's AUTHORITY_NAME. */
  authorityName: z
    .optional(z.string().check(z.trim(), z.minLength(1), z.maxLength(200)))
    .check(z.meta(about("The authority's name as its emails sign off", "Riverside Children's Services"))),
  /**
   * The authority's own wording of its emails, per notification kind; unset kinds keep the defaults.
   * Here in its shape only, and tenant-config-input.ts adds the wording's rules for writes: see there.
   */
  mailTemplates: z.optional(templateOverridesSchema).check(z.meta(MAIL_TEMPLATES_ABOUT)),
  /** The authority's child-protection retention rule; unset: kept as long as LAC records (functions/domain/retention.ts). */
  retention: z.optional(retentionSettingsSchema).check(
    z.meta({
      description: "The authority's child-protection retention rule; unset: kept as long as LAC records",
    }),
  ),
});
export type TenantConfig = z.infer<typeof tenantConfigSchema>;

/** Where a person holds a role: for one team, for one partner agency, or across the whole authority. */
export const roleScopeSchema = z.discriminatedUnion("kind", [
  z.strictObject({
    kind: z.literal("team").check(z.meta(about("For one team", "team"))),
    teamId: id.check(z.meta(about("The team's id", "team-east"))),
  }),
  z.strictObject({
    kind: z.literal("partner_agency").check(z.meta(about("For one partner agency", "partner_agency"))),
    partnerAgencyId: id.check(z.meta(about("The agency's id", "health-trust"))),
  }),
  z.strictObject({
    kind: z.literal("authority").check(z.meta(about("Across the whole authority", "authority"))),
  }),
]);
export type RoleScope = z.infer<typeof roleScopeSchema>;

/** A role a person holds or covers, and where (described for the OpenAPI document). */
const roleField = slug.check(
  z.meta(about("A role the protocol names (GET /v1/config lists them)", "team_manager")),
);
const scopeField = roleScopeSchema.check(
  z.meta({
    description: "Where the role is held: one team, one partner agency, or the authority",
  }),
);

export const staffMemberSchema = z.strictObject({
  /** The person's stable id: the subject of their access token. */
  personId: id.check(
    z.meta(about("The person's stable id: the subject of their access token", "pm-east-lena")),
  ),
  displayName: z
    .string()
    .check(
      z.trim(),
      z.minLength(1),
      z.maxLength(200),
      z.meta(about("Their name as emails greet them", "Lena Fictive")),
    ),
  email: z
    .email()
    .check(z.maxLength(254), z.meta(about("Where they are emailed", "lena.fictive@example.org"))),
  /** People who have left stay in the directory (history names them) but receive nothing new. */
  active: z
    .boolean()
    .check(z.meta(about("false for someone who has left: kept for the history, sent nothing new", true))),
  /** Protocol roles (e.g. team_manager, head_of_service) and where the person holds them. */
  roles: z
    .array(z.strictObject({ role: roleField, scope: scopeField }))
    .check(z.maxLength(50), z.meta({ description: "The protocol roles they hold, and where" })),
  /**
   * Optional: roles the person is named cover for (e.g. while the holder is on leave). Cover may
   * approve a referral for the role, and a stage opened while the role's holder is absent goes to
   * them, the holder copied (functions/domain/absence-cover.ts).
   */
  coverFor: z
    .optional(z.array(z.strictObject({ role: roleField, scope: scopeField })).check(z.maxLength(50)))
    .check(z.meta({ description: "Roles they are named cover for (e.g. while the holder is on leave)" })),
});
export type StaffMember = z.infer<typeof staffMemberSchema>;

/**
 * A directory entry as read: the member and their absences. Absences are kept beside the member on
 * the same item (attribute `absences`) and written only by recordAbsence / endAbsence, so replacing
 * a member's entry (PUT /v1/directory/{personId}) never loses an absence recorded meanwhile.
 */
export type StaffEntry = StaffMember & { readonly absences?: readonly Absence[] };

type TransactItem = NonNullable<
  ConstructorParameters<typeof TransactWriteCommand>[0]["TransactItems"]
>[number];

const configItemSchema = z.strictObject({
  pk: z.string(),
  sk: z.string(),
  entity: z.literal(ENTITY.config),
  tenantId: z.string(),
  config: tenantConfigSchema,
  updatedAt: z.iso.datetime(),
});

const staffItemSchema = z.strictObject({
  pk: z.string(),
  sk: z.string(),
  entity: z.literal(ENTITY.staff),
  tenantId: z.string(),
  member: staffMemberSchema,
  absences: z.optional(z.array(absenceSchema).check(z.maxLength(MAX_ABSENCES))),
  updatedAt: z.iso.datetime(),
});

/** A tenant's configuration and directory as read at one version. */
interface TenantAtVersion {
  readonly version: number;
  readonly config: TenantConfig | undefined;
  readonly directory: DirectoryLookup;
}

/**
 * A configuration or directory write named a version (If-Match) that is no longer the tenant's:
 * something changed since the writer read it. Nothing was stored.
 */
export class TenantVersionMismatchError extends Error {
  override readonly name = "TenantVersionMismatchError";
  constructor(
    readonly expected: number,
    readonly current: number,
  ) {
    super(`The configuration and directory are at version ${current}, not ${expected}.`);
  }
}

/** A role of the entry being written, already held at the same place by another active person. */
export interface HeldRole {
  /** Its index in the entry's `roles`. */
  readonly index: number;
  readonly role: string;
  readonly scope: RoleScope;
  readonly holderPersonId: string;
}

/**
 * One holder per role per place: a staff write would give an active person a role (for one team,
 * one partner agency, or the authority) that another active person already holds there. Nothing
 * was stored. The protocol addresses a stage to one person; two holders would leave the choice
 * between them to an ordering rule nobody set.
 */
export class RoleAlreadyHeldError extends Error {
  override readonly name = "RoleAlreadyHeldError";
  constructor(readonly held: readonly HeldRole[]) {
    super(`${String(held.length)} role(s) already held by another active person`);
  }
}

function sameScope(a: RoleScope, b: RoleScope): boolean {
  if (a.kind === "team") return b.kind === "team" && a.teamId === b.teamId;
  if (a.kind === "partner_agency")
    return b.kind === "partner_agency" && a.partnerAgencyId === b.partnerAgencyId;
  return b.kind === "authority";
}

/** The roles of `member` that another active person in `staff` already holds at the same place. */
export function rolesHeldByOthers(member: StaffMember, staff: readonly StaffMember[]): HeldRole[] {
  if (!member.active) return [];
  const others = staff.filter((m) => m.active && m.personId !== member.personId);
  return member.roles.flatMap((wanted, index) => {
    const holder = others.find((m) =>
      m.roles.some((r) => r.role === wanted.role && sameScope(r.scope, wanted.scope)),
    );
    return holder === undefined
      ? []
      : [{ index, role: wanted.role, scope: wanted.scope, holderPersonId: holder.personId }];
  });
}

/** A write's result: what was stored and the tenant's version after it (the response's ETag). */
export interface Versioned<T> {
  readonly value: T;
  readonly version: number;
}

/** Tenants whose configuration a container keeps: one per authority, so a bound that is never reached. */
const MAX_CACHED_TENANTS = 200;
/** Attempts at a configuration or staff write that met another such write in flight (TransactionConflict). */
const WRITE_ATTEMPTS = 4;

/**
 * The tenant's configuration and directory as every function reads them (commands, workflow
 * tasks, mail, reports): the writes are {@link TenantStore}'s, so a function that only reads
 * bundles none of them.
 */
export class TenantReader {
  /** Per container (the store is built once per process): see the module comment for invalidation. */
  private readonly cache = new Map<string, TenantAtVersion>();

  constructor(
    protected readonly client: DynamoDBDocumentClient,
    protected readonly tableName: string,
    protected readonly now: () => Date = () => new Date(),
  ) {}

  /**
   * The configuration. `atVersion`: the tenant's version as read with the challenge; a cached copy at
   * exactly that version answers without a call. Unset: read afresh (the configuration routes).
   */
  async getConfig(tenantId: string, atVersion?: number): Promise<TenantConfig | undefined> {
    if (atVersion !== undefined) return (await this.atVersion(tenantId, atVersion)).config;
    const key = keys.config(tenantId);
    const { Item } = await this.client.send(new GetCommand({ TableName: this.tableName, Key: key }));
    return Item === undefined ? undefined : this.parseConfig(Item, tenantId);
  }

  /**
   * The tenant's configuration and directory version (0 before the first write), read strongly
   * consistent: the ETag of GET /v1/config and GET /v1/directory, read before what they return, so
   * an ETag is never newer than the data it was sent with. A stream consumer, with no challenge read
   * to carry the version, reads it here to use the cached configuration and directory.
   */
  async version(tenantId: string): Promise<number> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: keys.tenantVersion(tenantId), ConsistentRead: true }),
    );
    return tenantVersionOf(Item, tenantId);
  }

  async getStaff(tenantId: string, personId: string): Promise<StaffEntry | undefined> {
    const key = keys.staff(tenantId, personId);
    const { Item } = await this.client.send(new GetCommand({ TableName: this.tableName, Key: key }));
    return Item === undefined ? undefined : this.parseStaff(Item, tenantId);
  }

  /**
   * The whole directory, in person-id order (a query on the tenant partition, every page).
   * `consistent`: a strongly consistent read (a write's check, GET /v1/directory after its ETag).
   */
  async listStaff(tenantId: string, options: { consistent?: boolean } = {}): Promise<StaffEntry[]> {
    const members: StaffEntry[] = [];
    for await (const page of paginateQuery(
      { client: this.client },
      {
        TableName: this.tableName,
        KeyConditionExpression: "#pk = :pk AND begins_with(#sk, :prefix)",
        ExpressionAttributeNames: { "#pk": TABLE.partitionKey, "#sk": TABLE.sortKey },
        ExpressionAttributeValues: { ":pk": keys.tenantPartition(tenantId), ":prefix": STAFF_SK_PREFIX },
        ...(options.consistent === true ? { ConsistentRead: true } : {}),
      },
    )) {
      for (const raw of page.Items ?? []) members.push(this.parseStaff(raw, tenantId));
    }
    return members;
  }

  /**
   * Answers `decide`'s lookups synchronously from the whole directory. `atVersion`: as for
   * {@link getConfig}, a cached directory at exactly that version; unset: read afresh.
   */
  async directoryLookup(tenantId: string, atVersion?: number): Promise<DirectoryLookup> {
    if (atVersion !== undefined) return (await this.atVersion(tenantId, atVersion)).directory;
    return createDirectoryLookup(await this.listStaff(tenantId));
  }

  /**
   * The configuration and directory at `version`: the cached copy when it is at exactly that
   * version, else one strongly consistent query of the tenant's partition (configuration, staff and
   * version items together, every page). The copy is kept under the lower of `version` and the
   * version the query saw: `version` was read before the query began, so what the query returned is
   * at least that new, and a write caught half-way by the query can only cause one more read later.
   */
  private async atVersion(tenantId: string, version: number): Promise<TenantAtVersion> {
    const cached = this.cache.get(tenantId);
    if (cached?.version === version) return cached;
    let config: TenantConfig | undefined;
    let seen = 0;
    const staff: StaffEntry[] = [];
    for await (const page of paginateQuery(
      { client: this.client },
      {
        TableName: this.tableName,
        KeyConditionExpression: "#pk = :pk",
        ExpressionAttributeNames: { "#pk": TABLE.partitionKey },
        ExpressionAttributeValues: { ":pk": keys.tenantPartition(tenantId) },
        ConsistentRead: true,
      },
    )) {
      for (const raw of page.Items ?? []) {
        const sk = String(raw[TABLE.sortKey]);
        if (sk === CONFIG_SK) config = this.parseConfig(raw, tenantId);
        else if (sk === TENANT_VERSION_SK) seen = tenantVersionOf(raw, tenantId);
        else if (sk.startsWith(STAFF_SK_PREFIX)) staff.push(this.parseStaff(raw, tenantId));
      }
    }
    const entry = { version: Math.min(version, seen), config, directory: createDirectoryLookup(staff) };
    this.cache.delete(tenantId);
    if (this.cache.size >= MAX_CACHED_TENANTS) {
      const oldest = this.cache.keys().next();
      if (oldest.done !== true) this.cache.delete(oldest.value);
    }
    this.cache.set(tenantId, entry);
    return entry;
  }

  private parseConfig(raw: Record<string, unknown>, tenantId: string): TenantConfig {
    const key = keys.config(tenantId);
    const item = parseItem(configItemSchema, raw, `${key.pk} ${key.sk}`);
    if (item.tenantId !== tenantId)
      throw new CorruptItemError(`${key.pk} ${key.sk}`, "tenant id disagrees with key");
    return item.config;
  }

  private parseStaff(raw: Record<string, unknown>, tenantId: string): StaffEntry {
    const where = `${String(raw[TABLE.partitionKey])} ${String(raw[TABLE.sortKey])}`;
    const item = parseItem(staffItemSchema, raw, where);
    const key = keys.staff(tenantId, item.member.personId);
    if (item.tenantId !== tenantId || item.pk !== key.pk || item.sk !== key.sk) {
      throw new CorruptItemError(where, "tenant or person id disagrees with the key");
    }
    return item.absences === undefined ? item.member : { ...item.member, absences: item.absences };
  }
}

/**
 * The tenant store with its writes: the configuration and directory routes, the authority CLI,
 * set-up and tests. Every write raises the tenant's version in the same transaction, which is what
 * invalidates every container's cached copy (see the module comment).
 */
export class TenantStore extends TenantReader {
  /** {@link writeConfig} at whatever version is current (set-up, the CLI, tests). */
  async putConfig(tenantId: string, config: unknown): Promise<TenantConfig> {
    return (await this.writeConfig(tenantId, config)).value;
  }

  /**
   * Validates and stores the configuration, only if the tenant is still at `expectedVersion` (the
   * version the writer read: If-Match) when one is given; else at the version read just before.
   * Throws a ZodError when it is invalid, {@link TenantVersionMismatchError} when the version moved.
   * Validated in the stored form; a configuration from outside (a request, the CLI) carries email
   * wording only after it passed `tenantConfigInputSchema` (tenant-config-input.ts), which checks
   * the wording's rules too.
   */
  async writeConfig(
    tenantId: string,
    config: unknown,
    expectedVersion?: number,
  ): Promise<Versioned<TenantConfig>> {
    const valid = tenantConfigSchema.parse(config);
    return this.writeAtVersion(tenantId, expectedVersion, (at) => ({
      Put: {
        TableName: this.tableName,
        Item: withoutUndefined({
          ...keys.config(tenantId),
          entity: ENTITY.config,
          tenantId,
          config: valid,
          updatedAt: at.toISOString(),
        }),
      },
    })).then((version) => ({ value: valid, version }));
  }

  /** {@link writeStaff} at whatever version is current (set-up, the CLI, tests). */
  async upsertStaff(tenantId: string, member: unknown): Promise<StaffMember> {
    return (await this.writeStaff(tenantId, member)).value;
  }

  /**
   * Adds or replaces a person in the directory, keeping any absences recorded for them (an update of
   * the member, not a put of the item), at `expectedVersion` as for {@link writeConfig}. Refuses
   * ({@link RoleAlreadyHeldError}) to give an active person a role another active person holds at
   * the same place: the check reads the directory at the version the write is conditioned on, so
   * two concurrent writes can never both take one role. Throws a ZodError when the entry is invalid.
   */
  async writeStaff(
    tenantId: string,
    member: unknown,
    expectedVersion?: number,
  ): Promise<Versioned<StaffMember>> {
    const valid = staffMemberSchema.parse(member);
    const version = await this.writeAtVersion(
      tenantId,
      expectedVersion,
      (at) => this.staffUpdate(tenantId, valid, at),
      async () => {
        if (!valid.active || valid.roles.length === 0) return;
        const held = rolesHeldByOthers(valid, await this.listStaff(tenantId, { consistent: true }));
        if (held.length > 0) throw new RoleAlreadyHeldError(held);
      },
    );
    return { value: valid, version };
  }

  /**
   * A configuration or directory write conditioned on the tenant's version: read the version
   * (strongly consistent), refuse when it is not `expected`, run `check` (which reads after the
   * version, so what it saw is at least that new), then write the item and raise the version in one
   * transaction that holds only if the version is still the one read. Without `expected`, a write
   * that lost that race reads again and retries; with it, the race is the writer's 412.
   * Returns the version after the write.
   */
  private async writeAtVersion(
    tenantId: string,
    expected: number | undefined,
    write: (at: Date) => TransactItem,
    check?: () => Promise<void>,
  ): Promise<number> {
    for (let attempt = 1; ; attempt++) {
      const current = await this.version(tenantId);
      if (expected !== undefined && expected !== current)
        throw new TenantVersionMismatchError(expected, current);
      await check?.();
      const at = this.now();
      try {
        await this.writeAndRaiseVersion(tenantId, write(at), at, current);
        return current + 1;
      } catch (error) {
        const moved = cancellationReasons(error)?.[1] === "ConditionalCheckFailed";
        if (!moved) throw error;
        if (expected !== undefined)
          throw new TenantVersionMismatchError(expected, await this.version(tenantId));
        if (attempt >= WRITE_ATTEMPTS) throw error;
      }
    }
  }

  /** The member's update: SET of the member, so the absences recorded for them stay. */
  private staffUpdate(tenantId: string, valid: StaffMember, at: Date): TransactItem {
    return {
      Update: {
        TableName: this.tableName,
        Key: keys.staff(tenantId, valid.personId),
        UpdateExpression:
          "SET #entity = :entity, #tenantId = :tenantId, #member = :member, #updatedAt = :updatedAt",
        ExpressionAttributeNames: {
          "#entity": TABLE.entityAttribute,
          "#tenantId": "tenantId",
          "#member": "member",
          "#updatedAt": "updatedAt",
        },
        ExpressionAttributeValues: {
          ":entity": ENTITY.staff,
          ":tenantId": tenantId,
          ":member": withoutUndefined(valid),
          ":updatedAt": at.toISOString(),
        },
      },
    };
  }

  /**
   * Replaces a person's absences, on the condition that they are still what was read (`expected`:
   * the list as read, by absence ids), so two concurrent recordings never lose one another. Raises
   * the tenant's version like every directory write: an absence changes who a stage goes to.
   * Returns false when the entry changed meanwhile (read again and retry); throws when the person
   * is not in the directory.
   */
  async replaceAbsences(
    tenantId: string,
    personId: string,
    expected: readonly Absence[] | undefined,
    absences: readonly Absence[],
  ): Promise<boolean> {
    const valid = z.array(absenceSchema).check(z.maxLength(MAX_ABSENCES)).parse(absences);
    const unchanged =
      expected === undefined || expected.length === 0
        ? "attribute_not_exists(#absences) OR size(#absences) = :zero"
        : "#absences = :expected";
    const at = this.now();
    try {
      await this.writeAndRaiseVersion(
        tenantId,
        {
          Update: {
            TableName: this.tableName,
            Key: keys.staff(tenantId, personId),
            UpdateExpression: "SET #absences = :absences, #updatedAt = :updatedAt",
            ConditionExpression: `attribute_exists(#pk) AND (${unchanged})`,
            ExpressionAttributeNames: {
              "#pk": TABLE.partitionKey,
              "#absences": "absences",
              "#updatedAt": "updatedAt",
            },
            ExpressionAttributeValues: {
              ":absences": withoutUndefined(valid),
              ":updatedAt": at.toISOString(),
              ...(expected === undefined || expected.length === 0
                ? { ":zero": 0 }
                : { ":expected": withoutUndefined(expected) }),
            },
          },
        },
        at,
      );
      return true;
    } catch (error) {
      if (cancellationReasons(error)?.includes("ConditionalCheckFailed") === true) return false;
      throw error;
    }
  }

  /**
   * Every configuration or staff write goes through here: the item and the tenant's version in one
   * transaction, so no container's cache outlives the change (see the module comment).
   */
  private async writeAndRaiseVersion(
    tenantId: string,
    write: TransactItem,
    at: Date,
    expectedVersion?: number,
  ): Promise<void> {
    const input = {
      TransactItems: [write, raiseTenantVersion(this.tableName, tenantId, at, expectedVersion)],
    };
    for (let attempt = 1; ; attempt++) {
      try {
        await this.client.send(new TransactWriteCommand(input));
        return;
      } catch (error) {
        const conflict = cancellationReasons(error)?.includes("TransactionConflict") === true;
        if (!conflict || attempt >= WRITE_ATTEMPTS) throw error;
        await sleep(20 * 2 ** attempt * Math.random());
      }
    }
  }
}

/**
 * Resolves a protocol role to a person. For a partner agency's challenge, only the agency's holder
 * of the role: never the council's own (a partner challenge must not be silently re-routed to the
 * council's manager). Otherwise the team's holder, then whoever holds it across the authority
 * (directors, heads of service). Inactive people are skipped. Staff writes keep one active holder
 * per role per place ({@link RoleAlreadyHeldError}); should two ever be found (entries written
 * before that rule), the lowest person id wins, so the answer never depends on the order items
 * were read in.
 */
export function createDirectoryLookup(staff: readonly StaffEntry[]): DirectoryLookup {
  const active = [...staff].filter((m) => m.active).sort((a, b) => (a.personId < b.personId ? -1 : 1));
  const inScope = (scope: DirectoryScope) =>
    scope.partnerAgencyId === undefined
      ? (s: RoleScope) => (s.kind === "team" && s.teamId === scope.teamId) || s.kind === "authority"
      : (s: RoleScope) => s.kind === "partner_agency" && s.partnerAgencyId === scope.partnerAgencyId;
  const holder = (role: string, matches: (scope: RoleScope) => boolean) =>
    active.find((m) => m.roles.some((r) => r.role === role && matches(r.scope)));

  const lookup = (recipient: Recipient, scope: DirectoryScope): Assignee | undefined => {
    const partnerAgencyId = scope.partnerAgencyId;
    const person =
      partnerAgencyId === undefined
        ? (holder(recipient.role, (s) => s.kind === "team" && s.teamId === scope.teamId) ??
          holder(recipient.role, (s) => s.kind === "authority"))
        : holder(recipient.role, (s) => s.kind === "partner_agency" && s.partnerAgencyId === partnerAgencyId);
    return person === undefined
      ? undefined
      : { role: recipient.role, title: recipient.title, personId: person.personId, email: person.email };
  };
  const standing = (personId: string, role: string, scope: DirectoryScope): RoleStanding | undefined => {
    const member = active.find((m) => m.personId === personId);
    if (member === undefined) return undefined;
    const matches = inScope(scope);
    if (member.roles.some((r) => r.role === role && matches(r.scope))) return "holder";
    if (member.coverFor?.some((r) => r.role === role && matches(r.scope)) === true) return "cover";
    return undefined;
  };
  /**
   * The person's absence on `day`, and the role's named cover (the team's, then the authority's;
   * for a partner agency, only that agency's) who is neither the person nor away themselves.
   */
  const absence = (
    personId: string,
    recipient: Recipient,
    scope: DirectoryScope,
    day: string,
  ): AbsentHolder | undefined => {
    const away = absenceOn(active.find((m) => m.personId === personId)?.absences, day);
    if (away === undefined) return undefined;
    const covers = (matches: (s: RoleScope) => boolean) =>
      active.find(
        (m) =>
          m.personId !== personId &&
          absenceOn(m.absences, day) === undefined &&
          m.coverFor?.some((r) => r.role === recipient.role && matches(r.scope)) === true,
      );
    const partnerAgencyId = scope.partnerAgencyId;
    const cover =
      partnerAgencyId === undefined
        ? (covers((s) => s.kind === "team" && s.teamId === scope.teamId) ??
          covers((s) => s.kind === "authority"))
        : covers((s) => s.kind === "partner_agency" && s.partnerAgencyId === partnerAgencyId);
    return {
      absence: away,
      ...(cover === undefined
        ? {}
        : {
            cover: {
              role: recipient.role,
              title: recipient.title,
              personId: cover.personId,
              email: cover.email,
            },
          }),
    };
  };
  return Object.assign(lookup, { standing, absence });
}
