// A LIST's items are read, trimmed and validated with a young collection every 100 items (young-collections.ts), so
// the cached survivors refill what each batch freed instead of standing among its garbage: against a real API
// server, 250 IPXEBootConfigs are two collections while the reflector reads them and two while the source
// validates them, and every config is served. A Secret is served with its values decoded once, and the raw copy the
// reflector caches keeps no base64 data.
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { HTTPBootConfig } from "../../src/api/index.ts";
import { type Secret, secretValues } from "../../src/api/secret.ts";
import type { ResourceSnapshot } from "../../src/index/boot-index.ts";
import { KubeClient } from "../../src/kube/client.ts";
import { loadKubeConfig } from "../../src/kube/kubeconfig.ts";
import { KubeSource } from "../../src/sources/kube/kube-source.ts";
import { COLLECT_EVERY_ITEMS, youngCollectionPacer } from "../../src/sources/kube/young-collections.ts";
import { type ControlPlane, startControlPlane } from "../harness/controlplane.ts";
import { BOOT_CRD_PATHS } from "../harness/crds.ts";
import { eventually } from "../harness/wait.ts";

const NS = "list-collections";
const CONFIGS = 250;

let cp: ControlPlane;

beforeAll(async () => {
  cp = await startControlPlane({ crdPaths: BOOT_CRD_PATHS });
  await cp.requestOk("POST", "/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: NS } });
  await cp.applyObjects(
    Array.from({ length: CONFIGS }, (_, n) => ({
      apiVersion: "boot.ironcore.dev/v1alpha1",
      kind: "IPXEBootConfig",
      metadata: { name: `m${n}`, namespace: NS },
      spec: {
        systemUUID: `88888888-0000-4000-8000-${String(n).padStart(12, "0")}`,
        kernelURL: "http://boot.test/vmlinuz",
        initrdURL: "http://boot.test/initrd",
      },
    })),
  );
}, 120_000);

afterAll(async () => {
  await cp?.stop();
});

/** A source on NS until `pick` of its snapshot holds exactly one object; `check` sees that object and the source. */
async function withTheOneServed<T>(
  pick: (snapshot: ResourceSnapshot) => readonly T[],
  check: (served: T | undefined, source: KubeSource) => void,
): Promise<void> {
  const source = new KubeSource(new KubeClient(loadKubeConfig(cp.kubeconfigPath)), { namespace: NS });
  let served: readonly T[] = [];
  await source.start((update) => {
    if (update.snapshot) served = pick(update.snapshot);
  });
  try {
    await eventually(async () => source.allSynced && served.length === 1, "one object served");
    check(served[0], source);
  } finally {
    await source.stop();
  }
}

test("the pacer collects once per COLLECT_EVERY_ITEMS calls, and never with 0", () => {
  let collections = 0;
  const every100 = youngCollectionPacer(COLLECT_EVERY_ITEMS, () => collections++);
  for (let n = 0; n < 2 * COLLECT_EVERY_ITEMS - 1; n++) every100();
  expect(collections).toBe(1);
  every100();
  expect(collections).toBe(2);
  const never = youngCollectionPacer(0, () => collections++);
  for (let n = 0; n < 1_000; n++) never();
  expect(collections).toBe(2);
});

test("the LIST and its validation collect every 100 items; every config is served", async () => {
  let collections = 0;
  const source = new KubeSource(new KubeClient(loadKubeConfig(cp.kubeconfigPath)), { namespace: NS, collectYoung: () => collections++ });
  let served = 0;
  await source.start((update) => {
    if (update.snapshot) served = update.snapshot.ipxeBootConfigs.length;
  });
  try {
    await eventually(async () => source.allSynced && served === CONFIGS, `${CONFIGS} configs served`);
    // The other kinds are empty here; watch events (one object each) never count towards a collection.
    expect(collections).toBe(4);
  } finally {
    await source.stop();
  }
}, 60_000);

test("a Secret is served with its values decoded once; the cached raw copy keeps no base64 data", async () => {
  const ignition = '{"ignition":{"version":"3.4.0"}}';
  await cp.requestOk("POST", `/api/v1/namespaces/${NS}/secrets`, {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: "m1-ignition", namespace: NS },
    data: { ignition: Buffer.from(ignition).toString("base64"), format: Buffer.from("fcos").toString("base64") },
  });
  await withTheOneServed(
    (snapshot) => snapshot.secrets,
    (served: Secret | undefined, source) => {
      expect(served?.data).toBeUndefined();
      expect(served && secretValues(served).get("ignition")).toBe(ignition);
      expect(served && secretValues(served).get("format")).toBe("fcos");
      const cached = source.reflectors.get("Secret")?.objects.get(`${NS}/m1-ignition`);
      expect(cached?.metadata?.resourceVersion).toBeString();
      expect(cached && "data" in cached).toBe(false);
    },
  );
}, 60_000);

test("a boot config is served without its status (nothing serves from it); the cached raw copy keeps it for the reconcilers", async () => {
  const path = `/apis/boot.ironcore.dev/v1alpha1/namespaces/${NS}/httpbootconfigs`;
  await cp.requestOk("POST", path, {
    apiVersion: "boot.ironcore.dev/v1alpha1",
    kind: "HTTPBootConfig",
    metadata: { name: "with-status", namespace: NS },
    spec: { systemUUID: "4c4c4544-0042-3510-8052-b4c04f4a4e39", ukiURL: "http://f/uki" },
  });
  await cp.requestOk("PATCH", `${path}/with-status/status`, { status: { state: "Ready" } });
  await withTheOneServed(
    (snapshot) => snapshot.httpBootConfigs,
    (served: HTTPBootConfig | undefined, source) => {
      expect(served?.metadata.name).toBe("with-status");
      expect(served && "status" in served).toBe(false);
      const cached = source.reflectors.get("HTTPBootConfig")?.objects.get(`${NS}/with-status`) as { status?: { state?: string } } | undefined;
      expect(cached?.status?.state).toBe("Ready");
    },
  );
}, 60_000);
