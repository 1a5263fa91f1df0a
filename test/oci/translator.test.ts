// The metal-operator translator end to end: a real control plane (with the garbage collector), a real OCI registry,
// and the compiled binary in kube mode with both translator modes on.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type Appliance, startAppliance } from "../harness/appliance.ts";
import { type ControlPlane, startControlPlane } from "../harness/controlplane.ts";
import { BOOT_CRD_PATHS, METAL_CRD_PATHS } from "../harness/crds.ts";
import {
  type LayerKind,
  pushLegacyGardenLinuxImage,
  pushOciIndexImage,
  pushPxeOnlyImage,
  pushUkiOnlyImage,
  RegistryHarness,
  sha256Digest,
  type TestImage,
  type TestLayer,
} from "../harness/registry.ts";
import { eventually } from "../harness/wait.ts";

const NS = "metal";
const BOOT = `/apis/boot.ironcore.dev/v1alpha1/namespaces/${NS}`;
const METAL = "/apis/metal.ironcore.dev/v1alpha1";
const SERVER_UUID = "38947555-7742-3448-3784-823347823834";

let cp: ControlPlane;
let registry: RegistryHarness;
let app: Appliance;
let images: { full: TestImage; uki: TestImage; pxe: TestImage; legacy: TestImage };

/** The image's amd64 layer of `kind`, which the test needs to exist. */
function amd64Layer(image: TestImage, kind: LayerKind): TestLayer {
  const layer = image.byArchitecture.amd64?.layers[kind];
  if (!layer) throw new Error(`${image.reference} has no amd64 ${kind} layer`);
  return layer;
}

/** The full image's arm64 UKI: never referenced, since the appliance boots amd64. */
function fullArm64Uki(): TestLayer {
  const layer = images.full.byArchitecture.arm64?.layers.uki;
  if (!layer) throw new Error("the full image has no arm64 UKI");
  return layer;
}

interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
}
interface Sbc {
  status?: { state?: string; conditions?: Condition[] };
}

function server(name: string, uuid: string, nics: { ips: string[]; macAddress: string }[], refs: Record<string, unknown> = {}) {
  return {
    apiVersion: "metal.ironcore.dev/v1alpha1",
    kind: "Server",
    metadata: { name },
    spec: { systemUUID: uuid, ...refs },
    status: { networkInterfaces: nics },
  };
}

function sbc(name: string, serverName: string, image: string) {
  return {
    apiVersion: "metal.ironcore.dev/v1alpha1",
    kind: "ServerBootConfiguration",
    metadata: { name, namespace: NS },
    spec: { serverRef: { name: serverName }, image, ignitionSecretRef: { name: "ignition" } },
  };
}

async function getSbc(name: string): Promise<Sbc> {
  return (await cp.requestOk("GET", `${METAL}/namespaces/${NS}/serverbootconfigurations/${name}`)) as Sbc;
}

/** Resolves with the SBC once it is in `state`; otherwise throws with its current status, which eventually() reports. */
async function sbcInState(name: string, state: string): Promise<Sbc> {
  const object = await getSbc(name);
  if (object.status?.state === state) return object;
  const children = await Promise.all(
    ["ipxebootconfigs", "httpbootconfigs"].map(async (plural) => {
      const child = await cp.request("GET", `${BOOT}/${plural}/${name}`);
      return `${plural}: ${child.status === 200 ? JSON.stringify((child.json as { status?: unknown }).status ?? null) : child.status}`;
    }),
  );
  throw new Error(`${name} status is ${JSON.stringify(object.status ?? null)}; children: ${children.join("; ")}`);
}

function condition(object: Sbc, type: string): Condition | undefined {
  return object.status?.conditions?.find((c) => c.type === type);
}

async function setServerStatus(name: string, nics: { ips: string[]; macAddress: string }[]): Promise<void> {
  await cp.requestOk("PATCH", `${METAL}/servers/${name}/status`, { status: { networkInterfaces: nics } }, { contentType: "application/merge-patch+json" });
}

