// The active annotation counts only on a config the translator verifiably owns (issue #16). Every way a hand-made
// config could dress up as the translator's must fail one check.
import { describe, expect, test } from "bun:test";
import type { IPXEBootConfig } from "../../src/api/index.ts";
import { activeFor, type ServerObject } from "../../src/controllers/translator-plan.ts";
import { ACTIVE_ANNOTATION } from "../../src/index/boot-index.ts";
import { serverRefersTo, statusSaysHeld, type TranslatorEvidence, translatorRoleOf, translatorRoles } from "../../src/sources/kube/translator-trust.ts";
import { httpConfig, ipxeConfig } from "./fixtures.ts";

const UUID = "38947555-7742-3448-3784-823347823834";
const SBC_UID = "6d1f9a52-0000-4000-8000-000000000001";

function server(refs: Record<string, unknown> = { bootConfigurationRef: { name: "workload", namespace: "metal" } }) {
  return {
    metadata: { name: "server-1" },
    spec: { systemUUID: UUID.toUpperCase(), ...refs },
    status: {
      networkInterfaces: [
        { ips: ["10.1.0.11", "fd00::11"], macAddress: "52:54:00:00:00:11" },
        { ip: "10.2.0.11", macAddress: "52:54:00:00:00:12" },
      ],
    },
  };
}

function evidence(serverObject: unknown = server(), sbcUid = SBC_UID): TranslatorEvidence {
  return {
    sbcs: new Map([
      ["metal/workload", { metadata: { name: "workload", namespace: "metal", uid: sbcUid }, spec: { serverRef: { name: "server-1" } } }],
      ["metal/maintenance", { metadata: { name: "maintenance", namespace: "metal", uid: "m-uid" }, spec: { serverRef: { name: "server-1" } } }],
    ]),
    servers: new Map([["server-1", serverObject]]),
  };
}

const owner = {
  apiVersion: "metal.ironcore.dev/v1alpha1",
  kind: "ServerBootConfiguration",
  name: "workload",
  uid: SBC_UID,
  controller: true,
  blockOwnerDeletion: true,
};

function child(overrides: { name?: string; annotation?: string | undefined; owners?: unknown[]; spec?: Partial<IPXEBootConfig["spec"]> } = {}): {
  kind: "IPXEBootConfig";
  object: IPXEBootConfig;
} {
  const annotation = "annotation" in overrides ? overrides.annotation : "true";
  return {
    kind: "IPXEBootConfig",
    object: ipxeConfig(overrides.name ?? "workload", { systemUUID: UUID, systemIPs: ["10.1.0.11", "fd00:0::11", "10.2.0.11"], ...overrides.spec }, {
      namespace: "metal",
      ...(annotation === undefined ? {} : { annotations: { [ACTIVE_ANNOTATION]: annotation } }),
      ownerReferences: overrides.owners ?? [owner],
    } as Partial<IPXEBootConfig["metadata"]>),
  };
}

