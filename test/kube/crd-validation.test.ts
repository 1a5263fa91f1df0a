// The generated CRDs and the valibot schemas decide alike: each value goes to a real API server and to
// parseBootResource, and both must accept it, or both reject it naming the same field. The values are the cases
// where our rules differ from the Go operator's CRD (which accepts any string): see test/unit/api-schema.test.ts.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { parseBootResource } from "../../src/api/index.ts";
import { type ControlPlane, startControlPlane } from "../harness/controlplane.ts";
import { BOOT_CRD_PATHS } from "../harness/crds.ts";

const NS = "crd";
const UUID = "4c4c4544-0042-3510-8052-b4c04f4a4e31";
const FILES = { kernelURL: "http://f/vmlinuz", initrdURL: "http://f/initrd" };

interface Case {
  name: string;
  kind: "IPXEBootConfig" | "HTTPBootConfig";
  spec: Record<string, unknown>;
  /** Dotted path of the rejected field (as parseBootResource names it); absent: valid. */
  rejects?: string;
  /** Part of the message both sides give. */
  message?: string;
}

const CASES: Case[] = [
  { name: "tftp kernel and initrd", kind: "IPXEBootConfig", spec: { kernelURL: "tftp://10.0.0.1/vmlinuz", initrdURL: "tftp://10.0.0.1/initrd" } },
  {
    name: "nfs, ftp, file: and appliance paths",
    kind: "IPXEBootConfig",
    spec: { kernelURL: "nfs://f/e/k", initrdURL: "file:/EFI/i", squashfsURL: "ftp://f/r" },
  },
  {
    name: "an s3 kernel",
    kind: "IPXEBootConfig",
    spec: { ...FILES, kernelURL: "s3://b/k" },
    rejects: "spec.kernelURL",
    message: "must be a URL iPXE can fetch",
  },
  { name: "empty UUID and squashfs (Go omitempty)", kind: "IPXEBootConfig", spec: { ...FILES, systemUUID: "", squashfsURL: "" } },
  { name: "a UUID that is no UUID", kind: "IPXEBootConfig", spec: { ...FILES, systemUUID: "server-1" }, rejects: "spec.systemUUID", message: "must be a UUID" },
  { name: "systemIPs that are no IPs", kind: "IPXEBootConfig", spec: { ...FILES, systemUUID: UUID, systemIPs: ["10.0.0.300", "10.0.0.1/24"] } },
  { name: "no kernel, custom script", kind: "IPXEBootConfig", spec: { systemUUID: UUID, ipxeScriptSecretRef: { name: "script" } } },
  {
    name: "no initrd, default script",
    kind: "IPXEBootConfig",
    spec: { kernelURL: "http://f/k" },
    rejects: "spec.initrdURL",
    message: "is required unless ipxeScriptSecretRef names a custom iPXE script",
  },
  // Valid for the Go operator's CRD (required, "" allowed), so valid here too; diagnose warns it cannot boot.
  { name: 'kernelURL "" and default script', kind: "IPXEBootConfig", spec: { kernelURL: "", initrdURL: "http://f/i" } },
  {
    name: 'ignitionSecretRef {name: ""}',
    kind: "IPXEBootConfig",
    spec: { systemUUID: UUID, ipxeScriptSecretRef: { name: "s" }, ignitionSecretRef: { name: "" } },
  },
  { name: "kernelArgs", kind: "IPXEBootConfig", spec: { ...FILES, kernelArgs: ["console=ttyS1,115200", "rd.debug"] } },
  {
    name: "a kernel argument with a space",
    kind: "IPXEBootConfig",
    spec: { ...FILES, kernelArgs: ["ok", "a || shell"] },
    rejects: "spec.kernelArgs.1",
    message: "must be one kernel argument",
  },
  { name: 'ukiURL ""', kind: "HTTPBootConfig", spec: { systemUUID: UUID, ukiURL: "" } },
  {
    name: "a tftp UKI",
    kind: "HTTPBootConfig",
    spec: { ukiURL: "tftp://f/os.efi" },
    rejects: "spec.ukiURL",
    message: "must be an http:// or https:// URL (UEFI HTTP Boot)",
  },
  { name: "network identifiers that are neither IP nor MAC", kind: "HTTPBootConfig", spec: { networkIdentifiers: ["10.0.0.1", "aa:bb:cc", "x".repeat(100)] } },
];

let cp: ControlPlane;

beforeAll(async () => {
  cp = await startControlPlane({ crdPaths: BOOT_CRD_PATHS });
  await cp.requestOk("POST", "/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: NS } });
}, 120_000);

afterAll(async () => {
  await cp?.stop();
});

/** "spec.networkIdentifiers.1" → "spec.networkIdentifiers[1]", as the API server writes field paths. */
function apiServerPath(path: string): string {
  return path.replace(/\.(\d+)/g, "[$1]");
}

describe("API server and valibot agree", () => {
  CASES.forEach((c, index) => {
    test(`${c.rejects ? "rejects" : "accepts"} ${c.name}`, async () => {
      const object = {
        apiVersion: "boot.ironcore.dev/v1alpha1",
        kind: c.kind,
        metadata: { name: `case-${index}`, namespace: NS },
        spec: c.spec,
      };
      const plural = c.kind === "IPXEBootConfig" ? "ipxebootconfigs" : "httpbootconfigs";
      const response = await cp.request("POST", `/apis/boot.ironcore.dev/v1alpha1/namespaces/${NS}/${plural}`, object);
      const parsed = parseBootResource(object);
      if (!c.rejects) {
        expect(response.status, response.text).toBe(201);
        expect(parsed.ok ? [] : parsed.problems).toEqual([]);
        return;
      }
      expect(response.status).toBe(422);
      expect(response.text).toContain(apiServerPath(c.rejects));
      expect(response.text).toContain(c.message ?? "");
      expect(parsed.ok).toBe(false);
      if (!parsed.ok) {
        const problem = parsed.problems.find((p) => p.path === c.rejects);
        expect(problem?.message ?? `no problem at ${c.rejects}: ${JSON.stringify(parsed.problems)}`).toContain(c.message ?? "");
      }
    });
  });
});
