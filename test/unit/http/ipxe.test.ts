// /ipxe and /ipxe/{uuid} in process: chainload, second stage by UUID, MAC, client or forwarded address, custom
// scripts, and every 400/404/500 with its reason.
import { describe, expect, test } from "bun:test";
import { httpConfig, ipxeConfig, secret } from "../fixtures.ts";
import { testApp } from "./harness.ts";

const UUID = "4c4c4544-0042-3510-8052-b4c04f4a4e31";
const UUID_SWAPPED = "44454c4c-4200-1035-8052-b4c04f4a4e31";
const UUID_MAC_ONLY = "52a1f4c0-93b1-4d6e-a3b0-6f4e1c2d9b07";
const UUID_CUSTOM = "9b8f2f7e-1f0a-4a57-9d55-0c1f6a3e2b11";
const UUID_ARGS = "6d1e9c43-8f55-4c8e-9a7b-2f4d1a0b3c5e";
const PUBLIC = "http://boot.test:8082";

const resources = {
  ipxe: [
    ipxeConfig("machine-1", {
      systemUUID: UUID.toUpperCase(),
      systemIPs: ["10.9.0.1"],
      kernelURL: "/uki/vmlinuz",
      squashfsURL: "http://mirror.example/root.squashfs",
    }),
    ipxeConfig("by-mac", { systemUUID: UUID_MAC_ONLY }),
    ipxeConfig("discovery", { kernelURL: "http://files.example/discovery", kernelArgs: ["discovery=1"] }, { namespace: "rescue" }),
    ipxeConfig("with-args", { systemUUID: UUID_ARGS, kernelArgs: ["console=ttyS1,115200", "rd.debug"] }),
    ipxeConfig("custom", { systemUUID: UUID_CUSTOM, ipxeScriptSecretRef: { name: "script" } }),
    ipxeConfig("no-script-secret", { systemUUID: "00000000-0000-4000-8000-000000000001", ipxeScriptSecretRef: { name: "missing" } }),
    ipxeConfig("script-without-key", { systemUUID: "00000000-0000-4000-8000-000000000002", ipxeScriptSecretRef: { name: "keyless" } }),
    ipxeConfig("broken-script", { systemUUID: "00000000-0000-4000-8000-000000000003", ipxeScriptSecretRef: { name: "broken" } }),
  ],
  http: [httpConfig("by-mac", { systemUUID: UUID_MAC_ONLY, networkIdentifiers: ["52:54:00:aa:bb:02"] })],
  secrets: [
    secret("script", { "ipxe-script": "#!ipxe\nchain {{.PublicURL}}/uki/{{.ConfigName}}.efi {{.SystemUUID}}\n" }),
    secret("keyless", { other: "x" }),
    secret("broken", { "ipxe-script": "#!ipxe\nkernel {{.Kernel}}\n" }),
  ],
};

