// Fast checks of the e2e harness's pure parts: serial log parsing, the QEMU command line, logs and metrics parsing.
import { describe, expect, test } from "bun:test";
import { metricSum, parseJsonLogLines, parsePrometheusText, resourceDocument } from "./appliance.ts";
import {
  type BootMachineOptions,
  type BootResult,
  describeBoot,
  expectGuestFetchedIgnition,
  type GuestArtefacts,
  lastLines,
  parseGuestReport,
  qemuInvocation,
  stripTerminalControl,
} from "./qemu.ts";

const ARTEFACTS: GuestArtefacts = {
  key: "6.1.0-test-abc",
  kernelRelease: "6.1.0-test",
  kernel: "/cache/vmlinuz",
  initrd: "/cache/initrd.img",
  ukiStub: "/cache/linuxx64.efi.stub",
  osRelease: "/cache/os-release",
  ovmfCode: "/usr/share/OVMF/OVMF_CODE_4M.fd",
  ovmfVars: "/usr/share/OVMF/OVMF_VARS_4M.fd",
  qemu: "/usr/bin/qemu-system-x86_64",
};

const OPTIONS: BootMachineOptions = {
  firmware: "bios",
  uuid: "5f1fe9e3-7065-420e-acfc-d471d19247a7",
  mac: "52:54:00:34:07:15",
  bootFileUrl: "http://10.0.2.2:8082/ipxe",
  serialLogPath: "/tmp/serial.log",
  timeoutMs: 60_000,
};

const DIGEST = "71ddd7110d883861629def55bdf74e4c16660c72d4aef68d8f3d11479cc30c02";

describe("parseGuestReport", () => {
  test("reads the guest's BOOT-E2E lines among kernel messages and terminal escapes", () => {
    const serial = [
      "\x1b[2J\x1b[01;01HSeaBIOS (version 1.16.2)",
      "[    1.448143] Run /init as init process",
      "BOOT-E2E: init started kernel=6.1.0-56-amd64",
      "BOOT-E2E: cmdline console=ttyS0 ignition.config.url=http://10.0.2.2:1/ignition/${uuid}",
      "BOOT-E2E: smbios uuid=5f1fe9e3-7065-420e-acfc-d471d19247a7\r",
      "[    1.686410] ACPI: \\_SB_.LNKB: Enabled at IRQ 10",
      "BOOT-E2E: fetching ignition url=http://10.0.2.2:1/ignition/5f1fe9e3-7065-420e-acfc-d471d19247a7",
      `BOOT-E2E: ignition-fetched bytes=167 sha256=${DIGEST}`,
      "BOOT-E2E: done",
    ].join("\n");
    expect(parseGuestReport(serial)).toEqual({
      initStarted: true,
      cmdline: "console=ttyS0 ignition.config.url=http://10.0.2.2:1/ignition/${uuid}",
      smbiosUuid: "5f1fe9e3-7065-420e-acfc-d471d19247a7",
      ignitionUrl: "http://10.0.2.2:1/ignition/5f1fe9e3-7065-420e-acfc-d471d19247a7",
      ignitionBytes: 167,
      ignitionSha256: DIGEST,
      done: true,
    });
  });

  test("a marker glued to kernel output on the same line still counts", () => {
    expect(parseGuestReport("[    1.9] ACPI: PM: S5BOOT-E2E: done\n").done).toBe(true);
  });

  test("reports the guest's failure reason and no digest", () => {
    const report = parseGuestReport("BOOT-E2E: init started kernel=x\nBOOT-E2E: failed could not fetch http://x/ignition/1\n");
    expect(report.failure).toBe("could not fetch http://x/ignition/1");
    expect(report.done).toBe(false);
    expect(report.ignitionSha256).toBeUndefined();
  });

  test("nothing from the guest: not started, not done", () => {
    expect(parseGuestReport("iPXE 1.0.0\nNo bootable device.\n")).toEqual({ initStarted: false, done: false });
  });
});

