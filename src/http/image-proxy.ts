// GET|HEAD /image?imageName=…&version=…&layerDigest=…  and  GET|HEAD /httpboot/<registry/repository>/sha256-<hex>.efi
// Streams boot blobs (kernels, initrds, squashfs, UKIs) from an OCI registry to booting machines, so machines
// never need registry credentials or a route to the internet. Whole-blob transfers are verified against their
// digest and a mismatch breaks the transfer; with a blob cache, concurrent requests share one upstream pull.

import type { ServedEvent } from "../boot/served.ts";
import type { RegistryAllowList } from "../oci/allowlist.ts";
import type { BlobCache, CachedBlob } from "../oci/blob-cache.ts";
import { discard, type OciClient, type OciLog, upstreamError } from "../oci/client.ts";
import { type DigestMismatch, describeMismatch, verifyingStream } from "../oci/digest.ts";
import { OciError } from "../oci/errors.ts";
import { formatRepositoryName } from "../oci/reference.ts";
import { guardedStream, sliceStream } from "../oci/stream-guard.ts";
import { type BlobLocation, describeBlob, parseHttpBootPath, parseImageQuery } from "../oci/urls.ts";
import { decideRange, rangedResponse } from "./ranges.ts";
import { type EndpointFamily, textError } from "./routes.ts";
import { etagListMatches } from "./static-files.ts";

export interface ImageProxyDeps {
  client: OciClient;
  allowList: RegistryAllowList;
  blobCache?: BlobCache;
  log: OciLog;
  /** Counted by the caller (metrics); the proxy already logs the mismatch. */
  onDigestMismatch?: (digest: string) => void;
  /**
   * Whether some boot config (or the default UKI image) references the blob; anything else is 404, so the
   * appliance's pull credentials do not open every blob of an allowed registry to whoever asks.
   */
  isReferenced: (blob: BlobLocation) => boolean;
  /** --max-blob-bytes: a bigger (or endless) blob is cut off and never cached. Default 8 GiB. */
  maxBlobBytes?: number;
  /** --upstream-stall-timeout in ms: an upstream body that sends nothing for this long is cut. Default 30 s. */
  stallTimeoutMs?: number;
  /** A blob a machine started to download (the boot timeline's kernel/initrd/UKI milestones). */
  onServed?: (event: ServedEvent) => void;
}

const DEFAULT_MAX_BLOB_BYTES = 8 * 1024 ** 3;
const DEFAULT_STALL_TIMEOUT_MS = 30_000;

const HTTPBOOT_MOUNT = "/httpboot/";

interface BlobRequest {
  blob: BlobLocation;
  efi: boolean;
  /** /image's version (tag or digest): the blob must be in that image. */
  version?: string;
}

/** Reports a GET that is being answered with the blob (not a HEAD, a 304 or an error). */
async function reported(request: Request, deps: ImageProxyDeps, client: string, path: string, answer: Promise<Response>): Promise<Response> {
  const response = await answer;
  if (deps.onServed && request.method === "GET" && (response.status === 200 || response.status === 206)) {
    deps.onServed({ milestone: "boot-file", client, path, at: new Date() });
  }
  return response;
}

export function imageProxyFamily(deps: ImageProxyDeps): EndpointFamily {
  return {
    name: "image-proxy",
    routes: [
      {
        path: "/image",
        methods: ["GET", "HEAD"],
        download: true,
        handler: (request, { clientAddress }) => {
          const url = new URL(request.url);
          const query = (name: string): string | undefined => url.searchParams.get(name) ?? undefined;
          const parsed = parseImageQuery({ imageName: query("imageName"), version: query("version"), layerDigest: query("layerDigest") });
          if (!parsed.ok) return textError(400, parsed.reason);
          const answer = serveBlob(request, deps, { blob: parsed.blob, efi: false, ...(parsed.version ? { version: parsed.version } : {}) });
          return reported(request, deps, clientAddress, `${url.pathname}${url.search}`, answer);
        },
      },
      {
        path: "/httpboot/*",
        methods: ["GET", "HEAD"],
        download: true,
        handler: (request, { clientAddress }) => {
          // The raw path: segments are decoded once, in parseHttpBootPath.
          const rawPath = new URL(request.url).pathname;
          if (!rawPath.startsWith(HTTPBOOT_MOUNT)) return textError(404, `not under ${HTTPBOOT_MOUNT}`);
          const parsed = parseHttpBootPath(rawPath.slice(HTTPBOOT_MOUNT.length));
          if (!parsed.ok) return textError(400, parsed.reason);
          return reported(request, deps, clientAddress, rawPath, serveBlob(request, deps, { blob: parsed.blob, efi: true }));
        },
      },
    ],
  };
}

