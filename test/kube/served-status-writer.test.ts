// The served-status writer, in-process against a real API server, with saturation, the clock and the moment a write
// reaches the API server in the test's hands. It yields to serving: while the process is saturated (a boot storm) a
// fetch's status write waits, and goes out once serving leaves room, or once it has waited MAX_YIELD_MS however busy
// the process stays (the appliance-level effect, writes moved out of the storm, is measured by `bun run bench`). And
// a machine asking again while its fetch is being written is a repeat, not news for a second write.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { BootTimelines } from "../../src/boot/boot-timeline.ts";
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
const NAMES = ["storm-a", "storm-b", "storm-c", "asking-d"] as const;

/** A real client whose status writes wait while `gate` is set (a slow API server, held as long as a test needs). */
class GatedClient extends KubeClient {
  gate: Promise<void> | undefined;
  held = 0;
  override async request<T>(...args: Parameters<KubeClient["request"]>): Promise<T> {
    if (args[0] === "PATCH" && this.gate) {
      this.held++;
      await this.gate;
    }
    return super.request<T>(...args);
  }
}

let cp: ControlPlane;
let source: KubeSource;
let writer: ServedStatusWriter;
let client: GatedClient;
/** What serve keeps: with them a write also carries the boot timeline, which a repeat ask moves in time. */
const timelines = new BootTimelines();
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
  await eventually(async () => writer.stats.writes >= count, `${count} status writes`, { timeoutMs: 5_000, intervalMs: 20 });
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
  client = new GatedClient(loadKubeConfig(cp.kubeconfigPath));
  source = new KubeSource(client, { namespace: NS });
  await source.start(() => {});
  await eventually(async () => source.allSynced, "caches synced");
  writer = new ServedStatusWriter({
    client,
    source,
    log: createLogger("error"),
    flushIntervalMs: 200,
    timelines,
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

test("a machine asking again while its first fetch is being written is a repeat: one write, nothing left pending", async () => {
  // As serve records a fetch: into the timeline first, then the writer with what changed in it.
  const ask = (): void => {
    const event = fetched("asking-d");
    writer.record(event, timelines.record(event));
  };
  const writesBefore = writer.stats.writes;
  let release = (): void => {};
  client.gate = new Promise<void>((resolve) => (release = resolve));
  ask();
  await eventually(async () => client.held === 1, "the write to reach the API server", { timeoutMs: 5_000, intervalMs: 10 });
  // Asking every 100 ms, as a machine retrying does, while the write is on its way.
  for (let repeat = 0; repeat < 5; repeat++) {
    await Bun.sleep(100);
    ask();
  }
  client.gate = undefined;
  release();
  await writesReach(writesBefore + 1);
  await Bun.sleep(1_000); // five flushes: a second write would have been handed to the queue by now
  expect({ writes: writer.stats.writes, backlog: writer.backlog, held: client.held }).toEqual({ writes: writesBefore + 1, backlog: 0, held: 1 });
  expect((await scriptFetched("asking-d"))?.message).toContain("127.0.0.9");
});
