/**
 * A real OCI registry for integration tests: Debian's docker-registry (CNCF Distribution 2.8), unpacked by
 * scripts/ensure/registry.sh into ${BOOT_OPERATOR_CACHE:-~/.cache/boot-operator}/docker-registry/current/.
 * BOOT_OPERATOR_DOCKER_REGISTRY overrides the binary. A missing binary is an error, never a skip.
 *
 * Each run gets a temp dir (removed by stop()) with the config YAML, the filesystem storage and the logs, and
 * listens on a free 127.0.0.1 port over plain HTTP. Optional extras, each a Bun.serve on its own free port:
 *   - tokenAuth: the registry requires bearer tokens (`auth: token:`); a token server issues ES256 JWTs signed
 *     with a key + self-signed certificate made by `openssl` for this run (the certificate is the registry's
 *     rootcertbundle and travels in the JWT's x5c header). Repositories under `private/` are pullable only with
 *     Basic credentials (user "reader", password "reader-secret"); everything else anonymously.
 *   - cdn: blob GETs are redirected (the registry's `redirect` storage middleware) to a second server that
 *     serves the storage files and records which requests carried an Authorization header.
 *
 * Blobs and manifests are pushed through the registry's own HTTP API (monolithic POST + PUT upload).
 * If the test process is killed, the next start() kills registries left by dead test processes.
 */
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { mkdir, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import { join, normalize } from "node:path";
import type { Server, Subprocess } from "bun";
import { stringify } from "yaml";
import { eventually } from "./wait.ts";

export const REGISTRY_SERVICE = "boot-operator-test-registry";
export const TOKEN_ISSUER = "boot-operator-test-token-issuer";
export const PRIVATE_PREFIX = "private/";
export const READER_USER = { username: "reader", password: "reader-secret" };

const RUN_DIR_PREFIX = "boot-operator-registry-";

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  platform?: { architecture: string; os: string; variant?: string };
}

export interface TokenRequest {
  scopes: string[];
  /** Basic-auth user name, or undefined for anonymous requests. */
  user: string | undefined;
  granted: { name: string; actions: string[] }[];
}

export interface CdnRequest {
  method: string;
  path: string;
  authorization: string | null;
}

export interface RegistryHarnessOptions {
  tokenAuth?: {
    /** Lifetime the token server announces in expires_in (default 300 s). */
    ttlSeconds?: number;
  };
  /** true, or the delay between 64 KiB chunks of whole-blob GETs (a slow CDN makes concurrent requests overlap). */
  cdn?: boolean | { chunkDelayMs: number };
}

export function registryBinary(): string {
  const override = process.env.BOOT_OPERATOR_DOCKER_REGISTRY;
  if (override) {
    if (!existsSync(override)) throw new Error(`BOOT_OPERATOR_DOCKER_REGISTRY=${override} does not exist`);
    return override;
  }
  const cacheRoot = process.env.BOOT_OPERATOR_CACHE ?? join(homedir(), ".cache", "boot-operator");
  const cached = join(cacheRoot, "docker-registry", "current", "usr", "bin", "docker-registry");
  if (existsSync(cached)) return cached;
  const onPath = Bun.which("docker-registry");
  if (onPath) return onPath;
  throw new Error(`docker-registry not found (looked at ${cached} and PATH): run scripts/ensure/registry.sh`);
}

export function sha256Digest(bytes: Uint8Array): string {
  return `sha256:${new Bun.CryptoHasher("sha256").update(bytes).digest("hex")}`;
}

