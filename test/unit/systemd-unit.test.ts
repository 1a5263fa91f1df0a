// manifests/systemd says what the README promises: a dynamic user, a read-only system with one writable cache
// directory that --blob-cache-dir points at, a UKI directory that may be missing, the @system-service syscall set
// and a /proc that shows only the service's own processes. Settings and variables must be real flags.
// test/integration/systemd.test.ts runs systemd-analyze on the unit and the binary under the same restrictions.
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { envName, FLAGS } from "../../src/cli/flags.ts";

const REPO_ROOT = join(import.meta.dir, "..", "..");

const UNIT_PATH = join(REPO_ROOT, "manifests/systemd/boot-operator.service");
const ENV_PATH = join(REPO_ROOT, "manifests/systemd/boot-operator.env");

/** A unit file's sections as ordered key/value lists (systemd keys may repeat; comments and blanks dropped). */
function parseUnit(text: string): Map<string, [string, string][]> {
  const sections = new Map<string, [string, string][]>();
  let current: [string, string][] | undefined;
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header?.[1]) {
      current = [];
      sections.set(header[1], current);
      continue;
    }
    const separator = line.indexOf("=");
    if (!current || separator < 0) throw new Error(`not a unit file line: ${raw}`);
    current.push([line.slice(0, separator).trim(), line.slice(separator + 1).trim()]);
  }
  return sections;
}

async function service(): Promise<[string, string][]> {
  const section = parseUnit(await Bun.file(UNIT_PATH).text()).get("Service");
  if (!section) throw new Error("no [Service] section");
  return section;
}

function valuesOf(settings: readonly [string, string][], key: string): string[] {
  return settings.filter(([name]) => name === key).map(([, value]) => value);
}

function only(settings: readonly [string, string][], key: string): string {
  const values = valuesOf(settings, key);
  if (values.length !== 1) throw new Error(`${key}= set ${values.length} times, expected once`);
  return values[0] as string;
}

const serveEnvNames = new Set(FLAGS.filter((flag) => flag.commands.includes("serve")).map((flag) => envName(flag.name)));

describe("systemd unit", () => {
  test("a dynamic user on a read-only system, with /proc limited to its own processes", async () => {
    const settings = await service();
    expect(only(settings, "DynamicUser")).toBe("yes");
    expect(only(settings, "ProtectSystem")).toBe("strict");
    expect(only(settings, "ProtectProc")).toBe("invisible");
    expect(only(settings, "ProcSubset")).toBe("pid");
    expect(only(settings, "NoNewPrivileges")).toBe("yes");
  });

  test("the UKI directory is read-only and optional: a missing /srv/uki does not stop the unit", async () => {
    const readOnly = valuesOf(await service(), "ReadOnlyPaths").flatMap((value) => value.split(/\s+/));
    expect(readOnly).toContain("-/srv/uki");
    // The env file's --uki-dir is the directory the unit protects (systemd's "-" prefix = ignore if missing).
    const env = await Bun.file(ENV_PATH).text();
    expect(env).toMatch(/^#BOOT_OPERATOR_UKI_DIR=\/srv\/uki$/m); // opt-in: a missing --uki-dir is a start-up error
  });

  test("--blob-cache-dir is the CacheDirectory, the one writable place under ProtectSystem=strict", async () => {
    const settings = await service();
    const cacheDirectory = only(settings, "CacheDirectory");
    expect(cacheDirectory).toBe("boot-operator");
    // %C is the cache root (/var/cache for system units): the directory systemd creates and chowns to the dynamic user.
    expect(valuesOf(settings, "Environment")).toContain(`${envName("blob-cache-dir")}=%C/${cacheDirectory}`);
  });

  test("system calls: the @system-service set without @privileged and @resources; others fail with EPERM", async () => {
    const settings = await service();
    expect(valuesOf(settings, "SystemCallFilter")).toEqual(["@system-service", "~@privileged @resources"]);
    expect(only(settings, "SystemCallErrorNumber")).toBe("EPERM");
    expect(only(settings, "SystemCallArchitectures")).toBe("native");
  });

  test("ExecStart runs serve; every BOOT_OPERATOR_* variable of the unit and the env file is a serve flag", async () => {
    const settings = await service();
    expect(only(settings, "ExecStart")).toBe("/usr/local/bin/boot-operator serve");
    expect(only(settings, "EnvironmentFile")).toBe("/etc/boot-operator/env");
    const unitVariables = valuesOf(settings, "Environment").map((assignment) => assignment.split("=")[0] ?? "");
    const envFileVariables = [...(await Bun.file(ENV_PATH).text()).matchAll(/^#?(BOOT_OPERATOR_[A-Z_]+)=/gm)].map((match) => match[1] ?? "");
    expect(envFileVariables.length).toBeGreaterThan(3);
    for (const name of [...unitVariables, ...envFileVariables]) expect(serveEnvNames, name).toContain(name);
  });

  test("the parser rejects what is not a unit file (so the checks above cannot pass on garbage)", () => {
    expect(() => parseUnit("[Service]\nDynamicUser yes\n")).toThrow("not a unit file line");
    expect(parseUnit("[Service]\nA=1\nA=2\n").get("Service")).toEqual([
      ["A", "1"],
      ["A", "2"],
    ]);
  });
});
