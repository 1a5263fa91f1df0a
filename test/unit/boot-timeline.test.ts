// The boot timeline fold: milestones in order with requester, attribution of boot files, bounds, stall detection
// with an injected clock, and the merge of two replicas' partial views.
import { describe, expect, test } from "bun:test";
import { type HTTPBootConfig, type IPXEBootConfig, objectKey, parseBootResource } from "../../src/api/index.ts";
import {
  BootTimelines,
  bootFromStatus,
  bootProgress,
  bootUrlIndex,
  bootUrlKey,
  type LastBootStatus,
  lastBootStatus,
  MAX_MILESTONES,
  mergeBoots,
  patchBootUrlIndex,
  stalledReason,
} from "../../src/boot/boot-timeline.ts";
import type { ServedEvent } from "../../src/boot/served.ts";
import { explainMachine } from "../../src/cli/explain.ts";
import { bootProgressingCondition } from "../../src/controllers/served-status.ts";
import { httpConfig, ipxeConfig } from "./fixtures.ts";
import { storeWith } from "./http/harness.ts";

const T0 = Date.parse("2026-12-01T10:00:00Z");
const at = (seconds: number): Date => new Date(T0 + seconds * 1000);

const script = (client: string, seconds: number, configKey = "default/a"): ServedEvent => ({
  milestone: "ipxe-script",
  kind: "IPXEBootConfig",
  configKey,
  client,
  path: "/ipxe/x",
  at: at(seconds),
});
const file = (client: string, path: string, seconds: number): ServedEvent => ({ milestone: "boot-file", client, path, at: at(seconds) });
const ignition = (client: string, seconds: number, configKey = "default/a"): ServedEvent => ({
  milestone: "ignition",
  kind: "IPXEBootConfig",
  configKey,
  client,
  path: "/ignition/x",
  at: at(seconds),
});

function timelinesFor(configs: { ipxeBootConfigs: IPXEBootConfig[]; httpBootConfigs: HTTPBootConfig[] }): BootTimelines {
  const timelines = new BootTimelines();
  const byKey = <T extends IPXEBootConfig | HTTPBootConfig>(list: T[]) => new Map(list.map((config) => [objectKey(config.metadata), config]));
  timelines.useUrls(bootUrlIndex({ ...configs, ipxeByKey: byKey(configs.ipxeBootConfigs), httpByKey: byKey(configs.httpBootConfigs) }));
  return timelines;
}

const twoConfigs = {
  ipxeBootConfigs: [
    ipxeConfig("a", { kernelURL: "/uki/vmlinuz", initrdURL: "http://boot.test/uki/initrd-a" }),
    ipxeConfig("b", { kernelURL: "http://other.name:8082/uki/vmlinuz", initrdURL: "/uki/initrd-b" }),
  ],
  httpBootConfigs: [],
};