async function freePort(): Promise<number> {
  const listener = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = listener.port;
  listener.stop(true);
  return port;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Kills registries whose test process died without stop() (e.g. SIGKILL) and removes their run dirs. */
function reapAbandonedRuns(): void {
  for (const name of readdirSync(tmpdir())) {
    if (!name.startsWith(RUN_DIR_PREFIX)) continue;
    const dir = join(tmpdir(), name);
    let owner = 0;
    let child = 0;
    try {
      owner = Number(readFileSync(join(dir, "owner.pid"), "utf8"));
      child = Number(readFileSync(join(dir, "registry.pid"), "utf8"));
    } catch {
      // Incomplete run dir: judged by the owner alone below.
    }
    if (owner > 0 && pidAlive(owner)) continue;
    if (child > 0 && pidAlive(child)) {
      try {
        process.kill(child, "SIGKILL");
      } catch {
        // Gone meanwhile.
      }
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

function base64url(bytes: Uint8Array | string): string {
  return Buffer.from(typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes).toString("base64url");
}

function pemBody(pem: string): string {
  return pem.replace(/-----(BEGIN|END) [A-Z ]+-----/g, "").replace(/\s+/g, "");
}

/** Issues the registry's JWTs: ES256, x5c = the run's self-signed certificate (the registry's trust root). */
class TokenIssuer {
  private constructor(
    private readonly key: CryptoKey,
    private readonly certificateDer: string,
  ) {}

  static async create(directory: string): Promise<{ issuer: TokenIssuer; certificatePath: string }> {
    const openssl = Bun.which("openssl");
    if (!openssl) throw new Error("openssl not found: run scripts/ensure/registry.sh");
    const keyPath = join(directory, "token-signing.key");
    const certificatePath = join(directory, "token-signing.crt");
    const result = Bun.spawnSync(
      [
        openssl,
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        keyPath,
        "-out",
        certificatePath,
        "-days",
        "2",
        "-subj",
        `/CN=${TOKEN_ISSUER}`,
      ],
      { stdout: "pipe", stderr: "pipe" },
    );
    if (result.exitCode !== 0) throw new Error(`openssl failed: ${result.stderr.toString()}`);
    const keyPem = await readFile(keyPath, "utf8");
    if (!keyPem.includes("BEGIN PRIVATE KEY")) throw new Error("openssl did not write a PKCS#8 key");
    const key = await crypto.subtle.importKey("pkcs8", Buffer.from(pemBody(keyPem), "base64"), { name: "ECDSA", namedCurve: "P-256" }, false, ["sign"]);
    const certificateDer = pemBody(await readFile(certificatePath, "utf8"));
    return { issuer: new TokenIssuer(key, certificateDer), certificatePath };
  }

  async mint(access: { name: string; actions: string[] }[], subject: string, ttlSeconds: number): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    const header = { typ: "JWT", alg: "ES256", x5c: [this.certificateDer] };
    const claims = {
      iss: TOKEN_ISSUER,
      sub: subject,
      aud: REGISTRY_SERVICE,
      exp: now + ttlSeconds,
      nbf: now - 10,
      iat: now,
      jti: crypto.randomUUID(),
      access: access.map((entry) => ({ type: "repository", name: entry.name, actions: entry.actions })),
    };
    const signingInput = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`;
    // WebCrypto's ECDSA signature is r||s, exactly the JWS form.
    const signature = new Uint8Array(await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, this.key, new TextEncoder().encode(signingInput)));
    return `${signingInput}.${base64url(signature)}`;
  }
}

export class RegistryHarness {
  readonly requests: { token: TokenRequest[]; cdn: CdnRequest[] } = { token: [], cdn: [] };
  #process: Subprocess | undefined;
  #servers: Server<undefined>[] = [];
  #issuer: TokenIssuer | undefined;
  #tokenTtlSeconds = 300;
  #pushTokens = new Map<string, string>();
  #logPath: string;
  #tokenUrl: string | undefined;
  #cdnHost: string | undefined;

  private constructor(
    /** host:port of the registry, also its name in image references. */
    readonly host: string,
    readonly directory: string,
  ) {
    this.#logPath = join(directory, "registry.log");
  }

  get url(): string {
    return `http://${this.host}`;
  }

  /** The registry's filesystem storage root. */
  get storageDir(): string {
    return join(this.directory, "storage");
  }

  /** Where the registry keeps a blob's bytes (overwrite it to simulate corruption). */
  blobDataPath(digest: string): string {
    const hex = digest.slice("sha256:".length);
    return join(this.storageDir, "docker", "registry", "v2", "blobs", "sha256", hex.slice(0, 2), hex, "data");
  }

  /** host:port the registry redirects blob GETs to (cdn mode only): the proxy must be told to allow it. */
  get cdnHost(): string | undefined {
    return this.#cdnHost;
  }

  /** The token server's realm URL (token mode only). */
  get tokenServerUrl(): string | undefined {
    return this.#tokenUrl;
  }

  static async start(options: RegistryHarnessOptions = {}): Promise<RegistryHarness> {
    const binary = registryBinary();
    reapAbandonedRuns();
    const directory = await mkdtemp(join(tmpdir(), RUN_DIR_PREFIX));
    await writeFile(join(directory, "owner.pid"), String(process.pid));
    let lastError: unknown;
    for (let attempt = 0; attempt < 3; attempt++) {
      const port = await freePort();
      const harness = new RegistryHarness(`127.0.0.1:${port}`, directory);
      try {
        await harness.#launch(binary, options);
        return harness;
      } catch (error) {
        lastError = error;
        await harness.#shutdown(false);
      }
    }
    rmSync(directory, { recursive: true, force: true });
    throw lastError;
  }

  async #launch(binary: string, options: RegistryHarnessOptions): Promise<void> {
    await mkdir(this.storageDir, { recursive: true });
    const config: Record<string, unknown> = {
      version: 0.1,
      log: { level: "warn", formatter: "text", accesslog: { disabled: true } },
      storage: { filesystem: { rootdirectory: this.storageDir }, delete: { enabled: true } },
      http: { addr: this.host, secret: crypto.randomUUID() },
    };
    if (options.tokenAuth) {
      const { issuer, certificatePath } = await TokenIssuer.create(this.directory);
      this.#issuer = issuer;
      this.#tokenTtlSeconds = options.tokenAuth.ttlSeconds ?? 300;
      const tokenServer = this.#startTokenServer(issuer);
      this.#tokenUrl = `http://127.0.0.1:${tokenServer.port}/token`;
      config.auth = { token: { realm: this.#tokenUrl, service: REGISTRY_SERVICE, issuer: TOKEN_ISSUER, rootcertbundle: certificatePath } };
    }
    if (options.cdn) {
      const cdn = this.#startCdn(typeof options.cdn === "object" ? options.cdn.chunkDelayMs : 0);
      this.#cdnHost = `127.0.0.1:${cdn.port}`;
      config.middleware = { storage: [{ name: "redirect", options: { baseurl: `http://${this.#cdnHost}/` } }] };
    }
    const configPath = join(this.directory, "config.yml");
    await writeFile(configPath, stringify(config));
    const log = Bun.file(this.#logPath);
    this.#process = Bun.spawn([binary, "serve", configPath], { stdout: log, stderr: log, stdin: "ignore" });
    await writeFile(join(this.directory, "registry.pid"), String(this.#process.pid));
    const child = this.#process;
    await eventually(
      async () => {
        const response = await fetch(`${this.url}/v2/`, { signal: AbortSignal.timeout(1000) });
        await response.body?.cancel();
        return response.status === 200 || response.status === 401;
      },
      `docker-registry to answer on ${this.url}`,
      {
        intervalMs: 50,
        abortIf: () => (child.exitCode !== null ? `docker-registry exited with ${child.exitCode}` : undefined),
        detail: () => this.logs(),
      },
    );
  }

  #startTokenServer(issuer: TokenIssuer): Server<undefined> {
    const server = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: async (request) => {
        const url = new URL(request.url);
        if (url.pathname !== "/token") return new Response("not found\n", { status: 404 });
        if (url.searchParams.get("service") !== REGISTRY_SERVICE) return Response.json({ details: "unknown service" }, { status: 400 });
        let user: string | undefined;
        const authorization = request.headers.get("authorization");
        if (authorization) {
          const decoded = authorization.startsWith("Basic ") ? Buffer.from(authorization.slice(6), "base64").toString("utf8") : "";
          if (decoded !== `${READER_USER.username}:${READER_USER.password}`) return Response.json({ details: "bad credentials" }, { status: 401 });
          user = READER_USER.username;
        }
        const scopes = url.searchParams.getAll("scope");
        const granted: { name: string; actions: string[] }[] = [];
        for (const scope of scopes) {
          const [type, name, actions] = scope.split(":");
          if (type !== "repository" || !name || !actions) continue;
          // Pull only: pushes are the harness's own business (see #pushToken).
          if (!actions.split(",").includes("pull")) continue;
          if (name.startsWith(PRIVATE_PREFIX) && user === undefined) continue;
          granted.push({ name, actions: ["pull"] });
        }
        this.requests.token.push({ scopes, user, granted });
        const token = await issuer.mint(granted, user ?? "anonymous", this.#tokenTtlSeconds);
        return Response.json({ token, access_token: token, expires_in: this.#tokenTtlSeconds, issued_at: new Date().toISOString() });
      },
    });
    this.#servers.push(server);
    return server;
  }

  #startCdn(chunkDelayMs: number): Server<undefined> {
    const root = this.storageDir;
    const server = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: async (request) => {
        const url = new URL(request.url);
        this.requests.cdn.push({ method: request.method, path: url.pathname, authorization: request.headers.get("authorization") });
        const path = normalize(join(root, decodeURIComponent(url.pathname)));
        if (!path.startsWith(`${root}/`) || !existsSync(path)) return new Response("not found\n", { status: 404 });
        const headers = { "Content-Type": "application/octet-stream" };
        if (chunkDelayMs <= 0 || request.method !== "GET" || request.headers.has("range")) return new Response(Bun.file(path), { headers });
        const bytes = new Uint8Array(await Bun.file(path).arrayBuffer());
        let offset = 0;
        const body = new ReadableStream<Uint8Array>({
          async pull(controller) {
            if (offset >= bytes.byteLength) {
              controller.close();
              return;
            }
            await Bun.sleep(chunkDelayMs); // the point: a slow CDN, so concurrent requests overlap
            controller.enqueue(bytes.slice(offset, offset + 65536));
            offset += 65536;
          },
        });
        return new Response(body, { headers });
      },
    });
    this.#servers.push(server);
    return server;
  }

  async logs(): Promise<string> {
    try {
      const text = await readFile(this.#logPath, "utf8");
      return text.slice(-4000);
    } catch {
      return "(no registry log)";
    }
  }

  /** Authorization for pushes: a minted push+pull token in token mode, nothing otherwise. */
  async #pushHeaders(repository: string): Promise<Record<string, string>> {
    if (!this.#issuer) return {};
    let token = this.#pushTokens.get(repository);
    if (!token) {
      token = await this.#issuer.mint([{ name: repository, actions: ["push", "pull"] }], "harness", 3600);
      this.#pushTokens.set(repository, token);
    }
    return { Authorization: `Bearer ${token}` };
  }

  /** Monolithic upload: POST to open an upload session, PUT the bytes with ?digest= to close it. */
  async pushBlob(repository: string, bytes: Uint8Array, mediaType = "application/octet-stream"): Promise<Descriptor> {
    const digest = sha256Digest(bytes);
    const auth = await this.#pushHeaders(repository);
    const start = await fetch(`${this.url}/v2/${repository}/blobs/uploads/`, { method: "POST", headers: auth });
    await start.body?.cancel();
    const location = start.headers.get("location");
    if (start.status !== 202 || !location) throw new Error(`starting upload to ${repository} answered ${start.status}`);
    const uploadUrl = new URL(location, this.url);
    uploadUrl.searchParams.set("digest", digest);
    const put = await fetch(uploadUrl, {
      method: "PUT",
      headers: { ...auth, "Content-Type": "application/octet-stream", "Content-Length": String(bytes.byteLength) },
      body: bytes,
    });
    const answer = await put.text();
    if (put.status !== 201) throw new Error(`uploading ${digest} to ${repository} answered ${put.status}: ${answer}`);
    return { mediaType, digest, size: bytes.byteLength };
  }

  async pushManifest(repository: string, reference: string, manifest: object, mediaType: string): Promise<Descriptor> {
    const bytes = new TextEncoder().encode(JSON.stringify(manifest));
    const put = await fetch(`${this.url}/v2/${repository}/manifests/${reference}`, {
      method: "PUT",
      headers: { ...(await this.#pushHeaders(repository)), "Content-Type": mediaType },
      body: bytes,
    });
    const answer = await put.text();
    if (put.status !== 201) throw new Error(`pushing manifest ${repository}:${reference} answered ${put.status}: ${answer}`);
    return { mediaType, digest: sha256Digest(bytes), size: bytes.byteLength };
  }

  async stop(): Promise<void> {
    await this.#shutdown(true);
  }

  async #shutdown(removeDirectory: boolean): Promise<void> {
    const child = this.#process;
    this.#process = undefined;
    if (child && child.exitCode === null) {
      child.kill("SIGTERM");
      const exited = await Promise.race([child.exited.then(() => true), Bun.sleep(5000).then(() => false)]);
      if (!exited) {
        child.kill("SIGKILL");
        await child.exited;
      }
    }
    for (const server of this.#servers) await server.stop(true);
    this.#servers = [];
    if (removeDirectory) rmSync(this.directory, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Test images. Layer bytes are random, so every build is distinct content.

export const MEDIA = {
  ociIndex: "application/vnd.oci.image.index.v1+json",
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  ociEmpty: "application/vnd.oci.empty.v1+json",
  dockerList: "application/vnd.docker.distribution.manifest.list.v2+json",
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  dockerConfig: "application/vnd.docker.container.image.v1+json",
  uki: "application/vnd.ironcore.image.uki",
  kernel: "application/vnd.ironcore.image.kernel",
  initrd: "application/vnd.ironcore.image.initramfs",
  squashfs: "application/vnd.ironcore.image.squashfs",
  legacyKernel: "application/io.gardenlinux.kernel",
  legacyInitrd: "application/io.gardenlinux.initrd",
  legacySquashfs: "application/io.gardenlinux.squashfs",
} as const;

export type LayerKind = "uki" | "kernel" | "initrd" | "squashfs";

export interface TestLayer extends Descriptor {
  bytes: Uint8Array;
}

export interface TestManifest {
  digest: string;
  layers: Partial<Record<LayerKind, TestLayer>>;
}

export interface TestImage {
  repository: string;
  tag: string;
  /** "<host>/<repository>:<tag>" */
  reference: string;
  /** Digest of what the tag points at (an index or a single manifest). */
  digest: string;
  /** Per architecture, the manifest a resolver should pick and its boot layers. */
  byArchitecture: Partial<Record<"amd64" | "arm64", TestManifest>>;
}

export function randomBytes(size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  // getRandomValues fills at most 64 KiB per call.
  for (let offset = 0; offset < size; offset += 65536) crypto.getRandomValues(bytes.subarray(offset, Math.min(size, offset + 65536)));
  return bytes;
}

/** Default layer sizes: big enough to span many stream chunks, small enough to keep tests quick. */
export const LAYER_SIZES: Record<LayerKind, number> = {
  uki: 3 * 1024 * 1024 + 17,
  kernel: 700 * 1024 + 3,
  initrd: 1536 * 1024 + 5,
  squashfs: 2 * 1024 * 1024 + 11,
};

async function pushLayers(
  registry: RegistryHarness,
  repository: string,
  kinds: readonly LayerKind[],
  mediaTypes: Partial<Record<LayerKind, string>> = {},
): Promise<Partial<Record<LayerKind, TestLayer>>> {
  const layers: Partial<Record<LayerKind, TestLayer>> = {};
  for (const kind of kinds) {
    const bytes = randomBytes(LAYER_SIZES[kind]);
    const mediaType = mediaTypes[kind] ?? MEDIA[kind];
    const descriptor = await registry.pushBlob(repository, bytes, mediaType);
    layers[kind] = { ...descriptor, bytes };
  }
  return layers;
}

function layerDescriptors(layers: Partial<Record<LayerKind, TestLayer>>): Descriptor[] {
  return Object.values(layers).map((layer) => ({
    mediaType: layer.mediaType,
    digest: layer.digest,
    size: layer.size,
    annotations: { "org.opencontainers.image.title": `${layer.digest.slice(7, 19)}.bin` },
  }));
}

async function pushOciManifest(
  registry: RegistryHarness,
  repository: string,
  reference: string,
  layers: Partial<Record<LayerKind, TestLayer>>,
  annotations?: Record<string, string>,
): Promise<Descriptor> {
  const config = await registry.pushBlob(repository, new TextEncoder().encode("{}"), MEDIA.ociEmpty);
  const manifest: Record<string, unknown> = { schemaVersion: 2, mediaType: MEDIA.ociManifest, config, layers: layerDescriptors(layers) };
  if (annotations) manifest.annotations = annotations;
  return registry.pushManifest(repository, reference, manifest, MEDIA.ociManifest);
}

/** OCI image index with an amd64 and an arm64 manifest, each with UKI, kernel, initrd and squashfs. */
export async function pushOciIndexImage(registry: RegistryHarness, repository: string, tag: string): Promise<TestImage> {
  const byArchitecture: TestImage["byArchitecture"] = {};
  const entries: Descriptor[] = [];
  for (const architecture of ["amd64", "arm64"] as const) {
    const layers = await pushLayers(registry, repository, ["uki", "kernel", "initrd", "squashfs"]);
    const manifest = await pushOciManifest(registry, repository, `${tag}-${architecture}`, layers);
    byArchitecture[architecture] = { digest: manifest.digest, layers };
    entries.push({ ...manifest, platform: { architecture, os: "linux" } });
  }
  const index = await registry.pushManifest(repository, tag, { schemaVersion: 2, mediaType: MEDIA.ociIndex, manifests: entries }, MEDIA.ociIndex);
  return { repository, tag, reference: `${registry.host}/${repository}:${tag}`, digest: index.digest, byArchitecture };
}

/** Docker manifest list over Docker schema 2 manifests (arm64 listed first, with a variant, to test selection). */
export async function pushDockerManifestListImage(registry: RegistryHarness, repository: string, tag: string): Promise<TestImage> {
  const byArchitecture: TestImage["byArchitecture"] = {};
  const entries: Descriptor[] = [];
  for (const architecture of ["arm64", "amd64"] as const) {
    const layers = await pushLayers(registry, repository, ["kernel", "initrd", "squashfs"]);
    const configBytes = new TextEncoder().encode(JSON.stringify({ architecture, os: "linux", rootfs: { type: "layers", diff_ids: [] } }));
    const config = await registry.pushBlob(repository, configBytes, MEDIA.dockerConfig);
    const manifest = await registry.pushManifest(
      repository,
      `${tag}-${architecture}`,
      { schemaVersion: 2, mediaType: MEDIA.dockerManifest, config, layers: layerDescriptors(layers).map(({ annotations: _, ...rest }) => rest) },
      MEDIA.dockerManifest,
    );
    byArchitecture[architecture] = { digest: manifest.digest, layers };
    entries.push({ ...manifest, platform: architecture === "arm64" ? { architecture, os: "linux", variant: "v8" } : { architecture, os: "linux" } });
  }
  const list = await registry.pushManifest(repository, tag, { schemaVersion: 2, mediaType: MEDIA.dockerList, manifests: entries }, MEDIA.dockerList);
  return { repository, tag, reference: `${registry.host}/${repository}:${tag}`, digest: list.digest, byArchitecture };
}

/**
 * The legacy GardenLinux layout: one index entry per flavour, named by a "cname" annotation with the
 * architecture in an "architecture" annotation; PXE flavours' cnames start with "metal_pxe", and their layers use
 * the io.gardenlinux media types. A non-PXE amd64 flavour comes first, and the amd64 PXE entry has no platform
 * (annotations only), so both the cname preference and the annotation fallback are exercised.
 */
export async function pushLegacyGardenLinuxImage(registry: RegistryHarness, repository: string, tag: string): Promise<TestImage> {
  const legacyTypes = { kernel: MEDIA.legacyKernel, initrd: MEDIA.legacyInitrd, squashfs: MEDIA.legacySquashfs };
  const byArchitecture: TestImage["byArchitecture"] = {};
  const entries: Descriptor[] = [];

  const kvmLayers = await pushLayers(registry, repository, ["squashfs"], { squashfs: "application/io.gardenlinux.image.archive.format.tar" });
  const kvm = await pushOciManifest(registry, repository, `${tag}-kvm-amd64`, kvmLayers);
  entries.push({ ...kvm, platform: { architecture: "amd64", os: "linux" }, annotations: { cname: `kvm-gardener_prod-amd64-${tag}`, architecture: "amd64" } });

  for (const architecture of ["amd64", "arm64"] as const) {
    const layers = await pushLayers(registry, repository, ["kernel", "initrd", "squashfs"], legacyTypes);
    const manifest = await pushOciManifest(registry, repository, `${tag}-metal_pxe-${architecture}`, layers, {
      cname: `metal_pxe-gardener_prod-${architecture}-${tag}`,
    });
    byArchitecture[architecture] = { digest: manifest.digest, layers };
    const annotations = { cname: `metal_pxe-gardener_prod-${architecture}-${tag}`, architecture };
    entries.push(architecture === "amd64" ? { ...manifest, annotations } : { ...manifest, platform: { architecture, os: "linux" }, annotations });
  }
  const index = await registry.pushManifest(repository, tag, { schemaVersion: 2, mediaType: MEDIA.ociIndex, manifests: entries }, MEDIA.ociIndex);
  return { repository, tag, reference: `${registry.host}/${repository}:${tag}`, digest: index.digest, byArchitecture };
}

/** A single manifest (no index) holding only a UKI: valid for every architecture. */
export async function pushUkiOnlyImage(registry: RegistryHarness, repository: string, tag: string): Promise<TestImage> {
  const layers = await pushLayers(registry, repository, ["uki"]);
  const manifest = await pushOciManifest(registry, repository, tag, layers);
  const entry = { digest: manifest.digest, layers };
  return { repository, tag, reference: `${registry.host}/${repository}:${tag}`, digest: manifest.digest, byArchitecture: { amd64: entry, arm64: entry } };
}

/** A single manifest with kernel, initrd and squashfs (current ironcore media types), no UKI. */
export async function pushPxeOnlyImage(registry: RegistryHarness, repository: string, tag: string): Promise<TestImage> {
  const layers = await pushLayers(registry, repository, ["kernel", "initrd", "squashfs"]);
  const manifest = await pushOciManifest(registry, repository, tag, layers);
  const entry = { digest: manifest.digest, layers };
  return { repository, tag, reference: `${registry.host}/${repository}:${tag}`, digest: manifest.digest, byArchitecture: { amd64: entry, arm64: entry } };
}
