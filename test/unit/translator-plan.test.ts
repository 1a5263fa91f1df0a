// The translator's decisions branch by branch, without an API server or a registry: which children to apply or
// delete, and what the ServerBootConfiguration's status says.
import { describe, expect, test } from "bun:test";
import type { Condition } from "../../src/api/index.ts";
import {
  activeFor,
  type ChildObject,
  checkImageReference,
  type ImageOutcome,
  planSbcStatus,
  planTranslation,
  type SbcObject,
  type ServerObject,
  subsetEqual,
  type TranslationInput,
} from "../../src/controllers/translator-plan.ts";
import { parseRegistryAllowList } from "../../src/oci/index.ts";

const digest = (c: string) => `sha256:${c.repeat(64)}`;
const layer = (c: string) => ({ digest: digest(c), size: 1, mediaType: "application/octet-stream" });
const NOW = new Date("2026-03-01T12:00:00.456Z");
const EARLIER = "2026-01-01T00:00:00Z";

const sbc: SbcObject = {
  metadata: { name: "sbc", namespace: "metal", uid: "uid-1", generation: 4 },
  spec: { serverRef: { name: "srv" }, image: "registry.test/os:1.0", ignitionSecretRef: { name: "ign" } },
};
const server: ServerObject = {
  metadata: { name: "srv" },
  spec: { systemUUID: "38947555-7742-3448-3784-823347823834" },
  status: {
    networkInterfaces: [
      { ip: "10.0.0.5", macAddress: "52:54:00:00:00:01" },
      { ips: ["10.0.0.6", "10.0.0.5"], macAddress: "52:54:00:00:00:01" },
    ],
  },
};
const baseImage = { registry: "registry.test", repository: "os", imageName: "registry.test/os", version: "1.0", manifestDigest: digest("e") };
const fullImage: ImageOutcome = { ok: true, image: { ...baseImage, kernel: layer("a"), initrd: layer("b"), squashfs: layer("c"), uki: layer("d") } };
const pxeOnly: ImageOutcome = { ok: true, image: { ...baseImage, kernel: layer("a"), initrd: layer("b") } };
const ukiOnly: ImageOutcome = { ok: true, image: { ...baseImage, uki: layer("d") } };

function input(overrides: Partial<TranslationInput> = {}): TranslationInput {
  return {
    ref: { namespace: "metal", name: "sbc" },
    sbc,
    target: { server, image: fullImage },
    children: {},
    modes: { ipxe: true, httpboot: true },
    publicUrl: "http://boot.test",
    now: NOW,
    ...overrides,
  };
}

