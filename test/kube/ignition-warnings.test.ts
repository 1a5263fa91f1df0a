// Kubernetes mode: a Butane secret that translates only with warnings leaves the config Ready and sets the
// IgnitionWarnings condition (True with the warnings); fixing the secret turns it False. Real API server.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Appliance } from "../harness/appliance.ts";
import type { ControlPlane } from "../harness/controlplane.ts";
import { BOOT_CRD_PATHS } from "../harness/crds.ts";
import { type Condition, conditionOf, type KubeMode, startKubeMode } from "../harness/kube-mode.ts";
import { eventually } from "../harness/wait.ts";

const NS = "butane-warnings";
const UUID = "7b1f2e3d-4c5b-4a69-8877-665544332211";
const TYPO = "variant: fcos\nversion: 1.5.0\nstorage:\n  files:\n    - path: /etc/a\n      permissions: 0644\n";
const FIXED = "variant: fcos\nversion: 1.5.0\nstorage:\n  files:\n    - path: /etc/a\n      mode: 0644\n";

interface StatusObject {
  status?: { state?: string; conditions?: Condition[] };
}

let kube: KubeMode | undefined;
let cp: ControlPlane;
let app: Appliance;

function butaneSecret(ignition: string) {
  return { apiVersion: "v1", kind: "Secret", metadata: { name: "typo", namespace: NS }, stringData: { format: "fcos", ignition } };
}

async function machineCondition(type: string): Promise<{ state?: string; condition?: Condition }> {
  const object = (await cp.requestOk("GET", `/apis/boot.ironcore.dev/v1alpha1/namespaces/${NS}/ipxebootconfigs/machine`)) as StatusObject;
  return { state: object.status?.state, condition: conditionOf(object, type) };
}

beforeAll(async () => {
  kube = await startKubeMode({
    crdPaths: BOOT_CRD_PATHS,
    namespace: NS,
    prepare: (controlPlane) =>
      controlPlane.applyObjects([
        butaneSecret(TYPO),
        {
          apiVersion: "boot.ironcore.dev/v1alpha1",
          kind: "IPXEBootConfig",
          metadata: { name: "machine", namespace: NS },
          spec: { systemUUID: UUID, kernelURL: "http://files.example/vmlinuz", initrdURL: "http://files.example/initrd", ignitionSecretRef: { name: "typo" } },
        },
      ]),
    applianceArgs: ["--public-url", "http://boot.test"],
  });
  ({ cp, app } = kube);
}, 120_000);

afterAll(async () => {
  await kube?.stop();
});

describe("IgnitionWarnings", () => {
  test("True with the warning while the Butane has an unused key; the config stays Ready and is served", async () => {
    const { state, condition } = await eventually(async () => {
      const current = await machineCondition("IgnitionWarnings");
      return current.condition?.status === "True" ? current : undefined;
    }, "IgnitionWarnings True");
    expect(state).toBe("Ready");
    expect(condition).toMatchObject({
      reason: "ButaneWarnings",
      message: `secret ${NS}/typo: storage.files.0.permissions (line 6, column 7): unused key permissions`,
    });
    const response = await fetch(`${app.url}/ignition/${UUID}`);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('{"ignition":{"version":"3.4.0"},"storage":{"files":[{"path":"/etc/a"}]}}');
  });

  test("False once the secret is fixed", async () => {
    await cp.applyObjects([butaneSecret(FIXED)]);
    const { condition } = await eventually(async () => {
      const current = await machineCondition("IgnitionWarnings");
      return current.condition?.status === "False" ? current : undefined;
    }, "IgnitionWarnings False");
    expect(condition?.reason).toBe("NoWarnings");
  });
});
