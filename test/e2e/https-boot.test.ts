// End-to-end over HTTPS (--tls-listen) with real clients in QEMU against the compiled appliance:
//  - OVMF's own HTTPS Boot fetches the UKI from the TLS listener, trusting the CA list our /certs/edk2-cacerts hands
//    it (fw_cfg etc/edk2/https/cacerts); with the edk2-cacerts of an unrelated CA the handshake fails and no request
//    reaches the appliance. Debian's OVMF is built with TLS; QEMU's DHCP cannot hand out an https:// boot file
//    (ovmf-vars.ts), so the URL goes in as a one-shot boot entry. (Debian's iPXE ROMs have no HTTPS at all.)
//  - the guest fetches its Ignition over HTTPS with the boot token its iPXE script carried (--ignition-access
//    bound); the same UUID asked from another loopback address without the token is a 403.
//    What the guest verifies: nothing. busybox wget's built-in TLS prints "TLS certificate validation not
//    implemented" and accepts any certificate; the test proves the fetch went over TLS (the URL's port is the TLS
//    listener's, which speaks nothing else), not that the guest checked the chain.
// Each test runs its own appliance, so its logs and metrics belong to that one machine.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { edk2CaCerts } from "../../src/boot/trust-formats.ts";
import { makeTestPki, type TestPki } from "../harness/pki.ts";
import { eventually } from "../harness/wait.ts";
import { applianceBinary, type BootResource, freeLoopbackPort, metricSum, type RunningAppliance, startAppliance, writeResources } from "./appliance.ts";
import {
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

const BOOT_TIMEOUT_MS = Number(process.env.BOOT_E2E_TIMEOUT_MS ?? 150_000);
const TEST_TIMEOUT_MS = BOOT_TIMEOUT_MS + 60_000;
/** Another loopback source address: "some other host on the network" that knows the machine's UUID. */
const OTHER_HOST = "127.0.0.7";

let artefacts: GuestArtefacts;
let pki: TestPki;
/** The appliance's leaf: for the address the guest dials and for the test's own requests to 127.0.0.1. */
let leaf: ReturnType<TestPki["leaf"]>;
let workRoot = "";
let serialLogDir = "";
const appliances: RunningAppliance[] = [];
const wallTimes: string[] = [];

beforeAll(
  () => {
    artefacts = guestArtefacts();
    applianceBinary();
    const root = mkdtempSync(join(tmpdir(), "boot-e2e-https-"));
    workRoot = root;
    registerExitCleanup(() => rmSync(root, { recursive: true, force: true }));
    // RSA: EDK2's TLS (OpenSSL built without EC) handles nothing else. IP SANs: the guest's URLs name the host by
    // address (10.0.2.2, QEMU user-net's view of the host).
    pki = makeTestPki({ dir: join(root, "pki"), keyAlgorithm: "rsa-2048", leafSubjectAltNames: [`IP:${HOST_FROM_GUEST}`, "IP:127.0.0.1"] });
    leaf = pki.leaf("appliance");
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
    if (wallTimes.length > 0) console.log(`e2e https boot wall times: ${wallTimes.join(", ")}`);
    expect(runningQemuCount()).toBe(0);
  },
  { timeout: 60_000 },
);

interface Machine {
  name: string;
  uuid: string;
  mac: string;
}

function newMachine(name: string): Machine {
  const bytes = crypto.getRandomValues(new Uint8Array(3));
  const mac = ["52", "54", "00", ...Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0"))].join(":");
  return { name, uuid: crypto.randomUUID(), mac };
}

function sha256Hex(text: string): string {
  return new Bun.CryptoHasher("sha256").update(text).digest("hex");
}

function ignitionFor(machine: Machine): string {
  return JSON.stringify({
    ignition: { version: "3.3.0" },
    storage: { files: [{ path: "/etc/hostname", mode: 420, contents: { source: `data:,${machine.name}-${machine.uuid}` } }] },
  });
}

interface TlsScenario {
  appliance: RunningAppliance;
  /** The plain listener, as the guest reaches it (iPXE in Debian's ROMs has no HTTPS: "Operation not supported"). */
  plainFromGuest: string;
  /** The TLS listener, as the guest reaches it: also --public-url, so scripts hand out https:// URLs. */
  tlsFromGuest: string;
  /** The TLS listener from the host. */
  tlsFromHost: string;
  ukiDir: string;
}

/** An appliance with both listeners, --public-url on the TLS one, the e2e PKI's leaf; resources from `prepare`. */
async function startTlsScenario(
  machine: Machine,
  prepare: (context: { plainFromGuest: string; tlsFromGuest: string; ukiDir: string }) => BootResource[],
  extraArgs: string[] = [],
): Promise<TlsScenario> {
  const root = join(workRoot, machine.name);
  const resourcesDir = join(root, "resources");
  const ukiDir = join(root, "uki");
  mkdirSync(resourcesDir, { recursive: true });
  mkdirSync(ukiDir, { recursive: true });
  const port = freeLoopbackPort();
  const tlsPort = freeLoopbackPort();
  const plainFromGuest = `http://${HOST_FROM_GUEST}:${port}`;
  const tlsFromGuest = `https://${HOST_FROM_GUEST}:${tlsPort}`;
  writeResources(resourcesDir, `${machine.name}.yaml`, prepare({ plainFromGuest, tlsFromGuest, ukiDir }));
  const appliance = await startAppliance({
    resourcesDir,
    ukiDir,
    port,
    publicUrl: tlsFromGuest,
    extraArgs: ["--tls-listen", `127.0.0.1:${tlsPort}`, "--tls-cert-file", leaf.cert, "--tls-key-file", leaf.key, ...extraArgs],
  });
  appliances.push(appliance);
  return { appliance, plainFromGuest, tlsFromGuest, tlsFromHost: `https://127.0.0.1:${tlsPort}`, ukiDir };
}

async function recordBoot(name: string, boot: Promise<BootResult>): Promise<BootResult> {
  const result = await boot;
  wallTimes.push(`${name} ${(result.wallTimeMs / 1000).toFixed(1)}s (${result.outcome})`);
  expect(runningQemuCount()).toBe(0);
  return result;
}

/** curl from a chosen loopback source address, verifying the server against the e2e root. */
function curlFrom(sourceAddress: string, url: string): { status: number; body: string } {
  const curl = Bun.spawnSync(
    ["curl", "--silent", "--show-error", "--interface", sourceAddress, "--cacert", pki.rootCert, "--output", "-", "--write-out", "\n%{http_code}", url],
    { stdout: "pipe", stderr: "pipe" },
  );
  if (curl.exitCode !== 0) throw new Error(`curl ${url} from ${sourceAddress} failed (exit ${curl.exitCode}): ${curl.stderr.toString()}`);
  const output = curl.stdout.toString();
  const split = output.lastIndexOf("\n");
  return { status: Number(output.slice(split + 1)), body: output.slice(0, split) };
}

function servedRequests(appliance: RunningAppliance): string[] {
  return appliance
    .requests()
    .filter((line) => !["/readyz", "/healthz", "/metrics"].includes(String(line.path)))
    .map((line) => `${String(line.method)} ${String(line.path)} ${String(line.status)} ${String(line.client)}`)
    .sort();
}

describe("HTTPS boot in QEMU against the appliance's --tls-listen", () => {
  test(
    "bound Ignition over HTTPS: the guest's fetch with its script's token succeeds, another address without it gets 403",
    async () => {
      const machine = newMachine("bios-https-ignition");
      const ignition = ignitionFor(machine);
      const scenario = await startTlsScenario(
        machine,
        ({ plainFromGuest, ukiDir }): BootResource[] => {
          mkdirSync(join(ukiDir, "bios"));
          copyFileSync(artefacts.kernel, join(ukiDir, "bios/vmlinuz"));
          copyFileSync(artefacts.initrd, join(ukiDir, "bios/initrd.img"));
          return [
            { kind: "Secret", name: "https-ignition", stringData: { ignition } },
            {
              kind: "IPXEBootConfig",
              name: "https-machine",
              spec: {
                systemUUID: machine.uuid,
                // iPXE fetches kernel and initrd over plain HTTP (absolute URLs); only Linux talks TLS.
                kernelURL: `${plainFromGuest}/uki/bios/vmlinuz`,
                initrdURL: `${plainFromGuest}/uki/bios/initrd.img`,
                ignitionSecretRef: { name: "https-ignition" },
              },
            },
          ];
        },
        ["--ignition-access", "bound"],
      );
      const { appliance } = scenario;
      // The DHCP boot file is the machine's own script: /ipxe would chain to --public-url, which is https://.
      const result = await recordBoot(
        machine.name,
        bootMachine({
          firmware: "bios",
          uuid: machine.uuid,
          mac: machine.mac,
          bootFileUrl: `${scenario.plainFromGuest}/ipxe/${machine.uuid}`,
          serialLogPath: join(serialLogDir, `${machine.name}.log`),
          timeoutMs: BOOT_TIMEOUT_MS,
        }),
      );
      const guest = expectGuestFetchedIgnition(result);

      expect(guest.ignitionSha256, describeBoot(result)).toBe(sha256Hex(ignition));
      // The URL came from the script: the TLS listener, with the token issued to this machine's script fetch.
      const ignitionUrl = guest.ignitionUrl ?? "";
      expect(ignitionUrl).toStartWith(`${scenario.tlsFromGuest}/ignition/${machine.uuid}?token=`);
      // busybox wget took the TLS path, and says itself that it checked no certificate.
      expect(result.serialLog).toContain("wget: note: TLS certificate validation not implemented");
      const token = new URL(ignitionUrl).searchParams.get("token") ?? "";
      expect(token.length).toBeGreaterThan(20);
      // QEMU's user-mode network connects from the host's 127.0.0.1 for the guest.
      expect(servedRequests(appliance)).toEqual(
        [
          `GET /ipxe/${machine.uuid} 200 127.0.0.1`,
          "GET /uki/bios/vmlinuz 200 127.0.0.1",
          "GET /uki/bios/initrd.img 200 127.0.0.1",
          `GET /ignition/${machine.uuid} 200 127.0.0.1`,
        ].sort(),
      );

      // Someone else who knows the UUID, over the same verified TLS, without the token: refused.
      const stranger = curlFrom(OTHER_HOST, `${scenario.tlsFromHost}/ignition/${machine.uuid}`);
      expect(stranger.status).toBe(403);
      expect(stranger.body).not.toContain(machine.uuid);
      // The request log line is written after the answer went out.
      const refusal = `GET /ignition/${machine.uuid} 403 ${OTHER_HOST}`;
      await eventually(async () => servedRequests(appliance).includes(refusal), `the appliance to log ${refusal}`, 5_000);
      const metrics = await appliance.metrics();
      expect(metricSum(metrics, "boot_operator_boot_milestones_total", { milestone: "ignition" })).toBe(1);
    },
    TEST_TIMEOUT_MS,
  );
  /** An HTTPBootConfig for a UKI on the TLS listener whose embedded command line fetches Ignition over HTTPS. */
  async function startUkiOverTls(machine: Machine, ignition: string): Promise<TlsScenario & { ukiUrl: string; ukiSize: number }> {
    let ukiUrl = "";
    let ukiSize = 0;
    const scenario = await startTlsScenario(machine, ({ tlsFromGuest, ukiDir }): BootResource[] => {
      const ukiPath = join(ukiDir, "https/test.efi");
      buildUki(artefacts, `console=ttyS0 panic=1 boot_e2e.cmdline=uki ignition.config.url=${tlsFromGuest}/ignition/\${uuid}`, ukiPath);
      ukiSize = statSync(ukiPath).size;
      ukiUrl = `${tlsFromGuest}/uki/https/test.efi`;
      return [
        { kind: "Secret", name: "uki-ignition", stringData: { ignition } },
        {
          kind: "HTTPBootConfig",
          name: "uki-machine",
          spec: { systemUUID: machine.uuid, networkIdentifiers: [machine.mac], ukiURL: ukiUrl, ignitionSecretRef: { name: "uki-ignition" } },
        },
      ];
    });
    return { ...scenario, ukiUrl, ukiSize };
  }

  function ovmfHttpsBoot(machine: Machine, ukiUrl: string, edk2CaCertsPath: string, stopWhen?: (serial: string) => boolean): Promise<BootResult> {
    return recordBoot(
      machine.name,
      bootMachine({
        firmware: "uefi-https",
        uuid: machine.uuid,
        mac: machine.mac,
        bootFileUrl: ukiUrl,
        edk2CaCertsPath,
        serialLogPath: join(serialLogDir, `${machine.name}.log`),
        timeoutMs: BOOT_TIMEOUT_MS,
        ...(stopWhen ? { stopWhen } : {}),
      }),
    );
  }

  test(
    "OVMF HTTPS Boot: the UKI over --tls-listen, verified against the CA list from our /certs/edk2-cacerts",
    async () => {
      const machine = newMachine("ovmf-https-boot");
      const ignition = ignitionFor(machine);
      const scenario = await startUkiOverTls(machine, ignition);
      const { appliance } = scenario;
      // What an operator would hand the firmware: our own answer, byte for byte.
      const cacerts = await fetch(`${appliance.hostUrl}/certs/edk2-cacerts`);
      expect(cacerts.status).toBe(200);
      const cacertsPath = join(workRoot, machine.name, "edk2-cacerts");
      writeFileSync(cacertsPath, new Uint8Array(await cacerts.arrayBuffer()));

      const result = await ovmfHttpsBoot(machine, scenario.ukiUrl, cacertsPath);
      const guest = expectGuestFetchedIgnition(result);

      expect(guest.ignitionSha256, describeBoot(result)).toBe(sha256Hex(ignition));
      expect(guest.cmdline).toContain("boot_e2e.cmdline=uki");
      expect(guest.ignitionUrl).toBe(`${scenario.tlsFromGuest}/ignition/${machine.uuid}`);
      expect(result.serialLog).toContain("Start HTTP Boot over IPv4");
      expect(result.serialLog).toContain(`URI: ${scenario.ukiUrl}`);
      expect(result.serialLog).toContain(`File Size: ${scenario.ukiSize} Bytes`);
      expect(result.serialLog).toContain('BdsDxe: starting Boot0100 "boot-operator e2e HTTPS Boot"');
      const requests = servedRequests(appliance);
      expect(requests.filter((request) => request.startsWith("GET "))).toEqual(
        ["GET /certs/edk2-cacerts 200 127.0.0.1", "GET /uki/https/test.efi 200 127.0.0.1", `GET /ignition/${machine.uuid} 200 127.0.0.1`].sort(),
      );
      expect(requests.filter((request) => !request.startsWith("GET ")).every((request) => request === "HEAD /uki/https/test.efi 200 127.0.0.1")).toBe(true);
      const metrics = await appliance.metrics();
      expect(metricSum(metrics, "boot_operator_boot_milestones_total", { milestone: "boot-file" })).toBe(1);
      expect(metricSum(metrics, "boot_operator_boot_milestones_total", { milestone: "ignition" })).toBe(1);
    },
    TEST_TIMEOUT_MS,
  );

  test(
    "OVMF HTTPS Boot with the edk2-cacerts of another CA: the handshake fails, no request reaches the appliance",
    async () => {
      const machine = newMachine("ovmf-https-wrong-ca");
      const scenario = await startUkiOverTls(machine, ignitionFor(machine));
      const { appliance } = scenario;
      const cacertsPath = join(workRoot, machine.name, "other-edk2-cacerts");
      writeFileSync(cacertsPath, edk2CaCerts([pki.der(pki.otherRootCert)]));

      // The boot entry fails and the firmware moves on (its report of the failure, or the next HTTP Boot attempt from
      // its own boot order): no need to wait for the boot timeout.
      const failed = 'BdsDxe: failed to load Boot0100 "boot-operator e2e HTTPS Boot"';
      const attempts = (serial: string): number => serial.split("Start HTTP Boot over IPv4").length - 1;
      const result = await ovmfHttpsBoot(machine, scenario.ukiUrl, cacertsPath, (serial) => serial.includes(failed) || attempts(serial) >= 2);

      expect(result.outcome, describeBoot(result)).toBe("stopped");
      expect(result.guest.initStarted).toBe(false);
      expect(result.serialLog).toContain(`URI: ${scenario.ukiUrl}`);
      // How EDK2 reports the refused handshake: its HEAD for the size never got an answer.
      expect(result.serialLog).toContain("Error: Could not retrieve NBP file size from HTTP server.");
      expect(result.serialLog).toContain(failed);
      expect(result.serialLog).not.toContain("File Size:");
      // Not even the HEAD: TLS ended before any HTTP.
      expect(servedRequests(appliance).filter((request) => request.includes("/uki/") || request.includes("/ignition/"))).toEqual([]);
      expect(metricSum(await appliance.metrics(), "boot_operator_boot_milestones_total", { milestone: "boot-file" })).toBe(0);
    },
    TEST_TIMEOUT_MS,
  );
});
