// Issue #15 §3 in Kubernetes mode, the compiled binary against a real apiserver: a boot's milestones land in
// status.lastBoot in order with the requester, coalesced (a burst of milestones is one status write, Ignition a
// second), the wide table column shows the last milestone, and a boot that stops after its script gets
// BootProgressing=False StalledAfterScript and a Warning Event.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Appliance, startAppliance } from "../harness/appliance.ts";
import type { ControlPlane } from "../harness/controlplane.ts";
import { BOOT_CRD_PATHS } from "../harness/crds.ts";
import { type Condition, conditionOf, type KubeMode, kubeSourceArgs, startKubeMode, statusWritesSettled } from "../harness/kube-mode.ts";
import { eventually } from "../harness/wait.ts";

const NS = "timeline";
const GROUP_PATH = `/apis/boot.ironcore.dev/v1alpha1/namespaces/${NS}`;
const BOOTING = "55555555-0000-4000-8000-000000000001";
const STALLING = "55555555-0000-4000-8000-000000000002";

interface StatusObject {
  status?: {
    conditions?: Condition[];
    lastBoot?: { startedAt: string; lastMilestone: string; milestones: { name: string; at: string; requester: string; path?: string }[] };
  };
}

let kube: KubeMode | undefined;
let cp: ControlPlane;
let app: Appliance;
let dir: string;

function ipxeConfig(name: string, uuid: string) {
  return {
    apiVersion: "boot.ironcore.dev/v1alpha1",
    kind: "IPXEBootConfig",
    metadata: { name, namespace: NS },
    spec: { systemUUID: uuid, kernelURL: `/uki/${name}/vmlinuz`, initrdURL: `/uki/${name}/initrd`, ignitionSecretRef: { name: "ignition" } },
  };
}

async function getStatus(name: string): Promise<StatusObject> {
  return (await cp.requestOk("GET", `${GROUP_PATH}/ipxebootconfigs/${name}`)) as StatusObject;
}

/** The IPXEBootConfig status-write count once it stopped moving. */
const ipxeStatusWritesSettled = (): Promise<number> => statusWritesSettled(cp, "ipxebootconfigs", { timeoutMs: 20_000, intervalMs: 1_500 });

async function ok(path: string): Promise<void> {
  const response = await fetch(`${app.url}${path}`);
  await response.arrayBuffer();
  expect({ path, status: response.status }).toEqual({ path, status: 200 });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "kube-timeline-"));
  for (const name of ["booting", "stalling"]) {
    await mkdir(join(dir, name), { recursive: true });
    await writeFile(join(dir, name, "vmlinuz"), "kernel");
    await writeFile(join(dir, name, "initrd"), "initrd");
  }
  kube = await startKubeMode({
    crdPaths: BOOT_CRD_PATHS,
    namespace: NS,
    prepare: (controlPlane) =>
      controlPlane.applyObjects([
        { apiVersion: "v1", kind: "Secret", metadata: { name: "ignition", namespace: NS }, stringData: { ignition: '{"ignition":{"version":"3.4.0"}}' } },
        ipxeConfig("booting", BOOTING),
        ipxeConfig("stalling", STALLING),
      ]),
    applianceArgs: ["--public-url", "http://boot.test", "--uki-dir", dir, "--boot-stall-timeout", "4s"],
  });
  ({ cp, app } = kube);
  await eventually(async () => conditionOf(await getStatus("stalling"), "Ready"), "the reconciler's first status");
}, 120_000);

