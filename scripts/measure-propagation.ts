// Change → served latency on its own, without the whole benchmark: N machines (the bench fleet), K changes, the
// clock from before the write+rename (directory) or PATCH (API server) to the first /ipxe answer carrying the new
// kernel URL. Usage: bun scripts/measure-propagation.ts [dir|kube] [--machines N] [--changes K]
// Uses dist/boot-operator (or $BOOT_OPERATOR_BINARY). On 2 shared cores the figures move with the other load:
// compare builds back to back, as in the commit that added the incremental index (#14).
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { startAppliance } from "../test/harness/appliance.ts";
import { eventually } from "../test/harness/wait.ts";
import { controlPlaneMissing, loadFleet, patchKernelUrl, startBenchControlPlane, waitForStatusWritesToSettle } from "./bench/kube.ts";
import { BENCH_NAMESPACE, fleet, kernelUrl, type Machine, rewriteMachineFile, writeFleetDirectory } from "./bench/machines.ts";

const { values, positionals } = parseArgs({
  args: Bun.argv.slice(2),
  allowPositionals: true,
  options: { machines: { type: "string", default: "10000" }, changes: { type: "string", default: "100" } },
});
const mode = positionals[0] === "kube" ? "kube" : "dir";
const machines = fleet(Number(values.machines));
const changes = Number(values.changes);

function percentile(sorted: readonly number[], fraction: number): number {
  return sorted[Math.max(0, Math.ceil(fraction * sorted.length) - 1)] ?? Number.NaN;
}

async function measure(baseUrl: string, firstRevision: number, change: (machine: Machine, revision: number) => Promise<void>): Promise<number[]> {
  const timings: number[] = [];
  for (let k = 0; k < changes; k++) {
    const machine = machines[(k * 7919 + 13) % machines.length];
    if (!machine) throw new Error("empty fleet");
    const expected = kernelUrl(firstRevision + k);
    const started = performance.now();
    await change(machine, firstRevision + k);
    await eventually(async () => (await (await fetch(`${baseUrl}/ipxe/${machine.uuid}`)).text()).includes(expected), `change ${k + 1} served`, {
      timeoutMs: 15_000,
      intervalMs: 2,
    });
    timings.push(performance.now() - started);
    await Bun.sleep(20);
  }
  return timings.sort((a, b) => a - b);
}

function report(label: string, timings: readonly number[]): void {
  const p50 = percentile(timings, 0.5).toFixed(1);
  const p99 = percentile(timings, 0.99).toFixed(1);
  const max = (timings[timings.length - 1] ?? Number.NaN).toFixed(1);
  console.log(`${label}: ${timings.length} changes over ${machines.length} machines: p50 ${p50} ms, p99 ${p99} ms, max ${max} ms`);
}

const work = await mkdtemp(join(tmpdir(), "propagation-"));
try {
  if (mode === "dir") {
    const directory = join(work, "fleet");
    await writeFleetDirectory(directory, machines);
    const appliance = await startAppliance(["--source", `dir:${directory}`]);
    try {
      await appliance.waitReady(120_000);
      report("directory", await measure(appliance.url, 1, (machine, revision) => rewriteMachineFile(directory, machine, revision)));
    } finally {
      await appliance.stop();
    }
  } else {
    const missing = await controlPlaneMissing();
    if (missing) throw new Error(missing);
    const controlPlane = await startBenchControlPlane(join(import.meta.dir, ".."));
    try {
      await loadFleet(controlPlane, machines, 32);
      const appliance = await startAppliance(["--source", "kube", "--kubeconfig", controlPlane.kubeconfigPath, "--namespace", BENCH_NAMESPACE]);
      try {
        await appliance.waitReady(300_000);
        await waitForStatusWritesToSettle(controlPlane, { quietMs: 3000, timeoutMs: 300_000 });
        report("API server", await measure(appliance.url, 100_000, (machine, revision) => patchKernelUrl(controlPlane, machine, revision)));
      } finally {
        await appliance.stop();
      }
    } finally {
      await controlPlane.stop();
    }
  }
} finally {
  await rm(work, { recursive: true, force: true });
}
