// The work queue's guarantees (one worker per key, re-processing after a change in flight, no head-of-line blocking)
// and its timing (addAfter, addRateLimited, forget) on a manual clock: delays are asserted, never slept.
import { describe, expect, test } from "bun:test";
import {
  backOff,
  deferred as deferredResult,
  done,
  failed,
  KeyedWorkQueue,
  type ObjectKey,
  type QueueClock,
  type ReconcileResult,
  requeueAfter,
} from "../../src/controllers/work-queue.ts";

class ManualClock implements QueueClock {
  time = 0;
  private nextId = 1;
  private readonly timers = new Map<number, { at: number; callback: () => void }>();

  now(): number {
    return this.time;
  }

  setTimeout(callback: () => void, ms: number): unknown {
    const id = this.nextId++;
    this.timers.set(id, { at: this.time + ms, callback });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }

  get pendingTimers(): number {
    return this.timers.size;
  }

  /** Moves time forward, firing due timers in order. */
  advance(ms: number): void {
    const target = this.time + ms;
    for (;;) {
      let earliest: [number, { at: number; callback: () => void }] | undefined;
      for (const entry of this.timers) if (entry[1].at <= target && (!earliest || entry[1].at < earliest[1].at)) earliest = entry;
      if (!earliest) break;
      this.timers.delete(earliest[0]);
      this.time = earliest[1].at;
      earliest[1].callback();
    }
    this.time = target;
  }
}

/** Lets every queued promise callback run (processing here never waits on a timer). */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve: () => void = () => {};
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

const key = (name: string, kind = "IPXEBootConfig"): ObjectKey => ({ kind, namespace: "ns", name });
const NO_JITTER = { base: 100, cap: 1_000, jitter: 0 };

describe("guarantees", () => {
  test("a key is never processed by two workers at once, and a change during processing is processed again", async () => {
    const running = new Set<string>();
    const seen: string[] = [];
    let overlap = false;
    const gate = deferred();
    const queue = new KeyedWorkQueue(
      async (k) => {
        if (running.has(k.name)) overlap = true;
        running.add(k.name);
        seen.push(k.name);
        if (seen.length === 1) await gate.promise;
        running.delete(k.name);
        return done;
      },
      { concurrency: 4 },
    );
    queue.start();
    queue.add(key("a"));
    queue.kick();
    await settle();
    queue.add(key("a")); // changed while the first run is blocked
    queue.add(key("b"));
    queue.kick();
    await settle();
    expect(seen).toEqual(["a", "b"]); // b was not held up behind a; the second a waits
    gate.resolve();
    await settle();
    expect(seen).toEqual(["a", "b", "a"]);
    expect(overlap).toBe(false);
    await queue.stop();
  });

  test("keys added many times before processing run once; equal keys are equal by value, kinds apart", async () => {
    const seen: string[] = [];
    const queue = new KeyedWorkQueue(
      async (k) => {
        seen.push(`${k.kind}:${k.name}`);
        return done;
      },
      { concurrency: 2 },
    );
    for (let i = 0; i < 10; i++) queue.add(key("x"));
    queue.add(key("x", "HTTPBootConfig"));
    expect(queue.size).toBe(2);
    queue.start();
    await settle();
    expect(seen.sort()).toEqual(["HTTPBootConfig:x", "IPXEBootConfig:x"]);
    await queue.stop();
  });

  test("stop waits for the key in flight, for every caller", async () => {
    const gate = deferred();
    const queue = new KeyedWorkQueue(async () => {
      await gate.promise;
      return done;
    });
    queue.start();
    queue.add(key("a"));
    queue.kick();
    let stopped = 0;
    const stops = [queue.stop().then(() => stopped++), queue.stop().then(() => stopped++)];
    await settle();
    expect(stopped).toBe(0);
    gate.resolve();
    await Promise.all(stops);
    expect(stopped).toBe(2);
  });

  test("nothing runs before start, and added keys wait for a kick", async () => {
    const seen: string[] = [];
    const queue = new KeyedWorkQueue(async (k) => {
      seen.push(k.name);
      return done;
    });
    queue.add(key("a"));
    queue.kick();
    await settle();
    expect(seen).toEqual([]);
    queue.start();
    await settle();
    expect(seen).toEqual(["a"]);
    queue.add(key("b"));
    await settle();
    expect(seen).toEqual(["a"]);
    queue.kick();
    await settle();
    expect(seen).toEqual(["a", "b"]);
    await queue.stop();
  });
});

