// A new index is patched from the one it replaces when only a few configs changed (issue #14: a change must be
// servable in well under 100 ms at 10 000 machines, and a full build takes far longer). Patched or built from
// scratch, the result must be the same: every step below is checked against a full build from the same history.
import { describe, expect, test } from "bun:test";
import { canonicalUuid, swapUuidByteOrder } from "../../src/api/canonical.ts";
import type { HTTPBootConfig, IPXEBootConfig, Secret, SwitchBootConfig } from "../../src/api/index.ts";
import { BootIndex, type BootIndexOptions, type ResourceSnapshot } from "../../src/index/boot-index.ts";
import { httpConfig, ipxeConfig, secret, switchConfig } from "./fixtures.ts";

const UUID_A = "4c4c4544-0042-3510-8052-b4c04f4a4e31";
const UUID_B = "11111111-2222-4333-8444-555555555555";
/** UUID_A in the SMBIOS byte-swapped order: the same machine. */
const UUID_A_SWAPPED = "44454c4c-4200-1035-8052-b4c04f4a4e31";

/** Everything a request, a status or a diagnosis can read from an index, in a comparable form. */
function observable(index: BootIndex) {
  const table = (claims: BootIndex["ipxeByUuid"] | BootIndex["httpByUuid"] | BootIndex["switchBySerial"]) =>
    // Every identifier with a winner or claimants (only contested ones have a claimant list).
    [...new Set([...claims.byIdentifier.keys(), ...claims.claimants.keys()])].sort().map((identifier) => {
      const winner = claims.byIdentifier.get(identifier);
      return [identifier, claims.claimants.get(identifier) ?? null, winner ? `${winner.metadata.namespace}/${winner.metadata.name}` : null];
    });
  return {
    ipxeByUuid: table(index.ipxeByUuid),
    ipxeByIp: table(index.ipxeByIp),
    httpByUuid: table(index.httpByUuid),
    httpByIp: table(index.httpByIp),
    httpByMac: table(index.httpByMac),
    switchBySerial: table(index.switchBySerial),
    switchByMac: table(index.switchByMac),
    switchByIp: table(index.switchByIp),
    switchBootConfigs: index.switchBootConfigs,
    conflicts: index.conflicts,
    ipxeBootConfigs: index.ipxeBootConfigs,
    httpBootConfigs: index.httpBootConfigs,
    ipxeByKey: [...index.ipxeByKey].sort(([a], [b]) => (a < b ? -1 : 1)),
    httpByKey: [...index.httpByKey].sort(([a], [b]) => (a < b ? -1 : 1)),
    configsBySecret: [...index.configsBySecret]
      .map(([key, list]) => [key, list.map((entry) => `${entry.kind}/${entry.key}`).sort()] as const)
      .sort(([a], [b]) => (a < b ? -1 : 1)),
    secrets: [...index.secrets.keys()].sort(),
    // Every declared UUID in both byte orders, as a request finds it (the declared-UUID maps are patched too).
    uuidLookups: [...index.ipxeBootConfigs, ...index.httpBootConfigs]
      .flatMap((config) => {
        const uuid = canonicalUuid(config.spec.systemUUID ?? "");
        return uuid ? [uuid, swapUuidByteOrder(uuid)] : [];
      })
      .sort()
      .map((uuid) => {
        const ipxe = index.ipxeByUuidLookup(uuid);
        const http = index.httpByUuidLookup(uuid);
        return [uuid, ipxe && `${ipxe.key} ${ipxe.reason}`, http && `${http.key} ${http.reason}`];
      }),
  };
}

interface Fleet {
  ipxe: IPXEBootConfig[];
  http: HTTPBootConfig[];
  secrets: Secret[];
}

function snapshotOf(fleet: Fleet, extra: Partial<ResourceSnapshot> = {}): ResourceSnapshot {
  return { ipxeBootConfigs: fleet.ipxe, httpBootConfigs: fleet.http, secrets: fleet.secrets, ...extra };
}

