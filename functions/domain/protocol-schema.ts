import * as z from "zod/mini";
import {
  citationSchema,
  deadlineActionSchema,
  raiserRoleSchema,
  recipientSchema,
  slug,
  trackSchema,
  windowSchema,
} from "./protocol-parts.js";

/**
 * The schema of a whole protocol, which checks what TypeScript's types cannot: one track per key,
 * unique stage and theme ids, only a first stage informal, reopening at a stage of the same ladder.
 * Tests and tools that take a protocol build it (every preset is parsed by
 * test/unit/domain/presets/citations.test.ts); the Lambdas run the presets as written and never
 * build it. The small schemas it shares with requests and stored items are in protocol-parts.ts.
 */

export const stageSchema = z.object({
  id: slug,
  /** Short label, e.g. "Stage 2", "Level 3". */
  label: z.string().check(z.minLength(1)),
  /** The protocol's name for the stage or its form, e.g. "CP- resolution process stage 1". */
  title: z.string().check(z.minLength(1)),
  /** Informal stages are recorded on the child's file but precede the formal process. */
  informal: z.boolean(),
  recipient: recipientSchema,
  /**
   * Co-equal recipients alongside `recipient` (003 stage 3: "The Heads of Service (from A & I and
   * CPRU)"): each is sent the stage and each may acknowledge, respond and record its meeting.
   */
  coRecipients: z.optional(z.array(recipientSchema)),
  /** When the challenge is with a partner agency rather than children's social care (Halton CP). */
  partnerRecipient: z.optional(recipientSchema),
  copyTo: z.array(recipientSchema),
  /** The stage's window in working days (reports add these up); see `window` for other units. */
  responseWindowWorkingDays: z.number().check(z.int(), z.gte(1), z.lte(60)),
  /**
   * The window as the seed states it, when that is not in working days (000's two-week steps), or
   * when the seed gives two windows for the stage: the shorter is taken (it protects the child) and
   * both sentences are cited (`citation` for the one taken, `alsoCitation` for the other). Absent:
   * `responseWindowWorkingDays` working days. The deadline is a resolution deadline: "resolved by".
   */
  window: z.optional(
    z.extend(windowSchema, { citation: citationSchema, alsoCitation: z.optional(citationSchema) }),
  ),
  meeting: z.boolean(),
  /** What happens when the deadline passes with no response. */
  onNoResponse: deadlineActionSchema,
  /**
   * What happens when the deadline passes with a response but no resolution (a holding reply must
   * not stop the ladder). Absent: `ask_raiser`, the reading that never lets a challenge stall.
   */
  onNoResolution: z.optional(z.object({ action: deadlineActionSchema, citation: citationSchema })),
  /** How long the raiser has to decide when asked (`ask_raiser`). Absent: 1 working day. */
  raiserDecisionWindow: z.optional(windowSchema),
  /** Title of the case note written to the child's record for this stage. */
  caseNoteTitle: z.string().check(z.minLength(1)),
  /**
   * Headings the case note must contain, where the protocol lists them (000: "LCS Case Notes to
   * Include: query, action, outcome"). Optional: most protocols name the note but not its contents.
   */
  caseNoteIncludes: z.optional(z.array(z.string().check(z.minLength(1))).check(z.minLength(1))),
  /**
   * Where a failed action plan agreed at this stage reopens the challenge. Default: this stage
   * (the stage last exited). Rotherham's stage 4 reverts to stage 3.
   */
  reopenAtStageId: z.optional(slug),
  citation: citationSchema,
});
export type Stage = z.infer<typeof stageSchema>;

/**
 * When a raiser may skip stages (raise above the first stage, or jump up more than one).
 * - `any`: at the raiser's discretion (IRO Handbook 6.2);
 * - `never`: every stage must be followed (Halton CP);
 * - `safeguarding_concern`: only when the raiser states a safeguarding concern (Nottingham CPCs);
 * - `immediate_risk`: only when the child is at immediate risk of significant harm.
 */
export const bypassRuleSchema = z.object({
  allowed: z.enum(["any", "never", "safeguarding_concern", "immediate_risk"]),
  citation: citationSchema,
});
export type BypassRule = z.infer<typeof bypassRuleSchema>;

/**
 * A decision owed after the ladder by a named role, within a window: 000's AD deciding whether to
 * uphold a difference the raiser noted, 003's Safeguarding Children Partnership Manager determining
 * a course of action once the partnership referral is made. When it falls due the holder of the role
 * is looked up in the directory (refused if nobody holds it) and emailed; only they, or their named
 * cover, can record it, and it shows in their work tray and the overdue view until they do.
 */
export const postLadderDecisionSchema = z.object({
  decidedBy: recipientSchema,
  /** From when the decision falls due; a "resolved by" deadline like a stage's. */
  window: windowSchema,
  citation: citationSchema,
});
export type PostLadderDecision = z.infer<typeof postLadderDecisionSchema>;

