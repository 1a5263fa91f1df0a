// Runs CPU-heavy, input-controlled work (parsing users' YAML, translating Butane) on Bun Workers so that the thread
// answering machines never waits for it. Each task has a time budget: a worker that overruns it is terminated and
// replaced, so one pathological input costs at most that budget and never wedges the pool. Idle workers are
// terminated after a while, which also gives back whatever heap a huge input made them grow.
import { availableParallelism } from "node:os";

/** The task ran longer than its budget; its worker was terminated. */
export class TaskTimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`took longer than ${formatSeconds(timeoutMs)}; stopped`);
  }
}

/** The worker died or could not start (bad entry path, out of memory, uncaught error outside the handler). */
export class WorkerFailedError extends Error {}

/** Request and reply envelopes shared with `answerTasks` (worker side). */
export interface TaskEnvelope<Request> {
  id: number;
  request: Request;
}
export type TaskReply<Response> = { id: number; ok: true; response: Response } | { id: number; ok: false; error: string };

interface WorkerPoolOptions {
  /** Module the workers run, from `workerEntry()`. */
  entry: string;
  /** Most workers alive at once; default: the CPU count, at most 4. */
  size?: number;
  /** Default time budget of one task. */
  timeoutMs: number;
  /** Terminate a worker idle this long (its memory goes back to the system); default 10 s. */
  idleMs?: number;
  /** Called when a worker is replaced, for logs. */
  onWorkerReplaced?: (reason: string) => void;
}

/**
 * Where a worker module is. Under `bun run`/`bun test` that is the file next to the caller (`moduleUrl` is the
 * caller's `import.meta.url`); inside the `bun build --compile` binary Bun keeps each extra entry point under
 * `/$bunfs/root/` at its path relative to `src/` (the common folder of the entry points), so `pathInSrc` names it
 * there. scripts/build.ts must list the module as an entry point.
 */
export function workerEntry(moduleUrl: string, fileName: string, pathInSrc: string): string {
  if (Bun.main.startsWith("/$bunfs/")) return `/$bunfs/root/${pathInSrc}`;
  return new URL(`./${fileName}`, moduleUrl).href;
}

interface Slot {
  worker: Worker;
  task: RunningTask | undefined;
  idleTimer: ReturnType<typeof setTimeout> | undefined;
}

interface QueuedTask {
  id: number;
  request: unknown;
  timeoutMs: number;
  resolve: (response: unknown) => void;
  reject: (error: Error) => void;
}

interface RunningTask extends QueuedTask {
  timer: ReturnType<typeof setTimeout>;
}

export class WorkerPool<Request, Response> {
  private readonly slots = new Set<Slot>();
  private readonly queue: QueuedTask[] = [];
  private readonly size: number;
  private nextId = 1;
  private closed = false;

  constructor(private readonly options: WorkerPoolOptions) {
    this.size = Math.max(1, options.size ?? Math.min(4, availableParallelism()));
  }

  /** Runs one task on a worker; rejects with TaskTimeoutError or WorkerFailedError, or the handler's error. */
  run(request: Request, timeoutMs = this.options.timeoutMs): Promise<Response> {
    if (this.closed) return Promise.reject(new WorkerFailedError("worker pool is closed"));
    return new Promise<Response>((resolve, reject) => {
      this.queue.push({ id: this.nextId++, request, timeoutMs, resolve: (response) => resolve(response as Response), reject });
      this.dispatch();
    });
  }

  /** Terminates every worker; queued and running tasks are rejected. */
  close(): void {
    this.closed = true;
    for (const task of this.queue.splice(0)) task.reject(new WorkerFailedError("worker pool is closed"));
    for (const slot of [...this.slots]) this.retire(slot, new WorkerFailedError("worker pool is closed"));
  }

  /** Workers alive right now (for tests and metrics). */
  get workerCount(): number {
    return this.slots.size;
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      let slot = [...this.slots].find((candidate) => candidate.task === undefined);
      if (!slot) {
        if (this.slots.size >= this.size) return;
        slot = this.spawn();
      }
      const next = this.queue.shift();
      if (next) this.start(slot, next);
    }
  }

  private spawn(): Slot {
    const worker = new Worker(this.options.entry, { ref: false });
    const slot: Slot = { worker, task: undefined, idleTimer: undefined };
    worker.addEventListener("message", (event: MessageEvent<TaskReply<Response>>) => this.finish(slot, event.data));
    worker.addEventListener("error", (event: ErrorEvent) => {
      const reason = `worker failed: ${event.message || "unknown error"}`;
      this.options.onWorkerReplaced?.(reason);
      this.retire(slot, new WorkerFailedError(reason));
      this.dispatch();
    });
    worker.addEventListener("messageerror", () => {
      this.retire(slot, new WorkerFailedError("worker reply could not be decoded"));
      this.dispatch();
    });
    this.slots.add(slot);
    return slot;
  }

  private start(slot: Slot, task: QueuedTask): void {
    if (slot.idleTimer) clearTimeout(slot.idleTimer);
    slot.idleTimer = undefined;
    const timer = setTimeout(() => {
      this.options.onWorkerReplaced?.(`task ${formatSeconds(task.timeoutMs)} budget exceeded`);
      this.retire(slot, new TaskTimeoutError(task.timeoutMs));
      this.dispatch();
    }, task.timeoutMs);
    slot.task = { ...task, timer };
    // A busy worker keeps the process alive (a one-shot `validate` must wait for it); an idle one does not.
    slot.worker.ref();
    const envelope: TaskEnvelope<unknown> = { id: task.id, request: task.request };
    slot.worker.postMessage(envelope);
  }

  private finish(slot: Slot, reply: TaskReply<Response>): void {
    const task = slot.task;
    if (!task || task.id !== reply.id) return; // a late answer from a task already given up on
    clearTimeout(task.timer);
    slot.task = undefined;
    slot.worker.unref();
    if (reply.ok) task.resolve(reply.response);
    else task.reject(new Error(reply.error));
    slot.idleTimer = setTimeout(() => this.retire(slot), this.options.idleMs ?? 10_000);
    slot.idleTimer.unref?.();
    this.dispatch();
  }

  /** Terminates a worker; its running task (if any) is rejected with `error`. */
  private retire(slot: Slot, error?: Error): void {
    if (!this.slots.delete(slot)) return;
    if (slot.idleTimer) clearTimeout(slot.idleTimer);
    const task = slot.task;
    slot.task = undefined;
    slot.worker.terminate();
    if (task) {
      clearTimeout(task.timer);
      task.reject(error ?? new WorkerFailedError("worker stopped"));
    }
  }
}

function formatSeconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(3))} s`;
}
