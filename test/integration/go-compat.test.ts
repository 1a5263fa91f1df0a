// Answers a fleet sees after swapping the Go operator's image for ours, through the compiled binary: Go-era
// resources (tftp/nfs kernels, "" fields, custom scripts using ${base-url}) and a DHCP server that sends
// X-Forwarded-For without being in --trusted-proxies (the Go operator believes it from anyone; we say we did not).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Appliance, requireBinary, runCommand, startAppliance } from "../harness/appliance.ts";
import { eventually } from "../harness/wait.ts";

const PUBLIC = "http://boot.test:8082";
const DEFAULT_UKI = "http://images.example/default.efi";
const UUID_TFTP = "11111111-0000-0000-0000-000000000001";
const UUID_CUSTOM = "11111111-0000-0000-0000-000000000002";
const UUID_NO_UKI = "11111111-0000-0000-0000-000000000003";
const CUSTOM_SCRIPT = `#!ipxe\nkernel \${ipxe-svc}/uki/vmlinuz\ninitrd \${base-url}/../uki/initrd\nboot\n`;
const NOTICE_LOG = "X-Forwarded-For ignored: the peer is not in --trusted-proxies, so it is identified by its own address";

const RESOURCES = `apiVersion: boot.ironcore.dev/v1alpha1
kind: IPXEBootConfig
metadata: {name: tftp-machine}
spec:
  systemUUID: ${UUID_TFTP}
  kernelURL: tftp://10.0.0.1/vmlinuz
  initrdURL: nfs://10.0.0.1/srv/initrd
  squashfsURL: ""
---
apiVersion: boot.ironcore.dev/v1alpha1
kind: IPXEBootConfig
metadata: {name: custom}
spec:
  systemUUID: ${UUID_CUSTOM}
  ipxeScriptSecretRef: {name: custom-script}
  ignitionSecretRef: {name: ""}
---
apiVersion: v1
kind: Secret
metadata: {name: custom-script}
stringData:
  ipxe-script: ${JSON.stringify(CUSTOM_SCRIPT)}
---
apiVersion: boot.ironcore.dev/v1alpha1
kind: HTTPBootConfig
metadata: {name: no-uki}
spec:
  systemUUID: ${UUID_NO_UKI}
  networkIdentifiers: ["127.0.0.7", "not-an-address"]
  ukiURL: ""
`;

let work: string;
let appliance: Appliance;

interface CurlResponse {
  status: number;
  headers: Headers;
  body: string;
}

/** A request from a chosen loopback address, so each test peer is a distinct client (fetch cannot bind one). */
async function requestFrom(source: string, path: string, forwardedFor?: string): Promise<CurlResponse> {
  const args = ["curl", "-s", "-i", "--interface", source, ...(forwardedFor ? ["-H", `X-Forwarded-For: ${forwardedFor}`] : []), `${appliance.url}${path}`];
  const proc = Bun.spawn(args, { stdout: "pipe" });
  const output = await new Response(proc.stdout).text();
  if ((await proc.exited) !== 0) throw new Error(`curl failed: ${args.join(" ")}`);
  const split = output.indexOf("\r\n\r\n");
  const [statusLine, ...headerLines] = output.slice(0, split).split("\r\n");
  const headers = new Headers();
  for (const line of headerLines) headers.append(line.slice(0, line.indexOf(":")), line.slice(line.indexOf(":") + 1).trim());
  return { status: Number(statusLine?.split(" ")[1]), headers, body: output.slice(split + 4) };
}

async function ignoredCount(route: string): Promise<number> {
  const metrics = await (await fetch(`${appliance.url}/metrics`)).text();
  const line = metrics.split("\n").find((l) => l.startsWith(`boot_operator_forwarded_for_ignored_total{route="${route}"}`));
  return Number(line?.split(" ").at(-1) ?? 0);
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "boot-operator-gocompat-"));
  await writeFile(join(work, "resources.yaml"), RESOURCES);
  appliance = await startAppliance(["--source", `dir:${work}`, "--public-url", PUBLIC, "--default-uki-url", DEFAULT_UKI, "--trusted-proxies", "127.0.0.2/32"]);
  await appliance.waitReady();
});

