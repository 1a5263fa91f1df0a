// A Deployment written for the Go operator's manager, run with our binary against a real API server: its args as
// its manifests have them (metal-operator's Tiltfile for config/dev; the kubebuilder config/default), only the
// ports moved to free loopback ones and a --kubeconfig added (in a pod: the in-cluster config). The binary must
// start (no exit 2), serve on the ports those flags name, and reconcile.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createServer } from "node:net";
import { type Appliance, startAppliance } from "../harness/appliance.ts";
import { type ControlPlane, startControlPlane } from "../harness/controlplane.ts";
import { BOOT_CRD_PATHS, METAL_CRD_PATHS } from "../harness/crds.ts";
import { eventually } from "../harness/wait.ts";

const NS = "fleet";
const GROUP_PATH = `/apis/boot.ironcore.dev/v1alpha1/namespaces/${NS}`;
const GO_LEASE = "/apis/coordination.k8s.io/v1/namespaces/default/leases/e9f0940b.ironcore.dev";

let cp: ControlPlane;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** The address a side listener logged it serves `name` on. */
async function sideUrl(app: Appliance, name: string): Promise<string> {
  const line = await app.waitForLog((l) => l.msg === "side listener" && Array.isArray(l.serves) && l.serves.includes(name));
  return String(line.url);
}

function ipxeConfig(name: string, uuid: string) {
  return {
    apiVersion: "boot.ironcore.dev/v1alpha1",
    kind: "IPXEBootConfig",
    metadata: { name, namespace: NS },
    spec: { systemUUID: uuid, kernelURL: "tftp://10.0.0.1/vmlinuz", initrdURL: "http://files.example/initrd", ignitionSecretRef: { name: "ignition" } },
  };
}

async function stateOf(name: string): Promise<string | undefined> {
  const object = (await cp.requestOk("GET", `${GROUP_PATH}/ipxebootconfigs/${name}`)) as { status?: { state?: string } };
  return object.status?.state;
}

