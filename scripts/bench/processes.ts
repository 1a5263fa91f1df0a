// Every process the benchmark starts is registered here and killed on the way out: normal end, error, Ctrl-C or
// SIGTERM. Also: free loopback ports, readiness polling and RSS sampling from /proc.

import { closeSync, openSync } from "node:fs";
import { createServer } from "node:net";
import type { Subprocess } from "bun";
import { eventually } from "../../test/harness/wait.ts";

type Child = Subprocess<"ignore", number | "ignore", number | "ignore">;
type PipedChild = Subprocess<"ignore", "pipe", "pipe">;

/** What cleanup needs of any child, whatever its stdio. */
interface Killable {
  kill(signal?: NodeJS.Signals | number): void;
  readonly exited: Promise<number>;
}

const children = new Set<Killable>();
const cleanups: (() => Promise<void>)[] = [];
let exiting = false;

interface SpawnOptions {
  /** Appends stdout and stderr to this file (the appliance's JSON logs, nginx errors). */
  logFile?: string;
  env?: Record<string, string>;
  cwd?: string;
}

export function spawnTracked(command: string[], options: SpawnOptions = {}): Child {
  const logFd = options.logFile ? openSync(options.logFile, "a") : undefined;
  try {
    const child = Bun.spawn(command, {
      stdin: "ignore",
      stdout: logFd ?? "ignore",
      stderr: logFd ?? "ignore",
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/tmp", ...options.env },
      ...(options.cwd ? { cwd: options.cwd } : {}),
    });
    children.add(child);
    void child.exited.then(() => children.delete(child));
    return child;
  } finally {
    if (logFd !== undefined) closeSync(logFd); // the child holds its own copy
  }
}

/** A child whose output the benchmark parses (wrk, openssl); tracked like the others. */
export function spawnPiped(command: string[], env: Record<string, string | undefined> = process.env): PipedChild {
  const child = Bun.spawn(command, { stdin: "ignore", stdout: "pipe", stderr: "pipe", env });
  children.add(child);
  void child.exited.then(() => children.delete(child));
  return child;
}

/** SIGTERM, then SIGKILL after `graceMs`. */
export async function stopProcess(child: Child, graceMs = 5_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  await child.exited;
  clearTimeout(timer);
}

/** Runs `cleanup` when the benchmark ends for any reason (registered cleanups run last-in, first-out). */
export function onCleanup(cleanup: () => Promise<void>): void {
  cleanups.push(cleanup);
}

/**
 * SIGTERM first: nginx's master must take its workers down (a SIGKILLed master leaves them orphaned), and the
 * appliance closes its connections. Whatever still runs after `graceMs` gets SIGKILL.
 */
export async function cleanupAll(graceMs = 5_000): Promise<void> {
  const running = [...children];
  for (const child of running) child.kill("SIGTERM");
  const timer = setTimeout(() => {
    for (const child of running) child.kill("SIGKILL");
  }, graceMs);
  await Promise.all(running.map((child) => child.exited));
  clearTimeout(timer);
  while (cleanups.length > 0) {
    const cleanup = cleanups.pop();
    await cleanup?.().catch((error: unknown) => console.error(`cleanup failed: ${String(error)}`));
  }
}

export function installSignalHandlers(): void {
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => {
      if (exiting) return;
      exiting = true;
      console.error(`\n${signal}: stopping every process the benchmark started…`);
      void cleanupAll().finally(() => process.exit(130));
    });
  }
  // Last resort if the event loop dies without reaching cleanupAll(). SIGTERM, because nginx's workers survive a
  // SIGKILLed master; every process we start exits on SIGTERM.
  process.on("exit", () => {
    for (const child of children) child.kill("SIGTERM");
  });
}

export async function freeLoopbackPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string") throw new Error("loopback listener has no port");
  return address.port;
}

/** Polls `url` until it answers 200 (a short interval: startup time is measured with it). Fails early if `child` exits. */
export async function waitFor200(url: string, child: Child, timeoutMs: number, pollMs = 5): Promise<void> {
  await eventually(
    async () => {
      const response = await fetch(url);
      await response.arrayBuffer();
      return response.status === 200;
    },
    `${url} to answer 200`,
    {
      timeoutMs,
      intervalMs: pollMs,
      abortIf: () => (child.exitCode !== null || child.signalCode !== null ? `process exited (${child.exitCode ?? child.signalCode})` : undefined),
    },
  );
}

/** Resident set size in MiB, from /proc/<pid>/status (VmRSS). */
export async function rssMiB(pid: number): Promise<number> {
  const status = await Bun.file(`/proc/${pid}/status`).text();
  const kib = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]);
  if (!Number.isFinite(kib)) throw new Error(`no VmRSS for pid ${pid}`);
  return kib / 1024;
}

/** CPU time (user + system) a process has used so far, in microseconds, from /proc/<pid>/stat. */
export async function cpuMicros(pid: number): Promise<number> {
  const stat = await Bun.file(`/proc/${pid}/stat`).text();
  // Fields after the parenthesised command name: state is field 3, utime 14, stime 15 (clock ticks).
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1e6) / CLOCK_TICKS_PER_SECOND;
}
/**
 * Waits until the process uses less than `busyFraction` of a core over one second (start-up work on its worker
 * threads, such as translating every Butane config, is not what a boot request costs); at most `timeoutMs`.
 * Returns how long it waited.
 */
export async function waitForQuiet(pid: number, timeoutMs: number, busyFraction = 0.03): Promise<number> {
  const started = performance.now();
  let before = await cpuMicros(pid);
  while (performance.now() - started < timeoutMs) {
    await Bun.sleep(1_000);
    const now = await cpuMicros(pid);
    if (now - before < busyFraction * 1e6) break;
    before = now;
  }
  return performance.now() - started;
}

/** USER_HZ: 100 on every Linux architecture Bun runs on. */
const CLOCK_TICKS_PER_SECOND = 100;

/** Samples RSS every `intervalMs` until stopped; reports the peak and the last sample. */
export function sampleRss(pid: number, intervalMs = 100): { stop: () => Promise<{ peakMiB: number; lastMiB: number; samples: number }> } {
  let peak = 0;
  let last = 0;
  let samples = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      const value = await rssMiB(pid).catch(() => NaN);
      if (Number.isFinite(value)) {
        peak = Math.max(peak, value);
        last = value;
        samples++;
      }
      await Bun.sleep(intervalMs); // the sampling period
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { peakMiB: peak, lastMiB: last, samples };
    },
  };
}
