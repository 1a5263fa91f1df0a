import { describe, expect, test } from "bun:test";
import { OciError } from "../../../src/oci/errors.ts";
import { findBootLayers, hasBootLayers, type IndexEntry, parseManifest, rankIndexEntries } from "../../../src/oci/manifest.ts";
import {
  bootLayerKind,
  essence,
  MEDIA_TYPE_DOCKER_MANIFEST,
  MEDIA_TYPE_DOCKER_MANIFEST_LIST,
  MEDIA_TYPE_OCI_INDEX,
  MEDIA_TYPE_OCI_MANIFEST,
  manifestKindOf,
} from "../../../src/oci/media-types.ts";

const d = (n: number): string => `sha256:${n.toString(16).padStart(64, "0")}`;
const encode = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value));

describe("media types", () => {
  test.each([
    ["application/vnd.ironcore.image.uki", "uki"],
    ["application/vnd.ironcore.image.kernel", "kernel"],
    ["application/io.gardenlinux.kernel", "kernel"],
    ["application/vnd.ironcore.image.initramfs", "initrd"],
    ["application/io.gardenlinux.initrd", "initrd"],
    ["application/vnd.ironcore.image.squashfs", "squashfs"],
    ["application/io.gardenlinux.squashfs", "squashfs"],
    ["Application/VND.ironcore.image.UKI; foo=bar", "uki"],
  ])("%s is a %s layer", (mediaType, kind) => expect(bootLayerKind(mediaType)).toBe(kind as never));

  test.each([
    "application/vnd.oci.image.layer.v1.tar+gzip",
    "application/vnd.ironcore.image.initrd",
    "application/io.gardenlinux.image.archive.format.tar",
    "",
  ])("%p is not a boot layer", (mediaType) => expect(bootLayerKind(mediaType)).toBeUndefined());

  test("manifest kinds", () => {
    expect(manifestKindOf(MEDIA_TYPE_OCI_INDEX)).toBe("index");
    expect(manifestKindOf(MEDIA_TYPE_DOCKER_MANIFEST_LIST)).toBe("index");
    expect(manifestKindOf(MEDIA_TYPE_OCI_MANIFEST)).toBe("manifest");
    expect(manifestKindOf(`${MEDIA_TYPE_DOCKER_MANIFEST}; charset=utf-8`)).toBe("manifest");
    expect(manifestKindOf("application/vnd.docker.distribution.manifest.v1+prettyjws")).toBeUndefined();
    expect(essence(" Application/JSON ; q=1")).toBe("application/json");
  });
});

describe("parseManifest", () => {
  const manifest = {
    schemaVersion: 2,
    config: { mediaType: "application/vnd.oci.empty.v1+json", digest: d(1), size: 2 },
    layers: [{ mediaType: "application/vnd.ironcore.image.uki", digest: d(2), size: 10 }],
  };

  test("kind from the document's mediaType, the Content-Type, or the shape", () => {
    expect(parseManifest(encode({ ...manifest, mediaType: MEDIA_TYPE_OCI_MANIFEST }), "application/json").kind).toBe("manifest");
    expect(parseManifest(encode(manifest), MEDIA_TYPE_DOCKER_MANIFEST).kind).toBe("manifest");
    expect(parseManifest(encode(manifest), undefined).kind).toBe("manifest");
    expect(parseManifest(encode({ schemaVersion: 2, manifests: [] }), "application/octet-stream").kind).toBe("index");
  });

  test.each([
    ["not json", "not JSON"],
    ["[1]", "unsupported"],
    [JSON.stringify({ schemaVersion: 1, mediaType: MEDIA_TYPE_OCI_MANIFEST, layers: [] }), "invalid image manifest"],
    [JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPE_OCI_INDEX, manifests: [{ digest: "sha256:zz", size: 1 }] }), "manifests.0.digest"],
    [JSON.stringify({ schemaVersion: 2, layers: [{ digest: d(1), size: -1 }] }), "layers.0.size"],
    [JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.docker.distribution.manifest.v1+json", fsLayers: [] }), "unsupported manifest media type"],
  ])("rejects %s", (text, why) => {
    let error: unknown;
    try {
      parseManifest(new TextEncoder().encode(text), undefined);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(OciError);
    expect((error as OciError).code).toBe("INVALID_MANIFEST");
    expect((error as OciError).message).toContain(why);
  });
});

