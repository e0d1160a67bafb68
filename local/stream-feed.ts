/**
 * One reading of a shard of the table's stream, shared by every poller lane (issue 12).
 *
 * Each consumer's lanes (streams.ts) used to read the whole shard for themselves: the audit
 * exporter and the reactor's two lanes made three GetRecords calls for every record, and an idle
 * poll each every 200 ms, on DynamoDB Local's one queue that every API call waits on. Here one
 * iterator per shard reads; the records are kept in a window, and each lane takes what follows its
 * own position from it, so a lane that is behind (a slow consumer, a retry) costs no call at all.
 * The window keeps what the slowest lane has not yet taken, and stops growing at {@link MAX_WINDOW}
 * records (the faster lanes then wait for it, as they would for a throttled shard). An idle shard
 * is read at most once per `idleGapMS` whatever the number of lanes.
 *
 * Positions are sequence numbers; a lane's checkpoints stay its own (streams.ts), so a restart
 * starts the feed after the earliest of them and each lane skips what it had done.
 */
import type { DynamoDBRecord } from "aws-lambda";

/** Records kept for lanes that are behind; beyond it the feed stops reading until they catch up. */
const MAX_WINDOW = 20_000;
/** GetRecords' own maximum. */
const MAX_RECORDS_PER_READ = 1000;

export interface ShardReader {
  /** The stream's shards (DescribeStream). */
  shards(): Promise<readonly { readonly ShardId: string; readonly ParentShardId?: string }[]>;
  /** An iterator after `after`, or at the shard's start (TRIM_HORIZON) when undefined. */
  iterator(shardId: string, after: string | undefined): Promise<string | undefined>;
  records(
    iterator: string,
    limit: number,
  ): Promise<{ Records?: DynamoDBRecord[]; NextShardIterator?: string | null }>;
  /** Whether an error means the iterator has expired (the feed then starts again after its last record). */
  expired(error: unknown): boolean;
}

/** Orders two sequence numbers (decimal strings of any length). */
export function compareSequenceNumbers(a: string, b: string): number {
  const x = a.replace(/^0+/, "");
  const y = b.replace(/^0+/, "");
  return x.length === y.length ? (x < y ? -1 : x > y ? 1 : 0) : x.length - y.length;
}

function sequenceOf(record: DynamoDBRecord): string {
  return record.dynamodb?.SequenceNumber ?? "";
}

/** The earliest of some lanes' positions; undefined (the shard's start) if one has none, or there are none. */
function earliestOf(positions: Iterable<Position>): Position {
  let earliest: string | undefined;
  for (const position of positions) {
    if (position === undefined) return undefined;
    if (earliest === undefined || compareSequenceNumbers(position, earliest) < 0) earliest = position;
  }
  return earliest;
}

/** A lane's place in a shard: the sequence number of the last record it took (undefined: none yet). */
export type Position = string | undefined;

export interface FeedRead {
  readonly records: readonly DynamoDBRecord[];
  /** The shard is closed and the lane has taken its last record. */
  readonly finished: boolean;
}

export class ShardFeed {
  private window: DynamoDBRecord[] = [];
  /** The sequence number the window starts after (undefined: the shard's start). */
  private windowAfter: Position;
  private iterator: string | undefined;
  private started = false;
  private closed = false;
  private reading: Promise<void> | undefined;
  private lastEmptyReadAt = Number.NEGATIVE_INFINITY;

  /**
   * `positions`: every lane that has not finished this shard, at its checkpoint. The feed starts
   * after the earliest (at the shard's start if a lane has none).
   */
  constructor(
    private readonly reader: ShardReader,
    private readonly shardId: string,
    private readonly idleGapMs: number,
    private readonly positions: Map<object, Position>,
  ) {
    this.windowAfter = earliestOf(positions.values());
  }

  /** Up to `limit` records after `after`, reading the shard when the lane has taken all the window holds. */
  async read(lane: object, after: Position, limit: number): Promise<FeedRead> {
    this.positions.set(lane, after);
    this.trim();
    let records = this.after(after, limit);
    if (records.length === 0 && !this.closed) {
      await this.fill();
      records = this.after(after, limit);
    }
    // The lane's position moves only when it reads again after its checkpoint (`after`): records it
    // took but has not done stay in the window, for a retry from that checkpoint.
    return { records, finished: records.length === 0 && this.closed };
  }

  /** The lane has read the shard to its end: its position no longer holds the window back. */
  leave(lane: object): void {
    this.positions.delete(lane);
  }

  /** No lane reads it any more. */
  empty(): boolean {
    return this.positions.size === 0;
  }