/** A fleet large enough that a handful of changes is patched: 200 machines, each with its own UUID, IP and MAC. */
function baseFleet(): Fleet {
  const ipxe: IPXEBootConfig[] = [];
  const http: HTTPBootConfig[] = [];
  const secrets: Secret[] = [];
  for (let i = 0; i < 200; i++) {
    const uuid = `${String(i).padStart(8, "0")}-aaaa-4bbb-8ccc-dddddddddddd`;
    const ip = `10.1.${i >> 8}.${i & 255}`;
    const mac = `52:54:00:00:${(i >> 8).toString(16).padStart(2, "0")}:${(i & 255).toString(16).padStart(2, "0")}`;
    ipxe.push(ipxeConfig(`m-${i}`, { systemUUID: uuid, systemIPs: [ip], ignitionSecretRef: { name: `s-${i}` } }));
    http.push(httpConfig(`m-${i}`, { systemUUID: uuid, networkIdentifiers: [ip, mac], ignitionSecretRef: { name: `s-${i}` } }));
    secrets.push(secret(`s-${i}`, { ignition: "{}" }));
  }
  return { ipxe, http, secrets };
}

/**
 * Runs the snapshots through two chains, one patched and one always built from scratch, and checks after each
 * step that both read the same; returns the patched chain's last index and whether each step was patched.
 */
function bothWays(snapshots: ResourceSnapshot[], options: BootIndexOptions = {}): { index: BootIndex; patched: boolean[] } {
  let patched: BootIndex | undefined;
  let full: BootIndex | undefined;
  const steps: boolean[] = [];
  for (const snapshot of snapshots) {
    patched = new BootIndex(snapshot, patched, options);
    full = new BootIndex(snapshot, full, { ...options, fullBuild: true });
    expect(observable(patched)).toEqual(observable(full));
    steps.push(patched.builtIncrementally);
  }
  if (!patched) throw new Error("no snapshots");
  return { index: patched, patched: steps };
}

function replaced<T extends IPXEBootConfig | HTTPBootConfig>(list: readonly T[], name: string, next: T | undefined): T[] {
  const result = list.filter((config) => config.metadata.name !== name);
  if (next) result.push(next);
  return result;
}