describe("stripTerminalControl", () => {
  test("removes colour, cursor and reset sequences and carriage returns", () => {
    expect(stripTerminalControl("\x1bc\x1b[?7l\x1b[2J\x1b[0;1miPXE\x1b[0m ok\r\n\x1b[=3h")).toBe("iPXE ok\n");
  });

  test("applies backspaces, so a download's erased progress leaves the plain line", () => {
    expect(stripTerminalControl("http://h/test.efi... 91%\b\b\b\b    \b\b\b\b ok\r\n")).toBe("http://h/test.efi... ok\n");
  });
});

describe("lastLines", () => {
  test("keeps the last lines, ignoring the trailing newline", () => {
    expect(lastLines("a\nb\nc\nd\n", 2)).toBe("c\nd");
  });
});

describe("qemuInvocation", () => {
  const flagValue = (argv: string[], flag: string): string[] =>
    argv.flatMap((arg, index) => {
      const value = argv[index + 1];
      return arg === flag && value !== undefined ? [value] : [];
    });

  test("bios: SeaBIOS (no pflash), network boot first, TCG, the machine's identity, serial to the log file", () => {
    const { argv, varsTemplate } = qemuInvocation(OPTIONS, ARTEFACTS, "/scratch/vars.fd");
    expect(argv[0]).toBe(ARTEFACTS.qemu);
    expect(varsTemplate).toBeUndefined();
    expect(flagValue(argv, "-accel")).toEqual(["tcg"]);
    expect(flagValue(argv, "-uuid")).toEqual([OPTIONS.uuid]);
    expect(flagValue(argv, "-serial")).toEqual(["file:/tmp/serial.log"]);
    expect(flagValue(argv, "-netdev")).toEqual(["user,id=net0,bootfile=http://10.0.2.2:8082/ipxe"]);
    expect(flagValue(argv, "-device")).toEqual(["virtio-net-pci,netdev=net0,mac=52:54:00:34:07:15"]);
    expect(flagValue(argv, "-boot")).toEqual(["order=n"]);
    expect(flagValue(argv, "-drive")).toEqual([]);
    expect(argv).toContain("-no-reboot");
    expect(argv).toContain("-nographic");
  });

  test("uefi: OVMF code read-only and a private writable variable store; the NIC keeps its iPXE ROM", () => {
    const { argv, varsTemplate } = qemuInvocation({ ...OPTIONS, firmware: "uefi" }, ARTEFACTS, "/scratch/vars.fd");
    expect(varsTemplate).toBe(ARTEFACTS.ovmfVars);
    expect(flagValue(argv, "-drive")).toEqual([
      `if=pflash,format=raw,unit=0,readonly=on,file=${ARTEFACTS.ovmfCode}`,
      "if=pflash,format=raw,unit=1,file=/scratch/vars.fd",
    ]);
    expect(flagValue(argv, "-device")).toEqual(["virtio-net-pci,netdev=net0,mac=52:54:00:34:07:15"]);
    expect(flagValue(argv, "-fw_cfg")).toEqual([]);
  });

  test("uefi-http: no option ROM and OVMF's PXE turned off, so its own HTTP Boot runs first", () => {
    const { argv } = qemuInvocation({ ...OPTIONS, firmware: "uefi-http" }, ARTEFACTS, "/scratch/vars.fd");
    expect(flagValue(argv, "-device")).toEqual(["virtio-net-pci,netdev=net0,mac=52:54:00:34:07:15,romfile="]);
    expect(flagValue(argv, "-fw_cfg")).toEqual(["name=opt/org.tianocore/IPv4PXESupport,string=n", "name=opt/org.tianocore/IPv6PXESupport,string=n"]);
  });
});

