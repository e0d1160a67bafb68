import * as z from "zod/mini";
import { staffMemberSchema, tenantConfigSchema } from "../../store/tenant-store.js";
import { absenceSchema } from "../../domain/absence.js";
import { about } from "../../domain/about.js";

/** What the configuration and directory routes return. */

export const tenantSettingsViewSchema = z
  .object({
    config: tenantConfigSchema.check(z.meta({ description: "The tenant's configuration, as stored" })),
    protocol: z
      .nullable(
        z.object({
          id: z.string().check(z.meta(about("The protocol's id", "halton"))),
          name: z.string().check(z.meta(about("Its name", "Halton: IRM Dispute Resolution process"))),
        }),
      )
      .check(z.meta({ description: "The protocol the configuration names; null if it is unknown" })),
  })
  .check(
    z.meta({ id: "TenantSettings", description: "The tenant's configuration and the protocol it names" }),
  );

export const staffMemberViewSchema = z
  .object({ member: staffMemberSchema.check(z.meta({ description: "The member of staff, as stored" })) })
  .check(z.meta({ id: "StaffMemberResult" }));

export const directoryViewSchema = z
  .object({
    staff: z
      .array(
        z.extend(staffMemberSchema, {
          absences: z.optional(z.array(absenceSchema)).check(
            z.meta({
              description: "The person's absences, most recent last (record-absence, out-of-office replies)",
            }),
          ),
        }),
      )
      .check(z.meta({ description: "Every member of staff" })),
  })
  .check(z.meta({ id: "Directory", description: "The staff directory" }));
