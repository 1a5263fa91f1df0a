// The pure switch ZTP logic: ONIE's waterfall, who a request names (headers per protocol, then source address),
// templates over the switch's facts, SONiC ZTP JSON checks with JSON paths, the ONIE updater cookie, the script
// checks (#! for SONiC/EOS, the Cumulus marker), and the last good version of a broken Secret.
import { describe, expect, test } from "bun:test";
import { decideZtpAccess, ZTP_DENIAL_MESSAGE } from "../../src/boot/ztp/access.ts";
import { claimFromHeaders, resolveSwitch, safeReported } from "../../src/boot/ztp/identify.ts";
import { checkOnieName, hasUpdaterCookie, onieFacts, onieWaterfall } from "../../src/boot/ztp/onie.ts";
import { parsePayload, renderPayload, switchTemplateData, ZtpPayloadCache } from "../../src/boot/ztp/payload.ts";
import { switchDiagnosisParts, switchPayloadServability } from "../../src/boot/ztp/serve.ts";
import { validateSonicZtpJson } from "../../src/boot/ztp/sonic-json.ts";
import { failureReason, isBootRoute } from "../../src/http/failures.ts";
import { ONIE_ROOT_ROUTE } from "../../src/http/ztp.ts";
import { BootIndex } from "../../src/index/boot-index.ts";
import { secret, switchConfig } from "./fixtures.ts";

const ONIE_HEADERS = {
  "ONIE-SERIAL-NUMBER": "SN-100",
  "ONIE-ETH-ADDR": "0C:29:EF:00:00:01",
  "ONIE-VENDOR-ID": "259",
  "ONIE-MACHINE": "accton_as7712_32x",
  "ONIE-MACHINE-REV": "0",
  "ONIE-ARCH": "x86_64",
  "ONIE-OPERATION": "os-install",
  "ONIE-VERSION": "2019.11",
};

describe("ONIE waterfall", () => {
  const facts = onieFacts(new Headers(ONIE_HEADERS));

  test("names from the headers, most specific first, bare and .bin", () => {
    expect(onieWaterfall("os-install", facts)).toEqual([
      "onie-installer-x86_64-accton_as7712_32x-r0",
      "onie-installer-x86_64-accton_as7712_32x-r0.bin",
      "onie-installer-x86_64-accton_as7712_32x",
      "onie-installer-x86_64-accton_as7712_32x.bin",
      "onie-installer-accton_as7712_32x",
      "onie-installer-accton_as7712_32x.bin",
      "onie-installer-x86_64",
      "onie-installer-x86_64.bin",
      "onie-installer",
      "onie-installer.bin",
    ]);
    expect(onieWaterfall("onie-update", facts)[0]).toBe("onie-updater-x86_64-accton_as7712_32x-r0");
  });

  test("a name of the switch's waterfall is accepted, with its operation; the ASIC form by shape", () => {
    expect(checkOnieName("onie-installer-x86_64-accton_as7712_32x-r0.bin", facts)).toEqual({ ok: true, operation: "os-install" });
    expect(checkOnieName("onie-installer-x86_64-broadcom", facts)).toEqual({ ok: true, operation: "os-install" });
    expect(checkOnieName("onie-installer", {})).toEqual({ ok: true, operation: "os-install" });
    expect(checkOnieName("onie-updater.bin", {})).toEqual({ ok: true, operation: "onie-update" });
  });

  test("names of other platforms or the other operation are refused with a reason", () => {
    expect(checkOnieName("onie-installer-arm64-accton_as7712_32x", facts)).toEqual({
      ok: false,
      reason:
        "onie-installer-arm64-accton_as7712_32x is not in this switch's ONIE waterfall (its most specific name is onie-installer-x86_64-accton_as7712_32x-r0)",
    });
    expect(checkOnieName("onie-updater", facts)).toEqual({ ok: false, reason: "onie-updater is an onie-updater name but ONIE-OPERATION is os-install" });
    expect(checkOnieName("grub.cfg", facts).ok).toBe(false);
  });

  test("the updater cookie counts only in the first 100 lines", () => {
    expect(hasUpdaterCookie("#!/bin/sh\n# ONIE-UPDATER-COOKIE\nexit 0\n")).toBe(true);
    expect(hasUpdaterCookie(`${"x\n".repeat(99)}ONIE-UPDATER-COOKIE\n`)).toBe(true);
    expect(hasUpdaterCookie(`${"x\n".repeat(100)}ONIE-UPDATER-COOKIE\n`)).toBe(false);
    expect(hasUpdaterCookie("#!/bin/sh\nexit 0\n")).toBe(false);
  });
});

