import type { DynamoDBRecord } from "aws-lambda";
import { describe, expect, it } from "vitest";
import {
  type FeedLane,
  type Position,
  type ShardReader,
  StreamFeeds,
  compareSequenceNumbers,
} from "../../../local/stream-feed.js";

/** A shard of `total` records (sequence numbers 100, 101, ...), read `perRead` at a time, and what it was asked. */
function fakeShard(total: number, perRead: number) {
  const records: DynamoDBRecord[] = Array.from({ length: total }, (_, i) => ({
    dynamodb: { SequenceNumber: String(100 + i) },
  }));
  const calls = { shards: 0, iterators: [] as (string | undefined)[], reads: 0, emptyReads: 0 };
  let available = total;
  const reader: ShardReader = {
    shards: () => {
      calls.shards += 1;
      return Promise.resolve([{ ShardId: "s1" }]);
    },
    iterator: (_shardId, after) => {
      calls.iterators.push(after);
      const start =
        after === undefined ? 0 : records.findIndex((r) => r.dynamodb?.SequenceNumber === after) + 1;
      return Promise.resolve(String(start));
    },
    records: (iterator, limit) => {
      calls.reads += 1;
      const start = Number(iterator);
      const page = records.slice(start, Math.min(available, start + Math.min(limit, perRead)));
      if (page.length === 0) calls.emptyReads += 1;
      return Promise.resolve({ Records: page, NextShardIterator: String(start + page.length) });
    },
    expired: () => false,
  };
  return {
    reader,
    calls,
    /** Only the first `count` records exist yet (the rest are written later). */
    setAvailable: (count: number) => {
      available = count;
    },
  };
}

function lane(position: Position): FeedLane {
  return { positionIn: () => position };
}

const sequences = (records: readonly DynamoDBRecord[]): string[] =>
  records.map((r) => r.dynamodb?.SequenceNumber ?? "?");

describe("the shared stream feed (local stream pollers)", () => {
  it("orders sequence numbers as numbers, whatever their length or padding", () => {
    expect(compareSequenceNumbers("99", "100")).toBeLessThan(0);
    expect(compareSequenceNumbers("000100", "100")).toBe(0);
    expect(compareSequenceNumbers("101", "0100")).toBeGreaterThan(0);
  });

  it("keeps the records a lane took but has not done, so a retry from its checkpoint gets them again", async () => {
    const shard = fakeShard(6, 10);
    const feeds = new StreamFeeds(shard.reader, 1_000);
    const failing = lane(undefined);
    const other = lane(undefined);
    feeds.register(failing);
    feeds.register(other);
    const feed = feeds.feed("s1");
    // The failing lane takes 100-102 and fails on 101: its checkpoint stays at 100.
    expect(sequences((await feed.read(failing, undefined, 3)).records)).toEqual(["100", "101", "102"]);
    // The other lane does everything; its next read would drop what every lane has done.
    expect(sequences((await feed.read(other, undefined, 10)).records)).toEqual([
      "100",
      "101",
      "102",
      "103",
      "104",
      "105",
    ]);
    await feed.read(other, "105", 10);
    // The retry from the checkpoint gets 101 onwards, not what follows the records it last took.
    expect(sequences((await feed.read(failing, "100", 10)).records)).toEqual([
      "101",
      "102",
      "103",
      "104",
      "105",
    ]);
  });

  it("reads each record once for every lane, starting after the earliest lane's checkpoint", async () => {
    const shard = fakeShard(10, 4);
    const feeds = new StreamFeeds(shard.reader, 1_000);
    const ahead = lane("104");
    const behind = lane("101");
    feeds.register(ahead);
    feeds.register(behind);
    expect((await feeds.shards()).map((s) => s.ShardId)).toEqual(["s1"]);
    await feeds.shards();
    expect(shard.calls.shards).toBe(1);

    const feed = feeds.feed("s1");
    expect(sequences((await feed.read(ahead, "104", 10)).records)).toEqual(["105"]);
    // The behind lane takes from the window: no new call for what was read already.
    const readsSoFar = shard.calls.reads;
    expect(sequences((await feed.read(behind, "101", 2)).records)).toEqual(["102", "103"]);
    expect(shard.calls.reads).toBe(readsSoFar);
    // Both lanes get everything after their position, in order, from the one iterator.
    const taken = { ahead: ["105"], behind: ["102", "103"] };
    for (let i = 0; i < 10; i++) {
      taken.ahead.push(...sequences((await feed.read(ahead, taken.ahead.at(-1), 3)).records));
      taken.behind.push(...sequences((await feed.read(behind, taken.behind.at(-1), 3)).records));
    }
    expect(taken.ahead).toEqual(["105", "106", "107", "108", "109"]);
    expect(taken.behind).toEqual(["102", "103", "104", "105", "106", "107", "108", "109"]);
    expect(shard.calls.iterators).toEqual(["101"]);
  });

  it("reads an idle shard at most once per idle gap, however many lanes poll it, and again once the gap has passed", async () => {
    const shard = fakeShard(3, 10);
    shard.setAvailable(0);
    const feeds = new StreamFeeds(shard.reader, 50);
    const lanes = [lane(undefined), lane(undefined), lane(undefined)];
    for (const l of lanes) feeds.register(l);
    const feed = feeds.feed("s1");
    for (let round = 0; round < 3; round++)
      for (const l of lanes) expect((await feed.read(l, undefined, 10)).records).toEqual([]);
    expect(shard.calls.emptyReads).toBe(1);

    // Records written meanwhile are found on the first poll after the gap (a read that found
    // nothing must not leave the feed unable to read again).
    shard.setAvailable(3);
    await new Promise((resolve) => setTimeout(resolve, 60));
    const [first] = lanes;
    if (first === undefined) throw new Error("no lane");
    expect(sequences((await feed.read(first, undefined, 10)).records)).toEqual(["100", "101", "102"]);
  });
});
