// The compiled binary, run as users run it, against a temporary resource directory and UKI directory.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdir, mkdtemp, rename, rm, symlink, truncate, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Appliance, rssKiB, startAppliance } from "../harness/appliance.ts";
import { defined } from "../harness/defined.ts";
import { eventually } from "../harness/wait.ts";

const UUID_1 = "4c4c4544-0042-3510-8052-b4c04f4a4e31";
const UUID_1_SWAPPED = "44454c4c-4200-1035-8052-b4c04f4a4e31";
const UUID_2 = "52a1f4c0-93b1-4d6e-a3b0-6f4e1c2d9b07";
const UUID_3 = "9b8f2f7e-1f0a-4a57-9d55-0c1f6a3e2b11";
const UUID_NO_SECRET = "0e5a5f43-41a4-4d5a-a2f4-3d6c3bb1f0aa";
const IGNITION_1 = '{"ignition":{"version":"3.4.0"},"passwd":{"users":[{"name":"core"}]}}';

const RESOURCES = `apiVersion: boot.ironcore.dev/v1alpha1
kind: IPXEBootConfig
metadata: {name: machine-1, namespace: rack-a}
spec:
  systemUUID: ${UUID_1.toUpperCase()}
  systemIPs: ["10.9.0.1"]
  kernelURL: /uki/vmlinuz
  initrdURL: http://mirror.example/initrd.img
  squashfsURL: http://mirror.example/root.squashfs
  ignitionSecretRef: {name: machine-1}
---
apiVersion: v1
kind: Secret
metadata: {name: machine-1, namespace: rack-a}
data:
  ignition: ${Buffer.from(IGNITION_1).toString("base64")}
---
apiVersion: boot.ironcore.dev/v1alpha1
kind: HTTPBootConfig
metadata: {name: machine-2, namespace: rack-a}
spec:
  systemUUID: ${UUID_2}
  networkIdentifiers: ["127.0.0.1", "10.9.0.2", "52:54:00:aa:bb:02"]
  ukiURL: /uki/boot.efi
  ignitionSecretRef: {name: machine-2}
---
apiVersion: v1
kind: Secret
metadata: {name: machine-2, namespace: rack-a}
stringData:
  format: fcos
  ignition: |
    variant: fcos
    version: 1.5.0
    storage:
      files:
        - path: /etc/hostname
          mode: 0644
          contents:
            inline: machine-2
`;

const CUSTOM = `apiVersion: boot.ironcore.dev/v1alpha1
kind: IPXEBootConfig
metadata: {name: machine-3}
spec:
  systemUUID: ${UUID_3}
  kernelURL: http://k/vmlinuz
  initrdURL: http://k/initrd
  ipxeScriptSecretRef: {name: machine-3-script}
  ignitionSecretRef: {name: machine-3-script}
---
apiVersion: v1
kind: Secret
metadata: {name: machine-3-script}
stringData:
  ipxe-script: |
    #!ipxe
    chain {{.PublicURL}}/uki/boot.efi
  ignition: "not json"
---
apiVersion: boot.ironcore.dev/v1alpha1
kind: IPXEBootConfig
metadata: {name: machine-no-secret}
spec:
  systemUUID: ${UUID_NO_SECRET}
  kernelURL: http://k/vmlinuz
  initrdURL: http://k/initrd
  ignitionSecretRef: {name: does-not-exist}
`;

let work: string;
let resources: string;
let uki: string;
let appliance: Appliance;
const PUBLIC = "http://boot.test:8082";
/** Live reload is meant to take well under a second: poll often, give up after 5 s. */
const RELOAD_WAIT = { timeoutMs: 5_000, intervalMs: 25 };

async function get(path: string, init?: RequestInit): Promise<Response> {
  return fetch(`${appliance.url}${path}`, init);
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "boot-operator-it-"));
  resources = join(work, "resources");
  uki = join(work, "uki");
  await mkdir(join(resources, "nested"), { recursive: true });
  await mkdir(join(uki, "sub"), { recursive: true });
  await writeFile(join(resources, "machines.yaml"), RESOURCES);
  await writeFile(join(resources, "nested", "custom.yml"), CUSTOM);
  await writeFile(join(resources, "notes.txt"), "not a resource file, ignored");
  await writeFile(join(uki, "boot.efi"), Buffer.alloc(100_000, 7));
  await writeFile(join(uki, "vmlinuz"), "kernel-bytes");
  await writeFile(join(uki, "sub", "initrd.img"), "0123456789");
  await writeFile(join(work, "secret.txt"), "outside the uki dir");
  await symlink(join(work, "secret.txt"), join(uki, "escape"));
  await symlink(join(uki, "vmlinuz"), join(uki, "inside-link"));
  appliance = await startAppliance(["--source", `dir:${resources}`, "--uki-dir", uki, "--trusted-proxies", "127.0.0.2/32,fd00::/8", "--log-level", "debug"], {
    env: { BOOT_OPERATOR_PUBLIC_URL: `${PUBLIC}/` },
  });
  await appliance.waitReady();
});

