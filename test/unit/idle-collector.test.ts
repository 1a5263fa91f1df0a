// The idle collector: one full collection once the resource set has been quiet, and one when the heap has grown.
import { describe, expect, test } from "bun:test";
import { type CollectorOptions, IdleCollector } from "../../src/cli/memory.ts";

/** Every trigger far away; each test brings near the one it is about. */
const FAR: CollectorOptions = {
  settleMs: 60_000,
  checkMs: 60_000,
  growthFactor: 100,
  youngCheckMs: 60_000,
  youngBusyMicros: 1e12,
  quietAfterBusyMs: 60_000,
  idleMicros: 1e12,
};

describe("IdleCollector", () => {
  test("a burst of changes is collected once, after the quiet time", async () => {
    let collections = 0;
    const collector = new IdleCollector({
      ...FAR,
      settleMs: 30,
      collect: () => collections++,
      heapBytes: () => 100,
    });
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
      ...FAR,
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

describe("IdleCollector young collections", () => {
  test("a process busier than the threshold between looks gets a young collection; an idle one none", async () => {
    let cpu = 0;
    let young = 0;
    let full = 0;
    let heapReads = 0;
    const collector = new IdleCollector({
      ...FAR,
      youngCheckMs: 10,
      youngBusyMicros: 50,
      collect: () => full++,
      collectYoung: () => young++,
      heapBytes: () => {
        heapReads++;
        return 100;
      },
      cpuMicros: () => cpu,
    });
    const readsAtStart = heapReads;
    await Bun.sleep(50);
    expect(young).toBe(0); // idle: nothing runs
    cpu += 30; // a little work, below the threshold per look
    await Bun.sleep(30);
    expect(young).toBe(0);
    cpu += 60;
    await Bun.sleep(30);
    expect(young).toBe(1);
    expect(collector.youngCollections).toBe(1);
    expect(full).toBe(0);
    // The looks never size the heap: under a storm that walks every heap block (ms per call).
    expect(heapReads).toBe(readsAtStart);
    collector.stop();
    cpu += 100;
    await Bun.sleep(30);
    expect(young).toBe(1); // stopped
  });
});

/** A collector that looks every 10 ms, on a CPU clock the test moves, counting its full collections. */
function stormCollector(youngBusyMicros: number): { collector: IdleCollector; work: (micros: number) => void; full: () => number } {
  let cpu = 0;
  let full = 0;
  const collector = new IdleCollector({
    ...FAR,
    youngCheckMs: 10,
    youngBusyMicros,
    quietAfterBusyMs: 60,
    idleMicros: 10,
    collect: () => full++,
    collectYoung: () => {},
    heapBytes: () => 100,
    cpuMicros: () => cpu,
  });
  return { collector, work: (micros) => (cpu += micros), full: () => full };
}

test("once the process is idle for quietAfterBusyMs after a storm, one full collection runs", async () => {
  const { collector, work, full } = stormCollector(50);
  await Bun.sleep(100);
  expect(full()).toBe(0); // never busy: nothing
  work(100);
  await Bun.sleep(30);
  expect(collector.youngCollections).toBe(1);
  expect(full()).toBe(0);
  await Bun.sleep(120);
  expect(full()).toBe(1);
  await Bun.sleep(120);
  expect(full()).toBe(1); // once per busy period
  collector.stop();
});

test("what is registered afterStorm is let go once the storm is over, just before its collection, and not on other collections", async () => {
  const order: string[] = [];
  let cpu = 0;
  const collector = new IdleCollector({
    ...FAR,
    settleMs: 20,
    youngCheckMs: 10,
    youngBusyMicros: 50,
    quietAfterBusyMs: 60,
    idleMicros: 10,
    collect: () => order.push("collect"),
    collectYoung: () => {},
    heapBytes: () => 100,
    cpuMicros: () => cpu,
  });
  const unregister = collector.afterStorm(() => order.push("release"));
  collector.changed(); // a change of the resource set: its collection releases nothing
  await Bun.sleep(50);
  expect(order).toEqual(["collect"]);
  cpu += 100; // a storm
  await Bun.sleep(150);
  expect(order).toEqual(["collect", "release", "collect"]);
  unregister();
  cpu += 100; // another storm, nothing registered any more
  await Bun.sleep(150);
  expect(order).toEqual(["collect", "release", "collect", "collect"]);
  collector.stop();
});

test("the storm's own full collection is not taken for a storm: one collection and one release per storm", async () => {
  let cpu = 0;
  let full = 0;
  let releases = 0;
  const collector = new IdleCollector({
    ...FAR,
    youngCheckMs: 10,
    youngBusyMicros: 50,
    quietAfterBusyMs: 60,
    idleMicros: 10,
    collect: () => {
      full++;
      cpu += 1_000; // a full collection costs the process CPU, far above the storm threshold
    },
    collectYoung: () => {},
    heapBytes: () => 100,
    cpuMicros: () => cpu,
  });
  collector.afterStorm(() => releases++);
  cpu += 100; // the storm
  await Bun.sleep(300);
  expect(full).toBe(1);
  expect(releases).toBe(1);
  expect(collector.youngCollections).toBe(1);
  collector.stop();
});

test("after a storm, work below the storm threshold but above idle (a status drain) holds the full collection off until idle", async () => {
  const { collector, work, full } = stormCollector(1_000);
  work(2_000); // the storm
  await Bun.sleep(30);
  expect(collector.youngCollections).toBe(1);
  // The drain: ~30 µs of work per look (no young collection, not idle), for three times quietAfterBusyMs.
  const drain = setInterval(() => work(30), 10);
  await Bun.sleep(200);
  clearInterval(drain);
  expect(collector.youngCollections).toBe(1);
  expect(full()).toBe(0);
  await Bun.sleep(150);
  expect(full()).toBe(1); // idle now: the storm's one full collection
  collector.stop();
});