describe("/ipxe: first stage", () => {
  test.each(["/ipxe", "/ipxe/"])("%p chainloads to the second stage with the machine's identity", async (path) => {
    const subject = testApp(resources);
    const response = await subject.request(path);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/plain; charset=utf-8");
    expect(response.headers.get("cache-control")).toBe("no-store");
    const script = await response.text();
    expect(script).toStartWith("#!ipxe\n");
    // The Go operator's variables, which custom scripts written for it use.
    expect(script).toContain(`set ipxe-svc ${PUBLIC}\nset base-url \${ipxe-svc}/ipxe\n`);
    expect(script).toContain("chain --replace --autofree ${base-url}/${uuid}?mac=${mac:hexhyp}&arch=${buildarch}");
    expect(subject.served).toMatchObject([{ milestone: "ipxe-chainload", client: "127.0.0.1", path }]);
  });

  test("without --public-url the Host header names the appliance", async () => {
    const subject = testApp(resources, { settings: { publicUrl: undefined } });
    const script = await (await subject.request("/ipxe", { headers: { Host: "10.0.0.1:8082" } })).text();
    expect(script).toContain("set ipxe-svc http://10.0.0.1:8082\n");
    const hostile = await subject.request("/ipxe", { headers: { Host: "evil/x@y" } });
    expect(hostile.status).toBe(400);
    expect(await hostile.text()).toBe('cannot render boot URLs: Host header "evil/x@y" and no --public-url is set\n');
  });

  test("/ipxe/?mac= (a machine without SMBIOS UUID) is the second stage, not another chainload", async () => {
    const subject = testApp(resources);
    const response = await subject.request("/ipxe/?mac=52-54-00-aa-bb-02&arch=x86_64");
    expect(response.status).toBe(200);
    expect(await response.text()).toContain("# boot-operator: default/by-mac");
    expect(subject.served).toMatchObject([{ milestone: "ipxe-script", configKey: "default/by-mac" }]);
    const unknown = await subject.request("/ipxe?mac=52-54-00-00-00-99");
    expect(unknown.status).toBe(404);
    expect(await unknown.text()).toBe("no IPXEBootConfig matches uuid (none), mac 52:54:00:00:00:99, address 127.0.0.1\n");
  });

  test("a malformed mac is a 400 naming it", async () => {
    const response = await testApp(resources).request("/ipxe/?mac=zz");
    expect(response.status).toBe(400);
    expect(await response.text()).toBe('invalid mac query parameter "zz"\n');
  });
});

