// Switch ZTP through the compiled binary, with the clients' own request sequences: ONIE's whole waterfall as a busybox
// wget loop with ONIE's headers and user agent, stopping at the first 200 (for a matched switch, an unknown one and
// two switches claiming one serial); SONiC's curl with its headers, then the config_db.json its JSON names; EOS and
// Cumulus fetches; systemIPs binding a config to its source address; a broken Secret keeping the last good answer.
// Needs busybox and curl (scripts/ensure/busybox.sh, scripts/ensure/curl.sh).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Appliance, startAppliance } from "../harness/appliance.ts";
import { eventually } from "../harness/wait.ts";

const ARCH = "x86_64";
const MACHINE = "accton_as7712_32x";
const REV = "0";
const ASIC = "broadcom";
const ONIE_AGENT = "onie/1.0 (Linux-4.9.95; BusyBox v1.25.1)";

/** ONIE's default names (lib/onie/functions), most specific first, each bare and with .bin. */
function onieNames(prefix: "onie-installer" | "onie-updater"): string[] {
  const stems = [
    `${prefix}-${ARCH}-${MACHINE}-r${REV}`,
    `${prefix}-${ARCH}-${MACHINE}`,
    `${prefix}-${MACHINE}`,
    `${prefix}-${ARCH}-${ASIC}`,
    `${prefix}-${ARCH}`,
    prefix,
  ];
  return stems.flatMap((stem) => [stem, `${stem}.bin`]);
}

/**
 * ONIE's exec_installer loop: busybox wget per name with ONIE's headers, the first success wins. ONIE passes -T 3;
 * Debian's busybox 1.35 wget segfaults with -T (measured here), so the same 3 s bound comes from busybox timeout.
 */
const WATERFALL = `
set -u
for name in $NAMES; do
  if busybox timeout 3 busybox wget -q -U "$AGENT" \\
      --header "ONIE-SERIAL-NUMBER: $SERIAL" --header "ONIE-ETH-ADDR: $MAC" --header "ONIE-VENDOR-ID: 259" \\
      --header "ONIE-MACHINE: ${MACHINE}" --header "ONIE-MACHINE-REV: ${REV}" --header "ONIE-ARCH: ${ARCH}" \\
      --header "ONIE-SECURITY-KEY: d6a3b8e1" --header "ONIE-OPERATION: $OPERATION" --header "ONIE-VERSION: 2019.11" \\
      -O "$OUT" "$BASE/$name" 2>/dev/null; then
    echo "$name"
    exit 0
  fi
  echo "miss $name" >&2
done
exit 1
`;

interface WaterfallResult {
  code: number;
  /** The name that answered 200. */
  served: string;
  misses: string[];
  body: Buffer | null;
}

