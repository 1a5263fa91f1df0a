import { describe, expect, test } from "bun:test";
import { resolveHttpBootConfig, resolveIgnitionConfig, resolveIpxeConfig } from "../../src/boot/resolve.ts";
import { BootIndex, describeConflict } from "../../src/index/boot-index.ts";
import { defined } from "../harness/defined.ts";
import { httpConfig, ipxeConfig, secret } from "./fixtures.ts";

const UUID = "4c4c4544-0042-3510-8052-b4c04f4a4e31";
const SWAPPED = "44454c4c-4200-1035-8052-b4c04f4a4e31";

describe("BootIndex lookups", () => {
  const index = new BootIndex({
    ipxeBootConfigs: [ipxeConfig("a", { systemUUID: UUID.toUpperCase(), systemIPs: ["2001:DB8::0:10", "::ffff:10.0.0.10"] })],
    httpBootConfigs: [httpConfig("h", { systemUUID: UUID, networkIdentifiers: ["10.0.0.20", "AA-BB-CC-DD-EE-FF"], ukiURL: "http://x/uki.efi" })],
    secrets: [secret("s", { ignition: "{}" })],
  });

  test("UUID matches case-insensitively, then in SMBIOS byte order", () => {
    expect(index.ipxeByUuidLookup(UUID)?.reason).toBe("uuid");
    expect(index.ipxeByUuidLookup(SWAPPED)?.reason).toBe("uuid-byte-swapped");
    expect(index.ipxeByUuidLookup(SWAPPED.toUpperCase())?.key).toBe("default/a");
    expect(index.ipxeByUuidLookup("00000000-0000-0000-0000-000000000000")).toBeNull();
    expect(index.ipxeByUuidLookup("not-a-uuid")).toBeNull();
  });

  test("IPs are matched in canonical form (compression, IPv4-mapped)", () => {
    expect(index.ipxeByIpLookup("2001:db8:0:0:0:0:0:10")?.key).toBe("default/a");
    expect(index.ipxeByIpLookup("10.0.0.10")?.key).toBe("default/a");
    expect(index.httpByNetworkIdentifier("::ffff:10.0.0.20")?.reason).toBe("ip");
  });

  test("MACs match in any notation", () => {
    for (const mac of ["aa:bb:cc:dd:ee:ff", "AABB.CCDD.EEFF", "aabbccddeeff"]) expect(index.httpByNetworkIdentifier(mac)?.key).toBe("default/h");
  });

  test("ignition prefers IPXEBootConfig over HTTPBootConfig for one UUID", () => {
    expect(resolveIgnitionConfig(index, UUID)?.kind).toBe("IPXEBootConfig");
  });

  test("iPXE falls back from UUID to IP, then to MAC via an HTTPBootConfig naming the UUID", () => {
    expect(resolveIpxeConfig(index, { uuid: "00000000-0000-0000-0000-000000000001", macs: [], ips: ["10.0.0.10"] })?.reason).toBe("ip");
    const viaMac = resolveIpxeConfig(index, { macs: ["aa-bb-cc-dd-ee-ff"], ips: [] });
    expect(viaMac?.reason).toBe("mac-via-httpbootconfig");
    expect(viaMac?.key).toBe("default/a");
    expect(resolveIpxeConfig(index, { macs: ["11:22:33:44:55:66"], ips: ["10.9.9.9"] })).toBeNull();
  });

  test("httpboot takes the first identifier any config claims", () => {
    expect(resolveHttpBootConfig(index, ["10.1.1.1", "aa:bb:cc:dd:ee:ff"])?.reason).toBe("mac");
    expect(resolveHttpBootConfig(index, ["10.1.1.1"])).toBeNull();
  });

  test("secrets are decoded from data and stringData, stringData winning", () => {
    const decoded = new BootIndex({
      ipxeBootConfigs: [],
      httpBootConfigs: [],
      secrets: [{ apiVersion: "v1", kind: "Secret", metadata: { name: "x" }, data: { a: btoa("from-data"), b: btoa("data") }, stringData: { b: "string" } }],
    });
    expect(decoded.secret("default", "x")?.values.get("a")).toBe("from-data");
    expect(decoded.secret("default", "x")?.values.get("b")).toBe("string");
  });

  test("a secret's values are its own keys only, with or without data to decode", () => {
    const decoded = new BootIndex({
      ipxeBootConfigs: [],
      httpBootConfigs: [],
      secrets: [
        { apiVersion: "v1", kind: "Secret", metadata: { name: "plain" }, stringData: { ignition: "{}" } },
        { apiVersion: "v1", kind: "Secret", metadata: { name: "mixed" }, data: { ["__proto__"]: btoa("odd") }, stringData: { format: "fcos" } },
      ],
    });
    const plain = decoded.secret("default", "plain")?.values;
    expect(plain?.get("ignition")).toBe("{}");
    expect(plain?.has("toString")).toBe(false);
    expect(plain?.get("toString")).toBeUndefined();
    const mixed = decoded.secret("default", "mixed")?.values;
    expect(mixed?.get("format")).toBe("fcos");
    expect(mixed?.get("__proto__")).toBe("odd");
    expect(mixed?.has("constructor")).toBe(false);
    expect(mixed?.has("ignition")).toBe(false);
    expect([...(mixed?.values() ?? [])].sort()).toEqual(["fcos", "odd"]);
  });
});