describe("identifying the switch", () => {
  const index = new BootIndex({
    ipxeBootConfigs: [],
    httpBootConfigs: [],
    switchBootConfigs: [
      switchConfig("leaf-1", { serialNumber: "SN-100", macAddresses: ["0c:29:ef:00:00:01"] }),
      switchConfig("leaf-2", { serialNumber: "SN-200", systemIPs: ["10.0.0.2"] }),
      switchConfig("leaf-3", { macAddresses: ["0c:29:ef:00:00:03"] }),
    ],
    secrets: [],
  });

  test("each protocol's headers are read into one claim", () => {
    expect(claimFromHeaders("onie", new Headers(ONIE_HEADERS))).toMatchObject({
      serial: "SN-100",
      macs: ["0c:29:ef:00:00:01"],
      model: "accton_as7712_32x",
      version: "2019.11",
    });
    expect(
      claimFromHeaders("sonic", new Headers({ "SERIAL-NUMBER": "sn-200", "BASE-MAC-ADDRESS": "0c29.ef00.0003", "SONiC-VERSION": "202311" })),
    ).toMatchObject({
      serial: "SN-200",
      macs: ["0c:29:ef:00:00:03"],
      version: "202311",
    });
    expect(claimFromHeaders("arista", new Headers({ "X-Arista-Serial": "JPE1", "X-Arista-SystemMAC": "00-1c-73-00-00-01" })).macs).toEqual([
      "00:1c:73:00:00:01",
    ]);
    expect(claimFromHeaders("cumulus", new Headers({ "CUMULUS-MGMT-MAC": "aa:bb:cc:00:00:01", "CUMULUS-BASE-MAC": "aa:bb:cc:00:00:02" })).macs).toEqual([
      "aa:bb:cc:00:00:01",
      "aa:bb:cc:00:00:02",
    ]);
  });

  test("reported values cannot carry shell or JSON into a payload", () => {
    expect(safeReported('4.30.1F"; rm -rf / #')).toBe("4.30.1F___rm_-rf_/__");
  });

  test("serial, then MAC, then source address; a config with systemIPs needs the request from one of them", () => {
    const onie = claimFromHeaders("onie", new Headers(ONIE_HEADERS));
    expect(resolveSwitch(index, onie, ["10.9.9.9"])).toMatchObject({ ok: true, match: { key: "default/leaf-1", reason: "serial" } });
    const byMac = claimFromHeaders("sonic", new Headers({ "BASE-MAC-ADDRESS": "0C:29:EF:00:00:03" }));
    expect(resolveSwitch(index, byMac, [])).toMatchObject({ ok: true, match: { key: "default/leaf-3", reason: "mac" } });
    const none = claimFromHeaders("cumulus", new Headers());
    expect(resolveSwitch(index, none, ["10.0.0.2"])).toMatchObject({ ok: true, match: { key: "default/leaf-2", reason: "ip" } });
    const spoofed = claimFromHeaders("sonic", new Headers({ "SERIAL-NUMBER": "SN-200" }));
    expect(resolveSwitch(index, spoofed, ["10.0.0.66"])).toEqual({
      ok: false,
      status: 403,
      miss: "not-system-ip",
      reason: "SwitchBootConfig default/leaf-2 matches by serial SN-200 but lists systemIPs, and 10.0.0.66 is none of them",
    });
  });

  test("an unknown switch and headers naming two switches are refused with a one-line reason", () => {
    const unknown = claimFromHeaders("onie", new Headers({ "ONIE-SERIAL-NUMBER": "SN-999", "ONIE-ETH-ADDR": "02:00:00:00:00:09" }));
    expect(resolveSwitch(index, unknown, ["10.9.9.9"])).toEqual({
      ok: false,
      status: 404,
      miss: "unknown",
      reason: "no SwitchBootConfig matches serial SN-999, MAC 02:00:00:00:00:09, source 10.9.9.9",
    });
    const mixed = claimFromHeaders("sonic", new Headers({ "SERIAL-NUMBER": "SN-100", "BASE-MAC-ADDRESS": "0c:29:ef:00:00:03" }));
    expect(resolveSwitch(index, mixed, [])).toMatchObject({ ok: false, status: 400, miss: "conflict" });
  });
});

