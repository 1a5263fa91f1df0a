// A real BIOS/iPXE boot against the appliance in Kubernetes mode: the config lives in a real API server, and the
// boot flips its status conditions to IPXEScriptFetched and IgnitionDataFetched.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { createHash, randomUUID } from "node:crypto";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Appliance, startAppliance } from "../harness/appliance.ts";
import { type ControlPlane, startControlPlane } from "../harness/controlplane.ts";
import { BOOT_CRD_PATHS } from "../harness/crds.ts";
import { eventually } from "../harness/wait.ts";
import { freeLoopbackPort } from "./appliance.ts";
import { bootMachine, describeBoot, expectGuestFetchedIgnition, guestArtefacts, HOST_FROM_GUEST, serialLogDir } from "./qemu.ts";

const NS = "e2e";
const BOOT_TIMEOUT_MS = Number(process.env.BOOT_E2E_TIMEOUT_MS ?? 150_000);
let cp: ControlPlane;
let app: Appliance;
let work: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "boot-e2e-kube-"));
  cp = await startControlPlane({ crdPaths: BOOT_CRD_PATHS });
  await cp.requestOk("POST", "/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: NS } });
}, 120_000);

afterAll(async () => {
  await app?.stop();
  await cp?.stop();
  rmSync(work, { recursive: true, force: true });
});

test(
  "BIOS iPXE boot of a config stored in the API server records IPXEScriptFetched and IgnitionDataFetched",
  async () => {
    const artefacts = guestArtefacts();
    const ukiDir = join(work, "uki");
    mkdirSync(ukiDir);
    copyFileSync(artefacts.kernel, join(ukiDir, "vmlinuz"));
    copyFileSync(artefacts.initrd, join(ukiDir, "initrd.img"));
    const uuid = randomUUID();
    const mac = "52:54:00:e2:0e:01";
    const ignition = JSON.stringify({ ignition: { version: "3.4.0" }, storage: { files: [{ path: "/etc/e2e", contents: { source: `data:,${uuid}` } }] } });
    await cp.applyObjects([
      { apiVersion: "v1", kind: "Secret", metadata: { name: "kube-boot", namespace: NS }, stringData: { ignition } },
      {
        apiVersion: "boot.ironcore.dev/v1alpha1",
        kind: "IPXEBootConfig",
        metadata: { name: "kube-boot", namespace: NS },
        spec: { systemUUID: uuid, kernelURL: "/uki/vmlinuz", initrdURL: "/uki/initrd.img", ignitionSecretRef: { name: "kube-boot" } },
      },
    ]);
    const port = freeLoopbackPort();
    const publicUrl = `http://${HOST_FROM_GUEST}:${port}`;
    app = await startAppliance(["--source", "kube", "--kubeconfig", cp.kubeconfigPath, "--namespace", NS, "--uki-dir", ukiDir, "--public-url", publicUrl], {
      listen: `127.0.0.1:${port}`,
    });
    await app.waitReady(30_000);

    const result = await bootMachine({
      firmware: "bios",
      uuid,
      mac,
      bootFileUrl: `${publicUrl}/ipxe`,
      serialLogPath: join(serialLogDir(), "kube-bios.log"),
      timeoutMs: BOOT_TIMEOUT_MS,
    });
    const guest = expectGuestFetchedIgnition(result);
    expect(guest.ignitionSha256, describeBoot(result)).toBe(createHash("sha256").update(ignition).digest("hex"));

    // The served-status writer flushes once a second; the conditions name the client (QEMU's NAT: 127.0.0.1).
    let conditions: { type: string; status: string; reason: string; message: string }[] = [];
    await eventually(
      async () => {
        const object = (await cp.requestOk("GET", `/apis/boot.ironcore.dev/v1alpha1/namespaces/${NS}/ipxebootconfigs/kube-boot`)) as {
          status?: { conditions?: typeof conditions };
        };
        conditions = object.status?.conditions ?? [];
        return ["IPXEScriptFetched", "IgnitionDataFetched", "Ready"].every((type) => conditions.some((c) => c.type === type && c.status === "True"));
      },
      "IPXEScriptFetched, IgnitionDataFetched and Ready all True",
      { timeoutMs: 15_000, detail: () => conditions },
    );
    expect(conditions.find((c) => c.type === "IPXEScriptFetched")).toMatchObject({ reason: "IPXEScriptDelivered" });
    expect(conditions.find((c) => c.type === "IPXEScriptFetched")?.message).toContain("IPXE script has been successfully delivered to the client 127.0.0.1");
    expect(conditions.find((c) => c.type === "IgnitionDataFetched")?.message).toContain(
      "Ignition data has been successfully delivered to the client 127.0.0.1",
    );
    expect(conditions.find((c) => c.type === "Ready")?.status).toBe("True");
    console.log(`kube-mode BIOS boot: ${Math.round(result.wallTimeMs / 100) / 10} s`);
  },
  BOOT_TIMEOUT_MS + 120_000,
);
