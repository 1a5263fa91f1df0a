import { describe, expect, test } from "bun:test";
import { AllowListError, parseRegistryAllowList } from "../../../src/oci/allowlist.ts";

describe("parseRegistryAllowList", () => {
  test.each([undefined, "", "  "])("%p means the default, ghcr.io only", (csv) => {
    const list = parseRegistryAllowList(csv);
    expect(list.entries).toEqual(["ghcr.io"]);
    expect(list.isAllowed("ghcr.io")).toBe(true);
    expect(list.isAllowed("GHCR.io")).toBe(true);
    expect(list.isAllowed("docker.io")).toBe(false);
  });

  test("a list of only separators allows nothing (explicit, not the default)", () => {
    const list = parseRegistryAllowList(" , ");
    expect(list.entries).toEqual([]);
    expect(list.isAllowed("ghcr.io")).toBe(false);
  });

  test("Docker Hub aliases are equal, whichever is listed or asked", () => {
    for (const listed of ["docker.io", "index.docker.io", "registry-1.docker.io"]) {
      const list = parseRegistryAllowList(listed);
      expect(list.entries).toEqual(["docker.io"]);
      for (const asked of ["docker.io", "index.docker.io", "registry-1.docker.io"]) expect(list.isAllowed(asked)).toBe(true);
    }
  });

  test("trims, lower-cases, drops schemes and trailing slashes, de-duplicates", () => {
    const list = parseRegistryAllowList(" ghcr.io , https://Quay.io/, 127.0.0.1:5000,ghcr.io, index.docker.io,docker.io");
    expect(list.entries).toEqual(["ghcr.io", "quay.io", "127.0.0.1:5000", "docker.io"]);
    expect(list.isAllowed("127.0.0.1:5000")).toBe(true);
    expect(list.isAllowed("127.0.0.1:5001")).toBe(false);
    expect(list.isAllowed("127.0.0.1")).toBe(false);
    expect(list.isAllowed("quay.io")).toBe(true);
  });

  test("a subdomain is not its parent", () => {
    const list = parseRegistryAllowList("ghcr.io");
    expect(list.isAllowed("evil.ghcr.io")).toBe(false);
    expect(list.isAllowed("ghcr.io.evil.com")).toBe(false);
  });

  test.each(["ghcr.io/org", "ghcr io", "-bad.io", "host:port"])("rejects %p", (entry) => {
    expect(() => parseRegistryAllowList(`ghcr.io,${entry}`)).toThrow(AllowListError);
  });
});
