// The API-server source's parsed objects take the raw object's parts where the schema changed nothing there.
import { expect, test } from "bun:test";
import { parseBootResource } from "../../src/api/index.ts";
import { followStatusOnlyChange, shareEqualParts } from "../../src/sources/kube/shared-subtrees.ts";

const raw = () => ({
  apiVersion: "boot.ironcore.dev/v1alpha1",
  kind: "IPXEBootConfig",
  metadata: { name: "m", namespace: "ns", uid: "u-1", resourceVersion: "7", labels: { a: "b" } },
  spec: { systemUUID: "4c4c4544-0042-3510-8052-b4c04f4a4e31", systemIPs: ["10.0.0.1"], kernelURL: "/uki/k", initrdURL: "/uki/i" },
  status: {
    state: "Ready",
    conditions: [{ type: "Ready", status: "True", reason: "BootConfigServable", message: "ok", lastTransitionTime: "2026-12-02T00:00:00Z" }],
  },
});

function parsed(object: object) {
  const result = parseBootResource(object);
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  return result.resource.object as unknown as Record<string, unknown>;
}

test("equal parts are the raw object's own; the parsed object still reads the same", () => {
  const object = raw();
  const config = parsed(object);
  const before = structuredClone(config);
  expect(config.spec).not.toBe(object.spec); // the schema made new objects
  shareEqualParts(config, object);
  expect(config.metadata).toBe(object.metadata);
  expect(config.spec).toBe(object.spec);
  expect(config).toEqual(before);
});

test("a part the schema transformed keeps the schema's version", () => {
  const object = raw();
  const withEmpty = { ...object, spec: { ...object.spec, initrdURL: "", ipxeScriptSecretRef: { name: "script" } } };
  const config = parsed(withEmpty);
  shareEqualParts(config, withEmpty);
  expect(config.spec).not.toBe(withEmpty.spec); // "" was dropped: the raw spec differs
  expect("initrdURL" in (config.spec as object)).toBe(false);
  expect(config.metadata).toBe(withEmpty.metadata);
});

test("a list of another length, an extra key, or a changed leaf is not equal", () => {
  const object = raw();
  const config = { metadata: { ...object.metadata }, spec: { ...object.spec, systemIPs: ["10.0.0.1", "10.0.0.2"] }, status: { ...object.status, extra: 1 } };
  shareEqualParts(config, object);
  expect(config.metadata).toBe(object.metadata);
  expect(config.spec).not.toBe(object.spec);
  expect(config.status).not.toBe(object.status);
});

test("in a part the schema transformed, equal members and strings become the raw object's", () => {
  const object = raw();
  const withEmpty = { ...object, spec: { ...object.spec, initrdURL: "", ipxeScriptSecretRef: { name: "script" } } };
  const config = parsed(withEmpty);
  const before = structuredClone(config);
  const spec = config.spec as Record<string, unknown>;
  expect(spec.systemIPs).not.toBe(withEmpty.spec.systemIPs);
  shareEqualParts(config, withEmpty);
  expect(config.spec).not.toBe(withEmpty.spec);
  expect(spec.systemIPs).toBe(withEmpty.spec.systemIPs);
  expect(spec.ipxeScriptSecretRef).toBe(withEmpty.spec.ipxeScriptSecretRef);
  expect(config).toEqual(before);
});

test("a status-only change: the served object takes the newer version's metadata when only its resourceVersion moved", () => {
  const first = raw();
  const config = parsed(first);
  shareEqualParts(config, first);
  const written = { ...raw(), metadata: { ...raw().metadata, resourceVersion: "8" }, status: { state: "Error", conditions: [] } };
  followStatusOnlyChange(config, written);
  expect(config.metadata).toBe(written.metadata);
  expect((config.metadata as { resourceVersion: string }).resourceVersion).toBe("8");
  expect(config.spec).toBe(written.spec); // equal parts move onto the newer version too
  expect(written.spec).toBe(first.spec); // ... which took the previous version's parts first: one copy of each
  expect(written.metadata.labels).toBe(first.metadata.labels);

  const relabelled = { ...written, metadata: { ...written.metadata, resourceVersion: "9", labels: { a: "c" } } };
  followStatusOnlyChange(config, relabelled);
  expect(config.metadata).toBe(written.metadata);
});

test("a status-only change: the newer version's unchanged conditions are the previous version's objects", () => {
  const first = raw();
  const config = parsed(first);
  shareEqualParts(config, first);
  expect(config.status).toBe(first.status);
  const ready = first.status.conditions[0];
  const written = { ...raw(), metadata: { ...raw().metadata, resourceVersion: "8" }, status: { state: "Error", conditions: [{ ...ready }] } };
  followStatusOnlyChange(config, written);
  expect(written.status.conditions[0]).toBe(ready);
  expect(written.status.state).toBe("Error");
  const changed = { ...raw(), metadata: { ...raw().metadata, resourceVersion: "9" }, status: { state: "Ready", conditions: [{ ...ready, message: "again" }] } };
  followStatusOnlyChange(config, changed);
  expect(changed.status.conditions[0]).not.toBe(ready);
  expect(changed.status.conditions[0]?.message).toBe("again");
});
