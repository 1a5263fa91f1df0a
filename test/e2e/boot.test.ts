// End-to-end: real boot clients in QEMU against the compiled appliance (dist/boot-operator).
//  - BIOS: SeaBIOS + iPXE ROM → /ipxe → /ipxe/{uuid} → kernel + initrd from /uki/… → Linux fetches /ignition/{uuid}.
//  - UEFI: OVMF + iPXE EFI ROM → /ipxe → custom script chains a UKI from /uki/… → Linux fetches Ignition.
//  - UEFI HTTP Boot: OVMF's own HTTP Boot fetches the UKI URL that /httpboot hands a DHCP server.
//  - No config (BIOS and UEFI): /ipxe/{uuid} is a 404 and iPXE gives up after one try.
// Each test runs its own appliance, so its logs and metrics belong to that one machine.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type ApplianceLogLine,
  applianceBinary,
  type BootResource,
  freeLoopbackPort,
  type MetricSample,
  metricSum,
  type RunningAppliance,
  startAppliance,
  writeResources,
} from "./appliance.ts";
import {
  type BootMachineOptions,
  type BootResult,
  bootMachine,
  buildUki,
  describeBoot,
  expectGuestFetchedIgnition,
  type GuestArtefacts,
  guestArtefacts,
  HOST_FROM_GUEST,
  registerExitCleanup,
  runningQemuCount,
  serialLogDir as runSerialLogDir,
} from "./qemu.ts";

/** Measured boots take 8–13 s under TCG on 2 cores; the limit leaves room for a slow CI machine. */
const BOOT_TIMEOUT_MS = Number(process.env.BOOT_E2E_TIMEOUT_MS ?? 150_000);
const TEST_TIMEOUT_MS = BOOT_TIMEOUT_MS + 60_000;
/** Paths the harness itself requests; not part of what a machine was served. */
const HARNESS_PATHS = new Set(["/readyz", "/healthz", "/metrics"]);
const BOOT_MILESTONES = "boot_operator_boot_milestones_total";
const HTTP_REQUESTS = "boot_operator_http_requests_total";

let artefacts: GuestArtefacts;
let workRoot: string | undefined;
let serialLogDir = "";
const appliances: RunningAppliance[] = [];
const wallTimes: string[] = [];

// Building the guest artefacts (first run: apt installs, kernel download) and the appliance binary take a while.
beforeAll(
  () => {
    artefacts = guestArtefacts();
    applianceBinary();
    const root = mkdtempSync(join(tmpdir(), "boot-e2e-"));
    workRoot = root;
    registerExitCleanup(() => rmSync(root, { recursive: true, force: true }));
    serialLogDir = runSerialLogDir();
  },
  { timeout: 900_000 },
);

async function stopAppliances(): Promise<void> {
  await Promise.all(appliances.splice(0).map((appliance) => appliance.stop()));
}

afterEach(stopAppliances, { timeout: 30_000 });

afterAll(
  async () => {
    await stopAppliances();
    if (workRoot) rmSync(workRoot, { recursive: true, force: true });
    if (wallTimes.length > 0) console.log(`e2e boot wall times: ${wallTimes.join(", ")}`);
    expect(runningQemuCount()).toBe(0);
  },
  { timeout: 60_000 },
);

interface Machine {
  name: string;
  uuid: string;
  mac: string;
}

/** A random UUID: a byte-swapped reading of it (SMBIOS vs. RFC 4122 order of the first fields) cannot match it. */
function newMachine(name: string): Machine {
  const uuid = crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(3));
  const mac = ["52", "54", "00", ...Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0"))].join(":");
  return { name, uuid, mac };
}

function sha256Hex(text: string): string {
  return new Bun.CryptoHasher("sha256").update(text).digest("hex");
}

function ignitionFor(machine: Machine): string {
  // Unique per run, so a digest match cannot come from a stale config.
  return JSON.stringify({
    ignition: { version: "3.3.0" },
    storage: {
      files: [{ path: "/etc/hostname", mode: 420, contents: { source: `data:,${machine.name}-${machine.uuid}` } }],
    },
  });
}

interface Scenario {
  machine: Machine;
  appliance: RunningAppliance;
}

/** A fresh appliance on its own port, resources and UKI dir prepared by `prepare` (which learns the URLs first). */
async function startScenario(
  machine: Machine,
  prepare: (context: { publicUrl: string; ukiDir: string }) => BootResource[],
  extraArgs: string[] = [],
): Promise<Scenario> {
  if (!workRoot) throw new Error("beforeAll did not prepare the work directory");
  const root = join(workRoot, machine.name);
  const resourcesDir = join(root, "resources");
  const ukiDir = join(root, "uki");
  mkdirSync(resourcesDir, { recursive: true });
  mkdirSync(ukiDir, { recursive: true });
  const port = freeLoopbackPort();
  const resources = prepare({ publicUrl: `http://${HOST_FROM_GUEST}:${port}`, ukiDir });
  if (resources.length > 0) writeResources(resourcesDir, `${machine.name}.yaml`, resources);
  const appliance = await startAppliance({ resourcesDir, ukiDir, port, extraArgs });
  appliances.push(appliance);
  return { machine, appliance };
}