afterAll(async () => {
  await kube?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe("status.lastBoot", () => {
  test("a boot's milestones, in order with the requester, in two coalesced writes", async () => {
    const before = await ipxeStatusWritesSettled();
    // A burst spread over about two seconds (longer than one flush interval): still one write.
    await ok("/ipxe");
    await ok(`/ipxe/${BOOTING}`);
    await Bun.sleep(600);
    await ok("/uki/booting/vmlinuz");
    await Bun.sleep(600);
    await ok("/uki/booting/initrd");
    const burst = await eventually(async () => {
      const object = await getStatus("booting");
      return object.status?.lastBoot?.lastMilestone === "initrd" && object;
    }, "the burst in status.lastBoot");
    expect(burst.status?.lastBoot?.milestones.map((m) => [m.name, m.requester, m.path ?? null])).toEqual([
      ["chainload", "127.0.0.1", null],
      ["script", "127.0.0.1", null],
      ["kernel", "127.0.0.1", "/uki/booting/vmlinuz"],
      ["initrd", "127.0.0.1", "/uki/booting/initrd"],
    ]);
    expect(conditionOf(burst, "BootProgressing")).toMatchObject({ status: "True", reason: "Booting" });
    expect(conditionOf(burst, "IPXEScriptFetched")).toMatchObject({ status: "True", reason: "IPXEScriptDelivered" });

    await ok(`/ignition/${BOOTING}`);
    const completed = await eventually(async () => {
      const object = await getStatus("booting");
      return object.status?.lastBoot?.lastMilestone === "ignition" && object;
    }, "Ignition in status.lastBoot");
    expect(completed.status?.lastBoot?.milestones.map((m) => m.name)).toEqual(["chainload", "script", "kernel", "initrd", "ignition"]);
    expect(conditionOf(completed, "BootProgressing")).toMatchObject({ status: "False", reason: "BootCompleted" });
    expect(conditionOf(completed, "IgnitionDataFetched")).toMatchObject({ status: "True" });
    // Past the stall threshold: a completed boot is not written again.
    await Bun.sleep(4_500);
    expect((await ipxeStatusWritesSettled()) - before).toBe(2);
  }, 60_000);

  test("the server-side table `kubectl get -o wide` prints has the last milestone (a priority-1, wide-only column)", async () => {
    const response = await fetch(`${cp.serverUrl}${GROUP_PATH}/ipxebootconfigs/booting`, {
      headers: { Accept: "application/json;as=Table;v=v1;g=meta.k8s.io" },
      tls: { ca: cp.tls.ca, cert: cp.tls.cert, key: cp.tls.key },
    });
    expect(response.status).toBe(200);
    const table = (await response.json()) as { columnDefinitions: { name: string; priority: number }[]; rows: { cells: unknown[] }[] };
    const column = table.columnDefinitions.findIndex((definition) => definition.name === "Last Milestone");
    expect(table.columnDefinitions[column]?.priority).toBe(1);
    expect(table.rows[0]?.cells[column]).toBe("ignition");
  });

  test("a boot that stops after its script: BootProgressing=False StalledAfterScript and a Warning Event", async () => {
    await ok(`/ipxe/${STALLING}`);
    const booting = await eventually(async () => conditionOf(await getStatus("stalling"), "BootProgressing"), "BootProgressing");
    expect(booting).toMatchObject({ status: "True", reason: "Booting" });
    const stalled = await eventually(
      async () => {
        const found = conditionOf(await getStatus("stalling"), "BootProgressing");
        return found?.reason === "StalledAfterScript" && found;
      },
      "the stall in status",
      20_000,
    );
    expect(stalled).toMatchObject({ status: "False", message: expect.stringContaining("stalled after script") });
    expect((await getStatus("stalling")).status?.lastBoot?.lastMilestone).toBe("script");
    const events = await eventually(async () => {
      const list = (await cp.requestOk("GET", `/api/v1/namespaces/${NS}/events?fieldSelector=involvedObject.name=stalling`)) as {
        items: { reason: string; type: string; message: string }[];
      };
      return list.items.find((event) => event.reason === "StalledAfterScript");
    }, "the Warning Event");
    expect(events).toMatchObject({ type: "Warning", message: expect.stringContaining("127.0.0.1") });
  }, 60_000);
});

describe("shutdown", () => {
  // Last in the file: it freezes the API server. After a storm every config can have a fetch waiting to be written;
  // one write after another once took 67 s at 10 000 machines, so the kubelet's SIGKILL came first.
  test("SIGTERM with fetches waiting to be written and the API server hung: exits within --shutdown-timeout, saying what was left", async () => {
    const second = await startAppliance(kubeSourceArgs(cp, NS, "--public-url", "http://boot.test", "--uki-dir", dir, "--shutdown-timeout", "3"));
    const apiServerPid = await pidWithArgument(cp.runningPids(), "kube-apiserver");
    try {
      await second.waitReady(30_000);
      const response = await fetch(`${second.url}/ipxe/${BOOTING}`);
      expect(response.status).toBe(200);
      await response.arrayBuffer();
      // Frozen before the 1 s flush: the write is still pending when SIGTERM comes, and it cannot complete.
      process.kill(apiServerPid, "SIGSTOP");
      const signalled = Date.now();
      const code = await second.stop(30_000);
      const tookMs = Date.now() - signalled;
      expect(code).toBe(0);
      expect(tookMs).toBeLessThan(8_000);
      expect(second.logs.find((line) => line.msg === "shutdown deadline reached: fetches left unrecorded in status")).toMatchObject({ configs: 1 });
    } finally {
      process.kill(apiServerPid, "SIGCONT");
      await second.stop(1_000);
    }
  }, 60_000);
});

async function pidWithArgument(pids: number[], text: string): Promise<number> {
  for (const pid of pids) {
    if ((await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "")).includes(text)) return pid;
  }
  throw new Error(`no running process with ${text} in its command line`);
}