function condition(conditions: readonly Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

/** What a child looks like on the API server once the plan's body was applied and its status written. */
function existingChild(plan: ReturnType<typeof planTranslation>, kind: "IPXEBootConfig" | "HTTPBootConfig", state: string): ChildObject {
  const action = plan.children.find((a) => a.kind === kind);
  if (action?.action !== "apply") throw new Error(`no apply for ${kind}`);
  return { ...action.object, status: { state } };
}

describe("planTranslation", () => {
  test("no Server: Pending with ServerFound False, no children touched, nothing to retry", () => {
    const plan = planTranslation(input({ target: { server: undefined } }));
    expect(plan.children).toEqual([]);
    expect(plan.state).toBe("Pending");
    expect(plan.retry).toBeUndefined();
    expect(plan.status?.conditions).toEqual([
      {
        type: "ServerFound",
        status: "False",
        reason: "ServerNotFound",
        message: "Server srv does not exist",
        observedGeneration: 4,
        lastTransitionTime: "2026-03-01T12:00:00Z",
      },
    ]);
  });

  test("an empty serverRef says so", () => {
    const plan = planTranslation(input({ sbc: { ...sbc, spec: { image: "x" } }, target: { server: undefined } }));
    expect(condition(plan.status?.conditions, "ServerFound")?.message).toBe("Server (spec.serverRef.name empty) does not exist");
  });

  test("a full image: both children with proxy URLs, identity from the Server, owned by the SBC; Pending until they are Ready", () => {
    const plan = planTranslation(input());
    expect(plan.children.map((a) => `${a.action} ${a.kind}`)).toEqual(["apply IPXEBootConfig", "apply HTTPBootConfig"]);
    const ipxe = plan.children[0];
    if (ipxe?.action !== "apply") throw new Error("expected an apply");
    expect(ipxe.object.apiVersion).toBe("boot.ironcore.dev/v1alpha1");
    expect(ipxe.object.metadata).toEqual({
      name: "sbc",
      namespace: "metal",
      labels: { "boot.ironcore.dev/server": "srv" },
      ownerReferences: [
        { apiVersion: "metal.ironcore.dev/v1alpha1", kind: "ServerBootConfiguration", name: "sbc", uid: "uid-1", controller: true, blockOwnerDeletion: true },
      ],
    });
    expect(ipxe.object.spec).toMatchObject({
      systemUUID: "38947555-7742-3448-3784-823347823834",
      systemIPs: ["10.0.0.5", "10.0.0.6"],
      ignitionSecretRef: { name: "ign" },
    });
    expect(String(ipxe.object.spec.kernelURL)).toStartWith("http://boot.test/image?imageName=registry.test/os&version=1.0&layerDigest=sha256:aaa");
    expect(String(ipxe.object.spec.squashfsURL)).toContain("layerDigest=sha256:ccc");
    const http = plan.children[1];
    if (http?.action !== "apply") throw new Error("expected an apply");
    expect(http.object.spec).toMatchObject({ networkIdentifiers: ["10.0.0.5", "10.0.0.6", "52:54:00:00:00:01"] });
    expect(String(http.object.spec.ukiURL)).toBe(`http://boot.test/httpboot/registry.test/os/sha256-${"d".repeat(64)}.efi`);
    expect(plan.state).toBe("Pending");
    expect(condition(plan.status?.conditions, "ImageValidation")).toMatchObject({
      status: "True",
      reason: "ImageResolved",
      message: `registry.test/os@${digest("e")} (kernel+initrd, UKI, squashfs)`,
    });
    expect(condition(plan.status?.conditions, "IPXEBootReady")).toMatchObject({
      status: "False",
      reason: "BootConfigPending",
      message: "IPXEBootConfig metal/sbc is Pending",
    });
  });

  test("children already as wanted are not re-applied; their states make the SBC Ready, or Error", () => {
    const first = planTranslation(input());
    const children = { IPXEBootConfig: existingChild(first, "IPXEBootConfig", "Ready"), HTTPBootConfig: existingChild(first, "HTTPBootConfig", "Ready") };
    const ready = planTranslation(input({ children }));
    expect(ready.children).toEqual([]);
    expect(ready.state).toBe("Ready");
    expect(condition(ready.status?.conditions, "HTTPBootReady")).toMatchObject({ status: "True", reason: "BootConfigReady" });
    const failing = planTranslation(input({ children: { ...children, HTTPBootConfig: existingChild(first, "HTTPBootConfig", "Error") } }));
    expect(failing.state).toBe("Error");
    expect(condition(failing.status?.conditions, "HTTPBootReady")).toMatchObject({ status: "False", reason: "BootConfigError" });
  });

  test("a changed Server (new NIC) re-applies the child", () => {
    const first = planTranslation(input());
    const children = { IPXEBootConfig: existingChild(first, "IPXEBootConfig", "Ready"), HTTPBootConfig: existingChild(first, "HTTPBootConfig", "Ready") };
    const nic = { ip: "10.0.0.7", macAddress: "52:54:00:00:00:02" };
    const moved = { ...server, status: { networkInterfaces: [...(server.status?.networkInterfaces ?? []), nic] } };
    const plan = planTranslation(input({ target: { server: moved, image: fullImage }, children }));
    expect(plan.children.map((a) => `${a.action} ${a.kind}`)).toEqual(["apply IPXEBootConfig", "apply HTTPBootConfig"]);
  });

  test("a PXE-only image: the HTTPBootConfig it owns is deleted, HTTPBootReady NotApplicable, still Ready", () => {
    const first = planTranslation(input({ target: { server, image: pxeOnly } }));
    const ipxe = existingChild(first, "IPXEBootConfig", "Ready");
    const ownedHttp: ChildObject = {
      metadata: { name: "sbc", namespace: "metal", ownerReferences: [{ kind: "ServerBootConfiguration", name: "sbc", uid: "uid-1" }] },
    };
    const plan = planTranslation(input({ target: { server, image: pxeOnly }, children: { IPXEBootConfig: ipxe, HTTPBootConfig: ownedHttp } }));
    expect(plan.children).toEqual([{ action: "delete", kind: "HTTPBootConfig" }]);
    expect(plan.state).toBe("Ready");
    expect(condition(plan.status?.conditions, "HTTPBootReady")).toMatchObject({ status: "False", reason: "NotApplicable", message: "image has no UKI layers" });
  });

  test("a child of the same name someone else owns is never deleted", () => {
    const foreign: ChildObject = {
      metadata: { name: "sbc", namespace: "metal", ownerReferences: [{ kind: "ServerBootConfiguration", name: "sbc", uid: "other" }] },
    };
    const plan = planTranslation(input({ target: { server, image: ukiOnly }, children: { IPXEBootConfig: foreign } }));
    expect(plan.children.map((a) => `${a.action} ${a.kind}`)).toEqual(["apply HTTPBootConfig"]);
    expect(condition(plan.status?.conditions, "IPXEBootReady")?.reason).toBe("NotApplicable");
  });

  test("a disabled mode is neither created, deleted nor reported", () => {
    const plan = planTranslation(input({ modes: { ipxe: true, httpboot: false } }));
    expect(plan.children.map((a) => a.kind)).toEqual(["IPXEBootConfig"]);
    expect(condition(plan.status?.conditions, "HTTPBootReady")).toBeUndefined();
  });

  test("an image without layers for any enabled mode: Error MissingBootLayers, children left alone", () => {
    const plan = planTranslation(input({ target: { server, image: ukiOnly }, modes: { ipxe: true, httpboot: false } }));
    expect(plan.children).toEqual([]);
    expect(plan.state).toBe("Error");
    expect(condition(plan.status?.conditions, "ImageValidation")).toMatchObject({
      status: "False",
      reason: "MissingBootLayers",
      message: "image registry.test/os:1.0 has no kernel + initrd (iPXE) layers",
    });
  });

  test("an unresolvable image: Error, and worth a retry; a rejected reference is not retried", () => {
    const unresolved = planTranslation(input({ target: { server, image: { ok: false, reason: "ImageResolutionFailed", message: "x: 503" } } }));
    expect(unresolved.state).toBe("Error");
    expect(unresolved.retry).toBe("x: 503");
    expect(unresolved.children).toEqual([]);
    const rejected = planTranslation(input({ target: { server, image: { ok: false, reason: "RegistryNotAllowed", message: "no" } } }));
    expect(rejected.retry).toBeUndefined();
    expect(condition(rejected.status?.conditions, "ImageValidation")).toMatchObject({ status: "False", reason: "RegistryNotAllowed" });
  });

  test("the active annotation is re-applied when it changes, and removed when the Server names neither config", () => {
    const first = planTranslation(input({ modes: { ipxe: true, httpboot: false } }));
    const plain = existingChild(first, "IPXEBootConfig", "Ready");
    expect(plain.metadata?.annotations).toBeUndefined();
    expect(planTranslation(input({ modes: { ipxe: true, httpboot: false }, children: { IPXEBootConfig: plain } })).children).toEqual([]);
    const stale = { ...plain, metadata: { ...plain.metadata, annotations: { "boot.ironcore.dev/active": "true", "someone.else/note": "kept" } } };
    expect(planTranslation(input({ modes: { ipxe: true, httpboot: false }, children: { IPXEBootConfig: stale } })).children.map((a) => a.action)).toEqual([
      "apply",
    ]);
    const workload = { ...server, spec: { ...server.spec, bootConfigurationRef: { name: "sbc" } } };
    const marked = planTranslation(
      input({ modes: { ipxe: true, httpboot: false }, target: { server: workload, image: fullImage }, children: { IPXEBootConfig: stale } }),
    );
    expect(marked.children).toEqual([]);
  });

  test("the active annotation follows the Server's refs", () => {
    const maintenance = {
      ...server,
      spec: { ...server.spec, maintenanceBootConfigurationRef: { name: "other", namespace: "metal" }, bootConfigurationRef: { name: "sbc" } },
    };
    const plan = planTranslation(input({ target: { server: maintenance, image: fullImage } }));
    const action = plan.children[0];
    expect(action?.action === "apply" ? action.object.metadata.annotations : undefined).toEqual({ "boot.ironcore.dev/active": "false" });
  });

  test("a status that already says this is not written again", () => {
    const first = planTranslation(input({ target: { server: undefined } }));
    const again = planTranslation(input({ sbc: { ...sbc, status: first.status }, target: { server: undefined } }));
    expect(again.status).toBeUndefined();
  });
});

describe("planSbcStatus", () => {
  const wanted = [{ type: "ServerFound", status: "True" as const, reason: "ServerFound", message: "Server srv", observedGeneration: 4 }];
  const written = {
    type: "ServerFound",
    status: "True" as const,
    reason: "ServerFound",
    message: "Server srv",
    observedGeneration: 4,
    lastTransitionTime: EARLIER,
  };

  test("keeps lastTransitionTime while the status holds", () => {
    const status = planSbcStatus({ ...sbc, status: { state: "Ready", conditions: [{ ...written, message: "old" }] } }, "Ready", wanted, NOW);
    expect(status?.conditions[0]?.lastTransitionTime).toBe(EARLIER);
  });

  test("a dropped condition type or a new state counts as a change; times alone do not", () => {
    const extra = { ...written, type: "ImageValidation" };
    expect(planSbcStatus({ ...sbc, status: { state: "Ready", conditions: [written, extra] } }, "Ready", wanted, NOW)).toBeDefined();
    expect(planSbcStatus({ ...sbc, status: { state: "Pending", conditions: [written] } }, "Ready", wanted, NOW)).toBeDefined();
    expect(planSbcStatus({ ...sbc, status: { state: "Ready", conditions: [written] } }, "Ready", wanted, NOW)).toBeUndefined();
  });
});

describe("helpers", () => {
  test("checkImageReference: missing, invalid, not allowed, fine", () => {
    const allow = parseRegistryAllowList("registry.test");
    expect(checkImageReference(undefined, allow)).toMatchObject({ ok: false, reason: "ImageMissing" });
    expect(checkImageReference("UPPER CASE!", allow)).toMatchObject({ ok: false, reason: "InvalidImageReference" });
    expect(checkImageReference("elsewhere.test/os:1", allow)).toMatchObject({ ok: false, reason: "RegistryNotAllowed" });
    expect(checkImageReference("registry.test/os:1", allow)).toMatchObject({ ok: true, reference: { registry: "registry.test", tag: "1" } });
  });

  test("activeFor: maintenance ref first, then workload, else no preference", () => {
    expect(activeFor({ spec: { maintenanceBootConfigurationRef: { name: "sbc" } } }, "metal", "sbc")).toBe(true);
    expect(activeFor({ spec: { maintenanceBootConfigurationRef: { name: "m" }, bootConfigurationRef: { name: "sbc" } } }, "metal", "sbc")).toBe(false);
    expect(activeFor({ spec: { bootConfigurationRef: { name: "sbc", namespace: "other" } } }, "metal", "sbc")).toBe(false);
    expect(activeFor({ spec: {} }, "metal", "sbc")).toBeUndefined();
  });

  test("subsetEqual: only the wanted keys count, arrays in order", () => {
    expect(subsetEqual({ a: 1 }, { a: 1, b: 2 })).toBe(true);
    expect(subsetEqual({ a: [1, 2] }, { a: [2, 1] })).toBe(false);
    expect(subsetEqual({ a: { b: 1 } }, { a: null })).toBe(false);
  });
});
