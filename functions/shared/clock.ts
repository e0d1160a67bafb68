/**
 * The service's clock: real time plus an offset.
 *
 * Handlers and the domain context call {@link now} instead of `new Date()`. On AWS nothing ever
 * moves the offset, so it is 0 and `now()` is the real time: there is no "local" branch. The local
 * runtime and tests run in the same process as the handlers and move the offset forward, so five
 * working days can pass in seconds; the local Step Functions engine listens with
 * {@link onAdvance} and fires the timeouts and waits that fall due.
 */

/** Called after every change of the offset, with the new current time. */
export type ClockListener = (now: Date) => void;

let offsetMs = 0;
const listeners = new Set<ClockListener>();

/** The current time on the service clock. */
export function now(): Date {
  return new Date(Date.now() + offsetMs);
}

/** How far the service clock is ahead of real time, in milliseconds (0 on AWS). */
export function offset(): number {
  return offsetMs;
}

/** Moves the service clock forward by `ms` milliseconds and returns the new current time. */
export function advanceBy(ms: number): Date {
  if (!Number.isFinite(ms) || ms < 0)
    throw new RangeError(`advanceBy needs a finite, non-negative ms, not ${ms}`);
  return setOffset(offsetMs + ms);
}

/** Sets the offset from real time (tests reset it with `setOffset(0)`); returns the new current time. */
export function setOffset(ms: number): Date {
  if (!Number.isFinite(ms)) throw new RangeError(`setOffset needs a finite ms, not ${ms}`);
  offsetMs = ms;
  const current = now();
  for (const listener of [...listeners]) listener(current);
  return current;
}

/** Calls `listener` after every change of the offset; returns a function that unsubscribes it. */
export function onAdvance(listener: ClockListener): () => void {
  listeners.add(listener);
  return () => {
    listeners.delete(listener);
  };
}
