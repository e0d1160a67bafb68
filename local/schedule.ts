/**
 * An hourly EventBridge Scheduler stand-in driven by the service clock: the task runs when the
 * runtime starts, whenever the service clock enters a new hour (checked each `checkEveryMs` of real
 * time and on every clock advance, so `POST /_local/clock/advance` brings due runs at once), and
 * again straight away while it reports work left (`{ remaining: n > 0 }`, a long catch-up).
 * Runs never overlap; a failed run is reported and retried at the next check, as a retried
 * scheduled invocation would be.
 */
import * as serviceClock from "../functions/shared/clock.js";

export interface HourlySchedule {
  /** Runs the task now (after any run in progress) and resolves when the work is caught up. */
  runNow(): Promise<void>;
  stop(): Promise<void>;
}

const HOUR_MS = 3_600_000;

export function startHourlySchedule(options: {
  readonly name: string;
  readonly task: () => Promise<unknown>;
  readonly warn: (line: string) => void;
  readonly checkEveryMs?: number;
}): HourlySchedule {
  let lastHour: number | undefined;
  let running: Promise<void> = Promise.resolve();
  let stopped = false;

  const runUntilCaughtUp = async (): Promise<void> => {
    for (let round = 0; round < 1000 && !stopped; round++) {
      lastHour = Math.floor(serviceClock.now().getTime() / HOUR_MS);
      const result = await options.task();
      const remaining = (result as { remaining?: unknown } | undefined)?.remaining;
      if (typeof remaining !== "number" || remaining <= 0) return;
    }
  };
  const enqueue = (): Promise<void> => {
    running = running.then(runUntilCaughtUp).catch((error: unknown) => {
      lastHour = undefined; // try again at the next check
      options.warn(`[${options.name}] run failed: ${error instanceof Error ? error.message : String(error)}`);
    });
    return running;
  };
  const check = (): void => {
    if (stopped) return;
    if (lastHour !== Math.floor(serviceClock.now().getTime() / HOUR_MS)) void enqueue();
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
