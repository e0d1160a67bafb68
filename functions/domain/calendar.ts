/**
 * Working days in England: weekends, England and Wales bank holidays (from date-holidays) and the
 * authority's own closure days are not working days. Deadlines fall at close of business, Europe/London.
 */
export interface WorkingDayCalendar {
  /** `day` is a London calendar date, YYYY-MM-DD. */
  isWorkingDay(day: string): boolean;
  /**
   * The deadline for a response due within `workingDays` working days of `start`: close of
   * business on the `workingDays`-th working day after the London date of `start` (the day of
   * `start` itself is not counted), as an instant.
   */
  deadlineAfter(start: Date, workingDays: number): Date;
  /** Working days after the London date of `start` up to and including the London date of `end` (0 if end is not later). */
  workingDaysBetween(start: Date, end: Date): number;
  /** The London calendar date of an instant. */
  londonDate(instant: Date): string;
}

// IMPLEMENTATION FOLLOWS (being written)