  private after(position: Position, limit: number): DynamoDBRecord[] {
    if (
      this.windowAfter !== undefined &&
      (position === undefined || compareSequenceNumbers(position, this.windowAfter) < 0)
    ) {
      // Records this lane has not done were dropped: never hand it what follows them as if they were not there.
      throw new Error(
        `stream feed ${this.shardId}: a lane at ${position ?? "the start"} is behind the window (after ${this.windowAfter})`,
      );
    }
    if (position === undefined) return this.window.slice(0, limit);
    // Binary search for the first record after `position`.
    let low = 0;
    let high = this.window.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      const record = this.window[middle];
      if (record !== undefined && compareSequenceNumbers(sequenceOf(record), position) <= 0) low = middle + 1;
      else high = middle;
    }
    return this.window.slice(low, low + limit);
  }

  /** Drops the records every lane has taken. */
  private trim(): void {
    const earliest = earliestOf(this.positions.values());
    if (earliest === undefined) return;
    const taken = this.after(earliest, Number.MAX_SAFE_INTEGER);
    const drop = this.window.length - taken.length;
    if (drop > 0) {
      const last = this.window[drop - 1];
      this.window = this.window.slice(drop);
      if (last !== undefined) this.windowAfter = sequenceOf(last);
    }
  }

  /** One GetRecords for every lane waiting on the window's end (concurrent callers share it). */
  private fill(): Promise<void> {
    if (this.reading === undefined) {
      const reading = this.readOnce();
      this.reading = reading;
      // Cleared once settled (never before it is set: readOnce may settle at once).
      reading.then(
        () => {
          this.reading = undefined;
        },
        () => {
          this.reading = undefined;
        },
      );
    }
    return this.reading;
  }

  private async readOnce(): Promise<void> {
    if (this.window.length >= MAX_WINDOW) return;
    if (performance.now() - this.lastEmptyReadAt < this.idleGapMs) return;
    if (!this.started) {
      this.iterator = await this.reader.iterator(this.shardId, this.windowAfter);
      this.started = true;
      if (this.iterator === undefined) {
        this.closed = true;
        return;
      }
    }
    const iterator = this.iterator;
    if (iterator === undefined) return;
    let result;
    try {
      result = await this.reader.records(iterator, MAX_RECORDS_PER_READ);
    } catch (error) {
      if (!this.reader.expired(error)) throw error;
      // Start again after the last record read.
      const last = this.window.at(-1);
      this.iterator = await this.reader.iterator(
        this.shardId,
        last === undefined ? this.windowAfter : sequenceOf(last),
      );
      return;
    }
    const records = result.Records ?? [];
    this.window.push(...records);
    this.iterator = result.NextShardIterator ?? undefined;
    if (this.iterator === undefined) this.closed = true;
    if (records.length === 0) this.lastEmptyReadAt = performance.now();
  }
}

/** A lane of a consumer, as the feeds see it: where it is in each shard. */
export interface FeedLane {
  /** The sequence number of the last record done in the shard; null once it has read it to its end. */
  positionIn(shardId: string): Position | null;
}

/** The feeds of one stream, shared by every lane of every consumer, and its shard list. */
export class StreamFeeds {
  private readonly lanes = new Set<FeedLane>();
  private readonly feeds = new Map<string, ShardFeed>();
  private shardList:
    Promise<readonly { readonly ShardId: string; readonly ParentShardId?: string }[]> | undefined;
  private shardsReadAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly reader: ShardReader,
    private readonly idleGapMs: number,
    /** How long a shard list is used before DescribeStream is called again. */
    private readonly shardListMs = 10_000,
  ) {}

  /** Every lane registers before the first read. */
  register(lane: FeedLane): void {
    this.lanes.add(lane);
  }

  /** The shard list, read once for every lane (again after `shardListMs`, or after a shard closed). */
  shards(): Promise<readonly { readonly ShardId: string; readonly ParentShardId?: string }[]> {
    if (this.shardList === undefined || performance.now() - this.shardsReadAt > this.shardListMs) {
      this.shardsReadAt = performance.now();
      const list = this.reader.shards();
      // A failed read is not kept: the next caller tries again.
      list.catch(() => {
        if (this.shardList === list) this.shardList = undefined;
      });
      this.shardList = list;
    }
    return this.shardList;
  }

  feed(shardId: string): ShardFeed {
    let feed = this.feeds.get(shardId);
    if (feed === undefined) {
      const positions = new Map<object, Position>();
      for (const lane of this.lanes) {
        const position = lane.positionIn(shardId);
        if (position !== null) positions.set(lane, position);
      }
      feed = new ShardFeed(this.reader, shardId, this.idleGapMs, positions);
      this.feeds.set(shardId, feed);
    }
    return feed;
  }

  /** A lane has read a shard to its end; once every lane has, the shard's window goes, and the shard list is read again. */
  finished(lane: FeedLane, shardId: string): void {
    const feed = this.feeds.get(shardId);
    feed?.leave(lane);
    if (feed?.empty() === true) {
      this.feeds.delete(shardId);
      this.shardList = undefined;
    }
  }
}
