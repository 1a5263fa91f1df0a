// SwitchBootConfig: what the schema accepts (with field paths), and how the index finds a switch by serial, MAC
// (any notation) and IP, with conflicts reported as the server kinds report theirs.
import { describe, expect, test } from "bun:test";
import { parseBootResource } from "../../src/api/index.ts";
import { BootIndex, describeConflict } from "../../src/index/boot-index.ts";
import { switchConfig } from "./fixtures.ts";

function parseSwitch(spec: Record<string, unknown>) {
  return parseBootResource({ apiVersion: "boot.ironcore.dev/v1alpha1", kind: "SwitchBootConfig", metadata: { name: "leaf-1" }, spec });
}
function problems(result: ReturnType<typeof parseBootResource>): string[] {
  return result.ok ? [] : result.problems.map((problem) => `${problem.path}: ${problem.message}`);
}

describe("SwitchBootConfig schema", () => {
  test("a switch with a serial and an ONIE installer is valid", () => {
    const result = parseSwitch({ serialNumber: "SN123", onie: { installerURL: "http://files/onie-installer.bin" } });
    expect(problems(result)).toEqual([]);
    expect(result.ok && result.resource.kind).toBe("SwitchBootConfig");
  });

  test("every serve item alone is enough", () => {
    for (const item of [
      { onie: { updaterURL: "/uki/onie-updater" } },
      { sonic: { ztpJSONSecretRef: { name: "z" } } },
      { provisioningScriptSecretRef: { name: "s" } },
      { startupConfigSecretRef: { name: "c" } },
    ]) {
      expect(problems(parseSwitch({ macAddresses: ["aa:bb:cc:dd:ee:ff"], ...item }))).toEqual([]);
    }
  });

  test("nothing to serve, or no identity, is an error on spec", () => {
    expect(problems(parseSwitch({ serialNumber: "SN1", onie: { installerURL: "" } }))).toEqual([
      "spec: must name at least one thing to serve: onie.installerURL, onie.updaterURL, sonic.ztpJSONSecretRef, provisioningScriptSecretRef or startupConfigSecretRef",
    ]);
    expect(problems(parseSwitch({ provisioningScriptSecretRef: { name: "s" } }))).toEqual([
      "spec: must name the switch: at least one of serialNumber, macAddresses, systemIPs",
    ]);
  });

  test("bad fields are reported with their path", () => {
    expect(problems(parseSwitch({ serialNumber: "SN1", onie: { installerURL: "tftp://x/onie" }, hostname: "bad name", extra: 1 }))).toEqual([
      "spec.hostname: must be a host name (letters, digits, '-', '.')",
      "spec.onie.installerURL: must be an http:// or https:// URL, a path starting with / on this appliance (/uki/… files, /image?… through the image proxy)",
      "spec.extra: unknown field",
    ]);
    expect(problems(parseSwitch({ serialNumber: "SN1", provisioningScriptSecretRef: { name: "Bad_Name" } }))).toEqual([
      "spec.provisioningScriptSecretRef.name: must be a lower-case RFC 1123 DNS subdomain (a-z, 0-9, '-', '.')",
    ]);
  });
});

describe("switch index", () => {
  const index = new BootIndex({
    ipxeBootConfigs: [],
    httpBootConfigs: [],
    switchBootConfigs: [
      switchConfig("leaf-1", { serialNumber: " sn-100 ", macAddresses: ["0C-29-EF-00-00-01", "not-a-mac"], systemIPs: ["2001:DB8::0:1"] }),
      switchConfig("leaf-2", { serialNumber: "SN-200" }),
    ],
    secrets: [],
  });

  test("serial numbers match trimmed and case-insensitively", () => {
    expect(index.switchBySerialLookup("SN-100")?.key).toBe("default/leaf-1");
    expect(index.switchBySerialLookup("sn-200")?.reason).toBe("serial");
    expect(index.switchBySerialLookup("SN-300")).toBeNull();
    expect(index.switchBySerialLookup("  ")).toBeNull();
  });

  test("MACs match in every notation, IPs in canonical form", () => {
    for (const mac of ["0c:29:ef:00:00:01", "0C29.EF00.0001", "0c29ef000001"]) expect(index.switchByMacLookup(mac)?.key).toBe("default/leaf-1");
    expect(index.switchByIpLookup("2001:db8:0:0::1")?.key).toBe("default/leaf-1");
    expect(index.switchByMacLookup("not-a-mac")).toBeNull();
  });

  test("two switches claiming one serial: a conflict like the server kinds', the first by name wins", () => {
    const contested = new BootIndex({
      ipxeBootConfigs: [],
      httpBootConfigs: [],
      switchBootConfigs: [switchConfig("b", { serialNumber: "SN1" }), switchConfig("a", { serialNumber: "sn1", macAddresses: ["aa:bb:cc:dd:ee:ff"] })],
      secrets: [],
    });
    expect(contested.switchBySerialLookup("SN1")?.key).toBe("default/a");
    const [conflict] = contested.conflictsLostBy("SwitchBootConfig", "default/b");
    expect(conflict && describeConflict(conflict)).toBe(
      "SwitchBootConfigs default/a, default/b all claim serial SN1; default/a is served, not default/b (default/a sorts first by namespace/name)",
    );
    expect(contested.conflictsHeldBy("SwitchBootConfig", "default/a")).toHaveLength(1);
  });

  test("a switch keeps its serial against a newcomer (the holder rule)", () => {
    const before = new BootIndex({ ipxeBootConfigs: [], httpBootConfigs: [], switchBootConfigs: [switchConfig("z", { serialNumber: "SN9" })], secrets: [] });
    const after = new BootIndex(
      {
        ipxeBootConfigs: [],
        httpBootConfigs: [],
        switchBootConfigs: [switchConfig("z", { serialNumber: "SN9" }), switchConfig("a", { serialNumber: "SN9" })],
        secrets: [],
      },
      before,
    );
    expect(after.switchBySerialLookup("SN9")?.key).toBe("default/z");
  });

  test("Secrets referenced by a switch are known, so a Secret change reaches it", () => {
    expect(index.configsBySecret.get("default/leaf-1-ztp")).toEqual([{ kind: "SwitchBootConfig", key: "default/leaf-1" }]);
  });
});