async function boot(scenario: Scenario, options: Pick<BootMachineOptions, "firmware" | "bootFileUrl" | "stopWhen">): Promise<BootResult> {
  const result = await bootMachine({
    ...options,
    uuid: scenario.machine.uuid,
    mac: scenario.machine.mac,
    serialLogPath: join(serialLogDir, `${scenario.machine.name}.log`),
    timeoutMs: BOOT_TIMEOUT_MS,
  });
  wallTimes.push(`${scenario.machine.name} ${(result.wallTimeMs / 1000).toFixed(1)}s (${result.outcome})`);
  // The boot is over either way: QEMU must be gone.
  expect(runningQemuCount()).toBe(0);
  if (result.qemuPid !== undefined) expect(processExists(result.qemuPid)).toBe(false);
  return result;
}

/** The BIOS text console wraps long lines at 80 columns mid-word; matching ignores line breaks. */
function unwrapped(serial: string): string {
  return serial.replaceAll("\n", "");
}

/** Fails with the end of the serial log (not all of it) when `text` is not in it. */
function expectSerialLine(result: BootResult, text: string): void {
  if (!unwrapped(result.serialLog).includes(text)) throw new Error(`serial log lacks ${JSON.stringify(text)}: ${describeBoot(result)}`);
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** "METHOD path status" for every request the machine (or the test acting as its DHCP server) made. */
function servedRequests(appliance: RunningAppliance): string[] {
  return appliance
    .requests()
    .filter((line: ApplianceLogLine) => !HARNESS_PATHS.has(String(line.path)))
    .map((line) => `${String(line.method)} ${String(line.path)} ${String(line.status)}`)
    .sort();
}

function milestoneCount(samples: MetricSample[], milestone: string): number {
  return metricSum(samples, BOOT_MILESTONES, { milestone });
}

/** HTTP requests counted by the appliance, harness paths left out. */
function bootRequestCount(samples: MetricSample[], status: string): number {
  return samples
    .filter((sample) => sample.name === HTTP_REQUESTS && sample.labels.status === status && !HARNESS_PATHS.has(sample.labels.route ?? ""))
    .reduce((sum, sample) => sum + sample.value, 0);
}

describe("network boot in QEMU against the appliance", () => {
  test(
    "BIOS: iPXE chainloads the machine's script, boots kernel + initrd, Linux fetches its Ignition",
    async () => {
      const machine = newMachine("bios-ipxe");
      const ignition = ignitionFor(machine);
      const scenario = await startScenario(machine, ({ publicUrl, ukiDir }): BootResource[] => {
        mkdirSync(join(ukiDir, "bios"));
        copyFileSync(artefacts.kernel, join(ukiDir, "bios/vmlinuz"));
        copyFileSync(artefacts.initrd, join(ukiDir, "bios/initrd.img"));
        return [
          { kind: "Secret", name: "bios-ignition", stringData: { ignition } },
          {
            kind: "IPXEBootConfig",
            name: "bios-machine",
            spec: {
              systemUUID: machine.uuid,
              kernelURL: `${publicUrl}/uki/bios/vmlinuz`,
              initrdURL: `${publicUrl}/uki/bios/initrd.img`,
              ignitionSecretRef: { name: "bios-ignition" },
            },
          },
        ];
      });
      const { appliance } = scenario;
      const result = await boot(scenario, { firmware: "bios", bootFileUrl: `${appliance.publicUrl}/ipxe` });
      const guest = expectGuestFetchedIgnition(result);

      expect(guest.ignitionSha256, describeBoot(result)).toBe(sha256Hex(ignition));
      expect(guest.smbiosUuid).toBe(machine.uuid);
      // iPXE expanded ${uuid} to the same string QEMU was given (it prints the URL without its query), and Linux
      // from the served kernel booted with the served command line.
      expectSerialLine(result, `${appliance.publicUrl}/ipxe/${machine.uuid}... ok`);
      expectSerialLine(result, `Kernel command line: initrd=initrd`);
      expect(servedRequests(appliance)).toEqual(
        [
          "GET /ipxe 200",
          `GET /ipxe/${machine.uuid} 200`,
          "GET /uki/bios/vmlinuz 200",
          "GET /uki/bios/initrd.img 200",
          `GET /ignition/${machine.uuid} 200`,
        ].sort(),
      );
      const metrics = await appliance.metrics();
      expect(milestoneCount(metrics, "ipxe-chainload")).toBe(1);
      expect(milestoneCount(metrics, "ipxe-script")).toBe(1);
      expect(milestoneCount(metrics, "boot-file")).toBe(2);
      expect(milestoneCount(metrics, "ignition")).toBe(1);
      expect(bootRequestCount(metrics, "200")).toBe(5);
    },
    TEST_TIMEOUT_MS,
  );

  test(
    "UEFI: iPXE EFI runs the machine's custom script, which chains a UKI from /uki/; Linux fetches its Ignition",
    async () => {
      const machine = newMachine("uefi-ipxe-uki");
      const ignition = ignitionFor(machine);
      let ukiPath = "";
      const scenario = await startScenario(machine, ({ publicUrl, ukiDir }): BootResource[] => {
        ukiPath = join(ukiDir, "uefi/test.efi");
        buildUki(artefacts, `console=ttyS0 panic=1 boot_e2e.cmdline=uki ignition.config.url=${publicUrl}/ignition/\${uuid}`, ukiPath);
        // iPXE always hands an EFI image its name as load options, and systemd-stub without Secure Boot then
        // uses those options instead of the UKI's .cmdline: so the script passes the command line itself.
        const script = [
          "#!ipxe",
          "chain {{.PublicURL}}/uki/uefi/test.efi console=ttyS0 panic=1 boot_e2e.cmdline=ipxe ignition.config.url={{.IgnitionURL}}",
          "",
        ].join("\n");
        return [
          { kind: "Secret", name: "uefi-ignition", stringData: { ignition } },
          { kind: "Secret", name: "uefi-script", stringData: { "ipxe-script": script } },
          {
            kind: "IPXEBootConfig",
            name: "uefi-machine",
            spec: {
              systemUUID: machine.uuid,
              // Not used by the custom script: a request for them would show up below as a 404.
              kernelURL: `${publicUrl}/uki/uefi/unused-vmlinuz`,
              initrdURL: `${publicUrl}/uki/uefi/unused-initrd`,
              ignitionSecretRef: { name: "uefi-ignition" },
              ipxeScriptSecretRef: { name: "uefi-script" },
            },
          },
        ];
      });
      const { appliance } = scenario;
      const result = await boot(scenario, { firmware: "uefi", bootFileUrl: `${appliance.publicUrl}/ipxe` });
      const guest = expectGuestFetchedIgnition(result);

      expect(guest.ignitionSha256, describeBoot(result)).toBe(sha256Hex(ignition));
      expect(guest.smbiosUuid).toBe(machine.uuid);
      expect(guest.cmdline).toContain("boot_e2e.cmdline=ipxe");
      expectSerialLine(result, `${appliance.publicUrl}/ipxe/${machine.uuid}... ok`);
      expectSerialLine(result, `${appliance.publicUrl}/uki/uefi/test.efi... ok`);
      // The kernel's EFI stub took its initrd from systemd-stub, i.e. from the UKI's .initrd section.
      expectSerialLine(result, "Loaded initrd from LINUX_EFI_INITRD_MEDIA_GUID");
      expect(servedRequests(appliance)).toEqual(
        ["GET /ipxe 200", `GET /ipxe/${machine.uuid} 200`, "GET /uki/uefi/test.efi 200", `GET /ignition/${machine.uuid} 200`].sort(),
      );
      const metrics = await appliance.metrics();
      expect(milestoneCount(metrics, "ipxe-chainload")).toBe(1);
      expect(milestoneCount(metrics, "ipxe-script")).toBe(1);
      expect(milestoneCount(metrics, "boot-file")).toBe(1);
      expect(milestoneCount(metrics, "ignition")).toBe(1);
      expect(bootRequestCount(metrics, "200")).toBe(4);

      const head = await fetch(`${appliance.hostUrl}/uki/uefi/test.efi`, { method: "HEAD" });
      expect(head.status).toBe(200);
      expect(head.headers.get("content-type")).toBe("application/efi");
      expect(Number(head.headers.get("content-length"))).toBe(statSync(ukiPath).size);
    },
    TEST_TIMEOUT_MS,
  );

  test(
    "UEFI HTTP Boot: OVMF boots the UKI URL that /httpboot gives the DHCP server; the UKI's own command line is used",
    async () => {
      const machine = newMachine("uefi-http-boot");
      const ignition = ignitionFor(machine);
      let ukiSize = 0;
      const scenario = await startScenario(
        machine,
        ({ publicUrl, ukiDir }): BootResource[] => {
          const ukiPath = join(ukiDir, "http/test.efi");
          // No loader options with firmware HTTP Boot, so systemd-stub uses this embedded command line; the
          // guest expands the literal ${uuid} from SMBIOS, as iPXE would have.
          buildUki(artefacts, `console=ttyS0 panic=1 boot_e2e.cmdline=uki ignition.config.url=${publicUrl}/ignition/\${uuid}`, ukiPath);
          ukiSize = statSync(ukiPath).size;
          return [
            { kind: "Secret", name: "http-ignition", stringData: { ignition } },
            {
              kind: "HTTPBootConfig",
              name: "http-machine",
              spec: {
                systemUUID: machine.uuid,
                networkIdentifiers: [machine.mac],
                ukiURL: `${publicUrl}/uki/http/test.efi`,
                ignitionSecretRef: { name: "http-ignition" },
              },
            },
          ];
        },
        // The test plays the DHCP server: it asks from loopback on the machine's behalf.
        ["--trusted-proxies", "127.0.0.1/32"],
      );
      const { appliance } = scenario;
      const answer = await fetch(`${appliance.hostUrl}/httpboot`, { headers: { "X-Forwarded-For": machine.mac } });
      expect(answer.status).toBe(200);
      const { UKIURL: ukiUrl } = (await answer.json()) as { UKIURL: string };
      expect(ukiUrl).toBe(`${appliance.publicUrl}/uki/http/test.efi`);

      const result = await boot(scenario, { firmware: "uefi-http", bootFileUrl: ukiUrl });
      const guest = expectGuestFetchedIgnition(result);

      expect(guest.ignitionSha256, describeBoot(result)).toBe(sha256Hex(ignition));
      expect(guest.cmdline).toContain("boot_e2e.cmdline=uki");
      expect(guest.ignitionUrl).toBe(`${appliance.publicUrl}/ignition/${machine.uuid}`);
      expectSerialLine(result, "Start HTTP Boot over IPv4");
      expectSerialLine(result, `URI: ${ukiUrl}`);
      // OVMF learns the size with HEAD before it downloads: a wrong Content-Length on HEAD breaks HTTP Boot.
      expectSerialLine(result, `File Size: ${ukiSize} Bytes`);
      const requests = servedRequests(appliance);
      expect(requests.filter((request) => request.startsWith("GET "))).toEqual(
        ["GET /httpboot 200", "GET /uki/http/test.efi 200", `GET /ignition/${machine.uuid} 200`].sort(),
      );
      expect(requests.filter((request) => !request.startsWith("GET ")).every((request) => request === "HEAD /uki/http/test.efi 200")).toBe(true);
      const metrics = await appliance.metrics();
      expect(milestoneCount(metrics, "httpboot")).toBe(1);
      expect(milestoneCount(metrics, "boot-file")).toBe(1);
      expect(milestoneCount(metrics, "ignition")).toBe(1);
    },
    TEST_TIMEOUT_MS,
  );

  /** Where each firmware shows that iPXE has given up and handed control back. */
  const IPXE_GAVE_UP: Record<"bios" | "uefi", (serial: string, from: number) => boolean> = {
    // SeaBIOS tries its other (empty) boot devices, prints this and halts.
    bios: (serial, from) => serial.indexOf("No bootable device", from) >= 0,
    // OVMF reports the iPXE boot option as failed and moves on to its own PXE/HTTP options (not this server's
    // business: they try the DHCP boot file once each over TFTP/HTTP, then the firmware stops in its shell).
    uefi: (serial, from) => serial.indexOf("BdsDxe: failed to load", from) >= 0,
  };

  for (const firmware of ["bios", "uefi"] as const) {
    test(
      `no config (${firmware}): /ipxe/{uuid} is a 404 and iPXE gives up after one try`,
      async () => {
        const machine = newMachine(`${firmware}-unknown`);
        const scenario = await startScenario(machine, () => []);
        const { appliance } = scenario;
        // How iPXE reports the 404 of the second stage.
        const notFound = `${appliance.publicUrl}/ipxe/${machine.uuid}... No such file or directory`;
        const result = await boot(scenario, {
          firmware,
          bootFileUrl: `${appliance.publicUrl}/ipxe`,
          stopWhen: (serial) => {
            const text = unwrapped(serial);
            const notFoundAt = text.indexOf(notFound);
            return notFoundAt >= 0 && IPXE_GAVE_UP[firmware](text, notFoundAt);
          },
        });

        expect(result.outcome, describeBoot(result)).toBe("stopped");
        expect(result.guest.initStarted).toBe(false);
        expectSerialLine(result, notFound);
        expect(servedRequests(appliance)).toEqual(["GET /ipxe 200", `GET /ipxe/${machine.uuid} 404`].sort());
        const metrics = await appliance.metrics();
        expect(milestoneCount(metrics, "ipxe-chainload")).toBe(1);
        expect(milestoneCount(metrics, "ipxe-script")).toBe(0);
        expect(bootRequestCount(metrics, "404")).toBe(1);
      },
      TEST_TIMEOUT_MS,
    );
  }
});
