/**
 * A concurrency limit for handlers invoked in this process, as Lambda's concurrency limit is in
 * the cloud: calls beyond `limit` queue (first come, first served) and start when a slot frees.
 * Without it, a thousand workflows timing out at one clock move call a thousand handlers at once
 * against one DynamoDB Local; each then takes longer than its function timeout, fails and is
 * retried, and the work never drains. A queued call's function timeout starts when it starts.
 */
export type Limiter = <T>(run: () => Promise<T>) => Promise<T>;

export function concurrencyLimit(limit: number): Limiter {
  let active = 0;
  const queue: (() => void)[] = [];
  const release = (): void => {
    const next = queue.shift();
    // Hand the slot straight to the next caller (`active` unchanged), or free it.
    if (next) next();
    else active -= 1;
  };
  return async <T>(run: () => Promise<T>): Promise<T> => {
    if (active >= limit) await new Promise<void>((resolve) => queue.push(resolve));
    else active += 1;
    try {
      return await run();
    } finally {
      release();
    }
  };
}
