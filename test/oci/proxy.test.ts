// The image proxy routes on a real Bun.serve, in front of a real registry: exact bytes, HEAD, Range, errors,
// digest-mismatch aborts, and the blob cache's de-duplication.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readdirSync, statSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type ServerResponse } from "node:http";
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
import { type BlobLocation, blobKey, httpBootUkiUrl, imageLayerUrl, proxiedBlobOfUrl } from "../../src/oci/urls.ts";
import {
  pushOciIndexImage,
  pushPxeOnlyImage,
  pushUkiOnlyImage,
  RegistryHarness,
  randomBytes,
  sha256Digest,
  type TestImage,
  type TestLayer,
} from "../harness/registry.ts";
import { eventually } from "../harness/wait.ts";

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
  cacheDir: string | undefined;
  stop(): Promise<void>;
}

const running: Proxy[] = [];
const registries: RegistryHarness[] = [];
const tempDirs: string[] = [];

interface ProxyOptions {
  cache?: boolean;
  /** Size limit of the blob cache (default 64 MiB). */
  cacheBytes?: number;
  allow?: string;
  extraPlainHttp?: string[];
  redirectHosts?: string;
  maxBlobBytes?: number;
  stallTimeoutMs?: number;
  /** Which blobs boot configs reference (default: every blob, for the tests about streaming itself). */
  referenced?: (blob: BlobLocation) => boolean;
}

async function startProxy(registry: { host: string; cdnHost?: string | undefined }, options: ProxyOptions = {}): Promise<Proxy> {
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
  let cacheDir: string | undefined;
  if (options.cache) {
    const directory = await mkdtemp(join(tmpdir(), "image-proxy-cache-"));
    tempDirs.push(directory);
    cache = await BlobCache.open({ directory, maxBytes: options.cacheBytes ?? 64 * 1024 * 1024, log });
    cacheDir = directory;
  }
  const app = mountFamilies([
    imageProxyFamily({
      client,
      allowList: parseRegistryAllowList(options.allow ?? registry.host),
      blobCache: cache,
      log,
      onDigestMismatch: (digest) => mismatches.push(digest),
      isReferenced: options.referenced ?? (() => true),
      ...(options.maxBlobBytes !== undefined ? { maxBlobBytes: options.maxBlobBytes } : {}),
      ...(options.stallTimeoutMs !== undefined ? { stallTimeoutMs: options.stallTimeoutMs } : {}),
    }),
  ]);
  const server: Server<undefined> = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: app.fetch });
  const proxy: Proxy = {
    url: `http://127.0.0.1:${server.port}`,
    events,
    mismatches,
    logs,
    cache,
    cacheDir,
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
    expect(await missingBlob.text()).toContain(`boot/pxe:2.0 has no blob ${unknown}`);
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
        const response = await fetch(httpBootUkiUrl(proxy.url, `${hostile.host}/boot/os`, digest));
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
        const response = await fetch(httpBootUkiUrl(proxy.url, `${hostile.host}/boot/os`, `sha256:${"2".repeat(64)}`));
        expect(response.status).toBe(502);
        expect(await response.text()).toContain("refused");
        hostile.stop();
      }
      // Listed exactly: followed (and then cut by the digest check, as any wrong content is).
      const hostile = redirectingRegistry(`http://${internal.host}/internal.txt`);
      const proxy = await startProxy(registry, { allow: `${registry.host},${hostile.host}`, extraPlainHttp: [hostile.host], redirectHosts: internal.host });
      const response = await fetch(httpBootUkiUrl(proxy.url, `${hostile.host}/boot/os`, `sha256:${"3".repeat(64)}`));
      await readToEnd(response);
      expect(internal.hits).toBe(1);
      hostile.stop();
    } finally {
      internal.stop();
    }
  });
});

