import { describe, expect, test } from "bun:test";
import {
  type Cidr,
  canonicalIp,
  canonicalMac,
  canonicalNetworkIdentifier,
  canonicalUuid,
  cidrContains,
  parseCidr,
  swapUuidByteOrder,
} from "../../src/api/canonical.ts";
import { defined } from "../harness/defined.ts";

describe("canonicalUuid", () => {
  test.each([
    ["4C4C4544-0042-3510-8052-B4C04F4A4E31", "4c4c4544-0042-3510-8052-b4c04f4a4e31"],
    ["{4c4c4544-0042-3510-8052-b4c04f4a4e31}", "4c4c4544-0042-3510-8052-b4c04f4a4e31"],
    ["4c4c454400423510 8052b4c04f4a4e31".replace(" ", ""), "4c4c4544-0042-3510-8052-b4c04f4a4e31"],
  ])("%s", (input, expected) => expect(canonicalUuid(input)).toBe(expected));
  test.each(["", "4c4c4544-0042-3510-8052", "zzzzzzzz-0042-3510-8052-b4c04f4a4e31", "4c4c4544-0042-3510-8052-b4c04f4a4e31-00"])("rejects %p", (input) =>
    expect(canonicalUuid(input)).toBeNull(),
  );
  test("SMBIOS byte swap reverses the first three groups and is its own inverse", () => {
    const uuid = "00112233-4455-6677-8899-aabbccddeeff";
    expect(swapUuidByteOrder(uuid)).toBe("33221100-5544-7766-8899-aabbccddeeff");
    expect(swapUuidByteOrder(swapUuidByteOrder(uuid))).toBe(uuid);
  });
});

describe("canonicalMac", () => {
  test.each(["aa:bb:cc:dd:ee:ff", "AA:BB:CC:DD:EE:FF", "aa-bb-cc-dd-ee-ff", "AABB.CCDD.EEFF", "aabbccddeeff"])("%s", (input) =>
    expect(canonicalMac(input)).toBe("aa:bb:cc:dd:ee:ff"),
  );
  test.each(["aa:bb-cc:dd:ee:ff", "aa:bb:cc:dd:ee", "aa:bb:cc:dd:ee:fg", "aabb.ccdd", "10.0.0.1"])("rejects %p", (input) =>
    expect(canonicalMac(input)).toBeNull(),
  );
});

describe("canonicalIp", () => {
  test.each([
    ["10.0.0.1", "10.0.0.1"],
    [" 192.168.1.20 ", "192.168.1.20"],
    ["2001:0DB8:0000:0000:0000:0000:0000:0001", "2001:db8::1"],
    ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
    ["2001:db8::0:1", "2001:db8::1"],
    ["::ffff:10.0.0.1", "10.0.0.1"],
    ["::ffff:a00:1", "10.0.0.1"],
    ["[fe80::1]", "fe80::1"],
    ["fe80::1%eth0", "fe80::1"],
    ["::", "::"],
    ["1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"],
    ["1:0:0:2:0:0:0:3", "1:0:0:2::3"],
  ])("%s → %s", (input, expected) => expect(canonicalIp(input)).toBe(expected));
  test.each(["10.0.0.01", "256.0.0.1", "10.0.0", "1::2::3", "1:2:3:4:5:6:7:8:9", "gggg::1", "", "aa:bb:cc:dd:ee:ff"])("rejects %p", (input) =>
    expect(canonicalIp(input)).toBeNull(),
  );
});

describe("CIDRs", () => {
  const cidrOf = (text: string): Cidr => defined(parseCidr(text), `CIDR ${text}`);
  test("IPv4 prefix boundaries", () => {
    const cidr = cidrOf("10.0.0.0/9");
    expect(cidrContains(cidr, "10.127.255.255")).toBe(true);
    expect(cidrContains(cidr, "10.128.0.0")).toBe(false);
    expect(cidrContains(cidr, "fd00::1")).toBe(false);
  });
  test("IPv6 and bare addresses", () => {
    expect(cidrContains(cidrOf("fd00::/8"), "fd12:3456::1")).toBe(true);
    expect(cidrContains(cidrOf("fd00::/8"), "fe80::1")).toBe(false);
    expect(cidrContains(cidrOf("192.0.2.7"), "192.0.2.7")).toBe(true);
    expect(cidrContains(cidrOf("192.0.2.7"), "192.0.2.8")).toBe(false);
    expect(cidrContains(cidrOf("0.0.0.0/0"), "203.0.113.9")).toBe(true);
  });
  test.each(["10.0.0.0/33", "10.0.0.0/", "fd00::/129", "nope/8", "10.0.0.0/8/8"])("rejects %p", (input) => expect(parseCidr(input)).toBeNull());
});

test("network identifiers are MACs or IPs", () => {
  expect(canonicalNetworkIdentifier("AA-BB-CC-DD-EE-FF")).toEqual({ kind: "mac", value: "aa:bb:cc:dd:ee:ff" });
  expect(canonicalNetworkIdentifier("::ffff:192.0.2.1")).toEqual({ kind: "ip", value: "192.0.2.1" });
  expect(canonicalNetworkIdentifier("unknown")).toBeNull();
});
