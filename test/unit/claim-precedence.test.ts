// Who gets a machine when configs claim the same identifier (issue #16: no config author can take over another
// machine's boot). The precedence function alone, then the index across generations, then what diagnosis and status
// say to both sides.
import { describe, expect, test } from "bun:test";
import { type Diagnosis, diagnoseIpxeBootConfig } from "../../src/boot/diagnose.ts";
import { IgnitionCache } from "../../src/boot/ignition.ts";
import { IpxeScriptCache } from "../../src/boot/ipxe-scripts.ts";
import { CONDITION_IDENTIFIERS_UNIQUE, desiredStatus } from "../../src/controllers/conditions.ts";
import {
  ACTIVE_ANNOTATION,
  BootIndex,
  type BootIndexOptions,
  type Claimant,
  describeConflict,
  type ResourceSnapshot,
  rankClaimants,
} from "../../src/index/boot-index.ts";
import { HELD_CONTESTED_REASON, IDENTIFIERS_UNIQUE } from "../../src/sources/kube/translator-trust.ts";
import { defined } from "../harness/defined.ts";
import { httpConfig, ipxeConfig } from "./fixtures.ts";

const UUID = "4c4c4544-0042-3510-8052-b4c04f4a4e31";
const caches = { ignition: new IgnitionCache(), ipxeScripts: new IpxeScriptCache() };

function claimant(key: string, overrides: Partial<Claimant> = {}): Claimant {
  return { key, namespace: key.split("/")[0] ?? "default", role: undefined, holder: false, age: 1000, ...overrides };
}

function ranked(claimants: Claimant[], scope: "cluster" | "namespace" = "cluster"): { winner: string; losers: [string, string][] } {
  const ranking = rankClaimants(claimants, scope);
  return { winner: ranking.winner.key, losers: ranking.losers.map((loser) => [loser.claimant.key, loser.reason]) };
}

describe("rankClaimants (pure)", () => {
  test("the translator's active config beats the holder, which beats age, which beats name", () => {
    const holder = claimant("a/holder", { holder: true, age: 500 });
    const older = claimant("a/older", { age: 1 });
    const active = claimant("b/translated", { role: "active", age: 900 });
    expect(ranked([older, holder, active])).toEqual({
      winner: "b/translated",
      losers: [
        ["a/holder", "active"],
        ["a/older", "active"],
      ],
    });
    expect(ranked([older, holder])).toEqual({ winner: "a/holder", losers: [["a/older", "holder"]] });
    expect(ranked([claimant("a/z", { age: 1 }), claimant("a/a", { age: 2 })])).toEqual({ winner: "a/z", losers: [["a/a", "created"]] });
    expect(ranked([claimant("a/z"), claimant("a/a")])).toEqual({ winner: "a/a", losers: [["a/z", "name"]] });
  });

  test("a holder keeps the identifier even as the translator's standby config; standby only loses ties", () => {
    expect(ranked([claimant("a/standby", { role: "standby", holder: true }), claimant("a/newcomer", { age: 1 })]).winner).toBe("a/standby");
    expect(ranked([claimant("a/standby", { role: "standby", age: 1 }), claimant("a/other", { age: 2 })])).toEqual({
      winner: "a/other",
      losers: [["a/standby", "standby"]],
    });
  });

  test("the result does not depend on the input order", () => {
    const claimants = [claimant("a/x", { age: 3 }), claimant("b/y", { holder: true }), claimant("c/z", { role: "standby" })];
    const expected = ranked(claimants);
    for (const order of [
      [0, 1, 2],
      [2, 1, 0],
      [1, 2, 0],
    ] as const) {
      expect(ranked(order.map((i) => claimants[i] as Claimant))).toEqual(expected);
    }
  });

  test("namespace scope: the holder's namespace keeps the identifier; no role takes it across namespaces", () => {
    const holder = claimant("tenant-a/machine", { holder: true, age: 900 });
    const intruder = claimant("tenant-b/translated", { role: "active", age: 1 });
    expect(ranked([holder, intruder], "namespace")).toEqual({ winner: "tenant-a/machine", losers: [["tenant-b/translated", "namespace"]] });
    // The same pair in cluster scope: the verified active config moves the machine (metal-operator's maintenance).
    expect(ranked([holder, intruder], "cluster").winner).toBe("tenant-b/translated");
  });

  test("namespace scope without a holder: the oldest claimant's namespace, and inside it the usual rules", () => {
    const oldest = claimant("tenant-a/old", { age: 1 });
    const sameNamespaceActive = claimant("tenant-a/translated", { role: "active", age: 50 });
    const otherNamespace = claimant("tenant-b/x", { age: 2 });
    expect(ranked([otherNamespace, oldest, sameNamespaceActive], "namespace")).toEqual({
      winner: "tenant-a/translated",
      losers: [
        ["tenant-a/old", "active"],
        ["tenant-b/x", "namespace"],
      ],
    });
  });
});