beforeAll(async () => {
  // Side by side: neither needs the other until the appliance starts.
  await Promise.all([
    (async () => {
      registry = await RegistryHarness.start();
      images = {
        full: await pushOciIndexImage(registry, "gardenlinux/full", "1.0"),
        uki: await pushUkiOnlyImage(registry, "gardenlinux/uki", "1.0"),
        pxe: await pushPxeOnlyImage(registry, "gardenlinux/pxe", "1.0"),
        legacy: await pushLegacyGardenLinuxImage(registry, "gardenlinux/legacy", "1.0"),
      };
    })(),
    (async () => {
      cp = await startControlPlane({ withControllerManager: true, crdPaths: [...BOOT_CRD_PATHS, ...METAL_CRD_PATHS] });
    })(),
  ]);
  await cp.requestOk("POST", "/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: NS } });
  await cp.applyObjects([
    { apiVersion: "v1", kind: "Secret", metadata: { name: "ignition", namespace: NS }, stringData: { ignition: '{"ignition":{"version":"3.4.0"}}' } },
  ]);
  await cp.applyObjects([server("server-1", SERVER_UUID, [])]);
  await setServerStatus("server-1", [
    { ips: ["10.1.0.11", "fd00::11"], macAddress: "52:54:00:00:00:11" },
    { ips: ["10.2.0.11"], macAddress: "52:54:00:00:00:12" },
  ]);
  app = await startAppliance([
    "--source",
    "kube",
    "--kubeconfig",
    cp.kubeconfigPath,
    "--namespace",
    NS,
    "--translator-modes",
    "ipxe,httpboot",
    "--allowed-registries",
    `ghcr.io,${registry.host}`,
    "--insecure-registries",
    registry.host,
    "--public-url",
    "http://boot.test:8082",
  ]);
  await app.waitReady(30_000);
}, 180_000);

afterAll(async () => {
  await app?.stop();
  await cp?.stop();
  await registry?.stop();
});

describe("ServerBootConfiguration → boot configs", () => {
  test("a full image produces both children with proxy URLs, owned by the SBC; the SBC turns Ready", async () => {
    await cp.applyObjects([sbc("workload", "server-1", images.full.reference)]);
    const ipxe = await eventually(async () => {
      const response = await cp.request("GET", `${BOOT}/ipxebootconfigs/workload`);
      return response.status === 200
        ? (response.json as { spec?: Record<string, unknown>; metadata?: { ownerReferences?: { kind: string; controller: boolean }[] } })
        : undefined;
    }, "IPXEBootConfig child");
    const layers = {
      kernel: amd64Layer(images.full, "kernel"),
      initrd: amd64Layer(images.full, "initrd"),
      squashfs: amd64Layer(images.full, "squashfs"),
      uki: amd64Layer(images.full, "uki"),
    };
    const imageName = `${registry.host}/gardenlinux/full`;
    expect(ipxe.spec).toMatchObject({
      systemUUID: SERVER_UUID,
      systemIPs: ["10.1.0.11", "fd00::11", "10.2.0.11"],
      kernelURL: `http://boot.test:8082/image?imageName=${imageName}&version=1.0&layerDigest=${layers.kernel.digest}`,
      initrdURL: `http://boot.test:8082/image?imageName=${imageName}&version=1.0&layerDigest=${layers.initrd.digest}`,
      squashfsURL: `http://boot.test:8082/image?imageName=${imageName}&version=1.0&layerDigest=${layers.squashfs.digest}`,
      ignitionSecretRef: { name: "ignition" },
    });
    expect(ipxe.metadata?.ownerReferences?.[0]).toMatchObject({ kind: "ServerBootConfiguration", controller: true });
    const http = (await cp.requestOk("GET", `${BOOT}/httpbootconfigs/workload`)) as { spec: Record<string, unknown> };
    expect(http.spec).toMatchObject({
      systemUUID: SERVER_UUID,
      networkIdentifiers: ["10.1.0.11", "fd00::11", "10.2.0.11", "52:54:00:00:00:11", "52:54:00:00:00:12"],
      ukiURL: `http://boot.test:8082/httpboot/${imageName}/sha256-${layers.uki.digest.slice(7)}.efi`,
    });
    const ready = await eventually(() => sbcInState("workload", "Ready"), "SBC Ready");
    expect(condition(ready, "ImageValidation")?.status).toBe("True");
    expect(condition(ready, "IPXEBootReady")?.status).toBe("True");
    expect(condition(ready, "HTTPBootReady")?.status).toBe("True");
  });

  test("the appliance serves the machine and proxies the exact bytes, honouring Range", async () => {
    const layers = { kernel: amd64Layer(images.full, "kernel"), uki: amd64Layer(images.full, "uki") };
    await eventually(async () => (await fetch(`${app.url}/ipxe/${SERVER_UUID}`)).status === 200, "script served");
    const script = await (await fetch(`${app.url}/ipxe/${SERVER_UUID}`)).text();
    const kernelUrl = /kernel (\S+)/.exec(script)?.[1];
    if (!kernelUrl) throw new Error(`no kernel line in the script:\n${script}`);
    const kernel = new Uint8Array(await (await fetch(kernelUrl.replace("http://boot.test:8082", app.url))).arrayBuffer());
    expect(sha256Digest(kernel)).toBe(layers.kernel.digest);
    const ukiUrl = `${app.url}/httpboot/${registry.host}/gardenlinux/full/sha256-${layers.uki.digest.slice(7)}.efi`;
    const uki = await fetch(ukiUrl);
    expect(uki.headers.get("content-type")).toBe("application/efi");
    expect(sha256Digest(new Uint8Array(await uki.arrayBuffer()))).toBe(layers.uki.digest);
    const ranged = await fetch(ukiUrl, { headers: { Range: "bytes=100-199" } });
    expect(ranged.status).toBe(206);
    expect(new Uint8Array(await ranged.arrayBuffer())).toEqual(layers.uki.bytes.slice(100, 200));
  });

  test("blobs no boot config references are 404, though the registry is allowed and has them", async () => {
    const arm64Uki = fullArm64Uki();
    const pxeKernel = amd64Layer(images.pxe, "kernel");
    for (const url of [
      `${app.url}/httpboot/${registry.host}/gardenlinux/full/sha256-${arm64Uki.digest.slice(7)}.efi`,
      `${app.url}/image?imageName=${registry.host}/gardenlinux/pxe&version=1.0&layerDigest=${pxeKernel.digest}`,
    ]) {
      const response = await fetch(url);
      expect(response.status).toBe(404);
      expect(await response.text()).toContain("is not referenced by any boot config");
    }
  });

  test("a new NIC on the Server updates the children", async () => {
    await setServerStatus("server-1", [
      { ips: ["10.1.0.11", "fd00::11"], macAddress: "52:54:00:00:00:11" },
      { ips: ["10.2.0.11"], macAddress: "52:54:00:00:00:12" },
      { ips: ["10.3.0.11"], macAddress: "52:54:00:00:00:13" },
    ]);
    await eventually(async () => {
      const http = (await cp.requestOk("GET", `${BOOT}/httpbootconfigs/workload`)) as { spec: { networkIdentifiers: string[] } };
      return http.spec.networkIdentifiers.includes("52:54:00:00:00:13") && http.spec.networkIdentifiers.includes("10.3.0.11");
    }, "children updated with the new NIC");
  });

  test("UKI-only and PXE-only images produce only the child they can, and are Ready (no flapping)", async () => {
    await cp.applyObjects([
      server("server-2", "38947555-0000-0000-0000-000000000002", [], {}),
      server("server-3", "38947555-0000-0000-0000-000000000003", [], {}),
    ]);
    await cp.applyObjects([sbc("uki-only", "server-2", images.uki.reference), sbc("pxe-only", "server-3", images.legacy.reference)]);
    const ukiOnly = await eventually(() => sbcInState("uki-only", "Ready"), "uki-only Ready");
    expect(condition(ukiOnly, "IPXEBootReady")).toMatchObject({ status: "False", reason: "NotApplicable" });
    expect((await cp.request("GET", `${BOOT}/ipxebootconfigs/uki-only`)).status).toBe(404);
    const pxeOnly = await eventually(() => sbcInState("pxe-only", "Ready"), "pxe-only (legacy GardenLinux) Ready");
    expect(condition(pxeOnly, "HTTPBootReady")).toMatchObject({ status: "False", reason: "NotApplicable" });
    expect((await cp.request("GET", `${BOOT}/httpbootconfigs/pxe-only`)).status).toBe(404);
  });

  test("no state flapping over 10 s with both modes on", async () => {
    const names = ["workload", "uki-only", "pxe-only"] as const;
    const states: Record<(typeof names)[number], Set<string>> = { workload: new Set(), "uki-only": new Set(), "pxe-only": new Set() };
    const versions: Record<(typeof names)[number], Set<string>> = { workload: new Set(), "uki-only": new Set(), "pxe-only": new Set() };
    // A fixed window is the point: nothing may change. 10 s spans ten served-status flushes (1 s), the translator's
    // first retries (2 s, 4 s) and the served-status minimum rewrite interval (10 s); a write loop between the
    // translator and the children's status shows within a second or two.
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      for (const name of names) {
        const object = (await cp.requestOk("GET", `${METAL}/namespaces/${NS}/serverbootconfigurations/${name}`)) as Sbc & {
          metadata: { resourceVersion: string };
        };
        states[name].add(object.status?.state ?? "(none)");
        versions[name].add(object.metadata.resourceVersion);
      }
      await Bun.sleep(500); // the sampling pace of the window above
    }
    for (const name of names) {
      expect([...states[name]]).toEqual(["Ready"]);
      expect(versions[name].size).toBe(1); // not even a no-op rewrite
    }
  }, 30_000);

  test("disallowed registry → ImageValidation False; fixing the image → Ready", async () => {
    await cp.applyObjects([server("server-4", "38947555-0000-0000-0000-000000000004", []), sbc("blocked", "server-4", "quay.io/gardenlinux/gardenlinux:1.0")]);
    const blocked = await eventually(async () => {
      const object = await getSbc("blocked");
      return condition(object, "ImageValidation")?.status === "False" ? object : undefined;
    }, "blocked ImageValidation False");
    expect(condition(blocked, "ImageValidation")).toMatchObject({ reason: "RegistryNotAllowed" });
    expect(condition(blocked, "ImageValidation")?.message).toContain("registry quay.io is not on the allow-list");
    expect(blocked.status?.state).toBe("Error");
    await cp.requestOk(
      "PATCH",
      `${METAL}/namespaces/${NS}/serverbootconfigurations/blocked`,
      { spec: { image: images.pxe.reference } },
      { contentType: "application/merge-patch+json" },
    );
    await eventually(() => sbcInState("blocked", "Ready"), "blocked → Ready after fixing the image");
  });

  test("an unresolvable image and an image without boot layers are reported", async () => {
    await cp.applyObjects([
      server("server-5", "38947555-0000-0000-0000-000000000005", []),
      sbc("missing-tag", "server-5", `${registry.host}/gardenlinux/full:does-not-exist`),
    ]);
    const missing = await eventually(async () => {
      const object = await getSbc("missing-tag");
      return condition(object, "ImageValidation")?.status === "False" ? object : undefined;
    }, "missing tag reported");
    expect(condition(missing, "ImageValidation")?.reason).toBe("ImageResolutionFailed");
  });

  test("workload vs maintenance: the config the Server refers to is served", async () => {
    const maintenanceUuid = "38947555-0000-0000-0000-00000000000a";
    await cp.applyObjects([server("server-m", maintenanceUuid, [], { bootConfigurationRef: { name: "m-workload", namespace: NS } })]);
    await cp.applyObjects([sbc("m-workload", "server-m", images.pxe.reference), sbc("m-maintenance", "server-m", images.full.reference)]);
    await eventually(async () => (await fetch(`${app.url}/ipxe/${maintenanceUuid}`)).status === 200, "served");
    const workloadKernel = amd64Layer(images.pxe, "kernel").digest;
    const maintenanceKernel = amd64Layer(images.full, "kernel").digest;
    await eventually(async () => (await (await fetch(`${app.url}/ipxe/${maintenanceUuid}`)).text()).includes(workloadKernel), "workload served");
    await cp.requestOk(
      "PATCH",
      `${METAL}/servers/server-m`,
      { spec: { maintenanceBootConfigurationRef: { name: "m-maintenance", namespace: NS } } },
      { contentType: "application/merge-patch+json" },
    );
    await eventually(
      async () => (await (await fetch(`${app.url}/ipxe/${maintenanceUuid}`)).text()).includes(maintenanceKernel),
      "maintenance served once the Server refers to it",
    );
    // The standby workload config is not an error.
    await eventually(() => sbcInState("m-workload", "Ready"), "standby workload stays Ready");
  });

  test("deleting the SBC garbage-collects its children", async () => {
    await cp.requestOk("DELETE", `${METAL}/namespaces/${NS}/serverbootconfigurations/workload`);
    await eventually(
      async () =>
        (await cp.request("GET", `${BOOT}/ipxebootconfigs/workload`)).status === 404 &&
        (await cp.request("GET", `${BOOT}/httpbootconfigs/workload`)).status === 404,
      "children gone",
      60_000,
    );
    await eventually(async () => (await fetch(`${app.url}/ipxe/${SERVER_UUID}`)).status === 404, "no longer served");
  }, 90_000);
});
