// The shipped RBAC is enough and no more. dist/install.yaml is applied to a real API server (strict field
// validation, the pod template checked against the "restricted" Pod Security Standard); then the compiled binary
// runs exactly as the Deployment configures it, but with nothing except a TokenRequest token of the boot-operator
// ServiceAccount: it must list/watch, serve, write status, record events and hold the Lease without a single 403,
// while the same token is refused everything else.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { type KubeManifest, renderKustomization } from "../../scripts/generate-manifests.ts";
import { type Appliance, BINARY, REPO_ROOT, startAppliance } from "../harness/appliance.ts";
import { type ControlPlane, type HttpMethod, startControlPlane } from "../harness/controlplane.ts";
import { tokenInScript } from "../harness/source-address.ts";
import { eventually as eventuallyWithin, notYetUnless } from "../harness/wait.ts";
import {
  apiCall,
  forbiddenInLogs,
  forbiddenResponsesServed as forbiddenServed,
  nextLeaseRenewal,
  requestServiceAccountToken,
  writeTokenKubeconfig,
} from "./service-account.ts";

const INSTALL_YAML = join(REPO_ROOT, "dist/install.yaml");
const GROUP = "/apis/boot.ironcore.dev/v1alpha1";
const OTHER_NS = "tenant-b";
const UUID_A = "0a0a0a0a-1111-2222-3333-444444444444";
const UUID_B = "0b0b0b0b-1111-2222-3333-444444444444";
const UUID_OTHER = "0c0c0c0c-1111-2222-3333-444444444444";
const POD_NAME = "boot-operator-5d9c7b-x2x7q";

interface Condition {
  type: string;
  status: string;
  reason: string;
}
interface ConfigObject {
  metadata: { uid: string; managedFields?: { manager: string; subresource?: string }[] };
  status?: { state?: string; conditions?: Condition[] };
}
interface KubeEvent {
  type: string;
  reason: string;
  involvedObject: { kind: string; name: string; namespace: string };
  source?: { component?: string };
}
interface Lease {
  spec: { holderIdentity?: string | null; leaseTransitions?: number };
}
interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { fieldRef?: { fieldPath: string } };
}
interface Container {
  name: string;
  args?: string[];
  env?: EnvVar[];
}
interface PodTemplate {
  metadata?: Record<string, unknown>;
  spec: { serviceAccountName?: string; containers: Container[] };
}

// Processes and a real API server: bun's 5 s default is too short for the slower steps (bunfig's timeout is not read).
setDefaultTimeout(60_000);

let cp: ControlPlane;
let workDir: string;

// Shared helpers bound to this file's control plane and work directory.
const call = (method: HttpMethod, path: string, options: { token?: string; body?: unknown; contentType?: string } = {}) => apiCall(cp, method, path, options);
const requestToken = (namespace: string, name: string): Promise<string> => requestServiceAccountToken(cp, namespace, name);
const tokenKubeconfig = (token: string, fileName: string): Promise<string> => writeTokenKubeconfig(cp, token, join(workDir, fileName));
const forbiddenResponsesServed = (): Promise<number> => forbiddenServed(cp);
const eventually = <T>(check: () => Promise<T | undefined | false>, what: string, timeoutMs = 20_000): Promise<T> => eventuallyWithin(check, what, timeoutMs);
let installed: KubeManifest[];
/** The namespace dist/install.yaml installs into (its Namespace object). */
let namespace: string;
let serviceAccount: string;
/** Warning headers the API server sent while dist/install.yaml was created (deprecations, PodSecurity). */
const installWarnings: string[] = [];

/** Builds the binary only when it is missing (the test command always rebuilds it first). */
async function ensureBinary(): Promise<void> {
  if (existsSync(BINARY)) return;
  const build = Bun.spawn([join(REPO_ROOT, "node_modules/.bin/bun"), "run", "build"], { cwd: REPO_ROOT, stdout: "pipe", stderr: "pipe" });
  const [code, stderr] = await Promise.all([build.exited, new Response(build.stderr).text()]);
  if (code !== 0) throw new Error(`bun run build failed (${code}): ${stderr}`);
}

function manifestsOf(text: string): KubeManifest[] {
  return parseAllDocuments(text)
    .map((document) => document.toJS() as KubeManifest | null)
    .filter((manifest): manifest is KubeManifest => manifest !== null);
}