describe("addAfter", () => {
  test("a key becomes due after the delay, not before", async () => {
    const clock = new ManualClock();
    const seen: number[] = [];
    const queue = new KeyedWorkQueue(
      async () => {
        seen.push(clock.now());
        return done;
      },
      { clock },
    );
    queue.start();
    queue.addAfter(key("a"), 1_000);
    expect(queue.waiting).toBe(1);
    clock.advance(999);
    await settle();
    expect(seen).toEqual([]);
    clock.advance(1);
    await settle();
    expect(seen).toEqual([1_000]);
    expect(queue.waiting).toBe(0);
    await queue.stop();
  });

  test("the earlier of two delays wins; a later one never postpones", async () => {
    const clock = new ManualClock();
    const seen: number[] = [];
    const queue = new KeyedWorkQueue(
      async () => {
        seen.push(clock.now());
        return done;
      },
      { clock },
    );
    queue.start();
    queue.addAfter(key("a"), 1_000);
    queue.addAfter(key("a"), 5_000); // later: ignored
    queue.addAfter(key("a"), 300); // earlier: replaces
    expect(clock.pendingTimers).toBe(1);
    clock.advance(10_000);
    await settle();
    expect(seen).toEqual([300]);
    await queue.stop();
  });

  test("a thousand delayed keys share one timer and each runs once, at its own time, whatever the order they came in", async () => {
    const clock = new ManualClock();
    const ran = new Map<string, number[]>();
    const queue = new KeyedWorkQueue(
      async (k) => {
        ran.set(k.name, [...(ran.get(k.name) ?? []), clock.now()]);
        return done;
      },
      { clock, concurrency: 1000 },
    );
    queue.start();
    // Deterministic shuffle of due times 1..1000 ms; every third key is then moved earlier (its first entry goes stale).
    const due = new Map<string, number>();
    for (let i = 0; i < 1000; i++) {
      const ms = ((i * 7919) % 1000) + 1;
      queue.addAfter(key(`k${i}`), ms);
      due.set(`k${i}`, ms);
      if (i % 3 === 0 && ms > 1) {
        queue.addAfter(key(`k${i}`), ms - 1);
        due.set(`k${i}`, ms - 1);
      }
    }
    expect(clock.pendingTimers).toBe(1);
    expect(queue.waiting).toBe(1000);
    for (let step = 0; step < 1100; step++) {
      clock.advance(1);
      await settle();
    }
    expect(ran.size).toBe(1000);
    for (const [name, times] of ran) expect({ name, times }).toEqual({ name, times: [due.get(name) as number] });
    expect(clock.pendingTimers).toBe(0);
    expect(queue.waiting).toBe(0);
    await queue.stop();
  });

  test("a delay of zero queues and kicks at once", async () => {
    const seen: string[] = [];
    const queue = new KeyedWorkQueue(async (k) => {
      seen.push(k.name);
      return done;
    });
    queue.start();
    queue.addAfter(key("now"), 0);
    await settle();
    expect(seen).toEqual(["now"]);
    await queue.stop();
  });

  test("stop keeps delayed keys: they are pending, not dropped, and run on the next start", async () => {
    const clock = new ManualClock();
    const seen: string[] = [];
    const queue = new KeyedWorkQueue(
      async (k) => {
        seen.push(k.name);
        return done;
      },
      { clock },
    );
    queue.start();
    queue.addAfter(key("later"), 60_000);
    await queue.stop();
    expect(clock.pendingTimers).toBe(0);
    expect(queue.size).toBe(1);
    queue.start();
    await settle();
    expect(seen).toEqual(["later"]);
    await queue.stop();
  });
});

describe("addRateLimited and forget", () => {
  test("per-key exponential backoff up to the cap; forget starts over; keys do not share attempts", () => {
    const clock = new ManualClock();
    const queue = new KeyedWorkQueue(async () => done, { clock, backoff: NO_JITTER });
    expect([1, 2, 3, 4, 5, 6].map(() => queue.addRateLimited(key("a")))).toEqual([100, 200, 400, 800, 1_000, 1_000]);
    expect(queue.retries(key("a"))).toBe(6);
    expect(queue.addRateLimited(key("b"))).toBe(100);
    queue.forget(key("a"));
    expect(queue.retries(key("a"))).toBe(0);
    expect(queue.addRateLimited(key("a"))).toBe(100);
  });

  test("jitter only shortens, and never below the base", () => {
    const queue = new KeyedWorkQueue(async () => done, { clock: new ManualClock(), backoff: { base: 100, cap: 1_000, jitter: 0.5 }, random: () => 0 });
    // Ceilings 100, 200, 400: minus up to half the span above the base.
    expect([1, 2, 3].map(() => queue.addRateLimited(key("a")))).toEqual([100, 150, 250]);
  });
});

