import { describe, expect, test } from "bun:test";
import { parseCidr } from "../../src/api/canonical.ts";
import { forwardedForNotice, httpBootAnswer, httpBootIdentity, ignoredForwardedFor } from "../../src/boot/httpboot.ts";
import { defined } from "../harness/defined.ts";

const trusted = ["10.0.0.0/24", "fd00::/64"].map((text) => defined(parseCidr(text), `CIDR ${text}`));

describe("httpboot identity", () => {
  test("an untrusted peer is identified by its own address; its X-Forwarded-For is ignored", () => {
    expect(httpBootIdentity("192.0.2.9", "10.0.1.50", trusted)).toEqual({ ok: true, identifiers: ["192.0.2.9"], via: "peer", peer: "192.0.2.9" });
  });
  test("a trusted proxy's X-Forwarded-For entries (IPs and MACs, in order) identify the machine, never the proxy", () => {
    const identity = httpBootIdentity("::ffff:10.0.0.2", "10.0.1.50, AA-BB-CC-DD-EE-FF, 2001:db8:0::1", trusted);
    expect(identity).toEqual({ ok: true, identifiers: ["10.0.1.50", "aa:bb:cc:dd:ee:ff", "2001:db8::1"], via: "forwarded", peer: "10.0.0.2" });
    if (identity.ok) expect(identity.identifiers).not.toContain("10.0.0.2");
  });
  test("IPv6 proxies are matched too", () => {
    expect(httpBootIdentity("fd00::5", "10.0.1.7", trusted)).toMatchObject({ ok: true, via: "forwarded", identifiers: ["10.0.1.7"] });
  });
  test("a trusted proxy without X-Forwarded-For is refused (its own address would match the wrong machine)", () => {
    const identity = httpBootIdentity("10.0.0.2", null, trusted);
    expect(identity.ok).toBe(false);
    if (!identity.ok) expect(identity.reason).toContain("trusted proxy 10.0.0.2 carries no X-Forwarded-For");
    expect(httpBootIdentity("10.0.0.2", " , ", trusted).ok).toBe(false);
  });
  test("garbage in X-Forwarded-For from a trusted proxy is a clear error", () => {
    const identity = httpBootIdentity("10.0.0.2", "10.0.1.5, unknown", trusted);
    expect(identity).toEqual({ ok: false, reason: 'X-Forwarded-For entry "unknown" is neither an IP nor a MAC address' });
  });
  test("no trusted proxies configured: every peer speaks for itself", () => {
    expect(httpBootIdentity("10.0.0.2", "10.0.1.50", [])).toMatchObject({ identifiers: ["10.0.0.2"], via: "peer" });
  });
});

describe("an ignored X-Forwarded-For is made visible (the Go operator believes it from anyone)", () => {
  test("from an untrusted peer: the header as sent, trimmed", () => {
    expect(ignoredForwardedFor("192.0.2.9", " 10.0.1.50, aa:bb:cc:dd:ee:ff ", trusted)).toBe("10.0.1.50, aa:bb:cc:dd:ee:ff");
    expect(ignoredForwardedFor("10.0.0.2", "10.0.1.50", [])).toBe("10.0.1.50");
    expect(forwardedForNotice("192.0.2.9")).toBe("ignored (peer 192.0.2.9 is not in --trusted-proxies)");
  });
  test("nothing to report without the header, or from a trusted proxy (whose header is used)", () => {
    expect(ignoredForwardedFor("192.0.2.9", null, trusted)).toBeNull();
    expect(ignoredForwardedFor("192.0.2.9", " ", trusted)).toBeNull();
    expect(ignoredForwardedFor("::ffff:10.0.0.2", "10.0.1.50", trusted)).toBeNull();
  });
});

test("answer uses the Go operator's field names", () => {
  expect(JSON.stringify(httpBootAnswer(["10.0.0.1", "aa:bb:cc:dd:ee:ff"], "http://u/x.efi", "uuid"))).toBe(
    '{"ClientIPs":"10.0.0.1,aa:bb:cc:dd:ee:ff","UKIURL":"http://u/x.efi","SystemUUID":"uuid"}',
  );
});

describe("--forwarded-for rightmost (proxies that append to the client's header)", () => {
  const proxies = ["10.0.0.0/24", "fd00::/8"].map((text) => defined(parseCidr(text), `CIDR ${text}`));
  test("a client-prepended victim address is ignored: the entry the proxy appended wins", () => {
    // The client sent "X-Forwarded-For: 10.0.1.66" (a victim); nginx appended the client's real address.
    expect(httpBootIdentity("10.0.0.2", "10.0.1.66, 10.0.1.7", proxies, "rightmost")).toEqual({
      ok: true,
      identifiers: ["10.0.1.7"],
      via: "forwarded",
      peer: "10.0.0.2",
    });
    // The same header in fedhcp mode believes every entry, the victim's first.
    expect(httpBootIdentity("10.0.0.2", "10.0.1.66, 10.0.1.7", proxies, "fedhcp")).toMatchObject({ identifiers: ["10.0.1.66", "10.0.1.7"] });
  });
  test("trusted proxies in the chain are skipped from the right", () => {
    expect(httpBootIdentity("10.0.0.2", "10.0.1.66, 10.0.1.7, 10.0.0.9, fd00::3", proxies, "rightmost")).toMatchObject({ identifiers: ["10.0.1.7"] });
  });
  test("a chain of trusted proxies only, or no header, names no machine", () => {
    expect(httpBootIdentity("10.0.0.2", "10.0.0.9", proxies, "rightmost").ok).toBe(false);
    expect(httpBootIdentity("10.0.0.2", null, proxies, "rightmost").ok).toBe(false);
  });
  test("garbage in the deciding entry is an error; garbage left of it is never looked at", () => {
    expect(httpBootIdentity("10.0.0.2", "10.0.1.7, unknown", proxies, "rightmost").ok).toBe(false);
    expect(httpBootIdentity("10.0.0.2", "unknown, 10.0.1.7", proxies, "rightmost")).toMatchObject({ identifiers: ["10.0.1.7"] });
  });
  test("an untrusted peer is still identified by its own address", () => {
    expect(httpBootIdentity("192.0.2.9", "10.0.1.7", proxies, "rightmost")).toMatchObject({ identifiers: ["192.0.2.9"], via: "peer" });
  });
});
