// ResourceSet.update (directory mode, issue #14) patches the last result for the files that changed; it must give
// exactly what a rebuild from every file gives, and a delta the index can trust. Each step runs both ways.
import { describe, expect, test } from "bun:test";
import type { SnapshotUpdate } from "../../src/index/snapshot.ts";
import { type DecodedFile, decodeResourceFile } from "../../src/sources/files/documents.ts";
import { ResourceSet } from "../../src/sources/files/resource-set.ts";

function machineFile(name: string, uuid: string, kernel = "http://files.example/vmlinuz"): string {
  return `apiVersion: boot.ironcore.dev/v1alpha1
kind: IPXEBootConfig
metadata:
  name: ${name}
spec:
  systemUUID: ${uuid}
  kernelURL: ${kernel}
  initrdURL: http://files.example/initrd
---
apiVersion: v1
kind: Secret
metadata:
  name: ${name}-ignition
stringData:
  ignition: "{}"
`;
}

function switchFile(name: string, serial: string): string {
  return `apiVersion: boot.ironcore.dev/v1alpha1
kind: SwitchBootConfig
metadata:
  name: ${name}
spec:
  serialNumber: ${serial}
  provisioningScriptSecretRef:
    name: ${name}-ztp
`;
}

function uuid(index: number): string {
  return `${String(index).padStart(8, "0")}-aaaa-4bbb-8ccc-dddddddddddd`;
}

function comparable(update: SnapshotUpdate) {
  const names = (list: readonly { metadata: { name: string } }[]) => list.map((object) => object.metadata.name).sort();
  return {
    ipxe: names(update.snapshot.ipxeBootConfigs),
    ipxeObjects: [...update.snapshot.ipxeBootConfigs].sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1)),
    switches: [...(update.snapshot.switchBootConfigs ?? [])].sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1)),
    secrets: names(update.snapshot.secrets),
    firstSeen: [...(update.snapshot.firstSeen ?? new Map())].sort(([a], [b]) => (a < b ? -1 : 1)),
    problems: update.problems,
  };
}

/** Applies each step's file changes both ways; returns the incremental results. */
function bothWays(steps: Map<string, string | undefined>[]): SnapshotUpdate[] {
  const patched = new ResourceSet();
  const rebuilt = new ResourceSet();
  const files = new Map<string, DecodedFile>();
  const results: SnapshotUpdate[] = [];
  for (const [index, step] of steps.entries()) {
    for (const [path, text] of step) {
      if (text === undefined) files.delete(path);
      else files.set(path, decodeResourceFile(path, text));
    }
    const incremental = index === 0 ? patched.rebuild(files) : patched.update(files, new Set(step.keys()), new Map());
    const full = rebuilt.rebuild(files);
    expect(comparable(incremental)).toEqual(comparable(full));
    results.push(incremental);
  }
  return results;
}

const initial = new Map<string, string | undefined>();
for (let i = 0; i < 20; i++) initial.set(`m-${String(i).padStart(2, "0")}.yaml`, machineFile(`m-${i}`, uuid(i)));

describe("ResourceSet.update equals a rebuild", () => {
  test("change, add, delete: the delta names exactly the changed objects", () => {
    const [, changed, added, deleted] = bothWays([
      initial,
      new Map([["m-03.yaml", machineFile("m-3", uuid(3), "http://files.example/vmlinuz-2")]]),
      new Map([["sub/new.yaml", machineFile("new", uuid(99))]]),
      new Map([["m-05.yaml", undefined]]),
    ]);
    expect([...(changed?.snapshot.delta?.ipxeBootConfigs.keys() ?? [])]).toEqual(["default/m-3"]);
    expect(changed?.snapshot.delta?.ipxeBootConfigs.get("default/m-3")?.spec.kernelURL).toBe("http://files.example/vmlinuz-2");
    expect(added?.snapshot.delta?.ipxeBootConfigs.get("default/new")?.spec.systemUUID).toBe(uuid(99));
    expect(added?.snapshot.delta?.secrets.has("default/new-ignition")).toBe(true);
    expect(deleted?.snapshot.delta?.ipxeBootConfigs.has("default/m-5")).toBe(true);
    expect(deleted?.snapshot.delta?.ipxeBootConfigs.get("default/m-5")).toBeUndefined();
    expect(deleted?.snapshot.delta?.since).toBe(added?.snapshot.serial);
  });

  test("a file that stops parsing keeps serving; an invalid document keeps its last valid version; fixed again", () => {
    bothWays([
      initial,
      new Map([["m-01.yaml", "kind: [unclosed"]]),
      new Map([["m-02.yaml", machineFile("m-2", "not-a-uuid")]]),
      new Map([
        ["m-01.yaml", machineFile("m-1", uuid(1))],
        ["m-02.yaml", machineFile("m-2", uuid(2))],
      ]),
    ]);
  });

  test("duplicates appear (another file takes an id) and go away again", () => {
    bothWays([
      initial,
      new Map([["a-first.yaml", machineFile("m-7", uuid(70))]]),
      new Map([["m-08.yaml", machineFile("m-8", uuid(8), "http://files.example/v3")]]),
      new Map([["a-first.yaml", undefined]]),
      new Map([["m-07.yaml", machineFile("m-7", uuid(7), "http://files.example/v4")]]),
    ]);
  });

  test("switch files: listed in the snapshot like a rebuild, never filed as Secrets in the delta", () => {
    const [, added, changed, deleted] = bothWays([
      initial,
      new Map([["leaf-1.yaml", switchFile("leaf-1", "SN-1")]]),
      new Map([["leaf-1.yaml", switchFile("leaf-1", "SN-2")]]),
      new Map([["leaf-1.yaml", undefined]]),
    ]);
    expect(added?.snapshot.switchBootConfigs?.map((config) => config.spec.serialNumber)).toEqual(["SN-1"]);
    expect(changed?.snapshot.switchBootConfigs?.map((config) => config.spec.serialNumber)).toEqual(["SN-2"]);
    expect(deleted?.snapshot.switchBootConfigs).toEqual([]);
    for (const update of [added, changed, deleted]) expect([...(update?.snapshot.delta?.secrets.keys() ?? [])]).toEqual([]);
  });
});
