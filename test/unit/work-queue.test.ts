import { expect, test } from "bun:test";
import { KeyedWorkQueue } from "../../src/controllers/work-queue.ts";

test("a key is never processed by two workers at once, and a change during processing is processed again", async () => {
  const running = new Set<string>();
  const seen: string[] = [];
  let overlap = false;
  let release: () => void = () => {};
  const gate = new Promise<void>((resolve) => (release = resolve));
  const queue = new KeyedWorkQueue(async (key) => {
    if (running.has(key)) overlap = true;
    running.add(key);
    seen.push(key);
    if (seen.length === 1) await gate;
    running.delete(key);
  }, 4);
  queue.start();
  queue.add("a");
  queue.kick();
  await Bun.sleep(5);
  queue.add("a"); // changed while the first run is blocked
  queue.add("b");
  queue.kick();
  await Bun.sleep(5);
  expect(seen).toEqual(["a", "b"]);
  release();
  for (let i = 0; i < 50 && seen.length < 3; i++) await Bun.sleep(5);
  expect(seen).toEqual(["a", "b", "a"]);
  expect(overlap).toBe(false);
  await queue.stop();
});

test("keys added many times before processing run once", async () => {
  const seen: string[] = [];
  const queue = new KeyedWorkQueue(async (key) => void seen.push(key), 2);
  for (let i = 0; i < 10; i++) queue.add("x");
  queue.start();
  for (let i = 0; i < 20 && seen.length < 1; i++) await Bun.sleep(5);
  await Bun.sleep(10);
  expect(seen).toEqual(["x"]);
  await queue.stop();
});