async function onieWaterfall(base: string, switchId: { serial: string; mac: string }, operation: "os-install" | "onie-update"): Promise<WaterfallResult> {
  const out = join(dir, `download-${Math.random().toString(36).slice(2)}`);
  const names = onieNames(operation === "onie-update" ? "onie-updater" : "onie-installer");
  const child = Bun.spawn(["busybox", "sh", "-c", WATERFALL], {
    env: {
      NAMES: names.join(" "),
      AGENT: ONIE_AGENT,
      SERIAL: switchId.serial,
      MAC: switchId.mac,
      OPERATION: operation,
      OUT: out,
      BASE: base,
      PATH: "/usr/bin:/bin",
    },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  const body = code === 0 ? await readFile(out) : null;
  await rm(out, { force: true });
  return {
    code,
    served: stdout.trim(),
    misses: stderr
      .split("\n")
      .filter((line) => line.startsWith("miss "))
      .map((line) => line.slice(5)),
    body,
  };
}

async function curl(args: string[]): Promise<{ code: number; stdout: string; status: number }> {
  const child = Bun.spawn(["curl", "-sS", "-o", "-", "-w", "\n%{http_code}", ...args], { stdout: "pipe", stderr: "pipe" });
  const [text, code] = await Promise.all([new Response(child.stdout).text(), child.exited]);
  const cut = text.lastIndexOf("\n");
  return { code, stdout: text.slice(0, cut), status: Number(text.slice(cut + 1)) };
}

const SONIC_HEADERS = (serial: string, mac: string): string[] => [
  "-A",
  "SONiC-ZTP/0.1",
  "-H",
  "PRODUCT-NAME: Accton-AS7712-32X",
  "-H",
  `SERIAL-NUMBER: ${serial}`,
  "-H",
  `BASE-MAC-ADDRESS: ${mac}`,
  "-H",
  "SONiC-VERSION: SONiC.202311.1",
];

let dir: string;
let ukiDir: string;
let configDir: string;
let app: Appliance;
let upstream: ReturnType<typeof Bun.serve>;
const INSTALLER = Buffer.alloc(300_000, 0x5a);
INSTALLER.write("#!/bin/sh\n# sample NOS installer\n");
const UPDATER = Buffer.from(`#!/bin/sh\n# ONIE-UPDATER-COOKIE\n${"x".repeat(1000)}\n`);
const REMOTE_INSTALLER = Buffer.from("#!/bin/sh\n# installer from another server\n");

const CUMULUS_SCRIPT = (version: string): string => `#!/bin/bash
# CUMULUS-AUTOPROVISIONING
# version ${version}
hostnamectl set-hostname {{.Hostname}}
`;

function switchesYaml(remote: string, cumulusScript: string, cumulusVersion: string): string {
  return `apiVersion: boot.ironcore.dev/v1alpha1
kind: SwitchBootConfig
metadata: {name: leaf-1, namespace: default}
spec:
  serialNumber: SN-LEAF-1
  macAddresses: ["0c:29:ef:00:00:01"]
  onie:
    installerURL: /uki/onie-installer.bin
    updaterURL: /uki/onie-updater.bin
---
apiVersion: boot.ironcore.dev/v1alpha1
kind: SwitchBootConfig
metadata: {name: bad-updater, namespace: default}
spec:
  serialNumber: SN-BAD-UPDATER
  onie: {updaterURL: /uki/bad-updater.bin}
---
apiVersion: boot.ironcore.dev/v1alpha1
kind: SwitchBootConfig
metadata: {name: contested-a, namespace: default}
spec:
  serialNumber: SN-SHARED
  onie: {installerURL: "${remote}"}
---
apiVersion: boot.ironcore.dev/v1alpha1
kind: SwitchBootConfig
metadata: {name: contested-b, namespace: default}
spec:
  serialNumber: sn-shared
  onie: {installerURL: /uki/onie-installer.bin}
---
apiVersion: boot.ironcore.dev/v1alpha1
kind: SwitchBootConfig
metadata: {name: sonic-1, namespace: default}
spec:
  serialNumber: SN-SONIC-1
  macAddresses: ["0c:29:ef:00:00:02"]
  hostname: leaf-sonic-1
  sonic: {ztpJSONSecretRef: {name: sonic-1-ztp}}
  provisioningScriptSecretRef: {name: sonic-1-ztp}
---
apiVersion: v1
kind: Secret
metadata: {name: sonic-1-ztp, namespace: default}
stringData:
  ztp.json: |
    {"ztp": {"01-configdb-json": {"url": {"source": "{{.FilesURL}}/config_db.json", "destination": "/etc/sonic/config_db.json"}}}}
  config_db.json: |
    {"DEVICE_METADATA": {"localhost": {"hostname": "{{.Hostname}}", "mac": "{{.MAC}}"}}}
  script: |
    #!/bin/sh
    echo sonic {{.SerialNumber}}
---
apiVersion: boot.ironcore.dev/v1alpha1
kind: SwitchBootConfig
metadata: {name: eos-1, namespace: default}
spec:
  serialNumber: JPE00000003
  macAddresses: ["00:1c:73:00:00:03"]
  systemIPs: ["127.0.0.3"]
  provisioningScriptSecretRef: {name: eos-1-bootstrap}
---
apiVersion: v1
kind: Secret
metadata: {name: eos-1-bootstrap, namespace: default}
stringData:
  script: |
    #!/usr/bin/env python3
    print("eos {{.SerialNumber}} {{.Version}}")
---
apiVersion: boot.ironcore.dev/v1alpha1
kind: SwitchBootConfig
metadata: {name: cumulus-1, namespace: default}
spec:
  macAddresses: ["44:38:39:00:00:04"]
  hostname: leaf-cumulus-1
  provisioningScriptSecretRef: {name: cumulus-1-ztp}
---
apiVersion: v1
kind: Secret
metadata: {name: cumulus-1-ztp, namespace: default}
stringData:
  version: "${cumulusVersion}"
  script: ${JSON.stringify(cumulusScript)}
`;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "ztp-"));
  ukiDir = join(dir, "uki");
  configDir = join(dir, "configs");
  await mkdir(ukiDir);
  await mkdir(configDir);
  await writeFile(join(ukiDir, "onie-installer.bin"), INSTALLER);
  await writeFile(join(ukiDir, "onie-updater.bin"), UPDATER);
  // The cookie on line 101: ONIE reads only the first 100.
  await writeFile(join(ukiDir, "bad-updater.bin"), `#!/bin/sh\n${"# filler\n".repeat(99)}# ONIE-UPDATER-COOKIE\n`);
  upstream = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response(REMOTE_INSTALLER) });
  await writeFile(join(configDir, "switches.yaml"), switchesYaml(`http://127.0.0.1:${upstream.port}/images/nos.bin`, CUMULUS_SCRIPT("1"), "1"));
  app = await startAppliance(["--source", `dir:${configDir}`, "--uki-dir", ukiDir, "--ztp-onie-at-root"]);
  await app.waitReady();
});