async function serveBlob(request: Request, deps: ImageProxyDeps, wanted: BlobRequest): Promise<Response> {
  const { blob } = wanted;
  if (!deps.allowList.isAllowed(blob.registry)) {
    deps.log("warn", "image proxy: registry not allowed", { registry: blob.registry, repository: blob.repository });
    return textError(403, `registry ${blob.registry} is not on the allow-list (${deps.allowList.entries.join(", ")})`);
  }
  if (!deps.isReferenced(blob)) {
    deps.log("warn", "image proxy: blob not referenced by any boot config", { image: describeBlob(blob) });
    return textError(404, `blob ${describeBlob(blob)} is not referenced by any boot config or the default image`);
  }
  const isHead = request.method === "HEAD";
  const range = request.headers.get("range");
  const headers = blobHeaders(wanted);
  const onMismatch = (mismatch: DigestMismatch): void => {
    deps.log("error", "image proxy: blob does not match its digest, transfer aborted", {
      image: describeBlob(blob),
      reason: describeMismatch(mismatch),
    });
    deps.onDigestMismatch?.(blob.digest);
  };
  // The ETag is the digest: a client holding that ETag holds exactly these bytes, wherever they are.
  if (etagListMatches(request.headers.get("if-none-match") ?? "", `"${blob.digest}"`)) return new Response(null, { status: 304, headers });
  try {
    const cached = deps.blobCache?.lookup(blob.digest);
    if (wanted.version !== undefined) {
      // A tag that does not exist (or an image without this layer) must not look like a valid URL.
      const verdict = await versionHasBlob(deps, blob, wanted.version, request.signal, cached !== undefined);
      if (verdict) return verdict;
    }
    if (cached) {
      deps.log("debug", "image proxy: cache hit", { image: describeBlob(blob), method: request.method });
      return serveCached(request, cached, headers);
    }
    if (isHead) return await headUpstream(deps, blob, headers);
    if (range) return await rangeUpstream(request, deps, blob, headers, range, onMismatch);
    if (deps.blobCache) {
      const { stream, size, joined } = await deps.blobCache.stream(
        blob.digest,
        async (signal) => {
          const response = await deps.client.fetchBlob(blob, blob.digest, { signal });
          if (response.status !== 200 || !response.body) throw await upstreamError(response, `blob ${describeBlob(blob)}`);
          const size = await checkDeclaredSize(deps, blob, response);
          return { body: guard(deps, blob, response.body), size };
        },
        onMismatch,
      );
      if (size !== undefined) headers.set("Content-Length", String(size));
      deps.log("info", "image proxy: streaming blob", { image: describeBlob(blob), size, cache: joined ? "joined" : "miss" });
      return new Response(abortQuietly(stream, deps, blob), { status: 200, headers });
    }
    const response = await deps.client.fetchBlob(blob, blob.digest, { signal: request.signal });
    if (response.status !== 200 || !response.body) throw await upstreamError(response, `blob ${describeBlob(blob)}`);
    const size = await checkDeclaredSize(deps, blob, response);
    if (size !== undefined) headers.set("Content-Length", String(size));
    deps.log("info", "image proxy: streaming blob", { image: describeBlob(blob), size });
    const body = verifyingStream(guard(deps, blob, response.body), blob.digest, size, onMismatch);
    return new Response(abortQuietly(body, deps, blob), { status: 200, headers });
  } catch (error) {
    return failure(deps, blob, error);
  }
}

/**
 * undefined when `version` of the image holds the blob, else the 404. When the registry cannot be asked, a blob
 * already cached (and referenced by a config) is still served: machines keep booting while the registry is down.
 */
async function versionHasBlob(deps: ImageProxyDeps, blob: BlobLocation, version: string, signal: AbortSignal, cached: boolean): Promise<Response | undefined> {
  let digests: Set<string>;
  try {
    digests = await deps.client.imageBlobDigests(blob, version, signal);
  } catch (error) {
    if (!cached || (error instanceof OciError && error.code === "NOT_FOUND")) throw error;
    deps.log("warn", "image proxy: cannot check the version against the registry, serving the cached blob", {
      image: describeBlob(blob),
      version,
      error: error instanceof Error ? error.message : String(error),
    });
    return undefined;
  }
  if (digests.has(blob.digest)) return undefined;
  return textError(404, `${formatRepositoryName(blob)}:${version} has no blob ${blob.digest}`);
}

function blobHeaders(request: BlobRequest): Headers {
  const { digest } = request.blob;
  const headers = new Headers({
    "Content-Type": request.efi ? "application/efi" : "application/octet-stream",
    "Docker-Content-Digest": digest,
    // Content-addressed: the digest is the strongest validator there is, and the bytes never change.
    ETag: `"${digest}"`,
    "Cache-Control": "public, max-age=31536000, immutable",
    "Accept-Ranges": "bytes",
  });
  if (request.efi) headers.set("Content-Disposition", `inline; filename="${digest.replace(":", "-")}.efi"`);
  return headers;
}

function contentLength(response: Response): number | undefined {
  const value = response.headers.get("content-length");
  if (value === null || !/^\d+$/.test(value)) return undefined;
  return Number(value);
}

/** A verified blob from the cache: ranges by the shared helper (the digest is the only validator), body by sendfile. */
function serveCached(request: Request, cached: CachedBlob, headers: Headers): Response {
  const validators = { etag: headers.get("etag") ?? "" };
  return rangedResponse(request, { blob: Bun.file(cached.path), size: cached.size, validators, noun: "blob" }, headers);
}