beforeAll(async () => {
  cp = await startControlPlane({ crdPaths: [...BOOT_CRD_PATHS, ...METAL_CRD_PATHS] });
  await cp.requestOk("POST", "/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: NS } });
  await cp.applyObjects([
    { apiVersion: "v1", kind: "Secret", metadata: { name: "ignition", namespace: NS }, stringData: { ignition: '{"ignition":{"version":"3.4.0"}}' } },
  ]);
}, 120_000);

afterAll(async () => {
  await cp?.stop();
});

describe("metal-operator's Deployment args (config/dev)", () => {
  test("start, serve on the ports they name, reconcile, and lead on the Go operator's Lease", async () => {
    const [probes, metrics, images] = await Promise.all([freePort(), freePort(), freePort()]);
    const args = [
      "--ipxe-service-url=http://boot-service:30007",
      "--ipxe-service-port=30007",
      "--leader-elect",
      "--controllers=ipxebootconfig,serverbootconfigpxe,serverbootconfighttp,httpbootconfig",
      `--health-probe-bind-address=127.0.0.1:${probes}`, // :8081 in the manifest
      `--metrics-bind-address=127.0.0.1:${metrics}`, // 127.0.0.1:8085 in the manifest
      `--image-proxy-server-address=127.0.0.1:${images}`, // the Go default :8083
      `--kubeconfig=${cp.kubeconfigPath}`,
    ];
    const app = await startAppliance(args, { goManager: true, env: { POD_NAME: "boot-operator-0" } });
    try {
      const listening = await app.waitForLog((l) => l.msg === "boot server listening");
      expect(String(listening.source)).toStartWith("kube:");
      expect(String(listening.startedAs)).toContain("Go operator's manager");

      // Probes on the port the kubelet is told, as in the Go manifests; only probes there.
      const probeUrl = await sideUrl(app, "health probes");
      expect(probeUrl).toBe(`http://127.0.0.1:${probes}`);
      expect((await fetch(`${probeUrl}/healthz`)).status).toBe(200);
      await eventually(async () => (await fetch(`${probeUrl}/readyz`)).status === 200, "readyz on the probe port");
      expect((await fetch(`${probeUrl}/ipxe`)).status).toBe(404);

      // Metrics on theirs, and only there (the boot port faces the provisioning network).
      const metricsUrl = await sideUrl(app, "metrics");
      expect(metricsUrl).toBe(`http://127.0.0.1:${metrics}`);
      expect(await (await fetch(`${metricsUrl}/metrics`)).text()).toContain("boot_operator_http_requests_total");
      expect((await fetch(`${metricsUrl}/healthz`)).status).toBe(404);
      expect((await fetch(`${app.url}/metrics`)).status).toBe(404);

      // The image proxy on its own port, as the Go operator's: its routes answer there (a bad request, not "no such
      // endpoint on this port"), boot routes do not.
      const imageUrl = await sideUrl(app, "image proxy");
      const image = await fetch(`${imageUrl}/image`);
      expect(image.status).toBe(400);
      expect(await (await fetch(`${imageUrl}/ipxe`)).text()).toStartWith("no such endpoint on this port");

      // Boot answers use the --ipxe-service-url, set the Go chainload's iPXE settings.
      expect(await (await fetch(`${app.url}/ipxe`)).text()).toContain("set ipxe-svc http://boot-service:30007\n");

      // Reconciles: a status appears, written by the leader of the Go operator's Lease.
      await cp.applyObjects([ipxeConfig("machine-1", "22222222-0000-0000-0000-000000000001")]);
      await eventually(async () => (await stateOf("machine-1")) === "Ready", "machine-1 Ready", 30_000);
      const lease = (await cp.requestOk("GET", GO_LEASE)) as { spec: { holderIdentity: string } };
      expect(lease.spec.holderIdentity).toBe("boot-operator-0");
      expect(await (await fetch(`${app.url}/ipxe/22222222-0000-0000-0000-000000000001`)).text()).toContain("kernel tftp://10.0.0.1/vmlinuz ");

      // The only Go flag that does not do the same here says so, once.
      const notices = app.logs.filter((l) => l.msg === "Go operator flag accepted, but it does not do the same here");
      expect(notices.map((l) => l.flag)).toEqual(["--metrics-secure"]);
    } finally {
      expect(await app.stop()).toBe(0);
    }
  }, 90_000);
});

describe("the kubebuilder Deployment args (config/manager + config/default)", () => {
  test("start and answer the kubelet's probes on the probe port", async () => {
    const [probes, metrics] = await Promise.all([freePort(), freePort()]);
    const args = [
      `--metrics-bind-address=127.0.0.1:${metrics}`, // :8443 in the manifest's metrics patch
      "--leader-elect",
      `--health-probe-bind-address=127.0.0.1:${probes}`, // :8081, the probes' port
      "--image-proxy-server-address=0", // the Go default :8083 would bind every interface of this test machine
      "--metrics-secure=false",
      `--kubeconfig=${cp.kubeconfigPath}`,
    ];
    const app = await startAppliance(args, { goManager: true, env: { POD_NAME: "boot-operator-1" } });
    try {
      await eventually(async () => (await fetch(`http://127.0.0.1:${probes}/readyz`)).status === 200, "readyz on the probe port");
      expect(await (await fetch(`http://127.0.0.1:${metrics}/metrics`)).text()).toContain("boot_operator_configs");
      await cp.applyObjects([ipxeConfig("machine-2", "22222222-0000-0000-0000-000000000002")]);
      await eventually(async () => (await stateOf("machine-2")) === "Ready", "machine-2 Ready", 30_000);
      expect(app.logs.filter((l) => l.level === "warn" && l.msg.startsWith("Go operator flag"))).toEqual([]);
    } finally {
      expect(await app.stop()).toBe(0);
    }
  }, 90_000);
});
