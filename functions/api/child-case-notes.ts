import * as z from "zod";
import { UnknownProtocolError } from "../app/execute-command.js";
import { loadChildCaseNotes } from "../audit/readers.js";
import { pathIdSchema } from "./http/command-route.js";
import { createHandler, defineRoute } from "./http/middleware.js";

/**
 * GET /v1/children/{caseRecordId}/case-notes?since=<ISO instant>: the case-record system's pull.
 * One case note per event of every challenge about the child, at or after `since` (default: all),
 * oldest first, each titled in its protocol's words (functions/audit/case-notes.ts: never the
 * child's name or date of birth, never emails or staff ids). Staff who acted are named from the
 * directory as it stands now ("Jo Bloggs, Head of Safeguarding"), as a case note on the child's
 * file would name them; the events themselves keep ids only.
 *
 * `since` is inclusive and a note is identified by `challengeId` + `seq`: pass the `at` of the last
 * note filed and de-duplicate on the id, and no note written in that same instant is lost. Another
 * tenant's child, like an unknown one, simply has no notes.
 */

export const caseNoteSchema = z
  .strictObject({
    caseRecordId: z.string(),
    challengeId: z.string(),
    seq: z.number().int().min(1),
    at: z.string(),
    eventType: z.string(),
    stageId: z.string().nullable(),
    title: z.string().describe("The protocol's case note title for the stage"),
    sections: z
      .array(z.strictObject({ heading: z.string(), text: z.string() }))
      .optional()
      .describe("The protocol's headings with their text, where the stage lists them"),
    body: z.string().describe("The whole note as plain text"),
  })
  .meta({ id: "CaseNote", description: "One event of a challenge as a note for the child's file" });

export const caseNotesPageSchema = z
  .strictObject({
    caseRecordId: z.string(),
    since: z.string().nullable(),
    readAt: z.string().describe("When the notes were read"),
    notes: z.array(caseNoteSchema),
  })
  .meta({ id: "CaseNotes" });

export const spec = defineRoute({
  routeId: "child-case-notes",
  path: z.strictObject({ caseRecordId: pathIdSchema }),
  query: z.object({
    since: z.iso
      .datetime({ offset: true })
      .max(40)
      .optional()
      .describe("ISO instant: notes of events at or after it (inclusive); default all"),
  }),
  response: {
    status: 200,
    description: "The child's case notes, oldest first",
    schema: caseNotesPageSchema,
  },
  handle: async ({ path, query, principal }, deps) => {
    const readAt = deps.clock();
    const staff = await deps.tenants.listStaff(principal.tenantId);
    const names = new Map(staff.map((m) => [m.personId, m.displayName]));
    const notes = await loadChildCaseNotes(
      deps.challenges,
      deps.protocols,
      (id) => new UnknownProtocolError(id),
      principal.tenantId,
      path.caseRecordId,
      query.since,
      (personId) => names.get(personId),
    );
    return {
      status: 200,
      body: {
        caseRecordId: path.caseRecordId,
        since: query.since ?? null,
        readAt: readAt.toISOString(),
        notes,
      },
    };
  },
});

export const handler = createHandler(spec);