async function callOk(method: HttpMethod, path: string, body?: unknown): Promise<unknown> {
  const response = await call(method, path, body === undefined ? {} : { body });
  if (response.status < 200 || response.status > 299) throw new Error(`${method} ${path}: ${response.status} ${response.text.slice(0, 1000)}`);
  return response.json;
}

const discovery = new Map<string, { name: string; kind: string; namespaced: boolean }[]>();

/** Collection path of an object, through API discovery (so a wrong apiVersion/kind in a manifest fails here). */
async function collectionPath(manifest: KubeManifest): Promise<string> {
  const base = manifest.apiVersion.includes("/") ? `/apis/${manifest.apiVersion}` : `/api/${manifest.apiVersion}`;
  let resources = discovery.get(base);
  if (!resources) {
    resources = ((await callOk("GET", base)) as { resources: { name: string; kind: string; namespaced: boolean }[] }).resources;
    discovery.set(base, resources);
  }
  const resource = resources.find((candidate) => candidate.kind === manifest.kind && !candidate.name.includes("/"));
  if (!resource) throw new Error(`the API server does not serve ${manifest.kind} in ${manifest.apiVersion}`);
  if (resource.namespaced && !manifest.metadata.namespace) throw new Error(`${manifest.kind} ${manifest.metadata.name} has no namespace`);
  return resource.namespaced ? `${base}/namespaces/${manifest.metadata.namespace}/${resource.name}` : `${base}/${resource.name}`;
}

/** Creates with fieldValidation=Strict: an unknown or duplicated field (a typo in a securityContext) is an error. */
async function createStrict(manifest: KubeManifest, query = ""): Promise<void> {
  const path = `${await collectionPath(manifest)}?fieldValidation=Strict${query}`;
  const response = await call("POST", path, { body: manifest });
  installWarnings.push(...response.warnings.map((warning) => `${manifest.kind} ${manifest.metadata.name}: ${warning}`));
  if (response.status !== 201) throw new Error(`creating ${manifest.kind} ${manifest.metadata.name}: ${response.status} ${response.text.slice(0, 1500)}`);
}

async function installManifests(manifests: readonly KubeManifest[]): Promise<void> {
  for (const manifest of manifests) {
    await createStrict(manifest);
    if (manifest.kind !== "CustomResourceDefinition") continue;
    await eventually(
      async () => {
        const crd = (await callOk("GET", `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${manifest.metadata.name}`)) as {
          status?: { conditions?: { type: string; status: string }[] };
        };
        const established = crd.status?.conditions?.some((c) => c.type === "Established" && c.status === "True") ?? false;
        return notYetUnless(established, JSON.stringify(crd.status?.conditions ?? []));
      },
      `CRD ${manifest.metadata.name} Established`,
      30_000,
    );
    discovery.clear();
  }
}

function deploymentOf(manifests: readonly KubeManifest[]): { template: PodTemplate; container: Container } {
  const deployment = manifests.find((manifest) => manifest.kind === "Deployment" && manifest.metadata.name === "boot-operator");
  if (!deployment) throw new Error("dist/install.yaml has no Deployment boot-operator");
  const template = (deployment.spec as { template: PodTemplate }).template;
  const container = template.spec.containers.find((candidate) => candidate.name === "boot-operator");
  if (!container) throw new Error("the Deployment has no container boot-operator");
  return { template, container };
}

/** The container's environment as the kubelet would resolve it (the downward-API fields the manifest uses). */
function resolveEnv(container: Container, pod: { name: string; namespace: string }): Record<string, string> {
  const env: Record<string, string> = {};
  for (const variable of container.env ?? []) {
    const fieldPath = variable.valueFrom?.fieldRef?.fieldPath;
    if (variable.value !== undefined) env[variable.name] = variable.value;
    else if (fieldPath === "metadata.namespace") env[variable.name] = pod.namespace;
    else if (fieldPath === "metadata.name") env[variable.name] = pod.name;
    else throw new Error(`env ${variable.name}: this test cannot resolve ${JSON.stringify(variable.valueFrom)}`);
  }
  return env;
}

/** The boot token keys the Deployment's --token-secret names (it ships --ignition-access bound). */
function tokenKeysSecret(ns: string) {
  return { apiVersion: "v1", kind: "Secret", metadata: { name: "boot-operator-token-keys", namespace: ns }, stringData: { current: "k".repeat(48) } };
}

/** Ignition the way a machine gets it under --ignition-access bound: the script first, then with its token. */
async function bootIgnition(app: Appliance, uuid: string): Promise<Response> {
  const script = await (await fetch(`${app.url}/ipxe/${uuid}`)).text();
  const token = tokenInScript(script);
  return fetch(`${app.url}/ignition/${uuid}${token ? `?token=${token}` : ""}`);
}

