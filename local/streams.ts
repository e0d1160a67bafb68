/**
 * DynamoDB stream pollers: the local stand-in for Lambda's DynamoDB event source mappings.
 *
 * Each consumer (the audit exporter, the event reactor) has its own poller, as each function has
 * its own mapping on AWS. A poller reads the table's stream from DynamoDB Local
 * (DescribeStream, GetShardIterator, GetRecords), turns the records into the Lambda
 * `DynamoDBStreamEvent` shape, drops the records the mapping's filter would drop, and calls the
 * handler in this process. Like a mapping with `ReportBatchItemFailures`:
 *
 * - a batch that throws fails whole and is split in halves to find the failing record
 *   (`bisectBatchOnError`, as every CDK mapping sets); `batchItemFailures` fail from the earliest
 *   record named, and the records before it count as done;
 * - failed records are retried (with back-off) from the first failure, records after it included;
 * - after `retryAttempts` retries, or once it is older than `maxRecordAgeMs`, the first failed
 *   record is given up on, written to `<consumer>.dead-letter.ndjson` beside the checkpoint (AWS's
 *   on-failure destination), and the poller moves on; `npm run outbox -- redrive` (bin/outbox.ts)
 *   gives such records to the consumer again.
 *
 * Parallelization (the mapping's ParallelizationFactor): with a factor F above 1, a consumer has F
 * lanes, each reading the shard and taking only the records whose partition key hashes to it, as
 * Lambda spreads a shard over F concurrent batches by partition key: one challenge's records stay in
 * order in one lane, records of different challenges are handled at the same time. Each lane keeps
 * its own checkpoint (`<consumer>.lane-<i>-of-<F>.json`, starting from `<consumer>.json` when it has
 * none yet); retries, bisecting and dead letters work per lane as above.
 *
 * Checkpoints: the sequence number of the last record done, per shard, saved under the data folder
 * before the poller moves on, so a restart resumes after it: nothing lost, nothing redelivered
 * (short of a crash between a handler's success and the save, which redelivers, as Lambda's
 * at-least-once delivery may). A consumer with no checkpoint starts at TRIM_HORIZON, as the CDK
 * mappings do.
 *
 * DynamoDB Local's stream API is not in any installed SDK client, so it is called over HTTP with
 * the JSON protocol (`X-Amz-Target: DynamoDBStreams_20120810.*`); DynamoDB Local does not check
 * request signatures.
 */
