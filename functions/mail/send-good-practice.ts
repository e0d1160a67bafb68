import { createHash } from "node:crypto";
import type { DynamoDBBatchResponse } from "aws-lambda";
import * as z from "zod/mini";
import { actorSchema, channelSchema } from "../domain/challenge/actor.js";
import { type GoodPracticeNotification, goodPracticeInputSchema } from "../domain/good-practice.js";
import type { Protocol } from "../domain/protocol.js";
import { documentClient } from "../shared/clients.js";
import { now } from "../shared/clock.js";
import { config } from "../shared/config.js";
import { parseItem } from "../store/items.js";
import { ENTITY, TABLE } from "../store/table.js";
import { TenantStore, type StaffMember } from "../store/tenant-store.js";
import { goodPracticeMailKey } from "./deliveries.js";
import { DEFAULT_AUTHORITY_NAME, parseMailConfig, required } from "./mail-config.js";
import {
  type MailTenantConfig,
  type MailTenantSource,
  MailContextError,
  authorityNameFromConfig,
  presetProtocol,
  templatesFromConfig,
} from "./mail-context.js";
import { MAIL_TAGS } from "./mail-tags.js";
import { type Mailer, TransientDeliveryError } from "./mailer.js";
import type { MailRecipient } from "./notifications.js";
import type { MailObserver } from "./outbound.js";
import { mailHandler, mailObserver, productionMailer } from "./production.js";
import { fromAttributeValue, streamEventSchema } from "../store/stream-image.js";
import { renderEmail } from "./templates.js";

/**
 * The good practice sender: the event reactor's step for new good practice notifications
 * (functions/reactor/reactor.ts routes INSERTs of `entity = "good_practice"` here; this handler checks
 * again). Halton (002): "they will send a good practice notification to the first line manager of
 * the practitioner". One email per notification, rendered from the `good_practice` template (the
 * tenant's wording when its configuration has one), with no Reply-To: nothing is answered by email.
 *
 * Who it goes to (the notification names the manager, and may carry their address):
 * - a children's social care practitioner (no partner agency): the first line manager is the
 *   directory's active `team_manager` for the practitioner's team (the one whose name matches the
 *   notification's, when the team has several); failing that, the one active person in the
 *   directory with the manager's name; failing that, the address the notification carries;
 * - a partner agency's practitioner: the address the notification carries (the agency's manager is
 *   not in the authority's directory); failing that, the directory's active `team_manager` for that
 *   partner agency.
 * When none is found the email is not sent: that is logged (ids only) and counted
 * (`GoodPracticeUnaddressed`), and the record is done; retrying cannot find an address.
 *
 * Delivery: through the delivery ledger (mail/deliveries.ts) like every other email. The record
 * (`T#<t>#GP#<id>` / `MAILOUT#first_line_manager`) is claimed before sending, so a redelivered
 * stream record sends nothing twice; a throttle or other transient failure releases the claim and
 * fails the stream record for retry; a permanent refusal marks it failed, is logged and counted
 * (`GoodPracticeUndeliverable`), and is not retried. Logs carry ids and codes only: never a name,
 * an address or the notification's text.
 */

/** The directory role of a practitioner's first line manager (Halton's Principal Manager). */
export const FIRST_LINE_MANAGER_ROLE = "team_manager";
const RECIPIENT_ROLE = "first_line_manager";
const KIND = "good_practice";

/** The notification as store/good-practice-store.ts writes it. */
export const storedGoodPracticeSchema = z.strictObject({
  ...goodPracticeInputSchema.shape,
  id: z.string().check(z.minLength(1), z.maxLength(128)),
  protocolId: z.string().check(z.minLength(1)),
  recordedAt: z.iso.datetime(),
  recordedBy: actorSchema,
  channel: channelSchema,
  recordedAs: z.enum(["case_note", "partner_email"]),
});

export const goodPracticeItemSchema = z.strictObject({
  [TABLE.partitionKey]: z.string().check(z.minLength(1)),
  [TABLE.sortKey]: z.string().check(z.minLength(1)),
  [TABLE.entityAttribute]: z.literal(ENTITY.goodPractice),
  tenantId: z.string().check(z.minLength(1)),
  notification: storedGoodPracticeSchema,
});

export interface GoodPracticeDependencies {
  readonly tenants: MailTenantSource;
  readonly protocols: (protocolId: string) => Protocol | undefined;
  readonly mailer: Pick<Mailer, "deliver">;
  readonly caseRecordBaseUrl: string;
  /** Signs the email when the tenant's configuration names no authority. */
  readonly defaultAuthorityName: string;
  readonly observer: MailObserver;
}

