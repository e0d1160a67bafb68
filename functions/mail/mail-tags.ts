/**
 * SES message tags: how a bounce or a complaint finds its way back to the challenge. Apart from the
 * mailer, so reading a tag needs nothing of the sending side.
 */

export const MAIL_TAGS = {
  tenant: "crs-tenant",
  challenge: "crs-challenge",
  seq: "crs-seq",
  role: "crs-role",
  kind: "crs-kind",
} as const;

/**
 * SES tag values allow only letters, digits, `_` and `-`. Tenant ids may hold `.`: such values are
 * sent as `_` + hex (tenant ids never start with `_`, so the two forms cannot be confused).
 */
export function encodeTagValue(value: string): string {
  return /^[A-Za-z0-9-][A-Za-z0-9_-]{0,254}$/.test(value)
    ? value
    : `_${Buffer.from(value, "utf8").toString("hex")}`;
}

export function decodeTagValue(value: string): string {
  return value.startsWith("_") && /^_(?:[0-9a-f]{2})+$/.test(value)
    ? Buffer.from(value.slice(1), "hex").toString("utf8")
    : value;
}
