// UKI downloads, ours against nginx, without the rest of the benchmark: the same file, full and ranged, in
// alternating rounds (so drift from other work on the machine hits both alike), with each server's CPU time.
//   bun scripts/bench/uki-compare.ts [--rounds 3] [--duration 5] [--mib 200] [--only full|ranged] [--connections 8]
//     [--source embedded:samples | dir:/path/to/fleet]
//     [--binary dist/boot-operator | --tree name=DIR ...]   (default: src/main.ts of this checkout; several --tree
//     options compare source trees, e.g. a baseline from `git archive`, against each other and nginx;
//     --tree bare=scripts/bench/bare-uki.ts adds the Bun.serve + Bun.file floor)
import { chmod, mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { UKI_FILE_NAME, writeUkiFile } from "./machines.ts";
import { startNginx } from "./nginx.ts";
import { cleanupAll, cpuMicros, freeLoopbackPort, installSignalHandlers, onCleanup, spawnTracked, stopProcess, waitFor200 } from "./processes.ts";
import { runWrk, type WrkResult } from "./wrk.ts";

const REPO_ROOT = join(import.meta.dir, "..", "..");
const TOOLS_DIR = join(process.env.BOOT_OPERATOR_CACHE ?? join(process.env.HOME ?? "/root", ".cache", "boot-operator"), "bench", "current");
const RANGE_BYTES = 4 * 1024 * 1024;

const { values: flags } = parseArgs({
  options: {
    rounds: { type: "string", default: "3" },
    duration: { type: "string", default: "5" },
    mib: { type: "string", default: "200" },
    binary: { type: "string" },
    tree: { type: "string", multiple: true },
    only: { type: "string" },
    threads: { type: "string", default: "2" },
    connections: { type: "string", default: "8" },
    // The lead's bench serves /uki from the 10 000-machine directory appliance: a big heap, so GC shows.
    source: { type: "string", default: "embedded:samples" },
  },
});
const rounds = Number(flags.rounds);
const durationSeconds = Number(flags.duration);
const mebibytes = Number(flags.mib);
const CONNECTIONS = Number(flags.connections);
const kinds = (flags.only ? [flags.only] : ["full", "ranged"]) as ("full" | "ranged")[];

/** CPU of a process and its children (nginx: master + workers). */
async function treeCpuMicros(pid: number): Promise<number> {
  const children = (
    await Bun.file(`/proc/${pid}/task/${pid}/children`)
      .text()
      .catch(() => "")
  )
    .split(/\s+/)
    .filter(Boolean)
    .map(Number);
  const all = await Promise.all([pid, ...children].map((one) => cpuMicros(one).catch(() => 0)));
  return all.reduce((sum, value) => sum + value, 0);
}

/** CPU of this process's waited-for children (cutime + cstime): wrk's, once runWrk has reaped it. */
async function reapedChildrenCpuMicros(): Promise<number> {
  const stat = await Bun.file("/proc/self/stat").text();
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(fields[13]) + Number(fields[14])) * 1e6) / 100;
}

interface Sample {
  mibPerSecond: number;
  cpuMsPerGiB: number;
  cpuShare: number;
  /** wrk's CPU per GiB: the client's share of the work on the same cores. */
  clientMsPerGiB: number;
  requests: number;
  p50Ms: number;
  /** Our servers only: mean time from the handler's start to the response handed to Bun (the /metrics histogram). */
  handlerUs?: number;
}

/** The /uki/* duration histogram's sum and count, from /metrics. */
async function handlerTotals(url: string): Promise<{ seconds: number; count: number }> {
  const text = await fetch(`${url}/metrics`).then((response) => (response.ok ? response.text() : ""));
  const value = (name: string): number => Number(new RegExp(`^${name}\\{route="/uki/\\*"\\} (\\S+)$`, "m").exec(text)?.[1] ?? NaN);
  return { seconds: value("boot_operator_http_request_duration_seconds_sum"), count: value("boot_operator_http_request_duration_seconds_count") };
}