export type RecipientSource = "directory_team" | "directory_name" | "directory_agency" | "record";

export type ManagerAddress =
  | { readonly found: true; readonly to: MailRecipient; readonly source: RecipientSource }
  | { readonly found: false; readonly reason: "no_address" };

const sameName = (a: string, b: string): boolean =>
  a.trim().toLocaleLowerCase("en-GB") === b.trim().toLocaleLowerCase("en-GB");

function fromDirectory(member: StaffMember, source: RecipientSource): ManagerAddress {
  return {
    found: true,
    to: { email: member.email, name: member.displayName, personId: member.personId },
    source,
  };
}

/** The practitioner's first line manager's address (see the module comment for the order). Pure. */
export function firstLineManagerOf(
  notification: Pick<GoodPracticeNotification, "practitioner" | "firstLineManager" | "partnerAgency">,
  staff: readonly StaffMember[],
): ManagerAddress {
  const active = [...staff]
    .filter((m) => m.active)
    .sort((a, b) => (a.personId < b.personId ? -1 : a.personId > b.personId ? 1 : 0));
  const manager = notification.firstLineManager;
  const holders = (matches: (scope: StaffMember["roles"][number]["scope"]) => boolean) =>
    active.filter((m) => m.roles.some((r) => r.role === FIRST_LINE_MANAGER_ROLE && matches(r.scope)));
  const pick = (candidates: readonly StaffMember[]) =>
    candidates.find((m) => sameName(m.displayName, manager.name)) ?? candidates[0];
  const fromRecord: ManagerAddress | undefined =
    manager.email === undefined
      ? undefined
      : { found: true, to: { email: manager.email, name: manager.name }, source: "record" };

  const agency = notification.partnerAgency;
  if (agency !== undefined) {
    if (fromRecord !== undefined) return fromRecord;
    const holder = pick(holders((s) => s.kind === "partner_agency" && s.partnerAgencyId === agency.id));
    return holder === undefined
      ? { found: false, reason: "no_address" }
      : fromDirectory(holder, "directory_agency");
  }

  const teamId = notification.practitioner.team.id;
  if (teamId !== undefined) {
    const holder = pick(holders((s) => s.kind === "team" && s.teamId === teamId));
    if (holder !== undefined) return fromDirectory(holder, "directory_team");
  }
  const named = active.filter((m) => sameName(m.displayName, manager.name));
  const only = named.length === 1 ? named[0] : undefined;
  if (only !== undefined) return fromDirectory(only, "directory_name");
  return fromRecord ?? { found: false, reason: "no_address" };
}

/** The hash of an address, for tags and ledger entries that must not hold it. */
function recipientRef(email: string): string {
  return createHash("sha256").update(email.trim().toLowerCase(), "utf8").digest("hex").slice(0, 16);
}

export interface GoodPracticeSummary {
  sent: number;
  /** Sent (or refused) on an earlier delivery of the record: nothing sent now. */
  already: number;
  rejected: number;
  unaddressed: number;
  /** Records that are not new good practice notifications. */
  skipped: number;
}

/**
 * Sends the email of every new good practice notification in a stream batch, in order. Stops at the
 * first record that fails and reports it (the records after it are redelivered with it).
 */