afterAll(async () => {
  if (process.env.ZTP_DEBUG)
    console.log(
      app.logs
        .filter((line) => !String(line.msg).startsWith("served") && line.msg !== "boot request failed")
        .map((line) => JSON.stringify(line).slice(0, 400))
        .join("\n"),
    );
  await app?.stop();
  upstream?.stop(true);
  await rm(dir, { recursive: true, force: true });
});

describe("ONIE", () => {
  test("a matched switch gets its installer on the first, most specific name, streamed whole", async () => {
    const result = await onieWaterfall(`${app.url}/ztp/onie`, { serial: "SN-LEAF-1", mac: "0C:29:EF:00:00:01" }, "os-install");
    expect({ code: result.code, served: result.served, misses: result.misses }).toEqual({ code: 0, served: onieNames("onie-installer")[0] ?? "", misses: [] });
    expect(result.body?.equals(INSTALLER)).toBe(true);
    const served = await app.waitForLog((line) => line.msg === "served ztp-onie-installer");
    expect(served).toMatchObject({ config: "default/leaf-1", matchedBy: "serial", "ONIE-VERSION": "2019.11", "ONIE-MACHINE": MACHINE });
  });

  test("at / with --ztp-onie-at-root, by MAC alone, and other routes at / are not shadowed", async () => {
    const result = await onieWaterfall(app.url, { serial: "", mac: "0c29.ef00.0001" }, "os-install");
    expect({ code: result.code, misses: result.misses }).toEqual({ code: 0, misses: [] });
    expect(result.body?.equals(INSTALLER)).toBe(true);
    expect((await fetch(`${app.url}/metrics`)).status).toBe(200);
    expect((await fetch(`${app.url}/nonsense`)).status).toBe(404);
    expect((await fetch(`${app.url}/onie-installer`, { method: "POST" })).status).toBe(405);
  });

  test("an unknown switch walks the whole waterfall: every name a fast one-line 404, logged and counted", async () => {
    const started = performance.now();
    const result = await onieWaterfall(`${app.url}/ztp/onie`, { serial: "SN-NOBODY", mac: "02:00:00:00:00:99" }, "os-install");
    expect({ code: result.code, misses: result.misses }).toEqual({ code: 1, misses: onieNames("onie-installer") });
    // Twelve misses, each answered at once (busybox waits -T 3 seconds for a server that does not answer).
    expect(performance.now() - started).toBeLessThan(3000);
    const miss = await fetch(`${app.url}/ztp/onie/onie-installer`, { headers: { "ONIE-SERIAL-NUMBER": "SN-NOBODY" } });
    expect({ status: miss.status, body: await miss.text() }).toEqual({ status: 404, body: "no SwitchBootConfig matches serial SN-NOBODY, source 127.0.0.1\n" });
    const logged = await app.waitForLog((line) => line.msg === "boot request failed" && line.path === `/ztp/onie/${onieNames("onie-installer")[0]}`);
    expect(logged).toMatchObject({ level: "info", status: 404, reason: "unknown-machine", route: "/ztp/onie/:name" });
    await eventually(async () => {
      const metrics = await (await fetch(`${app.url}/metrics`)).text();
      const counted = /boot_operator_boot_requests_failed_total\{route="\/ztp\/onie\/:name",reason="unknown-machine"\} (\d+)/.exec(metrics)?.[1];
      expect(Number(counted)).toBeGreaterThanOrEqual(12);
      return true;
    }, "12 unknown-machine failures counted");
  });

  test("two switches claiming one serial: the first by name is served (its http installer by redirect, which wget follows)", async () => {
    const result = await onieWaterfall(`${app.url}/ztp/onie`, { serial: "SN-SHARED", mac: "02:00:00:00:00:42" }, "os-install");
    expect({ code: result.code, misses: result.misses }).toEqual({ code: 0, misses: [] });
    expect(result.body?.equals(REMOTE_INSTALLER)).toBe(true);
    const conflict = await app.waitForLog((line) => line.msg === "identifier conflict");
    expect(String(conflict.conflict)).toBe(
      "SwitchBootConfigs default/contested-a, default/contested-b all claim serial SN-SHARED; default/contested-a is served, not default/contested-b (default/contested-a was loaded first)",
    );
  });

  test("update mode: onie-updater names only, the cookie-carrying updater; Range and HEAD as for /uki", async () => {
    const result = await onieWaterfall(`${app.url}/ztp/onie`, { serial: "SN-LEAF-1", mac: "0c:29:ef:00:00:01" }, "onie-update");
    expect({ code: result.code, served: result.served }).toEqual({ code: 0, served: onieNames("onie-updater")[0] ?? "" });
    expect(result.body?.equals(UPDATER)).toBe(true);
    const headers = { "ONIE-SERIAL-NUMBER": "SN-LEAF-1", "ONIE-OPERATION": "os-install" };
    const ranged = await fetch(`${app.url}/ztp/onie/onie-installer`, { headers: { ...headers, Range: "bytes=0-9" } });
    expect({ status: ranged.status, length: ranged.headers.get("content-length"), body: await ranged.text() }).toEqual({
      status: 206,
      length: "10",
      body: "#!/bin/sh\n",
    });
    const head = await fetch(`${app.url}/ztp/onie/onie-installer.bin`, { method: "HEAD", headers });
    expect({ status: head.status, length: head.headers.get("content-length") }).toEqual({ status: 200, length: String(INSTALLER.length) });
    const wrongMode = await fetch(`${app.url}/ztp/onie/onie-updater`, { headers });
    expect({ status: wrongMode.status, body: await wrongMode.text() }).toEqual({
      status: 404,
      body: "onie-updater is an onie-updater name but ONIE-OPERATION is os-install\n",
    });
  });

  test("an updater without the cookie in its first 100 lines is refused, naming why, and no switch gets it", async () => {
    const result = await onieWaterfall(`${app.url}/ztp/onie`, { serial: "SN-BAD-UPDATER", mac: "02:00:00:00:00:43" }, "onie-update");
    expect(result.code).toBe(1);
    const refused = await fetch(`${app.url}/ztp/onie/onie-updater`, { headers: { "ONIE-SERIAL-NUMBER": "SN-BAD-UPDATER", "ONIE-OPERATION": "onie-update" } });
    expect({ status: refused.status, body: await refused.text() }).toEqual({
      status: 500,
      body: "updater /uki/bad-updater.bin of SwitchBootConfig default/bad-updater has no ONIE-UPDATER-COOKIE in its first 100 lines: ONIE refuses it\n",
    });
  });
});

