// OciClient.resolveBootImage against a real registry (Debian's docker-registry), one image of each kind.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { OciClient, type UpstreamRequestEvent } from "../../src/oci/client.ts";
import { OciError } from "../../src/oci/errors.ts";
import {
  MEDIA,
  pushDockerManifestListImage,
  pushLegacyGardenLinuxImage,
  pushOciIndexImage,
  pushPxeOnlyImage,
  pushUkiOnlyImage,
  RegistryHarness,
  randomBytes,
  type TestImage,
} from "../harness/registry.ts";
import { eventually } from "../harness/wait.ts";

let registry: RegistryHarness;
const images: Record<string, TestImage> = {};

beforeAll(async () => {
  registry = await RegistryHarness.start();
  images["oci-index"] = await pushOciIndexImage(registry, "boot/oci-index", "v1");
  images["docker-list"] = await pushDockerManifestListImage(registry, "boot/docker-list", "v1");
  images.legacy = await pushLegacyGardenLinuxImage(registry, "gardenlinux/gardenlinux", "1443.3");
  images["uki-only"] = await pushUkiOnlyImage(registry, "boot/uki-only", "v1");
  images["pxe-only"] = await pushPxeOnlyImage(registry, "boot/pxe-only", "v1");
});

afterAll(async () => {
  await registry?.stop();
});

function recordingClient(options: { tagCacheTtlMs?: number } = {}): { client: OciClient; events: UpstreamRequestEvent[] } {
  const events: UpstreamRequestEvent[] = [];
  const client = new OciClient({ plainHttpRegistries: [registry.host], onUpstreamRequest: (event) => events.push(event), ...options });
  return { client, events };
}

async function expectOciError(promise: Promise<unknown>, code: OciError["code"], text: string): Promise<void> {
  let error: unknown;
  try {
    await promise;
  } catch (caught) {
    error = caught;
  }
  expect(error).toBeInstanceOf(OciError);
  expect((error as OciError).code).toBe(code);
  expect((error as OciError).message).toContain(text);
}

