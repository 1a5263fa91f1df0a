// The periodic full rescan of a directory source: a safety net while the watcher works, the way changes are
// found where notifications are unavailable or missed one.
import { afterEach, describe, expect, test } from "bun:test";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { SnapshotUpdate } from "../../src/index/snapshot.ts";
import { DirectorySource, periodicRescanDue } from "../../src/sources/files/directory-source.ts";

const ipxe = (name: string, uuid: string): string => `apiVersion: boot.ironcore.dev/v1alpha1
kind: IPXEBootConfig
metadata:
  name: ${name}
spec:
  systemUUID: ${uuid}
  kernelURL: http://mirror.example/vmlinuz
  initrdURL: http://mirror.example/initrd.img
`;

describe("periodicRescanDue", () => {
  const base = { rescanIntervalMs: 10_000, watchedRescanIntervalMs: 300_000 };
  test("rare while the watcher works", () => {
    expect(periodicRescanDue({ ...base, watching: true, missedChange: false, sinceLastRescanMs: 10_000 })).toBe(false);
    expect(periodicRescanDue({ ...base, watching: true, missedChange: false, sinceLastRescanMs: 290_000 })).toBe(false);
    // The last one started just after the tick that asked for it: due at the tick 5 min after that one.
    expect(periodicRescanDue({ ...base, watching: true, missedChange: false, sinceLastRescanMs: 299_970 })).toBe(true);
  });
  test("often without a watcher, or after it missed a change", () => {
    expect(periodicRescanDue({ ...base, watching: false, missedChange: false, sinceLastRescanMs: 10_000 })).toBe(true);
    expect(periodicRescanDue({ ...base, watching: true, missedChange: true, sinceLastRescanMs: 10_000 })).toBe(true);
    expect(periodicRescanDue({ ...base, watching: false, missedChange: false, sinceLastRescanMs: 9_970 })).toBe(true);
  });
});

describe("DirectorySource periodic rescan", () => {
  let dir: string | undefined;
  let source: DirectorySource | undefined;
  afterEach(async () => {
    await source?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function started(options: { rescanIntervalMs: number; watchedRescanIntervalMs: number }): Promise<{ updates: SnapshotUpdate[] }> {
    dir = await mkdtemp(join(tmpdir(), "boot-operator-rescan-"));
    await writeFile(join(dir, "a.yaml"), ipxe("a", "4c4c4544-0042-3510-8052-b4c04f4a4e31"));
    const updates: SnapshotUpdate[] = [];
    source = new DirectorySource({ directory: dir, settleMs: 0, debounceMs: 5, ...options });
    await source.start((update) => updates.push(update));
    return { updates };
  }

  test("with a working watcher, changes arrive by notification and the tree is not walked every interval", async () => {
    const { updates } = await started({ rescanIntervalMs: 30, watchedRescanIntervalMs: 60_000 });
    await Bun.sleep(400);
    expect(source?.fullRescans).toBe(1); // the first load only; every 30 ms before
    await writeFile(join(dir ?? "", "b.yaml"), ipxe("b", "11111111-2222-4333-8444-555555555555"));
    const deadline = Date.now() + 5_000;
    while (Date.now() < deadline && !updates.at(-1)?.snapshot.ipxeBootConfigs.some((config) => config.metadata.name === "b")) await Bun.sleep(10);
    expect(
      updates
        .at(-1)
        ?.snapshot.ipxeBootConfigs.map((config) => config.metadata.name)
        .sort(),
    ).toEqual(["a", "b"]);
    expect(source?.fullRescans).toBe(1); // the named file was read on its own
  });

  test("the safety-net rescan still runs at its own interval", async () => {
    await started({ rescanIntervalMs: 30, watchedRescanIntervalMs: 60 });
    await Bun.sleep(500);
    expect(source?.fullRescans ?? 0).toBeGreaterThan(3);
  });
});
