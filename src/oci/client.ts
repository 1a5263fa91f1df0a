// A small OCI Distribution client on fetch: manifests and blobs, anonymous or credentialed bearer tokens
// (WWW-Authenticate → token realm), Basic auth, redirects to blob CDNs, and caches for manifests and tokens.
import { lookup } from "node:dns/promises";
import { networkInterfaces } from "node:os";
import { type AuthChallenge, type BearerToken, basicAuthorization, parseTokenResponse, parseWwwAuthenticate, type RegistryCredentials } from "./auth.ts";
import { computeDigest } from "./digest.ts";
import { OciError } from "./errors.ts";
import {
  type Architecture,
  type BootLayers,
  entryArchitecture,
  findBootLayers,
  hasBootLayers,
  type IndexEntry,
  normalizeArchitecture,
  type ParsedManifest,
  parseManifest,
  rankIndexEntries,
} from "./manifest.ts";
import { bootLayerKind, MANIFEST_ACCEPT } from "./media-types.ts";
import { checkResolvedAddresses, judgeRedirect, parseRedirectHostList, type RedirectHostList } from "./redirects.ts";
import {
  canonicalRegistry,
  digestAlgorithm,
  formatRepositoryName,
  type ImageReference,
  isDigest,
  manifestReference,
  parseImageReference,
  type RepositoryName,
  registryApiHost,
} from "./reference.ts";

type OciLogLevel = "debug" | "info" | "warn" | "error";
export type OciLog = (level: OciLogLevel, msg: string, fields?: Record<string, unknown>) => void;

export interface UpstreamRequestEvent {
  registry: string;
  kind: "manifest" | "blob" | "token";
  method: string;
  url: string;
  /** 0 when the request failed before any answer. */
  status: number;
}

interface OciClientOptions {
  /** Registries (host[:port]) spoken to over plain HTTP; every other registry is HTTPS only. */
  plainHttpRegistries?: readonly string[];
  /** Pull credentials by registry, e.g. from parseDockerConfigJson(). */
  credentials?: RegistryCredentials;
  /** How long a tag → digest resolution is reused. Digests never change, so those are cached by count only. */
  tagCacheTtlMs?: number;
  manifestCacheEntries?: number;
  /** Time allowed until response headers arrive (body streaming is not limited). */
  requestTimeoutMs?: number;
  userAgent?: string;
  /** Called once per HTTP exchange with a registry or token server: a hook for metrics and tests. */
  onUpstreamRequest?: (event: UpstreamRequestEvent) => void;
  log?: OciLog;
  /** Where redirects may lead (see redirects.ts); by default the registry itself and the default storage hosts. */
  redirects?: RedirectOptions;
}

interface RedirectOptions {
  /** Canonical host[:port] of the allowed registries. */
  allowedRegistries?: readonly string[];
  /** Parsed --allowed-redirect-hosts. */
  hosts?: RedirectHostList;
  /** Resolves a name to its addresses (default: the system resolver). */
  resolve?: (hostname: string) => Promise<string[]>;
  /** This host's own addresses (default: its network interfaces). */
  ownAddresses?: () => string[];
}

interface FetchedManifest {
  digest: string;
  /** As the registry labelled it (Content-Type), or the manifest's own mediaType. */
  mediaType: string;
  bytes: Uint8Array;
  parsed: ParsedManifest;
}

export interface BootImage extends BootLayers {
  registry: string;
  repository: string;
  /** "registry/repository", as the image proxy's imageName parameter wants it. */
  imageName: string;
  /** The tag or digest the reference named (the proxy's version parameter). */
  version: string;
  /** Digest of the image manifest whose layers were chosen. */
  manifestDigest: string;
  /** Digest of the index the manifest was chosen from, when the reference named an index. */
  indexDigest?: string;
}

interface BlobRequest {
  method?: "GET" | "HEAD";
  /** Forwarded verbatim as the Range header. */
  range?: string;
  signal?: AbortSignal;
}

const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
const MAX_REDIRECTS = 5;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const DEFAULT_USER_AGENT = "boot-operator";

interface RegistryAuthState {
  /** The registry's last bearer challenge, so the next repository gets its token without a 401 first. */
  bearer?: AuthChallenge;
  /** The registry asked for Basic auth. */
  basic?: boolean;
}

interface TagEntry {
  digest: string;
  expiresAt: number;
}

