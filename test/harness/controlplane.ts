/**
 * A real, throw-away Kubernetes control plane for kube-mode integration tests (the envtest approach:
 * real etcd + kube-apiserver [+ kube-controller-manager] processes, no kubelet, no nodes).
 *
 * Versions: Kubernetes v1.37.2 (kube-apiserver, kube-controller-manager) and etcd v3.7.0, pinned in
 *   scripts/controlplane/go.mod and scripts/controlplane/etcd/go.mod and built by
 *   scripts/ensure/controlplane.sh into ${BOOT_OPERATOR_CACHE:-~/.cache/boot-operator}/controlplane/<k8s-version>/.
 *   BOOT_OPERATOR_CONTROLPLANE_BIN_DIR overrides that directory. A missing binary is an error, never a skip.
 *
 * Ports: all on 127.0.0.1, chosen free per run:
 *   - etcd client and peer ports (plain HTTP: loopback only, its data dir lives in the run's temp dir),
 *   - kube-apiserver HTTPS port (kept across stopApiServer()/startApiServer(), so clients can reconnect),
 *   - kube-controller-manager HTTPS port (only used to wait for /healthz).
 *
 * Generated per run in a temp dir (removed by stop()), with the `openssl` CLI, ECDSA P-256 keys valid 7 days:
 *   - ca.crt/ca.key: the CA that signs everything and that the apiserver trusts for client certificates,
 *   - apiserver.crt/key: serving certificate for 127.0.0.1 and localhost,
 *   - admin.crt/key: client certificate CN=boot-operator-test-admin, O=system:masters (cluster-admin via RBAC),
 *   - service-account.key/.pub: signing key of service-account tokens,
 *   - admin.kubeconfig: HTTPS server, certificate-authority-data, client-certificate-data/client-key-data,
 *   - logs/{etcd,kube-apiserver,kube-controller-manager}.log: component output, tailed into startup errors.
 *
 * Measured on the 2-core dev machine (scripts/controlplane/measure-startup.ts): ready in 2.3-3.6 s, CRDs
 * included (+0.1-0.4 s with the controller manager); startApiServer() after a kill 1.6-2.1 s; stop() ~0.05 s.
 * With the controller manager, a cascading delete completes in ~0.1 s and a namespace deletion in ~5 s.
 * The garbage collector re-discovers resources only every 30 s, so startControlPlane applies `crdPaths` BEFORE
 * starting the controller manager: cascading deletes of those kinds work at once. (Kinds added later: ~30 s.)
 *
 * Usage:
 *   const controlPlane = await startControlPlane({ crdPaths: ["manifests/crds/httpbootconfigs.yaml"] });
 *   afterAll(() => controlPlane.stop());
 *   const kubeConfig = new KubeConfig();
 *   kubeConfig.loadFromFile(controlPlane.kubeconfigPath); // client-node over HTTPS with the generated CA/cert
 *   await controlPlane.applyManifests(["fixtures.yaml"]);  // create-or-replace, multi-document
 *   await controlPlane.stopApiServer(); ...; await controlPlane.startApiServer(); // outage on the same port
 *
 * If the test process is SIGKILLed, its components outlive it; the next startControlPlane() kills the components
 * of such abandoned runs (found through the owner pid recorded in each run dir) and removes their dirs.
 */
