// KeyedWorkQueue: deduplication and per-key exclusion, observed through the order in which keys are processed.
import { expect, test } from "bun:test";
import { KeyedWorkQueue } from "../../src/controllers/work-queue.ts";
import { eventually } from "../harness/wait.ts";

/** Polls fast: the queue works on microtasks, so the condition holds within a tick or two. */
const SOON = { timeoutMs: 2_000, intervalMs: 1 };

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
  await eventually(async () => seen.length === 1, "a taken by a worker", SOON);
  queue.add("a"); // changed while the first run is blocked
  queue.add("b");
  queue.kick();
  // b overtakes the blocked a; the second a must wait for the first to finish.
  await eventually(async () => seen.length === 2, "b processed while a is blocked", SOON);
  // c, queued after the second a, is taken first: proof that a is held back (not merely not reached yet).
  queue.add("c");
  queue.kick();
  await eventually(async () => seen.length === 3, "c processed while a is blocked", SOON);
  expect(seen).toEqual(["a", "b", "c"]);
  release();
  await eventually(async () => seen.length === 4, "a processed again after its first run", SOON);
  expect(seen).toEqual(["a", "b", "c", "a"]);
  expect(overlap).toBe(false);
  await queue.stop();
});

test("keys added many times before processing run once", async () => {
  const seen: string[] = [];
  const queue = new KeyedWorkQueue(async (key) => void seen.push(key), 1);
  for (let i = 0; i < 10; i++) queue.add("x");
  queue.add("last"); // one worker takes keys in order: once "last" is done, every "x" would have been too
  queue.start();
  await eventually(async () => seen.includes("last"), "the last key processed", SOON);
  expect(seen).toEqual(["x", "last"]);
  await queue.stop();
});
