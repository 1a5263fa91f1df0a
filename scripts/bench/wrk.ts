// Runs wrk with one of our Lua scripts and parses the BENCH_RESULT line its done() hook prints.
import { join } from "node:path";
import * as v from "valibot";
import { spawnPiped } from "./processes.ts";

const LUA_DIR = join(import.meta.dir, "lua");

const WrkResultSchema = v.object({
  requests: v.number(),
  durationUs: v.number(),
  bytes: v.number(),
  p50Us: v.number(),
  p90Us: v.number(),
  p99Us: v.number(),
  maxUs: v.number(),
  meanUs: v.number(),
  connectErrors: v.number(),
  readErrors: v.number(),
  writeErrors: v.number(),
  statusErrors: v.number(),
  timeouts: v.number(),
});

export interface WrkResult extends v.InferOutput<typeof WrkResultSchema> {
  requestsPerSecond: number;
  bytesPerSecond: number;
  /** Responses ≥ 400, socket errors and timeouts: any of these makes a measurement invalid. */
  failures: number;
}

interface WrkRun {
  wrk: string;
  url: string;
  script: "boot-routes.lua" | "ranged.lua";
  scriptArgs: string[];
  connections: number;
  threads: number;
  durationSeconds: number;
  /** Per-request timeout; full 200 MiB downloads need more than wrk's 2 s default. */
  timeoutSeconds?: number;
}

export async function runWrk(run: WrkRun): Promise<WrkResult> {
  const command = [
    run.wrk,
    `-t${run.threads}`,
    `-c${run.connections}`,
    `-d${run.durationSeconds}s`,
    `--timeout`,
    `${run.timeoutSeconds ?? 5}s`,
    "-s",
    join(LUA_DIR, run.script),
    run.url,
    "--",
    ...run.scriptArgs,
  ];
  const child = spawnPiped(command, { ...process.env, BENCH_LUA_DIR: LUA_DIR });
  // The watchdog bounds a hung wrk.
  const watchdog = setTimeout(() => child.kill("SIGKILL"), (run.durationSeconds + 30) * 1000);
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  clearTimeout(watchdog);
  const line = stdout.split("\n").find((text) => text.startsWith("BENCH_RESULT "));
  if (code !== 0 || !line) throw new Error(`wrk ${command.join(" ")} exited with ${code}:\n${stdout}\n${stderr}`);
  const parsed = v.parse(WrkResultSchema, JSON.parse(line.slice("BENCH_RESULT ".length)));
  const seconds = parsed.durationUs / 1e6;
  return {
    ...parsed,
    requestsPerSecond: parsed.requests / seconds,
    bytesPerSecond: parsed.bytes / seconds,
    failures: parsed.statusErrors + parsed.connectErrors + parsed.readErrors + parsed.writeErrors + parsed.timeouts,
  };
}
