import { describe, expect, it } from "vitest";
import { templatesFromConfig } from "../../../functions/mail/mail-context.js";
import { tenantConfigSchema } from "../../../functions/store/tenant-store.js";

/** An authority's own email wording lives in its stored configuration, checked before it is stored. */
const base = { protocolId: "nottingham", closureDays: [], reminders: {} };

describe("tenant configuration: the authority's email wording", () => {
  it("stores an authority name and a reworded subject, which the mail side then uses", () => {
    const config = tenantConfigSchema.parse({
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
    const result = tenantConfigSchema.safeParse({
      ...base,
      mailTemplates: { stage_opened: { subject: "About {{childName}} ({{reference}})" } },
    });
    expect(result.success).toBe(false);
    const paths = result.error?.issues.map((issue) => issue.path.join(".")) ?? [];
    expect(paths.some((path) => path.startsWith("mailTemplates.stage_opened"))).toBe(true);
  });

  it("refuses a subject without the challenge reference", () => {
    const result = tenantConfigSchema.safeParse({
      ...base,
      mailTemplates: { reminder: { subject: "A reminder" } },
    });
    expect(result.success).toBe(false);
  });
});