function ipxeConfig(ns: string, name: string, uuid: string, secretName: string) {
  return {
    apiVersion: "boot.ironcore.dev/v1alpha1",
    kind: "IPXEBootConfig",
    metadata: { name, namespace: ns },
    spec: { systemUUID: uuid, kernelURL: "http://files.example/vmlinuz", initrdURL: "http://files.example/initrd", ignitionSecretRef: { name: secretName } },
  };
}

function ignitionSecret(ns: string, name: string, marker: string) {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name, namespace: ns },
    stringData: { ignition: JSON.stringify({ ignition: { version: "3.4.0" }, marker }) },
  };
}

async function config(ns: string, name: string): Promise<ConfigObject> {
  return (await callOk("GET", `${GROUP}/namespaces/${ns}/ipxebootconfigs/${name}`)) as ConfigObject;
}

function condition(object: ConfigObject, type: string): Condition | undefined {
  return object.status?.conditions?.find((c) => c.type === type);
}

async function events(ns: string, involvedName: string): Promise<KubeEvent[]> {
  const list = (await callOk("GET", `/api/v1/namespaces/${ns}/events?fieldSelector=${encodeURIComponent(`involvedObject.name=${involvedName}`)}`)) as {
    items: KubeEvent[];
  };
  return list.items;
}

beforeAll(async () => {
  await ensureBinary();
  workDir = await mkdtemp(join(tmpdir(), "boot-operator-rbac-"));
  installed = manifestsOf(await Bun.file(INSTALL_YAML).text());
  const namespaceObject = installed.find((manifest) => manifest.kind === "Namespace");
  const serviceAccountObject = installed.find((manifest) => manifest.kind === "ServiceAccount");
  if (!namespaceObject || !serviceAccountObject) throw new Error("dist/install.yaml must hold a Namespace and a ServiceAccount");
  namespace = namespaceObject.metadata.name;
  serviceAccount = serviceAccountObject.metadata.name;
  cp = await startControlPlane();
  await installManifests(installed);
}, 120_000);

afterAll(async () => {
  await cp?.stop();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

describe("dist/install.yaml on a real API server", () => {
  test("every object is accepted with strict field validation and without warnings", () => {
    // Created in beforeAll (a rejection fails the whole file there); warnings would mean deprecated or odd fields.
    expect(installed.map((manifest) => manifest.kind)).toEqual(
      expect.arrayContaining(["CustomResourceDefinition", "ServiceAccount", "Role", "RoleBinding", "Deployment", "Service"]),
    );
    expect(installWarnings).toEqual([]);
  });

  test("the pod template is admitted by the namespace's enforced 'restricted' Pod Security Standard", async () => {
    const namespaceObject = installed.find((manifest) => manifest.kind === "Namespace");
    if (!namespaceObject) throw new Error("the install has no Namespace");
    const labels = (namespaceObject.metadata.labels ?? {}) as Record<string, string>;
    expect(labels["pod-security.kubernetes.io/enforce"]).toBe("restricted");
    const { template } = deploymentOf(installed);
    // Pods are where PodSecurity enforces: a dry-run Pod from the template is rejected on any violation.
    const pod = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "pod-security-probe", namespace, labels: template.metadata?.labels ?? {} },
      spec: template.spec,
    };
    const response = await call("POST", `/api/v1/namespaces/${namespace}/pods?dryRun=All&fieldValidation=Strict`, { body: pod });
    expect(response.warnings).toEqual([]);
    expect(response.status, response.text).toBe(201);
    // And the check can fail: a template that keeps its capabilities is refused.
    const weakened = structuredClone(pod);
    const securityContext = (weakened.spec.containers[0] as unknown as { securityContext: { capabilities?: unknown } }).securityContext;
    delete securityContext.capabilities;
    const refused = await call("POST", `/api/v1/namespaces/${namespace}/pods?dryRun=All`, { body: weakened });
    expect(refused.status).toBe(403);
    expect(refused.text).toContain('violates PodSecurity \\"restricted');
  });
});