import { closeSync, openSync, rmSync, writeFileSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import * as v from "valibot";
import { parseAllDocuments, stringify } from "yaml";
import { eventually, notYetUnless } from "./wait.ts";

export type HttpMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

export interface KubeResponse {
  status: number;
  /** Parsed JSON body, or undefined when the body is empty or not JSON. */
  json: unknown;
  text: string;
}

export interface RequestOptions {
  /** Defaults to application/json, and to application/merge-patch+json for PATCH. */
  contentType?: string;
  timeoutMs?: number;
}

export interface StopApiServerOptions {
  /**
   * SIGKILL (default) is a crash: connections drop at once. SIGTERM is a graceful shutdown: the apiserver stops
   * listening at once but exits only when open watches end, up to its 60 s request timeout (SIGKILL after 70 s).
   */
  signal?: "SIGTERM" | "SIGKILL";
}

export interface ControlPlane {
  /** Admin kubeconfig: HTTPS server URL, certificate-authority-data, client certificate of system:masters. */
  readonly kubeconfigPath: string;
  /** https://127.0.0.1:<port>, stable for the lifetime of the control plane. */
  readonly serverUrl: string;
  /** PEM material of the admin identity, for clients that do not read kubeconfig files. */
  readonly tls: { readonly ca: string; readonly cert: string; readonly key: string };
  /** Milliseconds from the start of startControlPlane until each step was done (for reports, not assertions). */
  readonly startupTimings: Readonly<Record<string, number>>;
  /** Temp dir holding certificates, etcd data and logs. */
  readonly directory: string;
  readonly namespace?: never;
  /** Calls the apiserver as admin. Throws only when no HTTP response arrives (e.g. apiserver stopped). */
  request(method: HttpMethod, path: string, body?: unknown, options?: RequestOptions): Promise<KubeResponse>;
  /** Like request(), but throws unless the status is 2xx; returns the parsed JSON body. */
  requestOk(method: HttpMethod, path: string, body?: unknown, options?: RequestOptions): Promise<unknown>;
  /** Creates or replaces every object of these (multi-document) YAML files; waits for CRDs to be Established. */
  applyManifests(paths: string[]): Promise<void>;
  /** Same as applyManifests for objects already in memory. */
  applyObjects(objects: KubeObject[]): Promise<void>;
  /** Kills only kube-apiserver (etcd and the controller manager keep running); resolves once it has exited. */
  stopApiServer(options?: StopApiServerOptions): Promise<void>;
  /** Starts kube-apiserver again on the same port with the same certificates; resolves once /readyz is OK. */
  startApiServer(): Promise<void>;
  /** Pids of the component processes that are currently running. */
  runningPids(): number[];
  /** Last lines of a component's log, for assertion messages. */
  logTail(component: ComponentName, lines?: number): Promise<string>;
  /** Kills every component and removes the temp dir. Safe to call twice. */
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

export interface ControlPlaneOptions {
  /** CRD manifests applied (and waited for until Established) before startControlPlane resolves. */
  crdPaths?: string[];
  /** Also run kube-controller-manager: garbage collector, namespace and service-account controllers. */
  withControllerManager?: boolean;
  /** Upper bound for bringing everything up, certificates to CRDs. Default 90 s. */
  startTimeoutMs?: number;
}

export type ComponentName = "etcd" | "kube-apiserver" | "kube-controller-manager";

const KubeObjectSchema = v.looseObject({
  apiVersion: v.pipe(v.string(), v.minLength(1)),
  kind: v.pipe(v.string(), v.minLength(1)),
  metadata: v.looseObject({
    name: v.pipe(v.string(), v.minLength(1)),
    namespace: v.optional(v.string()),
    resourceVersion: v.optional(v.string()),
  }),
});
export type KubeObject = v.InferOutput<typeof KubeObjectSchema>;

const ApiResourceListSchema = v.object({
  resources: v.array(v.looseObject({ name: v.string(), kind: v.string(), namespaced: v.boolean() })),
});

const CrdStatusSchema = v.looseObject({
  status: v.optional(
    v.looseObject({
      conditions: v.optional(v.array(v.looseObject({ type: v.string(), status: v.string(), message: v.optional(v.string()) }))),
    }),
  ),
});

const repoRoot = join(import.meta.dir, "..", "..");
/** Cascading deletes (ownerReferences), namespace deletion, default service accounts and their tokens. */
const controllerManagerControllers = ["garbage-collector-controller", "namespace-controller", "serviceaccount-controller", "serviceaccount-token-controller"];
const runDirPrefix = "boot-operator-controlplane-";
const ownerPidFile = "owner.pid";
/** kube-apiserver's graceful shutdown waits up to --request-timeout (60 s) for open watches. */
const apiServerGracefulStopMs = 70_000;
/** Teardown sends SIGKILL; this only bounds the wait for the exit to be reaped. */
const teardownGraceMs = 5_000;

/** Directory holding kube-apiserver, kube-controller-manager and etcd for the pinned Kubernetes version. */
export async function controlPlaneBinDir(): Promise<string> {
  const override = process.env.BOOT_OPERATOR_CONTROLPLANE_BIN_DIR;
  if (override) return override;
  const goMod = await readFile(join(repoRoot, "scripts", "controlplane", "go.mod"), "utf8");
  const version = /^\s*(?:require\s+)?k8s\.io\/kubernetes\s+(v\S+)/m.exec(goMod)?.[1];
  if (!version) throw new Error("cannot find the k8s.io/kubernetes version in scripts/controlplane/go.mod");
  const cacheRoot = process.env.BOOT_OPERATOR_CACHE || join(homedir(), ".cache", "boot-operator");
  return join(cacheRoot, "controlplane", version);
}

export async function startControlPlane(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const deadline = Date.now() + (options.startTimeoutMs ?? 90_000);
  const binDir = await controlPlaneBinDir();
  const components: ComponentName[] = ["etcd", "kube-apiserver"];
  if (options.withControllerManager) components.push("kube-controller-manager");
  for (const component of components) {
    if (!(await Bun.file(join(binDir, component)).exists())) {
      throw new Error(`${component} not found in ${binDir}: run scripts/ensure/controlplane.sh (builds the pinned control plane)`);
    }
  }
  await reapAbandonedRuns();

  // Ports are probed free and then released, so another process may take one before a component binds it.
  for (let attempt = 1; ; attempt++) {
    const directory = await mkdtemp(join(tmpdir(), runDirPrefix));
    await writeFile(join(directory, ownerPidFile), String(process.pid));
    const controlPlane = new LocalControlPlane(directory, binDir);
    try {
      await controlPlane.boot(options, deadline);
      return controlPlane;
    } catch (error) {
      await controlPlane.stop();
      const portTaken = error instanceof Error && /address already in use/.test(error.message);
      if (!portTaken || attempt >= 3 || Date.now() >= deadline) throw error;
    }
  }
}

/** Parses multi-document YAML manifests; `List` kinds are flattened into their items. */
export async function readManifestObjects(path: string): Promise<KubeObject[]> {
  const text = await readFile(path, "utf8");
  const objects: KubeObject[] = [];
  const documents = parseAllDocuments(text);
  // Syntax errors first, wherever they are: they explain later "not an object" errors.
  for (const [index, document] of documents.entries()) {
    const firstError = document.errors[0];
    if (firstError) throw new Error(`${path}: YAML document ${index + 1}: ${firstError.message}`);
  }
  for (const [index, document] of documents.entries()) {
    const value: unknown = document.toJS();
    if (value === null || value === undefined) continue;
    const items = isKubeList(value) ? value.items : [value];
    for (const item of items) {
      const parsed = v.safeParse(KubeObjectSchema, item);
      if (!parsed.success) {
        const issues = parsed.issues.map((issue) => `${v.getDotPath(issue) ?? "(root)"}: ${issue.message}`);
        throw new Error(`${path}: YAML document ${index + 1} is not a named Kubernetes object: ${issues.join("; ")}`);
      }
      objects.push(parsed.output);
    }
  }
  return objects;
}

function isKubeList(value: unknown): value is { items: unknown[] } {
  if (typeof value !== "object" || value === null) return false;
  const kind: unknown = Reflect.get(value, "kind");
  const items: unknown = Reflect.get(value, "items");
  return typeof kind === "string" && kind.endsWith("List") && Array.isArray(items);
}

interface Ports {
  etcdClient: number;
  etcdPeer: number;
  apiServer: number;
  controllerManager: number;
}

class LocalControlPlane implements ControlPlane {
  readonly kubeconfigPath: string;
  serverUrl = "";
  tls = { ca: "", cert: "", key: "" };
  readonly startupTimings: Record<string, number> = {};
  private readonly processes = new Map<ComponentName, ComponentProcess>();
  private readonly discoveryCache = new Map<string, Map<string, { resource: string; namespaced: boolean }>>();
  private stopped = false;
  private readonly killOnExit = (): void => {
    for (const component of this.processes.values()) component.killNow();
    rmSync(this.directory, { recursive: true, force: true });
  };

  constructor(
    readonly directory: string,
    private readonly binDir: string,
  ) {
    this.kubeconfigPath = join(directory, "admin.kubeconfig");
    // Last resort when the test process exits without stop() (uncaught error, process.exit).
    process.once("exit", this.killOnExit);
  }

  async boot(options: ControlPlaneOptions, deadline: number): Promise<void> {
    const startedAt = performance.now();
    const milestone = (step: string): void => {
      this.startupTimings[step] = Math.round(performance.now() - startedAt);
    };
    await mkdir(join(this.directory, "logs"));
    const [etcdClientPort, etcdPeerPort, apiServerPort, controllerManagerPort] = await allocateLoopbackPorts(4);
    if (!etcdClientPort || !etcdPeerPort || !apiServerPort || !controllerManagerPort) {
      throw new Error("could not allocate 4 loopback ports");
    }
    const allocated: Ports = {
      etcdClient: etcdClientPort,
      etcdPeer: etcdPeerPort,
      apiServer: apiServerPort,
      controllerManager: controllerManagerPort,
    };
    this.serverUrl = `https://127.0.0.1:${allocated.apiServer}`;

    // etcd needs no certificates: start it while openssl works. kube-apiserver retries etcd, so it starts
    // without waiting for etcd's leader election (which alone can take a second).
    const etcd = this.addComponent("etcd", this.etcdArgs(allocated));
    etcd.start();
    await generateCertificates(this.directory);
    this.tls = {
      ca: await readFile(this.file("ca.crt"), "utf8"),
      cert: await readFile(this.file("admin.crt"), "utf8"),
      key: await readFile(this.file("admin.key"), "utf8"),
    };
    await writeFile(this.kubeconfigPath, this.kubeconfigYaml());
    milestone("certificates");
    const apiServer = this.addComponent("kube-apiserver", this.apiServerArgs(allocated));
    apiServer.start();

    await this.waitForComponent(etcd, deadline, async () => {
      const response = await fetch(`http://127.0.0.1:${allocated.etcdClient}/health`, {
        signal: AbortSignal.timeout(2_000),
      });
      const text = await response.text();
      return notYetUnless(response.ok && text.includes('"health":"true"'), `${response.status} ${text}`);
    });
    milestone("etcd");
    await this.waitForApiServerReady(deadline);
    milestone("kube-apiserver");

    if (options.crdPaths && options.crdPaths.length > 0) {
      await this.applyManifests(options.crdPaths, deadline);
      milestone("crds");
    }

    if (options.withControllerManager) {
      const controllerManager = this.addComponent("kube-controller-manager", this.controllerManagerArgs(allocated.controllerManager));
      controllerManager.start();
      await this.waitForComponent(controllerManager, deadline, async () => {
        const response = await fetch(`https://127.0.0.1:${allocated.controllerManager}/healthz`, {
          tls: { rejectUnauthorized: false }, // self-signed serving cert, only used as a liveness signal
          signal: AbortSignal.timeout(2_000),
        });
        return notYetUnless(response.ok, `${response.status} ${await response.text()}`);
      });
      milestone("kube-controller-manager");
    }
    milestone("total");
  }

  async request(method: HttpMethod, path: string, body?: unknown, options: RequestOptions = {}): Promise<KubeResponse> {
    const contentType = options.contentType ?? (method === "PATCH" ? "application/merge-patch+json" : "application/json");
    const init: BunFetchRequestInit = {
      method,
      headers: { accept: "application/json", ...(body === undefined ? {} : { "content-type": contentType }) },
      tls: this.tls,
      signal: AbortSignal.timeout(options.timeoutMs ?? 30_000),
    };
    if (body !== undefined) init.body = typeof body === "string" ? body : JSON.stringify(body);
    let response: Response;
    try {
      response = await fetch(`${this.serverUrl}${path}`, init);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new Error(`${method} ${path} failed without a response: ${reason}`, { cause: error });
    }
    const text = await response.text();
    let json: unknown;
    try {
      json = text === "" ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: response.status, json, text };
  }

  async requestOk(method: HttpMethod, path: string, body?: unknown, options?: RequestOptions): Promise<unknown> {
    const response = await this.request(method, path, body, options);
    if (response.status < 200 || response.status > 299) {
      throw new Error(`${method} ${path} answered ${response.status}: ${response.text.slice(0, 2_000)}`);
    }
    return response.json;
  }

  async applyManifests(paths: string[], deadline = Date.now() + 60_000): Promise<void> {
    const objects: KubeObject[] = [];
    for (const path of paths) objects.push(...(await readManifestObjects(path)));
    await this.applyObjects(objects, deadline);
  }

  async applyObjects(objects: KubeObject[], deadline = Date.now() + 60_000): Promise<void> {
    // CRDs first (and Established) so custom objects in the same batch resolve; then namespaces.
    const isCrd = (object: KubeObject): boolean => object.kind === "CustomResourceDefinition" && object.apiVersion.startsWith("apiextensions.k8s.io/");
    const isNamespace = (object: KubeObject): boolean => object.kind === "Namespace" && object.apiVersion === "v1";
    const crds = objects.filter(isCrd);
    for (const crd of crds) await this.createOrReplace(crd, deadline);
    for (const crd of crds) await this.waitForCrdEstablished(crd.metadata.name, deadline);
    if (crds.length > 0) this.discoveryCache.clear();
    for (const namespace of objects.filter(isNamespace)) await this.createOrReplace(namespace, deadline);
    for (const object of objects.filter((object) => !isCrd(object) && !isNamespace(object))) {
      await this.createOrReplace(object, deadline);
    }
  }

  async stopApiServer(options: StopApiServerOptions = {}): Promise<void> {
    const apiServer = this.processes.get("kube-apiserver");
    if (!apiServer) throw new Error("kube-apiserver was never started");
    await apiServer.stop(options.signal ?? "SIGKILL", apiServerGracefulStopMs);
  }

  async startApiServer(): Promise<void> {
    const apiServer = this.processes.get("kube-apiserver");
    if (!apiServer) throw new Error("kube-apiserver was never started");
    if (apiServer.isRunning()) throw new Error("kube-apiserver is already running");
    apiServer.start();
    await this.waitForApiServerReady(Date.now() + 60_000);
  }

  runningPids(): number[] {
    return [...this.processes.values()].flatMap((component) => {
      const pid = component.runningPid();
      return pid === undefined ? [] : [pid];
    });
  }

  async logTail(component: ComponentName, lines = 40): Promise<string> {
    const log = await readFile(join(this.directory, "logs", `${component}.log`), "utf8").catch(() => "");
    return log
      .split("\n")
      .slice(-lines - 1)
      .join("\n");
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    // Reverse start order: the controller manager and apiserver first, etcd last.
    const byStopOrder = [...this.processes.values()].reverse();
    // SIGKILL: the data is thrown away, and kube-apiserver's graceful shutdown alone takes over a second.
    for (const component of byStopOrder) await component.stop("SIGKILL", teardownGraceMs);
    process.removeListener("exit", this.killOnExit);
    await rm(this.directory, { recursive: true, force: true });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  private file(name: string): string {
    return join(this.directory, name);
  }

  private addComponent(name: ComponentName, args: string[]): ComponentProcess {
    const component = new ComponentProcess(name, [join(this.binDir, name), ...args], join(this.directory, "logs", `${name}.log`));
    this.processes.set(name, component);
    return component;
  }

  private etcdArgs(ports: Ports): string[] {
    const clientUrl = `http://127.0.0.1:${ports.etcdClient}`;
    const peerUrl = `http://127.0.0.1:${ports.etcdPeer}`;
    return [
      "--name=test",
      `--data-dir=${this.file("etcd-data")}`,
      `--listen-client-urls=${clientUrl}`,
      `--advertise-client-urls=${clientUrl}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=test=${peerUrl}`,
      "--unsafe-no-fsync", // test data: durability across a host crash does not matter, speed does
      "--log-level=warn",
    ];
  }

  private apiServerArgs(ports: Ports): string[] {
    return [
      `--etcd-servers=http://127.0.0.1:${ports.etcdClient}`,
      "--bind-address=127.0.0.1",
      "--advertise-address=127.0.0.1",
      `--secure-port=${ports.apiServer}`,
      `--cert-dir=${this.file("apiserver-certs")}`,
      `--tls-cert-file=${this.file("apiserver.crt")}`,
      `--tls-private-key-file=${this.file("apiserver.key")}`,
      `--client-ca-file=${this.file("ca.crt")}`,
      "--authorization-mode=RBAC",
      "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
      `--service-account-key-file=${this.file("service-account.pub")}`,
      `--service-account-signing-key-file=${this.file("service-account.key")}`,
      "--service-cluster-ip-range=10.0.0.0/24",
      "--allow-privileged=true",
      // The default reconciler refuses a loopback advertise address; nothing here needs the kubernetes Endpoints.
      "--endpoint-reconciler-type=none",
    ];
  }

  private controllerManagerArgs(port: number): string[] {
    return [
      `--kubeconfig=${this.kubeconfigPath}`,
      `--authentication-kubeconfig=${this.kubeconfigPath}`,
      `--authorization-kubeconfig=${this.kubeconfigPath}`,
      `--controllers=${controllerManagerControllers.join(",")}`,
      "--use-service-account-credentials=false",
      `--service-account-private-key-file=${this.file("service-account.key")}`,
      `--root-ca-file=${this.file("ca.crt")}`,
      "--leader-elect=false",
      "--bind-address=127.0.0.1",
      `--secure-port=${port}`,
      `--cert-dir=${this.file("controller-manager-certs")}`,
    ];
  }

  private kubeconfigYaml(): string {
    const base64 = (pem: string): string => Buffer.from(pem).toString("base64");
    return stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [
        {
          name: "boot-operator-test",
          cluster: { server: this.serverUrl, "certificate-authority-data": base64(this.tls.ca) },
        },
      ],
      users: [
        {
          name: "boot-operator-test-admin",
          user: { "client-certificate-data": base64(this.tls.cert), "client-key-data": base64(this.tls.key) },
        },
      ],
      contexts: [
        {
          name: "boot-operator-test",
          context: { cluster: "boot-operator-test", user: "boot-operator-test-admin", namespace: "default" },
        },
      ],
      "current-context": "boot-operator-test",
    });
  }

  /** Waits for `probe`; fails at once if the component or one it depends on exits, quoting the right log. */
  private async waitForComponent(component: ComponentProcess, deadline: number, probe: () => Promise<boolean>): Promise<void> {
    const dependencies = component.name === "etcd" ? [] : [this.processes.get("etcd")];
    const watched = [component, ...dependencies].filter((process) => process !== undefined);
    const firstExited = (): ComponentProcess | undefined => watched.find((process) => process.exitDescription());
    try {
      await eventually(probe, `${component.name} to become ready`, { timeoutMs: deadline - Date.now(), abortIf: () => firstExited()?.exitDescription() });
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      const culprit = firstExited() ?? component;
      const log = await readFile(culprit.logPath, "utf8").catch(() => "");
      const lines = log.split("\n");
      // klog error/fatal lines (E1124 ..., F1124 ...) usually say why; the tail says what happened last.
      const errorLines = lines.filter((line) => /^[EF]\d{4} /.test(line)).slice(-10);
      const tail = lines.slice(-30);
      throw new Error([reason, `--- errors in ${culprit.logPath} ---`, ...errorLines, "--- last lines ---", ...tail].join("\n"), { cause: error });
    }
  }

  private async waitForApiServerReady(deadline: number): Promise<void> {
    const apiServer = this.processes.get("kube-apiserver");
    if (!apiServer) throw new Error("kube-apiserver was never started");
    await this.waitForComponent(apiServer, deadline, async () => {
      const response = await this.request("GET", "/readyz?verbose", undefined, { timeoutMs: 5_000 });
      // The verbose body lists the failing checks, which is the useful part of a timeout message.
      const failing = response.text.split("\n").filter((line) => line.includes("failed"));
      return notYetUnless(response.status === 200, `${response.status} ${failing.join("; ") || response.text}`);
    });
  }

  private async waitForCrdEstablished(name: string, deadline: number): Promise<void> {
    await eventually(
      async () => {
        const response = await this.request("GET", `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`);
        const crd = v.parse(CrdStatusSchema, response.json);
        const conditions = crd.status?.conditions ?? [];
        const established = conditions.some((condition) => condition.type === "Established" && condition.status === "True");
        const summary = conditions.map((c) => `${c.type}=${c.status}${c.message ? ` (${c.message})` : ""}`).join(", ");
        return notYetUnless(established, summary || `${response.status}, no conditions yet`);
      },
      `CustomResourceDefinition ${name} to be Established`,
      deadline - Date.now(),
    );
  }

  /** Maps apiVersion+kind to its REST resource through discovery (refreshed while a kind is not served yet). */
  private async resolveResource(apiVersion: string, kind: string, deadline: number): Promise<{ resource: string; namespaced: boolean }> {
    const cached = this.discoveryCache.get(apiVersion)?.get(kind);
    if (cached) return cached;
    const discoveryPath = apiVersion.includes("/") ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
    let found: { resource: string; namespaced: boolean } | undefined;
    // A just-Established CRD shows up in discovery within a second or two; an unknown kind should fail fast.
    const discoveryDeadline = Math.min(deadline, Date.now() + 15_000);
    await eventually(
      async () => {
        const response = await this.request("GET", discoveryPath);
        notYetUnless(response.status === 200, `discovery ${discoveryPath}: ${response.status}`);
        const kinds = new Map<string, { resource: string; namespaced: boolean }>();
        for (const resource of v.parse(ApiResourceListSchema, response.json).resources) {
          if (resource.name.includes("/")) continue; // a subresource such as widgets/status
          kinds.set(resource.kind, { resource: resource.name, namespaced: resource.namespaced });
        }
        this.discoveryCache.set(apiVersion, kinds);
        found = kinds.get(kind);
        return notYetUnless(found !== undefined, `kinds served: ${[...kinds.keys()].join(", ")}`);
      },
      `${kind} (${apiVersion}) to be served by the apiserver`,
      discoveryDeadline - Date.now(),
    );
    if (!found) throw new Error(`unreachable: ${kind} resolved without a resource`);
    return found;
  }

  private async createOrReplace(object: KubeObject, deadline: number): Promise<void> {
    const { resource, namespaced } = await this.resolveResource(object.apiVersion, object.kind, deadline);
    const base = object.apiVersion.includes("/") ? `/apis/${object.apiVersion}` : `/api/${object.apiVersion}`;
    const namespace = object.metadata.namespace ?? "default";
    const collection = namespaced ? `${base}/namespaces/${namespace}/${resource}` : `${base}/${resource}`;
    const itemPath = `${collection}/${encodeURIComponent(object.metadata.name)}`;
    const label = `${object.kind} ${namespaced ? `${namespace}/` : ""}${object.metadata.name}`;

    const created = await this.request("POST", collection, object);
    if (created.status === 201 || created.status === 200) return;
    if (created.status !== 409) throw new Error(`creating ${label} answered ${created.status}: ${created.text}`);
    // Already exists: replace it, retrying when another writer changes it in between.
    for (let attempt = 1; ; attempt++) {
      const current = v.parse(KubeObjectSchema, await this.requestOk("GET", itemPath));
      const resourceVersion = current.metadata.resourceVersion;
      const replacement = { ...object, metadata: { ...object.metadata, resourceVersion } };
      const replaced = await this.request("PUT", itemPath, replacement);
      if (replaced.status === 200 || replaced.status === 201) return;
      if (replaced.status !== 409 || attempt >= 5) {
        throw new Error(`replacing ${label} answered ${replaced.status}: ${replaced.text}`);
      }
    }
  }
}

/** One component binary; restartable with the same command line (same ports, certificates, data dir). */
class ComponentProcess {
  private subprocess: Subprocess<"ignore", number, number> | undefined;

  constructor(
    readonly name: ComponentName,
    private readonly command: string[],
    readonly logPath: string,
  ) {}

  start(): void {
    if (this.isRunning()) throw new Error(`${this.name} is already running`);
    const logFd = openSync(this.logPath, "a");
    try {
      writeFileSync(logFd, `\n=== ${new Date().toISOString()} starting ${this.command.join(" ")}\n`);
      this.subprocess = Bun.spawn(this.command, { stdin: "ignore", stdout: logFd, stderr: logFd });
    } finally {
      closeSync(logFd); // the child holds its own copy
    }
  }

  isRunning(): boolean {
    return this.subprocess !== undefined && this.subprocess.exitCode === null && this.subprocess.signalCode === null;
  }

  runningPid(): number | undefined {
    return this.isRunning() ? this.subprocess?.pid : undefined;
  }

  /** Why the process is no longer running, or undefined while it runs. */
  exitDescription(): string | undefined {
    const subprocess = this.subprocess;
    if (!subprocess) return "never started";
    if (subprocess.signalCode !== null) return `${this.name} was killed by ${subprocess.signalCode}`;
    if (subprocess.exitCode !== null) return `${this.name} exited with code ${subprocess.exitCode}`;
    return undefined;
  }

  /** Signals the process and waits until it has been reaped (SIGKILL after a grace period). */
  async stop(signal: "SIGTERM" | "SIGKILL", graceMs: number): Promise<void> {
    const subprocess = this.subprocess;
    if (!subprocess || !this.isRunning()) {
      await subprocess?.exited;
      return;
    }
    subprocess.kill(signal);
    let graceTimer: ReturnType<typeof setTimeout> | undefined;
    const exitedInTime = await Promise.race([
      subprocess.exited.then(() => true),
      new Promise<false>((resolve) => {
        graceTimer = setTimeout(() => resolve(false), graceMs);
      }),
    ]);
    clearTimeout(graceTimer); // a pending timer would keep the test process alive
    if (!exitedInTime) {
      subprocess.kill("SIGKILL");
      await subprocess.exited;
    }
  }

  killNow(): void {
    if (this.isRunning()) this.subprocess?.kill("SIGKILL");
  }
}

/** Binds port 0 on loopback `count` times (all held open together so they differ), then releases them. */
async function allocateLoopbackPorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: count }, async () => {
      const server = createServer();
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(0, "127.0.0.1", () => resolve());
      });
      return server;
    }),
  );
  const ports = servers.map((server) => {
    const address = server.address();
    if (address === null || typeof address === "string") throw new Error("loopback listener has no port");
    return address.port;
  });
  await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  return ports;
}

