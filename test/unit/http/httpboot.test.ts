// /httpboot in process: the DHCP server's question "which UKI for this machine?", asked directly by the machine or
// by a trusted proxy naming it in X-Forwarded-For, with and without a default UKI.
import { describe, expect, test } from "bun:test";
import { httpConfig } from "../fixtures.ts";
import { testApp } from "./harness.ts";

const UUID = "52a1f4c0-93b1-4d6e-a3b0-6f4e1c2d9b07";
const PUBLIC = "http://boot.test:8082";
const resources = {
  http: [
    httpConfig("machine-2", { systemUUID: UUID, networkIdentifiers: ["10.9.0.2", "52:54:00:aa:bb:02"], ukiURL: "/uki/boot.efi" }),
    httpConfig("remote-uki", { networkIdentifiers: ["10.9.0.3"], ukiURL: "http://mirror.example/uki.efi" }),
    httpConfig("no-uki", { networkIdentifiers: ["10.9.0.4"] }),
  ],
};
const TRUSTED = { trustedProxies: ["192.0.2.0/24", "fd00::/8"] };

describe("/httpboot", () => {
  test("a machine asking itself gets its UKI URL (made absolute) in the Go operator's JSON shape", async () => {
    const subject = testApp(resources);
    const response = await subject.request("/httpboot", { from: "10.9.0.2" });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/json");
    expect(await response.json()).toEqual({ ClientIPs: "10.9.0.2", UKIURL: `${PUBLIC}/uki/boot.efi`, SystemUUID: UUID });
    expect(subject.served).toMatchObject([
      { milestone: "httpboot", kind: "HTTPBootConfig", configKey: "default/machine-2", client: "10.9.0.2", path: "/httpboot" },
    ]);
    const remote = await subject.request("/httpboot", { from: "10.9.0.3" });
    expect(await remote.json()).toEqual({ ClientIPs: "10.9.0.3", UKIURL: "http://mirror.example/uki.efi", SystemUUID: "" });
  });

  test("a trusted proxy names the machine in X-Forwarded-For (IP or MAC); its own address is never used", async () => {
    const subject = testApp(resources, { settings: TRUSTED });
    const byMac = await subject.request("/httpboot", { from: "192.0.2.1", headers: { "X-Forwarded-For": "52-54-00-AA-BB-02" } });
    expect(await byMac.json()).toEqual({ ClientIPs: "52:54:00:aa:bb:02", UKIURL: `${PUBLIC}/uki/boot.efi`, SystemUUID: UUID });
    expect(subject.logs.find((line) => line.msg === "served httpboot answer")).toMatchObject({ matchedBy: "mac", via: "forwarded" });
    const several = await subject.request("/httpboot", { from: "fd00::1", headers: { "X-Forwarded-For": "10.200.0.1, 10.9.0.2" } });
    expect(await several.json()).toMatchObject({ ClientIPs: "10.200.0.1,10.9.0.2", SystemUUID: UUID });
  });

  test("an untrusted peer's X-Forwarded-For is ignored", async () => {
    const subject = testApp(resources, { settings: TRUSTED });
    const response = await subject.request("/httpboot", { from: "10.8.0.1", headers: { "X-Forwarded-For": "10.9.0.2" } });
    expect(response.status).toBe(404);
    expect(await response.text()).toBe("no HTTPBootConfig claims 10.8.0.1 and no default UKI is configured\n");
  });

  test.each([
    [{}, "request from trusted proxy 192.0.2.1 carries no X-Forwarded-For naming the booting machine"],
    [{ "X-Forwarded-For": "10.9.0.2, bogus" }, 'X-Forwarded-For entry "bogus" is neither an IP nor a MAC address'],
  ])("a trusted proxy with X-Forwarded-For %j → 400", async (headers, reason) => {
    const response = await testApp(resources, { settings: TRUSTED }).request("/httpboot", { from: "192.0.2.1", headers });
    expect(response.status).toBe(400);
    expect(await response.text()).toBe(`${reason}\n`);
  });

  test("no socket address at all (cannot happen behind Bun.serve) is a 400, not a crash", async () => {
    const subject = testApp(resources);
    const response = await subject.app.request("/httpboot");
    expect(response.status).toBe(400);
    expect(await response.text()).toBe('cannot parse the peer address ""\n');
  });

  test("unknown machines get the default UKI when one is configured", async () => {
    const subject = testApp(resources, { settings: { defaultUkiUrl: () => "/httpboot/ghcr.io/x/sha256-aa.efi" } });
    const response = await subject.request("/httpboot", { from: "10.50.0.1" });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ClientIPs: "10.50.0.1", UKIURL: `${PUBLIC}/httpboot/ghcr.io/x/sha256-aa.efi`, SystemUUID: "" });
    expect(subject.served).toEqual([]);
  });

  test("a config without ukiURL (as the Go operator writes it) gets the default UKI; without a default, a 404 that says so", async () => {
    const withDefault = testApp(resources, { settings: { defaultUkiUrl: () => "http://default.example/uki.efi" } });
    const response = await withDefault.request("/httpboot", { from: "10.9.0.4" });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ ClientIPs: "10.9.0.4", UKIURL: "http://default.example/uki.efi" });
    const withoutDefault = testApp(resources, { settings: { defaultUkiUrl: () => undefined } });
    const refused = await withoutDefault.request("/httpboot", { from: "10.9.0.4" });
    expect(refused.status).toBe(404);
    expect(await refused.text()).toBe("HTTPBootConfig default/no-uki has no ukiURL and no default UKI is configured\n");
  });

  test("without --public-url the Host header is the base of relative UKI URLs", async () => {
    const subject = testApp(resources, { settings: { publicUrl: undefined } });
    const response = await subject.request("/httpboot", { from: "10.9.0.2", headers: { Host: "[fd00::5]:8082" } });
    expect(await response.json()).toMatchObject({ UKIURL: "http://[fd00::5]:8082/uki/boot.efi" });
  });
});