export async function sendGoodPracticeBatch(
  deps: GoodPracticeDependencies,
  event: unknown,
): Promise<DynamoDBBatchResponse & { summary: GoodPracticeSummary }> {
  const { Records } = streamEventSchema.parse(event);
  const summary: GoodPracticeSummary = { sent: 0, already: 0, rejected: 0, unaddressed: 0, skipped: 0 };
  const tenantCache = new Map<
    string,
    Promise<{ staff: readonly StaffMember[]; config: MailTenantConfig | undefined }>
  >();
  const tenant = (tenantId: string) => {
    let pending = tenantCache.get(tenantId);
    if (pending === undefined) {
      pending = Promise.all([deps.tenants.listStaff(tenantId), deps.tenants.getConfig(tenantId)]).then(
        ([staff, tenantConfig]) => ({ staff, config: tenantConfig }),
      );
      tenantCache.set(tenantId, pending);
      pending.catch(() => tenantCache.delete(tenantId));
    }
    return pending;
  };

  for (const record of Records) {
    const image = record.dynamodb.NewImage;
    if (record.eventName !== "INSERT" || image?.[TABLE.entityAttribute]?.S !== ENTITY.goodPractice) {
      summary.skipped++;
      continue;
    }
    const ids: Record<string, unknown> = { sequenceNumber: record.dynamodb.SequenceNumber };
    try {
      const where = `${image[TABLE.partitionKey]?.S ?? "?"} ${image[TABLE.sortKey]?.S ?? "?"}`;
      const item = parseItem(goodPracticeItemSchema, fromAttributeValue({ M: image }), where);
      const { tenantId, notification } = item;
      Object.assign(ids, { tenantId, goodPracticeId: notification.id });

      const { staff, config: tenantConfig } = await tenant(tenantId);
      const manager = firstLineManagerOf(notification, staff);
      if (!manager.found) {
        summary.unaddressed++;
        deps.observer.count("GoodPracticeUnaddressed");
        deps.observer.warn("a good practice notification has no address to go to; not sent", {
          ...ids,
          reason: manager.reason,
          partnerAgency: notification.partnerAgency !== undefined,
        });
        continue;
      }
      const protocol = deps.protocols(notification.protocolId);
      if (protocol === undefined) {
        throw new MailContextError(`no known protocol ${notification.protocolId}`);
      }
      const templates = templatesFromConfig(tenantConfig);
      const raiserRole = notification.recordedBy.role === "CPC" ? "CPC" : "IRO";
      const rendered = renderEmail(
        {
          kind: KIND,
          ...(manager.to.name === undefined ? {} : { recipientName: manager.to.name }),
          goodPractice: {
            notification,
            authorityName: authorityNameFromConfig(tenantConfig) ?? deps.defaultAuthorityName,
            raiserTitle: protocol.raiserTitles[raiserRole],
          },
        },
        {
          caseRecordBaseUrl: deps.caseRecordBaseUrl,
          ...(templates === undefined ? {} : { templates }),
        },
      );
      const outcome = await deps.mailer.deliver({
        key: goodPracticeMailKey(tenantId, notification.id),
        entry: {
          tenantId,
          goodPracticeId: notification.id,
          kind: KIND,
          recipientRole: RECIPIENT_ROLE,
          ...(manager.to.personId === undefined ? {} : { recipientPersonId: manager.to.personId }),
        },
        to: manager.to,
        rendered,
        autoSubmitted: "auto-generated",
        tags: {
          [MAIL_TAGS.tenant]: tenantId,
          [MAIL_TAGS.role]: RECIPIENT_ROLE,
          [MAIL_TAGS.kind]: KIND,
        },
      });
      const details = {
        ...ids,
        recipientSource: manager.source,
        ...(manager.to.personId === undefined
          ? { recipientRef: recipientRef(manager.to.email) }
          : { recipientPersonId: manager.to.personId }),
      };
      if (outcome.status === "sent") {
        summary.sent++;
        deps.observer.count("GoodPracticeSent");
        deps.observer.info("good practice notification sent", {
          ...details,
          sesMessageId: outcome.sesMessageId,
        });
      } else if (outcome.status === "already" && outcome.previously === "sent") {
        summary.already++;
      } else {
        if (outcome.status === "rejected") summary.rejected++;
        else summary.already++;
        deps.observer.count("GoodPracticeUndeliverable");
        deps.observer.warn("a good practice notification was refused by SES; not retried", {
          ...details,
          code: outcome.code,
        });
      }
    } catch (error) {
      deps.observer.count(
        error instanceof TransientDeliveryError ? "GoodPracticeRetry" : "GoodPracticeFailed",
      );
      deps.observer.warn("good practice record not done; it will be retried", {
        ...ids,
        errorName: error instanceof Error ? error.name : "unknown",
      });
      return { batchItemFailures: [{ itemIdentifier: record.dynamodb.SequenceNumber }], summary };
    }
  }
  return { batchItemFailures: [], summary };
}

/** The production dependencies from the environment (the mailer's clients live for the container). */
export function productionGoodPractice(): GoodPracticeDependencies {
  const { TABLE_NAME } = config();
  const mail = parseMailConfig(process.env);
  return {
    tenants: new TenantStore(documentClient, TABLE_NAME, now),
    protocols: presetProtocol,
    mailer: productionMailer(mail, TABLE_NAME),
    caseRecordBaseUrl: required(mail.CASE_RECORD_BASE_URL, "CASE_RECORD_BASE_URL"),
    defaultAuthorityName: mail.AUTHORITY_NAME ?? DEFAULT_AUTHORITY_NAME,
    observer: mailObserver,
  };
}

/** The stream handler over the given dependencies (built per invocation, like the other sender). */
export function createHandler(deps: () => GoodPracticeDependencies) {
  return mailHandler(async (event: unknown): Promise<DynamoDBBatchResponse> => {
    const d = deps();
    const { batchItemFailures, summary } = await sendGoodPracticeBatch(d, event);
    d.observer.info("good practice batch processed", { ...summary, failed: batchItemFailures.length });
    return { batchItemFailures };
  });
}

export const handler = createHandler(productionGoodPractice);
