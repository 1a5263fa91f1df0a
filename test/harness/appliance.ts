// Starts the compiled binary (dist/boot-operator) as a child process on a free loopback port and exposes its URL and
// its structured log lines. Integration tests use only this: what users run is what we test.
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { eventually } from "./wait.ts";

export const REPO_ROOT = join(import.meta.dir, "..", "..");
export const BINARY = process.env.BOOT_OPERATOR_BINARY ?? join(REPO_ROOT, "dist", "boot-operator");

export interface LogLine {
  level: string;
  msg: string;
  [field: string]: unknown;
}

export interface Appliance {
  url: string;
  port: number;
  pid: number;
  logs: LogLine[];
  /** Raw stderr text that was not JSON (crashes, usage errors). */
  rawStderr: () => string;
  waitForLog(predicate: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  waitReady(timeoutMs?: number): Promise<void>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code. */
  stop(graceMs?: number): Promise<number | null>;
  process: Subprocess<"ignore", "pipe", "pipe">;
}

export function requireBinary(): string {
  if (!existsSync(BINARY)) throw new Error(`${BINARY} is missing: run "bun run build" first (the test command does)`);
  return BINARY;
}

export interface StartOptions {
  env?: Record<string, string>;
  listen?: string;
  /** Start it the Go operator's way: flags without the `serve` command (as its Deployments run /manager). */
  goManager?: boolean;
  /** Another path to the binary (e.g. a symlink named "manager"). */
  binary?: string;
}

export async function startAppliance(args: string[], options: StartOptions = {}): Promise<Appliance> {
  const binary = options.binary ?? requireBinary();
  const listenArgs = args.includes("--listen") || options.env?.BOOT_OPERATOR_LISTEN ? [] : ["--listen", options.listen ?? "127.0.0.1:0"];
  const child = Bun.spawn([binary, ...(options.goManager ? [] : ["serve"]), ...listenArgs, ...args], {
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/tmp", ...options.env },
  });
  const logs: LogLine[] = [];
  let raw = "";
  const waiters: { predicate: (line: LogLine) => boolean; resolve: (line: LogLine) => void }[] = [];
  const pump = async (): Promise<void> => {
    const decoder = new TextDecoder();
    let buffer = "";
    for await (const chunk of child.stderr) {
      buffer += decoder.decode(chunk, { stream: true });
      for (let newline = buffer.indexOf("\n"); newline >= 0; newline = buffer.indexOf("\n")) {
        const text = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        let line: LogLine;
        try {
          line = JSON.parse(text) as LogLine;
        } catch {
          raw += `${text}\n`;
          continue;
        }
        logs.push(line);
        for (const waiter of [...waiters]) {
          if (waiter.predicate(line)) {
            waiters.splice(waiters.indexOf(waiter), 1);
            waiter.resolve(line);
          }
        }
      }
    }
  };
  void pump();
  const waitForLog = (predicate: (line: LogLine) => boolean, timeoutMs = 15_000): Promise<LogLine> => {
    const existing = logs.find(predicate);
    if (existing) return Promise.resolve(existing);
    return new Promise((resolve, reject) => {
      const waiter = {
        predicate,
        resolve: (line: LogLine) => {
          clearTimeout(timer);
          resolve(line);
        },
      };
      const timer = setTimeout(() => {
        waiters.splice(waiters.indexOf(waiter), 1);
        reject(
          new Error(
            `timed out waiting for a log line; last lines:\n${logs
              .slice(-10)
              .map((l) => JSON.stringify(l))
              .join("\n")}\n${raw}`,
          ),
        );
      }, timeoutMs);
      waiters.push(waiter);
    });
  };
  const exited = child.exited;
  const listening = await Promise.race([
    waitForLog((line) => line.msg === "boot server listening", 20_000),
    exited.then((code) => {
      throw new Error(`boot-operator exited with ${code} before listening:\n${raw}${logs.map((l) => JSON.stringify(l)).join("\n")}`);
    }),
  ]);
  const url = String(listening.url);
  const port = Number(new URL(url).port);
  return {
    url,
    port,
    pid: child.pid,
    logs,
    rawStderr: () => raw,
    waitForLog,
    async waitReady(timeoutMs = 20_000) {
      await eventually(
        async () => {
          const response = await fetch(`${url}/readyz`);
          const text = await response.text();
          if (response.status !== 200) throw new Error(`/readyz ${response.status}: ${text.trim()}`);
          return true;
        },
        "/readyz to answer 200",
        { timeoutMs, intervalMs: 50, abortIf: () => (child.exitCode !== null ? `boot-operator exited with ${child.exitCode}` : undefined) },
      );
    },
    async stop(graceMs = 10_000) {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
    process: child,
  };
}

/** Runs a one-shot command of the binary (validate, explain, version) and captures its output. */
/** `stdin`: text the command reads on its standard input (none given: no input). */
export async function runCommand(args: string[], env: Record<string, string> = {}, stdin?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = Bun.spawn([requireBinary(), ...args], {
    stdout: "pipe",
    stderr: "pipe",
    stdin: stdin === undefined ? "ignore" : new Blob([stdin]),
    env: { PATH: process.env.PATH ?? "", ...env },
  });
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return { code, stdout, stderr };
}

/** RSS of a process in KiB, from /proc. */
export async function rssKiB(pid: number): Promise<number> {
  const status = await Bun.file(`/proc/${pid}/status`).text();
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
}
