import type { WorkingDayCalendar } from "../calendar.js";
import type { Protocol } from "../protocol.js";

/**
 * The timer's dates, shared by `decide` (which enforces them) and the workflow (which waits for
 * them): when a stage's recipient is reminded, and when an agreed action counts as fallen due.
 */

/**
 * When the recipient of a stage due at `deadline` is reminded: the protocol's
 * `reminderWorkingDaysBeforeDeadline` working days before the deadline, at the deadline's London
 * time of day. Undefined when the protocol sends no reminders (0) or the deadline is not an instant.
 */
export function reminderTime(
  deadline: string,
  protocol: Pick<Protocol, "reminderWorkingDaysBeforeDeadline">,
  calendar: WorkingDayCalendar,
): Date | undefined {
  const days = protocol.reminderWorkingDaysBeforeDeadline;
  const due = new Date(deadline);
  if (days < 1 || Number.isNaN(due.getTime())) return undefined;
  return calendar.workingDaysBefore(due, days);
}

/** Whether an action agreed "by" a London date (YYYY-MM-DD) is past it at `now`: due by 10 June, past from 11 June. */
export function actionDatePassed(byWhen: string, now: Date, calendar: WorkingDayCalendar): boolean {
  return byWhen < calendar.londonDate(now);
}
