import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { concurrencyLimit } from "../../../local/concurrency.js";

describe("local handler concurrency limit", () => {
  it("never runs more than the limit at once, runs every call, in the order they came", async () => {
    const limit = concurrencyLimit(3);
    let inFlight = 0;
    let most = 0;
    const started: number[] = [];
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        limit(async () => {
          started.push(i);
          inFlight += 1;
          most = Math.max(most, inFlight);
          await sleep(i % 4);
          inFlight -= 1;
          return i * 2;
        }),
      ),
    );
    expect(most).toBe(3);
    expect(results).toEqual(Array.from({ length: 20 }, (_, i) => i * 2));
    expect(started).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });

  it("frees the slot of a call that fails", async () => {
    const limit = concurrencyLimit(1);
    await expect(limit(() => Promise.reject(new Error("handler failed")))).rejects.toThrow("handler failed");
    await expect(limit(() => Promise.resolve("next"))).resolves.toBe("next");
  });
});
