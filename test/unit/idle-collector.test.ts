// The idle collector: one full collection once the resource set has been quiet, and one when the heap has grown.
import { describe, expect, test } from "bun:test";
import { IdleCollector } from "../../src/cli/memory.ts";

describe("IdleCollector", () => {
  test("a burst of changes is collected once, after the quiet time", async () => {
    let collections = 0;
    const collector = new IdleCollector({ settleMs: 30, checkMs: 60_000, growthFactor: 1.5, collect: () => collections++, heapBytes: () => 100 });
    collector.changed();
    await Bun.sleep(10);
    collector.changed();
    expect(collections).toBe(0);
    await Bun.sleep(60);
    expect(collections).toBe(1);
    collector.stop();
  });

  test("the heap growing past the factor triggers a collection; staying below does not", async () => {
    let heap = 100;
    let collections = 0;
    const collector = new IdleCollector({
      settleMs: 60_000,
      checkMs: 10,
      growthFactor: 1.5,
      collect: () => {
        collections++;
        heap = 110;
      },
      heapBytes: () => heap,
    });
    heap = 140;
    await Bun.sleep(40);
    expect(collections).toBe(0);
    heap = 160;
    await Bun.sleep(40);
    expect(collections).toBe(1);
    collector.stop();
  });
});