describe("rankIndexEntries (platform selection)", () => {
  const entry = (n: number, extra: Partial<IndexEntry> = {}): IndexEntry => ({ mediaType: MEDIA_TYPE_OCI_MANIFEST, digest: d(n), size: 100, ...extra });

  test("by platform.architecture, ignoring variant, with aliases", () => {
    const entries = [
      entry(1, { platform: { architecture: "arm64", os: "linux", variant: "v8" } }),
      entry(2, { platform: { architecture: "amd64", os: "linux" } }),
    ];
    expect(rankIndexEntries(entries, "amd64").map((e) => e.digest)).toEqual([d(2)]);
    expect(rankIndexEntries(entries, "arm64").map((e) => e.digest)).toEqual([d(1)]);
    expect(rankIndexEntries(entries, "aarch64").map((e) => e.digest)).toEqual([d(1)]);
    expect(rankIndexEntries([entry(3, { platform: { architecture: "x86_64" } })], "amd64").map((e) => e.digest)).toEqual([d(3)]);
  });

  test("legacy GardenLinux: metal_pxe cname first, architecture from annotations when there is no platform", () => {
    const entries = [
      entry(1, { platform: { architecture: "amd64", os: "linux" }, annotations: { cname: "kvm-gardener_prod-amd64-1443.3", architecture: "amd64" } }),
      entry(2, { annotations: { cname: "metal_pxe-gardener_prod-arm64-1443.3", architecture: "arm64" } }),
      entry(3, { annotations: { cname: "metal_pxe-gardener_prod-amd64-1443.3", architecture: "amd64" } }),
      entry(4, { platform: { architecture: "amd64", os: "linux" }, annotations: { cname: "metal-gardener_prod-amd64-1443.3" } }),
    ];
    expect(rankIndexEntries(entries, "amd64").map((e) => e.digest)).toEqual([d(3), d(1), d(4)]);
    expect(rankIndexEntries(entries, "arm64").map((e) => e.digest)).toEqual([d(2)]);
  });

  test("linux before other OSes; undeclared architecture last; attestations never", () => {
    const entries = [
      entry(1),
      entry(2, { platform: { architecture: "amd64", os: "windows" } }),
      entry(3, { platform: { architecture: "unknown", os: "unknown" } }),
      entry(4, { platform: { architecture: "amd64", os: "linux" }, annotations: { "vnd.docker.reference.type": "attestation-manifest" } }),
      entry(5, { platform: { architecture: "amd64", os: "linux" } }),
    ];
    expect(rankIndexEntries(entries, "amd64").map((e) => e.digest)).toEqual([d(5), d(2), d(1)]);
  });

  test("nothing for an architecture the index lacks", () => {
    expect(rankIndexEntries([entry(1, { platform: { architecture: "amd64", os: "linux" } })], "arm64")).toEqual([]);
  });
});

describe("findBootLayers", () => {
  test("first layer of each kind, current and legacy media types", () => {
    const layers = findBootLayers({
      schemaVersion: 2,
      layers: [
        { mediaType: "application/vnd.oci.image.layer.v1.tar", digest: d(9), size: 1 },
        { mediaType: "application/io.gardenlinux.kernel", digest: d(1), size: 11 },
        { mediaType: "application/vnd.ironcore.image.kernel", digest: d(2), size: 12 },
        { mediaType: "application/vnd.ironcore.image.initramfs", digest: d(3), size: 13 },
        { mediaType: "application/io.gardenlinux.squashfs", digest: d(4), size: 14 },
        { digest: d(5), size: 15 },
      ],
    });
    expect(layers).toEqual({
      kernel: { mediaType: "application/io.gardenlinux.kernel", digest: d(1), size: 11 },
      initrd: { mediaType: "application/vnd.ironcore.image.initramfs", digest: d(3), size: 13 },
      squashfs: { mediaType: "application/io.gardenlinux.squashfs", digest: d(4), size: 14 },
    });
    expect(hasBootLayers(layers)).toBe(true);
  });

  test("squashfs alone is not bootable", () => {
    const layers = findBootLayers({ schemaVersion: 2, layers: [{ mediaType: "application/vnd.ironcore.image.squashfs", digest: d(1), size: 1 }] });
    expect(hasBootLayers(layers)).toBe(false);
  });
});
