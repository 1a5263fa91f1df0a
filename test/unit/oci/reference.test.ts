import { describe, expect, test } from "bun:test";
import { OciError } from "../../../src/oci/errors.ts";
import {
  canonicalRegistry,
  formatImageReference,
  manifestReference,
  parseImageReference,
  parseRepositoryName,
  registryApiHost,
} from "../../../src/oci/reference.ts";

const DIGEST = `sha256:${"ab".repeat(32)}`;

describe("parseImageReference", () => {
  test.each([
    ["ghcr.io/gardenlinux/gardenlinux:1443.3", { registry: "ghcr.io", repository: "gardenlinux/gardenlinux", tag: "1443.3" }],
    ["ghcr.io/ironcore-dev/os-images/gardener-os:1877.0", { registry: "ghcr.io", repository: "ironcore-dev/os-images/gardener-os", tag: "1877.0" }],
    ["ubuntu", { registry: "docker.io", repository: "library/ubuntu", tag: "latest" }],
    ["ubuntu:24.04", { registry: "docker.io", repository: "library/ubuntu", tag: "24.04" }],
    ["bitnami/nginx:1.25", { registry: "docker.io", repository: "bitnami/nginx", tag: "1.25" }],
    ["index.docker.io/library/busybox:1", { registry: "docker.io", repository: "library/busybox", tag: "1" }],
    ["registry-1.docker.io/busybox", { registry: "docker.io", repository: "library/busybox", tag: "latest" }],
    ["127.0.0.1:5000/boot/image:v1", { registry: "127.0.0.1:5000", repository: "boot/image", tag: "v1" }],
    ["localhost/a", { registry: "localhost", repository: "a", tag: "latest" }],
    ["localhost:5000/a/b/c", { registry: "localhost:5000", repository: "a/b/c", tag: "latest" }],
    ["[::1]:5000/x", { registry: "[::1]:5000", repository: "x", tag: "latest" }],
    ["Registry.Example.COM/x", { registry: "registry.example.com", repository: "x", tag: "latest" }],
    ["ghcr.io/a/b__c.d-e---f:tag_with.dots-1", { registry: "ghcr.io", repository: "a/b__c.d-e---f", tag: "tag_with.dots-1" }],
  ])("%s", (input, expected) => {
    expect(parseImageReference(input)).toEqual(expected);
  });

  test("digest references keep the tag but are pinned by the digest", () => {
    expect(parseImageReference(`ghcr.io/a/b@${DIGEST}`)).toEqual({ registry: "ghcr.io", repository: "a/b", digest: DIGEST });
    const both = parseImageReference(`ghcr.io/a/b:v1@${DIGEST}`);
    expect(both).toEqual({ registry: "ghcr.io", repository: "a/b", tag: "v1", digest: DIGEST });
    expect(manifestReference(both)).toBe(DIGEST);
    expect(formatImageReference(both)).toBe(`ghcr.io/a/b:v1@${DIGEST}`);
  });

  test("a registry port is not mistaken for a tag", () => {
    expect(parseImageReference("127.0.0.1:5000/img")).toEqual({ registry: "127.0.0.1:5000", repository: "img", tag: "latest" });
  });

  test("defaultTag undefined leaves an untagged reference untagged", () => {
    expect(parseImageReference("ghcr.io/a/b", { defaultTag: undefined })).toEqual({ registry: "ghcr.io", repository: "a/b" });
    expect(() => manifestReference({ registry: "ghcr.io", repository: "a/b" })).toThrow(OciError);
  });

  test.each([
    ["", "empty"],
    ["ghcr.io/Upper/case", "path component"],
    ["ghcr.io/a//b", "path component"],
    ["ghcr.io/a/b:", "tag"],
    ["ghcr.io/a/b:-leadingdash", "tag"],
    [`ghcr.io/a/b:${"t".repeat(129)}`, "tag"],
    ["ghcr.io/a/b@sha256:abc", "digest"],
    [`ghcr.io/a/b@md5:${"a".repeat(32)}`, "digest"],
    [`ghcr.io/a/b@sha256:${"A".repeat(64)}`, "digest"],
    ["bad_host.io:99999999/a", "registry host"],
    ["ghcr.io/a/-b", "path component"],
    [`ghcr.io/${"a".repeat(250)}`, "longer than"],
  ])("rejects %p", (input, why) => {
    let error: unknown;
    try {
      parseImageReference(input);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(OciError);
    expect((error as OciError).code).toBe("INVALID_REFERENCE");
    expect((error as OciError).message).toContain(why);
  });
});

describe("parseRepositoryName", () => {
  test("expands Docker Hub short names", () => {
    expect(parseRepositoryName("alpine")).toEqual({ registry: "docker.io", repository: "library/alpine" });
    expect(parseRepositoryName("docker.io/alpine")).toEqual({ registry: "docker.io", repository: "library/alpine" });
  });
  test("rejects a tag in a bare name", () => {
    expect(() => parseRepositoryName("ghcr.io/a/b:v1")).toThrow(OciError);
  });
});

describe("registries", () => {
  test("Docker Hub aliases are one registry, served by its API host", () => {
    for (const alias of ["docker.io", "index.docker.io", "registry-1.docker.io", "Docker.IO"]) {
      expect(canonicalRegistry(alias)).toBe("docker.io");
      expect(registryApiHost(alias)).toBe("registry-1.docker.io");
    }
    expect(registryApiHost("ghcr.io")).toBe("ghcr.io");
    expect(registryApiHost("127.0.0.1:5000")).toBe("127.0.0.1:5000");
  });
});
