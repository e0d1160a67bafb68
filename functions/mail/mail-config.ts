import * as z from "zod/mini";

// Settings: the mail configuration from the environment (shared by the mail functions)

const optional = z.pipe(
  z.optional(z.string()),
  z.transform((v: string | undefined) => (v === undefined || v.trim() === "" ? undefined : v.trim())),
);
const present = z.string().check(z.minLength(1));

export const mailConfigSchema = z.object({
  /** The mail domain: notifications are sent from it, and replies are received at it (the receipt rule's recipient). */
  MAIL_DOMAIN: present,
  /** Where reply addresses point, when not the mail domain itself (e.g. a `reply.` subdomain). */
  MAIL_REPLY_DOMAIN: optional,
  /** The From address of every email, in the mail domain. */
  MAIL_FROM: z.email(),
  /** The From display name. */
  MAIL_FROM_NAME: optional,
  /** The SES configuration set that publishes bounces and complaints (delivery-events.ts). */
  SES_CONFIGURATION_SET: present,
  /** Secrets Manager secret holding the reply-token HMAC keys. */
  REPLY_TOKEN_SECRET_ARN: present,
  /** The case-record system's address for a record; needed to render notifications. */
  CASE_RECORD_BASE_URL: optional,
  /** The API's base URL: stage notifications carry an acknowledgement link under it (ack-link.ts). Unset: no link. */
  ACK_LINK_BASE_URL: optional,
  /** Where SES stores raw inbound mail, and under which prefix (receive-email.ts). */
  MAIL_BUCKET: optional,
  MAIL_PREFIX: optional,
  /** The tenants reply tokens may belong to, comma-separated. Default: AUTHORITY. */
  MAIL_TENANT_IDS: optional,
  AUTHORITY: optional,
  /** Signs emails when the tenant configuration has no name of its own. */
  AUTHORITY_NAME: optional,
});
export type MailConfig = z.infer<typeof mailConfigSchema>;

export class MailConfigurationError extends Error {
  override readonly name = "MailConfigurationError";
}

export function parseMailConfig(env: Record<string, string | undefined>): MailConfig {
  const result = mailConfigSchema.safeParse(env);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const name = issue.path.join(".");
      return env[name] === undefined ? `${name} is not set` : `${name} is invalid (${issue.message})`;
    });
    throw new MailConfigurationError(`Mail configuration error: ${problems.join("; ")}.`);
  }
  return result.data;
}

/** A setting only some of the mail functions need, with a clear error where it is missing. */
export function required(value: string | undefined, name: string): string {
  if (value === undefined) throw new MailConfigurationError(`Mail configuration error: ${name} is not set.`);
  return value;
}

/** The tenant ids reply tokens are checked against. */
export function tenantIdsOf(mail: Pick<MailConfig, "MAIL_TENANT_IDS" | "AUTHORITY">): string[] {
  const ids = (mail.MAIL_TENANT_IDS ?? mail.AUTHORITY ?? "")
    .split(",")
    .map((id) => id.trim())
    .filter((id) => id !== "");
  if (ids.length === 0) {
    throw new MailConfigurationError("Mail configuration error: set MAIL_TENANT_IDS (or AUTHORITY).");
  }
  return ids;
}

export const DEFAULT_AUTHORITY_NAME = "Children's Services";
