// The systemd unit (manifests/systemd) is valid for this systemd, and the compiled binary works under what it
// imposes. No systemd runs here (no PID 1 to start the unit), so the restrictions are reproduced one by one:
//  - systemd-analyze verify / security --offline on a copy whose ExecStart points at dist/boot-operator,
//  - ProtectProc=invisible + ProcSubset=pid: the binary runs in a PID and mount namespace with /proc mounted
//    `subset=pid,hidepid=invisible` (no /proc/meminfo, /proc/cpuinfo, /proc/sys),
//  - SystemCallFilter=@system-service ~@privileged @resources: strace records every system call the binary makes
//    while it serves scripts, Butane-translated Ignition (worker thread), a /uki file and metrics; each must be in
//    the set the unit allows, expanded from `systemd-analyze syscall-filter` of this very systemd.
// Tools: systemd-analyze, strace, unshare (scripts/ensure/systemd-tools.sh).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmod, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Appliance, REPO_ROOT, requireBinary, startAppliance } from "../harness/appliance.ts";
import { eventually } from "../harness/wait.ts";

const UNIT_PATH = join(REPO_ROOT, "manifests/systemd/boot-operator.service");
const INSTALLED_BINARY = "/usr/local/bin/boot-operator";
/** Sample machines of the embedded default source (manifests/samples). */
const IPXE_MACHINE = "4c4c4544-0042-3510-8052-b4c04f4a4e31";
const BUTANE_MACHINE = "52a1f4c0-93b1-4d6e-a3b0-6f4e1c2d9b07";
/** A few MiB, so the download takes the server's file-streaming path rather than one small read. */
const KERNEL = new Uint8Array(4 * 1024 * 1024).fill(7);

let workDir: string;

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), "boot-operator-systemd-"));
});
afterAll(async () => {
  await rm(workDir, { recursive: true, force: true });
});

