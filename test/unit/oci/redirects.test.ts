// The redirect policy's pure rules: which targets a registry may send the proxy to.
import { describe, expect, test } from "bun:test";
import { checkResolvedAddresses, forbiddenAddressKind, judgeRedirect, parseRedirectHostList, RedirectHostListError } from "../../../src/oci/redirects.ts";

const from = new URL("https://registry.example.com/v2/x/blobs/sha256:1");
const context = (hosts: string, allowedRegistries: string[] = ["registry.example.com"]) => ({ allowedRegistries, hosts: parseRedirectHostList(hosts) });

describe("redirect policy", () => {
  test("suffix entries match sub-domains only; exact entries match host or host:port", () => {
    expect(judgeRedirect(from, new URL("https://a.blob.example.net/x"), context(".blob.example.net"))).toEqual({ follow: true, explicit: false });
    expect(judgeRedirect(from, new URL("https://blob.example.net/x"), context(".blob.example.net")).follow).toBe(false);
    expect(judgeRedirect(from, new URL("https://evilblob.example.net/x"), context(".blob.example.net")).follow).toBe(false);
    expect(judgeRedirect(from, new URL("https://cdn.example.org:8443/x"), context("cdn.example.org"))).toEqual({ follow: true, explicit: true });
    expect(judgeRedirect(from, new URL("http://127.0.0.1:9/x"), context("127.0.0.1:9"))).toEqual({ follow: true, explicit: true });
    expect(judgeRedirect(from, new URL("http://127.0.0.1:10/x"), context("127.0.0.1:9")).follow).toBe(false);
  });

  test("allowed registries are fine targets; https to http only when listed; other schemes never", () => {
    expect(judgeRedirect(from, new URL("https://registry.example.com/other"), context("")).follow).toBe(true);
    expect(judgeRedirect(from, new URL("http://a.cdn.example.net/x"), context(".cdn.example.net")).follow).toBe(false);
    expect(judgeRedirect(from, new URL("file:///etc/passwd"), context("")).follow).toBe(false);
  });

  test("an IP literal never matches a suffix entry", () => {
    expect(judgeRedirect(from, new URL("https://127.0.0.1/x"), context(".0.0.1")).follow).toBe(false);
  });

  test("resolved addresses: loopback, link-local, unspecified and own addresses are refused", () => {
    for (const address of ["127.0.0.1", "127.9.9.9", "::1", "169.254.169.254", "fe80::1", "0.0.0.0", "::", "::ffff:127.0.0.1"]) {
      expect(forbiddenAddressKind(address)).toBeDefined();
      expect(checkResolvedAddresses("x.cdn.example.net", ["93.184.216.34", address], [])).toContain(address);
    }
    expect(checkResolvedAddresses("x.cdn.example.net", ["192.0.2.7"], ["192.0.2.7"])).toContain("own");
    expect(checkResolvedAddresses("x.cdn.example.net", ["93.184.216.34"], ["192.0.2.7"])).toBeUndefined();
  });

  test("the list parses host, host:port, .suffix and *.suffix; junk is an error", () => {
    expect(parseRedirectHostList("a.example.com, *.b.example.com ,.c.example.com,127.0.0.1:5000")).toEqual({
      exact: ["a.example.com", "127.0.0.1:5000"],
      suffixes: [".b.example.com", ".c.example.com"],
    });
    expect(parseRedirectHostList("")).toEqual({ exact: [], suffixes: [] });
    expect(() => parseRedirectHostList("http://x/")).toThrow(RedirectHostListError);
    expect(() => parseRedirectHostList(".x.com:80")).toThrow(RedirectHostListError);
  });
});