async function runCommand(command: string[], cwd: string): Promise<void> {
  const subprocess = Bun.spawn(command, { cwd, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const [exitCode, stdout, stderr] = await Promise.all([subprocess.exited, new Response(subprocess.stdout).text(), new Response(subprocess.stderr).text()]);
  if (exitCode !== 0) throw new Error(`${command.join(" ")} exited with ${exitCode}: ${stderr}${stdout}`);
}

interface CertificateSpec {
  name: string;
  subject: Record<string, string>;
  extensions: string[];
}

/** CA, apiserver serving certificate, admin client certificate and service-account key pair, via openssl. */
async function generateCertificates(directory: string): Promise<void> {
  const ecKey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  const issue = async (spec: CertificateSpec, signer: string[]): Promise<void> => {
    const config = [
      "[req]",
      "distinguished_name = dn",
      "prompt = no",
      "x509_extensions = ext",
      "[dn]",
      ...Object.entries(spec.subject).map(([key, value]) => `${key} = ${value}`),
      "[ext]",
      ...spec.extensions,
      "",
    ].join("\n");
    // Own config file: independent of the system openssl.cnf defaults.
    await writeFile(join(directory, `${spec.name}.cnf`), config);
    await runCommand(
      ["openssl", "req", "-x509", "-config", `${spec.name}.cnf`, ...ecKey, "-days", "7", "-keyout", `${spec.name}.key`, "-out", `${spec.name}.crt`, ...signer],
      directory,
    );
  };
  const leaf = [
    "basicConstraints = critical,CA:FALSE",
    "keyUsage = critical,digitalSignature,keyEncipherment",
    "subjectKeyIdentifier = hash",
    "authorityKeyIdentifier = keyid",
  ];

  try {
    await runCommand(["openssl", "version"], directory);
  } catch (error) {
    throw new Error("the openssl CLI is required to generate certificates: run scripts/ensure/controlplane.sh", {
      cause: error,
    });
  }
  const serviceAccountKey = (async () => {
    await runCommand(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "service-account.key"], directory);
    await runCommand(["openssl", "pkey", "-in", "service-account.key", "-pubout", "-out", "service-account.pub"], directory);
  })();
  await issue(
    {
      name: "ca",
      subject: { CN: "boot-operator-test-ca" },
      extensions: ["basicConstraints = critical,CA:TRUE", "keyUsage = critical,keyCertSign,cRLSign,digitalSignature", "subjectKeyIdentifier = hash"],
    },
    [],
  );
  const signedByCa = ["-CA", "ca.crt", "-CAkey", "ca.key"];
  await Promise.all([
    issue(
      {
        name: "apiserver",
        subject: { CN: "kube-apiserver" },
        extensions: [...leaf, "extendedKeyUsage = serverAuth", "subjectAltName = IP:127.0.0.1,DNS:localhost,IP:10.0.0.1,DNS:kubernetes.default.svc"],
      },
      signedByCa,
    ),
    issue(
      {
        name: "admin",
        subject: { O: "system:masters", CN: "boot-operator-test-admin" },
        extensions: [...leaf, "extendedKeyUsage = clientAuth"],
      },
      signedByCa,
    ),
    serviceAccountKey,
  ]);
}

/** Kills components of runs whose owning test process is gone (e.g. SIGKILLed), and removes their dirs. */
async function reapAbandonedRuns(): Promise<void> {
  const entries = await readdir(tmpdir()).catch(() => []);
  for (const entry of entries) {
    if (!entry.startsWith(runDirPrefix)) continue;
    const runDirectory = join(tmpdir(), entry);
    const ownerPid = Number(await readFile(join(runDirectory, ownerPidFile), "utf8").catch(() => ""));
    if (!Number.isInteger(ownerPid) || ownerPid <= 0 || (await isAlive(ownerPid))) continue;
    for (const pid of await pidsWithArgumentContaining(`${runDirectory}/`)) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    await rm(runDirectory, { recursive: true, force: true });
  }
}

/** A zombie counts as dead: a killed test process may wait a while for its parent to reap it. */
async function isAlive(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => "");
  if (stat === "") return false;
  const state = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0];
  return state !== "Z" && state !== "X";
}

async function pidsWithArgumentContaining(text: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir("/proc").catch(() => [])) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    const commandLine = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
    if (commandLine.includes(text)) pids.push(pid);
  }
  return pids;
}

/**
 * The API server's own count of server-side applies to `<resource>/status` (apiserver_request_total), whoever sent
 * them: what a test compares before and after to count status writes.
 */
export async function statusAppliesTo(cp: Pick<ControlPlane, "request">, resource: string): Promise<number> {
  const metrics = (await cp.request("GET", "/metrics")).text;
  let total = 0;
  for (const line of metrics.split("\n")) {
    if (
      line.startsWith("apiserver_request_total{") &&
      line.includes(`resource="${resource}"`) &&
      line.includes('subresource="status"') &&
      line.includes('verb="APPLY"')
    ) {
      total += Number(line.split(" ").at(-1));
    }
  }
  return total;
}
