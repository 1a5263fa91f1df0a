// `explain --source kube` against a real API server: the binary reads the configs and secrets once and says which
// config each endpoint would serve, as it does for a directory; an unknown machine exits 1.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { runCommand } from "../harness/appliance.ts";
import { type ControlPlane, startControlPlane } from "../harness/controlplane.ts";
import { BOOT_CRD_PATHS } from "../harness/crds.ts";

const NS = "explain";
const UUID = "4c4c4544-0042-3510-8052-b4c04f4a4e31";
let cp: ControlPlane;

beforeAll(async () => {
  cp = await startControlPlane({ crdPaths: BOOT_CRD_PATHS });
  await cp.requestOk("POST", "/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: NS } });
  await cp.requestOk("POST", `/api/v1/namespaces/${NS}/secrets`, {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: "m1-ignition" },
    stringData: { ignition: '{"ignition":{"version":"3.4.0"}}' },
  });
  await cp.requestOk("POST", `/apis/boot.ironcore.dev/v1alpha1/namespaces/${NS}/ipxebootconfigs`, {
    apiVersion: "boot.ironcore.dev/v1alpha1",
    kind: "IPXEBootConfig",
    metadata: { name: "m1" },
    spec: { systemUUID: UUID, kernelURL: "http://f/k", initrdURL: "http://f/i", ignitionSecretRef: { name: "m1-ignition" } },
  });
  await cp.requestOk("PATCH", `/apis/boot.ironcore.dev/v1alpha1/namespaces/${NS}/ipxebootconfigs/m1/status`, {
    status: {
      lastBoot: {
        startedAt: "2026-12-08T01:00:00Z",
        lastMilestone: "script",
        milestones: [{ name: "script", at: "2026-12-08T01:00:00Z", requester: "10.0.0.7" }],
      },
    },
  });
}, 120_000);

afterAll(async () => {
  await cp?.stop();
});

describe("explain --source kube", () => {
  test("names the config per endpoint from the API server's objects", async () => {
    const { code, stdout, stderr } = await runCommand(["explain", "--source", "kube", "--kubeconfig", cp.kubeconfigPath, "--uuid", UUID]);
    expect(stderr).toBe("");
    expect(stdout).toContain(`/ipxe/{uuid}: IPXEBootConfig ${NS}/m1 (matched by uuid ${UUID}; default template; state Ready)`);
    expect(stdout).toContain(`/ignition/${UUID}: IPXEBootConfig ${NS}/m1 (matched by uuid; secret m1-ignition; state Ready)`);
    // The serving source drops the status; explain's keeps it.
    expect(stdout).toContain("last boot (status.lastBoot): script 2026-12-08T01:00:00.000Z by 10.0.0.7");
    expect(code).toBe(0);
  });
  test("--namespace narrows what it reads; a machine no config names exits 1", async () => {
    const { code, stdout } = await runCommand(["explain", "--source", "kube", "--kubeconfig", cp.kubeconfigPath, "--namespace", "default", "--uuid", UUID]);
    expect(stdout).toContain("no config names this machine");
    expect(code).toBe(1);
  });
  test("an API server that cannot be reached is one line and exit 1, not a hang", async () => {
    const kubeconfig = (await Bun.file(cp.kubeconfigPath).text()).replace(cp.serverUrl, "https://127.0.0.1:1");
    const path = `${cp.kubeconfigPath}.unreachable`;
    await Bun.write(path, kubeconfig);
    const { code, stderr } = await runCommand(["explain", "--source", "kube", "--kubeconfig", path, "--uuid", UUID]);
    expect(code).toBe(1);
    expect(stderr).toStartWith("boot-operator: cannot read ");
  });
});
