// The image proxy's answers that need no registry, in process: bad requests, the allow-list, ETag revalidation,
// blobs served from the cache (ranges, HEAD), and a registry that cannot be reached. The byte-exact transfers from a
// real registry are in test/oci/proxy.test.ts.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ServedEvent } from "../../../src/boot/served.ts";
import { parseRegistryAllowList } from "../../../src/oci/allowlist.ts";
import { BlobCache } from "../../../src/oci/blob-cache.ts";
import { OciClient } from "../../../src/oci/client.ts";
import { computeDigest } from "../../../src/oci/digest.ts";
import { httpBootUkiUrl, imageLayerUrl } from "../../../src/oci/urls.ts";
import { eventually } from "../../harness/wait.ts";
import { testApp } from "./harness.ts";

const BYTES = new TextEncoder().encode("0123456789abcdef");
const DIGEST = computeDigest(BYTES);
const layer = (registry: string, digest = DIGEST): string => imageLayerUrl("", `${registry}/boot/image`, "v1", digest);
const uki = (registry: string, digest = DIGEST): string => httpBootUkiUrl("", `${registry}/boot/image`, digest);

let directory: string;
let cache: BlobCache;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), "image-proxy-route-"));
  cache = await BlobCache.open({ directory, maxBytes: 1024 * 1024 });
  // Prime the cache the way a first download does, from a local stream instead of a registry.
  const { stream } = await cache.stream(DIGEST, async () => ({ body: new Blob([BYTES]).stream(), size: BYTES.byteLength }));
  await new Response(stream).arrayBuffer();
  await eventually(async () => cache.lookup(DIGEST), "the blob committed to the cache", { timeoutMs: 2_000, intervalMs: 5 });
});
afterAll(async () => {
  await cache.close();
  await rm(directory, { recursive: true, force: true });
});

describe("requests the proxy refuses", () => {
  test.each([
    ["/image?imageName=registry.test/boot/image&version=v1", "missing query parameter layerDigest"],
    [
      `/image?imageName=registry.test/boot/image:v1&version=v1&layerDigest=${DIGEST}`,
      'imageName "registry.test/boot/image:v1" must not carry a tag or digest (use version)',
    ],
    ["/image?imageName=registry.test/boot/image&version=v1&layerDigest=md5:x", 'layerDigest "md5:x" is not sha256:<64 hex>'],
    ["/httpboot/registry.test/boot/image/latest.efi", 'file name "latest.efi" is not sha256-<64 hex>.efi'],
    ["/httpboot/sha256-00.efi", "expected /httpboot/<registry>/<repository>/sha256-<hex>.efi"],
  ])("%p → 400 %p", async (path, reason) => {
    const response = await testApp().request(path);
    expect(response.status).toBe(400);
    expect(await response.text()).toBe(`${reason}\n`);
  });

  test.each([layer("other.test"), uki("other.test")])("a registry off the allow-list is a 403 naming the list: %p", async (path) => {
    const subject = testApp();
    const response = await subject.request(path);
    expect(response.status).toBe(403);
    expect(await response.text()).toBe("registry other.test is not on the allow-list (registry.test)\n");
    expect(subject.logs.find((line) => line.msg === "image proxy: registry not allowed")).toMatchObject({ level: "warn", registry: "other.test" });
  });
});

describe("answers without the registry", () => {
  test("If-None-Match with the digest is a 304: content-addressed bytes never change", async () => {
    const response = await testApp().request(uki("registry.test"), { headers: { "If-None-Match": `"${DIGEST}"` } });
    expect(response.status).toBe(304);
    expect(response.headers.get("etag")).toBe(`"${DIGEST}"`);
    expect(response.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
  });

  test("a cached blob: 200 with digest headers, HEAD, one range, 416, and If-Range on the digest", async () => {
    const subject = testApp({}, { imageProxy: { blobCache: cache } });
    const whole = await subject.request(uki("registry.test"));
    expect(whole.status).toBe(200);
    expect(whole.headers.get("content-type")).toBe("application/efi");
    expect(whole.headers.get("docker-content-digest")).toBe(DIGEST);
    expect(whole.headers.get("content-disposition")).toBe(`inline; filename="${DIGEST.replace(":", "-")}.efi"`);
    expect(whole.headers.get("content-length")).toBe("16");
    expect(await whole.text()).toBe("0123456789abcdef");
    const head = await subject.request(layer("registry.test"), { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.headers.get("content-type")).toBe("application/octet-stream");
    expect(head.headers.get("content-length")).toBe("16");
    expect(await head.text()).toBe("");
    const partial = await subject.request(layer("registry.test"), { headers: { Range: "bytes=10-" } });
    expect(partial.status).toBe(206);
    expect(partial.headers.get("content-range")).toBe("bytes 10-15/16");
    expect(await partial.text()).toBe("abcdef");
    const beyond = await subject.request(layer("registry.test"), { headers: { Range: "bytes=16-" } });
    expect(beyond.status).toBe(416);
    expect(await beyond.text()).toBe("requested range is outside the blob\n");
    const stale = await subject.request(layer("registry.test"), { headers: { Range: "bytes=0-1", "If-Range": '"sha256:other"' } });
    expect(stale.status).toBe(200);
    const current = await subject.request(layer("registry.test"), { headers: { Range: "bytes=0-1", "If-Range": `"${DIGEST}"` } });
    expect(await current.text()).toBe("01");
  });

  test("a blob download is reported to the boot timeline (path with query, requester); HEAD and 304 are not", async () => {
    const events: ServedEvent[] = [];
    const subject = testApp({}, { imageProxy: { blobCache: cache, onServed: (event) => events.push(event) } });
    await (await subject.request(layer("registry.test"), { from: "10.0.0.9" })).arrayBuffer();
    await (await subject.request(uki("registry.test"), { from: "10.0.0.9" })).arrayBuffer();
    await subject.request(uki("registry.test"), { method: "HEAD" });
    await subject.request(uki("registry.test"), { headers: { "If-None-Match": `"${DIGEST}"` } });
    expect(events.map((event) => [event.milestone, event.client, event.path])).toEqual([
      ["boot-file", "10.0.0.9", layer("registry.test")],
      ["boot-file", "10.0.0.9", uki("registry.test")],
    ]);
  });

  test("a registry that refuses connections is a 502 naming the request that failed", async () => {
    const subject = testApp(
      {},
      {
        imageProxy: {
          client: new OciClient({ plainHttpRegistries: ["127.0.0.1:9"], requestTimeoutMs: 2_000 }),
          allowList: parseRegistryAllowList("127.0.0.1:9"),
        },
      },
    );
    const response = await subject.request(layer("127.0.0.1:9"));
    expect(response.status).toBe(502);
    const body = await response.text();
    // /image first checks its version against the manifest: that is the request that fails.
    expect(body).toStartWith("upstream registry error: GET http://127.0.0.1:9/v2/boot/image/manifests/v1 failed: ");
    expect(subject.logs.find((line) => line.msg === "image proxy: request failed")).toMatchObject({ level: "warn" });
  });
});