describe("SONiC, EOS, Cumulus", () => {
  test("SONiC's curl gets its ZTP JSON, then the config_db.json it names, rendered for the switch", async () => {
    const json = await curl([...SONIC_HEADERS("SN-SONIC-1", "0C:29:EF:00:00:02"), `${app.url}/ztp/sonic/ztp.json`]);
    expect(json.status).toBe(200);
    const source: string = JSON.parse(json.stdout).ztp["01-configdb-json"].url.source;
    expect(source).toBe(`${app.url}/ztp/files/default/sonic-1-ztp/config_db.json`);
    const config = await curl([...SONIC_HEADERS("SN-SONIC-1", "0C:29:EF:00:00:02"), source]);
    expect({ status: config.status, config: JSON.parse(config.stdout) }).toEqual({
      status: 200,
      config: { DEVICE_METADATA: { localhost: { hostname: "leaf-sonic-1", mac: "0c:29:ef:00:00:02" } } },
    });
    const script = await curl([...SONIC_HEADERS("SN-SONIC-1", "0C:29:EF:00:00:02"), `${app.url}/ztp/sonic/script`]);
    expect(script).toMatchObject({ status: 200, stdout: "#!/bin/sh\necho sonic SN-SONIC-1\n" });
  });

  test("another switch cannot read a switch's files, an unknown one gets nothing", async () => {
    const other = await curl(["-H", "CUMULUS-MGMT-MAC: 44:38:39:00:00:04", `${app.url}/ztp/files/default/sonic-1-ztp/config_db.json`]);
    expect(other).toMatchObject({ status: 403, stdout: "SwitchBootConfig default/cumulus-1 does not reference secret default/sonic-1-ztp\n" });
    const unknown = await curl([...SONIC_HEADERS("SN-NOBODY", "02:00:00:00:00:98"), `${app.url}/ztp/sonic/ztp.json`]);
    expect(unknown).toMatchObject({ status: 404, stdout: "no SwitchBootConfig matches serial SN-NOBODY, MAC 02:00:00:00:00:98, source 127.0.0.1\n" });
  });

  test("EOS gets its bootstrap only from the address its config lists", async () => {
    const eos = [
      "-A",
      "Python-urllib/3.9",
      "-H",
      "X-Arista-Serial: JPE00000003",
      "-H",
      "X-Arista-SystemMAC: 00:1c:73:00:00:03",
      "-H",
      "X-Arista-SoftwareVersion: 4.30.1F",
    ];
    const fromListed = await curl([...eos, "--interface", "127.0.0.3", `http://127.0.0.1:${app.port}/ztp/arista/bootstrap`]);
    expect(fromListed).toMatchObject({ status: 200, stdout: '#!/usr/bin/env python3\nprint("eos JPE00000003 4.30.1F")\n' });
    const elsewhere = await curl([...eos, "--interface", "127.0.0.4", `http://127.0.0.1:${app.port}/ztp/arista/bootstrap`]);
    expect(elsewhere).toMatchObject({
      status: 403,
      stdout: "SwitchBootConfig default/eos-1 matches by serial JPE00000003 but lists systemIPs, and 127.0.0.4 is none of them\n",
    });
  });

  test("Cumulus gets its script; a broken new version of the Secret keeps the last good answer", async () => {
    const cumulus = [
      "-A",
      "CumulusLinux-AutoProvision/0.4",
      "-H",
      "CUMULUS-ARCH: x86_64",
      "-H",
      "CUMULUS-MGMT-MAC: 44:38:39:00:00:04",
      "-H",
      "CUMULUS-VERSION: 5.9.1",
    ];
    const first = await curl([...cumulus, `${app.url}/ztp/cumulus`]);
    expect(first).toMatchObject({ status: 200, stdout: CUMULUS_SCRIPT("1").replace("{{.Hostname}}", "leaf-cumulus-1") });
    // Version 2 of the Secret loses its #! (and so cannot be executed): refused, version 1 is still served.
    await writeFile(join(configDir, "switches.yaml"), switchesYaml(`http://127.0.0.1:${upstream.port}/images/nos.bin`, "echo broken\n", "2"));
    await eventually(async () => {
      expect(await curl([...cumulus, `${app.url}/ztp/files/default/cumulus-1-ztp/version`])).toMatchObject({ status: 200, stdout: "2" });
      return true;
    }, "version 2 of the Secret loaded");
    const warned = await app.waitForLog((line) => line.msg === "config cannot be served as written" && line.config === "SwitchBootConfig default/cumulus-1");
    expect(warned).toMatchObject({ reason: "ZTPPayloadInvalid", message: expect.stringContaining("(still serving the last valid version)") });
    expect(await curl([...cumulus, `${app.url}/ztp/cumulus`])).toMatchObject({ status: 200, stdout: first.stdout });
  });
});