export const referralPolicySchema = z.object({
  /** `any_point`: from raising onwards; `after_final_stage`: only once the last stage has been exited unresolved. */
  when: z.enum(["any_point", "after_final_stage"]),
  /** Which raiser roles may refer (Cafcass referral is an IRO power). */
  raiserRoles: z.array(raiserRoleSchema).check(z.minLength(1)),
  /** Roles whose approval is required before the referral is made, in any order. Empty: none. */
  approvalBy: z.array(recipientSchema),
  /** Statements the raiser must confirm when referring, e.g. "independent legal advice sought". */
  attestations: z.array(z.object({ id: slug, text: z.string().check(z.minLength(1)) })),
  /**
   * Whether the escalation carries on once the referral is made (true), or the referral replaces
   * it (false: nobody moves the challenge up the ladder any more). Where the seed is silent, true:
   * an unanswered stage must still escalate.
   */
  concurrentWithEscalation: z.boolean(),
  /** The seed's words for `concurrentWithEscalation`, where it says what the referral does to the ladder. */
  concurrency: z.optional(z.object({ citation: citationSchema })),
  /** Who receives the referral. */
  recipient: recipientSchema,
  /** Documents that must accompany the referral (Rotherham's referral pack). */
  documents: z.array(z.string().check(z.minLength(1))),
  /** A decision owed once the referral is made (003: the Partnership Manager's course of action). */
  decision: z.optional(postLadderDecisionSchema),
  citation: citationSchema,
});
export type ReferralPolicy = z.infer<typeof referralPolicySchema>;

export const trackProtocolSchema = z
  .object({
    track: trackSchema,
    stages: z.array(stageSchema).check(z.minLength(1)),
    /** Whole-process target from the first formal stage, where the protocol states one. */
    totalTargetWorkingDays: z.optional(z.number().check(z.int(), z.gte(1))),
    bypass: z.object({ IRO: bypassRuleSchema, CPC: bypassRuleSchema }),
    /**
     * Where the protocol lets a raiser go straight to the first formal stage, skipping the informal
     * stage without it counting as a bypass (Halton: "Stage 2 alert may be initiated immediately").
     * Absent: starting above the first stage is a bypass like any other.
     */
    informalStageOptional: z.optional(z.object({ citation: citationSchema })),
    cafcass: z.optional(referralPolicySchema),
    partnership: z.optional(referralPolicySchema),
    /**
     * Where the raiser may "maintain their position" after the last stage: the difference is noted
     * and a named role decides whether to uphold it, within a window (000).
     */
    difference: z.optional(postLadderDecisionSchema),
    /** What a raiser of a given role is told to do when the ladder is exhausted (e.g. Nottingham CPCs). */
    endOfLadderGuidance: z.partialRecord(raiserRoleSchema, z.string().check(z.minLength(1))),
  })
  .check(
    z.superRefine((track, ctx) => {
      const ids = new Set<string>();
      track.stages.forEach((stage, index) => {
        if (ids.has(stage.id)) {
          ctx.addIssue({
            code: "custom",
            path: ["stages", index, "id"],
            message: `duplicate stage id ${stage.id}`,
          });
        }
        ids.add(stage.id);
        if (stage.informal && index !== 0) {
          ctx.addIssue({
            code: "custom",
            path: ["stages", index, "informal"],
            message: "only the first stage of a ladder can be informal",
          });
        }
      });
      if (track.informalStageOptional !== undefined && track.stages[0]?.informal !== true) {
        ctx.addIssue({
          code: "custom",
          path: ["informalStageOptional"],
          message: "informalStageOptional needs an informal first stage",
        });
      }
      track.stages.forEach((stage, index) => {
        if (stage.reopenAtStageId !== undefined && !ids.has(stage.reopenAtStageId)) {
          ctx.addIssue({
            code: "custom",
            path: ["stages", index, "reopenAtStageId"],
            message: `no stage ${stage.reopenAtStageId} on this ladder`,
          });
        }
      });
    }),
  );
export type TrackProtocol = z.infer<typeof trackProtocolSchema>;

export const themeSchema = z.object({ id: slug, label: z.string().check(z.minLength(1)) });
export type Theme = z.infer<typeof themeSchema>;

export const protocolSchema = z
  .object({
    id: slug,
    name: z.string().check(z.minLength(1)),
    /** Where the text came from: the seed file under docs/seeds. */
    source: z.object({ file: z.string().check(z.minLength(1)), title: z.string().check(z.minLength(1)) }),
    /** What the authority calls its raisers, e.g. Halton's "IRM". */
    raiserTitles: z.object({ IRO: z.string().check(z.minLength(1)), CPC: z.string().check(z.minLength(1)) }),
    tracks: z.partialRecord(trackSchema, trackProtocolSchema),
    themes: z.array(themeSchema).check(z.minLength(1)),
    /** Working days before a deadline at which the recipient is reminded; 0 for no reminder. */
    reminderWorkingDaysBeforeDeadline: z.number().check(z.int(), z.gte(0), z.lte(10)),
    goodPracticeNotifications: z.boolean(),
  })
  .check(
    z.superRefine((protocol, ctx) => {
      for (const key of trackSchema.options) {
        const track = protocol.tracks[key];
        if (track !== undefined && track.track !== key) {
          ctx.addIssue({
            code: "custom",
            path: ["tracks", key, "track"],
            message: `track ${track.track} filed under ${key}`,
          });
        }
      }
      if (protocol.tracks.CP === undefined && protocol.tracks.LAC === undefined) {
        ctx.addIssue({ code: "custom", path: ["tracks"], message: "a protocol needs at least one track" });
      }
      const themeIds = protocol.themes.map((t) => t.id);
      if (new Set(themeIds).size !== themeIds.length) {
        ctx.addIssue({ code: "custom", path: ["themes"], message: "theme ids must be unique" });
      }
    }),
  );
export type Protocol = z.infer<typeof protocolSchema>;

/** Checks protocol data (a preset under test, a protocol drafted for a new authority) into a Protocol. */
export function parseProtocol(input: unknown): Protocol {
  return protocolSchema.parse(input);
}
