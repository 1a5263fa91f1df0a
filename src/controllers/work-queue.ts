// A keyed work queue for reconcilers, after client-go's workqueue: a key queued many times is processed once; a key
// is never processed by two workers at once (a slower worker holding older state could otherwise write last); a key
// that changes while it is being processed is processed again afterwards; a slow key never holds up the others.
// Reconcilers say what should happen next (done, requeue after a delay, back off, or failed) and the queue owns the
// timing: delayed adds and per-key exponential backoff, so no reconciler keeps timers or attempt counters of its own.
import { type BackoffOptions, backoffDelay } from "../kube/backoff.ts";

/** What a queue item names: one object of one kind (namespace "" for cluster-scoped objects). */
export interface ObjectKey {
  kind: string;
  namespace: string;
  name: string;
}

export type ReconcileResult =
  | { type: "done" }
  | { type: "requeueAfter"; ms: number }
  | { type: "error"; error: Error }
  /** Not a failure, but repeating at once would do harm (e.g. fighting another writer): retry after the key's backoff. */
  | { type: "backOff"; backoff?: BackoffOptions }
  /** Nothing was done because a retry of the key is already scheduled: its schedule and backoff stay as they are. */
  | { type: "deferred" };

export const done: ReconcileResult = { type: "done" };

export const deferred: ReconcileResult = { type: "deferred" };

/** Requeue after the key's next backoff step (`backoff` overrides the queue's own curve for this step). */
export function backOff(backoff?: BackoffOptions): ReconcileResult {
  return backoff ? { type: "backOff", backoff } : { type: "backOff" };
}

export function requeueAfter(ms: number): ReconcileResult {
  return { type: "requeueAfter", ms };
}

export function failed(error: unknown): ReconcileResult {
  return { type: "error", error: error instanceof Error ? error : new Error(String(error)) };
}