describe("under --ignition-access bound", () => {
  /** ZTP_DENIAL_MESSAGE (src/boot/ztp/access.ts): one text for every refusal, known switch or not. */
  const DENIED = "ztp access denied (--ignition-access bound: switch configs and scripts are served only to one of the SwitchBootConfig's systemIPs)\n";
  let boundDir: string;
  let bound: Appliance;

  beforeAll(async () => {
    boundDir = await mkdtemp(join(tmpdir(), "ztp-bound-"));
    await writeFile(
      join(boundDir, "switches.yaml"),
      `apiVersion: boot.ironcore.dev/v1alpha1
kind: SwitchBootConfig
metadata: {name: eos-bound, namespace: default}
spec:
  serialNumber: JPE-BOUND
  systemIPs: ["127.0.0.5"]
  provisioningScriptSecretRef: {name: eos-bound-ztp}
---
apiVersion: v1
kind: Secret
metadata: {name: eos-bound-ztp, namespace: default}
stringData:
  script: |
    #!/usr/bin/env python3
    print("password for {{.SerialNumber}}")
---
apiVersion: boot.ironcore.dev/v1alpha1
kind: SwitchBootConfig
metadata: {name: sonic-unbound, namespace: default}
spec:
  serialNumber: SN-UNBOUND
  onie: {installerURL: /uki/onie-installer.bin}
  sonic: {ztpJSONSecretRef: {name: sonic-unbound-ztp}}
---
apiVersion: v1
kind: Secret
metadata: {name: sonic-unbound-ztp, namespace: default}
stringData:
  ztp.json: |
    {"ztp": {}}
  config_db.json: |
    {"DEVICE_METADATA": {}}
`,
    );
    bound = await startAppliance(["--source", `dir:${boundDir}`, "--uki-dir", ukiDir, "--ignition-access", "bound"]);
    await bound.waitReady();
  });

  afterAll(async () => {
    await bound?.stop();
    await rm(boundDir, { recursive: true, force: true });
  });

  test("payloads only to a config's systemIPs, one 403 for everyone else (unknown switch included); ONIE images as before", async () => {
    const eos = ["-H", "X-Arista-Serial: JPE-BOUND"];
    const bootstrap = `http://127.0.0.1:${bound.port}/ztp/arista/bootstrap`;
    expect(await curl([...eos, "--interface", "127.0.0.5", bootstrap])).toMatchObject({
      status: 200,
      stdout: '#!/usr/bin/env python3\nprint("password for JPE-BOUND")\n',
    });
    expect(await curl([...eos, "--interface", "127.0.0.6", bootstrap])).toMatchObject({ status: 403, stdout: DENIED });
    expect(await curl(["-H", "X-Arista-Serial: JPE-NOBODY", "--interface", "127.0.0.6", bootstrap])).toMatchObject({ status: 403, stdout: DENIED });
    // No systemIPs: nothing can vouch for the switch (it has no token), so neither its JSON nor its files are served.
    const sonic = SONIC_HEADERS("SN-UNBOUND", "02:00:00:00:00:77");
    expect(await curl([...sonic, `${bound.url}/ztp/sonic/ztp.json`])).toMatchObject({ status: 403, stdout: DENIED });
    expect(await curl([...sonic, `${bound.url}/ztp/files/default/sonic-unbound-ztp/config_db.json`])).toMatchObject({ status: 403, stdout: DENIED });
    // The installer carries no credentials: identity headers suffice, as in open mode.
    const installer = await fetch(`${bound.url}/ztp/onie/onie-installer`, { headers: { "ONIE-SERIAL-NUMBER": "SN-UNBOUND", "ONIE-OPERATION": "os-install" } });
    expect(installer.status).toBe(200);
    expect(Buffer.from(await installer.arrayBuffer()).equals(INSTALLER)).toBe(true);

    const logged = await bound.waitForLog((line) => line.msg === "boot request failed" && line.route === "/ztp/arista/bootstrap");
    expect(logged).toMatchObject({ status: 403, reason: "forbidden", message: DENIED.trim() });
    const metrics = await (await fetch(`${bound.url}/metrics`)).text();
    const denied = (reason: string): string | undefined =>
      new RegExp(`^boot_operator_ztp_denied_total\\{reason="${reason}"\\} (\\d+)$`, "m").exec(metrics)?.[1];
    expect({ notListed: denied("not-system-ip"), unknown: denied("unknown-switch"), noSystemIps: denied("no-system-ips") }).toEqual({
      notListed: "1",
      unknown: "1",
      noSystemIps: "2",
    });
  });
});