export class OciClient {
  readonly #plainHttp: ReadonlySet<string>;
  #credentials: RegistryCredentials;
  readonly #tagTtlMs: number;
  readonly #manifestCacheEntries: number;
  readonly #timeoutMs: number;
  readonly #userAgent: string;
  readonly #onUpstreamRequest: ((event: UpstreamRequestEvent) => void) | undefined;
  readonly #log: OciLog;
  readonly #redirectRegistries: readonly string[];
  readonly #redirectHosts: RedirectHostList;
  readonly #resolve: (hostname: string) => Promise<string[]>;
  readonly #ownAddresses: () => string[];
  readonly #authState = new Map<string, RegistryAuthState>();
  readonly #tokens = new Map<string, BearerToken>();
  readonly #tokenRequests = new Map<string, Promise<BearerToken>>();
  /** digest-keyed manifests, in least-recently-used order. */
  readonly #manifests = new Map<string, FetchedManifest>();
  readonly #tags = new Map<string, TagEntry>();
  readonly #manifestRequests = new Map<string, Promise<FetchedManifest>>();

  constructor(options: OciClientOptions = {}) {
    this.#plainHttp = new Set((options.plainHttpRegistries ?? []).map(canonicalRegistry));
    this.#credentials = options.credentials ?? new Map();
    this.#tagTtlMs = options.tagCacheTtlMs ?? 60_000;
    this.#manifestCacheEntries = options.manifestCacheEntries ?? 512;
    this.#timeoutMs = options.requestTimeoutMs ?? 30_000;
    this.#userAgent = options.userAgent ?? DEFAULT_USER_AGENT;
    this.#onUpstreamRequest = options.onUpstreamRequest;
    this.#log = options.log ?? (() => {});
    this.#redirectRegistries = (options.redirects?.allowedRegistries ?? []).map(canonicalRegistry);
    this.#redirectHosts = options.redirects?.hosts ?? parseRedirectHostList(undefined);
    this.#resolve = options.redirects?.resolve ?? resolveAddresses;
    this.#ownAddresses = options.redirects?.ownAddresses ?? interfaceAddresses;
  }

  /**
   * Replaces the pull credentials (e.g. after the dockerconfigjson Secret changed). Cached tokens were issued
   * for the old identity, so they are dropped; cached manifests stay (content does not depend on who asked).
   */
  setCredentials(credentials: RegistryCredentials): void {
    this.#credentials = credentials;
    this.#tokens.clear();
  }

