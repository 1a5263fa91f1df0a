// The synthetic fleet: N machines, each an IPXEBootConfig + HTTPBootConfig + ignition Secret. Deterministic (same
// N → same UUIDs, IPs, MACs) so runs compare; even machines carry raw Ignition JSON, odd ones Butane (`fcos`).
import { mkdir, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";

export const BENCH_NAMESPACE = "bench";
const KERNEL_PATH = "/uki/vmlinuz";
export const UKI_FILE_NAME = "fleet.efi";

export interface Machine {
  index: number;
  name: string;
  uuid: string;
  ip: string;
  mac: string;
  ignitionFormat: "ignition" | "fcos";
}

function hex(value: number, digits: number): string {
  return value.toString(16).padStart(digits, "0");
}

/** splitmix32: a cheap, well-mixed, seedable sequence (the UUIDs should not share long prefixes). */
function mix(seed: number): number {
  let z = (seed + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

function machineAt(index: number): Machine {
  const a = mix(index * 4 + 1);
  const b = mix(index * 4 + 2);
  const c = mix(index * 4 + 3);
  // Version-4 layout; the low bits of the last group carry the index, so UUIDs never collide.
  const uuid = `${hex(a, 8)}-${hex(b >>> 16, 4)}-4${hex(b & 0xfff, 3)}-${hex(0x8000 | (c >>> 18), 4)}-${hex(c & 0xffff, 4)}${hex(index, 8)}`;
  const host = index + 1; // 10.64.0.1, 10.64.0.2, … (never .0 of the /10)
  const ip = `10.${64 + ((host >>> 16) & 0x3f)}.${(host >>> 8) & 0xff}.${host & 0xff}`;
  const mac = `02:b0:07:${hex((index >>> 16) & 0xff, 2)}:${hex((index >>> 8) & 0xff, 2)}:${hex(index & 0xff, 2)}`;
  return {
    index,
    name: `machine-${String(index).padStart(5, "0")}`,
    uuid,
    ip,
    mac,
    ignitionFormat: index % 2 === 0 ? "ignition" : "fcos",
  };
}

export function fleet(count: number): Machine[] {
  return Array.from({ length: count }, (_, index) => machineAt(index));
}

const SSH_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGdHvkfsQYrWyHZxsEYh8M1XU4kFv9jP4kOyqSDL6vGn operator@example";

function rawIgnition(machine: Machine): string {
  return JSON.stringify({
    ignition: { version: "3.4.0" },
    passwd: { users: [{ name: "core", sshAuthorizedKeys: [SSH_KEY] }] },
    storage: { files: [{ path: "/etc/hostname", mode: 420, contents: { source: `data:,${machine.name}` } }] },
  });
}

function butane(machine: Machine): string {
  return [
    "variant: fcos",
    "version: 1.5.0",
    "passwd:",
    "  users:",
    "    - name: core",
    "      ssh_authorized_keys:",
    `        - ${SSH_KEY}`,
    "storage:",
    "  files:",
    "    - path: /etc/hostname",
    "      mode: 0644",
    "      contents:",
    `        inline: ${machine.name}`,
    "",
  ].join("\n");
}

interface KubeObjectShape {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string };
  [field: string]: unknown;
}

/** The three objects of one machine; `revision` changes the kernel URL (propagation measurements). */
export function machineObjects(machine: Machine, revision = 0): KubeObjectShape[] {
  const secretName = `${machine.name}-ignition`;
  const metadata = (name: string) => ({ name, namespace: BENCH_NAMESPACE });
  return [
    {
      apiVersion: "boot.ironcore.dev/v1alpha1",
      kind: "IPXEBootConfig",
      metadata: metadata(machine.name),
      spec: {
        systemUUID: machine.uuid,
        systemIPs: [machine.ip],
        kernelURL: kernelUrl(revision),
        initrdURL: "/uki/initrd.img",
        squashfsURL: "/uki/root.squashfs",
        ignitionSecretRef: { name: secretName },
      },
    },
    {
      apiVersion: "boot.ironcore.dev/v1alpha1",
      kind: "HTTPBootConfig",
      metadata: metadata(machine.name),
      spec: {
        systemUUID: machine.uuid,
        networkIdentifiers: [machine.ip, machine.mac],
        ukiURL: `/uki/${UKI_FILE_NAME}`,
        ignitionSecretRef: { name: secretName },
      },
    },
    {
      apiVersion: "v1",
      kind: "Secret",
      metadata: metadata(secretName),
      stringData: machine.ignitionFormat === "fcos" ? { format: "fcos", ignition: butane(machine) } : { ignition: rawIgnition(machine) },
    },
  ];
}

export function kernelUrl(revision: number): string {
  return revision === 0 ? KERNEL_PATH : `${KERNEL_PATH}-rev-${revision}`;
}

/** YAML by hand: the shapes are fixed, and 10 000 files should be written in well under a second. */
function machineYaml(machine: Machine, revision = 0): string {
  const secretName = `${machine.name}-ignition`;
  const ignition =
    machine.ignitionFormat === "fcos"
      ? `  format: fcos\n  ignition: |\n${butane(machine)
          .trimEnd()
          .split("\n")
          .map((line) => `    ${line}`)
          .join("\n")}\n`
      : `  ignition: '${rawIgnition(machine)}'\n`;
  return `apiVersion: boot.ironcore.dev/v1alpha1
kind: IPXEBootConfig
metadata:
  name: ${machine.name}
  namespace: ${BENCH_NAMESPACE}
spec:
  systemUUID: ${machine.uuid}
  systemIPs:
    - ${machine.ip}
  kernelURL: ${kernelUrl(revision)}
  initrdURL: /uki/initrd.img
  squashfsURL: /uki/root.squashfs
  ignitionSecretRef:
    name: ${secretName}
---
apiVersion: boot.ironcore.dev/v1alpha1
kind: HTTPBootConfig
metadata:
  name: ${machine.name}
  namespace: ${BENCH_NAMESPACE}
spec:
  systemUUID: ${machine.uuid}
  networkIdentifiers:
    - ${machine.ip}
    - "${machine.mac}"
  ukiURL: /uki/${UKI_FILE_NAME}
  ignitionSecretRef:
    name: ${secretName}
---
apiVersion: v1
kind: Secret
metadata:
  name: ${secretName}
  namespace: ${BENCH_NAMESPACE}
stringData:
${ignition}`;
}

function machineFilePath(directory: string, machine: Machine): string {
  return join(directory, `${machine.name}.yaml`);
}

/** One file per machine, as a GitOps checkout or a ConfigMap per machine would look. */
export async function writeFleetDirectory(directory: string, machines: readonly Machine[]): Promise<void> {
  await mkdir(directory, { recursive: true });
  const batch = 256;
  for (let start = 0; start < machines.length; start += batch) {
    await Promise.all(machines.slice(start, start + batch).map((machine) => writeFile(machineFilePath(directory, machine), machineYaml(machine))));
  }
}

/** Replaces one machine's file atomically (write + rename, as editors and ConfigMap updates do). */
export async function rewriteMachineFile(directory: string, machine: Machine, revision: number): Promise<void> {
  const target = machineFilePath(directory, machine);
  // A dot-file without a resource extension: the directory source ignores it while it is being written.
  const temporary = join(directory, `.${machine.name}.tmp`);
  await writeFile(temporary, machineYaml(machine, revision));
  await rename(temporary, target);
}

/**
 * Request lists for the wrk Lua script: one request per line, "path<TAB>X-Forwarded-For" (the header part empty
 * when not needed). Every machine appears once; the script walks the list in a per-thread shuffled order.
 */
export function requestLines(machines: readonly Machine[], route: "ipxe" | "ignition-raw" | "ignition-fcos" | "httpboot"): string {
  const lines: string[] = [];
  for (const machine of machines) {
    if (route === "ipxe") lines.push(`/ipxe/${machine.uuid}\t`);
    else if (route === "ignition-raw" && machine.ignitionFormat === "ignition") lines.push(`/ignition/${machine.uuid}\t`);
    else if (route === "ignition-fcos" && machine.ignitionFormat === "fcos") lines.push(`/ignition/${machine.uuid}\t`);
    // The DHCP pattern: FeDHCP names the machine by its own "IP, MAC" pair on every DHCP message.
    else if (route === "httpboot") lines.push(`/httpboot\t${machine.ip}, ${machine.mac}`);
  }
  return `${lines.join("\n")}\n`;
}

/** A UKI-sized test file of `mebibytes` MiB. */
export async function writeUkiFile(path: string, mebibytes: number): Promise<void> {
  // Random content (incompressible, no zero pages); one random MiB repeated keeps generation fast.
  const block = new Uint8Array(1024 * 1024);
  crypto.getRandomValues(block.subarray(0, 65536));
  for (let offset = 65536; offset < block.length; offset += 65536) block.copyWithin(offset, 0, 65536);
  const writer = Bun.file(path).writer();
  for (let i = 0; i < mebibytes; i++) {
    block[0] = i & 0xff;
    writer.write(block);
    await writer.flush();
  }
  await writer.end();
}
