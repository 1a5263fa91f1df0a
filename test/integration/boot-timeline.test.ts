// Issue #15 §3 through the compiled binary in directory mode: a machine fetches chainload, script, kernel, initrd and
// Ignition, and /debug/machines/{uuid} on the metrics listener shows those milestones in order with the requester;
// the boot port answers /debug with 404; a boot that stops after its script shows as stalled after the threshold.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Appliance, startAppliance } from "../harness/appliance.ts";
import { eventually } from "../harness/wait.ts";

const BOOTING = "33333333-0000-4000-8000-000000000001";
const STALLING = "33333333-0000-4000-8000-000000000002";

interface MachineView {
  uuid: string;
  configs: {
    kind: string;
    config: string;
    lastBoot: { startedAt: string; lastMilestone: string; milestones: { name: string; at: string; requester: string; path?: string }[] } | null;
    progress: { state: string; lastMilestone: string; reason?: string } | null;
  }[];
}

let dir: string;
let app: Appliance;
let debugUrl: string;

function config(name: string, uuid: string): string {
  return `apiVersion: boot.ironcore.dev/v1alpha1
kind: IPXEBootConfig
metadata: {name: ${name}}
spec:
  systemUUID: ${uuid}
  kernelURL: /uki/${name}/vmlinuz
  initrdURL: /uki/${name}/initrd
  ignitionSecretRef: {name: ignition}
`;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "boot-timeline-"));
  const configs = join(dir, "configs");
  await mkdir(configs);
  for (const name of ["booting", "stalling"]) {
    await mkdir(join(dir, "uki", name), { recursive: true });
    await writeFile(join(dir, "uki", name, "vmlinuz"), "kernel bytes");
    await writeFile(join(dir, "uki", name, "initrd"), "initrd bytes");
  }
  const secret = `apiVersion: v1
kind: Secret
metadata: {name: ignition}
stringData:
  ignition: '{"ignition":{"version":"3.4.0"}}'
`;
  await writeFile(join(configs, "configs.yaml"), [config("booting", BOOTING), config("stalling", STALLING), secret].join("---\n"));
  app = await startAppliance([
    "--source",
    `dir:${configs}`,
    "--uki-dir",
    join(dir, "uki"),
    "--metrics-bind-address",
    "127.0.0.1:0",
    "--boot-stall-timeout",
    "1500ms",
  ]);
  await app.waitReady();
  const side = await app.waitForLog((line) => line.msg === "side listener" && String(line.serves).includes("metrics"));
  debugUrl = String(side.url);
});

afterAll(async () => {
  await app?.stop();
  await rm(dir, { recursive: true, force: true });
});

async function machine(uuid: string): Promise<MachineView> {
  const response = await fetch(`${debugUrl}/debug/machines/${uuid}`);
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toBe("application/json");
  return (await response.json()) as MachineView;
}

async function ok(path: string): Promise<void> {
  const response = await fetch(`${app.url}${path}`);
  await response.arrayBuffer();
  expect({ path, status: response.status }).toEqual({ path, status: 200 });
}

describe("a boot through the appliance", () => {
  test("/debug/machines/{uuid} on the metrics listener lists the milestones in order, with the requester", async () => {
    await ok("/ipxe");
    await ok(`/ipxe/${BOOTING}`);
    await ok("/uki/booting/vmlinuz");
    await ok("/uki/booting/initrd");
    await ok(`/ignition/${BOOTING}`);
    const view = await machine(BOOTING);
    expect(view.uuid).toBe(BOOTING);
    expect(view.configs).toHaveLength(1);
    const [entry] = view.configs;
    expect(entry?.config).toBe("default/booting");
    expect(entry?.lastBoot?.milestones.map((m) => [m.name, m.requester, m.path ?? null])).toEqual([
      ["chainload", "127.0.0.1", null],
      ["script", "127.0.0.1", null],
      ["kernel", "127.0.0.1", "/uki/booting/vmlinuz"],
      ["initrd", "127.0.0.1", "/uki/booting/initrd"],
      ["ignition", "127.0.0.1", null],
    ]);
    const times = entry?.lastBoot?.milestones.map((m) => Date.parse(m.at)) ?? [];
    expect([...times].sort((a, b) => a - b)).toEqual(times);
    expect(entry?.lastBoot?.lastMilestone).toBe("ignition");
    expect(entry?.progress).toMatchObject({ state: "Completed", lastMilestone: "ignition" });
  });

  test("a boot that stops after its script is stalled after the threshold", async () => {
    await ok(`/ipxe/${STALLING}`);
    expect((await machine(STALLING)).configs[0]?.progress).toMatchObject({ state: "Booting", lastMilestone: "script" });
    const stalled = await eventually(async () => {
      const progress = (await machine(STALLING)).configs[0]?.progress;
      return progress?.state === "Stalled" && progress;
    }, "the boot to count as stalled");
    expect(stalled).toMatchObject({ lastMilestone: "script", reason: "StalledAfterScript" });
  });

  test("/debug/machines lists the timelines, newest first", async () => {
    const response = await fetch(`${debugUrl}/debug/machines`);
    expect(response.status).toBe(200);
    const list = (await response.json()) as { machines: { config: string; systemUUID: string }[]; total: number; truncated: boolean };
    expect(list.machines.map((m) => [m.config, m.systemUUID])).toEqual([
      ["default/stalling", STALLING],
      ["default/booting", BOOTING],
    ]);
    expect(list).toMatchObject({ total: 2, truncated: false });
  });

  test("an unknown UUID is 404 on the metrics listener", async () => {
    expect((await fetch(`${debugUrl}/debug/machines/44444444-0000-4000-8000-000000000000`)).status).toBe(404);
  });
});

describe("the boot port", () => {
  test.each(["/debug/machines", `/debug/machines/${BOOTING}`])("answers %s with 404 and says where it is", async (path) => {
    const response = await fetch(`${app.url}${path}`);
    expect(response.status).toBe(404);
    expect(await response.text()).toContain("only on the metrics listener");
  });

  test("the metrics listener does not serve the boot routes", async () => {
    expect((await fetch(`${debugUrl}/ipxe/${BOOTING}`)).status).toBe(404);
  });
});
