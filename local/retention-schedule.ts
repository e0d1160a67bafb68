import { deleteExpired } from "../functions/retention/delete-expired.js";
import { londonDay } from "../functions/domain/london-time.js";
import { onAdvance } from "../functions/shared/clock.js";

/**
 * The local stand-in for the daily EventBridge Scheduler schedule (lib/retention.ts): runs the
 * retention job at start-up and whenever the service clock enters a new London day, whether real
 * time passed or the clock was advanced (`/_local/clock/advance`). One run at a time, as on AWS.
 */
export function startRetentionSchedule(options: {
  readonly tableName: string;
  readonly tenantIds: readonly string[];
  readonly now: () => Date;
  readonly log: (line: string) => void;
}): () => Promise<void> {
  const env = { TABLE_NAME: options.tableName, RETENTION_TENANT_IDS: options.tenantIds.join(",") };
  let lastDay: string | undefined;
  let running: Promise<void> = Promise.resolve();
  const tick = (): void => {
    const day = londonDay(options.now().toISOString());
    if (day === lastDay) return;
    lastDay = day;
    running = running.then(async () => {
      try {
        const report = await deleteExpired(env, options.now());
        const { deleted, resumed, held } = report.counts;
        if (deleted + resumed + held > 0) {
          options.log(`retention ${report.asOf}: ${deleted + resumed} deleted, ${held} held`);
        }
      } catch (error) {
        options.log(`retention run failed: ${error instanceof Error ? error.message : String(error)}`);
      }
    });
  };
  const unsubscribe = onAdvance(tick);
  const timer = setInterval(tick, 60_000);
  timer.unref();
  tick();
  return async () => {
    unsubscribe();
    clearInterval(timer);
    await running;
  };
}