describe("fold", () => {
  test("chainload, script, kernel, initrd, ignition in order with requester", () => {
    const timelines = timelinesFor(twoConfigs);
    timelines.record({ milestone: "ipxe-chainload", client: "10.0.0.5", path: "/ipxe", at: at(0) });
    timelines.record(script("10.0.0.5", 1));
    timelines.record(file("10.0.0.5", "/uki/vmlinuz", 2));
    timelines.record(file("10.0.0.5", "/uki/initrd-a", 3));
    const timeline = timelines.record(ignition("10.0.0.5", 40));
    expect(timeline?.key).toBe("default/a");
    const status = lastBootStatus(timelines.get("IPXEBootConfig", "default/a")?.boot ?? { startedAt: at(0).getTime(), milestones: [] });
    expect(status?.milestones.map((m) => [m.name, m.requester, m.at])).toEqual([
      ["chainload", "10.0.0.5", at(0).toISOString()],
      ["script", "10.0.0.5", at(1).toISOString()],
      ["kernel", "10.0.0.5", at(2).toISOString()],
      ["initrd", "10.0.0.5", at(3).toISOString()],
      ["ignition", "10.0.0.5", at(40).toISOString()],
    ]);
    expect(status?.startedAt).toBe(at(0).toISOString());
    expect(status?.lastMilestone).toBe("ignition");
    // Config b has no timeline: nothing of its boot happened.
    expect(timelines.get("IPXEBootConfig", "default/b")).toBeUndefined();
  });

  test("a shared kernel goes to the config whose boot the same requester started", () => {
    const timelines = timelinesFor(twoConfigs);
    timelines.record(script("10.0.0.5", 0, "default/a"));
    timelines.record(script("10.0.0.6", 0, "default/b"));
    timelines.record(file("10.0.0.6", "/uki/vmlinuz", 1));
    timelines.record(file("::ffff:10.0.0.5", "/uki/vmlinuz", 2));
    expect(timelines.get("IPXEBootConfig", "default/a")?.boot.milestones.map((m) => `${m.name}@${m.at - T0}`)).toEqual(["script@0", "kernel@2000"]);
    expect(timelines.get("IPXEBootConfig", "default/b")?.boot.milestones.map((m) => `${m.name}@${m.at - T0}`)).toEqual(["script@0", "kernel@1000"]);
  });

  test("a shared kernel from an unknown requester is not guessed; a URL only one open boot names is taken", () => {
    const timelines = timelinesFor(twoConfigs);
    timelines.record(script("10.0.0.5", 0, "default/a"));
    timelines.record(script("10.0.0.6", 0, "default/b"));
    expect(timelines.record(file("10.9.9.9", "/uki/vmlinuz", 1))).toBeUndefined();
    expect(timelines.stats.unattributed).toBe(1);
    expect(timelines.record(file("10.9.9.9", "/uki/initrd-b", 1))?.key).toBe("default/b");
  });

  test("UEFI HTTP boot: the DHCP server asks /httpboot (twice), the machine fetches the UKI its config names", () => {
    const timelines = timelinesFor({ ipxeBootConfigs: [], httpBootConfigs: [httpConfig("h", { ukiURL: "http://boot.test/httpboot/reg/os/sha256-ab.efi" })] });
    const answer = (seconds: number): ServedEvent => ({
      milestone: "httpboot",
      kind: "HTTPBootConfig",
      configKey: "default/h",
      client: "aa:bb:cc:dd:ee:ff",
      path: "/httpboot",
      at: at(seconds),
    });
    timelines.record(answer(0));
    timelines.record(answer(1));
    timelines.record(file("10.0.0.7", "/httpboot/reg/os/sha256-ab.efi", 2));
    expect(timelines.get("HTTPBootConfig", "default/h")?.boot.milestones.map((m) => m.name)).toEqual(["httpboot", "uki"]);
  });

  test("/image URLs compare by their parameters, whatever their order", () => {
    expect(bootUrlKey("http://x/image?layerDigest=sha256:1&imageName=reg/os&version=v1")).toBe(
      bootUrlKey("/image?imageName=reg/os&version=v1&layerDigest=sha256:1"),
    );
    const timelines = timelinesFor({
      ipxeBootConfigs: [ipxeConfig("a", { kernelURL: "http://x/image?imageName=reg/os&version=v1&layerDigest=sha256:1", initrdURL: "/uki/i" })],
      httpBootConfigs: [],
    });
    timelines.record(script("10.0.0.5", 0));
    timelines.record(file("10.0.0.5", "/image?layerDigest=sha256:1&version=v1&imageName=reg/os", 1));
    expect(timelines.get("IPXEBootConfig", "default/a")?.boot.milestones.at(-1)?.name).toBe("kernel");
  });

  test("a custom script's files (named by no config field) go to the requester's boot, named by their file name", () => {
    const timelines = timelinesFor({
      ipxeBootConfigs: [ipxeConfig("a", { kernelURL: undefined, initrdURL: undefined, ipxeScriptSecretRef: { name: "s" } })],
      httpBootConfigs: [],
    });
    timelines.record(script("10.0.0.5", 0));
    timelines.record(file("10.0.0.5", "/uki/custom/vmlinuz-6.1", 1));
    timelines.record(file("10.0.0.5", "/uki/custom/initramfs.img", 2));
    expect(timelines.get("IPXEBootConfig", "default/a")?.boot.milestones.map((m) => m.name)).toEqual(["script", "kernel", "initrd"]);
  });

  test("a new script starts a new boot; the previous one is forgotten", () => {
    const timelines = timelinesFor(twoConfigs);
    timelines.record(script("10.0.0.5", 0));
    timelines.record(file("10.0.0.5", "/uki/vmlinuz", 1));
    timelines.record(ignition("10.0.0.5", 30));
    timelines.record(script("10.0.0.5", 600));
    const boot = timelines.get("IPXEBootConfig", "default/a")?.boot;
    expect(boot?.startedAt).toEqual(at(600).getTime());
    expect(boot?.milestones.map((m) => m.name)).toEqual(["script"]);
  });

  test("a chainload long before the script does not open its boot", () => {
    const timelines = timelinesFor(twoConfigs);
    timelines.record({ milestone: "ipxe-chainload", client: "10.0.0.5", path: "/ipxe", at: at(0) });
    timelines.record(script("10.0.0.5", 3600));
    expect(timelines.get("IPXEBootConfig", "default/a")?.boot.milestones.map((m) => m.name)).toEqual(["script"]);
  });
});

