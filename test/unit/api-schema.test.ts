// What our schemas accept compared with the Go operator's CRD (any string everywhere): stricter only where the Go
// operator's answer could not boot the machine either. The API server side of the same rules is in
// test/kube/crd-validation.test.ts.
import { describe, expect, test } from "bun:test";
import { parseBootResource } from "../../src/api/index.ts";

const UUID = "4c4c4544-0042-3510-8052-b4c04f4a4e31";

function ipxe(spec: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return parseBootResource({ apiVersion: "boot.ironcore.dev/v1alpha1", kind: "IPXEBootConfig", metadata: { name: "m" }, spec, ...extra });
}
function http(spec: Record<string, unknown>) {
  return parseBootResource({ apiVersion: "boot.ironcore.dev/v1alpha1", kind: "HTTPBootConfig", metadata: { name: "h" }, spec });
}
function problems(result: ReturnType<typeof parseBootResource>): string[] {
  return result.ok ? [] : result.problems.map((problem) => `${problem.path}: ${problem.message}`);
}
const files = { kernelURL: "http://f/vmlinuz", initrdURL: "http://f/initrd" };

describe("boot file URLs: every scheme iPXE downloads over", () => {
  test.each([
    "http://f/vmlinuz",
    "https://f/vmlinuz",
    "tftp://10.0.0.1/vmlinuz",
    "tftm://10.0.0.1/vmlinuz",
    "mtftp://10.0.0.1/vmlinuz",
    "ftp://user:pw@f/vmlinuz",
    "slam://f/vmlinuz",
    "nfs://10.0.0.1/export/vmlinuz",
    "file:/EFI/boot/vmlinuz",
    "file://bootdisk/vmlinuz",
    "/uki/vmlinuz",
  ])("accepts %s", (url) => {
    expect(problems(ipxe({ ...files, kernelURL: url, squashfsURL: url }))).toEqual([]);
  });
  test.each(["s3://bucket/vmlinuz", "vmlinuz", "http://", "http://f/with space", "iscsi:10.0.0.1::::iqn.x"])("rejects %s (iPXE cannot fetch it)", (url) => {
    expect(problems(ipxe({ ...files, initrdURL: url }))).toEqual([
      "spec.initrdURL: must be a URL iPXE can fetch (http, https, tftp, tftm, mtftp, ftp, slam, nfs, file:), or a path starting with / served by this appliance",
    ]);
  });
});

describe("UKI URLs stay http(s): UEFI HTTP Boot firmware loads nothing else", () => {
  test("http, https and appliance paths are accepted; tftp is not", () => {
    expect(problems(http({ ukiURL: "https://f/os.efi" }))).toEqual([]);
    expect(problems(http({ ukiURL: "/uki/os.efi" }))).toEqual([]);
    expect(problems(http({ ukiURL: "tftp://f/os.efi" }))).toEqual([
      "spec.ukiURL: must be an http:// or https:// URL (UEFI HTTP Boot), or a path starting with / served by this appliance",
    ]);
  });
});

describe('"" is the field left out (Go omitempty), not a validation error', () => {
  test("ukiURL and systemUUID", () => {
    const result = http({ systemUUID: "", ukiURL: "", networkIdentifiers: ["10.0.0.1"] });
    expect(result.ok).toBe(true);
    if (result.ok && result.resource.kind === "HTTPBootConfig") {
      expect(result.resource.object.spec.ukiURL).toBeUndefined();
      expect(result.resource.object.spec.systemUUID).toBeUndefined();
    }
  });
  test("squashfsURL", () => {
    const result = ipxe({ ...files, systemUUID: UUID, squashfsURL: "" });
    expect(result.ok && result.resource.kind === "IPXEBootConfig" && result.resource.object.spec.squashfsURL).toBe(undefined);
  });
  test("a UUID that is neither empty nor a UUID is still an error (it never equals the UUID iPXE sends)", () => {
    expect(problems(ipxe({ ...files, systemUUID: "server-1" }))).toEqual(["spec.systemUUID: must be a UUID like 4c4c4544-0042-3510-8052-b4c04f4a4e31"]);
  });
});