describe("namespace-scoped install: the binary runs on the ServiceAccount's token alone", () => {
  let token: string;
  let app: Appliance;
  let forbiddenBefore: number;

  beforeAll(async () => {
    await callOk("POST", "/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: OTHER_NS } });
    await cp.applyObjects([
      ignitionSecret(namespace, "ignition-a", "a"),
      tokenKeysSecret(namespace),
      ipxeConfig(namespace, "machine-a", UUID_A, "ignition-a"),
      ignitionSecret(OTHER_NS, "ignition-other", "other"),
      ipxeConfig(OTHER_NS, "machine-other", UUID_OTHER, "ignition-other"),
    ]);
    token = await requestToken(namespace, serviceAccount);
    const kubeconfig = await tokenKubeconfig(token, "namespaced.kubeconfig");
    // Exactly the Deployment's arguments and environment; the kubeconfig stands in for the token mount.
    const { container } = deploymentOf(installed);
    forbiddenBefore = await forbiddenResponsesServed();
    app = await startAppliance([...(container.args ?? []), "--kubeconfig", kubeconfig], { env: resolveEnv(container, { name: POD_NAME, namespace }) });
    await app.waitReady(30_000);
  }, 60_000);

  afterAll(async () => {
    await app?.stop();
  });

  test("the token is the ServiceAccount's and may do what the binary needs (positive control)", async () => {
    const whoAmI = await call("POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews", {
      token,
      body: { apiVersion: "authentication.k8s.io/v1", kind: "SelfSubjectReview" },
    });
    expect((whoAmI.json as { status: { userInfo: { username: string } } }).status.userInfo.username).toBe(
      `system:serviceaccount:${namespace}:${serviceAccount}`,
    );
    expect((await call("GET", `${GROUP}/namespaces/${namespace}/ipxebootconfigs`, { token })).status).toBe(200);
    expect((await call("GET", `/api/v1/namespaces/${namespace}/secrets`, { token })).status).toBe(200);
  });

  test("becomes ready and serves its namespace's configs, and only those", async () => {
    expect((await fetch(`${app.url}/readyz`)).status).toBe(200);
    const ignition = await bootIgnition(app, UUID_A);
    expect(ignition.status).toBe(200);
    expect(await ignition.text()).toContain('"marker":"a"');
    expect((await fetch(`${app.url}/ipxe/${UUID_A}`)).status).toBe(200);
    // (Not /ignition: under --ignition-access bound an unknown UUID gets the same 403 as a known one.)
    expect((await fetch(`${app.url}/ipxe/${UUID_OTHER}`)).status).toBe(404);
  });

  test("holds the leader Lease it created, under the pod's name", async () => {
    await app.waitForLog((line) => line.msg === "became leader", 20_000);
    const lease = (await callOk("GET", `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases/boot-operator-leader`)) as Lease;
    expect(lease.spec.holderIdentity).toBe(POD_NAME);
    expect(lease.spec.leaseTransitions).toBe(0);
  });

  test("writes status (server-side apply of /status) and records an event", async () => {
    const ready = await eventually(async () => {
      const object = await config(namespace, "machine-a");
      return condition(object, "Ready")?.status === "True" ? object : undefined;
    }, "machine-a Ready");
    expect(ready.status?.state).toBe("Ready");
    expect(ready.metadata.managedFields?.some((field) => field.manager === "boot-operator" && field.subresource === "status")).toBe(true);
    const recorded = await eventually(
      async () => (await events(namespace, "machine-a")).find((event) => event.reason === "BootConfigReady"),
      "BootConfigReady event",
    );
    expect(recorded).toMatchObject({ type: "Normal", involvedObject: { kind: "IPXEBootConfig", namespace }, source: { component: "boot-operator" } });
    // The served-status writer (every replica) applies its conditions too.
    await eventually(async () => condition(await config(namespace, "machine-a"), "IgnitionDataFetched")?.status === "True", "IgnitionDataFetched");
  });

  test("follows Secrets through the watch: missing secret → Error + Warning event; created → Ready", async () => {
    await cp.applyObjects([ipxeConfig(namespace, "machine-b", UUID_B, "ignition-b")]);
    await eventually(async () => (await config(namespace, "machine-b")).status?.state === "Error", "machine-b Error");
    const warning = await eventually(
      async () => (await events(namespace, "machine-b")).find((event) => event.type === "Warning"),
      "Warning event for machine-b",
    );
    expect(warning.reason).toBe("SecretNotFound");
    await cp.applyObjects([ignitionSecret(namespace, "ignition-b", "b")]);
    await eventually(async () => (await config(namespace, "machine-b")).status?.state === "Ready", "machine-b Ready after its secret appeared");
    expect(await (await bootIgnition(app, UUID_B)).text()).toContain('"marker":"b"');
  });

  test("was never refused anything: no 403 in its logs, none served by the API server", async () => {
    await nextLeaseRenewal(cp, namespace);
    expect(forbiddenInLogs(app)).toEqual([]);
    expect(await forbiddenResponsesServed()).toBe(forbiddenBefore);
  });

  // Least privilege: everything below is refused for the very token the binary ran with.
  const configBody = () => ({ ...ipxeConfig(namespace, "x", UUID_B, "s"), metadata: { name: "x" } });
  const refused: [string, HttpMethod, () => string, (() => unknown)?, string?][] = [
    ["list secrets in another namespace", "GET", () => `/api/v1/namespaces/${OTHER_NS}/secrets`],
    ["list secrets cluster-wide", "GET", () => "/api/v1/secrets"],
    ["get one secret by name (only list/watch are granted)", "GET", () => `/api/v1/namespaces/${namespace}/secrets/ignition-a`],
    ["create a secret", "POST", () => `/api/v1/namespaces/${namespace}/secrets`, () => ({ apiVersion: "v1", kind: "Secret", metadata: { name: "x" } })],
    ["list configs in another namespace", "GET", () => `${GROUP}/namespaces/${OTHER_NS}/ipxebootconfigs`],
    ["list configs cluster-wide", "GET", () => `${GROUP}/ipxebootconfigs`],
    ["get one config by name", "GET", () => `${GROUP}/namespaces/${namespace}/ipxebootconfigs/machine-a`],
    ["create a config", "POST", () => `${GROUP}/namespaces/${namespace}/ipxebootconfigs`, configBody],
    ["delete a config", "DELETE", () => `${GROUP}/namespaces/${namespace}/ipxebootconfigs/machine-a`],
    [
      "patch a config's spec",
      "PATCH",
      () => `${GROUP}/namespaces/${namespace}/ipxebootconfigs/machine-a`,
      () => ({ spec: { kernelURL: "http://evil.example/k" } }),
    ],
    [
      "patch an HTTPBootConfig's spec",
      "PATCH",
      () => `${GROUP}/namespaces/${namespace}/httpbootconfigs/any`,
      () => ({ spec: { ukiURL: "http://evil.example/u" } }),
    ],
    [
      "replace (update) a config's status",
      "PUT",
      () => `${GROUP}/namespaces/${namespace}/ipxebootconfigs/machine-a/status`,
      () => ipxeConfig(namespace, "machine-a", UUID_A, "ignition-a"),
    ],
    [
      "apply status in another namespace",
      "PATCH",
      () => `${GROUP}/namespaces/${OTHER_NS}/ipxebootconfigs/machine-other/status?fieldManager=boot-operator`,
      () => ({
        apiVersion: "boot.ironcore.dev/v1alpha1",
        kind: "IPXEBootConfig",
        metadata: { name: "machine-other", namespace: OTHER_NS },
        status: { state: "Ready" },
      }),
      "application/apply-patch+yaml",
    ],
    [
      "create an event in another namespace",
      "POST",
      () => `/api/v1/namespaces/${OTHER_NS}/events`,
      () => ({ apiVersion: "v1", kind: "Event", metadata: { name: "x" }, involvedObject: {} }),
    ],
    ["list events", "GET", () => `/api/v1/namespaces/${namespace}/events`],
    ["delete the leader Lease", "DELETE", () => `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases/boot-operator-leader`],
    ["read another Lease", "GET", () => `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases/some-other-lease`],
    ["list Leases", "GET", () => `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases`],
    [
      "create a Lease in another namespace",
      "POST",
      () => `/apis/coordination.k8s.io/v1/namespaces/${OTHER_NS}/leases`,
      () => ({ apiVersion: "coordination.k8s.io/v1", kind: "Lease", metadata: { name: "boot-operator-leader" } }),
    ],
    ["list pods", "GET", () => `/api/v1/namespaces/${namespace}/pods`],
    ["list configmaps", "GET", () => `/api/v1/namespaces/${namespace}/configmaps`],
    ["change its own Role", "PATCH", () => `/apis/rbac.authorization.k8s.io/v1/namespaces/${namespace}/roles/boot-operator`, () => ({ rules: [] })],
  ];
  for (const [what, method, path, body, contentType] of refused) {
    test(`refused: ${what}`, async () => {
      const response = await call(method, path(), { token, ...(body ? { body: body() } : {}), ...(contentType ? { contentType } : {}) });
      expect(response.status, response.text).toBe(403);
      expect(response.text).toContain(`system:serviceaccount:${namespace}:${serviceAccount}`);
    });
  }

  test("on shutdown it releases the Lease (update) without being refused", async () => {
    expect(await app.stop()).toBe(0);
    const lease = (await callOk("GET", `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases/boot-operator-leader`)) as Lease;
    expect(lease.spec.holderIdentity ?? "").toBe("");
    expect(app.logs.some((line) => line.msg === "released leadership")).toBe(true);
    expect(forbiddenInLogs(app)).toEqual([]);
  });
});

describe("cluster-wide RBAC (ClusterRole): one token watches every namespace", () => {
  const CLUSTER_NS = "boot-cluster";
  const CLUSTER_POD = "boot-operator-cluster-0";
  let token: string;
  let app: Appliance;

  beforeAll(async () => {
    // What manifests/default/cluster-wide installs, RBAC part: the shared ServiceAccount + Lease Role, and the
    // ClusterRole instead of the Role; its Deployment patch empties BOOT_OPERATOR_NAMESPACE (checked in the unit test).
    const rbac = await renderKustomization(join(REPO_ROOT, "manifests/default"), {
      kustomization: { namespace: CLUSTER_NS, resources: ["../rbac", "../rbac/cluster-wide"] },
    });
    expect(rbac.map((manifest) => manifest.kind).sort()).toEqual(["ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "ServiceAccount"]);
    await callOk("POST", "/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: CLUSTER_NS } });
    await installManifests(rbac);
    await cp.applyObjects([tokenKeysSecret(CLUSTER_NS)]);
    token = await requestToken(CLUSTER_NS, serviceAccount);
    const kubeconfig = await tokenKubeconfig(token, "cluster-wide.kubeconfig");
    const { container } = deploymentOf(installed);
    const env = {
      ...resolveEnv(container, { name: CLUSTER_POD, namespace: CLUSTER_NS }),
      BOOT_OPERATOR_NAMESPACE: "",
      // In a pod the Lease namespace comes from the token mount's namespace file; here it must be said.
      BOOT_OPERATOR_LEADER_ELECTION_NAMESPACE: CLUSTER_NS,
    };
    // Likewise the token Secret's namespace (a later flag wins over the Deployment's).
    app = await startAppliance([...(container.args ?? []), "--kubeconfig", kubeconfig, "--token-secret", `${CLUSTER_NS}/boot-operator-token-keys`], { env });
    await app.waitReady(30_000);
  }, 60_000);

  afterAll(async () => {
    await app?.stop();
  });

  test("serves, writes status and records events in any namespace, holds its Lease, never refused", async () => {
    for (const uuid of [UUID_A, UUID_OTHER]) expect((await bootIgnition(app, uuid)).status).toBe(200);
    await eventually(
      async () => (await config(OTHER_NS, "machine-other")).status?.state === "Ready",
      "machine-other Ready (written by the cluster-wide token)",
    );
    await eventually(async () => (await events(OTHER_NS, "machine-other")).some((event) => event.reason === "BootConfigReady"), "event in tenant-b");
    await app.waitForLog((line) => line.msg === "became leader", 20_000);
    const lease = (await callOk("GET", `/apis/coordination.k8s.io/v1/namespaces/${CLUSTER_NS}/leases/boot-operator-leader`)) as Lease;
    expect(lease.spec.holderIdentity).toBe(CLUSTER_POD);
    expect(forbiddenInLogs(app)).toEqual([]);
  });

  test.each([
    ["get one secret by name", "GET" as HttpMethod, () => `/api/v1/namespaces/${OTHER_NS}/secrets/ignition-other`],
    ["delete a config", "DELETE" as HttpMethod, () => `${GROUP}/namespaces/${OTHER_NS}/ipxebootconfigs/machine-other`],
    ["patch a config's spec", "PATCH" as HttpMethod, () => `${GROUP}/namespaces/${OTHER_NS}/ipxebootconfigs/machine-other`],
    [
      "touch the namespace-scoped install's Lease",
      "GET" as HttpMethod,
      () => `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases/boot-operator-leader`,
    ],
    ["list pods anywhere", "GET" as HttpMethod, () => "/api/v1/pods"],
  ])("still refused: %s", async (_what, method, path) => {
    const response = await call(method, path(), { token, ...(method === "PATCH" ? { body: { spec: { kernelURL: "http://evil.example/k" } } } : {}) });
    expect(response.status, response.text).toBe(403);
  });
});
