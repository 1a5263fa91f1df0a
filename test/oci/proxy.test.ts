// The image proxy routes on a real Bun.serve, in front of a real registry: exact bytes, HEAD, Range, errors,
// digest-mismatch aborts, and the blob cache's de-duplication.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Server } from "bun";
import { mountFamilies } from "../../src/http/app.ts";
import { imageProxyFamily } from "../../src/http/image-proxy.ts";
import { parseRegistryAllowList } from "../../src/oci/allowlist.ts";
import { BlobCache } from "../../src/oci/blob-cache.ts";
import { OciClient, type UpstreamRequestEvent } from "../../src/oci/client.ts";
import { computeDigest } from "../../src/oci/digest.ts";
import { parseRedirectHostList } from "../../src/oci/redirects.ts";
import { httpBootUkiUrl, imageLayerUrl } from "../../src/oci/urls.ts";
import { pushOciIndexImage, pushPxeOnlyImage, pushUkiOnlyImage, RegistryHarness, type TestImage, type TestLayer } from "../harness/registry.ts";

interface LogLine {
  level: string;
  msg: string;
  fields: Record<string, unknown> | undefined;
}

interface Proxy {
  url: string;
  events: UpstreamRequestEvent[];
  mismatches: string[];
  logs: LogLine[];
  cache: BlobCache | undefined;
  stop(): Promise<void>;
}

const running: Proxy[] = [];
const registries: RegistryHarness[] = [];
const tempDirs: string[] = [];

async function startProxy(
  registry: RegistryHarness,
  options: { cache?: boolean; allow?: string; extraPlainHttp?: string[]; redirectHosts?: string } = {},
): Promise<Proxy> {
  const events: UpstreamRequestEvent[] = [];
  const mismatches: string[] = [];
  const logs: LogLine[] = [];
  const log = (level: string, msg: string, fields?: Record<string, unknown>): void => {
    logs.push({ level, msg, fields });
  };
  const client = new OciClient({
    plainHttpRegistries: [registry.host, ...(options.extraPlainHttp ?? [])],
    onUpstreamRequest: (event) => events.push(event),
    log,
    requestTimeoutMs: 5000,
    redirects: {
      allowedRegistries: parseRegistryAllowList(options.allow ?? registry.host).entries,
      hosts: parseRedirectHostList(options.redirectHosts ?? registry.cdnHost ?? ""),
    },
  });
  let cache: BlobCache | undefined;
  if (options.cache) {
    const directory = await mkdtemp(join(tmpdir(), "image-proxy-cache-"));
    tempDirs.push(directory);
    cache = await BlobCache.open({ directory, maxBytes: 64 * 1024 * 1024, log });
  }
  const app = mountFamilies([
    imageProxyFamily({
      client,
      allowList: parseRegistryAllowList(options.allow ?? registry.host),
      blobCache: cache,
      log,
      onDigestMismatch: (digest) => mismatches.push(digest),
    }),
  ]);
  const server: Server<undefined> = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: app.fetch });
  const proxy: Proxy = {
    url: `http://127.0.0.1:${server.port}`,
    events,
    mismatches,
    logs,
    cache,
    stop: async () => {
      await cache?.close();
      await server.stop(true);
    },
  };
  running.push(proxy);
  return proxy;
}

afterAll(async () => {
  for (const proxy of running) await proxy.stop();
  for (const registry of registries) await registry.stop();
  for (const directory of tempDirs) await rm(directory, { recursive: true, force: true });
});

async function startRegistry(options: Parameters<typeof RegistryHarness.start>[0] = {}): Promise<RegistryHarness> {
  const registry = await RegistryHarness.start(options);
  registries.push(registry);
  return registry;
}

function layerOf(image: TestImage, kind: "uki" | "kernel" | "initrd" | "squashfs", architecture: "amd64" | "arm64" = "amd64"): TestLayer {
  const layer = image.byArchitecture[architecture]?.layers[kind];
  if (!layer) throw new Error(`no ${kind} in ${image.reference}`);
  return layer;
}