describe("bounds", () => {
  test("a boot keeps at most MAX_MILESTONES, always its start", () => {
    const timelines = timelinesFor({
      ipxeBootConfigs: [ipxeConfig("a", { kernelURL: undefined, initrdURL: undefined, ipxeScriptSecretRef: { name: "s" } })],
      httpBootConfigs: [],
    });
    timelines.record(script("10.0.0.5", 0));
    for (let n = 1; n <= 100; n++) timelines.record(file("10.0.0.5", `/uki/f${n}`, n));
    const milestones = timelines.get("IPXEBootConfig", "default/a")?.boot.milestones ?? [];
    expect(milestones.length).toBe(MAX_MILESTONES);
    expect(milestones[0]?.name).toBe("script");
    expect(milestones.at(-1)?.path).toBe("/uki/f100");
  });

  test("the same file fetched again (ranges, retries) moves to the end instead of filling the list", () => {
    const timelines = timelinesFor(twoConfigs);
    timelines.record(script("10.0.0.5", 0));
    for (let n = 1; n <= 50; n++) timelines.record(file("10.0.0.5", "/uki/vmlinuz", n));
    timelines.record(file("10.0.0.5", "/uki/initrd-a", 51));
    timelines.record(file("10.0.0.5", "/uki/vmlinuz", 52));
    expect(timelines.get("IPXEBootConfig", "default/a")?.boot.milestones.map((m) => m.name)).toEqual(["script", "initrd", "kernel"]);
  });

  test("a repeat of the last milestone moves its time but is not news for status; a new step or boot is", () => {
    const timelines = timelinesFor(twoConfigs);
    expect(timelines.record(script("10.0.0.5", 0))?.key).toBe("default/a");
    // A machine looping on its script (or a storm): the time moves, the shape does not.
    expect(timelines.record(script("10.0.0.5", 1))).toBeUndefined();
    expect(timelines.get("IPXEBootConfig", "default/a")?.boot.milestones.map((m) => m.at)).toEqual([at(1).getTime()]);
    expect(timelines.record(file("10.0.0.5", "/uki/vmlinuz", 2))?.key).toBe("default/a");
    // Ranges of the file fetched last.
    expect(timelines.record(file("10.0.0.5", "/uki/vmlinuz", 3))).toBeUndefined();
    expect(timelines.record(file("10.0.0.5", "/uki/initrd-a", 4))?.key).toBe("default/a");
    // The kernel again after the initrd moves it to the end: a new shape.
    expect(timelines.record(file("10.0.0.5", "/uki/vmlinuz", 5))?.key).toBe("default/a");
    // The script again after files is a new boot.
    expect(timelines.record(script("10.0.0.5", 6))?.boot.milestones.map((m) => m.name)).toEqual(["script"]);
  });

  test("list is bounded and newest first", () => {
    const timelines = timelinesFor(twoConfigs);
    timelines.record(script("10.0.0.5", 0, "default/a"));
    timelines.record(script("10.0.0.6", 5, "default/b"));
    expect(timelines.list(10).map((t) => t.key)).toEqual(["default/b", "default/a"]);
    expect(timelines.list(1).map((t) => t.key)).toEqual(["default/b"]);
  });
});

