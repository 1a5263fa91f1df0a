// The API-server side of the benchmark: a real etcd + kube-apiserver from the test harness, the fleet loaded with
// parallel POSTs, and the apiserver's own request counters for status writes.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { metricSum, parsePrometheusText } from "../../test/e2e/appliance.ts";
import { type ControlPlane, controlPlaneBinDir, startControlPlane } from "../../test/harness/controlplane.ts";
import { eventually } from "../../test/harness/wait.ts";
import { BENCH_NAMESPACE, kernelUrl, type Machine, machineObjects } from "./machines.ts";
import { cpuMicros } from "./processes.ts";

const GROUP_PATH = `/apis/boot.ironcore.dev/v1alpha1/namespaces/${BENCH_NAMESPACE}`;

/** Why the API-server part cannot run here, or null when the pinned control plane is built. */
export async function controlPlaneMissing(): Promise<string | null> {
  const directory = await controlPlaneBinDir();
  for (const component of ["etcd", "kube-apiserver"]) {
    if (!existsSync(join(directory, component))) return `${component} not found in ${directory} (run scripts/ensure/controlplane.sh)`;
  }
  return null;
}

export async function startBenchControlPlane(repoRoot: string): Promise<ControlPlane> {
  const controlPlane = await startControlPlane({
    crdPaths: [join(repoRoot, "manifests/crds/ipxebootconfigs.yaml"), join(repoRoot, "manifests/crds/httpbootconfigs.yaml")],
  });
  await controlPlane.requestOk("POST", "/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: BENCH_NAMESPACE } });
  return controlPlane;
}

function collectionPath(kind: string): string {
  if (kind === "Secret") return `/api/v1/namespaces/${BENCH_NAMESPACE}/secrets`;
  return `${GROUP_PATH}/${kind.toLowerCase()}s`;
}

/** Creates every machine's three objects with `concurrency` POSTs in flight; returns the objects created. */
export async function loadFleet(controlPlane: ControlPlane, machines: readonly Machine[], concurrency: number): Promise<number> {
  const objects = machines.flatMap((machine) => machineObjects(machine));
  // One iterator shared by all workers: each takes the next object when it is free.
  const queue = objects.values();
  let created = 0;
  const worker = async (): Promise<void> => {
    for (const object of queue) {
      for (let attempt = 1; ; attempt++) {
        const response = await controlPlane.request("POST", collectionPath(object.kind), object, { timeoutMs: 60_000 });
        if (response.status === 201 || response.status === 200) break;
        // 429/5xx under load: retry a few times, then give up loudly.
        if ((response.status === 429 || response.status >= 500) && attempt < 5) {
          await Bun.sleep(200 * attempt);
          continue;
        }
        throw new Error(`creating ${object.kind} ${object.metadata.name} answered ${response.status}: ${response.text.slice(0, 500)}`);
      }
      created++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return created;
}

/** CPU time (µs) the control plane's processes (etcd, kube-apiserver) have used so far. */
export async function controlPlaneCpuMicros(controlPlane: ControlPlane): Promise<number> {
  let total = 0;
  for (const pid of controlPlane.runningPids()) total += await cpuMicros(pid).catch(() => 0);
  return total;
}

/** Status writes (any verb, any outcome) the apiserver received for our two kinds, from its /metrics. */
export async function countStatusWrites(controlPlane: ControlPlane): Promise<number> {
  const metrics = (await controlPlane.request("GET", "/metrics")).text;
  let total = 0;
  for (const line of metrics.split("\n")) {
    if (!line.startsWith("apiserver_request_total{") || !line.includes('subresource="status"')) continue;
    if (!line.includes('resource="ipxebootconfigs"') && !line.includes('resource="httpbootconfigs"')) continue;
    if (!/verb="(APPLY|PATCH|PUT|UPDATE)"/.test(line)) continue;
    total += Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return total;
}

/** The appliance's served-status backlog (configs whose fetches are not written yet), from its /metrics. */
async function statusWriteBacklog(applianceUrl: string): Promise<number> {
  const samples = parsePrometheusText(await (await fetch(`${applianceUrl}/metrics`)).text());
  return metricSum(samples, "boot_operator_status_write_queue_depth");
}

/**
 * Waits until the appliance has no fetch left to write. Its writes wait while a storm saturates it (up to a minute),
 * so a quiet status-write counter right after a storm does not mean they are done.
 */
export async function waitForStatusBacklogDrained(applianceUrl: string, timeoutMs: number): Promise<boolean> {
  return eventually(async () => (await statusWriteBacklog(applianceUrl)) === 0, "status write backlog to drain", { timeoutMs, intervalMs: 500 }).catch(
    () => false,
  );
}

/** Waits until the status-write counter stops moving for `quietMs` (or `timeoutMs` passes). */
export async function waitForStatusWritesToSettle(
  controlPlane: ControlPlane,
  options: { quietMs: number; timeoutMs: number },
): Promise<{ writes: number; settled: boolean; elapsedMs: number; lastWriteMs: number }> {
  const started = performance.now();
  let last = await countStatusWrites(controlPlane);
  let lastChange = performance.now();
  const settled = await eventually(
    async () => {
      const now = await countStatusWrites(controlPlane);
      if (now !== last) {
        last = now;
        lastChange = performance.now();
      }
      return performance.now() - lastChange >= options.quietMs;
    },
    "status writes to stop",
    { timeoutMs: options.timeoutMs, intervalMs: 500 },
  ).catch(() => false);
  // lastWriteMs: when the counter last moved, from the start of waiting (the quiet period not included).
  return { writes: last, settled, elapsedMs: performance.now() - started, lastWriteMs: lastChange - started };
}

export async function patchKernelUrl(controlPlane: ControlPlane, machine: Machine, revision: number): Promise<void> {
  await controlPlane.requestOk("PATCH", `${GROUP_PATH}/ipxebootconfigs/${machine.name}`, { spec: { kernelURL: kernelUrl(revision) } });
}