function imageUrl(proxy: Proxy, registry: RegistryHarness, image: TestImage, layer: TestLayer): string {
  return imageLayerUrl(proxy.url, `${registry.host}/${image.repository}`, image.tag, layer.digest);
}

function ukiUrl(proxy: Proxy, registry: RegistryHarness, image: TestImage, layer: TestLayer): string {
  return httpBootUkiUrl(proxy.url, `${registry.host}/${image.repository}`, layer.digest);
}

async function bytesOf(response: Response): Promise<Uint8Array> {
  return new Uint8Array(await response.arrayBuffer());
}

/** Overwrites one byte in the middle of a blob in the registry's storage: same size, wrong content. */
async function corruptBlob(registry: RegistryHarness, layer: TestLayer): Promise<void> {
  const path = registry.blobDataPath(layer.digest);
  const bytes = new Uint8Array(await readFile(path));
  const middle = Math.floor(bytes.byteLength / 2);
  bytes[middle] = (bytes[middle] ?? 0) ^ 0xff;
  await writeFile(path, bytes);
}

/** Like readToEnd, for a request whose connection may also be reset before the headers. */
async function fetchToEnd(url: string): Promise<{ received: number; error: unknown }> {
  try {
    return await readToEnd(await fetch(url));
  } catch (error) {
    return { received: 0, error };
  }
}

/** The whole body, or the error that ended it early, and how many bytes got through before. */
async function readToEnd(response: Response): Promise<{ received: number; error: unknown }> {
  const reader = response.body?.getReader();
  if (!reader) return { received: 0, error: new Error("no body") };
  let received = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return { received, error: undefined };
      received += value.byteLength;
    }
  } catch (error) {
    return { received, error };
  }
}