describe("/ipxe/{uuid}: second stage", () => {
  test("the default script, with config URLs made absolute and the live-boot arguments", async () => {
    const subject = testApp(resources);
    const response = await subject.request(`/ipxe/${UUID}`, { from: "10.1.1.1" });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/plain; charset=utf-8");
    const script = await response.text();
    expect(script).toContain("# boot-operator: default/machine-1");
    expect(script).toContain(`kernel ${PUBLIC}/uki/vmlinuz initrd=initrd gl.ovl=/:tmpfs gl.url=http://mirror.example/root.squashfs`);
    expect(script).toContain(`ignition.config.url=${PUBLIC}/ignition/\${uuid}`);
    expect(script).toContain("initrd --name initrd http://files.example/initrd");
    expect(subject.served).toMatchObject([{ milestone: "ipxe-script", kind: "IPXEBootConfig", configKey: "default/machine-1", client: "10.1.1.1" }]);
    expect(subject.logs.find((line) => line.msg === "served iPXE script")).toMatchObject({ matchedBy: "uuid", custom: false });
  });

  test("spec.kernelArgs come after the default arguments (so they override them), before the failure branch", async () => {
    const script = await (await testApp(resources).request(`/ipxe/${UUID_ARGS}`)).text();
    expect(script).toContain("SYSTEMD_SULOGIN_FORCE=1 consoleblank=0 console=ttyS1,115200 rd.debug || goto failed\n");
    const without = await (await testApp(resources).request(`/ipxe/${UUID}`)).text();
    expect(without).toContain("consoleblank=0 || goto failed\n");
  });

  test("--default-ipxe-config: an unknown machine gets that config's script, with its own UUID", async () => {
    const unknown = "11111111-2222-4333-8444-555555555555";
    const subject = testApp(resources, { settings: { defaultIpxeConfig: "rescue/discovery" } });
    const response = await subject.request(`/ipxe/${unknown}`, { from: "10.7.7.7" });
    expect(response.status).toBe(200);
    const script = await response.text();
    expect(script).toContain("# boot-operator: rescue/discovery\nkernel http://files.example/discovery initrd=initrd");
    expect(script).toContain("consoleblank=0 discovery=1 || goto failed");
    expect(subject.logs.find((line) => line.msg === "served iPXE script")).toMatchObject({ config: "rescue/discovery", matchedBy: "default" });
    // A machine a config names still gets its own.
    expect(await (await subject.request(`/ipxe/${UUID}`)).text()).toContain("# boot-operator: default/machine-1");
    // Without the flag, or naming a config that does not exist: 404, saying which.
    expect((await testApp(resources).request(`/ipxe/${unknown}`)).status).toBe(404);
    const missing = await testApp(resources, { settings: { defaultIpxeConfig: "rescue/gone" } }).request(`/ipxe/${unknown}`);
    expect(missing.status).toBe(404);
    expect(await missing.text()).toContain("; the --default-ipxe-config IPXEBootConfig rescue/gone does not exist");
  });

  test("UUIDs match case-insensitively and byte-swapped (SMBIOS order)", async () => {
    const subject = testApp(resources);
    expect(await (await subject.request(`/ipxe/${UUID.toUpperCase()}`)).text()).toContain("default/machine-1");
    expect(await (await subject.request(`/ipxe/${UUID_SWAPPED}`)).text()).toContain("default/machine-1");
    expect(subject.logs.filter((line) => line.msg === "served iPXE script").map((line) => line.matchedBy)).toEqual(["uuid", "uuid-byte-swapped"]);
  });

  test("an unknown UUID falls back to the client address (systemIPs), then to a trusted proxy's X-Forwarded-For", async () => {
    const unknown = "11111111-2222-4333-8444-555555555555";
    const direct = testApp(resources);
    expect(await (await direct.request(`/ipxe/${unknown}`, { from: "10.9.0.1" })).text()).toContain("default/machine-1");
    const proxied = testApp(resources, { settings: { trustedProxies: ["192.0.2.0/24"] } });
    const viaRelay = await proxied.request(`/ipxe/${unknown}`, { from: "192.0.2.1", headers: { "X-Forwarded-For": "10.9.0.1" } });
    expect(await viaRelay.text()).toContain("default/machine-1");
    // An untrusted peer's X-Forwarded-For is ignored: the peer itself is the machine.
    const spoofed = await direct.request(`/ipxe/${unknown}`, { from: "10.7.7.7", headers: { "X-Forwarded-For": "10.9.0.1" } });
    expect(spoofed.status).toBe(404);
    expect(await spoofed.text()).toBe(`no IPXEBootConfig matches uuid ${unknown}, mac (none), address 10.7.7.7\n`);
  });

  test("a custom script from ipxeScriptSecretRef is rendered with the same fields", async () => {
    const subject = testApp(resources);
    const response = await subject.request(`/ipxe/${UUID_CUSTOM}`);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe(`#!ipxe\nchain ${PUBLIC}/uki/custom.efi ${UUID_CUSTOM}\n`);
    expect(subject.logs.find((line) => line.msg === "served iPXE script")).toMatchObject({ custom: true });
  });

  test.each([
    ["not-a-uuid", 400, 'invalid machine UUID "not-a-uuid"'],
    ["11111111-2222-4333-8444-555555555555", 404, "no IPXEBootConfig matches uuid 11111111-2222-4333-8444-555555555555, mac (none), address 127.0.0.1"],
    ["00000000-0000-4000-8000-000000000001", 404, "ipxe-script secret default/missing referenced by IPXEBootConfig default/no-script-secret does not exist"],
    ["00000000-0000-4000-8000-000000000002", 404, 'secret default/keyless has no key "ipxe-script"'],
    ["00000000-0000-4000-8000-000000000003", 500, 'ipxe-script in secret default/broken: line 2: unknown template field ".Kernel"'],
  ])("/ipxe/%s → %d with its reason", async (uuid, status, reason) => {
    const subject = testApp(resources);
    const response = await subject.request(`/ipxe/${uuid}`);
    expect(response.status).toBe(status);
    expect(response.headers.get("content-type")).toBe("text/plain; charset=utf-8");
    expect((await response.text()).split("\n")[0]).toStartWith(reason);
    expect(subject.served).toEqual([]);
  });
});