  /** Fetches (or answers from cache) the manifest a tag or digest names. Digest references are verified. */
  async getManifest(name: RepositoryName, reference: string, signal?: AbortSignal): Promise<FetchedManifest> {
    const registry = canonicalRegistry(name.registry);
    const repoKey = `${registry}/${name.repository}`;
    if (isDigest(reference)) {
      const cached = this.#manifests.get(`${repoKey}@${reference}`);
      if (cached) {
        this.#touchManifest(`${repoKey}@${reference}`, cached);
        return cached;
      }
    } else {
      const tag = this.#tags.get(`${repoKey}:${reference}`);
      if (tag && tag.expiresAt > Date.now()) {
        const cached = this.#manifests.get(`${repoKey}@${tag.digest}`);
        if (cached) {
          this.#touchManifest(`${repoKey}@${tag.digest}`, cached);
          return cached;
        }
      }
    }
    const requestKey = `${repoKey}|${reference}`;
    const pending = this.#manifestRequests.get(requestKey);
    if (pending) return pending;
    const request = this.#fetchManifest({ registry, repository: name.repository }, reference, signal).finally(() => {
      this.#manifestRequests.delete(requestKey);
    });
    this.#manifestRequests.set(requestKey, request);
    return request;
  }

  async #fetchManifest(name: RepositoryName, reference: string, signal: AbortSignal | undefined): Promise<FetchedManifest> {
    const repoKey = formatRepositoryName(name);
    const response = await this.#send(name, `manifests/${reference}`, { method: "GET", headers: { Accept: MANIFEST_ACCEPT } }, "manifest", signal);
    if (response.status === 404) {
      await discard(response);
      throw new OciError("NOT_FOUND", `manifest ${reference} not found in ${repoKey}`, 404);
    }
    if (!response.ok) throw await upstreamError(response, `manifest ${reference} of ${repoKey}`);
    const declaredLength = Number(response.headers.get("content-length") ?? "0");
    if (declaredLength > MAX_MANIFEST_BYTES) {
      await discard(response);
      throw new OciError("INVALID_MANIFEST", `manifest ${reference} of ${repoKey} is ${declaredLength} bytes, over the ${MAX_MANIFEST_BYTES}-byte limit`);
    }
    const bytes = await readLimited(response, MAX_MANIFEST_BYTES);
    if (!bytes) throw new OciError("INVALID_MANIFEST", `manifest ${reference} of ${repoKey} is over the ${MAX_MANIFEST_BYTES}-byte limit`);
    const pinned = isDigest(reference);
    const digest = computeDigest(bytes, pinned ? digestAlgorithm(reference) : "sha256");
    if (pinned && digest !== reference) {
      throw new OciError("DIGEST_MISMATCH", `manifest ${reference} of ${repoKey} hashed to ${digest}`);
    }
    const contentType = response.headers.get("content-type") ?? undefined;
    const parsed = parseManifest(bytes, contentType);
    const ownType = parsed.kind === "index" ? parsed.index.mediaType : parsed.manifest.mediaType;
    const manifest: FetchedManifest = { digest, mediaType: ownType ?? contentType ?? "", bytes, parsed };
    this.#touchManifest(`${repoKey}@${digest}`, manifest);
    if (!pinned) this.#tags.set(`${repoKey}:${reference}`, { digest, expiresAt: Date.now() + this.#tagTtlMs });
    this.#log("debug", "fetched manifest", { image: repoKey, reference, digest, kind: parsed.kind });
    return manifest;
  }

  #touchManifest(key: string, manifest: FetchedManifest): void {
    this.#manifests.delete(key);
    this.#manifests.set(key, manifest);
    while (this.#manifests.size > this.#manifestCacheEntries) {
      const oldest = this.#manifests.keys().next().value;
      if (oldest === undefined) break;
      this.#manifests.delete(oldest);
    }
    if (this.#tags.size > this.#manifestCacheEntries) {
      const now = Date.now();
      for (const [tag, entry] of this.#tags) if (entry.expiresAt <= now) this.#tags.delete(tag);
    }
  }

  /**
   * GET or HEAD of a blob. Returns the final answer after authentication and redirects, whatever its status:
   * the caller decides what a 404 or 416 means. Throws OciError only for network failures and refused auth.
   */
  async fetchBlob(name: RepositoryName, digest: string, request: BlobRequest = {}): Promise<Response> {
    if (!isDigest(digest)) throw new OciError("INVALID_REFERENCE", `invalid blob digest ${JSON.stringify(digest)}`);
    const headers: Record<string, string> = {};
    if (request.range) headers.Range = request.range;
    const registry = canonicalRegistry(name.registry);
    return this.#send({ registry, repository: name.repository }, `blobs/${digest}`, { method: request.method ?? "GET", headers }, "blob", request.signal);
  }

  /**
   * Every blob digest the image `reference` names (layers and configs of its manifest, or of all manifests of its
   * index, two levels deep; legacy indexes list boot files as entries). Throws NOT_FOUND for an unknown tag.
   */
  async imageBlobDigests(name: RepositoryName, reference: string, signal?: AbortSignal): Promise<Set<string>> {
    const digests = new Set<string>();
    const visit = async (manifest: FetchedManifest, depth: number): Promise<void> => {
      if (manifest.parsed.kind === "manifest") {
        for (const layer of manifest.parsed.manifest.layers) digests.add(layer.digest);
        if (manifest.parsed.manifest.config) digests.add(manifest.parsed.manifest.config.digest);
        return;
      }
      for (const entry of manifest.parsed.index.manifests) {
        if (entry.mediaType && bootLayerKind(entry.mediaType)) {
          digests.add(entry.digest);
          continue;
        }
        if (depth >= 2) continue;
        await visit(await this.getManifest(name, entry.digest, signal), depth + 1);
      }
    };
    await visit(await this.getManifest(name, reference, signal), 0);
    return digests;
  }

  /**
   * Resolves an image to the layers a machine boots: picks the manifest for `architecture` from an index
   * (OCI index or Docker manifest list; legacy GardenLinux indexes by their cname/architecture annotations)
   * and finds the UKI, kernel, initrd and squashfs layers by media type.
   */
  async resolveBootImage(ref: string | ImageReference, options: { architecture: Architecture | string; signal?: AbortSignal }): Promise<BootImage> {
    const reference = typeof ref === "string" ? parseImageReference(ref) : ref;
    const name: RepositoryName = { registry: canonicalRegistry(reference.registry), repository: reference.repository };
    const version = manifestReference(reference);
    const top = await this.getManifest(name, version, options.signal);
    const base = { registry: name.registry, repository: name.repository, imageName: formatRepositoryName(name), version };
    if (top.parsed.kind === "manifest") {
      const layers = findBootLayers(top.parsed.manifest);
      if (!hasBootLayers(layers)) throw noBootLayers(`${base.imageName}@${top.digest}`);
      return { ...base, manifestDigest: top.digest, ...layers };
    }
    const chosen = await this.#chooseFromIndex(name, top, options.architecture, 0, options.signal);
    return { ...base, indexDigest: top.digest, manifestDigest: chosen.digest, ...chosen.layers };
  }

  async #chooseFromIndex(
    name: RepositoryName,
    index: FetchedManifest,
    architecture: string,
    depth: number,
    signal: AbortSignal | undefined,
  ): Promise<{ digest: string; layers: BootLayers }> {
    if (index.parsed.kind !== "index") throw new Error("not an index");
    const imageName = formatRepositoryName(name);
    const entries = index.parsed.index.manifests;
    // Some legacy GardenLinux indexes list the boot files themselves as index entries.
    const direct = layersFromEntries(entries, architecture);
    if (hasBootLayers(direct)) return { digest: index.digest, layers: direct };
    const candidates = rankIndexEntries(entries, architecture);
    if (candidates.length === 0) {
      const available = [...new Set(entries.map(entryArchitecture).filter((arch) => arch !== undefined))];
      throw new OciError(
        "NO_MATCHING_PLATFORM",
        `index ${imageName}@${index.digest} has no manifest for ${architecture} (available: ${available.join(", ") || "none declared"})`,
      );
    }
    for (const candidate of candidates) {
      const child = await this.getManifest(name, candidate.digest, signal);
      if (child.parsed.kind === "manifest") {
        const layers = findBootLayers(child.parsed.manifest);
        if (hasBootLayers(layers)) return { digest: child.digest, layers };
      } else if (depth < 2) {
        try {
          return await this.#chooseFromIndex(name, child, architecture, depth + 1, signal);
        } catch (error) {
          if (!(error instanceof OciError) || (error.code !== "NO_BOOT_LAYERS" && error.code !== "NO_MATCHING_PLATFORM")) throw error;
        }
      }
    }
    throw noBootLayers(`the ${architecture} manifests of ${imageName}@${index.digest}`);
  }

  /** One request to a registry's /v2/ API, with authentication (one retry after a 401) and redirects. */
  async #send(
    name: RepositoryName,
    path: string,
    init: { method: string; headers: Record<string, string> },
    kind: "manifest" | "blob",
    signal: AbortSignal | undefined,
  ): Promise<Response> {
    const { registry, repository } = name;
    const scheme = this.#plainHttp.has(registry) ? "http" : "https";
    const url = `${scheme}://${registryApiHost(registry)}/v2/${repository}/${path}`;
    const state = this.#authState.get(registry) ?? {};
    let authorization = await this.#knownAuthorization(registry, repository, state, signal);
    let response = await this.#exchange(registry, kind, url, init, authorization, signal);
    if (response.status !== 401) return response;

    const challenges = parseWwwAuthenticate(response.headers.get("www-authenticate") ?? "");
    await discard(response);
    const bearer = challenges.find((challenge) => challenge.scheme === "bearer" && challenge.params.realm);
    const basic = challenges.find((challenge) => challenge.scheme === "basic");
    const credential = this.#credentials.get(registry);
    if (bearer) {
      this.#authState.set(registry, { ...state, bearer });
      authorization = `Bearer ${(await this.#bearerToken(registry, repository, bearer, true, signal)).token}`;
    } else if (basic && credential) {
      this.#authState.set(registry, { ...state, basic: true });
      authorization = basicAuthorization(credential);
    } else {
      throw new OciError(
        "UNAUTHORIZED",
        basic ? `${registry} requires credentials and none are configured` : `${registry} answered 401 without a usable challenge`,
        401,
      );
    }
    response = await this.#exchange(registry, kind, url, init, authorization, signal);
    if (response.status === 401) {
      await discard(response);
      throw new OciError("UNAUTHORIZED", `${registry} refused ${credential ? "the configured credentials" : "anonymous access"} to ${repository}`, 401);
    }
    return response;
  }

  async #knownAuthorization(registry: string, repository: string, state: RegistryAuthState, signal: AbortSignal | undefined): Promise<string | undefined> {
    if (state.bearer) return `Bearer ${(await this.#bearerToken(registry, repository, state.bearer, false, signal)).token}`;
    const credential = this.#credentials.get(registry);
    if (state.basic && credential) return basicAuthorization(credential);
    return undefined;
  }

  /** A pull token for the repository, from cache unless `refresh`; concurrent requests share one fetch. */
  async #bearerToken(registry: string, repository: string, challenge: AuthChallenge, refresh: boolean, signal: AbortSignal | undefined): Promise<BearerToken> {
    const scope = `repository:${repository}:pull`;
    const key = `${registry} ${challenge.params.realm} ${challenge.params.service ?? ""} ${scope}`;
    const cached = this.#tokens.get(key);
    if (!refresh && cached && cached.expiresAt > Date.now()) return cached;
    const pending = this.#tokenRequests.get(key);
    if (pending) return pending;
    const request = this.#fetchToken(registry, challenge, scope, signal)
      .then((token) => {
        this.#tokens.set(key, token);
        return token;
      })
      .finally(() => this.#tokenRequests.delete(key));
    this.#tokenRequests.set(key, request);
    return request;
  }

  async #fetchToken(registry: string, challenge: AuthChallenge, scope: string, signal: AbortSignal | undefined): Promise<BearerToken> {
    const realm = challenge.params.realm ?? "";
    let url: URL;
    try {
      url = new URL(realm);
    } catch {
      throw new OciError("UPSTREAM", `${registry} sent an unusable token realm ${JSON.stringify(realm)}`);
    }
    if (url.protocol !== "https:" && url.protocol !== "http:") throw new OciError("UPSTREAM", `${registry} sent a non-HTTP token realm ${realm}`);
    const service = challenge.params.service;
    if (service) url.searchParams.set("service", service);
    url.searchParams.append("scope", scope);
    const credential = this.#credentials.get(registry);
    const response = await this.#exchange(
      registry,
      "token",
      url.toString(),
      { method: "GET", headers: {} },
      credential ? basicAuthorization(credential) : undefined,
      signal,
    );
    if (response.status === 401 || response.status === 403) {
      await discard(response);
      throw new OciError(
        "UNAUTHORIZED",
        `token server ${url.origin} refused ${credential ? "the configured credentials" : "an anonymous token"} for ${scope}`,
        response.status,
      );
    }
    if (!response.ok) throw await upstreamError(response, `token for ${scope} from ${url.origin}`);
    let json: unknown;
    try {
      json = await response.json();
    } catch {
      throw new OciError("UPSTREAM", `token server ${url.origin} answered with something that is not JSON`);
    }
    try {
      const token = parseTokenResponse(json, Date.now());
      this.#log("debug", "obtained registry token", { registry, scope, expiresInMs: token.expiresAt - Date.now() });
      return token;
    } catch (error) {
      throw new OciError("UPSTREAM", `token server ${url.origin}: ${(error as Error).message}`);
    }
  }

  /**
   * fetch() with manual redirects so that Authorization goes only to the origin it was meant for: blob
   * downloads are often redirected to a CDN or object store, which must not see the registry token.
   */
  async #exchange(
    registry: string,
    kind: UpstreamRequestEvent["kind"],
    url: string,
    init: { method: string; headers: Record<string, string> },
    authorization: string | undefined,
    signal: AbortSignal | undefined,
  ): Promise<Response> {
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(new Error(`no answer within ${this.#timeoutMs} ms`)), this.#timeoutMs);
    const combined = signal ? AbortSignal.any([signal, timeout.signal]) : timeout.signal;
    let current = new URL(url);
    let method = init.method;
    const headers = new Headers(init.headers);
    headers.set("User-Agent", this.#userAgent);
    if (authorization) headers.set("Authorization", authorization);
    try {
      for (let hop = 0; ; hop++) {
        let response: Response;
        try {
          response = await fetch(current, { method, headers, redirect: "manual", signal: combined });
        } catch (error) {
          this.#onUpstreamRequest?.({ registry, kind, method, url: current.toString(), status: 0 });
          const reason = timeout.signal.aborted
            ? String(timeout.signal.reason instanceof Error ? timeout.signal.reason.message : timeout.signal.reason)
            : (error as Error).message;
          throw new OciError("NETWORK", `${method} ${redactUrl(current)} failed: ${reason}`);
        }
        this.#onUpstreamRequest?.({ registry, kind, method, url: current.toString(), status: response.status });
        const location = response.headers.get("location");
        if (!REDIRECT_STATUSES.has(response.status) || !location) return response;
        await discard(response);
        if (hop >= MAX_REDIRECTS) throw new OciError("UPSTREAM", `more than ${MAX_REDIRECTS} redirects from ${redactUrl(new URL(url))}`);
        const next = new URL(location, current);
        await this.#checkRedirect(registry, current, next);
        if (next.origin !== current.origin) headers.delete("Authorization");
        if (response.status === 303 && method !== "HEAD") method = "GET";
        this.#log("debug", "following registry redirect", { from: redactUrl(current), to: redactUrl(next), status: response.status });
        current = next;
      }
    } finally {
      clearTimeout(timer);
    }
  }

  /** Throws (before anything is fetched from there) when a redirect must not be followed. */
  async #checkRedirect(registry: string, from: URL, target: URL): Promise<void> {
    const verdict = judgeRedirect(from, target, { allowedRegistries: [registry, ...this.#redirectRegistries], hosts: this.#redirectHosts });
    let refusal = verdict.follow ? undefined : verdict.reason;
    if (verdict.follow && !verdict.explicit) {
      let addresses: string[];
      try {
        addresses = await this.#resolve(target.hostname);
      } catch (error) {
        throw new OciError("NETWORK", `cannot resolve redirect target ${target.host}: ${(error as Error).message}`);
      }
      refusal = checkResolvedAddresses(target.host, addresses, this.#ownAddresses());
    }
    if (refusal) {
      this.#log("warn", "refused registry redirect", { registry, from: redactUrl(from), to: redactUrl(target) });
      throw new OciError("REDIRECT_REFUSED", `${registry}: ${refusal}`);
    }
  }
}

async function resolveAddresses(hostname: string): Promise<string[]> {
  const found = await lookup(hostname, { all: true });
  return found.map((entry) => entry.address);
}

function interfaceAddresses(): string[] {
  return Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((entry) => entry.address));
}

function layersFromEntries(entries: readonly IndexEntry[], architecture: string): BootLayers {
  const layers: BootLayers = {};
  for (const entry of entries) {
    const kind = entry.mediaType ? bootLayerKind(entry.mediaType) : undefined;
    if (!kind || !entry.mediaType || layers[kind]) continue;
    const declared = entryArchitecture(entry);
    if (declared !== undefined && declared !== normalizeArchitecture(architecture)) continue;
    layers[kind] = { digest: entry.digest, size: entry.size, mediaType: entry.mediaType };
  }
  return layers;
}

function noBootLayers(where: string): OciError {
  return new OciError("NO_BOOT_LAYERS", `no UKI, kernel or initrd layer in ${where}`);
}

/** The body, or undefined (and the rest discarded) as soon as it grows past `limit` bytes. */
async function readLimited(response: Response, limit: number): Promise<Uint8Array | undefined> {
  if (!response.body) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of response.body) {
    total += chunk.byteLength;
    // Leaving the loop early cancels the body.
    if (total > limit) return undefined;
    chunks.push(chunk);
  }
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

/** Drops a response body we do not need, so the connection can be reused. */
export async function discard(response: Response): Promise<void> {
  try {
    await response.body?.cancel();
  } catch {
    // Already consumed or errored: nothing to release.
  }
}

/** Query strings of pre-signed CDN URLs carry credentials: keep them out of logs and errors. */
function redactUrl(url: URL): string {
  return url.search ? `${url.origin}${url.pathname}?…` : `${url.origin}${url.pathname}`;
}

/** Turns a registry's error answer into an OciError with the registry's own message when it sent one. */
export async function upstreamError(response: Response, what: string): Promise<OciError> {
  let detail = "";
  try {
    const text = (await response.text()).slice(0, 4096);
    try {
      const json: unknown = JSON.parse(text);
      if (typeof json === "object" && json !== null && "errors" in json && Array.isArray(json.errors)) {
        const first: unknown = json.errors[0];
        if (typeof first === "object" && first !== null) {
          const code = "code" in first && typeof first.code === "string" ? first.code : "";
          const message = "message" in first && typeof first.message === "string" ? first.message : "";
          detail = [code, message].filter(Boolean).join(": ");
        }
      }
    } catch {
      detail = text.trim().split("\n")[0] ?? "";
    }
  } catch {
    // Body unreadable: the status is all we have.
  }
  const code = response.status === 404 ? "NOT_FOUND" : response.status === 401 || response.status === 403 ? "UNAUTHORIZED" : "UPSTREAM";
  const suffix = detail ? ` (${detail.slice(0, 200)})` : "";
  return new OciError(code, `${what}: registry answered ${response.status}${suffix}`, response.status);
}