describe("boot failures", () => {
  const timedOut: BootResult = {
    outcome: "timeout",
    qemuPid: 1234,
    wallTimeMs: 90_000,
    qemuExitCode: 0,
    serialLog: "line 1\nline 2\nConfiguring (net0 52:54:00:34:07:15)...... ok\n",
    serialLogPath: "/tmp/serial.log",
    guest: { initStarted: false, done: false },
  };

  test("describeBoot says what happened and ends with the serial log's tail", () => {
    const text = describeBoot(timedOut, 2);
    expect(text).toStartWith("boot timeout after 90.0s (qemu exit 0)");
    expect(text).toEndWith("line 2\nConfiguring (net0 52:54:00:34:07:15)...... ok");
    expect(text).not.toContain("line 1");
  });

  test("expectGuestFetchedIgnition throws with the tail when the boot did not finish", () => {
    expect(() => expectGuestFetchedIgnition(timedOut)).toThrow(/did not finish booting: boot timeout .*Configuring \(net0/s);
  });

  test("expectGuestFetchedIgnition returns the digest of a finished boot", () => {
    const done: BootResult = {
      ...timedOut,
      outcome: "guest-done",
      guest: { initStarted: true, done: true, ignitionSha256: DIGEST, ignitionBytes: 3 },
    };
    expect(expectGuestFetchedIgnition(done).ignitionSha256).toBe(DIGEST);
  });
});

describe("appliance logs and metrics", () => {
  test("parseJsonLogLines keeps JSON objects and wraps anything else", () => {
    const lines = parseJsonLogLines(
      '{"time":"t","level":"debug","msg":"request","method":"GET","path":"/ipxe","route":"/ipxe","status":200,"client":"127.0.0.1"}\n' +
        "panic: something\n\n[1,2]\n",
    );
    expect(lines).toEqual([
      { time: "t", level: "debug", msg: "request", method: "GET", path: "/ipxe", route: "/ipxe", status: 200, client: "127.0.0.1" },
      { msg: "panic: something" },
      { msg: "[1,2]" },
    ]);
  });

  test("parsePrometheusText reads samples with labels, escapes and timestamps", () => {
    const samples = parsePrometheusText(
      [
        "# HELP boot_operator_http_requests_total HTTP requests by route, method and status.",
        "# TYPE boot_operator_http_requests_total counter",
        'boot_operator_http_requests_total{route="/ipxe/:uuid",method="GET",status="404"} 1',
        'boot_operator_http_requests_total{route="/ipxe",method="GET",status="200"} 2 1700000000000',
        'boot_operator_boot_milestones_total{milestone="ignition",note="a \\"quoted\\" \\\\ value"} 3',
        "process_start_time_seconds 1.7e9",
      ].join("\n"),
    );
    expect(samples).toHaveLength(4);
    expect(samples[2]?.labels).toEqual({ milestone: "ignition", note: 'a "quoted" \\ value' });
    expect(samples[3]).toEqual({ name: "process_start_time_seconds", labels: {}, value: 1.7e9 });
    expect(metricSum(samples, "boot_operator_http_requests_total")).toBe(3);
    expect(metricSum(samples, "boot_operator_http_requests_total", { status: "404" })).toBe(1);
    expect(metricSum(samples, "boot_operator_boot_milestones_total", { milestone: "ipxe-script" })).toBe(0);
  });

  test("resourceDocument shapes configs and secrets like Kubernetes objects", () => {
    expect(resourceDocument({ kind: "Secret", name: "s", stringData: { ignition: "{}" } })).toEqual({
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "s", namespace: "default" },
      type: "Opaque",
      stringData: { ignition: "{}" },
    });
    expect(resourceDocument({ kind: "HTTPBootConfig", name: "h", spec: { systemUUID: OPTIONS.uuid, ukiURL: "http://x/uki/a.efi" } }, "fleet")).toEqual({
      apiVersion: "boot.ironcore.dev/v1alpha1",
      kind: "HTTPBootConfig",
      metadata: { name: "h", namespace: "fleet" },
      spec: { systemUUID: OPTIONS.uuid, ukiURL: "http://x/uki/a.efi" },
    });
  });
});