describe("conflicts", () => {
  test("oldest config wins; the winner is independent of input order", () => {
    const older = ipxeConfig("zz-older", { systemUUID: UUID }, { creationTimestamp: "2024-01-01T00:00:00Z" });
    const newer = ipxeConfig("aa-newer", { systemUUID: UUID.toUpperCase() }, { creationTimestamp: "2025-01-01T00:00:00Z" });
    for (const order of [
      [older, newer],
      [newer, older],
    ]) {
      const index = new BootIndex({ ipxeBootConfigs: order, httpBootConfigs: [], secrets: [] });
      expect(index.ipxeByUuidLookup(UUID)?.key).toBe("default/zz-older");
      expect(index.conflicts).toEqual([
        { kind: "IPXEBootConfig", identifierKind: "uuid", identifier: UUID, winner: "default/zz-older", losers: ["default/aa-newer"], reasons: ["created"] },
      ]);
      expect(index.conflictsLostBy("IPXEBootConfig", "default/aa-newer")).toHaveLength(1);
      expect(index.conflictsLostBy("IPXEBootConfig", "default/zz-older")).toHaveLength(0);
    }
  });

  test("without timestamps, namespace/name order decides", () => {
    const index = new BootIndex({
      ipxeBootConfigs: [],
      httpBootConfigs: [httpConfig("b", { networkIdentifiers: ["aa:bb:cc:dd:ee:ff"] }), httpConfig("a", { networkIdentifiers: ["AA-BB-CC-DD-EE-FF"] })],
      secrets: [],
    });
    expect(index.httpByNetworkIdentifier("aa:bb:cc:dd:ee:ff")?.key).toBe("default/a");
    expect(describeConflict(defined(index.conflicts[0], "a conflict"))).toContain("default/a, default/b all claim mac aa:bb:cc:dd:ee:ff; default/a is served");
  });

  test("the same UUID on an IPXEBootConfig and an HTTPBootConfig is not a conflict", () => {
    const index = new BootIndex({
      ipxeBootConfigs: [ipxeConfig("a", { systemUUID: UUID })],
      httpBootConfigs: [httpConfig("a", { systemUUID: UUID })],
      secrets: [],
    });
    expect(index.conflicts).toEqual([]);
  });

  test("a UUID and its byte-swapped form are one identifier: claiming the swapped form is a conflict, not a bypass", () => {
    const index = new BootIndex({
      ipxeBootConfigs: [
        ipxeConfig("victim", { systemUUID: UUID }, { creationTimestamp: "2024-01-01T00:00:00Z" }),
        ipxeConfig("aaa-swapped", { systemUUID: SWAPPED }, { creationTimestamp: "2025-01-01T00:00:00Z" }),
      ],
      httpBootConfigs: [],
      secrets: [],
    });
    // Both request forms reach the machine's own config; before, the swapped form went to the other config.
    expect(index.ipxeByUuidLookup(SWAPPED)).toMatchObject({ key: "default/victim", reason: "uuid-byte-swapped" });
    expect(index.ipxeByUuidLookup(UUID)).toMatchObject({ key: "default/victim", reason: "uuid" });
    expect(index.conflictsLostBy("IPXEBootConfig", "default/aaa-swapped")).toHaveLength(1);
  });
});

