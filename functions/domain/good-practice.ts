import * as z from "zod/mini";
import type { Actor, Channel } from "./challenge/actor.js";
import { caseRecordSystemSchema } from "./challenge/commands.js";
import { DomainError } from "./challenge/errors.js";
import type { Protocol } from "./protocol.js";
import { trackSchema } from "./protocol.js";
import { about } from "./about.js";

/**
 * Good practice notifications (Halton, 002): "When the IRM identifies good practice, either in the
 * overall progress of a child's plan or a piece of work within this they will send a good practice
 * notification to the first line manager of the practitioner." They are their own small record,
 * not part of a challenge; their themes feed the quarterly themes report.
 */

const text = (max: number) => z.string().check(z.trim(), z.minLength(1), z.maxLength(max));

export const goodPracticeInputSchema = z.strictObject({
  child: z
    .strictObject({
      caseRecordId: text(64).check(z.meta(about("The child's id in the case-record system", "MOS-4821"))),
      caseRecordSystem: z
        .optional(caseRecordSystemSchema)
        .check(z.meta(about("The case-record system that id belongs to", "Mosaic"))),
    })
    .check(z.meta({ description: "The child whose plan the good practice helped (no name)" })),
  track: trackSchema.check(z.meta(about("CP (child protection) or LAC (looked-after child)", "LAC"))),
  practitioner: z
    .strictObject({
      name: text(200).check(z.meta(about("The practitioner's name", "Kit Inventedson"))),
      team: z
        .strictObject({
          id: z.optional(text(128)).check(z.meta(about("The team's id in the directory", "team-east"))),
          name: text(200).check(z.meta(about("The team's name", "East Children in Care Team"))),
        })
        .check(z.meta({ description: "Their team" })),
    })
    .check(z.meta({ description: "Whose good practice it was" })),
  /** The practitioner's first line manager: the notification goes to them. */
  firstLineManager: z
    .strictObject({
      name: text(200).check(z.meta(about("The manager's name", "Lena Fictive"))),
      email: z
        .optional(z.email().check(z.maxLength(254)))
        .check(z.meta(about("Their email", "lena.fictive@example.org"))),
    })
    .check(z.meta({ description: "The practitioner's first line manager: the notification goes to them" })),
  /** Set when the practitioner works for a partner agency rather than children's social care. */
  partnerAgency: z
    .optional(
      z.strictObject({
        id: text(128).check(z.meta(about("The agency's id", "health-trust"))),
        name: text(200).check(z.meta(about("The agency's name", "Riverside Health Trust"))),
      }),
    )
    .check(
      z.meta({
        description: "Set when the practitioner works for a partner agency, not children's social care",
      }),
    ),
  /** "either in the overall progress of a child's plan or a piece of work within this" */
  about: z
    .optional(z.enum(["overall_progress", "piece_of_work"]))
    .check(
      z.meta(
        about("The overall progress of the child's plan, or a piece of work within it", "piece_of_work"),
      ),
    ),
  whatWasGood: text(10_000).check(
    z.meta(
      about("What was good, and its difference for the child", "Direct work helped Mia say what she wanted."),
    ),
  ),
  /** Theme ids from the protocol, for the quarterly report. */
  themes: z
    .optional(z.array(text(128)).check(z.maxLength(20)))
    .check(z.meta(about("Theme ids from the protocol, for the quarterly report", ["review_preparation"]))),
});
export type GoodPracticeInput = z.infer<typeof goodPracticeInputSchema>;

export interface GoodPracticeNotification extends GoodPracticeInput {
  readonly id: string;
  readonly protocolId: string;
  readonly recordedAt: string;
  readonly recordedBy: Actor;
  readonly channel: Channel;
  /**
   * How the notification is kept: on the child's file for children's social care practitioners,
   * by email (with a summary kept on the partnership's record) for partner agencies.
   */
  readonly recordedAs: "case_note" | "partner_email";
}

export interface GoodPracticeContext {
  readonly protocol: Protocol;
  readonly actor: Actor;
  readonly channel: Channel;
  readonly now: Date;
  readonly newId: () => string;
}

/** Validates and records a good practice notification; a DomainError says why one is refused. */
export function recordGoodPractice(
  input: unknown,
  ctx: GoodPracticeContext,
): GoodPracticeNotification | DomainError {
  const { protocol, actor } = ctx;
  if (actor.role !== "IRO" && actor.role !== "CPC") {
    return new DomainError(
      "NOT_PERMITTED",
      `good practice notifications are sent by the ${protocol.raiserTitles.IRO} or ${protocol.raiserTitles.CPC}, not by someone signed in as ${actor.role}`,
    );
  }
  if (!protocol.goodPracticeNotifications) {
    return new DomainError(
      "NOT_PERMITTED",
      `this protocol (${protocol.name}) has no good practice notifications`,
    );
  }
  const parsed = goodPracticeInputSchema.safeParse(input);
  if (!parsed.success) {
    return new DomainError(
      "INVALID_COMMAND",
      `the good practice notification is incomplete or malformed:\n${z.prettifyError(parsed.error)}`,
    );
  }
  const notification = parsed.data;
  if (protocol.tracks[notification.track] === undefined) {
    return new DomainError(
      "UNKNOWN_TRACK",
      `this protocol (${protocol.name}) has no ${notification.track} process: it covers ${Object.keys(protocol.tracks).join(" and ")} only`,
    );
  }
  const themeIds = new Set(protocol.themes.map((t) => t.id));
  const unknown = (notification.themes ?? []).filter((t) => !themeIds.has(t));
  if (unknown.length > 0) {
    return new DomainError(
      "UNKNOWN_THEME",
      `${unknown.map((t) => `"${t}"`).join(", ")} ${unknown.length === 1 ? "is not one of" : "are not among"} this protocol's themes (${protocol.themes.map((t) => t.label).join("; ")})`,
    );
  }
  return {
    ...notification,
    id: ctx.newId(),
    protocolId: protocol.id,
    recordedAt: ctx.now.toISOString(),
    recordedBy: actor,
    channel: ctx.channel,
    recordedAs: notification.partnerAgency === undefined ? "case_note" : "partner_email",
  };
}