afterAll(async () => {
  await appliance?.stop();
  await rm(work, { recursive: true, force: true });
});

describe("health and metrics", () => {
  test("healthz and readyz", async () => {
    expect((await get("/healthz")).status).toBe(200);
    expect(await (await get("/readyz")).text()).toBe("ok\n");
  });
  test("metrics count configs, requests and milestones", async () => {
    await get(`/ipxe/${UUID_1}`);
    // The by-state gauges follow the diagnosis, which waits for Butane translations on the worker: await them.
    const text = await eventually(async () => {
      const metrics = await (await get("/metrics")).text();
      return metrics.includes('boot_operator_configs{kind="IPXEBootConfig",state=') && metrics;
    }, "the by-state config gauges");
    // By state: two of this file's three IPXEBootConfigs are broken on purpose (a Butane error, a missing secret).
    expect(text).toContain('boot_operator_configs{kind="IPXEBootConfig",state="Ready"} 1');
    expect(text).toContain('boot_operator_configs{kind="IPXEBootConfig",state="Error"} 2');
    expect(text).toContain('boot_operator_configs{kind="HTTPBootConfig",state="Ready"} 1');
    expect(text).toContain('boot_operator_resource_problems{severity="error"} 2');
    expect(text).toMatch(/boot_operator_build_info\{version="[^"]+",commit="[^"]+"\} 1/);
    expect(text).toMatch(/process_resident_memory_bytes [1-9]\d+/);
    expect(text).toMatch(/process_open_fds [1-9]\d*/);
    expect(text).toMatch(/process_cpu_seconds_total \d/);
    expect(text).toMatch(/boot_operator_http_requests_total\{route="\/ipxe\/:uuid",method="GET",status="200"\} \d+/);
    expect(text).toMatch(/boot_operator_http_request_duration_seconds_bucket\{route="\/ipxe\/:uuid",le="\+Inf"\} \d+/);
    expect(text).toMatch(/boot_operator_boot_milestones_total\{milestone="ipxe-script"\} \d+/);
    expect(text).toContain("boot_operator_identifier_conflicts 0");
  });
});

describe("/ipxe", () => {
  test("chainload script points at the second stage with uuid, mac and arch", async () => {
    for (const path of ["/ipxe", "/ipxe/"]) {
      const response = await get(path);
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toStartWith("text/plain");
      const body = await response.text();
      expect(body).toStartWith("#!ipxe\n");
      expect(body).toContain(`set ipxe-svc ${PUBLIC}\nset base-url \${ipxe-svc}/ipxe\n`);
      expect(body).toContain(`chain --replace --autofree \${base-url}/\${uuid}?mac=\${mac:hexhyp}&arch=\${buildarch}`);
    }
  });

  test("default script, matched by UUID in any case and in SMBIOS byte order", async () => {
    for (const uuid of [UUID_1, UUID_1.toUpperCase(), UUID_1_SWAPPED]) {
      const response = await get(`/ipxe/${uuid}?mac=52-54-00-aa-bb-01&arch=x86_64`);
      expect(response.status).toBe(200);
      const script = await response.text();
      expect(script).toContain(
        `kernel ${PUBLIC}/uki/vmlinuz initrd=initrd gl.ovl=/:tmpfs gl.url=http://mirror.example/root.squashfs gl.live=1 ip=any ignition.firstboot=1 ignition.config.url=${PUBLIC}/ignition/\${uuid} ignition.platform.id=metal`,
      );
      expect(script).toContain("initrd --name initrd http://mirror.example/initrd.img");
      expect(script).toContain("boot");
    }
  });

  test("a machine without UUID reaches the second stage through /ipxe/?mac=… instead of looping", async () => {
    const response = await get("/ipxe/?mac=52-54-00-aa-bb-02&arch=x86_64");
    // The MAC belongs to HTTPBootConfig machine-2 whose UUID has no IPXEBootConfig: a clear 404, not the chain script.
    expect(response.status).toBe(404);
    expect(await response.text()).toContain("no IPXEBootConfig matches");
  });

  test("custom script from the secret, rendered with template fields", async () => {
    const response = await get(`/ipxe/${UUID_3}`);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe(`#!ipxe\nchain ${PUBLIC}/uki/boot.efi\n`);
  });

  test("unknown machine: 404 with a one-line reason; malformed UUID or MAC: 400", async () => {
    const unknown = await get("/ipxe/00000000-0000-0000-0000-000000000000");
    expect(unknown.status).toBe(404);
    const text = await unknown.text();
    expect(text.trim().split("\n")).toHaveLength(1);
    expect(text).toContain("no IPXEBootConfig matches uuid 00000000-0000-0000-0000-000000000000");
    expect((await get("/ipxe/not-a-uuid")).status).toBe(400);
    expect((await get(`/ipxe/${UUID_1}?mac=zz`)).status).toBe(400);
  });
});

