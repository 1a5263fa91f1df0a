// The process's CPU looks: saturated while a look within holdMs used at least saturatedShare of a core, and every
// listener told each look's CPU (the idle collector and the served-status writer read the same looks).
import { expect, test } from "bun:test";
import { CpuLoad } from "../../src/observability/cpu-load.ts";

/** Looks every 10 ms; saturated at 5 000 µs per look (half a core); held 60 ms. */
function load(): { cpuLoad: CpuLoad; work: (micros: number) => void } {
  let cpu = 0;
  const cpuLoad = new CpuLoad({ periodMs: 10, saturatedShare: 0.5, holdMs: 60, cpuMicros: () => cpu });
  return { cpuLoad, work: (micros) => (cpu += micros) };
}

test("a look at half a core or more is saturated for holdMs; below it, never", async () => {
  const { cpuLoad, work } = load();
  await Bun.sleep(30);
  expect(cpuLoad.saturated()).toBe(false);
  work(4_000); // below half a core in one look
  await Bun.sleep(25);
  expect(cpuLoad.saturated()).toBe(false);
  work(6_000);
  await Bun.sleep(25);
  expect(cpuLoad.saturated()).toBe(true);
  await Bun.sleep(30);
  expect(cpuLoad.saturated()).toBe(true); // a storm's short gap is not its end
  await Bun.sleep(80);
  expect(cpuLoad.saturated()).toBe(false);
  cpuLoad.stop();
});

test("listeners get each look's CPU; unsubscribing and stopping end it", async () => {
  const { cpuLoad, work } = load();
  const seen: number[] = [];
  const unsubscribe = cpuLoad.onLook((used) => seen.push(used));
  await Bun.sleep(25);
  work(700);
  await Bun.sleep(25);
  expect(seen.length).toBeGreaterThanOrEqual(3);
  expect(seen.reduce((sum, used) => sum + used, 0)).toBe(700);
  unsubscribe();
  const count = seen.length;
  await Bun.sleep(25);
  expect(seen.length).toBe(count);
  cpuLoad.stop();
});