afterAll(async () => {
  await appliance?.stop();
  await rm(work, { recursive: true, force: true });
});

describe("Go-era resources are served", () => {
  test("a tftp kernel and an nfs initrd go into the default script as they are", async () => {
    const script = await (await fetch(`${appliance.url}/ipxe/${UUID_TFTP}`)).text();
    expect(script).toContain("\nkernel tftp://10.0.0.1/vmlinuz initrd=initrd ip=any ");
    expect(script).toContain("\ninitrd --name initrd nfs://10.0.0.1/srv/initrd || goto failed\n");
    expect(script).not.toContain("gl.url");
  });

  test("a custom script without kernelURL is served as written; the chainload set the ipxe-svc and base-url it uses", async () => {
    const response = await fetch(`${appliance.url}/ipxe/${UUID_CUSTOM}`);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe(CUSTOM_SCRIPT);
    const chainload = await (await fetch(`${appliance.url}/ipxe`)).text();
    expect(chainload).toContain(`set ipxe-svc ${PUBLIC}\nset base-url \${ipxe-svc}/ipxe\n`);
  });

  test('ukiURL "" answers the default UKI with the config\'s SystemUUID', async () => {
    const response = await requestFrom("127.0.0.7", "/httpboot");
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body)).toEqual({ ClientIPs: "127.0.0.7", UKIURL: DEFAULT_UKI, SystemUUID: UUID_NO_UKI });
  });
});

describe("X-Forwarded-For from a peer outside --trusted-proxies", () => {
  test("is not believed, and the answer, a counter and one log line per peer per minute say so", async () => {
    const before = await ignoredCount("/httpboot");
    // FeDHCP's header: the leased address and the client's MAC.
    for (let i = 0; i < 3; i++) {
      const response = await requestFrom("127.0.0.7", "/httpboot", "10.9.9.9, aa:bb:cc:dd:ee:ff");
      expect(response.status).toBe(200);
      expect(JSON.parse(response.body)).toMatchObject({ ClientIPs: "127.0.0.7", SystemUUID: UUID_NO_UKI });
      expect(response.headers.get("x-boot-operator-forwarded-for")).toBe("ignored (peer 127.0.0.7 is not in --trusted-proxies)");
    }
    for (let i = 0; i < 2; i++) {
      const response = await requestFrom("127.0.0.8", "/httpboot", "10.9.9.8");
      expect(response.status).toBe(200);
      expect(response.headers.get("x-boot-operator-forwarded-for")).toBe("ignored (peer 127.0.0.8 is not in --trusted-proxies)");
    }
    expect(await ignoredCount("/httpboot")).toBe(before + 5);
    const notices = await eventually(async () => {
      const lines = appliance.logs.filter((line) => line.msg === NOTICE_LOG && line.route === "/httpboot");
      return lines.some((line) => line.peer === "127.0.0.8") ? lines : undefined;
    }, "notice for 127.0.0.8 logged");
    expect(notices.filter((line) => line.peer === "127.0.0.7")).toHaveLength(1);
    expect(notices.filter((line) => line.peer === "127.0.0.8")).toHaveLength(1);
    expect(notices[0]).toMatchObject({ level: "warn", peer: "127.0.0.7", forwardedFor: "10.9.9.9, aa:bb:cc:dd:ee:ff", suppressedSinceLastLine: 0 });
  });

  test("the second-stage iPXE route reports it too", async () => {
    const before = await ignoredCount("/ipxe/:uuid");
    const response = await requestFrom("127.0.0.9", `/ipxe/${UUID_TFTP}`, "10.9.9.9");
    expect(response.status).toBe(200);
    expect(response.headers.get("x-boot-operator-forwarded-for")).toBe("ignored (peer 127.0.0.9 is not in --trusted-proxies)");
    expect(await ignoredCount("/ipxe/:uuid")).toBe(before + 1);
  });

  test("from a trusted proxy it is used: no notice, nothing counted", async () => {
    const before = await ignoredCount("/httpboot");
    const response = await requestFrom("127.0.0.2", "/httpboot", "127.0.0.7");
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body)).toEqual({ ClientIPs: "127.0.0.7", UKIURL: DEFAULT_UKI, SystemUUID: UUID_NO_UKI });
    expect(response.headers.get("x-boot-operator-forwarded-for")).toBeNull();
    expect(await ignoredCount("/httpboot")).toBe(before);
    expect(appliance.logs.some((line) => line.msg === NOTICE_LOG && line.peer === "127.0.0.2")).toBe(false);
  });

  test("without the header nothing is reported", async () => {
    const response = await requestFrom("127.0.0.10", "/httpboot");
    expect(response.headers.get("x-boot-operator-forwarded-for")).toBeNull();
  });
});