async function headUpstream(deps: ImageProxyDeps, blob: BlobLocation, headers: Headers): Promise<Response> {
  const response = await deps.client.fetchBlob(blob, blob.digest, { method: "HEAD" });
  await discard(response);
  if (response.status !== 200) throw await upstreamError(response, `blob ${describeBlob(blob)}`);
  const size = await checkDeclaredSize(deps, blob, response);
  if (size !== undefined) headers.set("Content-Length", String(size));
  return new Response(null, { status: 200, headers });
}

/** Ranges go straight to the registry; a registry that ignores Range sends the whole blob, which is verified. */
async function rangeUpstream(
  request: Request,
  deps: ImageProxyDeps,
  blob: BlobLocation,
  headers: Headers,
  range: string,
  onMismatch: (mismatch: DigestMismatch) => void,
): Promise<Response> {
  const response = await deps.client.fetchBlob(blob, blob.digest, { range, signal: request.signal });
  if (response.status === 416) {
    await discard(response);
    const contentRange = response.headers.get("content-range");
    if (contentRange) headers.set("Content-Range", contentRange);
    headers.set("Content-Type", "text/plain; charset=utf-8");
    return new Response("requested range is outside the blob\n", { status: 416, headers });
  }
  if ((response.status !== 206 && response.status !== 200) || !response.body) throw await upstreamError(response, `blob ${describeBlob(blob)}`);
  const size = await checkDeclaredSize(deps, blob, response);
  const body = guard(deps, blob, response.body);
  if (response.status === 206) {
    if (size !== undefined) headers.set("Content-Length", String(size));
    const contentRange = response.headers.get("content-range");
    if (contentRange) headers.set("Content-Range", contentRange);
    return new Response(abortQuietly(body, deps, blob), { status: 206, headers });
  }
  // The registry (or its CDN) ignored Range and sent the whole blob: the client still gets only its range.
  const decision = size === undefined ? ({ type: "full" } as const) : decideRange(range, size);
  if (decision.type === "unsatisfiable") {
    await body.cancel().catch(() => {});
    headers.set("Content-Range", `bytes */${size}`);
    headers.set("Content-Type", "text/plain; charset=utf-8");
    return new Response("requested range is outside the blob\n", { status: 416, headers });
  }
  if (decision.type === "partial" && size !== undefined) {
    const { start, end } = decision.range;
    headers.set("Content-Length", String(end - start + 1));
    headers.set("Content-Range", `bytes ${start}-${end}/${size}`);
    return new Response(abortQuietly(sliceStream(body, start, end - start + 1), deps, blob), { status: 206, headers });
  }
  if (size !== undefined) headers.set("Content-Length", String(size));
  return new Response(abortQuietly(verifyingStream(body, blob.digest, size, onMismatch), deps, blob), { status: 200, headers });
}

/** The declared Content-Length; a blob declared bigger than --max-blob-bytes is refused before any byte. */
async function checkDeclaredSize(deps: ImageProxyDeps, blob: BlobLocation, response: Response): Promise<number | undefined> {
  const size = contentLength(response);
  const limit = deps.maxBlobBytes ?? DEFAULT_MAX_BLOB_BYTES;
  if (size !== undefined && size > limit) {
    await discard(response);
    throw new OciError("BLOB_LIMIT", `blob ${describeBlob(blob)} is ${size} bytes, over --max-blob-bytes (${limit})`);
  }
  return size;
}

/** Every upstream body passes this: it ends after --max-blob-bytes and when the upstream stalls. */
function guard(deps: ImageProxyDeps, blob: BlobLocation, body: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
  return guardedStream(body, {
    maxBytes: deps.maxBlobBytes ?? DEFAULT_MAX_BLOB_BYTES,
    stallMs: deps.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS,
    what: `blob ${describeBlob(blob)}`,
  });
}

/**
 * Passes a response body through; when it fails mid-transfer, logs why and errors the stream without a reason.
 * Bun then resets the connection (the client sees a truncated transfer) but does not print the error and its
 * stack to stderr, which it does for any error value.
 */
function abortQuietly(body: ReadableStream<Uint8Array>, deps: ImageProxyDeps, blob: BlobLocation): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const { done, value } = await reader.read();
          if (done) controller.close();
          else controller.enqueue(value);
        } catch (error) {
          // Digest mismatches were logged (as errors) where they were detected.
          if (!(error instanceof OciError && error.code === "DIGEST_MISMATCH")) {
            deps.log("warn", "image proxy: transfer aborted", { image: describeBlob(blob), error: error instanceof Error ? error.message : String(error) });
          }
          controller.error(undefined);
        }
      },
      cancel(reason) {
        return reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}

function failure(deps: ImageProxyDeps, blob: BlobLocation, error: unknown): Response {
  const message = error instanceof Error ? error.message : String(error);
  deps.log("warn", "image proxy: request failed", { image: describeBlob(blob), error: message });
  if (error instanceof OciError) {
    if (error.code === "NOT_FOUND") return textError(404, message);
    if (error.code === "INVALID_REFERENCE") return textError(400, message);
  }
  return textError(502, `upstream registry error: ${message}`);
}
