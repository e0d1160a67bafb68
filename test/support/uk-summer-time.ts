/**
 * The UK's summer-time rule written out by hand (Summer Time Order 2002: from 01:00 UTC on the last
 * Sunday of March to 01:00 UTC on the last Sunday of October), as an oracle independent of the ICU
 * zone data the production module reads.
 */

function lastSundayAt0100Utc(year: number, month: number): number {
  const lastDay = new Date(Date.UTC(year, month + 1, 0));
  const back = lastDay.getUTCDay(); // 0 = Sunday
  return Date.UTC(year, month, lastDay.getUTCDate() - back, 1);
}

/** The start and end (UTC milliseconds) of summer time in `year`. */
export function summerTime(year: number): { readonly starts: number; readonly ends: number } {
  return { starts: lastSundayAt0100Utc(year, 2), ends: lastSundayAt0100Utc(year, 9) };
}

/** London's offset from UTC in hours (0 or 1) at an instant, by the rule. */
export function ukOffsetHours(instant: Date): number {
  const { starts, ends } = summerTime(instant.getUTCFullYear());
  const ms = instant.getTime();
  return ms >= starts && ms < ends ? 1 : 0;
}

/** The London wall clock at an instant, by the rule, as "YYYY-MM-DDTHH:mm:ss.SSS". */
export function ukWallClock(instant: Date): string {
  return new Date(instant.getTime() + ukOffsetHours(instant) * 3_600_000).toISOString().slice(0, 23);
}