describe("image proxy without a blob cache", () => {
  let registry: RegistryHarness;
  let proxy: Proxy;
  let indexImage: TestImage;
  let pxeImage: TestImage;

  beforeAll(async () => {
    registry = await startRegistry();
    indexImage = await pushOciIndexImage(registry, "boot/os", "v1");
    pxeImage = await pushPxeOnlyImage(registry, "boot/pxe", "2.0");
    proxy = await startProxy(registry);
  });

  test("GET /image streams kernel, initrd and squashfs byte for byte", async () => {
    for (const kind of ["kernel", "initrd", "squashfs"] as const) {
      const layer = layerOf(pxeImage, kind);
      const response = await fetch(imageUrl(proxy, registry, pxeImage, layer));
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toBe("application/octet-stream");
      expect(response.headers.get("etag")).toBe(`"${layer.digest}"`);
      const body = await bytesOf(response);
      expect(body.byteLength).toBe(layer.size);
      expect(computeDigest(body)).toBe(layer.digest);
    }
  });

  test("GET /httpboot/<registry>/<repository>/sha256-<hex>.efi serves the UKI as application/efi", async () => {
    for (const architecture of ["amd64", "arm64"] as const) {
      const layer = layerOf(indexImage, "uki", architecture);
      const url = ukiUrl(proxy, registry, indexImage, layer);
      expect(url).toContain(`/httpboot/${registry.host}/boot/os/sha256-`);
      const response = await fetch(url);
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toBe("application/efi");
      expect(await bytesOf(response)).toEqual(layer.bytes);
    }
  });

  test("HEAD answers with Content-Length and no body", async () => {
    const kernel = layerOf(pxeImage, "kernel");
    const uki = layerOf(indexImage, "uki");
    for (const [url, layer, type] of [
      [imageUrl(proxy, registry, pxeImage, kernel), kernel, "application/octet-stream"],
      [ukiUrl(proxy, registry, indexImage, uki), uki, "application/efi"],
    ] as const) {
      const response = await fetch(url, { method: "HEAD" });
      expect(response.status).toBe(200);
      expect(response.headers.get("content-length")).toBe(String(layer.size));
      expect(response.headers.get("content-type")).toBe(type);
      expect((await bytesOf(response)).byteLength).toBe(0);
    }
    expect(proxy.events.some((event) => event.kind === "blob" && event.method === "HEAD")).toBe(true);
  });

  test("Range is forwarded: 206 with the exact slice", async () => {
    const layer = layerOf(pxeImage, "initrd");
    const url = imageUrl(proxy, registry, pxeImage, layer);
    const partial = await fetch(url, { headers: { Range: "bytes=1000-4999" } });
    expect(partial.status).toBe(206);
    expect(partial.headers.get("content-range")).toBe(`bytes 1000-4999/${layer.size}`);
    expect(await bytesOf(partial)).toEqual(layer.bytes.slice(1000, 5000));
    const suffix = await fetch(url, { headers: { Range: "bytes=-100" } });
    expect(suffix.status).toBe(206);
    expect(await bytesOf(suffix)).toEqual(layer.bytes.slice(layer.size - 100));
    const outside = await fetch(url, { headers: { Range: `bytes=${layer.size + 10}-` } });
    expect(outside.status).toBe(416);
    await outside.body?.cancel();
  });

  test("If-None-Match with the digest ETag is 304 without asking the registry", async () => {
    const layer = layerOf(pxeImage, "kernel");
    const before = proxy.events.length;
    const response = await fetch(imageUrl(proxy, registry, pxeImage, layer), { headers: { "If-None-Match": `W/"${layer.digest}"` } });
    expect(response.status).toBe(304);
    expect(proxy.events.length).toBe(before);
  });

  test("a registry that is not allowed is 403 with a one-line reason", async () => {
    const strict = await startProxy(registry, { allow: "ghcr.io" });
    const layer = layerOf(pxeImage, "kernel");
    const response = await fetch(imageUrl(strict, registry, pxeImage, layer));
    expect(response.status).toBe(403);
    const text = await response.text();
    expect(text).toBe(`registry ${registry.host} is not on the allow-list (ghcr.io)\n`);
    expect(strict.events).toEqual([]);
    const uki = await fetch(ukiUrl(strict, registry, indexImage, layerOf(indexImage, "uki")));
    expect(uki.status).toBe(403);
    await uki.body?.cancel();
  });

  test("bad parameters are 400 with a one-line reason", async () => {
    const digest = layerOf(pxeImage, "kernel").digest;
    const cases: [string, string][] = [
      [`/image?imageName=${registry.host}/boot/pxe&version=2.0`, "missing query parameter layerDigest"],
      [`/image?imageName=${registry.host}/boot/pxe&version=2.0&layerDigest=sha256:abc`, "is not sha256"],
      [`/image?imageName=${registry.host}/boot/pxe:2.0&version=2.0&layerDigest=${digest}`, "must not carry a tag"],
      [`/httpboot/${registry.host}/boot/pxe/kernel.efi`, "is not sha256-<64 hex>.efi"],
      [`/httpboot/sha256-${digest.slice(7)}.efi`, "expected /httpboot/"],
    ];
    for (const [path, reason] of cases) {
      const response = await fetch(`${proxy.url}${path}`);
      expect(response.status).toBe(400);
      const text = await response.text();
      expect(text).toContain(reason);
      expect(text.trimEnd().includes("\n")).toBe(false);
    }
  });

  test("a digest the repository does not have is 404; an unknown repository too", async () => {
    const unknown = `sha256:${"0".repeat(64)}`;
    const missingBlob = await fetch(imageLayerUrl(proxy.url, `${registry.host}/boot/pxe`, "2.0", unknown));
    expect(missingBlob.status).toBe(404);
    expect(await missingBlob.text()).toContain("BLOB_UNKNOWN");
    const missingRepo = await fetch(httpBootUkiUrl(proxy.url, `${registry.host}/no/such/repo`, unknown));
    expect(missingRepo.status).toBe(404);
    await missingRepo.body?.cancel();
  });

  test("an unreachable registry is 502 with the reason", async () => {
    const listener = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    const closedHost = `127.0.0.1:${listener.port}`;
    listener.stop(true);
    const unreachable = await startProxy(registry, { allow: `${registry.host},${closedHost}`, extraPlainHttp: [closedHost] });
    const response = await fetch(imageLayerUrl(unreachable.url, `${closedHost}/boot/pxe`, "2.0", layerOf(pxeImage, "kernel").digest));
    expect(response.status).toBe(502);
    const text = await response.text();
    expect(text).toStartWith("upstream registry error: GET http://127.0.0.1:");
    expect(text.trimEnd().includes("\n")).toBe(false);
  });

  test("a blob that does not match its digest breaks the transfer and is reported", async () => {
    const corrupted = await pushPxeOnlyImage(registry, "boot/corrupted", "v1");
    const layer = layerOf(corrupted, "squashfs");
    await corruptBlob(registry, layer);
    const response = await fetch(imageUrl(proxy, registry, corrupted, layer));
    expect(response.status).toBe(200);
    const { received, error } = await readToEnd(response);
    expect(error).toBeDefined();
    expect(received).toBeLessThan(layer.size);
    expect(proxy.mismatches).toEqual([layer.digest]);
    expect(proxy.logs.some((line) => line.level === "error" && line.msg.includes("does not match its digest"))).toBe(true);
  });

  test("a client that hangs up mid-transfer does not disturb later transfers", async () => {
    const layer = layerOf(indexImage, "uki");
    const controller = new AbortController();
    const response = await fetch(ukiUrl(proxy, registry, indexImage, layer), { signal: controller.signal });
    const reader = response.body?.getReader();
    await reader?.read();
    controller.abort();
    // The proxy keeps serving afterwards.
    const again = await fetch(ukiUrl(proxy, registry, indexImage, layer));
    expect(await bytesOf(again)).toEqual(layer.bytes);
  });
});