describe("kernelURL and initrdURL", () => {
  test("required for the default script, as the Go CRD requires them", () => {
    expect(problems(ipxe({ systemUUID: UUID }))).toEqual([
      "spec.kernelURL: is required unless ipxeScriptSecretRef names a custom iPXE script (the default script boots it)",
      "spec.initrdURL: is required unless ipxeScriptSecretRef names a custom iPXE script (the default script boots it)",
    ]);
  });
  test('"" is accepted as the Go CRD accepts it (a config valid there stays valid), and reads as absent', () => {
    const result = ipxe({ systemUUID: UUID, kernelURL: "", initrdURL: "http://f/i" });
    expect(problems(result)).toEqual([]);
    const spec = result.ok && result.resource.kind === "IPXEBootConfig" ? result.resource.object.spec : undefined;
    expect(spec?.initrdURL).toBe("http://f/i");
    expect(spec && "kernelURL" in spec).toBe(false);
  });
  test("optional with a custom script, which the Go operator serves as it is", () => {
    expect(problems(ipxe({ systemUUID: UUID, ipxeScriptSecretRef: { name: "script" } }))).toEqual([]);
  });
});

describe("identifier lists take any string, as the Go CRD does", () => {
  test("systemIPs and networkIdentifiers entries that are no address do not take the config away", () => {
    expect(problems(ipxe({ ...files, systemUUID: UUID, systemIPs: ["10.0.0.1", "10.0.0.2/24", "fe80::1%eth0"] }))).toEqual([]);
    expect(problems(http({ systemUUID: UUID, networkIdentifiers: ["aa:bb:cc", "10.0.0.1", "x".repeat(300)] }))).toEqual([]);
    expect(problems(ipxe({ ...files, systemIPs: Array.from({ length: 200 }, (_, i) => `10.0.${i >> 8}.${i & 255}`) }))).toEqual([]);
  });
  test("deprecated fields take any string", () => {
    expect(problems(ipxe({ ...files, image: "x".repeat(5000), ipxeServerURL: "not even a url" }))).toEqual([]);
  });
});

describe("status never keeps a config from being served", () => {
  test("a status another writer left (unknown state, too many conditions) reads as none", () => {
    const conditions = Array.from({ length: 40 }, (_, i) => ({
      type: `T${i}`,
      status: "True",
      reason: "R",
      message: "",
      lastTransitionTime: "2024-01-01T00:00:00Z",
    }));
    const result = ipxe({ ...files, systemUUID: UUID }, { status: { state: "Booting", conditions } });
    expect(result.ok).toBe(true);
    if (result.ok && result.resource.kind === "IPXEBootConfig") expect(result.resource.object.status).toBeUndefined();
  });
  test("a status we wrote is kept", () => {
    const result = ipxe({ ...files, systemUUID: UUID }, { status: { state: "Ready" } });
    expect(result.ok && result.resource.kind === "IPXEBootConfig" && result.resource.object.status).toEqual({ state: "Ready" });
  });
});

describe("secret references", () => {
  test('ignitionSecretRef {name: ""} (the Go CRD\'s default) is no reference: a custom script that needs no Ignition boots', () => {
    expect(problems(ipxe({ systemUUID: UUID, ipxeScriptSecretRef: { name: "script" }, ignitionSecretRef: { name: "" } }))).toEqual([]);
    expect(problems(http({ systemUUID: UUID, ignitionSecretRef: { name: "" } }))).toEqual([]);
    expect(problems(http({ ignitionSecretRef: { name: "Not_A_Name" } }))).toEqual([
      "spec.ignitionSecretRef.name: must be empty or a lower-case RFC 1123 DNS subdomain (a-z, 0-9, '-', '.')",
    ]);
  });
});

describe("still rejected: mistakes with which no operator could boot the machine", () => {
  test('ipxeScriptSecretRef {name: ""} (the Go operator answers 500), unknown fields', () => {
    expect(problems(ipxe({ ...files, ipxeScriptSecretRef: { name: "" } }))).toContain("spec.ipxeScriptSecretRef.name: must not be empty");
    expect(problems(ipxe({ ...files, kernelUrl: "http://f/k" }))).toEqual(["spec.kernelUrl: unknown field"]);
  });
});

describe("kernelArgs (ours; the Go operator has none)", () => {
  test("one argument per entry, anything the kernel reads", () => {
    expect(problems(ipxe({ ...files, kernelArgs: ["console=ttyS1,115200", "rd.debug", "hostname=${hostname}", 'x="y"'] }))).toEqual([]);
  });
  test("an entry iPXE would split (space, newline, ||, &&) or an empty one is rejected", () => {
    const message = "must be one kernel argument: not empty, no spaces, no | or & (iPXE would split the line there)";
    expect(problems(ipxe({ ...files, kernelArgs: ["a b", "ok", "x\nshell", "||", "", "a&&b"] }))).toEqual(
      [0, 2, 3, 4, 5].map((index) => `spec.kernelArgs.${index}: ${message}`),
    );
    expect(problems(ipxe({ ...files, kernelArgs: Array.from({ length: 65 }, (_, i) => `a${i}`) }))).toEqual(["spec.kernelArgs: must have at most 64 entries"]);
  });
});