/** The timers the queue uses; tests pass a manual clock so delays are asserted without sleeping. */
export interface QueueClock {
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const systemClock: QueueClock = {
  // Monotonic: due times are compared with it when the one timer fires, so a wall clock stepped back (NTP) must not
  // hold delayed keys back by the step.
  now: () => performance.now(),
  setTimeout: (callback, ms) => {
    const timer = setTimeout(callback, ms);
    // A pending retry alone must not keep the process alive.
    timer.unref?.();
    return timer;
  },
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

interface KeyedWorkQueueOptions<K extends ObjectKey> {
  /** Workers processing different keys at once. */
  concurrency?: number;
  /** Backoff of addRateLimited; client-go uses 5 ms → 1000 s, each reconciler picks what fits what it retries. */
  backoff?: BackoffOptions;
  /** Told about every failed item, with the delay of its retry (for logs and stats). */
  onError?: (key: K, error: Error, retryInMs: number) => void;
  clock?: QueueClock;
  random?: () => number;
}

interface Delayed<K> {
  key: K;
  at: number;
}

/** A delayed key's place in the due-time heap; stale once the key's delay was shortened or it ran. */
interface DueEntry {
  at: number;
  id: string;
}

/** Kind, namespace and name never contain "/", so joining them is unambiguous. */
function idOf(key: ObjectKey): string {
  return `${key.kind}/${key.namespace}/${key.name}`;
}

const DEFAULT_BACKOFF: BackoffOptions = { base: 500, cap: 30_000, jitter: 0.25 };

export class KeyedWorkQueue<K extends ObjectKey = ObjectKey> {
  private readonly pending = new Map<string, K>();
  private readonly inFlight = new Set<string>();
  /**
   * Delayed keys, and their due times in a min-heap with one timer for the earliest, as client-go's delaying queue
   * keeps them: a timer per key (a Timeout and its closure each) held 20 000 of them at 10 000 machines after a
   * storm, every booting config waiting for its stall deadline.
   */
  private readonly delayed = new Map<string, Delayed<K>>();
  private due: DueEntry[] = [];
  private timer: unknown;
  /** When the timer fires (Infinity: none armed). */
  private timerAt = Number.POSITIVE_INFINITY;
  private readonly failures = new Map<string, number>();
  private running = false;
  private workers = 0;
  /** Callers of stop() waiting for the last worker (leader loss and shutdown may both be stopping). */
  private idleWaiters: (() => void)[] = [];
  private readonly concurrency: number;
  private readonly backoff: BackoffOptions;
  private readonly clock: QueueClock;

  constructor(
    private readonly process: (key: K) => Promise<ReconcileResult>,
    private readonly options: KeyedWorkQueueOptions<K> = {},
  ) {
    this.concurrency = options.concurrency ?? 4;
    this.backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.clock = options.clock ?? systemClock;
  }

  /** Keys waiting to be processed now (not counting delayed ones). */
  get size(): number {
    return this.pending.size;
  }

  /** Keys waiting to be processed now or being processed (delayed ones not counted). */
  get busy(): boolean {
    return this.pending.size + this.inFlight.size > 0;
  }

  /** Keys waiting for a delay to pass. */
  get waiting(): number {
    return this.delayed.size;
  }

  /** Queues a key; workers pick it up on the next kick (callers decide when the world is consistent enough). */
  add(key: K): void {
    this.pending.set(idOf(key), key);
  }

  /** Queues a key once `ms` have passed, then kicks. An earlier pending delay for the key wins over a later one. */
  addAfter(key: K, ms: number): void {
    if (ms <= 0) {
      this.add(key);
      this.kick();
      return;
    }
    const id = idOf(key);
    const at = this.clock.now() + ms;
    const existing = this.delayed.get(id);
    if (existing && existing.at <= at) return;
    this.delayed.set(id, { key, at });
    pushDue(this.due, { at, id });
    this.arm();
  }

  /** The timer, set for the earliest due time when that is sooner than the one it is set for. */
  private arm(): void {
    const earliest = this.due[0];
    if (earliest === undefined || earliest.at >= this.timerAt) return;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timerAt = earliest.at;
    this.timer = this.clock.setTimeout(() => this.fire(), Math.max(0, earliest.at - this.clock.now()));
  }

  /** Every key now due is queued (entries left stale by a shortened delay are dropped), then the timer is reset. */
  private fire(): void {
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
    const now = this.clock.now();
    let queued = false;
    for (let entry = this.due[0]; entry !== undefined && entry.at <= now; entry = this.due[0]) {
      popDue(this.due);
      const item = this.delayed.get(entry.id);
      if (item?.at !== entry.at) continue;
      this.delayed.delete(entry.id);
      this.add(item.key);
      queued = true;
    }
    if (queued) this.kick();
    this.arm();
  }

  /** Queues a key after its backoff: each call without a forget in between doubles the delay, up to the cap. */
  addRateLimited(key: K, backoff: BackoffOptions = this.backoff): number {
    const id = idOf(key);
    const attempt = this.failures.get(id) ?? 0;
    this.failures.set(id, attempt + 1);
    const delay = backoffDelay(attempt, backoff, this.options.random);
    this.addAfter(key, delay);
    return delay;
  }

  /** The key succeeded: its next failure starts the backoff from the beginning again. */
  forget(key: K): void {
    this.failures.delete(idOf(key));
  }

  /** Failures (and back-offs) since the last forget. */
  retries(key: K): number {
    return this.failures.get(idOf(key)) ?? 0;
  }

  /** True while the key waits for a delay (addAfter, requeueAfter, a backoff) to pass. */
  scheduled(key: K): boolean {
    return this.delayed.has(idOf(key));
  }

  /** Starts workers for runnable keys, up to the concurrency limit; a slow key never holds up the others. */
  kick(): void {
    while (this.running && this.workers < this.concurrency && this.hasRunnable()) {
      this.workers++;
      void this.work().finally(() => {
        this.workers--;
        if (this.workers === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
        // A key skipped because it was in flight may be runnable now.
        this.kick();
      });
    }
  }

  start(): void {
    this.running = true;
    this.kick();
  }

  /**
   * Stops taking keys and waits for the ones being processed. Delayed keys become pending (never dropped): a later
   * start processes them.
   */
  async stop(): Promise<void> {
    this.running = false;
    for (const [id, item] of this.delayed) this.pending.set(id, item.key);
    this.delayed.clear();
    this.due = [];
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
    if (this.workers > 0) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  private hasRunnable(): boolean {
    for (const id of this.pending.keys()) if (!this.inFlight.has(id)) return true;
    return false;
  }

  private next(): [string, K] | undefined {
    for (const entry of this.pending) {
      if (!this.inFlight.has(entry[0])) {
        this.pending.delete(entry[0]);
        return entry;
      }
    }
    return undefined;
  }

  private async work(): Promise<void> {
    for (let entry = this.next(); entry !== undefined; entry = this.running ? this.next() : undefined) {
      const [id, key] = entry;
      this.inFlight.add(id);
      let result: ReconcileResult;
      try {
        result = await this.process(key);
      } catch (error) {
        result = failed(error);
      } finally {
        this.inFlight.delete(id);
      }
      this.settle(key, result);
    }
  }

  private settle(key: K, result: ReconcileResult): void {
    if (result.type === "done") this.forget(key);
    else if (result.type === "requeueAfter") {
      this.forget(key);
      this.addAfter(key, result.ms);
    } else if (result.type === "backOff") this.addRateLimited(key, result.backoff);
    else if (result.type === "error") {
      const delay = this.addRateLimited(key);
      this.options.onError?.(key, result.error, delay);
    }
    // "deferred": the retry already scheduled stands.
  }
}

/** Binary min-heap by due time: push. */
function pushDue(heap: DueEntry[], entry: DueEntry): void {
  heap.push(entry);
  let child = heap.length - 1;
  while (child > 0) {
    const parent = (child - 1) >> 1;
    if ((heap[parent] as DueEntry).at <= entry.at) break;
    heap[child] = heap[parent] as DueEntry;
    child = parent;
  }
  heap[child] = entry;
}

/** Binary min-heap by due time: removes the earliest. */
function popDue(heap: DueEntry[]): void {
  const last = heap.pop();
  if (last === undefined || heap.length === 0) return;
  let parent = 0;
  for (;;) {
    let child = 2 * parent + 1;
    if (child >= heap.length) break;
    const right = child + 1;
    if (right < heap.length && (heap[right] as DueEntry).at < (heap[child] as DueEntry).at) child = right;
    if ((heap[child] as DueEntry).at >= last.at) break;
    heap[parent] = heap[child] as DueEntry;
    parent = child;
  }
  heap[parent] = last;
}
