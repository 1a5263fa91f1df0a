import { afterEach, describe, expect, test } from "bun:test";
import { TaskTimeoutError, WorkerFailedError, WorkerPool, workerEntry } from "../../../src/worker/pool.ts";
import type { FixtureTask } from "./fixture-worker.ts";

let pool: WorkerPool<FixtureTask, string> | undefined;
afterEach(() => pool?.close());

function makePool(options: { size?: number; timeoutMs?: number; idleMs?: number } = {}): WorkerPool<FixtureTask, string> {
  pool = new WorkerPool<FixtureTask, string>({
    entry: workerEntry(import.meta.url, "fixture-worker.ts", "unused-outside-the-binary"),
    timeoutMs: options.timeoutMs ?? 5_000,
    ...(options.size ? { size: options.size } : {}),
    ...(options.idleMs ? { idleMs: options.idleMs } : {}),
  });
  return pool;
}

describe("WorkerPool", () => {
  test("runs tasks on workers and returns their answers in order", async () => {
    const workers = makePool({ size: 2 });
    expect(await Promise.all(["a", "b", "c"].map((echo) => workers.run({ echo })))).toEqual(["echo a", "echo b", "echo c"]);
    expect(workers.workerCount).toBeLessThanOrEqual(2);
  });

  test("a handler error rejects that task only; the worker serves the next one", async () => {
    const workers = makePool({ size: 1 });
    await expect(workers.run({ throw: "bad input" })).rejects.toThrow("bad input");
    expect(await workers.run({ echo: "after" })).toBe("echo after");
  });

  test("a task over its budget is stopped even while it spins; the replacement serves the queue", async () => {
    const workers = makePool({ size: 1, timeoutMs: 200 });
    const started = performance.now();
    const stuck = workers.run({ spinMs: 60_000 });
    const queued = workers.run({ echo: "queued" });
    await expect(stuck).rejects.toBeInstanceOf(TaskTimeoutError);
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(await queued).toBe("echo queued");
  });

  test("a worker that dies fails its task with WorkerFailedError and is replaced", async () => {
    const workers = makePool({ size: 1 });
    await expect(workers.run({ crash: true })).rejects.toBeInstanceOf(WorkerFailedError);
    expect(await workers.run({ echo: "replacement" })).toBe("echo replacement");
  });

  test("idle workers are terminated, and started again when needed", async () => {
    const workers = makePool({ size: 1, idleMs: 50 });
    await workers.run({ echo: "x" });
    expect(workers.workerCount).toBe(1);
    const deadline = Date.now() + 2_000;
    while (workers.workerCount > 0 && Date.now() < deadline) await Bun.sleep(10);
    expect(workers.workerCount).toBe(0);
    expect(await workers.run({ echo: "again" })).toBe("echo again");
  });

  test("close rejects what is queued", async () => {
    const workers = makePool({ size: 1 });
    const running = workers.run({ spinMs: 300 });
    const queued = workers.run({ echo: "never" });
    workers.close();
    await expect(running).rejects.toBeInstanceOf(WorkerFailedError);
    await expect(queued).rejects.toBeInstanceOf(WorkerFailedError);
    await expect(workers.run({ echo: "closed" })).rejects.toBeInstanceOf(WorkerFailedError);
  });
});