describe("image proxy with a blob cache", () => {
  let registry: RegistryHarness;
  let proxy: Proxy;
  let image: TestImage;

  beforeAll(async () => {
    // Blobs come through a slow CDN (~5 ms per 64 KiB), so concurrent requests reliably overlap.
    registry = await startRegistry({ cdn: { chunkDelayMs: 5 } });
    image = await pushOciIndexImage(registry, "boot/cached", "v1");
    proxy = await startProxy(registry, { cache: true });
  });

  /** Blob GETs the proxy sent to the registry (each then redirected to the CDN). */
  const upstreamGets = (digest: string): UpstreamRequestEvent[] =>
    proxy.events.filter((event) => event.kind === "blob" && event.method === "GET" && event.url.endsWith(`/blobs/${digest}`));

  test("two concurrent requests cost one upstream fetch; later requests are served from disk", async () => {
    const layer = layerOf(image, "squashfs");
    const url = imageUrl(proxy, registry, image, layer);
    const bodies = await Promise.all([fetch(url), fetch(url)].map(async (pending) => bytesOf(await pending)));
    expect(bodies[0]).toEqual(layer.bytes);
    expect(bodies[1]).toEqual(layer.bytes);
    expect(upstreamGets(layer.digest)).toHaveLength(1);
    const streamed = proxy.logs.filter(
      (line) => line.msg === "image proxy: streaming blob" && line.fields?.image === `${registry.host}/${image.repository}@${layer.digest}`,
    );
    expect(streamed.map((line) => line.fields?.cache).sort()).toEqual(["joined", "miss"]);

    const third = await fetch(url);
    expect(third.headers.get("content-length")).toBe(String(layer.size));
    expect(proxy.cache?.lookup(layer.digest)?.size).toBe(layer.size);
    expect(await bytesOf(third)).toEqual(layer.bytes);
    expect(upstreamGets(layer.digest)).toHaveLength(1);
    expect(proxy.cache?.usage.entries).toBeGreaterThanOrEqual(1);
  });

  test("cached blobs answer HEAD, Range and If-None-Match themselves", async () => {
    const layer = layerOf(image, "uki", "arm64");
    const url = ukiUrl(proxy, registry, image, layer);
    expect(await bytesOf(await fetch(url))).toEqual(layer.bytes);
    const before = proxy.events.length;
    const head = await fetch(url, { method: "HEAD" });
    expect(head.headers.get("content-length")).toBe(String(layer.size));
    expect(head.headers.get("content-type")).toBe("application/efi");
    const partial = await fetch(url, { headers: { Range: "bytes=10-19" } });
    expect(partial.status).toBe(206);
    expect(partial.headers.get("content-range")).toBe(`bytes 10-19/${layer.size}`);
    expect(await bytesOf(partial)).toEqual(layer.bytes.slice(10, 20));
    const conditional = await fetch(url, { headers: { "If-None-Match": `"${layer.digest}"` } });
    expect(conditional.status).toBe(304);
    expect(proxy.events.length).toBe(before);
  });

  test("a corrupt blob fails every waiting client and is not cached", async () => {
    const corrupted = await pushUkiOnlyImage(registry, "boot/cached-corrupt", "v1");
    const layer = layerOf(corrupted, "uki");
    await corruptBlob(registry, layer);
    const url = ukiUrl(proxy, registry, corrupted, layer);
    const results = await Promise.all([fetchToEnd(url), fetchToEnd(url)]);
    for (const result of results) {
      expect(result.error).toBeDefined();
      expect(result.received).toBeLessThan(layer.size);
    }
    expect(proxy.mismatches).toEqual([layer.digest]);
    expect(upstreamGets(layer.digest)).toHaveLength(1);
    expect(proxy.cache?.lookup(layer.digest)).toBeUndefined();
    // Not cached: the next request goes upstream again (and fails again).
    const again = await fetchToEnd(url);
    expect(again.error).toBeDefined();
    expect(upstreamGets(layer.digest)).toHaveLength(2);
    expect(proxy.mismatches).toEqual([layer.digest, layer.digest]);
  });
});

