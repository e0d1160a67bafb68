import type { WorkingDayCalendar } from "../calendar.js";
import type { OpenStage, StageAcknowledgement } from "./state.js";

/**
 * When a stage's recipient is expected to have acknowledged it: within one working day of the stage
 * opening (close of business on the next working day, the way every response window ends). The
 * seeds set response windows, not acknowledgement windows; a stage nobody has acknowledged by then
 * is flagged to service managers (the live page, the overdue view) so a notification that went
 * nowhere is seen days before the deadline is missed. The deadline itself never moves.
 */
export const ACKNOWLEDGE_WITHIN_WORKING_DAYS = 1;

/** The instant by which the open stage should have been acknowledged. */
export function acknowledgementDueBy(stage: Pick<OpenStage, "openedAt">, calendar: WorkingDayCalendar): Date {
  return calendar.deadlineAfter(new Date(stage.openedAt), ACKNOWLEDGE_WITHIN_WORKING_DAYS);
}

/**
 * Whether the stage is flagged: no recipient has acknowledged it and its acknowledgement window has
 * passed. A stage acknowledged late is not flagged any more (the timeline says when it was).
 */
export function acknowledgementOverdue(
  stage: Pick<OpenStage, "openedAt" | "acknowledgedAt">,
  now: Date,
  calendar: WorkingDayCalendar,
): boolean {
  return (
    stage.acknowledgedAt === undefined && acknowledgementDueBy(stage, calendar).getTime() < now.getTime()
  );
}

/** The first acknowledgement by the stage's assignee, else by any recipient (co-recipients count). */
export function assigneeAcknowledgement(stage: OpenStage): StageAcknowledgement | undefined {
  const all = stage.acknowledgements ?? [];
  return all.find((a) => a.personId === stage.assignee.personId) ?? all[0];
}