import { TABLE } from "../functions/store/table.js";
import { appendFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from "aws-lambda";
import { deadLetterFile } from "./dead-letters.js";
import { asCaller, noteDynamoDbCall } from "./dynamodb-callers.js";
import { JsonFile } from "./stepfunctions/store.js";
import { type Position, type ShardReader, StreamFeeds } from "./stream-feed.js";

// ---------------------------------------------------------------------------------------------
// Filters (Lambda event filtering, the subset the mappings use)

/**
 * A Lambda event filter pattern: objects nest, leaves are arrays of allowed values or of the
 * operators `{ prefix }`, `{ suffix }`, `{ exists }`, `{ "anything-but" }`, `{ numeric }`.
 */
export type FilterPattern = { readonly [key: string]: FilterPattern | readonly unknown[] };

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function numericMatches(rule: readonly unknown[], value: unknown): boolean {
  if (typeof value !== "number") return false;
  for (let i = 0; i + 1 < rule.length; i += 2) {
    const operator = rule[i];
    const bound = rule[i + 1];
    if (typeof bound !== "number") return false;
    const ok =
      operator === "="
        ? value === bound
        : operator === "<"
          ? value < bound
          : operator === "<="
            ? value <= bound
            : operator === ">"
              ? value > bound
              : operator === ">="
                ? value >= bound
                : false;
    if (!ok) return false;
  }
  return true;
}

function leafMatches(rule: unknown, value: unknown, present: boolean): boolean {
  if (isObject(rule)) {
    if ("exists" in rule) return rule.exists === present;
    if (!present) return false;
    if (typeof rule.prefix === "string") return typeof value === "string" && value.startsWith(rule.prefix);
    if (typeof rule.suffix === "string") return typeof value === "string" && value.endsWith(rule.suffix);
    if ("anything-but" in rule) {
      const excluded = rule["anything-but"];
      return Array.isArray(excluded) ? !excluded.includes(value) : value !== excluded;
    }
    if (Array.isArray(rule.numeric)) return numericMatches(rule.numeric as unknown[], value);
    return false;
  }
  return present && (Array.isArray(value) ? value.includes(rule) : value === rule);
}

/** Whether `value` matches `pattern` (every field of the pattern must match). */
export function matchesPattern(pattern: FilterPattern, value: unknown): boolean {
  const object = isObject(value) ? value : {};
  return Object.entries(pattern).every(([key, rule]) => {
    const present = Object.hasOwn(object, key) && object[key] !== undefined;
    const inner = object[key];
    if (Array.isArray(rule)) return rule.some((r) => leafMatches(r, inner, present));
    return present && matchesPattern(rule as FilterPattern, inner);
  });
}

/** Lambda keeps a record when it matches any of the mapping's filters (or there are none). */
export function passesFilters(filters: readonly FilterPattern[], record: DynamoDBRecord): boolean {
  return filters.length === 0 || filters.some((f) => matchesPattern(f, record));
}

// ---------------------------------------------------------------------------------------------
// The stream API

interface Shard {
  readonly ShardId: string;
  readonly ParentShardId?: string;
  readonly SequenceNumberRange?: {
    readonly StartingSequenceNumber?: string;
    readonly EndingSequenceNumber?: string;
  };
}

class StreamsApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = code;
  }
}

class StreamsApi {
  constructor(
    private readonly endpoint: string,
    private readonly region: string,
  ) {}

