/**
 * Fires callbacks when the SERVICE clock reaches their due time.
 *
 * No long real timers: due items are checked whenever the clock moves (so `advanceBy(7 days)`
 * fires what fell due at once) and on a short real interval (so real time passing fires them
 * too). A due time of next year is just a number in a set; nothing can overflow Node's timers.
 */
export interface ServiceClock {
  now(): Date;
  onAdvance(listener: (now: Date) => void): () => void;
}

interface Item {
  readonly dueMs: number;
  readonly fire: () => void;
}

export class ClockScheduler {
  private readonly items = new Set<Item>();
  private interval: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  /** A check is queued for the current microtask round (many items due at once share one). */
  private checkQueued = false;

  constructor(
    private readonly clock: ServiceClock,
    private readonly pollIntervalMs: number,
    private readonly onError: (error: unknown) => void,
  ) {}

  start(): void {
    if (this.interval) return;
    this.unsubscribe = this.clock.onAdvance(() => {
      this.check();
    });
    this.interval = setInterval(() => {
      this.check();
    }, this.pollIntervalMs);
    // The HTTP server keeps a runtime alive; pending waits alone must not keep a test worker alive.
    this.interval.unref();
  }

  stop(): void {
    if (this.interval) clearInterval(this.interval);
    this.interval = undefined;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.items.clear();
  }

  /** Calls `fire` once the service clock reaches `dueMs` (soon, if it already has). Returns a cancel function. */
  at(dueMs: number, fire: () => void): () => void {
    const item: Item = { dueMs, fire };
    this.items.add(item);
    if (dueMs <= this.clock.now().getTime() && !this.checkQueued) {
      // One check for every item found due in this round: a thousand executions due at once cost
      // one pass over the items, not a thousand (issue 12).
      this.checkQueued = true;
      queueMicrotask(() => {
        this.checkQueued = false;
        this.check();
      });
    }
    return () => {
      this.items.delete(item);
    };
  }

  /** Fires every item that is due, in due order. */
  check(): void {
    const nowMs = this.clock.now().getTime();
    const due = [...this.items].filter((item) => item.dueMs <= nowMs).sort((a, b) => a.dueMs - b.dueMs);
    for (const item of due) {
      if (!this.items.delete(item)) continue; // cancelled by an earlier item in this round
      try {
        item.fire();
      } catch (error) {
        this.onError(error);
      }
    }
  }
}
