import * as z from "zod/mini";
import { storedTemplateOverridesSchema } from "../domain/email-templates.js";
import { MAIL_TEMPLATES_ABOUT, tenantConfigSchema } from "./tenant-store.js";

/**
 * A tenant's configuration as it comes in (PUT /v1/config, the authority CLI): the stored form
 * (tenantConfigSchema), its email wording also checked against the rules every wording keeps
 * (functions/domain/email-templates.ts: the kind's placeholders only, the reference in each subject,
 * the sections each body must hold), so a bad wording is refused with a path to it and never stored.
 * Only the writers import this, so only their bundles carry the rules.
 */
export const tenantConfigInputSchema = z.extend(tenantConfigSchema, {
  mailTemplates: z.optional(storedTemplateOverridesSchema).check(z.meta(MAIL_TEMPLATES_ABOUT)),
});