describe("stall detection (injected clock)", () => {
  const tenMinutes = 10 * 60_000;

  test("script served, nothing since: booting until the threshold, then stalled after script", () => {
    const timelines = timelinesFor(twoConfigs);
    const boot = timelines.record(script("10.0.0.5", 0))?.boot;
    if (!boot) throw new Error("no boot");
    const options = { stallAfterMs: tenMinutes, expectsIgnition: true };
    expect(bootProgress(boot, T0 + tenMinutes - 1, options)).toMatchObject({ state: "Booting", stallsAt: T0 + tenMinutes });
    const stalled = bootProgress(boot, T0 + tenMinutes, options);
    expect(stalled?.state).toBe("Stalled");
    expect(stalled && stalledReason(stalled.lastMilestone.name)).toBe("StalledAfterScript");
  });

  test("the threshold counts from the last milestone; Ignition completes the boot", () => {
    const timelines = timelinesFor(twoConfigs);
    timelines.record(script("10.0.0.5", 0));
    const boot = timelines.record(file("10.0.0.5", "/uki/vmlinuz", 300))?.boot;
    if (!boot) throw new Error("no boot");
    const options = { stallAfterMs: tenMinutes, expectsIgnition: true };
    expect(bootProgress(boot, T0 + tenMinutes + 1000, options)?.state).toBe("Booting");
    expect(bootProgress(boot, T0 + 300_000 + tenMinutes, options)?.lastMilestone.name).toBe("kernel");
    expect(bootProgress(boot, T0 + 300_000 + tenMinutes, options)?.state).toBe("Stalled");
    timelines.record(ignition("10.0.0.5", 2000));
    expect(bootProgress(boot, T0 + 10 * tenMinutes, options)?.state).toBe("Completed");
  });

  test("without Ignition a boot file completes the boot, but a script alone still stalls", () => {
    const timelines = timelinesFor(twoConfigs);
    const boot = timelines.record(script("10.0.0.5", 0))?.boot;
    if (!boot) throw new Error("no boot");
    const options = { stallAfterMs: tenMinutes, expectsIgnition: false };
    expect(bootProgress(boot, T0 + tenMinutes, options)?.state).toBe("Stalled");
    timelines.record(file("10.0.0.5", "/uki/vmlinuz", 1));
    expect(bootProgress(boot, T0 + tenMinutes * 2, options)?.state).toBe("Completed");
  });
});

describe("status shape and merge", () => {
  test("round trip through the status shape; junk entries are dropped", () => {
    const timelines = timelinesFor(twoConfigs);
    timelines.record(script("10.0.0.5", 0));
    const boot = timelines.record(file("10.0.0.5", "/uki/vmlinuz", 1))?.boot;
    const status = boot && lastBootStatus(boot);
    expect(bootFromStatus(JSON.parse(JSON.stringify(status)))).toEqual(boot);
    expect(bootFromStatus({ milestones: [{ name: "nonsense", at: "x", requester: "y" }, 3] })).toBeUndefined();
  });

  test("two replicas' halves of one boot merge in time order; an older boot in status gives way to a newer one", () => {
    const replicaA = timelinesFor(twoConfigs);
    const replicaB = timelinesFor(twoConfigs);
    replicaA.record({ milestone: "ipxe-chainload", client: "10.0.0.5", path: "/ipxe", at: at(0) });
    replicaA.record(script("10.0.0.5", 1));
    replicaB.record(file("10.0.0.5", "/uki/vmlinuz", 2)); // replica B never saw the script: not attributed there
    replicaB.record(ignition("10.0.0.5", 30));
    const merged = mergeBoots(replicaA.get("IPXEBootConfig", "default/a")?.boot, replicaB.get("IPXEBootConfig", "default/a")?.boot);
    expect(merged?.milestones.map((m) => m.name)).toEqual(["chainload", "script", "ignition"]);
    expect(merged?.startedAt).toEqual(at(0).getTime());

    const newer = timelinesFor(twoConfigs);
    newer.record(script("10.0.0.5", 900));
    const next = mergeBoots(merged, newer.get("IPXEBootConfig", "default/a")?.boot);
    expect(next?.milestones.map((m) => m.name)).toEqual(["script"]);
    expect(next?.startedAt).toEqual(at(900).getTime());
  });
});

