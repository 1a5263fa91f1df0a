// A restart over objects whose status is already right must write nothing (issue #14): every status write is an
// API-server round trip and a watch event on every replica, so 20 000 needless writes after each rollout would cost
// minutes. The appliance runs once until every status is written, stops, runs again; the objects' resourceVersions
// and the API server's own count of status writes must not move. A config created afterwards must still be written,
// so "nothing written" cannot pass just because the second run's reconciler never ran.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type Appliance, startAppliance } from "../harness/appliance.ts";
import { type ControlPlane, startControlPlane } from "../harness/controlplane.ts";
import { BOOT_CRD_PATHS } from "../harness/crds.ts";
import { eventually } from "../harness/wait.ts";

const NS = "restart";
const GROUP_PATH = `/apis/boot.ironcore.dev/v1alpha1/namespaces/${NS}`;
const MACHINES = 8;
const KINDS = ["ipxebootconfigs", "httpbootconfigs"] as const;

interface ListedObject {
  metadata: { name: string; resourceVersion: string; generation: number };
  status?: { state?: string; conditions?: { type: string; observedGeneration?: number }[] };
}

let cp: ControlPlane;
let app: Appliance | undefined;

function machineObjects(index: number, secretName = `secret-${index}`) {
  const name = `machine-${index}`;
  const id = `${String(index).padStart(8, "0")}-1111-4222-8333-444444444444`;
  return [
    {
      apiVersion: "boot.ironcore.dev/v1alpha1",
      kind: "IPXEBootConfig",
      metadata: { name, namespace: NS },
      spec: { systemUUID: id, kernelURL: "http://files.example/vmlinuz", initrdURL: "http://files.example/initrd", ignitionSecretRef: { name: secretName } },
    },
    {
      apiVersion: "boot.ironcore.dev/v1alpha1",
      kind: "HTTPBootConfig",
      metadata: { name, namespace: NS },
      spec: { systemUUID: id, networkIdentifiers: [`10.9.0.${index + 1}`], ukiURL: "http://files.example/uki.efi", ignitionSecretRef: { name: secretName } },
    },
  ];
}

function secret(index: number) {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: `secret-${index}`, namespace: NS },
    stringData: { ignition: '{"ignition":{"version":"3.4.0"}}' },
  };
}

/** Every status write the API server received for our kinds (any verb: apply, patch, update). */
async function statusWrites(): Promise<number> {
  const metrics = (await cp.request("GET", "/metrics")).text;
  let total = 0;
  for (const line of metrics.split("\n")) {
    if (!line.startsWith("apiserver_request_total{") || !line.includes('subresource="status"')) continue;
    if (!KINDS.some((kind) => line.includes(`resource="${kind}"`))) continue;
    if (!/verb="(APPLY|PATCH|PUT|UPDATE)"/.test(line)) continue;
    total += Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return total;
}

/** The count once it stopped moving: three reads a second apart agree. */
async function settledStatusWrites(): Promise<number> {
  const history: number[] = [];
  return eventually(
    async () => {
      history.push(await statusWrites());
      const last = history.slice(-3);
      return last.length === 3 && last.every((count) => count === last[0]) ? last[0] : undefined;
    },
    "status writes to settle",
    { timeoutMs: 60_000, intervalMs: 1000 },
  );
}

async function resourceVersions(): Promise<Map<string, string>> {
  const versions = new Map<string, string>();
  for (const kind of KINDS) {
    const list = (await cp.requestOk("GET", `${GROUP_PATH}/${kind}`)) as { items: ListedObject[] };
    for (const item of list.items) versions.set(`${kind}/${item.metadata.name}`, item.metadata.resourceVersion);
  }
  return versions;
}

/** Every config carries a status for its current generation. */
async function allStatusesWritten(): Promise<boolean> {
  for (const kind of KINDS) {
    const list = (await cp.requestOk("GET", `${GROUP_PATH}/${kind}`)) as { items: ListedObject[] };
    for (const item of list.items) {
      const ready = item.status?.conditions?.find((c) => c.type === "Ready");
      if (!item.status?.state || ready?.observedGeneration !== item.metadata.generation) return false;
    }
  }
  return true;
}

function start(): Promise<Appliance> {
  return startAppliance(["--source", "kube", "--kubeconfig", cp.kubeconfigPath, "--namespace", NS, "--public-url", "http://boot.test"]);
}

beforeAll(async () => {
  cp = await startControlPlane({ crdPaths: BOOT_CRD_PATHS });
  await cp.requestOk("POST", "/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: NS } });
  const objects = [];
  for (let index = 0; index < MACHINES; index++) objects.push(secret(index), ...machineObjects(index));
  // Statuses of every shape: a conflict (two configs claiming machine-0's UUID) and a missing secret (Error).
  const [rival] = machineObjects(0);
  if (rival) objects.push({ ...rival, metadata: { name: "rival-of-0", namespace: NS } });
  objects.push(...machineObjects(MACHINES, "secret-missing"));
  await cp.applyObjects(objects);
}, 120_000);

afterAll(async () => {
  await app?.stop();
  await cp?.stop();
});

describe("restart over statuses that are already right", () => {
  test("the second start writes no status; a config created afterwards is still written", async () => {
    app = await start();
    await app.waitReady(30_000);
    await eventually(allStatusesWritten, "every status written by the first start", { timeoutMs: 60_000, intervalMs: 250 });
    const writesByFirstStart = await settledStatusWrites();
    expect(writesByFirstStart).toBeGreaterThan(0); // the counter sees this appliance's writes
    const before = await resourceVersions();
    expect(before.size).toBe(2 * (MACHINES + 1) + 1);
    await app.stop();

    app = await start();
    await app.waitReady(30_000);
    const writesAfterRestart = await settledStatusWrites();
    expect(await resourceVersions()).toEqual(before);
    expect(writesAfterRestart - writesByFirstStart).toBe(0);

    // The second run's reconciler is alive: a new config gets its status, and the old objects still stay untouched.
    await cp.applyObjects(machineObjects(MACHINES + 1, "secret-0"));
    await eventually(allStatusesWritten, "the new configs' statuses written by the second start", { timeoutMs: 30_000, intervalMs: 250 });
    await settledStatusWrites();
    const after = await resourceVersions();
    for (const [key, version] of before) expect(`${key}@${after.get(key)}`).toBe(`${key}@${version}`);
  }, 180_000);
});