describe("/ignition", () => {
  test("raw Ignition JSON from base64 data, byte for byte", async () => {
    const response = await get(`/ignition/${UUID_1}`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/json");
    expect(await response.text()).toBe(IGNITION_1);
  });

  test("Butane (format: fcos) is translated to Ignition", async () => {
    const response = await get(`/ignition/${UUID_2}`);
    expect(response.status).toBe(200);
    const ignition = (await response.json()) as { ignition: { version: string }; storage: { files: { path: string; mode: number }[] } };
    expect(ignition.ignition.version).toBe("3.4.0");
    expect(ignition.storage.files[0]).toMatchObject({ path: "/etc/hostname", mode: 420 });
  });

  test("missing secret → 404 naming it; invalid JSON → 500 naming the secret; unknown UUID → 404", async () => {
    const missing = await get(`/ignition/${UUID_NO_SECRET}`);
    expect(missing.status).toBe(404);
    expect(await missing.text()).toBe("ignition secret default/does-not-exist referenced by IPXEBootConfig default/machine-no-secret does not exist\n");
    const invalid = await get(`/ignition/${UUID_3}`);
    expect(invalid.status).toBe(500);
    expect(await invalid.text()).toStartWith("ignition in secret default/machine-3-script is not valid JSON");
    expect((await get("/ignition/00000000-0000-0000-0000-000000000000")).status).toBe(404);
    expect((await get("/ignition/..%2f..%2fetc")).status).toBe(400);
  });
});

describe("/httpboot", () => {
  test("an untrusted peer is identified by its own address", async () => {
    const response = await get("/httpboot", { headers: { "X-Forwarded-For": "10.9.0.99" } });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ClientIPs: "127.0.0.1", UKIURL: `${PUBLIC}/uki/boot.efi`, SystemUUID: UUID_2 });
  });

  test("a trusted proxy speaks for the machine via X-Forwarded-For (IPs and MACs)", async () => {
    // The appliance listens on 127.0.0.1; connecting from 127.0.0.2 makes the peer a trusted proxy.
    const viaProxy = async (xff?: string): Promise<Response> => {
      const proc = Bun.spawn(
        [
          "curl",
          "-s",
          "-o",
          "-",
          "-w",
          "\n%{http_code}",
          "--interface",
          "127.0.0.2",
          ...(xff ? ["-H", `X-Forwarded-For: ${xff}`] : []),
          `${appliance.url}/httpboot`,
        ],
        { stdout: "pipe" },
      );
      const output = await new Response(proc.stdout).text();
      const lines = output.trimEnd().split("\n");
      return new Response(lines.slice(0, -1).join("\n"), { status: Number(lines.at(-1)) });
    };
    const byMac = await viaProxy("10.200.0.1, 52-54-00-AA-BB-02");
    expect(byMac.status).toBe(200);
    expect(await byMac.json()).toEqual({ ClientIPs: "10.200.0.1,52:54:00:aa:bb:02", UKIURL: `${PUBLIC}/uki/boot.efi`, SystemUUID: UUID_2 });
    const noHeader = await viaProxy();
    expect(noHeader.status).toBe(400);
    expect(await noHeader.text()).toContain("trusted proxy 127.0.0.2 carries no X-Forwarded-For");
    expect((await viaProxy("10.200.0.1")).status).toBe(404);
  });
});