describe("image proxy in front of a token-protected registry with a CDN", () => {
  test("streams exact bytes, also when the CDN is slow; the CDN never sees the registry token", async () => {
    const registry = await startRegistry({ tokenAuth: {}, cdn: { chunkDelayMs: 2 } });
    const image = await pushOciIndexImage(registry, "boot/behind-cdn", "v1");
    for (const cache of [false, true]) {
      const proxy = await startProxy(registry, { cache });
      const layer = layerOf(image, "uki");
      const cdnBefore = registry.requests.cdn.length;
      const response = await fetch(ukiUrl(proxy, registry, image, layer));
      expect(response.status).toBe(200);
      expect(await bytesOf(response)).toEqual(layer.bytes);
      const cdn = registry.requests.cdn.slice(cdnBefore);
      expect(cdn.length).toBeGreaterThan(0);
      expect(cdn.every((request) => request.authorization === null)).toBe(true);
    }
    expect(registry.requests.token.length).toBeGreaterThan(0);
  });
});

/** A registry stand-in that answers every blob GET with a 307 to `target` (what a hostile registry does). */
function redirectingRegistry(target: string): { host: string; blobRequests: number; stop(): void } {
  const state = { blobRequests: 0 };
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: (request) => {
      if (!new URL(request.url).pathname.includes("/blobs/")) return new Response("not found\n", { status: 404 });
      state.blobRequests++;
      return new Response(null, { status: 307, headers: { Location: target } });
    },
  });
  return {
    host: `127.0.0.1:${server.port}`,
    get blobRequests() {
      return state.blobRequests;
    },
    stop: () => void server.stop(true),
  };
}

