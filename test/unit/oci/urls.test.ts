import { describe, expect, test } from "bun:test";
import type { BootImage } from "../../../src/oci/client.ts";
import { bootImageUrls, httpBootUkiUrl, imageLayerUrl, parseHttpBootPath, parseImageQuery } from "../../../src/oci/urls.ts";

const HEX = "0123456789abcdef".repeat(4);
const DIGEST = `sha256:${HEX}`;

describe("building proxy URLs", () => {
  test("/image keeps / : @ readable and trims the base's trailing slash", () => {
    expect(imageLayerUrl("http://boot.example:8083/", "ghcr.io/gardenlinux/gardenlinux", "1443.3", DIGEST)).toBe(
      `http://boot.example:8083/image?imageName=ghcr.io/gardenlinux/gardenlinux&version=1443.3&layerDigest=${DIGEST}`,
    );
    expect(imageLayerUrl("http://b", "127.0.0.1:5000/a", DIGEST, DIGEST)).toBe(
      `http://b/image?imageName=127.0.0.1:5000/a&version=${DIGEST}&layerDigest=${DIGEST}`,
    );
  });

  test("/httpboot path carries registry host:port and slashes", () => {
    expect(httpBootUkiUrl("http://b/", "127.0.0.1:5000/ironcore/os/uki", DIGEST)).toBe(`http://b/httpboot/127.0.0.1:5000/ironcore/os/uki/sha256-${HEX}.efi`);
    expect(() => httpBootUkiUrl("http://b", "ghcr.io/a", "sha256:nothex")).toThrow();
  });

  test("bootImageUrls: UKI by /httpboot, the rest by /image", () => {
    const image: BootImage = {
      registry: "ghcr.io",
      repository: "a/b",
      imageName: "ghcr.io/a/b",
      version: "v1",
      manifestDigest: DIGEST,
      uki: { digest: DIGEST, size: 1, mediaType: "application/vnd.ironcore.image.uki" },
      kernel: { digest: DIGEST, size: 1, mediaType: "application/vnd.ironcore.image.kernel" },
    };
    expect(bootImageUrls("http://b", image)).toEqual({
      uki: `http://b/httpboot/ghcr.io/a/b/sha256-${HEX}.efi`,
      kernel: `http://b/image?imageName=ghcr.io/a/b&version=v1&layerDigest=${DIGEST}`,
    });
  });
});

describe("parsing proxy requests (round trips and 400 reasons)", () => {
  test("built URLs parse back to the same blob", () => {
    const image = new URL(imageLayerUrl("http://b", "127.0.0.1:5000/boot/img", "v1", DIGEST));
    const parsed = parseImageQuery({
      imageName: image.searchParams.get("imageName") ?? undefined,
      version: image.searchParams.get("version") ?? undefined,
      layerDigest: image.searchParams.get("layerDigest") ?? undefined,
    });
    expect(parsed).toEqual({ ok: true, blob: { registry: "127.0.0.1:5000", repository: "boot/img", digest: DIGEST }, version: "v1" });

    const uki = new URL(httpBootUkiUrl("http://b", "127.0.0.1:5000/boot/img", DIGEST));
    expect(parseHttpBootPath(uki.pathname.slice("/httpboot/".length))).toEqual({
      ok: true,
      blob: { registry: "127.0.0.1:5000", repository: "boot/img", digest: DIGEST },
    });
  });

  test("Docker Hub names without a registry", () => {
    expect(parseHttpBootPath(`ubuntu/sha256-${HEX}.efi`)).toEqual({ ok: true, blob: { registry: "docker.io", repository: "library/ubuntu", digest: DIGEST } });
  });

  test.each([
    [{ version: "v1", layerDigest: DIGEST }, "missing query parameter imageName"],
    [{ imageName: "ghcr.io/a", layerDigest: DIGEST }, "missing query parameter version"],
    [{ imageName: "ghcr.io/a", version: "v1", layerDigest: " " }, "missing query parameter layerDigest"],
    [{ imageName: "ghcr.io/a:v1", version: "v1", layerDigest: DIGEST }, "must not carry a tag"],
    [{ imageName: `ghcr.io/a@${DIGEST}`, version: "v1", layerDigest: DIGEST }, "must not carry a tag"],
    [{ imageName: "ghcr.io/a", version: "bad tag", layerDigest: DIGEST }, "neither a tag nor a digest"],
    [{ imageName: "ghcr.io/a", version: "v1", layerDigest: "sha256:1234" }, "is not sha256"],
    [{ imageName: "ghcr.io/A", version: "v1", layerDigest: DIGEST }, "bad path component"],
  ])("/image %p", (query, reason) => {
    const parsed = parseImageQuery(query);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.reason).toContain(reason);
  });

  test.each([
    [`sha256-${HEX}.efi`, "expected /httpboot/"],
    [`ghcr.io//a/sha256-${HEX}.efi`, "expected /httpboot/"],
    [`ghcr.io/a/sha256-${HEX}`, "is not sha256-<64 hex>.efi"],
    [`ghcr.io/a/sha256:${HEX}.efi`, "is not sha256-<64 hex>.efi"],
    [`ghcr.io/a/sha256-${HEX.toUpperCase()}.efi`, "is not sha256-<64 hex>.efi"],
    [`ghcr.io/a%2Fb/sha256-${HEX}.efi`, "encoded path separator"],
    [`ghcr.io/a%zz/sha256-${HEX}.efi`, "percent-encoding"],
    [`ghcr.io/../sha256-${HEX}.efi`, "bad path component"],
  ])("/httpboot/%s", (path, reason) => {
    const parsed = parseHttpBootPath(path);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.reason).toContain(reason);
  });
});
