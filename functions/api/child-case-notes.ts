import * as z from "zod/mini";
import { UnknownProtocolError } from "../app/execute-command.js";
import { loadChildCaseNotes } from "../case-notes/child-case-notes.js";
import { caseRecordIdParam } from "./http/path-params.js";
import { createHandler, defineRoute } from "./http/middleware.js";
import { about } from "../domain/about.js";
import { childCaseNotesRoute } from "./routes.js";

/**
 * GET /v1/children/{caseRecordId}/case-notes?since=<ISO instant>: the case-record system's pull.
 * One case note per event of every challenge about the child, at or after `since` (default: all),
 * oldest first, each titled in its protocol's words (functions/case-notes/case-notes.ts: never the
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
    caseRecordId: z.string().check(z.meta(about("The child's id in the case-record system", "MOS-4821"))),
    challengeId: z
      .string()
      .check(z.meta(about("The challenge's id (with `seq`, the note's id)", "01JV4K8Z3M6N2P9Q5R7S1T3W4X"))),
    seq: z
      .number()
      .check(
        z.int(),
        z.gte(1),
        z.meta(about("The event's number in the challenge (with `challengeId`, the note's id)", 1)),
      ),
    at: z.string().check(z.meta(about("When the event happened", "2026-05-14T09:30:00.000Z"))),
    eventType: z.string().check(z.meta(about("The event's type", "ChallengeRaised"))),
    stageId: z.nullable(z.string()).check(z.meta(about("The stage it concerns; null when none", "stage_1"))),
    title: z
      .string()
      .check(
        z.meta(
          about(
            "The protocol's case note title for the stage",
            "LAC dispute resolution: Stage 1 (informal) case note",
          ),
        ),
      ),
    sections: z
      .optional(
        z.array(
          z.strictObject({
            heading: z.string().check(z.meta(about("The protocol's heading", "What needs to happen?"))),
            text: z
              .string()
              .check(z.meta(about("The text under it", "The placement plan written and shared."))),
          }),
        ),
      )
      .check(z.describe("The protocol's headings with their text, where the stage lists them")),
    body: z
      .string()
      .check(
        z.meta(
          about(
            "The whole note as plain text",
            "Challenge raised by the IRM at Stage 1, due by 21 May 2026.",
          ),
        ),
      ),
  })
  .check(z.meta({ id: "CaseNote", description: "One event of a challenge as a note for the child's file" }));

export const caseNotesPageSchema = z
  .strictObject({
    caseRecordId: z.string().check(z.meta(about("The child's id, as asked for", "MOS-4821"))),
    since: z
      .nullable(z.string())
      .check(z.meta(about("The `since` asked for; null for all", "2026-05-14T09:30:00.000Z"))),
    readAt: z.string().check(z.meta(about("When the notes were read", "2026-05-15T08:00:00.000Z"))),
    notes: z.array(caseNoteSchema).check(z.meta({ description: "The notes, oldest first" })),
  })
  .check(z.meta({ id: "CaseNotes" }));

export const spec = defineRoute({
  route: childCaseNotesRoute,
  path: z.strictObject({ caseRecordId: caseRecordIdParam }),
  query: z.object({
    since: z
      .optional(z.iso.datetime({ offset: true }).check(z.maxLength(40)))
      .check(
        z.meta(
          about(
            "ISO instant: notes of events at or after it (inclusive); default all",
            "2026-05-14T09:30:00.000Z",
          ),
        ),
      ),
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