async function main(): Promise<void> {
  installSignalHandlers();
  const work = await mkdtemp(join(tmpdir(), "uki-compare-"));
  onCleanup(() => rm(work, { recursive: true, force: true }));
  await chmod(work, 0o755);
  const ukiDirectory = join(work, "uki");
  await mkdir(ukiDirectory);
  const ukiPath = join(ukiDirectory, UKI_FILE_NAME);
  await writeUkiFile(ukiPath, mebibytes);
  const nginx = await startNginx(join(TOOLS_DIR, "nginx"), { workDirectory: work, ukiDirectory, port: await freeLoopbackPort() });
  onCleanup(() => nginx.stop());
  const nginxPid = Number((await Bun.file(join(work, "nginx", "nginx.pid")).text()).trim());

  const candidates: { name: string; command: string[] }[] = flags.binary
    ? [{ name: "ours", command: [flags.binary] }]
    : (flags.tree ?? [`ours=${REPO_ROOT}`]).map((spec) => {
        const [name = "", dir = ""] = spec.split("=");
        // A .ts file instead of a tree: a stand-in server (bare-uki.ts, the Bun.serve floor).
        return { name, command: [process.execPath, dir.endsWith(".ts") ? dir : join(dir, "src", "main.ts")] };
      });
  const servers = [{ name: "nginx", url: nginx.url, cpu: () => treeCpuMicros(nginxPid), ours: false }];
  for (const candidate of candidates) {
    const port = await freeLoopbackPort();
    const url = `http://127.0.0.1:${port}`;
    const child = spawnTracked(
      [...candidate.command, "serve", "--source", String(flags.source), "--uki-dir", ukiDirectory, "--listen", `127.0.0.1:${port}`, "--log-level", "warn"],
      { logFile: join(work, `${candidate.name}.log`) },
    );
    await waitFor200(`${url}/readyz`, child, 120_000);
    onCleanup(() => stopProcess(child));
    servers.push({ name: candidate.name, url, cpu: () => cpuMicros(child.pid), ours: true });
  }
  // Page cache warm for all.
  for (const server of servers) await fetch(`${server.url}/uki/${UKI_FILE_NAME}`).then((response) => response.arrayBuffer());

  const requestFile = join(work, "requests-uki.txt");
  await Bun.write(requestFile, `/uki/${UKI_FILE_NAME}\t\n`);
  const samples = new Map<string, Sample[]>();
  const measure = async (server: (typeof servers)[number], kind: "full" | "ranged"): Promise<Sample> => {
    const handlerBefore = server.ours ? await handlerTotals(server.url) : undefined;
    const before = await server.cpu();
    const clientBefore = await reapedChildrenCpuMicros();
    const result: WrkResult = await runWrk({
      wrk: join(TOOLS_DIR, "wrk"),
      url: server.url,
      script: kind === "ranged" ? "ranged.lua" : "boot-routes.lua",
      scriptArgs: kind === "ranged" ? [`/uki/${UKI_FILE_NAME}`, String(mebibytes * 1024 * 1024), String(RANGE_BYTES)] : [requestFile],
      connections: CONNECTIONS,
      threads: Math.min(Number(flags.threads), CONNECTIONS),
      durationSeconds,
      timeoutSeconds: 60,
    });
    const cpu = (await server.cpu()) - before;
    const clientCpu = (await reapedChildrenCpuMicros()) - clientBefore;
    const handlerAfter = server.ours ? await handlerTotals(server.url) : undefined;
    if (result.failures > 0) throw new Error(`${server.name} ${kind}: ${result.failures} failures`);
    const seconds = result.durationUs / 1e6;
    return {
      mibPerSecond: result.bytesPerSecond / 1024 / 1024,
      cpuMsPerGiB: cpu / 1000 / (result.bytes / 1024 ** 3),
      cpuShare: cpu / 1e6 / seconds,
      clientMsPerGiB: clientCpu / 1000 / (result.bytes / 1024 ** 3),
      requests: result.requests,
      p50Ms: result.p50Us / 1000,
      ...(handlerBefore && handlerAfter
        ? { handlerUs: ((handlerAfter.seconds - handlerBefore.seconds) / (handlerAfter.count - handlerBefore.count)) * 1e6 }
        : {}),
    };
  };
  for (let round = 0; round < rounds; round++) {
    for (const kind of kinds) {
      // Rotate who goes first.
      const order = servers.map((_, index) => servers[(index + round) % servers.length]).filter((server) => server !== undefined);
      for (const server of order) {
        const sample = await measure(server, kind);
        const key = `${kind} ${server.name}`;
        samples.set(key, [...(samples.get(key) ?? []), sample]);
        console.log(
          `round ${round + 1} ${key.padEnd(13)} ${sample.mibPerSecond.toFixed(0).padStart(5)} MiB/s  server CPU ${sample.cpuMsPerGiB.toFixed(0).padStart(4)} ms/GiB (${(sample.cpuShare * 100).toFixed(0)}% of a core), wrk ${sample.clientMsPerGiB.toFixed(0)} ms/GiB  ${sample.requests} requests, p50 ${sample.p50Ms.toFixed(1)} ms${sample.handlerUs === undefined ? "" : `, handler ${sample.handlerUs.toFixed(0)} µs`}`,
        );
      }
    }
  }
  const median = (values: number[]): number => {
    const sorted = [...values].sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)] ?? NaN;
  };
  console.log(`\nmedians over ${rounds} rounds of ${durationSeconds} s, ${CONNECTIONS} connections, ${mebibytes} MiB file:`);
  for (const kind of kinds) {
    const ngRate = median((samples.get(`${kind} nginx`) ?? []).map((s) => s.mibPerSecond));
    for (const server of servers) {
      const own = samples.get(`${kind} ${server.name}`) ?? [];
      const rate = median(own.map((s) => s.mibPerSecond));
      const serverCpu = median(own.map((s) => s.cpuMsPerGiB)).toFixed(0);
      const clientCpu = median(own.map((s) => s.clientMsPerGiB)).toFixed(0);
      // Per-round ratio to the nginx run of the same round: steadier than a ratio of medians when load drifts.
      const ratios = own.map((s, index) => s.mibPerSecond / ((samples.get(`${kind} nginx`) ?? [])[index]?.mibPerSecond ?? NaN));
      const handler = own.flatMap((s) => (s.handlerUs === undefined || Number.isNaN(s.handlerUs) ? [] : [s.handlerUs]));
      const handlerText = handler.length > 0 ? `  handler ${median(handler).toFixed(0)} µs` : "";
      console.log(
        `${kind.padEnd(7)} ${server.name.padEnd(8)} ${rate.toFixed(0).padStart(5)} MiB/s  server ${serverCpu} + wrk ${clientCpu} ms CPU/GiB  ` +
          `${(rate / ngRate).toFixed(2)}× nginx (per-round median ${median(ratios).toFixed(2)}×)${handlerText}`,
      );
    }
  }
}

try {
  await main();
} finally {
  await cleanupAll();
}
