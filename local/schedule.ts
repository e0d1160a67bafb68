/**
 * An EventBridge Scheduler stand-in driven by the service clock, hourly (the audit digests) or
 * daily (retention, the benchmark: once each London day): the task runs when the runtime starts,
 * whenever the service clock enters a new hour or London day (checked each `checkEveryMs` of real
 * time and on every clock advance, so `POST /_local/clock/advance` brings due runs at once), and
 * again straight away while it reports work left (`{ remaining: n > 0 }`, a long catch-up).
 * Runs never overlap; a failed run is reported and retried at the next check, as a retried
 * scheduled invocation would be.
 */
import { londonDay } from "../functions/domain/london-time.js";
import * as serviceClock from "../functions/shared/clock.js";

export interface Schedule {
  /** Runs the task now (after any run in progress) and resolves when the work is caught up. */
  runNow(): Promise<void>;
  stop(): Promise<void>;
}

const HOUR_MS = 3_600_000;

/** Which run an instant belongs to: its hour, or its London day. */
const PERIOD_OF = {
  hour: (at: Date): string => String(Math.floor(at.getTime() / HOUR_MS)),
  london_day: (at: Date): string => londonDay(at.toISOString()),
} as const;

export function startSchedule(options: {
  readonly name: string;
  readonly every: keyof typeof PERIOD_OF;
  readonly task: () => Promise<unknown>;
  readonly warn: (line: string) => void;
  readonly checkEveryMs?: number;
}): Schedule {
  const periodOf = PERIOD_OF[options.every];
  let lastPeriod: string | undefined;
  let running: Promise<void> = Promise.resolve();
  let stopped = false;

  const runUntilCaughtUp = async (): Promise<void> => {
    for (let round = 0; round < 1000 && !stopped; round++) {
      lastPeriod = periodOf(serviceClock.now());
      const result = await options.task();
      const remaining = (result as { remaining?: unknown } | undefined)?.remaining;
      if (typeof remaining !== "number" || remaining <= 0) return;
    }
  };
  const enqueue = (): Promise<void> => {
    running = running.then(runUntilCaughtUp).catch((error: unknown) => {
      lastPeriod = undefined; // try again at the next check
      options.warn(`[${options.name}] run failed: ${error instanceof Error ? error.message : String(error)}`);
    });
    return running;
  };
  const check = (): void => {
    if (stopped) return;
    if (lastPeriod !== periodOf(serviceClock.now())) void enqueue();
  };

  const timer = setInterval(check, options.checkEveryMs ?? 30_000);
  timer.unref();
  const unsubscribe = serviceClock.onAdvance(check);
  check();
  return {
    runNow: enqueue,
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      unsubscribe();
      await running;
    },
  };
}