async function run(command: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = Bun.spawn(command, { stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return { code, stdout, stderr };
}

/** The unit as installed, but starting the binary of this checkout (verify checks that ExecStart is executable). */
async function unitCopy(name: string, edit: (text: string) => string = (text) => text): Promise<string> {
  const binary = join(workDir, "boot-operator");
  await rm(binary, { force: true });
  await symlink(requireBinary(), binary);
  const text = await Bun.file(UNIT_PATH).text();
  if (!text.includes(`ExecStart=${INSTALLED_BINARY} `)) throw new Error(`the unit's ExecStart no longer starts ${INSTALLED_BINARY}`);
  const path = join(workDir, name);
  await writeFile(path, edit(text.replace(`ExecStart=${INSTALLED_BINARY} `, `ExecStart=${binary} `)));
  return path;
}

describe("systemd-analyze", () => {
  test("verify: no complaint about the unit (and a misspelt setting is one)", async () => {
    const verified = await run(["systemd-analyze", "verify", await unitCopy("boot-operator.service")]);
    expect(verified.stderr + verified.stdout).toBe("");
    expect(verified.code).toBe(0);
    // verify exits 0 on unknown keys and unparsable values, only printing them: the empty output is the check.
    const misspelt = await unitCopy("misspelt.service", (text) => text.replace("ProcSubset=pid", "ProcSubset=pids"));
    expect((await run(["systemd-analyze", "verify", misspelt])).stderr).toContain("/proc/ subset");
  });

  test("security: exposure level at most 2.0 (of 10; the unit before this hardening rated 3.4)", async () => {
    const unit = await unitCopy("boot-operator.service");
    const assessed = await run(["systemd-analyze", "security", "--offline=yes", "--threshold=20", unit]);
    expect(
      assessed.code,
      assessed.stdout
        .split("\n")
        .filter((line) => line.includes("exposure level"))
        .join("\n"),
    ).toBe(0);
  });
});

/** Every system call in `group` (nested groups expanded), as this systemd defines them. */
function expandSyscallGroups(listing: string): (group: string) => Set<string> {
  const groups = new Map<string, string[]>();
  let members: string[] | undefined;
  for (const line of listing.split("\n")) {
    if (line.startsWith("@")) {
      members = [];
      groups.set(line.trim(), members);
    } else if (members && line.trim() !== "" && !line.trim().startsWith("#")) members.push(line.trim());
  }
  return (group) => {
    const found = new Set<string>();
    const visit = (name: string): void => {
      if (!name.startsWith("@")) found.add(name);
      else for (const member of groups.get(name) ?? []) visit(member);
    };
    visit(group);
    return found;
  };
}

/** Process ids below `pid` (children, grandchildren, …), from /proc. */
async function descendants(pid: number): Promise<number[]> {
  const children = (await readFile(`/proc/${pid}/task/${pid}/children`, "utf8").catch(() => ""))
    .split(" ")
    .filter((entry) => entry.trim() !== "")
    .map(Number);
  return [...children, ...(await Promise.all(children.map(descendants))).flat()];
}

describe("the binary under the unit's restrictions", () => {
  let app: Appliance;
  let syscallLog: string;
  let ukiDir: string;

  beforeAll(async () => {
    syscallLog = join(workDir, "syscalls.txt");
    ukiDir = join(workDir, "uki");
    await mkdir(ukiDir);
    await writeFile(join(ukiDir, "vmlinuz"), KERNEL);
    // PID + mount namespace with the /proc systemd mounts for ProtectProc=invisible and ProcSubset=pid; strace
    // inside it, so it traces the binary only (not unshare, sh or mount).
    const wrapper = join(workDir, "restricted.sh");
    await writeFile(
      wrapper,
      [
        "#!/bin/sh",
        `exec unshare --mount --pid --fork --kill-child --propagation private sh -c 'mount -t proc -o subset=pid,hidepid=invisible proc /proc && exec strace -f -qq -c -U name -o "${syscallLog}" "$@"' sh "${requireBinary()}" "$@"`,
        "",
      ].join("\n"),
    );
    await chmod(wrapper, 0o755);
    app = await startAppliance(["--uki-dir", ukiDir, "--blob-cache-dir", join(workDir, "cache")], { binary: wrapper });
    await app.waitReady();
  });

  afterAll(async () => {
    for (const pid of await descendants(app.pid)) process.kill(pid, "SIGKILL");
  });

  /** The binary's pid (outside the PID namespace), below unshare, sh and strace. */
  async function tracedBinary(): Promise<number> {
    const found: number[] = [];
    for (const pid of await descendants(app.pid)) {
      const command = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
      if (command.startsWith(`${requireBinary()}\0`)) found.push(pid);
    }
    if (found.length !== 1) throw new Error(`expected one traced boot-operator process, found ${found.length}`);
    return found[0] as number;
  }

  test("it serves with the /proc of ProtectProc=invisible + ProcSubset=pid", async () => {
    const procMount = (await readFile(`/proc/${await tracedBinary()}/mountinfo`, "utf8")).split("\n").findLast((line) => line.split(" ")[4] === "/proc"); // the last one mounted over /proc is what it sees
    expect(procMount).toContain("subset=pid");
    expect(procMount).toContain("hidepid=invisible");
    expect((await (await fetch(`${app.url}/healthz`)).text()).trim()).toBe("ok");
    const script = await fetch(`${app.url}/ipxe/${IPXE_MACHINE}`);
    expect(script.status).toBe(200);
    expect(await script.text()).toStartWith("#!ipxe");
    const ignition = await fetch(`${app.url}/ignition/${BUTANE_MACHINE}`);
    expect(ignition.status).toBe(200);
    expect((await ignition.json()) as unknown).toMatchObject({ ignition: { version: expect.any(String) } });
    expect(new Uint8Array(await (await fetch(`${app.url}/uki/vmlinuz`)).arrayBuffer())).toEqual(KERNEL);
    const metrics = await (await fetch(`${app.url}/metrics`)).text();
    expect(metrics).toContain("process_resident_memory_bytes");
  });

  test("every system call it made is one SystemCallFilter= allows", async () => {
    // strace writes its summary when the traced process exits: stop the binary itself (unshare ignores SIGTERM).
    process.kill(await tracedBinary(), "SIGTERM");
    expect(await app.process.exited).toBe(0);
    const summary = await eventually(async () => (await Bun.file(syscallLog).exists()) && (await Bun.file(syscallLog).text()), "strace's summary");
    const used = summary
      .split("\n")
      .map((line) => line.trim())
      .filter((name) => /^[a-z0-9_]+$/.test(name) && name !== "syscall" && name !== "total");
    expect(used).toContain("epoll_ctl"); // the summary is the one we expect, not an empty or foreign file

    const listing = await run(["systemd-analyze", "syscall-filter"]);
    const groupMembers = expandSyscallGroups(listing.stdout);
    const unitFilters = (await Bun.file(UNIT_PATH).text())
      .split("\n")
      .filter((line) => line.startsWith("SystemCallFilter="))
      .map((line) => line.slice("SystemCallFilter=".length));
    const allowed = new Set<string>();
    const denied = new Set<string>();
    for (const filter of unitFilters) {
      const deny = filter.startsWith("~");
      for (const entry of filter.replace(/^~/, "").split(/\s+/)) for (const name of groupMembers(entry)) (deny ? denied : allowed).add(name);
    }
    expect(allowed.size).toBeGreaterThan(100);
    expect(used.filter((name) => !allowed.has(name) || denied.has(name))).toEqual([]);
  });
});