function snapshot(configs: ReturnType<typeof ipxeConfig>[], extra: Partial<ResourceSnapshot> = {}): ResourceSnapshot {
  return { ipxeBootConfigs: configs, httpBootConfigs: [], secrets: [], ...extra };
}

/** Builds one index per snapshot, each from the one before, as BootStore.apply does. */
function generations(snapshots: ResourceSnapshot[], options: BootIndexOptions = {}): BootIndex {
  let index: BootIndex | undefined;
  for (const next of snapshots) index = new BootIndex(next, index, options);
  if (!index) throw new Error("no snapshots");
  return index;
}

const victim = ipxeConfig("victim", { systemUUID: UUID }, { namespace: "prod", creationTimestamp: "2025-06-01T00:00:00Z" });

describe("the hijack, in the index", () => {
  test("a hand-made config with the active annotation does not win (from any namespace)", () => {
    const attacker = ipxeConfig(
      "attacker",
      { systemUUID: UUID.toUpperCase() },
      { namespace: "tenant", creationTimestamp: "2025-07-01T00:00:00Z", annotations: { [ACTIVE_ANNOTATION]: "true" } },
    );
    // No history at all (first snapshot, both at once): the annotation alone still counts for nothing.
    const index = new BootIndex(snapshot([victim, attacker]));
    expect(index.ipxeByUuidLookup(UUID)?.key).toBe("prod/victim");
    expect(index.conflictsLostBy("IPXEBootConfig", "tenant/attacker")).toHaveLength(1);
  });

  test("a newcomer loses to the holder whatever its timestamp or name", () => {
    const attacker = ipxeConfig("aaa", { systemUUID: UUID }, { namespace: "aaa", creationTimestamp: "1970-01-01T00:00:00Z" });
    const index = generations([snapshot([victim]), snapshot([victim, attacker])]);
    expect(index.ipxeByUuidLookup(UUID)?.key).toBe("prod/victim");
    const conflict = defined(index.conflicts[0], "a conflict");
    expect(conflict.reasons).toEqual(["holder"]);
    expect(describeConflict(conflict)).toBe(
      `IPXEBootConfigs prod/victim, aaa/aaa all claim uuid ${UUID}; prod/victim is served, not aaa/aaa (prod/victim already holds it)`,
    );
  });

  test("deleting the holder releases the identifier; the holder stays holder across unrelated generations", () => {
    const attacker = ipxeConfig("aaa", { systemUUID: UUID }, { namespace: "aaa", creationTimestamp: "1970-01-01T00:00:00Z" });
    const unrelated = ipxeConfig("other", { systemUUID: "00000000-0000-0000-0000-000000000001" });
    const kept = generations([snapshot([victim]), snapshot([victim, attacker]), snapshot([victim, attacker, unrelated]), snapshot([attacker, victim])]);
    expect(kept.ipxeByUuidLookup(UUID)?.key).toBe("prod/victim");
    const released = generations([snapshot([victim]), snapshot([victim, attacker]), snapshot([attacker])]);
    expect(released.ipxeByUuidLookup(UUID)?.key).toBe("aaa/aaa");
    expect(released.conflicts).toEqual([]);
  });

  test("directory mode: first-seen order decides, not the creationTimestamp a file claims", () => {
    const attacker = ipxeConfig("aaa", { systemUUID: UUID }, { namespace: "aaa", creationTimestamp: "1970-01-01T00:00:00Z" });
    const firstSeen = new Map([
      ["IPXEBootConfig/prod/victim", 0],
      ["IPXEBootConfig/aaa/aaa", 1],
    ]);
    const index = new BootIndex(snapshot([attacker, victim], { firstSeen }));
    expect(index.ipxeByUuidLookup(UUID)?.key).toBe("prod/victim");
    expect(index.conflicts[0]?.reasons).toEqual(["first-seen"]);
  });

  test("a holder keeps IPs and MACs too (HTTPBootConfig)", () => {
    const own = httpConfig(
      "own",
      { networkIdentifiers: ["10.0.0.5", "52:54:00:00:00:05"], ukiURL: "http://x/own.efi" },
      { creationTimestamp: "2025-01-01T00:00:00Z" },
    );
    const taker = httpConfig(
      "a",
      { networkIdentifiers: ["10.0.0.5", "52-54-00-00-00-05"], ukiURL: "http://x/evil.efi" },
      { creationTimestamp: "1970-01-01T00:00:00Z" },
    );
    let index = new BootIndex({ ipxeBootConfigs: [], httpBootConfigs: [own], secrets: [] });
    index = new BootIndex({ ipxeBootConfigs: [], httpBootConfigs: [taker, own], secrets: [] }, index);
    expect(index.httpByNetworkIdentifier("10.0.0.5")?.key).toBe("default/own");
    expect(index.httpByNetworkIdentifier("52:54:00:00:00:05")?.key).toBe("default/own");
  });

  test("the loser's reason stays what decided it: same in the first generation, the next ones and after a restart", () => {
    const younger = ipxeConfig("younger", { systemUUID: UUID }, { namespace: "prod", creationTimestamp: "2025-07-01T00:00:00Z" });
    const first = new BootIndex(snapshot([victim, younger]));
    const later = generations([snapshot([victim, younger]), snapshot([victim, younger]), snapshot([victim, younger])]);
    const restarted = new BootIndex(snapshot([victim, younger], { heldBefore: new Set(["IPXEBootConfig/prod/victim"]) }));
    for (const index of [first, later, restarted]) {
      expect(index.ipxeByUuidLookup(UUID)?.key).toBe("prod/victim");
      expect(index.conflicts.map((conflict) => conflict.reasons)).toEqual([["created"]]);
    }
  });

  test("after a restart (no history), the status-recorded holder keeps the machine against an older config edited to claim it", () => {
    const edited = ipxeConfig("old", { systemUUID: UUID }, { namespace: "tenant", creationTimestamp: "2020-01-01T00:00:00Z" });
    const restarted = new BootIndex(snapshot([edited, victim], { heldBefore: new Set(["IPXEBootConfig/prod/victim"]) }));
    expect(restarted.ipxeByUuidLookup(UUID)?.key).toBe("prod/victim");
    // Without that record, age decides (the limitation heldBefore closes).
    expect(new BootIndex(snapshot([edited, victim])).ipxeByUuidLookup(UUID)?.key).toBe("tenant/old");
  });

  test("the translator's verified active config moves the machine away from the holder (cluster scope only)", () => {
    const translated = ipxeConfig("maintenance", { systemUUID: UUID }, { namespace: "metal", annotations: { [ACTIVE_ANNOTATION]: "true" } });
    const roles = new Map([["IPXEBootConfig/metal/maintenance", "active" as const]]);
    const moved = generations([snapshot([victim]), snapshot([victim, translated], { translatorRoles: roles })]);
    expect(moved.ipxeByUuidLookup(UUID)?.key).toBe("metal/maintenance");
    const scoped = generations([snapshot([victim]), snapshot([victim, translated], { translatorRoles: roles })], { claimScope: "namespace" });
    expect(scoped.ipxeByUuidLookup(UUID)?.key).toBe("prod/victim");
    expect(scoped.conflicts[0]?.reasons).toEqual(["namespace"]);
  });
});

