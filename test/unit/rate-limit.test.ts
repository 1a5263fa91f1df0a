// The API-server token bucket: a burst goes at once, then requests are spaced at 1/qps, in the order they asked.
import { describe, expect, test } from "bun:test";
import { TokenBucket } from "../../src/kube/rate-limit.ts";

describe("TokenBucket", () => {
  test("the burst is free, then each request waits its turn at qps", () => {
    const now = 0;
    const bucket = new TokenBucket({ qps: 10, burst: 3 }, () => now);
    expect([bucket.reserve(), bucket.reserve(), bucket.reserve()]).toEqual([0, 0, 0]);
    // Three more asked at the same instant: 100 ms, 200 ms, 300 ms — queued behind each other.
    expect([bucket.reserve(), bucket.reserve(), bucket.reserve()].map(Math.round)).toEqual([100, 200, 300]);
  });

  test("idle time refills up to the burst, never beyond", () => {
    let now = 0;
    const bucket = new TokenBucket({ qps: 100, burst: 2 }, () => now);
    bucket.reserve();
    bucket.reserve();
    now += 60_000;
    expect([bucket.reserve(), bucket.reserve()]).toEqual([0, 0]);
    expect(Math.round(bucket.reserve())).toBe(10);
  });

  test("a sustained rate is held at qps", () => {
    const now = 0;
    const bucket = new TokenBucket({ qps: 1000, burst: 1 }, () => now);
    let waited = 0;
    for (let i = 0; i < 1000; i++) waited = Math.max(waited, bucket.reserve());
    // 1000 requests at one instant: the last one goes ~999 ms later (one from the burst).
    expect(Math.round(waited)).toBe(999);
  });

  test("take() sleeps for the reserved wait", async () => {
    const sleeps: number[] = [];
    const bucket = new TokenBucket(
      { qps: 2, burst: 1 },
      () => 0,
      async (ms) => {
        sleeps.push(ms);
      },
    );
    await bucket.take();
    await bucket.take();
    expect(sleeps.map(Math.round)).toEqual([500]);
  });
});