describe("started the Go operator's way", () => {
  test("as /manager without arguments: serve with the Go manager's defaults (settings from the environment here)", async () => {
    const manager = join(work, "manager");
    await symlink(requireBinary(), manager);
    const app = await startAppliance([], {
      binary: manager,
      goManager: true,
      env: {
        // kube would be the default; the environment wins, as it does for every flag.
        BOOT_OPERATOR_SOURCE: "embedded:samples",
        BOOT_OPERATOR_LISTEN: "127.0.0.1:0",
        BOOT_OPERATOR_HEALTH_PROBE_BIND_ADDRESS: "127.0.0.1:0",
        BOOT_OPERATOR_METRICS_BIND_ADDRESS: "0",
        BOOT_OPERATOR_IMAGE_PROXY_SERVER_ADDRESS: "0",
      },
    });
    try {
      const listening = await app.waitForLog((line) => line.msg === "boot server listening");
      expect(String(listening.startedAs)).toContain("Go operator's manager");
      const probes = await app.waitForLog((line) => line.msg === "side listener");
      expect(probes.serves).toEqual(["health probes"]);
      await eventually(async () => (await fetch(`${String(probes.url)}/readyz`)).status === 200, "readyz on the probe listener");
      // The Go manager's --metrics-secure default is true: said once.
      expect(app.logs.filter((line) => line.level === "warn").map((line) => line.flag)).toEqual(["--metrics-secure"]);
    } finally {
      expect(await app.stop()).toBe(0);
    }
  });

  test("--metrics-cert-path serves the metrics listener over HTTPS with the certificate given", async () => {
    const certs = join(work, "certs");
    const openssl = Bun.spawnSync(
      ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1"].concat([
        "-addext",
        "subjectAltName=IP:127.0.0.1",
        "-keyout",
        join(work, "metrics.key"),
        "-out",
        join(work, "metrics.crt"),
      ]),
      { stderr: "pipe" },
    );
    expect(openssl.exitCode, openssl.stderr.toString()).toBe(0);
    await Bun.write(join(certs, "tls.crt"), Bun.file(join(work, "metrics.crt")));
    await Bun.write(join(certs, "tls.key"), Bun.file(join(work, "metrics.key")));
    const app = await startAppliance(["--metrics-bind-address", "127.0.0.1:0", "--metrics-cert-path", certs]);
    try {
      const metrics = await app.waitForLog((line) => line.msg === "side listener");
      expect(String(metrics.url)).toStartWith("https://127.0.0.1:");
      const response = await fetch(`${String(metrics.url)}/metrics`, { tls: { ca: await Bun.file(join(certs, "tls.crt")).text() } });
      expect(response.status).toBe(200);
      expect(await response.text()).toContain("boot_operator_http_requests_total");
    } finally {
      await app.stop();
    }
  });

  test("a Go flag value the Go manager refuses stops the start too (exit 2), naming the flag", async () => {
    const { code, stderr } = await runCommand(["--controllers=ipxebootconfig,bogus", "--source", "embedded"]);
    expect(code).toBe(2);
    expect(stderr).toContain('unknown controller "bogus"');
  });
});