describe("ZTP access under --ignition-access bound", () => {
  const index = new BootIndex({
    ipxeBootConfigs: [],
    httpBootConfigs: [],
    switchBootConfigs: [
      switchConfig("bound-1", { serialNumber: "SN-B1", systemIPs: ["10.0.0.11", "not-an-ip"] }),
      switchConfig("unbound-1", { serialNumber: "SN-U1" }),
    ],
    secrets: [],
  });
  const decide = (serial: string, requester: string[]) =>
    decideZtpAccess(resolveSwitch(index, claimFromHeaders("sonic", new Headers({ "SERIAL-NUMBER": serial })), requester), requester);

  test("only a config's own systemIPs get its payloads", () => {
    expect(decide("SN-B1", ["10.0.0.11"])).toEqual({ allow: true });
    expect(decide("SN-B1", ["10.0.0.12"])).toEqual({ allow: false, reason: "not-system-ip" });
  });

  test("a config without systemIPs is refused: a switch has no token, so nothing else can vouch for it", () => {
    expect(decide("SN-U1", ["10.0.0.11"])).toEqual({ allow: false, reason: "no-system-ips" });
  });

  test("an unknown switch, conflicting headers and an unknown requester are refused, each with its own reason", () => {
    expect(decide("SN-NOBODY", ["10.9.9.9"])).toEqual({ allow: false, reason: "unknown-switch" });
    // No serial match, but the source address is a config's own systemIP: that config, served by address.
    expect(decide("SN-NOBODY", ["10.0.0.11"])).toEqual({ allow: true });
    expect(decide("SN-B1", [])).toEqual({ allow: false, reason: "address-unknown" });
    expect(decideZtpAccess({ ok: false, status: 400, miss: "conflict", reason: "headers name two switches" }, ["10.0.0.11"])).toEqual({
      allow: false,
      reason: "identity-conflict",
    });
  });

  test("the answer does not say which reason, so a stranger cannot tell a known switch from an unknown one", () => {
    expect(ZTP_DENIAL_MESSAGE).not.toMatch(/SN-|default\/|not-system-ip|unknown-switch/);
  });
});

describe("payload templates", () => {
  const config = switchConfig("leaf-1", { serialNumber: "SN-100", hostname: "leaf1.dc1" });
  const data = switchTemplateData(config, { publicUrl: "http://boot:8082", secretName: "leaf-1-ztp", sourceIp: "10.0.0.1" });

  test("the switch's facts in the iPXE template language", () => {
    const parsed = parsePayload(
      "#!/bin/sh\nhostname {{.Hostname}} # {{.SerialNumber}}\n{{if .MAC}}mac{{else}}no mac{{end}}\ncurl {{.FilesURL}}/x\n",
      "script",
      "s",
    );
    expect(parsed.ok && renderPayload(parsed.template, "script", data)).toBe(
      "#!/bin/sh\nhostname leaf1.dc1 # SN-100\nno mac\ncurl http://boot:8082/ztp/files/default/leaf-1-ztp/x\n",
    );
    expect(parsePayload("#!/bin/sh\n{{.Nope}}\n", "script", "s")).toMatchObject({ ok: false, reason: "ZTPTemplateInvalid" });
  });

  test("values rendered into JSON are escaped", () => {
    const withQuote = switchTemplateData(switchConfig("q", { serialNumber: 'S"N' }), { publicUrl: "http://b", secretName: "z" });
    const parsed = parsePayload('{"ztp":{"01-x":{"url":"http://b/{{.SerialNumber}}"}}}', "ztp-json", "z");
    expect(parsed.ok && JSON.parse(renderPayload(parsed.template, "ztp-json", withQuote)).ztp["01-x"].url).toBe('http://b/S"N');
  });

  test("scripts must start with #!, startup-configs must not", () => {
    expect(parsePayload("echo hi\n", "script", "s")).toMatchObject({ ok: false, reason: "ProvisioningScriptInvalid" });
    expect(parsePayload("#!/bin/sh\n", "startup-config", "s")).toMatchObject({ ok: false, reason: "StartupConfigInvalid" });
    expect(parsePayload("hostname {{.Hostname}}\n", "startup-config", "s").ok).toBe(true);
  });
});

