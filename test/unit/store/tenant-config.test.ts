import { describe, expect, it } from "vitest";
import * as z from "zod/mini";
import { templatesFromConfig } from "../../../functions/mail/mail-context.js";
import { tenantConfigInputSchema } from "../../../functions/store/tenant-config-input.js";
import { DNS_NAME_PATTERN, tenantConfigSchema } from "../../../functions/store/tenant-store.js";

/**
 * An authority's own email wording lives in its stored configuration, checked before it is stored
 * (tenantConfigInputSchema); reads parse the stored form, the same shape without the wording's rules.
 */
const base = { protocolId: "nottingham", closureDays: [], reminders: {} };

describe("tenant configuration: the authority's email wording", () => {
  it("stores an authority name and a reworded subject, which the mail side then uses", () => {
    const config = tenantConfigInputSchema.parse({
      ...base,
      authorityName: "Demo Borough Council",
      mailTemplates: {
        stage_opened: { subject: "Practice resolution {{reference}}: please respond by {{deadlineShort}}" },
      },
    });
    expect(config.authorityName).toBe("Demo Borough Council");
    const templates = templatesFromConfig(config);
    expect(templates?.stage_opened.subject).toBe(
      "Practice resolution {{reference}}: please respond by {{deadlineShort}}",
    );
    // Kinds the authority did not reword keep the defaults.
    expect(templates?.reminder.subject).toContain("{{reference}}");
  });

  it("refuses a placeholder the kind does not offer (the child's name has none), naming where", () => {
    const result = tenantConfigInputSchema.safeParse({
      ...base,
      mailTemplates: { stage_opened: { subject: "About {{childName}} ({{reference}})" } },
    });
    expect(result.success).toBe(false);
    const paths = result.error?.issues.map((issue) => issue.path.join(".")) ?? [];
    expect(paths.some((path) => path.startsWith("mailTemplates.stage_opened"))).toBe(true);
  });

  it("refuses a subject without the challenge reference", () => {
    const result = tenantConfigInputSchema.safeParse({
      ...base,
      mailTemplates: { reminder: { subject: "A reminder" } },
    });
    expect(result.success).toBe(false);
  });

  it("reads back what was written as it was written, with the same fields described", () => {
    const written = tenantConfigInputSchema.parse({
      ...base,
      closeOfBusiness: "16:30",
      mailTemplates: { reminder: { subject: "Reminder {{reference}}: due {{deadlineShort}}" } },
    });
    expect(tenantConfigSchema.parse(written)).toEqual(written);
    expect(Object.keys(tenantConfigInputSchema.shape)).toEqual(Object.keys(tenantConfigSchema.shape));
  });

  it("leaves the wording's rules to the write: the stored form checks the shape only", () => {
    // Safe because nothing reaches the store unchecked (PUT /v1/config and the CLI parse the input
    // form) and the mail checks the whole template set again before it uses a wording.
    const unchecked = { ...base, mailTemplates: { reminder: { subject: "A reminder" } } };
    expect(tenantConfigSchema.safeParse(unchecked).success).toBe(true);
    expect(tenantConfigInputSchema.safeParse(unchecked).success).toBe(false);
    expect(
      tenantConfigSchema.safeParse({ ...base, mailTemplates: { reminder: { subject: 7 } } }).success,
    ).toBe(false);
  });
});

describe("tenant configuration: the case-note webhook", () => {
  const withWebhook = (url: string) =>
    tenantConfigSchema.safeParse({ ...base, caseNoteWebhook: { url } }).success;

  it("takes HTTPS to a DNS name only", () => {
    expect(withWebhook("https://case-records.riverside.example/hooks/case-notes")).toBe(true);
    expect(withWebhook("http://case-records.riverside.example/hooks")).toBe(false);
    expect(withWebhook("https://localhost/hooks")).toBe(false);
    expect(withWebhook("https://10.0.0.7/hooks")).toBe(false);
    expect(withWebhook("https://user:secret@case-records.riverside.example/hooks")).toBe(false);
  });

  it("checks the name with zod's own DNS name pattern", () => {
    expect(DNS_NAME_PATTERN.source).toBe(z.regexes.domain.source);
    expect(DNS_NAME_PATTERN.flags).toBe(z.regexes.domain.flags);
  });
});