describe("incremental index updates equal a full build", () => {
  test("add, change identity, delete", () => {
    const fleet = baseFleet();
    const added = { ...fleet, ipxe: [...fleet.ipxe, ipxeConfig("new", { systemUUID: UUID_A, systemIPs: ["10.9.9.9"], ignitionSecretRef: { name: "s-new" } })] };
    const moved = { ...added, ipxe: replaced(added.ipxe, "new", ipxeConfig("new", { systemUUID: UUID_B, systemIPs: ["10.9.9.10"] })) };
    const deleted = { ...moved, ipxe: replaced(moved.ipxe, "new", undefined) };
    const { index, patched } = bothWays([snapshotOf(fleet), snapshotOf(added), snapshotOf(moved), snapshotOf(deleted)]);
    expect(patched).toEqual([false, true, true, true]);
    expect(index.ipxeByUuidLookup(UUID_A)).toBeNull();
    expect(index.ipxeByUuidLookup(UUID_B)).toBeNull();
    expect(index.ipxeByIpLookup("10.9.9.9")).toBeNull();
    expect(index.configsBySecret.has("default/s-new")).toBe(false);
    expect(index.ipxeBootConfigs).toHaveLength(200);
  });

  test("a changed identity is served at once and the old one is released", () => {
    const fleet = baseFleet();
    const first = new BootIndex(snapshotOf(fleet));
    const [machine] = fleet.ipxe;
    if (!machine) throw new Error("empty fleet");
    const edited = ipxeConfig(machine.metadata.name, { ...machine.spec, systemUUID: UUID_A, kernelURL: "http://files.example/vmlinuz-2" });
    const second = new BootIndex(snapshotOf({ ...fleet, ipxe: replaced(fleet.ipxe, machine.metadata.name, edited) }), first);
    expect(second.builtIncrementally).toBe(true);
    expect(second.ipxeByUuidLookup(UUID_A)?.config).toBe(edited);
    expect(second.ipxeByUuidLookup(machine.spec.systemUUID ?? "")).toBeNull();
    // The previous index is untouched: requests still reading it see the old generation.
    expect(first.ipxeByUuidLookup(machine.spec.systemUUID ?? "")?.config).toBe(machine);
    expect(first.ipxeByUuidLookup(UUID_A)).toBeNull();
  });

  test("a conflict appears, keeps its holder, and resolves when the holder leaves", () => {
    const fleet = baseFleet();
    const holder = ipxeConfig("holder", { systemUUID: UUID_A }, { creationTimestamp: "2025-06-01T00:00:00Z" });
    // Older and sorting first by name, and claiming the byte-swapped form: it still must not take the machine.
    const newcomer = ipxeConfig("aaa", { systemUUID: UUID_A_SWAPPED }, { creationTimestamp: "2020-01-01T00:00:00Z" });
    const withHolder = { ...fleet, ipxe: [...fleet.ipxe, holder] };
    const contested = { ...withHolder, ipxe: [...withHolder.ipxe, newcomer] };
    const holderGone = { ...contested, ipxe: replaced(contested.ipxe, "holder", undefined) };
    const steps = [snapshotOf(fleet), snapshotOf(withHolder), snapshotOf(contested), snapshotOf(contested), snapshotOf(holderGone)];
    const { patched } = bothWays(steps);
    expect(patched).toEqual([false, true, true, true, true]);

    let index = new BootIndex(steps[0] as ResourceSnapshot);
    index = new BootIndex(steps[1] as ResourceSnapshot, index);
    index = new BootIndex(steps[2] as ResourceSnapshot, index);
    expect(index.ipxeByUuidLookup(UUID_A)?.key).toBe("default/holder");
    expect(index.conflicts).toEqual([
      { kind: "IPXEBootConfig", identifierKind: "uuid", identifier: UUID_A, winner: "default/holder", losers: ["default/aaa"], reasons: ["holder"] },
    ]);
    index = new BootIndex(steps[4] as ResourceSnapshot, index);
    expect(index.conflicts).toEqual([]);
    expect(index.ipxeByUuidLookup(UUID_A)).toMatchObject({ key: "default/aaa", reason: "uuid-byte-swapped" });
  });

  test("conflicts on IPs and MACs (HTTPBootConfig) appear and resolve when the rival changes its identifiers", () => {
    const fleet = baseFleet();
    const rival = httpConfig("rival", { networkIdentifiers: ["10.1.0.7", "52:54:00:00:00:08"] });
    const contested = { ...fleet, http: [...fleet.http, rival] };
    const moved = { ...contested, http: replaced(contested.http, "rival", httpConfig("rival", { networkIdentifiers: ["10.200.0.1"] })) };
    const { index, patched } = bothWays([snapshotOf(fleet), snapshotOf(contested), snapshotOf(moved)]);
    expect(patched).toEqual([false, true, true]);
    expect(index.conflicts).toEqual([]);
    expect(index.httpByNetworkIdentifier("10.1.0.7")?.key).toBe("default/m-7");
    expect(index.httpByNetworkIdentifier("10.200.0.1")?.key).toBe("default/rival");
  });

  test("a role or holder record changing without any config changing re-ranks the contested identifier", () => {
    const fleet = baseFleet();
    const a = ipxeConfig("a", { systemUUID: UUID_A }, { namespace: "metal" });
    const b = ipxeConfig("b", { systemUUID: UUID_A });
    const both = { ...fleet, ipxe: [...fleet.ipxe, a, b] };
    const roles = new Map([["IPXEBootConfig/metal/a", "active" as const]]);
    const { index, patched } = bothWays([snapshotOf(fleet), snapshotOf(both), snapshotOf(both, { translatorRoles: roles })]);
    expect(patched).toEqual([false, true, true]);
    expect(index.ipxeByUuidLookup(UUID_A)?.key).toBe("metal/a");
  });

  test("secrets: unchanged objects keep their entry; a changed secret gets a new one; references follow the configs", () => {
    const fleet = baseFleet();
    const first = new BootIndex(snapshotOf(fleet));
    const changedSecret = secret("s-3", { ignition: '{"ignition":{"version":"3.4.0"}}' });
    const secrets = fleet.secrets.map((object) => (object.metadata.name === "s-3" ? changedSecret : object));
    const [machine] = fleet.http;
    if (!machine) throw new Error("empty fleet");
    const repointed = httpConfig(machine.metadata.name, { ...machine.spec, ignitionSecretRef: { name: "s-3" } });
    const next = { ipxe: fleet.ipxe, http: replaced(fleet.http, machine.metadata.name, repointed), secrets };
    const { index } = bothWays([snapshotOf(fleet), snapshotOf(next)]);
    const second = new BootIndex(snapshotOf(next), first);
    expect(second.secrets.get("default/s-1")).toBe(first.secrets.get("default/s-1"));
    expect(second.secrets.get("default/s-3")?.object).toBe(changedSecret);
    expect(index.configsBySecret.get("default/s-0")).toEqual([{ kind: "IPXEBootConfig", key: "default/m-0" }]);
    expect(
      index.configsBySecret
        .get("default/s-3")
        ?.map((entry) => `${entry.kind}/${entry.key}`)
        .sort(),
    ).toEqual(["HTTPBootConfig/default/m-0", "HTTPBootConfig/default/m-3", "IPXEBootConfig/default/m-3"]);
  });

  test("namespace scope and a mass change (a full build) agree too", () => {
    const fleet = baseFleet();
    const everyKernelChanged = { ...fleet, ipxe: fleet.ipxe.map((config) => ipxeConfig(config.metadata.name, { ...config.spec, kernelURL: "http://x/v2" })) };
    const { patched } = bothWays([snapshotOf(fleet), snapshotOf(everyKernelChanged)], { claimScope: "namespace" });
    expect(patched).toEqual([false, false]);
  });

  test("switches beside a patched fleet: their tables, conflicts and secret references follow every build", () => {
    const fleet = baseFleet();
    const leaf = switchConfig("leaf-1", { serialNumber: "SN-1", macAddresses: ["0c:29:ef:00:00:01"] });
    // Sorts first by name, yet the holder keeps the serial.
    const rival = switchConfig("aaa", { serialNumber: "sn-1", startupConfigSecretRef: { name: "rival-config" } });
    const moved = switchConfig("leaf-1", { serialNumber: "SN-1", systemIPs: ["10.50.0.1"], provisioningScriptSecretRef: { name: "other-ztp" } });
    const steps = (switches: SwitchBootConfig[], extra: Partial<ResourceSnapshot> = {}) => snapshotOf(fleet, { switchBootConfigs: switches, ...extra });
    const history = [steps([leaf]), steps([leaf, rival]), steps([moved, rival]), steps([rival])];
    const { index, patched } = bothWays(history);
    expect(patched).toEqual([false, true, true, true]);
    expect(index.switchBySerialLookup("SN-1")?.key).toBe("default/aaa");
    expect(index.configsBySecret.has("default/leaf-1-ztp")).toBe(false);
    expect(index.configsBySecret.has("default/other-ztp")).toBe(false);

    let step = new BootIndex(history[0] as ResourceSnapshot);
    step = new BootIndex(history[1] as ResourceSnapshot, step);
    expect(step.switchBySerialLookup("SN-1")?.key).toBe("default/leaf-1");
    expect(step.conflicts).toEqual([
      { kind: "SwitchBootConfig", identifierKind: "serial", identifier: "SN-1", winner: "default/leaf-1", losers: ["default/aaa"], reasons: ["holder"] },
    ]);
    step = new BootIndex(history[2] as ResourceSnapshot, step);
    expect(step.switchByIpLookup("10.50.0.1")?.key).toBe("default/leaf-1");
    expect(step.switchByMacLookup("0c:29:ef:00:00:01")).toBeNull();
    expect(step.configsBySecret.get("default/other-ztp")).toEqual([{ kind: "SwitchBootConfig", key: "default/leaf-1" }]);
    expect(step.configsBySecret.has("default/leaf-1-ztp")).toBe(false);
  });

  test("with a source's delta (which never lists switches) a switch change still reaches the index", () => {
    const fleet = baseFleet();
    const leaf = switchConfig("leaf-1", { serialNumber: "SN-1" });
    const first = new BootIndex(snapshotOf(fleet, { switchBootConfigs: [leaf], serial: 1 }));
    const [machine] = fleet.ipxe;
    if (!machine) throw new Error("empty fleet");
    const edited = ipxeConfig(machine.metadata.name, { ...machine.spec, systemUUID: UUID_A });
    const renamed = switchConfig("leaf-1", { serialNumber: "SN-2" });
    const delta = { since: 1, ipxeBootConfigs: new Map([["default/m-0", edited]]), httpBootConfigs: new Map(), secrets: new Map() };
    const next = { ...fleet, ipxe: replaced(fleet.ipxe, machine.metadata.name, edited) };
    const second = new BootIndex(snapshotOf(next, { switchBootConfigs: [renamed], serial: 2, delta }), first);
    expect(second.builtIncrementally).toBe(true);
    expect(second.ipxeByUuidLookup(UUID_A)?.config).toBe(edited);
    expect(second.switchBySerialLookup("SN-2")?.config).toBe(renamed);
    expect(second.switchBySerialLookup("SN-1")).toBeNull();
    expect(observable(second)).toEqual(observable(new BootIndex(snapshotOf(next, { switchBootConfigs: [renamed] }))));
  });
});