describe("SONiC ZTP JSON", () => {
  test("a valid document has no problems", () => {
    const document = {
      ztp: {
        "01-configdb-json": { url: { source: "http://boot/ztp/files/default/z/config_db.json", destination: "/etc/sonic/config_db.json" } },
        "02-provisioning-script": { plugin: { url: "http://boot/script" }, "reboot-on-success": true },
        "03-dynamic": { "dynamic-url": { source: { prefix: "http://boot/", identifier: "serial-number", suffix: ".json" } } },
        "ztp-json-version": "1.0",
      },
    };
    expect(validateSonicZtpJson(JSON.stringify(document))).toEqual([]);
  });

  test("problems name their JSON path", () => {
    expect(validateSonicZtpJson("{")).toMatchObject([{ path: "$" }]);
    expect(validateSonicZtpJson('{"config": {}}')).toEqual([{ path: "$.ztp", message: "is required and must be an object (sonic-ztp reads nothing else)" }]);
    const broken = {
      ztp: {
        "01-configdb-json": { url: { destination: "/etc/sonic/config_db.json" }, "halt-on-failure": "yes" },
        "02-firmware": { install: { url: "not a url" } },
        "03-dynamic": { "dynamic-url": { source: { identifier: "mac" } } },
        "04-bad": [],
      },
    };
    expect(validateSonicZtpJson(JSON.stringify(broken))).toEqual([
      { path: '$.ztp["01-configdb-json"]["halt-on-failure"]', message: "must be true or false" },
      { path: '$.ztp["01-configdb-json"].url.source', message: "is required and must be a URL string" },
      { path: '$.ztp["02-firmware"].install.url', message: "must be a URL sonic-ztp can download (http, https, tftp, ftp, file, scp, sftp)" },
      {
        path: '$.ztp["03-dynamic"]["dynamic-url"].source.identifier',
        message: 'must be one of hostname, hostname-fqdn, serial-number, product-name, sonic-version or {"url": …}',
      },
      { path: '$.ztp["04-bad"]', message: "a section must be an object" },
    ]);
  });
});

describe("payload verdicts per endpoint", () => {
  const snapshot = (script: string) => ({
    ipxeBootConfigs: [],
    httpBootConfigs: [],
    switchBootConfigs: [switchConfig("leaf-1", { serialNumber: "SN-100", sonic: { ztpJSONSecretRef: { name: "leaf-1-json" } } })],
    secrets: [secret("leaf-1-ztp", { script }), secret("leaf-1-json", { "ztp.json": '{"ztp":{"01-x":{"url":"http://b/x"}}}' })],
  });

  test("Cumulus refuses a script without its marker; SONiC and EOS take it", () => {
    const index = new BootIndex(snapshot("#!/bin/sh\nexit 0\n"));
    const cache = new ZtpPayloadCache();
    const config = index.switchBootConfigs[0];
    if (!config) throw new Error("no config");
    expect(switchPayloadServability(index, cache, config, "sonic-script").ok).toBe(true);
    expect(switchPayloadServability(index, cache, config, "arista").ok).toBe(true);
    expect(switchPayloadServability(index, cache, config, "cumulus")).toMatchObject({
      ok: false,
      status: 500,
      message: "script in secret default/leaf-1-ztp has no CUMULUS-AUTOPROVISIONING line: Cumulus Linux refuses to run it",
    });
    expect(switchDiagnosisParts(index, cache, config)).toEqual({ problems: [], warnings: [] });
  });

  test("a broken new version of a Secret keeps the last good answer, and the diagnosis says so", () => {
    const cache = new ZtpPayloadCache();
    const good = new BootIndex(snapshot("#!/bin/sh\n# CUMULUS-AUTOPROVISIONING\necho good\n"));
    cache.refresh(good);
    const broken = new BootIndex(snapshot("echo broken {{.Nope}}\n"), good);
    cache.refresh(broken);
    const config = broken.switchBootConfigs[0];
    if (!config) throw new Error("no config");
    const verdict = switchPayloadServability(broken, cache, config, "cumulus");
    expect(verdict.ok && verdict.template.source).toContain("echo good");
    expect(switchDiagnosisParts(broken, cache, config).problems).toEqual([
      {
        reason: "ZTPPayloadInvalid",
        message:
          'script in secret default/leaf-1-ztp: line 1: unknown template field ".Nope" (known: .SerialNumber, .MAC, .Hostname, .PublicURL, .FilesURL, .ConfigName, .ConfigNamespace, .Model, .Version, .Protocol, .IP) (still serving the last valid version)',
      },
    ]);
    // Without a good version seen before, the broken one is an error and nothing is served.
    const fresh = new ZtpPayloadCache();
    expect(switchPayloadServability(broken, fresh, config, "sonic-script")).toMatchObject({ ok: false, reason: "ZTPTemplateInvalid" });
  });
});

describe("ZTP failures are boot failures", () => {
  test("the /ztp routes and ONIE's names at / count; other root paths do not", () => {
    for (const route of ["/ztp/onie/:name", "/ztp/cumulus", ONIE_ROOT_ROUTE, "/onie-installer-x86_64"])
      expect({ route, boot: isBootRoute(route) }).toEqual({ route, boot: true });
    for (const route of ["/metrics", "/onie", "/ztpx"]) expect({ route, boot: isBootRoute(route) }).toEqual({ route, boot: false });
  });

  test("an unknown switch is an unknown machine", () => {
    expect(failureReason(404, "no SwitchBootConfig matches serial SN-1, source 10.0.0.1\n")).toBe("unknown-machine");
    expect(failureReason(404, "onie-installer-arm64 is not in this switch's ONIE waterfall\n")).toBe("not-found");
  });
});
