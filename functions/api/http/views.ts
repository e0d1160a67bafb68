import * as z from "zod/mini";
import type { ChallengeEvent } from "../../domain/challenge/events.js";
import type { ChallengeState } from "../../domain/challenge/state.js";
import { describeLines } from "../../domain/challenge/describe.js";
import type { Protocol } from "../../domain/protocol.js";
import { challengeStateSchema } from "../../store/items.js";
import { actorRoleSchema, channelSchema } from "../../domain/challenge/actor.js";
import { about } from "../../domain/about.js";

/**
 * What the API returns about a challenge (the command routes and GET /v1/challenges/{challengeId}),
 * and the zod schemas the OpenAPI document shows for it. Trays are in tray-views.ts and the tenant's
 * settings and directory in tenant-views.ts, so a command route bundles none of their schemas.
 *
 * Timeline summaries are one plain-English line per event, written for a social worker: the same
 * line the audit timeline prints (one describer), naming stages and roles, never people or the
 * child: the full details are in the challenge itself.
 */

export const challengeSchema = challengeStateSchema.check(
  z.meta({
    id: "Challenge",
    description: "A challenge's current state (its snapshot)",
  }),
);

export const timelineEntrySchema = z
  .object({
    seq: z
      .number()
      .check(z.int(), z.gte(1), z.meta(about("The event's number in the challenge's history, from 1", 2))),
    type: z.string().check(z.meta(about("The event's type", "StageOpened"))),
    at: z.iso.datetime({ offset: true }).check(z.meta(about("When it happened", "2026-05-14T09:30:00.000Z"))),
    actorRole: actorRoleSchema.check(
      z.meta(about("The role of who did it (system: the workflow's timer)", "IRO")),
    ),
    channel: channelSchema.check(z.meta(about("How it came: api, email or timer", "api"))),
    summary: z
      .string()
      .check(
        z.meta(
          about(
            "What happened, in plain words (no names)",
            "Stage 1 opened for the Principal Manager; response due by 5pm on Thursday 21 May 2026",
          ),
        ),
      ),
  })
  .check(z.meta({ id: "TimelineEntry", description: "One event of a challenge, in order, in plain words" }));
export type TimelineEntry = z.infer<typeof timelineEntrySchema>;

export const challengeWithTimelineSchema = z
  .object({
    challenge: challengeSchema,
    timeline: z
      .array(timelineEntrySchema)
      .check(z.meta({ description: "Every event of the challenge, oldest first" })),
  })
  .check(z.meta({ id: "ChallengeWithTimeline" }));

export const commandResultSchema = z
  .object({
    challenge: challengeSchema,
    /** The events this request recorded (none when it changed nothing). */
    events: z
      .array(timelineEntrySchema)
      .check(z.meta({ description: "The events this request recorded (none when it changed nothing)" })),
  })
  .check(
    z.meta({
      id: "CommandResult",
      description: "The challenge after the command, and the events it recorded",
    }),
  );

/**
 * The API's timeline entries for events of one challenge, in the describer's one-line wording
 * (functions/domain/challenge/describe.ts) without names: `state` gives the raiser and track when
 * the events are a command's own, not the whole history.
 */
export function timelineEntries(
  events: readonly ChallengeEvent[],
  protocol: Protocol | undefined,
  state?: ChallengeState,
): TimelineEntry[] {
  const described = describeLines(events, {
    protocol,
    ...(state === undefined || state.status === "none"
      ? {}
      : { challenge: { track: state.track, raiser: state.raiser, raiserRole: state.form.raiserRole } }),
  });
  return described.map(({ event, line }) => ({
    seq: event.seq,
    type: event.type,
    at: event.at,
    actorRole: event.actor.role,
    channel: event.channel,
    summary: line,
  }));
}