/** An "internal" service on another loopback port, with a large answer the proxy must never relay. */
function internalService(): { host: string; hits: number; stop(): void } {
  const state = { hits: 0 };
  const secret = new Uint8Array(1_150_000).fill(0x41);
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: () => {
      state.hits++;
      return new Response(secret);
    },
  });
  return {
    host: `127.0.0.1:${server.port}`,
    get hits() {
      return state.hits;
    },
    stop: () => void server.stop(true),
  };
}

describe("redirects from a registry", () => {
  test("a 307 to another loopback port is refused before any byte: 502, the internal service is never asked", async () => {
    const registry = await startRegistry();
    const internal = internalService();
    const hostile = redirectingRegistry(`http://${internal.host}/internal.txt`);
    try {
      for (const cache of [false, true]) {
        const proxy = await startProxy(registry, { cache, allow: `${registry.host},${hostile.host}`, extraPlainHttp: [hostile.host], redirectHosts: "" });
        const digest = `sha256:${"1".repeat(64)}`;
        const response = await fetch(imageLayerUrl(proxy.url, `${hostile.host}/boot/os`, "v1", digest));
        const text = await response.text();
        expect(response.status).toBe(502);
        expect(text).toContain(`redirect to ${internal.host} refused`);
        expect(text.trimEnd().includes("\n")).toBe(false);
        const efi = await fetch(httpBootUkiUrl(proxy.url, `${hostile.host}/boot/os`, digest));
        expect(efi.status).toBe(502);
        await efi.body?.cancel();
        const head = await fetch(httpBootUkiUrl(proxy.url, `${hostile.host}/boot/os`, digest), { method: "HEAD" });
        expect(head.status).toBe(502);
      }
      expect(hostile.blobRequests).toBeGreaterThan(0);
      expect(internal.hits).toBe(0);
    } finally {
      hostile.stop();
      internal.stop();
    }
  });

  test("redirects to link-local, unspecified, IPv6 loopback and unlisted hosts are refused; a listed host is followed", async () => {
    const registry = await startRegistry();
    const internal = internalService();
    try {
      for (const target of ["http://169.254.169.254/latest/meta-data/", "http://0.0.0.0:1/x", "http://[::1]:1/x", "http://10.0.0.1/x"]) {
        const hostile = redirectingRegistry(target);
        const proxy = await startProxy(registry, { allow: `${registry.host},${hostile.host}`, extraPlainHttp: [hostile.host], redirectHosts: ".example.org" });
        const response = await fetch(imageLayerUrl(proxy.url, `${hostile.host}/boot/os`, "v1", `sha256:${"2".repeat(64)}`));
        expect(response.status).toBe(502);
        expect(await response.text()).toContain("refused");
        hostile.stop();
      }
      // Listed exactly: followed (and then cut by the digest check, as any wrong content is).
      const hostile = redirectingRegistry(`http://${internal.host}/internal.txt`);
      const proxy = await startProxy(registry, { allow: `${registry.host},${hostile.host}`, extraPlainHttp: [hostile.host], redirectHosts: internal.host });
      const response = await fetch(imageLayerUrl(proxy.url, `${hostile.host}/boot/os`, "v1", `sha256:${"3".repeat(64)}`));
      await readToEnd(response);
      expect(internal.hits).toBe(1);
      hostile.stop();
    } finally {
      internal.stop();
    }
  });
});

describe("routing", () => {
  test("/httpboot itself is left to the route mounted after the proxy", async () => {
    const app = mountFamilies([
      imageProxyFamily({ client: new OciClient(), allowList: parseRegistryAllowList(undefined), log: () => {} }),
      { name: "config", routes: [{ path: "/httpboot", methods: ["GET", "HEAD"], handler: () => new Response("boot config") }] },
    ]);
    const config = await app.request("/httpboot");
    expect(await config.text()).toBe("boot config");
    const proxied = await app.request("/httpboot/ghcr.io/x/not-a-digest.efi");
    expect(proxied.status).toBe(400);
  });
});
