// Boots real network-boot clients in QEMU for the end-to-end tests: SeaBIOS + the iPXE ROM, OVMF + the iPXE EFI
// ROM, or OVMF's own HTTP Boot. Software emulation (TCG), user-mode networking (the guest reaches the host's
// loopback as 10.0.2.2), serial console to a file, a hard timeout, and no QEMU left behind.
//
// The guest is Debian's kernel with a busybox initrd (scripts/e2e/guest-init.sh) that fetches Ignition and
// prints "BOOT-E2E: …" lines; scripts/ensure/e2e.sh builds it and describes it in <cache>/e2e/current.json.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Subprocess } from "bun";
import * as v from "valibot";
import { httpBootDevicePath, withOneShotBoot } from "./ovmf-vars.ts";

const REPO_ROOT = resolve(import.meta.dir, "../..");
const ENSURE_SCRIPT = join(REPO_ROOT, "scripts/ensure/e2e.sh");
const BUILD_UKI_SCRIPT = join(REPO_ROOT, "scripts/e2e/build-uki.sh");

/** QEMU's user-mode network: the address at which the guest reaches the host's loopback. */
export const HOST_FROM_GUEST = "10.0.2.2";

/** Prefix of every line the test guest's /init writes to the serial port. */
export const GUEST_MARKER = "BOOT-E2E:";

// ---------------------------------------------------------------------------------------------------------------
// Artefacts built by scripts/ensure/e2e.sh

const ArtefactManifestSchema = v.object({
  key: v.string(),
  kernelRelease: v.string(),
  kernel: v.string(),
  initrd: v.string(),
  ukiStub: v.string(),
  osRelease: v.string(),
  ovmfCode: v.string(),
  ovmfVars: v.string(),
  qemu: v.string(),
});
export type GuestArtefacts = v.InferOutput<typeof ArtefactManifestSchema>;

export function e2eCacheDir(): string {
  return join(process.env.BOOT_OPERATOR_CACHE ?? join(homedir(), ".cache/boot-operator"), "e2e");
}

/**
 * This test process's folder for serial logs. Per process, because two runs at once (two checkouts on one machine)
 * would otherwise truncate each other's logs and each read the other's boot; folders of processes that are gone are
 * removed, so only live runs' and the last run's logs stay.
 */