describe("resolveBootImage", () => {
  for (const kind of ["oci-index", "docker-list", "legacy", "uki-only", "pxe-only"]) {
    for (const architecture of ["amd64", "arm64"] as const) {
      test(`${kind} for ${architecture}`, async () => {
        const image = images[kind];
        if (!image) throw new Error(`image ${kind} was not pushed`);
        const expected = image.byArchitecture[architecture];
        if (!expected) throw new Error(`no ${architecture} manifest in ${kind}`);
        const { client } = recordingClient();
        const resolved = await client.resolveBootImage(image.reference, { architecture });
        expect(resolved.registry).toBe(registry.host);
        expect(resolved.repository).toBe(image.repository);
        expect(resolved.imageName).toBe(`${registry.host}/${image.repository}`);
        expect(resolved.version).toBe(image.tag);
        expect(resolved.manifestDigest).toBe(expected.digest);
        if (kind === "uki-only" || kind === "pxe-only") expect(resolved.indexDigest).toBeUndefined();
        else expect(resolved.indexDigest).toBe(image.digest);
        for (const layerKind of ["uki", "kernel", "initrd", "squashfs"] as const) {
          const layer = expected.layers[layerKind];
          if (layer) expect(resolved[layerKind]).toEqual({ digest: layer.digest, size: layer.size, mediaType: layer.mediaType });
          else expect(resolved[layerKind]).toBeUndefined();
        }
      });
    }
  }

  test("legacy GardenLinux layers keep their io.gardenlinux media types", async () => {
    const { client } = recordingClient();
    const resolved = await client.resolveBootImage(images.legacy?.reference ?? "", { architecture: "amd64" });
    expect(resolved.kernel?.mediaType).toBe(MEDIA.legacyKernel);
    expect(resolved.initrd?.mediaType).toBe(MEDIA.legacyInitrd);
    expect(resolved.squashfs?.mediaType).toBe(MEDIA.legacySquashfs);
  });

  test("a digest reference resolves and names the digest as version", async () => {
    const image = images["oci-index"];
    if (!image) throw new Error("missing image");
    const { client } = recordingClient();
    const resolved = await client.resolveBootImage(`${registry.host}/${image.repository}@${image.digest}`, { architecture: "arm64" });
    expect(resolved.version).toBe(image.digest);
    expect(resolved.manifestDigest).toBe(image.byArchitecture.arm64?.digest ?? "");
  });

  test("manifests are cached: by digest for good, tags for the TTL; concurrent resolutions share requests", async () => {
    const image = images["oci-index"];
    if (!image) throw new Error("missing image");
    const { client, events } = recordingClient({ tagCacheTtlMs: 300 });
    await Promise.all([
      client.resolveBootImage(image.reference, { architecture: "amd64" }),
      client.resolveBootImage(image.reference, { architecture: "amd64" }),
    ]);
    expect(events.filter((event) => event.kind === "manifest").map((event) => event.url.split("/manifests/")[1])).toEqual([
      "v1",
      image.byArchitecture.amd64?.digest,
    ]);
    events.length = 0;
    await client.resolveBootImage(image.reference, { architecture: "amd64" });
    expect(events).toEqual([]);
    // Once the 300 ms tag entry expired, the tag is asked again; the manifest it names is still cached by digest.
    await eventually(
      async () => {
        await client.resolveBootImage(image.reference, { architecture: "amd64" });
        return events.length > 0;
      },
      "the tag asked again after its TTL",
      { timeoutMs: 5_000, intervalMs: 50 },
    );
    expect(events.map((event) => event.url.split("/manifests/")[1])).toEqual(["v1"]);
  });

  test("a moved tag is seen once its cache entry expired", async () => {
    const first = await pushUkiOnlyImage(registry, "boot/moving", "stable");
    const { client } = recordingClient({ tagCacheTtlMs: 100 });
    expect((await client.resolveBootImage(first.reference, { architecture: "amd64" })).manifestDigest).toBe(first.digest);
    const second = await pushUkiOnlyImage(registry, "boot/moving", "stable");
    expect(second.digest).not.toBe(first.digest);
    await eventually(
      async () => (await client.resolveBootImage(first.reference, { architecture: "amd64" })).manifestDigest === second.digest,
      "the moved tag resolved to the new manifest",
      { timeoutMs: 5_000, intervalMs: 20 },
    );
  });

  test("unknown tag and unknown repository are NOT_FOUND", async () => {
    const { client } = recordingClient();
    await expectOciError(client.resolveBootImage(`${registry.host}/boot/oci-index:nope`, { architecture: "amd64" }), "NOT_FOUND", "manifest nope not found");
    await expectOciError(client.resolveBootImage(`${registry.host}/no/such/repo:v1`, { architecture: "amd64" }), "NOT_FOUND", "not found");
  });

  test("an index without the architecture names what it has", async () => {
    const layer = await registry.pushBlob("boot/amd64-only", randomBytes(1000), MEDIA.uki);
    const config = await registry.pushBlob("boot/amd64-only", new TextEncoder().encode("{}"), MEDIA.ociEmpty);
    const manifest = await registry.pushManifest(
      "boot/amd64-only",
      "m",
      { schemaVersion: 2, mediaType: MEDIA.ociManifest, config, layers: [layer] },
      MEDIA.ociManifest,
    );
    await registry.pushManifest(
      "boot/amd64-only",
      "v1",
      { schemaVersion: 2, mediaType: MEDIA.ociIndex, manifests: [{ ...manifest, platform: { architecture: "amd64", os: "linux" } }] },
      MEDIA.ociIndex,
    );
    const { client } = recordingClient();
    await expectOciError(client.resolveBootImage(`${registry.host}/boot/amd64-only:v1`, { architecture: "arm64" }), "NO_MATCHING_PLATFORM", "available: amd64");
    expect((await client.resolveBootImage(`${registry.host}/boot/amd64-only:v1`, { architecture: "amd64" })).uki?.digest).toBe(layer.digest);
  });

  test("an image without boot layers is NO_BOOT_LAYERS", async () => {
    const layer = await registry.pushBlob("boot/container", randomBytes(500), "application/vnd.oci.image.layer.v1.tar");
    const config = await registry.pushBlob("boot/container", new TextEncoder().encode("{}"), MEDIA.ociEmpty);
    await registry.pushManifest("boot/container", "v1", { schemaVersion: 2, mediaType: MEDIA.ociManifest, config, layers: [layer] }, MEDIA.ociManifest);
    const { client } = recordingClient();
    await expectOciError(
      client.resolveBootImage(`${registry.host}/boot/container:v1`, { architecture: "amd64" }),
      "NO_BOOT_LAYERS",
      "no UKI, kernel or initrd",
    );
  });

  test("plain HTTP only for registries named in the option", async () => {
    const client = new OciClient({ requestTimeoutMs: 5000 });
    await expectOciError(client.resolveBootImage(images["uki-only"]?.reference ?? "", { architecture: "amd64" }), "NETWORK", `https://${registry.host}/v2/`);
  });
});