describe("random churn", () => {
  test("300 steps of changed, added and removed configs over a small pool of identifiers read as full builds", () => {
    // A seeded generator: the same steps every run, and contested identifiers come and go all the time.
    let seed = 14;
    const random = (n: number): number => {
      seed = (seed * 48271) % 2147483647; // MINSTD: exact in doubles
      return Math.floor((seed / 2147483647) * n);
    };
    const uuid = (i: number) => `${String(i).padStart(8, "0")}-aaaa-4bbb-8ccc-dddddddddddd`;
    let fleet = baseFleet();
    const snapshots: ResourceSnapshot[] = [snapshotOf(fleet)];
    for (let step = 0; step < 300; step++) {
      const name = `m-${random(210)}`; // some names are new: an add
      const action = random(4);
      const ip = `10.1.0.${random(12)}`; // a pool of 12 addresses: claims collide
      const mac = `52:54:00:00:00:${random(8).toString(16).padStart(2, "0")}`;
      const id = random(6) === 0 ? uuid(random(8)) : uuid(random(250));
      if (action === 0) fleet = { ...fleet, ipxe: replaced(fleet.ipxe, name, undefined), http: replaced(fleet.http, name, undefined) };
      else if (action === 1) fleet = { ...fleet, ipxe: replaced(fleet.ipxe, name, ipxeConfig(name, { systemUUID: id, systemIPs: [ip] })) };
      else fleet = { ...fleet, http: replaced(fleet.http, name, httpConfig(name, { systemUUID: id, networkIdentifiers: action === 2 ? [ip, mac] : [mac] })) };
      snapshots.push(snapshotOf(fleet));
    }
    const { patched, index } = bothWays(snapshots);
    expect(patched.filter(Boolean).length).toBeGreaterThan(250);
    expect(index.conflicts.length).toBeGreaterThan(0);
  });
});

describe("declared UUIDs over many patched builds", () => {
  test("past the point where the patches are folded into a new base, lookups read as a full build's", () => {
    const fleet = baseFleet();
    let index = new BootIndex(snapshotOf(fleet));
    // 1 200 edits, most moving a machine to a new UUID: more changed UUIDs than are carried before folding.
    for (let step = 0; step < 1200; step++) {
      const i = (step * 37) % 200;
      const uuid = step % 4 !== 0 ? `${String(i).padStart(8, "0")}-eeee-4bbb-8ccc-${String(step).padStart(12, "0")}` : fleet.ipxe[i]?.spec.systemUUID;
      fleet.ipxe[i] = ipxeConfig(`m-${i}`, { systemUUID: uuid, kernelURL: `/k-${step}`, ignitionSecretRef: { name: `s-${i}` } });
      index = new BootIndex(snapshotOf(fleet), index);
      expect(index.builtIncrementally).toBe(true);
    }
    expect(observable(index)).toEqual(observable(new BootIndex(snapshotOf(fleet), undefined, { fullBuild: true })));
  });
});