describe("/uki", () => {
  test("GET serves the file as application/efi with validators", async () => {
    const response = await get("/uki/boot.efi");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/efi");
    expect(response.headers.get("content-length")).toBe("100000");
    expect(response.headers.get("accept-ranges")).toBe("bytes");
    expect(response.headers.get("etag")).toMatch(/^"[0-9a-f]+-[0-9a-f]+-[0-9a-f]+"$/);
    expect(response.headers.get("last-modified")).toEndWith("GMT");
    expect((await response.arrayBuffer()).byteLength).toBe(100_000);
    expect(await get("/uki/sub/initrd.img").then((r) => r.text())).toBe("0123456789");
  });

  test("HEAD has the real Content-Length and no body", async () => {
    const response = await get("/uki/boot.efi", { method: "HEAD" });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-length")).toBe("100000");
    expect((await response.arrayBuffer()).byteLength).toBe(0);
  });

  test("single ranges → 206; past the end → 416; multiple ranges → whole file", async () => {
    const partial = await get("/uki/sub/initrd.img", { headers: { Range: "bytes=2-5" } });
    expect(partial.status).toBe(206);
    expect(partial.headers.get("content-range")).toBe("bytes 2-5/10");
    expect(await partial.text()).toBe("2345");
    const suffix = await get("/uki/sub/initrd.img", { headers: { Range: "bytes=-3" } });
    expect(await suffix.text()).toBe("789");
    const open = await get("/uki/sub/initrd.img", { headers: { Range: "bytes=7-" } });
    expect(await open.text()).toBe("789");
    const beyond = await get("/uki/sub/initrd.img", { headers: { Range: "bytes=10-20" } });
    expect(beyond.status).toBe(416);
    expect(beyond.headers.get("content-range")).toBe("bytes */10");
    const multi = await get("/uki/sub/initrd.img", { headers: { Range: "bytes=0-1,3-4" } });
    expect(multi.status).toBe(200);
  });

  test("If-None-Match and If-Modified-Since → 304; a stale If-Range gets the whole file", async () => {
    const first = await get("/uki/boot.efi");
    await first.arrayBuffer();
    const etag = defined(first.headers.get("etag"), "an ETag header");
    const lastModified = defined(first.headers.get("last-modified"), "a Last-Modified header");
    expect((await get("/uki/boot.efi", { headers: { "If-None-Match": etag } })).status).toBe(304);
    expect((await get("/uki/boot.efi", { headers: { "If-None-Match": `"other", ${etag}` } })).status).toBe(304);
    expect((await get("/uki/boot.efi", { headers: { "If-Modified-Since": lastModified } })).status).toBe(304);
    expect((await get("/uki/boot.efi", { headers: { "If-None-Match": '"other"' } })).status).toBe(200);
    const stale = await get("/uki/sub/initrd.img", { headers: { Range: "bytes=0-1", "If-Range": '"stale"' } });
    expect(stale.status).toBe(200);
    // Replacing the file changes the ETag.
    await utimes(join(uki, "boot.efi"), new Date(), new Date(Date.now() + 5_000));
    expect((await get("/uki/boot.efi", { headers: { "If-None-Match": etag } })).status).toBe(200);
  });

  test("traversal, encoded separators, NUL bytes and symlinks out of the directory never leave it", async () => {
    const cases: [string, number[]][] = [
      ["/uki/..%2fsecret.txt", [400]],
      ["/uki/%2e%2e/secret.txt", [404]],
      ["/uki/sub/..%2f..%2fsecret.txt", [400]],
      ["/uki/boot.efi%00.png", [400]],
      ["/uki/escape", [404]],
      ["/uki/sub", [404]],
      ["/uki/missing.efi", [404]],
      ["/uki/%E0%A4%A", [400]],
    ];
    for (const [path, statuses] of cases) {
      const response = await get(path);
      expect(statuses).toContain(response.status);
      const body = await response.text();
      expect(body).not.toContain("outside the uki dir");
      expect(body.trim().split("\n")).toHaveLength(1);
    }
    // Raw "../" sequences sent without client-side normalisation (curl --path-as-is).
    const proc = Bun.spawn(["curl", "-s", "--path-as-is", `${appliance.url}/uki/../../etc/passwd`], { stdout: "pipe" });
    expect(await new Response(proc.stdout).text()).not.toContain("root:");
    // A symlink that stays inside the directory is fine.
    expect(await (await get("/uki/inside-link")).text()).toBe("kernel-bytes");
  });

  test("a 256 MiB file streams with flat memory", async () => {
    // Four times the allowance below: a server that buffered the file would exceed it by far. (1 GiB showed the
    // same, at four times the cost.)
    const size = 256 * 1024 * 1024;
    const big = join(uki, "big.img");
    await writeFile(big, "");
    await truncate(big, size);
    const before = await rssKiB(appliance.pid);
    const response = await get("/uki/big.img");
    expect(response.headers.get("content-length")).toBe(String(size));
    let received = 0;
    let peak = before;
    const reader = defined(response.body, "a response body").getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      received += value.byteLength;
      if (received % (16 * 1024 * 1024) < value.byteLength) peak = Math.max(peak, await rssKiB(appliance.pid));
    }
    expect(received).toBe(size);
    // The server must not buffer the file: growth far below the file size (64 MiB allowance for allocator noise).
    expect(peak - before).toBeLessThan(64 * 1024);
    await rm(big);
  });
});

