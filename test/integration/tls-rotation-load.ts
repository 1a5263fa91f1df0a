// Certificate rotation under load, as a script (tls.test.ts runs it in a network namespace of its own, where it may
// set net.ipv4.tcp_migrate_req without touching the machine's): the binary serves --tls-listen from a kubelet-style
// Secret volume (tls.crt -> ..data/tls.crt, ..data -> a version directory); keep-alive and new-connection fetch
// loops hit /ipxe/{uuid} over TLS while ..data is swapped to new leaves; every answer must be a 200, and after each
// swap a new connection must see the new leaf. Prints one JSON line with the counts.
import { X509Certificate } from "node:crypto";
import { mkdirSync, mkdtempSync, renameSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "node:tls";
import { startAppliance } from "../harness/appliance.ts";
import { makeTestPki } from "../harness/pki.ts";
import { eventually } from "../harness/wait.ts";

export interface RotationLoadResult {
  ok: number;
  failed: number;
  errors: Record<string, number>;
  rotations: number;
  /** After each rotation: whether a new connection saw the new leaf's serial. */
  newLeafSeen: boolean[];
  migrateReq: string;
}

const UUID = "4c4c4544-0042-3510-8052-b4c04f4a4e31";

function peerSerial(port: number, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port, ca, servername: "localhost" }, () => {
      resolve(socket.getPeerCertificate().serialNumber.toUpperCase());
      socket.end();
    });
    socket.on("error", reject);
  });
}

export async function rotationUnderLoad(durationMs: number, keepAliveLoops: number, newConnectionLoops: number): Promise<RotationLoadResult> {
  const pki = makeTestPki();
  const mount = mkdtempSync(join(tmpdir(), "boot-operator-tls-mount-"));
  const versions = Array.from({ length: 4 }, (_, index) => pki.leaf(`v${index}`));
  const install = (index: number): void => {
    const version = versions[index];
    if (!version) throw new Error(`no version ${index}`);
    const directory = join(mount, `..v${index}`);
    mkdirSync(directory);
    writeFileSync(join(directory, "tls.crt"), version.chainPem);
    writeFileSync(join(directory, "tls.key"), version.keyPem);
    symlinkSync(`..v${index}`, join(mount, "..data_tmp"));
    renameSync(join(mount, "..data_tmp"), join(mount, "..data")); // atomic, as kubelet's AtomicWriter does
  };
  install(0);
  symlinkSync("..data/tls.crt", join(mount, "tls.crt"));
  symlinkSync("..data/tls.key", join(mount, "tls.key"));
  const resources = mkdtempSync(join(tmpdir(), "boot-operator-tls-res-"));
  writeFileSync(
    join(resources, "machine.yaml"),
    `apiVersion: boot.ironcore.dev/v1alpha1\nkind: IPXEBootConfig\nmetadata: {name: m1, namespace: default}\nspec:\n  systemUUID: ${UUID}\n  kernelURL: /uki/vmlinuz\n  initrdURL: /uki/initrd\n`,
  );
  const appliance = await startAppliance([
    "--source",
    `dir:${resources}`,
    "--listen",
    "0",
    "--tls-listen",
    "127.0.0.1:0",
    "--tls-cert-file",
    join(mount, "tls.crt"),
    "--tls-key-file",
    join(mount, "tls.key"),
  ]);
  const ca = pki.pem("root.crt");
  const url = `${appliance.url}/ipxe/${UUID}`;
  await eventually(async () => (await fetch(`${appliance.url}/readyz`, { tls: { ca } })).status === 200, "/readyz over TLS");
  const errors: Record<string, number> = {};
  let ok = 0;
  let failed = 0;
  let stop = false;
  const loop = async (keepalive: boolean): Promise<void> => {
    while (!stop) {
      try {
        const response = await fetch(url, { tls: { ca }, keepalive, ...(keepalive ? {} : { headers: { Connection: "close" } }) });
        const text = await response.text();
        if (response.status === 200 && text.includes("https://127.0.0.1")) ok++;
        else {
          failed++;
          errors[`status ${response.status}`] = (errors[`status ${response.status}`] ?? 0) + 1;
        }
      } catch (error) {
        failed++;
        const message = (error as Error).message.slice(0, 80);
        errors[message] = (errors[message] ?? 0) + 1;
      }
    }
  };
  const loops = [...Array.from({ length: keepAliveLoops }, () => loop(true)), ...Array.from({ length: newConnectionLoops }, () => loop(false))];
  const newLeafSeen: boolean[] = [];
  const started = Date.now();
  try {
    for (let index = 1; index < versions.length; index++) {
      await Bun.sleep(Math.max(0, started + (durationMs * index) / versions.length - Date.now()));
      const expected = leafSerial(versions[index]?.chainPem ?? "");
      install(index);
      // The new leaf is served once the appliance logs the rotation; a fresh handshake must then show it.
      await appliance.waitForLog((line) => line.msg === "serving certificate rotated" && line.serial === expected, 10_000);
      newLeafSeen.push((await peerSerial(appliance.port, ca)) === expected);
    }
    await Bun.sleep(Math.max(0, started + durationMs - Date.now()));
  } finally {
    stop = true;
    await Promise.all(loops);
    await appliance.stop();
  }
  let migrateReq = "?";
  try {
    migrateReq = (await Bun.file("/proc/sys/net/ipv4/tcp_migrate_req").text()).trim();
  } catch {
    // not Linux
  }
  return { ok, failed, errors, rotations: versions.length - 1, newLeafSeen, migrateReq };
}

function leafSerial(chainPem: string): string {
  return new X509Certificate(chainPem).serialNumber.toUpperCase();
}

if (import.meta.main) {
  const [duration = "10000", keepAlive = "10", fresh = "10"] = process.argv.slice(2);
  const result = await rotationUnderLoad(Number(duration), Number(keepAlive), Number(fresh));
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(0);
}