  async call<T>(operation: string, body: Record<string, unknown>): Promise<T> {
    noteDynamoDbCall(new URL(this.endpoint).host, operation);
    const response = await fetch(this.endpoint, {
      method: "POST",
      headers: {
        "content-type": "application/x-amz-json-1.0",
        "x-amz-target": `DynamoDBStreams_20120810.${operation}`,
        // DynamoDB Local reads the credential scope but checks no signature.
        authorization: `AWS4-HMAC-SHA256 Credential=local/20200101/${this.region}/dynamodb/aws4_request, SignedHeaders=host, Signature=0`,
      },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
    const text = await response.text();
    const parsed = (text === "" ? {} : JSON.parse(text)) as Record<string, unknown>;
    if (!response.ok) {
      const type = typeof parsed.__type === "string" ? parsed.__type.split("#").pop() : undefined;
      const message = typeof parsed.message === "string" ? parsed.message : text;
      throw new StreamsApiError(type ?? `HTTP${response.status}`, message);
    }
    return parsed as T;
  }

  async shards(streamArn: string): Promise<Shard[]> {
    const shards: Shard[] = [];
    let exclusiveStartShardId: string | undefined;
    do {
      const { StreamDescription } = await this.call<{
        StreamDescription: { Shards?: Shard[]; LastEvaluatedShardId?: string };
      }>("DescribeStream", {
        StreamArn: streamArn,
        ...(exclusiveStartShardId === undefined ? {} : { ExclusiveStartShardId: exclusiveStartShardId }),
      });
      shards.push(...(StreamDescription.Shards ?? []));
      exclusiveStartShardId = StreamDescription.LastEvaluatedShardId;
    } while (exclusiveStartShardId !== undefined);
    return shards;
  }

  async iterator(streamArn: string, shardId: string, after: string | undefined): Promise<string | undefined> {
    const { ShardIterator } = await this.call<{ ShardIterator?: string }>("GetShardIterator", {
      StreamArn: streamArn,
      ShardId: shardId,
      ...(after === undefined
        ? { ShardIteratorType: "TRIM_HORIZON" }
        : { ShardIteratorType: "AFTER_SEQUENCE_NUMBER", SequenceNumber: after }),
    });
    return ShardIterator;
  }

  records(
    iterator: string,
    limit: number,
  ): Promise<{ Records?: DynamoDBRecord[]; NextShardIterator?: string | null }> {
    return this.call("GetRecords", { ShardIterator: iterator, Limit: limit });
  }
}

// ---------------------------------------------------------------------------------------------
// Pollers

export type StreamHandler = (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse | undefined>;

export interface StreamConsumer {
  /** Names the checkpoint file and log lines (e.g. the function's name). */
  readonly name: string;
  readonly handler: StreamHandler;
  /** The mapping's filters (FilterCriteria); empty: every record. */
  readonly filters: readonly FilterPattern[];
  /** Records per GetRecords and per invocation. Default 100. */
  readonly batchSize?: number;
  /** Concurrent batches per shard, by partition key (see the module comment). Default 1. */
  readonly parallelizationFactor?: number;
  /** Retries of a failing record before it is given up on. Default 10 (the CDK mappings' retryAttempts). */
  readonly retryAttempts?: number;
  /**
   * A failing record older than this (from its ApproximateCreationDateTime) is given up on, however
   * many retries are left (the mapping's maxRecordAge). Default: no limit.
   */
  readonly maxRecordAgeMs?: number;
}

export interface StreamPollerOptions {
  /** DynamoDB Local's endpoint. */
  readonly endpoint: string;
  readonly region: string;
  readonly streamArn: string;
  /** Folder for `<consumer>.json` checkpoints and dead-letter files. */
  readonly checkpointDir: string;
  readonly consumers: readonly StreamConsumer[];
  /** Pause between polls of an idle shard (ms). Default 200. */
  readonly pollIntervalMs?: number;
  /** Base of the retry back-off (ms), doubled per attempt up to 5 s. Default 250. */
  readonly retryBaseMs?: number;
  readonly log?: (message: string) => void;
  /** Told the sequence numbers of the records each successful delivery covered (tests check none repeats). */
  readonly onDelivered?: (consumer: string, sequenceNumbers: readonly string[]) => void;
}

export interface StreamPollers {
  /**
   * Resolves once every consumer has caught up: each has since found nothing new to deliver on
   * two polls in a row (tests use it before comparing what was delivered).
   */
  drained(): Promise<void>;
  /** Stops polling after the invocations in flight finish; checkpoints are saved. */
  stop(): Promise<void>;
}

interface Checkpoints {
  readonly version: 1;
  streamArn: string;
  /** Per shard: the sequence number of the last record done. */
  shards: Record<string, string>;
  /** Shards read to their end. */
  finished: string[];
}

interface ShardState {
  /** The sequence number of the last record taken from the shard's feed (undefined: none yet). */
  position: Position;
  /** Records read but not yet done (a failed batch's tail waits here for its retry). */
  buffer: DynamoDBRecord[];
  attempts: number;
  retryAt: number;
  /** Records per invocation while a failing batch is being split (bisectBatchOnError); undefined: the batch size. */
  limit: number | undefined;
}

/** The pause before retry `attempt` (1, 2, ...) of a failing record: doubling from `baseMs`, at most 5 s. */
export function retryDelayMs(attempt: number, baseMs: number): number {
  return Math.min(5_000, baseMs * 2 ** Math.min(attempt - 1, 30));
}

/**
 * Which of `lanes` a record's partition key goes to (FNV-1a of the key's text: stable across
 * restarts). The partition key only: hashing the sort key too would send one challenge's events to
 * different lanes, and they would be handled out of order.
 */
export function laneOf(record: DynamoDBRecord, lanes: number): number {
  if (lanes <= 1) return 0;
  const keys = record.dynamodb?.Keys ?? {};
  const text = JSON.stringify(keys[TABLE.partitionKey] ?? keys);
  let hash = 0x811c9dc5;
  for (let index = 0; index < text.length; index++) {
    hash ^= text.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % lanes;
}

/** Records a lane takes from the feed at once, at most. */
const MAX_RECORDS_PER_READ = 1000;

class ConsumerPoller {
  private readonly file: JsonFile;
  private checkpoints: Checkpoints;
  private readonly shardStates = new Map<string, ShardState>();
  private readonly batchSize: number;
  private readonly retryAttempts: number;

  private readonly lanes: number;

  constructor(
    private readonly feeds: StreamFeeds,
    private readonly consumer: StreamConsumer,
    private readonly options: StreamPollerOptions,
    private readonly log: (message: string) => void,
    private readonly lane = 0,
  ) {
    this.lanes = Math.max(1, consumer.parallelizationFactor ?? 1);
    const single = new JsonFile(join(options.checkpointDir, `${consumer.name}.json`));
    this.file =
      this.lanes === 1
        ? single
        : new JsonFile(join(options.checkpointDir, `${consumer.name}.lane-${lane}-of-${this.lanes}.json`));
    this.batchSize = consumer.batchSize ?? 100;
    this.retryAttempts = consumer.retryAttempts ?? 10;
    // A new lane starts where the consumer without lanes had got to (nothing redelivered).
    const stored = (this.file.read() ?? (this.lanes === 1 ? undefined : single.read())) as
      Checkpoints | undefined;
    // A new stream (the table was created again) starts from its beginning.
    this.checkpoints =
      stored?.version === 1 && stored.streamArn === options.streamArn
        ? stored
        : { version: 1, streamArn: options.streamArn, shards: {}, finished: [] };
    feeds.register(this);
  }

  /** Where this lane is in a shard (the stream feed starts after the earliest lane). */
  positionIn(shardId: string): Position | null {
    if (this.checkpoints.finished.includes(shardId)) return null;
    return this.checkpoints.shards[shardId];
  }

  /** One round over the shards; true when it did any work (so the caller polls again at once). */
  async poll(stopping: () => boolean): Promise<boolean> {
    const shards = await this.feeds.shards();
    let worked = false;
    for (const shard of shards) {
      if (stopping()) break;
      if (this.checkpoints.finished.includes(shard.ShardId)) continue;
      // A child shard waits until its parent has been read to its end (record order per item).
      const parent = shard.ParentShardId;
      if (
        parent !== undefined &&
        shards.some((s) => s.ShardId === parent) &&
        !this.checkpoints.finished.includes(parent)
      ) {
        continue;
      }
      if (await this.pollShard(shard)) worked = true;
    }
    return worked;
  }

  async close(): Promise<void> {
    await this.file.close();
  }

  private state(shardId: string): ShardState {
    let state = this.shardStates.get(shardId);
    if (state === undefined) {
      state = {
        position: this.checkpoints.shards[shardId],
        buffer: [],
        attempts: 0,
        retryAt: 0,
        limit: undefined,
      };
      this.shardStates.set(shardId, state);
    }
    return state;
  }

  private async pollShard(shard: Shard): Promise<boolean> {
    const state = this.state(shard.ShardId);
    if (state.buffer.length === 0) {
      const read = await this.read(shard, state);
      if (read === "finished") {
        this.checkpoints.finished.push(shard.ShardId);
        await this.save();
        this.feeds.finished(this, shard.ShardId);
        return true;
      }
      if (read === 0) return false;
      if (read === "skipped") return true;
    }
    if (Date.now() < state.retryAt) return false;
    await this.process(shard.ShardId, state);
    return true;
  }

  /** Takes the next records from the shard's feed into the buffer: how many, or "finished" at the end of a closed shard. */
  private async read(shard: Shard, state: ShardState): Promise<number | "finished" | "skipped"> {
    // With lanes, each read takes about a batch for this lane.
    const { records, finished } = await this.feeds
      .feed(shard.ShardId)
      .read(this, state.position, Math.min(MAX_RECORDS_PER_READ, this.batchSize * this.lanes));
    if (finished) return "finished";
    const last = records.at(-1)?.dynamodb?.SequenceNumber;
    if (last === undefined) return 0;
    state.position = last;
    state.buffer =
      this.lanes === 1 ? [...records] : records.filter((r) => laneOf(r, this.lanes) === this.lane);
    if (state.buffer.length === 0) {
      // Only other lanes' records: done for this one (saved with its next checkpoint), and the
      // stream has more, so the poller reads again at once rather than pausing as if idle.
      this.checkpoints.shards[shard.ShardId] = last;
      return "skipped";
    }
    return state.buffer.length;
  }

  /** Invokes the handler with the first batch of the buffer and applies the outcome. */
  private async process(shardId: string, state: ShardState): Promise<void> {
    const batch = state.buffer
      .slice(0, state.limit ?? this.batchSize)
      .map((record) => this.lambdaRecord(record));
    const delivered = batch.filter((record) => passesFilters(this.consumer.filters, record));
    let failedFrom: number | undefined;
    let thrown = false;
    let reason = "";
    const first = delivered[0];
    if (first !== undefined) {
      try {
        const response = await this.consumer.handler({ Records: delivered });
        const failed = new Set((response?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
        if (failed.size > 0) {
          const index = batch.findIndex((r) => failed.has(r.dynamodb?.SequenceNumber ?? ""));
          // A failure naming no record of the batch fails the whole batch, as Lambda does.
          failedFrom = index < 0 ? batch.indexOf(first) : index;
          reason = `${failed.size} record(s) reported in batchItemFailures`;
        }
      } catch (error) {
        thrown = true;
        failedFrom = batch.indexOf(first);
        reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      }
    }
    const failedAt = failedFrom;
    const succeeded =
      failedAt === undefined ? delivered : delivered.filter((r) => batch.indexOf(r) < failedAt);
    if (succeeded.length > 0) {
      this.options.onDelivered?.(
        this.consumer.name,
        succeeded.map((r) => r.dynamodb?.SequenceNumber ?? ""),
      );
    }
    if (failedAt === undefined) {
      state.limit = undefined;
      await this.done(shardId, state, batch.length);
      return;
    }
    // The records before the first failure are done.
    if (failedAt > 0) await this.done(shardId, state, failedAt);
    const remaining = batch.length - failedAt;
    if (thrown && delivered.length > 1 && remaining > 1) {
      // bisectBatchOnError (every CDK mapping sets it): retry the first half at once, to find the
      // record that fails; splitting does not count as a retry.
      state.limit = Math.ceil(remaining / 2);
      this.log(
        `${this.consumer.name}: a batch of ${delivered.length} failed (${reason}); retrying it in halves of ${state.limit}`,
      );
      return;
    }
    const failing = batch[failedAt];
    state.attempts += 1;
    const createdSeconds = failing?.dynamodb?.ApproximateCreationDateTime;
    const tooOld =
      this.consumer.maxRecordAgeMs !== undefined &&
      createdSeconds !== undefined &&
      Date.now() - createdSeconds * 1000 > this.consumer.maxRecordAgeMs;
    if (state.attempts <= this.retryAttempts && !tooOld) {
      const delay = retryDelayMs(state.attempts, this.options.retryBaseMs ?? 250);
      state.retryAt = Date.now() + delay;
      this.log(
        `${this.consumer.name}: record ${failing?.dynamodb?.SequenceNumber ?? "?"} failed (${reason}); retry ${state.attempts} of ${this.retryAttempts} in ${delay} ms`,
      );
      return;
    }
    this.log(
      `${this.consumer.name}: giving up on record ${failing?.dynamodb?.SequenceNumber ?? "?"} after ${state.attempts - 1} retries${tooOld ? " (older than the maximum record age)" : ""} (${reason}); written to ${this.consumer.name}.dead-letter.ndjson (npm run outbox -- redrive sends it again)`,
    );
    await appendFile(
      deadLetterFile(this.options.checkpointDir, this.consumer.name),
      `${JSON.stringify({ at: new Date().toISOString(), reason, shardId, record: failing })}\n`,
    );
    state.limit = undefined;
    await this.done(shardId, state, 1);
  }

  /** Marks the first `count` buffered records done: drops them and saves the checkpoint. */
  private async done(shardId: string, state: ShardState, count: number): Promise<void> {
    const last = state.buffer[count - 1]?.dynamodb?.SequenceNumber;
    state.buffer = state.buffer.slice(count);
    state.attempts = 0;
    state.retryAt = 0;
    if (last !== undefined) {
      this.checkpoints.shards[shardId] = last;
      await this.save();
    }
  }

  private save(): Promise<void> {
    return this.file.write(JSON.stringify(this.checkpoints, null, 2));
  }

  /** A stream record as Lambda delivers it (DynamoDB Local says region "ddblocal" and omits the source ARN). */
  private lambdaRecord(record: DynamoDBRecord): DynamoDBRecord {
    return {
      ...record,
      awsRegion: this.options.region,
      eventSource: "aws:dynamodb",
      eventSourceARN: this.options.streamArn,
    };
  }
}

export function startStreamPollers(options: StreamPollerOptions): StreamPollers {
  const log =
    options.log ??
    ((message: string) => {
      console.warn(`[local streams] ${message}`);
    });
  const api = new StreamsApi(options.endpoint, options.region);
  const interval = options.pollIntervalMs ?? 200;
  // One reading of the stream for every lane of every consumer (stream-feed.ts); an idle shard is
  // read at most once per poll interval, however many lanes wait on it.
  const reader: ShardReader = {
    shards: () => api.shards(options.streamArn),
    iterator: (shardId, after) => api.iterator(options.streamArn, shardId, after),
    records: (iterator, limit) => api.records(iterator, limit),
    expired: (error) =>
      error instanceof StreamsApiError && /ExpiredIterator|TrimmedDataAccess/.test(error.code),
  };
  const feeds = new StreamFeeds(reader, interval);
  let stopping = false;
  const isStopping = (): boolean => stopping;
  const wake = new AbortController();

  const lanes = options.consumers.flatMap((consumer) =>
    Array.from({ length: Math.max(1, consumer.parallelizationFactor ?? 1) }, (_, lane) => ({
      consumer,
      lane,
    })),
  );
  /** Per lane: polls in a row that found nothing to do. */
  const idleStreaks = lanes.map(() => 0);

  const loops = lanes.map(({ consumer, lane }, index) =>
    // The stream API calls of this lane count against its poller (dynamodb-callers.ts); the
    // handler it invokes counts its own.
    asCaller(`stream poller ${consumer.name}`, () => pollLane(consumer, lane, index)),
  );
  async function pollLane(consumer: StreamConsumer, lane: number, index: number): Promise<void> {
    const poller = new ConsumerPoller(feeds, consumer, options, log, lane);
    let failures = 0;
    while (!isStopping()) {
      let worked = false;
      try {
        worked = await poller.poll(isStopping);
        idleStreaks[index] = worked ? 0 : (idleStreaks[index] ?? 0) + 1;
        failures = 0;
      } catch (error) {
        failures += 1;
        // DynamoDB Local unreachable or the like: say so once in a while, keep trying.
        if (failures === 1 || failures % 50 === 0)
          log(
            `${consumer.name}: polling the stream failed: ${error instanceof Error ? error.message : String(error)}`,
          );
      }
      if (!worked && !isStopping()) {
        await sleep(
          failures > 0 ? Math.min(5_000, interval * 2 ** Math.min(failures, 5)) : interval,
          undefined,
          {
            signal: wake.signal,
          },
        ).catch(() => undefined);
      }
    }
    await poller.close();
  }

  return {
    drained: async () => {
      // Reset, then wait for two idle polls per consumer that began after this call.
      idleStreaks.fill(0);
      while (!isStopping() && idleStreaks.some((streak) => streak < 2)) await sleep(Math.min(interval, 20));
    },
    stop: async () => {
      stopping = true;
      wake.abort();
      await Promise.all(loops);
    },
  };
}