describe("reconcile results", () => {
  function harness(results: ReconcileResult[] | (() => never)) {
    const clock = new ManualClock();
    const runs: number[] = [];
    const errors: { error: string; retryInMs: number }[] = [];
    const queue = new KeyedWorkQueue(
      async () => {
        runs.push(clock.now());
        if (typeof results === "function") return results();
        return results.shift() ?? done;
      },
      { clock, backoff: NO_JITTER, onError: (_key, error, retryInMs) => errors.push({ error: error.message, retryInMs }) },
    );
    return { clock, runs, errors, queue };
  }

  test("an error is retried with growing delays; done forgets the failures", async () => {
    const { clock, runs, errors, queue } = harness([failed(new Error("boom")), failed(new Error("boom")), done]);
    queue.start();
    queue.add(key("a"));
    queue.kick();
    await settle();
    expect(runs).toEqual([0]);
    expect(errors).toEqual([{ error: "boom", retryInMs: 100 }]);
    clock.advance(100);
    await settle();
    expect(runs).toEqual([0, 100]);
    expect(errors.at(-1)).toEqual({ error: "boom", retryInMs: 200 });
    clock.advance(199);
    await settle();
    expect(runs).toEqual([0, 100]);
    clock.advance(1);
    await settle();
    expect(runs).toEqual([0, 100, 300]);
    expect(queue.retries(key("a"))).toBe(0);
    expect(queue.waiting).toBe(0);
    await queue.stop();
  });

  test("a thrown error counts as an error result", async () => {
    const { errors, queue } = harness(() => {
      throw new Error("thrown");
    });
    queue.start();
    queue.add(key("a"));
    queue.kick();
    await settle();
    expect(errors).toEqual([{ error: "thrown", retryInMs: 100 }]);
    expect(queue.waiting).toBe(1);
    await queue.stop();
  });

  test("requeueAfter comes back after exactly that delay and resets the backoff", async () => {
    const { clock, runs, queue } = harness([failed(new Error("once")), requeueAfter(5_000), done]);
    queue.start();
    queue.add(key("a"));
    queue.kick();
    await settle();
    clock.advance(100);
    await settle();
    expect(runs).toEqual([0, 100]);
    expect(queue.retries(key("a"))).toBe(0);
    clock.advance(5_000);
    await settle();
    expect(runs).toEqual([0, 100, 5_100]);
    await queue.stop();
  });

  test("backOff comes back after the key's growing backoff, no error reported; deferred leaves schedule and backoff alone", async () => {
    const { clock, runs, errors, queue } = harness([backOff(), deferredResult, backOff(), done]);
    queue.start();
    queue.add(key("a"));
    queue.kick();
    await settle();
    expect(queue.scheduled(key("a"))).toBe(true);
    expect(queue.retries(key("a"))).toBe(1);
    // A change arrives while the retry is scheduled: processed, says "deferred", the retry stands.
    queue.add(key("a"));
    queue.kick();
    await settle();
    expect(runs).toEqual([0, 0]);
    expect(queue.scheduled(key("a"))).toBe(true);
    expect(queue.retries(key("a"))).toBe(1);
    clock.advance(100);
    await settle();
    expect(runs).toEqual([0, 0, 100]);
    clock.advance(199);
    await settle();
    expect(runs).toHaveLength(3);
    clock.advance(1);
    await settle();
    expect(runs).toEqual([0, 0, 100, 300]);
    expect(errors).toEqual([]);
    expect(queue.retries(key("a"))).toBe(0);
    expect(queue.scheduled(key("a"))).toBe(false);
    await queue.stop();
  });

  test("backOff with its own curve", async () => {
    const { clock, runs, queue } = harness([backOff({ base: 1_000, cap: 5_000, jitter: 0 }), done]);
    queue.start();
    queue.add(key("a"));
    queue.kick();
    await settle();
    clock.advance(999);
    await settle();
    expect(runs).toEqual([0]);
    clock.advance(1);
    await settle();
    expect(runs).toEqual([0, 1_000]);
    await queue.stop();
  });

  test("a slow failing key does not hold up others", async () => {
    const clock = new ManualClock();
    const gate = deferred();
    const seen: string[] = [];
    const queue = new KeyedWorkQueue(
      async (k) => {
        seen.push(k.name);
        if (k.name === "slow") {
          await gate.promise;
          return failed(new Error("slow failure"));
        }
        return done;
      },
      { clock, concurrency: 2, backoff: NO_JITTER },
    );
    queue.start();
    for (const name of ["slow", "b", "c", "d"]) queue.add(key(name));
    queue.kick();
    await settle();
    expect(seen).toEqual(["slow", "b", "c", "d"]);
    gate.resolve();
    await settle();
    expect(queue.waiting).toBe(1);
    await queue.stop();
  });
});