/** One machine's translator children: the older workload config (annotated inactive) and the maintenance config. */
async function workloadAndMaintenance() {
  const { ACTIVE_ANNOTATION } = await import("../../src/index/boot-index.ts");
  return {
    workload: ipxeConfig("workload", { systemUUID: UUID }, { creationTimestamp: "2024-01-01T00:00:00Z", annotations: { [ACTIVE_ANNOTATION]: "false" } }),
    maintenance: ipxeConfig("maintenance", { systemUUID: UUID }, { creationTimestamp: "2025-01-01T00:00:00Z", annotations: { [ACTIVE_ANNOTATION]: "true" } }),
  };
}

describe("workload and maintenance configs for one machine", () => {
  test("the translator's verified active config wins regardless of age; its standby config is not an error", async () => {
    const { diagnoseIpxeBootConfig } = await import("../../src/boot/diagnose.ts");
    const { IgnitionCache } = await import("../../src/boot/ignition.ts");
    const { IpxeScriptCache } = await import("../../src/boot/ipxe-scripts.ts");
    const { workload, maintenance } = await workloadAndMaintenance();
    const translatorRoles = new Map([
      ["IPXEBootConfig/default/workload", "standby" as const],
      ["IPXEBootConfig/default/maintenance", "active" as const],
    ]);
    const index = new BootIndex({ ipxeBootConfigs: [workload, maintenance], httpBootConfigs: [], secrets: [], translatorRoles });
    expect(index.ipxeByUuidLookup(UUID)?.key).toBe("default/maintenance");
    const caches = { ignition: new IgnitionCache(), ipxeScripts: new IpxeScriptCache() };
    const standby = diagnoseIpxeBootConfig(index, caches, workload);
    expect(standby.state).toBe("Ready");
    expect(standby.warnings[0]).toStartWith("standby: ");
  });
});

describe("the status reconciler's conflict participants", () => {
  test("a loser becoming the translator's standby config is a change, though the conflict's outcome reads the same", async () => {
    const { conflictParticipants } = await import("../../src/controllers/status-reconciler.ts");
    const { workload, maintenance } = await workloadAndMaintenance();
    const active = ["IPXEBootConfig/default/maintenance", "active"] as const;
    // The Server's change reached the cache after the child's annotation: first only the winner's role checks out.
    const before = new BootIndex({ ipxeBootConfigs: [workload, maintenance], httpBootConfigs: [], secrets: [], translatorRoles: new Map([active]) });
    const after = new BootIndex({
      ipxeBootConfigs: [workload, maintenance],
      httpBootConfigs: [],
      secrets: [],
      translatorRoles: new Map([active, ["IPXEBootConfig/default/workload", "standby"]]),
    });
    expect(before.conflicts.map(describeConflict)).toEqual(after.conflicts.map(describeConflict));
    const changed = (a: BootIndex, b: BootIndex) => [...conflictParticipants(b)].filter(([id]) => !conflictParticipants(a).has(id)).map(([, ref]) => ref.name);
    expect(changed(before, after)).toEqual(["workload"]);
  });
});