describe("errors and methods", () => {
  test("wrong method → 405 with Allow; unknown route → 404; both one line", async () => {
    const post = await get(`/ipxe/${UUID_1}`, { method: "POST", body: "x" });
    expect(post.status).toBe(405);
    expect(post.headers.get("allow")).toBe("GET, HEAD");
    const unknown = await get("/nope");
    expect(unknown.status).toBe(404);
    expect(await unknown.text()).toBe("no such endpoint: /nope\n");
  });
  test("debug logs have one JSON line per request", async () => {
    await get("/healthz?probe=1");
    const line = await appliance.waitForLog((l) => l.msg === "request" && l.route === "/healthz");
    expect(line).toMatchObject({ level: "debug", method: "GET", status: 200, client: "127.0.0.1" });
  });
});

describe("live reload", () => {
  test("a changed resource is served within a second", async () => {
    const updated = RESOURCES.replace("http://mirror.example/initrd.img", "http://mirror.example/initrd-v2.img");
    await writeFile(join(resources, "machines.yaml"), updated);
    const started = performance.now();
    await eventually(async () => (await (await get(`/ipxe/${UUID_1}`)).text()).includes("initrd-v2.img"), "the changed initrd in /ipxe", RELOAD_WAIT);
    expect(performance.now() - started).toBeLessThan(3_000);
  });

  test("a broken file keeps the last good state and is reported with file and line", async () => {
    await writeFile(join(resources, "machines.yaml"), `${RESOURCES}\n  broken: [unclosed\n`);
    const line = await appliance.waitForLog((l) => l.msg === "resource problem" && String(l.problem).includes("YAML syntax error"));
    expect(String(line.file)).toEndWith("machines.yaml");
    expect((await get(`/ipxe/${UUID_1}`)).status).toBe(200);
    expect((await get(`/ignition/${UUID_2}`)).status).toBe(200);
    expect(await (await get("/metrics")).text()).toMatch(/boot_operator_resource_problems\{severity="error"\} [1-9]/);
  });

  test("an invalid edit of one resource keeps its last valid version", async () => {
    await writeFile(join(resources, "machines.yaml"), RESOURCES.replace("kernelURL: /uki/vmlinuz", "kernelURL: s3://nope"));
    await appliance.waitForLog((l) => l.msg === "resource problem" && String(l.problem).includes("spec.kernelURL"));
    expect(await (await get(`/ipxe/${UUID_1}`)).text()).toContain(`kernel ${PUBLIC}/uki/vmlinuz`);
  });

  test("deleting a file removes its configs; an atomic rename brings them back", async () => {
    await rm(join(resources, "nested", "custom.yml"));
    await eventually(async () => (await get(`/ipxe/${UUID_3}`)).status === 404, "the deleted file's config gone", RELOAD_WAIT);
    await writeFile(join(work, "custom.tmp"), CUSTOM);
    await rename(join(work, "custom.tmp"), join(resources, "nested", "custom.yml"));
    await eventually(async () => (await get(`/ipxe/${UUID_3}`)).status === 200, "the renamed file's config back", RELOAD_WAIT);
  });
});

describe("graceful shutdown", () => {
  test("SIGTERM lets an in-flight download finish, then exits 0", async () => {
    const big = join(uki, "shutdown.img");
    await writeFile(big, "");
    await truncate(big, 256 * 1024 * 1024);
    const response = await get("/uki/shutdown.img");
    const reader = defined(response.body, "a response body").getReader();
    const first = await reader.read();
    expect(first.done).toBe(false);
    const exit = appliance.stop(30_000);
    let received = defined(first.value, "a first chunk").byteLength;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      received += value.byteLength;
    }
    expect(received).toBe(256 * 1024 * 1024);
    expect(await exit).toBe(0);
    expect(appliance.logs.some((l) => l.msg === "stopped")).toBe(true);
  });
});