describe("translatorRoleOf", () => {
  test("the translator's child of the SBC its Server boots is active; the other SBC's child is standby", () => {
    expect(translatorRoleOf(child(), evidence())).toBe("active");
    const maintenanceServer = server({
      bootConfigurationRef: { name: "workload", namespace: "metal" },
      maintenanceBootConfigurationRef: { name: "maintenance", namespace: "metal" },
    });
    expect(translatorRoleOf(child({ annotation: "false" }), evidence(maintenanceServer))).toBe("standby");
  });

  test.each([
    ["no annotation", child({ annotation: undefined })],
    ["no owner reference (hand-made)", child({ owners: [] })],
    ["an owner reference that is not the controller", child({ owners: [{ ...owner, controller: false }] })],
    ["the owner's UID does not match the SBC (an SBC deleted and re-created, or a forged ref)", child({ owners: [{ ...owner, uid: "forged" }] })],
    ["the owner is not a ServerBootConfiguration", child({ owners: [{ ...owner, kind: "ServerClaim" }] })],
    ["the owner is of another API group", child({ owners: [{ ...owner, apiVersion: "evil.example/v1alpha1" }] })],
    ["named unlike its owner (a second config hung on a real SBC)", child({ name: "sneaky" })],
    ["claims a UUID that is not its Server's", child({ spec: { systemUUID: "00000000-0000-0000-0000-000000000001" } })],
    ["claims an IP that is not its Server's", child({ spec: { systemIPs: ["10.1.0.11", "10.9.9.9"] } })],
    ["says active while the Server boots another SBC", child()],
  ])("no role when %s", (what, entry) => {
    const otherRef = server({ bootConfigurationRef: { name: "maintenance", namespace: "metal" } });
    expect(translatorRoleOf(entry, what.startsWith("says active") ? evidence(otherRef) : evidence())).toBeUndefined();
  });

  test("no role without the SBC or without its Server", () => {
    expect(translatorRoleOf(child(), { sbcs: new Map(), servers: evidence().servers })).toBeUndefined();
    expect(translatorRoleOf(child(), { sbcs: evidence().sbcs, servers: new Map() })).toBeUndefined();
  });

  test("an HTTPBootConfig child may claim only its Server's IPs and MACs", () => {
    const http = (networkIdentifiers: string[]) => ({
      kind: "HTTPBootConfig" as const,
      object: httpConfig("workload", { systemUUID: UUID, networkIdentifiers }, {
        namespace: "metal",
        annotations: { [ACTIVE_ANNOTATION]: "true" },
        ownerReferences: [owner],
      } as Partial<IPXEBootConfig["metadata"]>),
    });
    expect(translatorRoleOf(http(["10.1.0.11", "52-54-00-00-00-12"]), evidence())).toBe("active");
    expect(translatorRoleOf(http(["10.1.0.11", "52:54:00:00:00:99"]), evidence())).toBeUndefined();
  });

  test("translatorRoles keys by kind and namespace/name, and skips configs without the annotation", () => {
    expect([...translatorRoles([child(), child({ name: "plain", annotation: undefined })], evidence())]).toEqual([["IPXEBootConfig/metal/workload", "active"]]);
  });
});

describe("serverRefersTo agrees with the translator's activeFor (which writes the annotation)", () => {
  const cases: [string, Record<string, unknown>][] = [
    ["workload only", { bootConfigurationRef: { name: "workload", namespace: "metal" } }],
    ["workload without namespace", { bootConfigurationRef: { name: "workload" } }],
    ["maintenance set", { bootConfigurationRef: { name: "workload" }, maintenanceBootConfigurationRef: { name: "maintenance", namespace: "metal" } }],
    ["other namespace", { bootConfigurationRef: { name: "workload", namespace: "other" } }],
    ["neither", {}],
    ["null refs", { bootConfigurationRef: null, maintenanceBootConfigurationRef: null }],
  ];
  for (const [what, refs] of cases) {
    test(what, () => {
      const object = server(refs);
      for (const name of ["workload", "maintenance"]) expect(serverRefersTo(object, "metal", name)).toBe(activeFor(object as ServerObject, "metal", name));
    });
  }
});

describe("statusSaysHeld", () => {
  const held = (condition: Record<string, unknown>, generation = 3) => ({
    metadata: { generation },
    status: { conditions: [{ type: "IdentifiersUnique", ...condition }] },
  });
  test("only a contested-holder condition at the current generation counts", () => {
    expect(statusSaysHeld(held({ status: "True", reason: "IdentifierContested", observedGeneration: 3 }))).toBe(true);
    // Edited since (generation moved on): the status speaks for another spec.
    expect(statusSaysHeld(held({ status: "True", reason: "IdentifierContested", observedGeneration: 2 }))).toBe(false);
    expect(statusSaysHeld(held({ status: "False", reason: "IdentifierConflict", observedGeneration: 3 }))).toBe(false);
    // Written before this rule existed, possibly by a taken-over machine's taker.
    expect(statusSaysHeld(held({ status: "True", reason: "NoConflict", observedGeneration: 3 }))).toBe(false);
    expect(statusSaysHeld({ metadata: { generation: 1 } })).toBe(false);
    expect(statusSaysHeld(undefined)).toBe(false);
  });
});
