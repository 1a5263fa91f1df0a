// The served-status writer yields to serving: while the process is saturated (a boot storm) a fetch's status write
// waits, and goes out once serving leaves room, or once it has waited MAX_YIELD_MS however busy the process stays.
// In-process against a real API server, with saturation and the clock in the test's hands (the appliance-level
// effect, writes moved out of the storm, is measured by `bun run bench`).
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { ServedEvent } from "../../src/boot/served.ts";
import { MAX_YIELD_MS, ServedStatusWriter } from "../../src/controllers/served-status.ts";
import { KubeClient } from "../../src/kube/client.ts";
import { loadKubeConfig } from "../../src/kube/kubeconfig.ts";
import { createLogger } from "../../src/observability/log.ts";
import { KubeSource } from "../../src/sources/kube/kube-source.ts";
import { type ControlPlane, startControlPlane } from "../harness/controlplane.ts";
import { BOOT_CRD_PATHS } from "../harness/crds.ts";
import { type Condition, conditionOf } from "../harness/kube-mode.ts";
import { eventually } from "../harness/wait.ts";

const NS = "yield";
const GROUP_PATH = `/apis/boot.ironcore.dev/v1alpha1/namespaces/${NS}`;
const NAMES = ["storm-a", "storm-b", "storm-c"] as const;

let cp: ControlPlane;
let source: KubeSource;
let writer: ServedStatusWriter;
let saturated = false;
/** The writer's clock: real time plus what a test skips ahead. */
let skippedMs = 0;
/** Frozen while set: the writer's clock stands still (a burst that never goes quiet on its own). */
let frozenAt: number | undefined;

function fetched(name: string): ServedEvent {
  return { milestone: "ipxe-script", kind: "IPXEBootConfig", configKey: `${NS}/${name}`, client: "127.0.0.9", path: `/ipxe/${name}`, at: new Date() };
}

async function scriptFetched(name: string): Promise<Condition | undefined> {
  return conditionOf((await cp.requestOk("GET", `${GROUP_PATH}/ipxebootconfigs/${name}`)) as { status?: { conditions?: Condition[] } }, "IPXEScriptFetched");
}

async function writesReach(count: number): Promise<void> {
  await eventually(async () => writer.stats.writes === count, `${count} status writes`, { timeoutMs: 5_000, intervalMs: 20 });
  expect(writer.stats.writes).toBe(count);
}

beforeAll(async () => {
  cp = await startControlPlane({ crdPaths: BOOT_CRD_PATHS });
  await cp.requestOk("POST", "/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: NS } });
  await cp.applyObjects(
    NAMES.map((name, i) => ({
      apiVersion: "boot.ironcore.dev/v1alpha1",
      kind: "IPXEBootConfig",
      metadata: { name, namespace: NS },
      spec: { systemUUID: `77777777-0000-4000-8000-00000000000${i}`, kernelURL: "http://boot.test/vmlinuz", initrdURL: "http://boot.test/initrd" },
    })),
  );
  const client = new KubeClient(loadKubeConfig(cp.kubeconfigPath));
  source = new KubeSource(client, { namespace: NS });
  await source.start(() => {});
  await eventually(async () => source.allSynced, "caches synced");
  writer = new ServedStatusWriter({
    client,
    source,
    log: createLogger("error"),
    flushIntervalMs: 200,
    saturated: () => saturated,
    now: () => frozenAt ?? Date.now() + skippedMs,
  });
  writer.start();
}, 120_000);

afterAll(async () => {
  await writer?.stop(Date.now() + 5_000);
  await source?.stop();
  await cp?.stop();
});

test("while serving saturates the process a fetch waits; once it leaves room the fetch is written", async () => {
  saturated = true;
  writer.record(fetched("storm-a"));
  await Bun.sleep(1_000); // five flushes
  expect(writer.stats.writes).toBe(0);
  expect(writer.backlog).toBe(1);
  expect(await scriptFetched("storm-a")).toBeUndefined();
  saturated = false;
  const condition = await eventually(() => scriptFetched("storm-a"), "IPXEScriptFetched on storm-a", { timeoutMs: 10_000, intervalMs: 100 });
  expect(condition).toMatchObject({ status: "True", reason: "IPXEScriptDelivered" });
  expect(condition.message).toContain("127.0.0.9");
  await writesReach(1); // the GET can see the write before the writer's await returns
  expect(writer.backlog).toBe(0);
});

test("a fetch already queued when a storm begins (a burst still coalescing) goes back to wait, and is written after it", async () => {
  frozenAt = Date.now() + skippedMs;
  writer.record(fetched("storm-b"));
  // The flush (200 ms) hands it to the queue, which finds the burst not quiet yet (the clock stands) and requeues it
  // for 200 ms; the storm begins in between, and the clock moves past the burst.
  await Bun.sleep(300);
  saturated = true;
  frozenAt = undefined;
  await Bun.sleep(1_000);
  // storm-a's write only, and no failed attempt (a retry is written at once, by design).
  expect({ stormB: await scriptFetched("storm-b"), stats: writer.stats, backlog: writer.backlog }).toEqual({
    stormB: undefined,
    stats: { recorded: 2, writes: 1, errors: 0 },
    backlog: 1,
  });
  saturated = false;
  await eventually(() => scriptFetched("storm-b"), "IPXEScriptFetched on storm-b", { timeoutMs: 10_000, intervalMs: 100 });
  await writesReach(2); // the GET can see the write before the writer's await returns
});

test("news that has waited MAX_YIELD_MS is written even while the process stays saturated", async () => {
  saturated = true;
  writer.record(fetched("storm-c"));
  await Bun.sleep(600);
  expect(await scriptFetched("storm-c")).toBeUndefined();
  skippedMs += MAX_YIELD_MS;
  await eventually(() => scriptFetched("storm-c"), "IPXEScriptFetched on storm-c", { timeoutMs: 10_000, intervalMs: 100 });
  await writesReach(3); // the GET can see the write before the writer's await returns
  saturated = false;
});