export function serialLogDir(): string {
  const root = join(e2eCacheDir(), "serial-logs");
  mkdirSync(root, { recursive: true });
  for (const entry of readdirSync(root)) {
    const pid = /^run-(\d+)$/.exec(entry)?.[1];
    if (pid === undefined || Number(pid) === process.pid) continue;
    if (!processAlive(Number(pid))) rmSync(join(root, entry), { recursive: true, force: true });
  }
  const dir = join(root, `run-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

let cachedArtefacts: GuestArtefacts | undefined;

/**
 * Runs the (idempotent, fast when cached) ensure script once per test process and returns what it built. Throws
 * (so the test fails, never skips) when a tool or artefact is missing.
 */
export function guestArtefacts(): GuestArtefacts {
  if (cachedArtefacts) return cachedArtefacts;
  const ensure = Bun.spawnSync(["bash", ENSURE_SCRIPT], { stdout: "pipe", stderr: "pipe" });
  if (ensure.exitCode !== 0) {
    throw new Error(`scripts/ensure/e2e.sh failed (exit ${ensure.exitCode}):\n${lastLines(ensure.stderr.toString(), 30)}`);
  }
  const manifestPath = join(e2eCacheDir(), "current.json");
  const manifest = v.parse(ArtefactManifestSchema, JSON.parse(readFileSync(manifestPath, "utf8")));
  for (const [name, path] of Object.entries(manifest)) {
    if (name !== "key" && name !== "kernelRelease" && !existsSync(path)) {
      throw new Error(`e2e artefact ${name} is missing at ${path} (listed in ${manifestPath})`);
    }
  }
  cachedArtefacts = manifest;
  return manifest;
}

/** Builds a UKI (systemd-boot stub + objcopy sections) from the guest kernel and initrd with this command line. */
export function buildUki(artefacts: GuestArtefacts, cmdline: string, outPath: string): void {
  const build = Bun.spawnSync(["bash", BUILD_UKI_SCRIPT, artefacts.ukiStub, artefacts.osRelease, artefacts.kernel, artefacts.initrd, cmdline, outPath], {
    stdout: "pipe",
    stderr: "pipe",
  });
  if (build.exitCode !== 0) throw new Error(`build-uki.sh failed (exit ${build.exitCode}): ${build.stderr.toString()}`);
}

// ---------------------------------------------------------------------------------------------------------------
// What the guest reported on the serial console

export interface GuestReport {
  /** The guest's /init ran (the kernel and initrd were loaded and Linux started). */
  initStarted: boolean;
  /** The kernel command line the guest booted with (/proc/cmdline). */
  cmdline?: string;
  /** UUID the guest read from SMBIOS (/sys/class/dmi/id/product_uuid). */
  smbiosUuid?: string;
  ignitionUrl?: string;
  ignitionBytes?: number;
  ignitionSha256?: string;
  /** The guest fetched Ignition and is powering off. */
  done: boolean;
  /** Why the guest gave up, when it did. */
  failure?: string;
}

export function parseGuestReport(serialLog: string): GuestReport {
  const report: GuestReport = { initStarted: false, done: false };
  for (const rawLine of stripTerminalControl(serialLog).split("\n")) {
    const at = rawLine.indexOf(GUEST_MARKER);
    if (at < 0) continue;
    const line = rawLine.slice(at + GUEST_MARKER.length).trim();
    if (line.startsWith("init started")) report.initStarted = true;
    else if (line.startsWith("cmdline ")) report.cmdline = line.slice("cmdline ".length);
    else if (line.startsWith("smbios uuid=")) report.smbiosUuid = line.slice("smbios uuid=".length);
    else if (line.startsWith("fetching ignition url=")) report.ignitionUrl = line.slice("fetching ignition url=".length);
    else if (line.startsWith("ignition-fetched ")) {
      const bytes = /\bbytes=(\d+)/.exec(line)?.[1];
      const sha256 = /\bsha256=([0-9a-f]{64})\b/.exec(line)?.[1];
      if (bytes !== undefined) report.ignitionBytes = Number(bytes);
      if (sha256 !== undefined) report.ignitionSha256 = sha256;
    } else if (line === "done") report.done = true;
    else if (line.startsWith("failed")) report.failure = line.slice("failed".length).trim();
  }
  return report;
}

/** Removes ANSI/VT100 escape sequences and carriage returns that firmware and iPXE print. */
export function stripTerminalControl(text: string): string {
  const plain = text
    // CSI sequences (colours, cursor movement, "ESC[=3h"), then two-character escapes such as "ESC c".
    // biome-ignore lint/suspicious/noControlCharactersInRegex: matching ESC (0x1b) is the point of this pattern
    .replace(/\x1b\[[0-9;=?]*[A-Za-z]/g, "")
    // biome-ignore lint/suspicious/noControlCharactersInRegex: matching ESC (0x1b) is the point of this pattern
    .replace(/\x1b[@-Z\\-_a-z]/g, "")
    .replace(/\r/g, "");
  return applyBackspaces(plain);
}

/** A backspace erases the character before it on its line: iPXE draws and erases "45%" while a download is slow. */
function applyBackspaces(text: string): string {
  if (!text.includes("\b")) return text;
  const kept: string[] = [];
  for (const char of text) {
    if (char !== "\b") kept.push(char);
    else if (kept.length > 0 && kept[kept.length - 1] !== "\n") kept.pop();
  }
  return kept.join("");
}

export function lastLines(text: string, count: number): string {
  const lines = text.split("\n").filter((line, index, all) => line.trim() !== "" || index < all.length - 1);
  return lines.slice(-count).join("\n");
}

// ---------------------------------------------------------------------------------------------------------------
// Booting a machine

/**
 * bios: SeaBIOS, which runs the iPXE ROM of the virtio NIC. uefi: OVMF, which runs the iPXE EFI driver of the
 * NIC's ROM. uefi-http: OVMF without any option ROM, booting through its own HTTP Boot (DHCP boot file = URL).
 * uefi-https: the same with an https:// URL, handed over as a one-shot boot entry in OVMF's variables (QEMU's DHCP
 * cannot: see ovmf-vars.ts), and the CA list OVMF trusts from `edk2CaCertsPath`.
 */
export type Firmware = "bios" | "uefi" | "uefi-http" | "uefi-https";

/** With -nodefaults the NIC is the first device after the host bridge: PciRoot(0x0)/Pci(0x2,0x0). */
const NIC_PCI_DEVICE = 2;

export interface BootMachineOptions {
  firmware: Firmware;
  /** SMBIOS system UUID (QEMU -uuid); iPXE's ${uuid} and Linux's product_uuid show it in this same order. */
  uuid: string;
  mac: string;
  /** DHCP boot file handed out by QEMU's user-mode DHCP: an iPXE script URL, or the EFI image for uefi-http. */
  bootFileUrl: string;
  serialLogPath: string;
  timeoutMs: number;
  /** Ends the boot once the serial log satisfies this; by default when the guest reports done or failed. */
  stopWhen?: (serialLog: string) => boolean;
  memoryMiB?: number;
  /** uefi-https: EFI_SIGNATURE_LIST file (our /certs/edk2-cacerts) for fw_cfg etc/edk2/https/cacerts. */
  edk2CaCertsPath?: string;
}

export type BootOutcome =
  /** The guest fetched Ignition and reported done. */
  | "guest-done"
  /** The guest's /init reported a failure. */
  | "guest-failed"
  /** The caller's stopWhen matched; QEMU was stopped. */
  | "stopped"
  /** QEMU exited on its own before any of the above (power-off, reboot with -no-reboot, crash). */
  | "qemu-exited"
  | "timeout";

export interface BootResult {
  outcome: BootOutcome;
  /** QEMU's own pid (from -pidfile), so a test can check that it is gone. */
  qemuPid: number | undefined;
  wallTimeMs: number;
  qemuExitCode: number | null;
  /** The serial log with terminal control sequences removed. */
  serialLog: string;
  serialLogPath: string;
  guest: GuestReport;
}

export interface QemuInvocation {
  argv: string[];
  /** OVMF's variable store must be writable: a private copy per boot, made from this template. */
  varsTemplate?: string;
}

const DEFAULT_STOP = (serialLog: string): boolean => serialLog.includes(`${GUEST_MARKER} done`) || serialLog.includes(`${GUEST_MARKER} failed`);

/** The QEMU command line for one boot (pure, so it can be unit tested). */
export function qemuInvocation(options: BootMachineOptions, artefacts: GuestArtefacts, varsPath: string): QemuInvocation {
  // uefi-https takes its URL from the variable store; a boot file in the offer would only be a second, wrong one.
  const netdev = ["user", "id=net0", ...(options.firmware === "uefi-https" ? [] : [`bootfile=${options.bootFileUrl}`])].join(",");
  const nic = ["virtio-net-pci", "netdev=net0", `mac=${options.mac}`];
  const argv = [
    artefacts.qemu,
    "-machine",
    "pc",
    "-accel",
    "tcg",
    "-smp",
    "1",
    "-m",
    String(options.memoryMiB ?? 512),
    // -nographic mirrors SeaBIOS's and iPXE's text output to the serial port; no monitor, no default devices.
    "-nodefaults",
    "-nographic",
    "-monitor",
    "none",
    "-serial",
    `file:${options.serialLogPath}`,
    "-no-reboot",
    "-uuid",
    options.uuid,
    "-netdev",
    netdev,
  ];
  if (options.firmware === "bios") {
    argv.push("-device", nic.join(","), "-boot", "order=n");
    return { argv };
  }
  argv.push("-drive", `if=pflash,format=raw,unit=0,readonly=on,file=${artefacts.ovmfCode}`, "-drive", `if=pflash,format=raw,unit=1,file=${varsPath}`);
  if (options.firmware === "uefi-http" || options.firmware === "uefi-https") {
    // No option ROM: OVMF's own virtio-net driver and network stack. Skipping its PXE entries (which time out
    // against QEMU's TFTP-less DHCP) takes HTTP Boot from ~80 s to ~13 s.
    nic.push("romfile=");
    argv.push("-fw_cfg", "name=opt/org.tianocore/IPv4PXESupport,string=n", "-fw_cfg", "name=opt/org.tianocore/IPv6PXESupport,string=n");
  }
  if (options.firmware === "uefi-https") {
    if (!options.edk2CaCertsPath) throw new Error("uefi-https needs edk2CaCertsPath (the CA list OVMF verifies the server with)");
    // OVMF's TLS setup reads this fw_cfg name (QEMU warns that it lacks the opt/ prefix; OVMF wants it so).
    argv.push("-fw_cfg", `name=etc/edk2/https/cacerts,file=${options.edk2CaCertsPath}`);
  }
  argv.push("-device", nic.join(","));
  return { argv, varsTemplate: artefacts.ovmfVars };
}

/** QEMU runs under `timeout`; the map holds the wrapper and the scratch dir with the pid file QEMU writes. */
const runningQemus = new Map<Subprocess, { pidFile: string; scratch: string }>();
let exitHookInstalled = false;

function killQemuNow(wrapper: Subprocess, pidFile: string): void {
  const qemuPid = readPid(pidFile);
  if (qemuPid !== undefined) {
    try {
      process.kill(qemuPid, "SIGKILL");
    } catch {
      // Already gone.
    }
  }
  wrapper.kill("SIGKILL");
}

function readPid(pidFile: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(pidFile, "utf8").trim(), 10);
    return Number.isInteger(pid) && pid > 1 ? pid : undefined;
  } catch {
    return undefined;
  }
}

const exitCleanups: (() => void)[] = [];

/**
 * Runs `cleanup` (synchronously) when the test process exits, normally or by SIGINT/SIGTERM/SIGHUP, so no child
 * outlives it. (A SIGKILLed test process runs nothing: `timeout` still ends QEMU at its hard limit.)
 */
export function registerExitCleanup(cleanup: () => void): void {
  if (exitCleanups.length === 0) {
    const runAll = (): void => {
      for (const each of exitCleanups.splice(0)) each();
    };
    process.on("exit", runAll);
    for (const [signal, code] of [
      ["SIGINT", 130],
      ["SIGTERM", 143],
      ["SIGHUP", 129],
    ] as const) {
      process.once(signal, () => {
        runAll();
        process.exit(code);
      });
    }
  }
  exitCleanups.push(cleanup);
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  registerExitCleanup(() => {
    for (const [wrapper, { pidFile, scratch }] of runningQemus) {
      killQemuNow(wrapper, pidFile);
      rmSync(scratch, { recursive: true, force: true });
    }
  });
}

/** Number of QEMU processes this harness started that are still running (tests assert it is zero). */
export function runningQemuCount(): number {
  return runningQemus.size;
}

const POLL_INTERVAL_MS = 200;
/** After the guest says done it powers off by itself; give it this long before killing QEMU. */
const POWER_OFF_GRACE_MS = 5_000;

export async function bootMachine(options: BootMachineOptions): Promise<BootResult> {
  const artefacts = guestArtefacts();
  installExitHook();
  const scratch = mkdtempSync(join(tmpdir(), "boot-e2e-"));
  const varsPath = join(scratch, "OVMF_VARS.fd");
  const pidFile = join(scratch, "qemu.pid");
  const invocation = qemuInvocation(options, artefacts, varsPath);
  if (invocation.varsTemplate) copyFileSync(invocation.varsTemplate, varsPath);
  if (options.firmware === "uefi-https") {
    const bootPath = httpBootDevicePath({ pciDevice: NIC_PCI_DEVICE, mac: options.mac }, options.bootFileUrl);
    writeFileSync(varsPath, withOneShotBoot(readFileSync(varsPath), bootPath));
  }
  rmSync(options.serialLogPath, { force: true });

  const stopWhen = options.stopWhen ?? DEFAULT_STOP;
  const started = performance.now();
  // `timeout` is a second line of defence: should this test process be killed outright, QEMU still ends.
  const hardLimitSeconds = Math.ceil(options.timeoutMs / 1000) + 30;
  const qemu = Bun.spawn(["timeout", "--kill-after=5", String(hardLimitSeconds), ...invocation.argv, "-pidfile", pidFile], {
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  runningQemus.set(qemu, { pidFile, scratch });
  const stdout = new Response(qemu.stdout).text();
  const stderr = new Response(qemu.stderr).text();

  const readSerial = (): string => {
    try {
      return readFileSync(options.serialLogPath, "utf8");
    } catch {
      return "";
    }
  };

  let timedOut = false;
  let stopConditionMet = false;
  let qemuPid: number | undefined;
  try {
    const deadline = started + options.timeoutMs;
    while (qemu.exitCode === null && qemu.signalCode === null) {
      // The serial log is a file: it is polled, while QEMU's exit ends the wait at once.
      const raceResult = await Promise.race([qemu.exited.then(() => "exited" as const), Bun.sleep(POLL_INTERVAL_MS).then(() => "tick" as const)]);
      // QEMU removes its pid file when it exits: remember the pid while it is there.
      qemuPid ??= readPid(pidFile);
      if (raceResult === "exited") break;
      const serial = stripTerminalControl(readSerial());
      if (stopWhen(serial)) {
        stopConditionMet = true;
        break;
      }
      if (performance.now() > deadline) {
        timedOut = true;
        break;
      }
    }
    if (stopConditionMet && parseGuestReport(readSerial()).done) {
      // The guest powers off right after "done"; let QEMU end by itself so a clean exit is observed.
      await Promise.race([qemu.exited, Bun.sleep(POWER_OFF_GRACE_MS)]);
    }
  } finally {
    qemuPid ??= readPid(pidFile);
    await stopQemu(qemu, pidFile);
    runningQemus.delete(qemu);
    rmSync(scratch, { recursive: true, force: true });
  }
  const wallTimeMs = Math.round(performance.now() - started);
  await Promise.all([stdout, stderr]);
  const qemuStderr = (await stderr).trim();

  const serialLog = stripTerminalControl(readSerial()) + (qemuStderr ? `\n[qemu stderr] ${qemuStderr}\n` : "");
  const guest = parseGuestReport(serialLog);
  let outcome: BootOutcome;
  if (guest.done) outcome = "guest-done";
  else if (guest.failure !== undefined) outcome = "guest-failed";
  else if (stopConditionMet) outcome = "stopped";
  else if (timedOut) outcome = "timeout";
  else outcome = "qemu-exited";
  return { outcome, qemuPid, wallTimeMs, qemuExitCode: qemu.exitCode, serialLog, serialLogPath: options.serialLogPath, guest };
}

async function stopQemu(wrapper: Subprocess, pidFile: string): Promise<void> {
  if (wrapper.exitCode !== null || wrapper.signalCode !== null) return;
  // SIGTERM to `timeout` is forwarded to QEMU, which quits at once; SIGKILL both if that did not work.
  wrapper.kill("SIGTERM");
  const exited = await Promise.race([wrapper.exited.then(() => true), Bun.sleep(3_000).then(() => false)]);
  if (!exited) {
    killQemuNow(wrapper, pidFile);
    await wrapper.exited;
  }
}

/** A readable failure: what happened and the end of the serial log. */
export function describeBoot(result: BootResult, tailLines = 40): string {
  const seconds = (result.wallTimeMs / 1000).toFixed(1);
  const reason = result.guest.failure ? `; guest reported: ${result.guest.failure}` : "";
  return (
    `boot ${result.outcome} after ${seconds}s (qemu exit ${result.qemuExitCode ?? "signal"})${reason}\n` +
    `serial log ${result.serialLogPath}, last ${tailLines} lines:\n${lastLines(result.serialLog, tailLines)}`
  );
}

/** The guest's report when it fetched Ignition; otherwise throws with the tail of the serial log. */
export function expectGuestFetchedIgnition(result: BootResult): GuestReport & { ignitionSha256: string } {
  const { guest } = result;
  if (result.outcome !== "guest-done" || guest.ignitionSha256 === undefined) {
    throw new Error(`the guest did not finish booting: ${describeBoot(result)}`);
  }
  return { ...guest, ignitionSha256: guest.ignitionSha256 };
}
