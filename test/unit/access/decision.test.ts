// The access decision as a table: binding by address, every token failure, and the unknown UUID answered like a
// known one.
import { describe, expect, test } from "bun:test";
import {
  type AccessRequest,
  type ConfigAccessIdentity,
  configAccessIdentity,
  decideIgnitionAccess,
  REARM_ANNOTATION,
} from "../../../src/boot/access/decision.ts";
import { encodeToken, type TokenClaims } from "../../../src/boot/access/token.ts";
import { httpConfig, ipxeConfig } from "../fixtures.ts";

const KEY = Buffer.from("k".repeat(32));
const NOW = 1_800_000_000_000;
const UUID = "00000000-0000-4000-8000-000000000001";
const config: ConfigAccessIdentity = {
  configId: "IPXEBootConfig|default/m1",
  uuid: UUID,
  uid: "uid-1",
  generation: "2",
  rearm: "",
  ownIps: new Set(["10.0.0.9"]),
};
const claims = (overrides: Partial<TokenClaims> = {}): TokenClaims => ({
  uuid: UUID,
  uid: "uid-1",
  generation: "2",
  rearm: "",
  expiresAt: NOW / 1000 + 60,
  nonce: "n",
  ...overrides,
});
const decide = (overrides: Partial<AccessRequest>) =>
  decideIgnitionAccess({ requester: "10.0.0.7", token: null, config, nowMs: NOW, keys: { current: KEY }, maxUses: 3, usesOf: () => 0, ...overrides });

describe("decideIgnitionAccess", () => {
  test.each([
    ["from one of the config's own addresses, no token", { requester: "10.0.0.9" }, { allow: true, via: "address" }],
    ["from elsewhere, no token", {}, { allow: false, reason: "no-token" }],
    ["requester unknown, no token", { requester: null }, { allow: false, reason: "address-unknown" }],
    ["empty token", { token: "" }, { allow: false, reason: "no-token" }],
    ["garbage token", { token: "abc.def" }, { allow: false, reason: "token-invalid" }],
    ["token signed with another key", { token: encodeToken(claims(), Buffer.from("x".repeat(32))) }, { allow: false, reason: "token-invalid" }],
    [
      "token for another machine",
      { token: encodeToken(claims({ uuid: "00000000-0000-4000-8000-000000000002" }), KEY) },
      { allow: false, reason: "token-invalid" },
    ],
    ["expired token", { token: encodeToken(claims({ expiresAt: NOW / 1000 }), KEY) }, { allow: false, reason: "token-expired" }],
    ["token of an older generation", { token: encodeToken(claims({ generation: "1" }), KEY) }, { allow: false, reason: "token-stale-generation" }],
    ["token of a re-created config", { token: encodeToken(claims({ uid: "uid-0" }), KEY) }, { allow: false, reason: "token-stale-generation" }],
    ["token from before a re-arm", { token: encodeToken(claims({ rearm: "old" }), KEY) }, { allow: false, reason: "token-stale-generation" }],
    ["token used up", { token: encodeToken(claims(), KEY), usesOf: () => 3 }, { allow: false, reason: "token-used-up" }],
  ] as const)("%s", (_name, overrides, expected) => {
    expect(decide(overrides)).toMatchObject(expected);
  });

  test("a good token allows and names its signature (the use counter's key) and expiry", () => {
    const decision = decide({ token: encodeToken(claims(), KEY), usesOf: () => 2 });
    expect(decision).toMatchObject({ allow: true, via: "token", expiresAt: NOW / 1000 + 60 });
  });

  test("an unknown UUID gets exactly the refusals a known one gets from a stranger", () => {
    expect(decide({ config: null })).toEqual(decide({}));
    expect(decide({ config: null, requester: "10.0.0.9" })).toEqual(decide({}));
    expect(decide({ config: null, token: "abc.def" })).toEqual(decide({ token: "abc.def" }));
    expect(decide({ config: null, token: encodeToken(claims(), KEY) })).toEqual({ allow: false, reason: "token-invalid" });
  });
});

describe("configAccessIdentity", () => {
  test("IPXEBootConfig: uid, generation, systemIPs canonicalised, non-IPs ignored", () => {
    const identity = configAccessIdentity({
      kind: "IPXEBootConfig",
      config: ipxeConfig("m1", { systemUUID: UUID.toUpperCase(), systemIPs: ["10.0.0.9", "::FFFF:10.0.0.10", "not-an-ip"] }, { uid: "u", generation: 4 }),
    });
    expect(identity).toMatchObject({ configId: "IPXEBootConfig|default/m1", uuid: UUID, uid: "u", generation: "4", rearm: "" });
    expect([...identity.ownIps]).toEqual(["10.0.0.9", "10.0.0.10"]);
  });

  test("HTTPBootConfig: the IPs among networkIdentifiers, MACs left out", () => {
    const identity = configAccessIdentity({
      kind: "HTTPBootConfig",
      config: httpConfig("m2", { systemUUID: UUID, networkIdentifiers: ["aa:bb:cc:dd:ee:ff", "fd00::5"] }),
    });
    expect([...identity.ownIps]).toEqual(["fd00::5"]);
  });

  test("directory mode: kind/key stands for the uid, a spec digest for the generation; re-arm is a digest of the value", () => {
    const before = configAccessIdentity({ kind: "IPXEBootConfig", config: ipxeConfig("m1", { systemUUID: UUID }) });
    const edited = configAccessIdentity({ kind: "IPXEBootConfig", config: ipxeConfig("m1", { systemUUID: UUID, kernelURL: "http://x/other" }) });
    const rearmed = configAccessIdentity({
      kind: "IPXEBootConfig",
      config: ipxeConfig("m1", { systemUUID: UUID }, { annotations: { [REARM_ANNOTATION]: "2026-12-01T10:00" } }),
    });
    expect(before.uid).toBe("IPXEBootConfig/default/m1");
    expect(before.generation).toMatch(/^spec-/);
    expect(edited.generation).not.toBe(before.generation);
    expect(rearmed.generation).toBe(before.generation);
    expect(rearmed.rearm).not.toBe("");
    expect(rearmed.rearm).not.toContain("2026");
  });
});