/** How the fake registry sends one blob. */
interface FakeBlob {
  bytes: Uint8Array;
  /** Send Content-Length (node:http keeps it on a slow body; Bun.serve drops it for streams). */
  declareLength?: boolean;
  chunkDelayMs?: number;
  /** Send this many bytes, then nothing more, never ending the response. */
  stallAfterBytes?: number;
  /** Zeros forever, whatever `bytes` is. */
  endless?: boolean;
}

interface FakeRegistry {
  host: string;
  /** Blob GETs per digest. */
  attempts: Map<string, number>;
  stop(): Promise<void>;
}

/** A registry stand-in (node:http, plain HTTP on loopback) that serves blobs the way `plan` says; ignores Range. */
async function fakeBlobRegistry(plan: (digest: string, attempt: number) => FakeBlob | undefined): Promise<FakeRegistry> {
  const attempts = new Map<string, number>();
  const writeChunk = (res: ServerResponse, chunk: Uint8Array): Promise<void> =>
    new Promise((resolve) => {
      if (res.write(chunk)) resolve();
      else {
        res.once("drain", () => resolve());
        res.once("close", () => resolve());
      }
    });
  const server = createServer(async (req, res) => {
    const digest = /\/blobs\/(sha256:[a-f0-9]{64})$/.exec(req.url ?? "")?.[1];
    const attempt = digest ? (attempts.get(digest) ?? 0) + 1 : 0;
    if (digest && req.method === "GET") attempts.set(digest, attempt);
    const blob = digest ? plan(digest, Math.max(attempt, 1)) : undefined;
    if (!blob) {
      res.writeHead(404, { "Content-Type": "text/plain" });
      res.end("not found\n");
      return;
    }
    const headers: Record<string, string> = { "Content-Type": "application/octet-stream" };
    if (blob.declareLength) headers["Content-Length"] = String(blob.bytes.byteLength);
    res.writeHead(200, headers);
    if (req.method === "HEAD") {
      res.end();
      return;
    }
    let offset = 0;
    for (;;) {
      if (res.destroyed) return;
      if (blob.stallAfterBytes !== undefined && offset >= blob.stallAfterBytes) return;
      if (!blob.endless && offset >= blob.bytes.byteLength) break;
      const piece = blob.endless ? new Uint8Array(65536) : blob.bytes.subarray(offset, offset + 65536);
      offset += piece.byteLength;
      await writeChunk(res, piece);
      if (blob.chunkDelayMs) await Bun.sleep(blob.chunkDelayMs);
    }
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    host: `127.0.0.1:${port}`,
    attempts,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Bytes in the cache's temporary directory right now. */
function temporaryBytes(proxy: Proxy): number {
  const dir = join(proxy.cacheDir ?? "", "tmp");
  return readdirSync(dir).reduce((sum, name) => sum + (statSync(join(dir, name), { throwIfNoEntry: false })?.size ?? 0), 0);
}

function temporaryFiles(proxy: Proxy): string[] {
  return readdirSync(join(proxy.cacheDir ?? "", "tmp"));
}

/** Samples the cache's temporary bytes every few ms while `work` runs; the largest value seen. */
async function peakTemporaryBytes<T>(proxy: Proxy, work: () => Promise<T>): Promise<{ peak: number; result: T }> {
  let peak = 0;
  const timer = setInterval(() => {
    peak = Math.max(peak, temporaryBytes(proxy));
  }, 2);
  try {
    const result = await work();
    return { peak, result };
  } finally {
    clearInterval(timer);
  }
}

/** A GET that gives up after 10 s, so a proxy that hangs fails the test instead of stalling it. */
async function fetchWithin(url: string, init: RequestInit = {}): Promise<{ status: number; received: number; error: unknown; body: Uint8Array }> {
  try {
    const response = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
    const reader = response.body?.getReader();
    const chunks: Uint8Array[] = [];
    let received = 0;
    try {
      for (;;) {
        const next = await reader?.read();
        if (!next || next.done) break;
        chunks.push(next.value);
        received += next.value.byteLength;
      }
    } catch (error) {
      return { status: response.status, received, error, body: Buffer.concat(chunks) };
    }
    return { status: response.status, received, error: undefined, body: new Uint8Array(Buffer.concat(chunks)) };
  } catch (error) {
    return { status: 0, received: 0, error, body: new Uint8Array(0) };
  }
}

describe("blob limits: cache size, stalls, endless blobs", () => {
  const MiB = 1024 * 1024;
  const fakes: FakeRegistry[] = [];
  afterAll(async () => {
    for (const fake of fakes) await fake.stop();
  });
  const startFake = async (plan: (digest: string, attempt: number) => FakeBlob | undefined): Promise<FakeRegistry> => {
    const fake = await fakeBlobRegistry(plan);
    fakes.push(fake);
    return fake;
  };
  // /httpboot: the fake registry has no manifests for /image's version check.
  const blobUrl = (proxy: Proxy, fake: FakeRegistry, digest: string): string => httpBootUkiUrl(proxy.url, `${fake.host}/boot/limits`, digest);

  test("a blob declared bigger than the cache streams uncached and never grows a temp file past the cache size", async () => {
    const bytes = randomBytes(3 * MiB);
    const digest = sha256Digest(bytes);
    const fake = await startFake(() => ({ bytes, declareLength: true, chunkDelayMs: 1 }));
    const proxy = await startProxy(fake, { cache: true, cacheBytes: 1 * MiB });
    const { peak, result } = await peakTemporaryBytes(proxy, () => fetchWithin(blobUrl(proxy, fake, digest)));
    expect(result.status).toBe(200);
    expect(result.error).toBeUndefined();
    expect(computeDigest(result.body)).toBe(digest);
    expect(peak).toBeLessThanOrEqual(1 * MiB);
    expect(proxy.cache?.lookup(digest)).toBeUndefined();
    expect(temporaryFiles(proxy)).toEqual([]);
    // Served again the same way, from the registry.
    expect(computeDigest((await fetchWithin(blobUrl(proxy, fake, digest))).body)).toBe(digest);
    expect(fake.attempts.get(digest)).toBe(2);
  });

  test("a blob of undeclared size is cut at the cache size; later requests stream it uncached", async () => {
    const bytes = randomBytes(3 * MiB);
    const digest = sha256Digest(bytes);
    const fake = await startFake(() => ({ bytes, chunkDelayMs: 1 }));
    const proxy = await startProxy(fake, { cache: true, cacheBytes: 1 * MiB });
    const { peak, result } = await peakTemporaryBytes(proxy, () => fetchWithin(blobUrl(proxy, fake, digest)));
    expect(peak).toBeLessThanOrEqual(1 * MiB + 65536);
    expect(result.error).toBeDefined();
    await eventually(async () => temporaryFiles(proxy).length === 0, "temp files removed", { timeoutMs: 5000, intervalMs: 10 });
    const again = await fetchWithin(blobUrl(proxy, fake, digest));
    expect(again.error).toBeUndefined();
    expect(computeDigest(again.body)).toBe(digest);
    expect(proxy.cache?.lookup(digest)).toBeUndefined();
    expect(temporaryFiles(proxy)).toEqual([]);
  });

  test("an endless blob ends at --max-blob-bytes with an error; nothing cached, no temp file left", async () => {
    const digest = `sha256:${"4".repeat(64)}`;
    const fake = await startFake(() => ({ bytes: new Uint8Array(0), endless: true }));
    for (const cache of [false, true]) {
      const proxy = await startProxy(fake, { cache, maxBlobBytes: 2 * MiB });
      const result = await fetchWithin(blobUrl(proxy, fake, digest));
      expect(result.error).toBeDefined();
      expect(String(result.error)).not.toContain("TimeoutError");
      expect(result.received).toBeLessThanOrEqual(2 * MiB);
      if (cache) {
        expect(proxy.cache?.lookup(digest)).toBeUndefined();
        await eventually(async () => temporaryFiles(proxy).length === 0, "temp files removed", { timeoutMs: 5000, intervalMs: 10 });
      }
    }
  });

  test("a blob declared bigger than --max-blob-bytes is 502 before any byte", async () => {
    const bytes = randomBytes(3 * MiB);
    const digest = sha256Digest(bytes);
    const fake = await startFake(() => ({ bytes, declareLength: true }));
    for (const cache of [false, true]) {
      const proxy = await startProxy(fake, { cache, maxBlobBytes: 2 * MiB });
      const result = await fetchWithin(blobUrl(proxy, fake, digest));
      expect(result.status).toBe(502);
      expect(new TextDecoder().decode(result.body)).toContain("over --max-blob-bytes");
    }
  });

  test("a stalled upstream is cut after --upstream-stall-timeout; the next request starts a fresh download", async () => {
    const bytes = randomBytes(1 * MiB);
    const digest = sha256Digest(bytes);
    for (const cache of [false, true]) {
      const fake = await startFake((_, attempt) =>
        attempt === 1 ? { bytes, declareLength: true, stallAfterBytes: 256 * 1024 } : { bytes, declareLength: true },
      );
      const proxy = await startProxy(fake, { cache, stallTimeoutMs: 300 });
      const first = await fetchWithin(blobUrl(proxy, fake, digest));
      expect(first.error).toBeDefined();
      expect(String(first.error)).not.toContain("TimeoutError");
      expect(first.received).toBeLessThan(bytes.byteLength);
      expect(proxy.logs.some((line) => String(line.fields?.error ?? "").includes("--upstream-stall-timeout"))).toBe(true);
      const second = await fetchWithin(blobUrl(proxy, fake, digest));
      expect(second.error).toBeUndefined();
      expect(computeDigest(second.body)).toBe(digest);
      expect(fake.attempts.get(digest)).toBe(2);
      if (cache) {
        expect(proxy.cache?.lookup(digest)?.size).toBe(bytes.byteLength);
        expect(temporaryFiles(proxy)).toEqual([]);
      }
    }
  });

  test("a Range request while the blob is downloading gets 206 with its range, even from a registry that ignores Range", async () => {
    const bytes = randomBytes(2 * MiB);
    const digest = sha256Digest(bytes);
    const fake = await startFake(() => ({ bytes, declareLength: true, chunkDelayMs: 5 }));
    const proxy = await startProxy(fake, { cache: true });
    const whole = fetchWithin(blobUrl(proxy, fake, digest));
    await eventually(async () => (fake.attempts.get(digest) ?? 0) >= 1, "download started", { timeoutMs: 5000, intervalMs: 5 });
    const partial = await fetch(blobUrl(proxy, fake, digest), { headers: { Range: "bytes=100-199" }, signal: AbortSignal.timeout(10_000) });
    expect(partial.status).toBe(206);
    expect(partial.headers.get("content-range")).toBe(`bytes 100-199/${bytes.byteLength}`);
    expect(await bytesOf(partial)).toEqual(bytes.slice(100, 200));
    const outside = await fetch(blobUrl(proxy, fake, digest), { headers: { Range: `bytes=${bytes.byteLength + 5}-` } });
    expect(outside.status).toBe(416);
    await outside.body?.cancel();
    expect(computeDigest((await whole).body)).toBe(digest);
  });
});

describe("only referenced blobs are served", () => {
  let registry: RegistryHarness;
  let pxe: TestImage;
  let pxeNext: TestImage;
  let os: TestImage;
  let proxy: Proxy;

  beforeAll(async () => {
    registry = await startRegistry();
    pxe = await pushPxeOnlyImage(registry, "boot/ref-pxe", "2.0");
    pxeNext = await pushPxeOnlyImage(registry, "boot/ref-pxe", "3.0");
    os = await pushOciIndexImage(registry, "boot/ref-os", "v1");
    // What the boot configs say (as the runtime derives it from the index's kernel/initrd/squashfs/UKI URLs).
    const configUrls = [
      imageLayerUrl("http://boot.example:8083", `${registry.host}/${pxe.repository}`, pxe.tag, layerOf(pxe, "kernel").digest),
      imageLayerUrl("", `${registry.host}/${pxe.repository}`, pxe.tag, layerOf(pxeNext, "initrd").digest),
      httpBootUkiUrl("", `${registry.host}/${os.repository}`, layerOf(os, "uki").digest),
      "http://elsewhere.example/vmlinuz",
    ];
    const keys = new Set(configUrls.flatMap((url) => proxiedBlobOfUrl(url) ?? []).map(blobKey));
    proxy = await startProxy(registry, { referenced: (blob) => keys.has(blobKey(blob)) });
  });

  test("a referenced blob is 200; any other blob of the allowed registry is 404 with a one-line reason, unasked upstream", async () => {
    const kernel = await fetch(imageUrl(proxy, registry, pxe, layerOf(pxe, "kernel")));
    expect(kernel.status).toBe(200);
    expect(await bytesOf(kernel)).toEqual(layerOf(pxe, "kernel").bytes);
    expect((await fetch(ukiUrl(proxy, registry, os, layerOf(os, "uki")))).status).toBe(200);
    const before = proxy.events.length;
    for (const url of [
      imageUrl(proxy, registry, pxe, layerOf(pxe, "initrd")),
      ukiUrl(proxy, registry, os, layerOf(os, "uki", "arm64")),
      httpBootUkiUrl(proxy.url, `${registry.host}/${pxe.repository}`, layerOf(pxe, "squashfs").digest),
      // The referenced kernel, asked for under another repository.
      httpBootUkiUrl(proxy.url, `${registry.host}/${os.repository}`, layerOf(pxe, "kernel").digest),
    ]) {
      for (const method of ["GET", "HEAD"]) {
        const response = await fetch(url, { method });
        expect(response.status).toBe(404);
        if (method === "GET") {
          const text = await response.text();
          expect(text).toContain("is not referenced by any boot config");
          expect(text.trimEnd().includes("\n")).toBe(false);
        }
      }
    }
    expect(proxy.events.slice(before).filter((event) => event.kind === "blob")).toEqual([]);
  });

  test("/image checks version against the manifest: an unknown tag, or a layer not in that tag, is 404", async () => {
    const kernel = layerOf(pxe, "kernel");
    const unknownTag = await fetch(imageLayerUrl(proxy.url, `${registry.host}/${pxe.repository}`, "no-such-tag", kernel.digest));
    expect(unknownTag.status).toBe(404);
    expect(await unknownTag.text()).toContain("no-such-tag");
    // Referenced by a config, but that config names the wrong tag for it: the registry would still serve it.
    const wrongTag = await fetch(imageLayerUrl(proxy.url, `${registry.host}/${pxe.repository}`, pxe.tag, layerOf(pxeNext, "initrd").digest));
    expect(wrongTag.status).toBe(404);
    expect(await wrongTag.text()).toContain(`${pxe.tag} has no blob`);
    const right = await fetch(imageUrl(proxy, registry, pxe, kernel), { method: "HEAD" });
    expect(right.status).toBe(200);
  });
});

describe("routing", () => {
  test("/httpboot itself is left to the route mounted after the proxy", async () => {
    const app = mountFamilies([
      imageProxyFamily({ client: new OciClient(), allowList: parseRegistryAllowList(undefined), isReferenced: () => true, log: () => {} }),
      { name: "config", routes: [{ path: "/httpboot", methods: ["GET", "HEAD"], handler: () => new Response("boot config") }] },
    ]);
    const config = await app.request("/httpboot");
    expect(await config.text()).toBe("boot config");
    const proxied = await app.request("/httpboot/ghcr.io/x/not-a-digest.efi");
    expect(proxied.status).toBe(400);
  });
});