describe("where the timeline shows", () => {
  const lastBoot: LastBootStatus = {
    startedAt: "2026-12-01T10:00:00.000Z",
    lastMilestone: "kernel",
    milestones: [
      { name: "script", at: "2026-12-01T10:00:00.000Z", requester: "10.0.0.5" },
      { name: "kernel", at: "2026-12-01T10:00:01.000Z", requester: "10.0.0.5", path: "/uki/vmlinuz" },
    ],
  };

  test("status.lastBoot passes the schema (so the CRD and the files accept it) and explain prints it", () => {
    const document = { ...ipxeConfig("a", { systemUUID: "66666666-0000-4000-8000-000000000001" }), status: { lastBoot } };
    const parsed = parseBootResource(document);
    if (!parsed.ok || parsed.resource.kind !== "IPXEBootConfig") throw new Error("did not parse");
    expect(JSON.parse(JSON.stringify(parsed.resource.object.status?.lastBoot))).toEqual(lastBoot);
    const lines = explainMachine(storeWith({ ipxe: [parsed.resource.object] }), { uuid: "66666666-0000-4000-8000-000000000001" });
    expect(lines).toContain("  last boot (status.lastBoot): script 2026-12-01T10:00:00.000Z by 10.0.0.5, kernel 2026-12-01T10:00:01.000Z by 10.0.0.5");
  });

  test("a config without a last boot explains as before", () => {
    const lines = explainMachine(storeWith({ ipxe: [ipxeConfig("a", { systemUUID: "66666666-0000-4000-8000-000000000001" })] }), {
      uuid: "66666666-0000-4000-8000-000000000001",
    });
    expect(lines.some((line) => line.includes("last boot"))).toBe(false);
  });

  test("BootProgressing says how far the boot got", () => {
    const boot = bootFromStatus(lastBoot);
    if (!boot) throw new Error("no boot");
    const options = { stallAfterMs: 600_000, expectsIgnition: true };
    const start = Date.parse(lastBoot.startedAt);
    const booting = bootProgress(boot, start + 2_000, options);
    const stalled = bootProgress(boot, start + 601_000, options);
    if (!booting || !stalled) throw new Error("no progress");
    expect(bootProgressingCondition(booting, 3)).toEqual({
      type: "BootProgressing",
      status: "True",
      reason: "Booting",
      message: "last milestone: kernel served to 10.0.0.5 at 2026-12-01T10:00:01.000Z",
      observedGeneration: 3,
    });
    expect(bootProgressingCondition(stalled, undefined)).toEqual({
      type: "BootProgressing",
      status: "False",
      reason: "StalledAfterKernel",
      message: "stalled after kernel: kernel served to 10.0.0.5 at 2026-12-01T10:00:01.000Z, nothing since",
    });
  });
});

describe("URL index patched per change", () => {
  const indexOf = (ipxe: ReturnType<typeof ipxeConfig>[], http: ReturnType<typeof httpConfig>[]) => ({
    ipxeBootConfigs: ipxe,
    httpBootConfigs: http,
    ipxeByKey: new Map(ipxe.map((config) => [`default/${config.metadata.name}`, config])),
    httpByKey: new Map(http.map((config) => [`default/${config.metadata.name}`, config])),
  });
  const comparable = (urls: ReturnType<typeof bootUrlIndex>) => ({
    byUrl: [...urls.byUrl].map(([key, named]) => [key, [...named].sort()]).sort(),
  });

  test("edits, additions and removals give what a full build gives", () => {
    const shared = { kernelURL: "/uki/vmlinuz", initrdURL: "/uki/initrd" };
    const before = indexOf(
      [ipxeConfig("a", shared), ipxeConfig("b", shared), ipxeConfig("c", { ...shared, squashfsURL: "/uki/root.squashfs" })],
      [httpConfig("h", { ukiURL: "/uki/fleet.efi" }), httpConfig("gone", { ukiURL: "/uki/only-gone.efi" })],
    );
    const after = indexOf(
      [
        ipxeConfig("a", { ...shared, kernelURL: "/uki/vmlinuz-rev-1" }),
        ipxeConfig("c", shared),
        ipxeConfig("new", { kernelURL: "/uki/new", initrdURL: "/uki/new" }),
      ],
      [httpConfig("h", { ukiURL: "/uki/fleet.efi" })],
    );
    const changed = new Set([
      "IPXEBootConfig|default/a",
      "IPXEBootConfig|default/b",
      "IPXEBootConfig|default/c",
      "IPXEBootConfig|default/new",
      "HTTPBootConfig|default/gone",
    ]);
    const patched = patchBootUrlIndex(bootUrlIndex(before), after, changed);
    expect(comparable(patched)).toEqual(comparable(bootUrlIndex(after)));
    expect(patched.byUrl.has("/uki/only-gone.efi")).toBe(false);
    expect(patched.byUrl.get("/uki/new")?.get("IPXEBootConfig|default/new")).toBe("kernel");
  });

  test("the timelines patch from the URLs in use, over several index changes before the next use", () => {
    const timelines = new BootTimelines();
    const first = indexOf([ipxeConfig("a"), ipxeConfig("b")], []);
    timelines.useIndex({ ...first, changedConfigs: undefined });
    const built = timelines.urlIndex();
    const second = indexOf([ipxeConfig("a", { kernelURL: "/k2" }), ipxeConfig("b")], []);
    timelines.useIndex({ ...second, changedConfigs: { ipxe: ["default/a"], http: [] } });
    const third = indexOf([ipxeConfig("a", { kernelURL: "/k2" })], []);
    timelines.useIndex({ ...third, changedConfigs: { ipxe: ["default/b"], http: [] } });
    const patched = timelines.urlIndex();
    expect(patched).toBe(built); // patched in place, not built anew
    expect(comparable(patched)).toEqual(comparable(bootUrlIndex(third)));
  });
});