describe("what both sides are told", () => {
  const attacker = ipxeConfig("aaa", { systemUUID: UUID }, { namespace: "aaa", annotations: { [ACTIVE_ANNOTATION]: "false" } });
  const index = generations([snapshot([victim]), snapshot([victim, attacker])]);
  const loser = diagnoseIpxeBootConfig(index, caches, attacker);
  const holder = diagnoseIpxeBootConfig(index, caches, victim);

  test("the newcomer is an Error naming the holder, even when it calls itself standby", () => {
    expect(loser.state).toBe("Error");
    expect(loser.problems).toEqual([{ reason: "IdentifierConflict", message: expect.stringContaining("prod/victim is served") }]);
  });

  test("the holder stays Ready and names the other claimant", () => {
    expect(holder.state).toBe("Ready");
    expect(holder.warnings).toEqual([`contested: holds uuid ${UUID}; also claimed by aaa/aaa (not served)`]);
  });

  test("status: loser IdentifiersUnique=False, holder True with reason IdentifierContested naming the contender", () => {
    const now = new Date("2026-01-01T00:00:00Z");
    expect(desiredStatus(loser, 1, [], now).conditions[1]).toMatchObject({ status: "False", reason: "IdentifierConflict" });
    expect(desiredStatus(holder, 1, [], now).conditions[1]).toMatchObject({
      type: CONDITION_IDENTIFIERS_UNIQUE,
      status: "True",
      reason: "IdentifierContested",
      message: `holds uuid ${UUID}; also claimed by aaa/aaa (not served)`,
    });
  });

  test("status: the translator's standby config says so (False, Standby), not 'no other config claims'", () => {
    const standby: Diagnosis = { kind: "IPXEBootConfig", key: "metal/w", state: "Ready", problems: [], warnings: ["standby: IPXEBootConfigs … served"] };
    expect(desiredStatus(standby, 1, [], new Date()).conditions[1]).toMatchObject({ status: "False", reason: "Standby", message: "IPXEBootConfigs … served" });
  });

  test("the kube source reads back exactly the condition type and reason the reconciler writes", () => {
    expect(IDENTIFIERS_UNIQUE).toBe(CONDITION_IDENTIFIERS_UNIQUE);
    expect(desiredStatus(holder, 1, [], new Date()).conditions[1].reason).toBe(HELD_CONTESTED_REASON);
  });
});
