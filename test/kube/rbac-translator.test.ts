// The translator's RBAC (manifests/rbac/translator) and the registry-credentials Role (manifests/rbac/registry-credentials)
// are enough and no more, as test/kube/rbac.test.ts proves for the base install. A real control plane with the garbage
// collector and the OwnerReferencesPermissionEnforcement admission plugin (the check that makes
// serverbootconfigurations/finalizers necessary), a token-auth OCI registry with private images, and the compiled
// binary running on nothing but a TokenRequest token of the boot-operator ServiceAccount bound to exactly those
// manifests: it translates ServerBootConfigurations (create, update, delete of children, status) without a single
// 403, while the same token is refused everything else.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, readdirSync, statSync } from "node:fs";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type KubeManifest, renderKustomization } from "../../scripts/generate-manifests.ts";
import { type Appliance, BINARY, REPO_ROOT, startAppliance } from "../harness/appliance.ts";
import { type ControlPlane, controlPlaneBinDir, type HttpMethod, startControlPlane } from "../harness/controlplane.ts";
import { BOOT_CRD_PATHS, METAL_CRD_PATHS } from "../harness/crds.ts";
import { PRIVATE_PREFIX, pushOciIndexImage, pushPxeOnlyImage, READER_USER, RegistryHarness, type TestImage } from "../harness/registry.ts";
import { eventually as eventuallyWithin } from "../harness/wait.ts";
import {
  apiCall,
  forbiddenInLogs,
  forbiddenResponsesServed as forbiddenServed,
  nextLeaseRenewal,
  requestServiceAccountToken,
  writeTokenKubeconfig,
} from "./service-account.ts";

const NS = "boot-translator";
const CLUSTER_NS = "boot-translator-cluster";
const OTHER_NS = "tenant-b";
const METAL = "/apis/metal.ironcore.dev/v1alpha1";
const BOOT = "/apis/boot.ironcore.dev/v1alpha1";
const TRANSLATOR_MANAGER = "boot-operator-translator";
const SERVERS = {
  "server-1": "5e000001-1111-2222-3333-444444444444",
  "server-2": "5e000002-1111-2222-3333-444444444444",
  "server-3": "5e000003-1111-2222-3333-444444444444",
} as const;
type ServerName = keyof typeof SERVERS;

interface Condition {
  type: string;
  status: string;
  reason: string;
}
interface ManagedField {
  manager: string;
  operation: string;
  subresource?: string;
}
interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}
interface KubeObjectView {
  metadata: { uid: string; ownerReferences?: OwnerReference[]; managedFields?: ManagedField[] };
  spec?: Record<string, unknown>;
  status?: { state?: string; conditions?: Condition[] };
}
interface Lease {
  spec: { holderIdentity?: string | null };
}

// Processes, a registry and a real API server: bun's 5 s default is too short for the slower steps.
setDefaultTimeout(60_000);

let cp: ControlPlane;
let registry: RegistryHarness;
let workDir: string;

// Shared helpers bound to this file's control plane and work directory.
const call = (method: HttpMethod, path: string, options: { token?: string; body?: unknown; contentType?: string } = {}) => apiCall(cp, method, path, options);
const requestToken = (namespace: string, name: string): Promise<string> => requestServiceAccountToken(cp, namespace, name);
const tokenKubeconfig = (token: string, fileName: string): Promise<string> => writeTokenKubeconfig(cp, token, join(workDir, fileName));
const forbiddenResponsesServed = (): Promise<number> => forbiddenServed(cp);
const eventually = <T>(check: () => Promise<T | undefined | false>, what: string, timeoutMs = 30_000): Promise<T> => eventuallyWithin(check, what, timeoutMs);
const images: Record<"full" | "pxe", TestImage> = {} as Record<"full" | "pxe", TestImage>;
/** Name of the pull Secret, from the registry-credentials Role's resourceNames (the manifest's documented default). */
let pullSecretName: string;
let serviceAccount: string;

function newestMtime(path: string): number {
  const stats = statSync(path);
  if (!stats.isDirectory()) return stats.mtimeMs;
  return Math.max(stats.mtimeMs, ...readdirSync(path).map((entry) => newestMtime(join(path, entry))));
}

/** Builds dist/boot-operator when it is missing or older than src/ or package.json: the test runs what users run. */
async function ensureFreshBinary(): Promise<void> {
  if (process.env.BOOT_OPERATOR_BINARY) return; // an explicitly chosen binary is used as is
  if (existsSync(BINARY) && statSync(BINARY).mtimeMs >= Math.max(newestMtime(join(REPO_ROOT, "src")), newestMtime(join(REPO_ROOT, "package.json")))) return;
  const build = Bun.spawn([join(REPO_ROOT, "node_modules/.bin/bun"), "run", "build"], { cwd: REPO_ROOT, stdout: "pipe", stderr: "pipe" });
  const [code, stderr] = await Promise.all([build.exited, new Response(build.stderr).text()]);
  if (code !== 0) throw new Error(`bun run build failed (${code}): ${stderr}`);
}

/**
 * The pinned control-plane binaries, with kube-apiserver wrapped to also enable OwnerReferencesPermissionEnforcement
 * (off by default; on in e.g. OpenShift): setting blockOwnerDeletion then requires update on the owner's finalizers.
 */
async function binDirWithOwnerReferenceEnforcement(): Promise<string> {
  const real = await controlPlaneBinDir();
  for (const component of ["etcd", "kube-apiserver", "kube-controller-manager"]) {
    if (!existsSync(join(real, component))) throw new Error(`${component} not found in ${real}: run scripts/ensure/controlplane.sh`);
  }
  const wrapped = join(workDir, "controlplane-bin");
  await mkdir(wrapped);
  await symlink(join(real, "etcd"), join(wrapped, "etcd"));
  await symlink(join(real, "kube-controller-manager"), join(wrapped, "kube-controller-manager"));
  // exec keeps the pid, so the harness signals and reaps kube-apiserver itself.
  await writeFile(
    join(wrapped, "kube-apiserver"),
    `#!/bin/sh\nexec '${join(real, "kube-apiserver")}' "$@" --enable-admission-plugins=OwnerReferencesPermissionEnforcement\n`,
    { mode: 0o755 },
  );
  return wrapped;
}

const RBAC_RESOURCES: Record<string, string> = {
  ServiceAccount: "serviceaccounts",
  Role: "roles",
  RoleBinding: "rolebindings",
  ClusterRole: "clusterroles",
  ClusterRoleBinding: "clusterrolebindings",
};

/** Server-side apply with strict field validation (a typo in a rule is an error), as `kubectl apply --server-side`. */
async function applyStrict(manifests: readonly KubeManifest[]): Promise<void> {
  for (const manifest of manifests) {
    const resource = RBAC_RESOURCES[manifest.kind];
    if (!resource) throw new Error(`unexpected ${manifest.kind} ${manifest.metadata.name} in the RBAC manifests`);
    const base = manifest.apiVersion === "v1" ? "/api/v1" : `/apis/${manifest.apiVersion}`;
    const scope = manifest.metadata.namespace ? `/namespaces/${manifest.metadata.namespace}` : "";
    const path = `${base}${scope}/${resource}/${manifest.metadata.name}?fieldManager=rbac-translator-test&force=true&fieldValidation=Strict`;
    const response = await call("PATCH", path, { body: manifest, contentType: "application/apply-patch+yaml" });
    if (response.status !== 200 && response.status !== 201)
      throw new Error(`applying ${manifest.kind} ${manifest.metadata.name}: ${response.status} ${response.text.slice(0, 1500)}`);
  }
}

/** What an install of `resources` (relative to manifests/default) into `namespace` creates, RBAC only. */
async function renderRbac(namespace: string, resources: string[]): Promise<KubeManifest[]> {
  return renderKustomization(join(REPO_ROOT, "manifests/default"), { kustomization: { namespace, resources } });
}

async function get(path: string): Promise<KubeObjectView | undefined> {
  const response = await call("GET", path);
  if (response.status === 404) return undefined;
  if (response.status !== 200) throw new Error(`GET ${path}: ${response.status} ${response.text.slice(0, 500)}`);
  return response.json as KubeObjectView;
}

/** GET of an object the test has created: its absence is a failure. */
async function getExisting(path: string): Promise<KubeObjectView> {
  const object = await get(path);
  if (!object) throw new Error(`GET ${path}: not found`);
  return object;
}

const sbcPath = (namespace: string, name: string): string => `${METAL}/namespaces/${namespace}/serverbootconfigurations/${name}`;
const childPath = (namespace: string, kind: "ipxebootconfigs" | "httpbootconfigs", name: string): string => `${BOOT}/namespaces/${namespace}/${kind}/${name}`;

function sbc(namespace: string, name: string, server: ServerName, image: string) {
  return {
    apiVersion: "metal.ironcore.dev/v1alpha1",
    kind: "ServerBootConfiguration",
    metadata: { name, namespace },
    spec: { serverRef: { name: server }, image, ignitionSecretRef: { name: "ignition" } },
  };
}

function secret(namespace: string, name: string, data: Record<string, string>, type = "Opaque") {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name, namespace },
    type,
    data: Object.fromEntries(Object.entries(data).map(([key, value]) => [key, Buffer.from(value).toString("base64")])),
  };
}

function pullSecret(namespace: string) {
  const auth = Buffer.from(`${READER_USER.username}:${READER_USER.password}`).toString("base64");
  return secret(namespace, pullSecretName, { ".dockerconfigjson": JSON.stringify({ auths: { [registry.host]: { auth } } }) }, "kubernetes.io/dockerconfigjson");
}

const ignitionSecret = (namespace: string) => secret(namespace, "ignition", { ignition: JSON.stringify({ ignition: { version: "3.4.0" } }) });

async function setServerNics(name: ServerName, ips: string[]): Promise<void> {
  const nics = ips.map((ip, index) => ({ ips: [ip], macAddress: `52:54:00:00:0${index}:${name.slice(-1).padStart(2, "0")}` }));
  const response = await call("PATCH", `${METAL}/servers/${name}/status`, { body: { status: { networkInterfaces: nics } } });
  if (response.status !== 200) throw new Error(`patching Server ${name} status: ${response.status} ${response.text}`);
}

async function sbcInState(namespace: string, name: string, state: string): Promise<KubeObjectView> {
  return eventually(async () => {
    const object = await get(sbcPath(namespace, name));
    return object?.status?.state === state ? object : undefined;
  }, `ServerBootConfiguration ${namespace}/${name} ${state}`);
}

function condition(object: KubeObjectView, type: string): Condition | undefined {
  return object.status?.conditions?.find((c) => c.type === type);
}

async function childOf(namespace: string, kind: "ipxebootconfigs" | "httpbootconfigs", name: string): Promise<KubeObjectView> {
  return eventually(() => get(childPath(namespace, kind, name)), `${kind} ${namespace}/${name}`);
}

/** The translator's arguments, as a Deployment would pass them with --translator-modes ipxe,httpboot. */
function translatorArgs(kubeconfig: string, namespaceArgs: string[], credentialsNamespace: string): string[] {
  return [
    "--source",
    "kube",
    "--kubeconfig",
    kubeconfig,
    ...namespaceArgs,
    "--leader-elect",
    "--translator-modes",
    "ipxe,httpboot",
    "--allowed-registries",
    registry.host,
    "--insecure-registries",
    registry.host,
    "--registry-credentials-secret",
    `${credentialsNamespace}/${pullSecretName}`,
    // Re-read every second, so the periodic get on that Secret happens (and would be refused) during the test.
    "--registry-credentials-refresh",
    "1",
    "--public-url",
    "http://boot.test:8082",
  ];
}

beforeAll(async () => {
  await ensureFreshBinary();
  workDir = await mkdtemp(join(tmpdir(), "boot-operator-rbac-translator-"));
  // Side by side: neither needs the other until the appliance starts.
  await Promise.all([
    (async () => {
      registry = await RegistryHarness.start({ tokenAuth: {} });
      // Private repositories: only the reader's credentials from the pull Secret can resolve them.
      images.full = await pushOciIndexImage(registry, `${PRIVATE_PREFIX}full`, "1.0");
      images.pxe = await pushPxeOnlyImage(registry, `${PRIVATE_PREFIX}pxe`, "1.0");
    })(),
    (async () => {
      const previousBinDir = process.env.BOOT_OPERATOR_CONTROLPLANE_BIN_DIR;
      process.env.BOOT_OPERATOR_CONTROLPLANE_BIN_DIR = await binDirWithOwnerReferenceEnforcement();
      try {
        // CRDs before the controller manager starts, so the garbage collector knows them at once.
        cp = await startControlPlane({
          withControllerManager: true,
          crdPaths: [...BOOT_CRD_PATHS, ...METAL_CRD_PATHS],
        });
      } finally {
        if (previousBinDir === undefined) delete process.env.BOOT_OPERATOR_CONTROLPLANE_BIN_DIR;
        else process.env.BOOT_OPERATOR_CONTROLPLANE_BIN_DIR = previousBinDir;
      }
    })(),
  ]);
  const credentialsRole = (await renderKustomization(join(REPO_ROOT, "manifests/rbac/registry-credentials"))).find((manifest) => manifest.kind === "Role");
  const resourceNames = (credentialsRole?.rules as { resourceNames?: string[] }[] | undefined)?.[0]?.resourceNames;
  const [secretName, ...otherNames] = resourceNames ?? [];
  if (secretName === undefined || otherNames.length > 0) throw new Error("manifests/rbac/registry-credentials must hold a Role for exactly one Secret");
  pullSecretName = secretName;
  const serviceAccountObject = (await renderKustomization(join(REPO_ROOT, "manifests/rbac"))).find((manifest) => manifest.kind === "ServiceAccount");
  if (!serviceAccountObject) throw new Error("manifests/rbac holds no ServiceAccount");
  serviceAccount = serviceAccountObject.metadata.name;
  for (const name of [NS, CLUSTER_NS, OTHER_NS]) await cp.requestOk("POST", "/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name } });
  await cp.applyObjects(
    Object.keys(SERVERS).map((name) => ({
      apiVersion: "metal.ironcore.dev/v1alpha1",
      kind: "Server",
      metadata: { name },
      spec: { systemUUID: SERVERS[name as ServerName] },
    })),
  );
  await setServerNics("server-1", ["10.1.0.1"]);
  await setServerNics("server-2", ["10.1.0.2"]);
  await setServerNics("server-3", ["10.1.0.3"]);
}, 180_000);

afterAll(async () => {
  await cp?.stop();
  await registry?.stop();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

describe("namespace-scoped install + rbac/translator + rbac/registry-credentials: the binary on the ServiceAccount's token alone", () => {
  const POD_NAME = "boot-operator-7c9d5-tr4ns";
  let token: string;
  let app: Appliance;
  let forbiddenBefore: number;

  beforeAll(async () => {
    const rbac = await renderRbac(NS, ["../rbac", "../rbac/namespaced", "../rbac/translator", "../rbac/translator/namespaced", "../rbac/registry-credentials"]);
    expect(rbac.map((manifest) => `${manifest.kind}/${manifest.metadata.name}`).sort()).toEqual([
      "ClusterRole/boot-operator-translator",
      "ClusterRole/boot-operator-translator-servers",
      "ClusterRoleBinding/boot-operator-translator-servers",
      "Role/boot-operator",
      "Role/boot-operator-leader-election",
      "Role/boot-operator-registry-credentials",
      "RoleBinding/boot-operator",
      "RoleBinding/boot-operator-leader-election",
      "RoleBinding/boot-operator-registry-credentials",
      "RoleBinding/boot-operator-translator",
      "ServiceAccount/boot-operator",
    ]);
    await applyStrict(rbac);
    await cp.applyObjects([
      pullSecret(NS),
      ignitionSecret(NS),
      secret(NS, "unrelated", { password: "not for boot-operator" }),
      pullSecret(OTHER_NS), // the same name elsewhere: the Role must not reach it
      ignitionSecret(OTHER_NS),
    ]);
    token = await requestToken(NS, serviceAccount);
    const kubeconfig = await tokenKubeconfig(token, "namespaced.kubeconfig");
    forbiddenBefore = await forbiddenResponsesServed();
    app = await startAppliance(translatorArgs(kubeconfig, ["--namespace", NS], NS), { env: { POD_NAME } });
    await app.waitReady(30_000);
    await app.waitForLog((line) => line.msg === "became leader", 20_000);
  }, 90_000);

  afterAll(async () => {
    await app?.stop();
  });

  test("loads the pull credentials: get on exactly that Secret", async () => {
    const loaded = await app.waitForLog((line) => line.msg === "registry credentials loaded", 10_000);
    expect(loaded.secret).toBe(`${NS}/${pullSecretName}`);
    expect(loaded.registries).toEqual([registry.host]);
  });

  test("a private image: both children server-side applied by the translator, owned by the SBC with blockOwnerDeletion", async () => {
    await cp.applyObjects([sbc(NS, "workload", "server-1", images.full.reference)]);
    const owner = await eventually(() => get(sbcPath(NS, "workload")), "the SBC");
    for (const kind of ["ipxebootconfigs", "httpbootconfigs"] as const) {
      const child = await childOf(NS, kind, "workload");
      expect(child.metadata.ownerReferences).toEqual([
        {
          apiVersion: "metal.ironcore.dev/v1alpha1",
          kind: "ServerBootConfiguration",
          name: "workload",
          uid: owner.metadata.uid,
          controller: true,
          blockOwnerDeletion: true,
        },
      ]);
      // Created by apply (create + patch), not by anyone else.
      expect(child.metadata.managedFields?.some((field) => field.manager === TRANSLATOR_MANAGER && field.operation === "Apply" && !field.subresource)).toBe(
        true,
      );
    }
    const ipxe = await childOf(NS, "ipxebootconfigs", "workload");
    expect(ipxe.spec).toMatchObject({ systemUUID: SERVERS["server-1"], systemIPs: ["10.1.0.1"], ignitionSecretRef: { name: "ignition" } });
  });

  test("the SBC's status is written (Ready) through /status, by the translator", async () => {
    const ready = await sbcInState(NS, "workload", "Ready");
    expect(condition(ready, "ImageValidation")?.status).toBe("True");
    expect(condition(ready, "IPXEBootReady")?.status).toBe("True");
    expect(condition(ready, "HTTPBootReady")?.status).toBe("True");
    expect(ready.metadata.managedFields?.some((field) => field.manager === TRANSLATOR_MANAGER && field.subresource === "status")).toBe(true);
  });

  test("a Server change (Servers watched cluster-wide) patches the existing children", async () => {
    await setServerNics("server-1", ["10.1.0.1", "10.9.0.1"]);
    await eventually(async () => {
      const ipxe = await get(childPath(NS, "ipxebootconfigs", "workload"));
      return JSON.stringify(ipxe?.spec?.systemIPs) === JSON.stringify(["10.1.0.1", "10.9.0.1"]);
    }, "systemIPs updated with the new NIC");
  });

  test("an image without a UKI: the translator itself deletes the HTTPBootConfig (the SBC still exists)", async () => {
    await cp.applyObjects([sbc(NS, "switch", "server-2", images.full.reference)]);
    await childOf(NS, "httpbootconfigs", "switch");
    await sbcInState(NS, "switch", "Ready");
    await cp.requestOk("PATCH", sbcPath(NS, "switch"), { spec: { image: images.pxe.reference } });
    await eventually(async () => (await get(childPath(NS, "httpbootconfigs", "switch"))) === undefined, "HTTPBootConfig switch deleted");
    const settled = await eventually(async () => {
      const object = await get(sbcPath(NS, "switch"));
      return object && object.status?.state === "Ready" && condition(object, "HTTPBootReady")?.reason === "NotApplicable" ? object : undefined;
    }, "switch Ready with HTTPBootReady NotApplicable");
    expect(condition(settled, "IPXEBootReady")?.status).toBe("True");
    expect(await get(childPath(NS, "ipxebootconfigs", "switch"))).toBeDefined();
  });

  test("deleting the SBC garbage-collects its children", async () => {
    await cp.requestOk("DELETE", sbcPath(NS, "workload"));
    await eventually(
      async () =>
        (await get(childPath(NS, "ipxebootconfigs", "workload"))) === undefined && (await get(childPath(NS, "httpbootconfigs", "workload"))) === undefined,
      "children of workload gone",
      60_000,
    );
  }, 90_000);

  test("was never refused anything: no 403 in its logs, none served by the API server", async () => {
    await nextLeaseRenewal(cp, NS);
    expect(forbiddenInLogs(app)).toEqual([]);
    expect(app.logs.filter((line) => line.level === "error" || line.msg.includes("failed"))).toEqual([]);
    expect(await forbiddenResponsesServed()).toBe(forbiddenBefore);
  });

  test("positive control: the token reads the pull Secret, lists Servers and SBCs in its namespace", async () => {
    expect((await call("GET", `/api/v1/namespaces/${NS}/secrets/${pullSecretName}`, { token })).status).toBe(200);
    expect((await call("GET", `${METAL}/servers`, { token })).status).toBe(200);
    expect((await call("GET", `${METAL}/namespaces/${NS}/serverbootconfigurations`, { token })).status).toBe(200);
  });

  // Least privilege: everything below is refused for the very token the binary ran with.
  const applyStatus = (namespace: string) => ({
    apiVersion: "metal.ironcore.dev/v1alpha1",
    kind: "ServerBootConfiguration",
    metadata: { name: "switch", namespace },
    status: { state: "Ready" },
  });
  const refused: [string, HttpMethod, () => string, (() => unknown)?, string?][] = [
    ["patch an SBC's spec", "PATCH", () => sbcPath(NS, "switch"), () => ({ spec: { image: "evil.example/os:1" } })],
    ["replace (update) an SBC", "PUT", () => sbcPath(NS, "switch"), () => sbc(NS, "switch", "server-2", "evil.example/os:1")],
    ["get an SBC by name (list/watch only)", "GET", () => sbcPath(NS, "switch")],
    ["create an SBC", "POST", () => `${METAL}/namespaces/${NS}/serverbootconfigurations`, () => sbc(NS, "new", "server-3", images.full.reference)],
    ["delete an SBC", "DELETE", () => sbcPath(NS, "switch")],
    ["list SBCs in another namespace", "GET", () => `${METAL}/namespaces/${OTHER_NS}/serverbootconfigurations`],
    ["list SBCs cluster-wide", "GET", () => `${METAL}/serverbootconfigurations`],
    [
      "replace (update) an SBC's status (apply only)",
      "PUT",
      () => `${sbcPath(NS, "switch")}/status`,
      () => sbc(NS, "switch", "server-2", images.pxe.reference),
    ],
    [
      "apply an SBC's status in another namespace",
      "PATCH",
      () => `${sbcPath(OTHER_NS, "switch")}/status?fieldManager=${TRANSLATOR_MANAGER}`,
      () => applyStatus(OTHER_NS),
      "application/apply-patch+yaml",
    ],
    ["get a Server by name (list/watch only)", "GET", () => `${METAL}/servers/server-1`],
    ["create a Server", "POST", () => `${METAL}/servers`, () => ({ apiVersion: "metal.ironcore.dev/v1alpha1", kind: "Server", metadata: { name: "rogue" } })],
    ["delete a Server", "DELETE", () => `${METAL}/servers/server-1`],
    ["patch a Server's spec", "PATCH", () => `${METAL}/servers/server-1`, () => ({ spec: { systemUUID: "00000000-0000-0000-0000-000000000000" } })],
    [
      "update a Server's status",
      "PUT",
      () => `${METAL}/servers/server-1/status`,
      () => ({ apiVersion: "metal.ironcore.dev/v1alpha1", kind: "Server", metadata: { name: "server-1" }, status: {} }),
    ],
    ["patch a Server's status", "PATCH", () => `${METAL}/servers/server-1/status`, () => ({ status: { networkInterfaces: [] } })],
    [
      "create an IPXEBootConfig in another namespace",
      "POST",
      () => `${BOOT}/namespaces/${OTHER_NS}/ipxebootconfigs`,
      () => ({ apiVersion: "boot.ironcore.dev/v1alpha1", kind: "IPXEBootConfig", metadata: { name: "x" }, spec: {} }),
    ],
    ["delete an HTTPBootConfig in another namespace", "DELETE", () => childPath(OTHER_NS, "httpbootconfigs", "any")],
    [
      "replace (update) an IPXEBootConfig (create/patch/delete only)",
      "PUT",
      () => childPath(NS, "ipxebootconfigs", "switch"),
      () => ({ apiVersion: "boot.ironcore.dev/v1alpha1", kind: "IPXEBootConfig", metadata: { name: "switch" }, spec: {} }),
    ],
    ["get an IPXEBootConfig by name", "GET", () => childPath(NS, "ipxebootconfigs", "switch")],
    ["read another Secret by name", "GET", () => `/api/v1/namespaces/${NS}/secrets/unrelated`],
    ["read the pull Secret's namesake in another namespace", "GET", () => `/api/v1/namespaces/${OTHER_NS}/secrets/${pullSecretName}`],
    ["update the pull Secret", "PUT", () => `/api/v1/namespaces/${NS}/secrets/${pullSecretName}`, () => pullSecret(NS)],
    ["delete the pull Secret", "DELETE", () => `/api/v1/namespaces/${NS}/secrets/${pullSecretName}`],
    ["list Secrets in another namespace", "GET", () => `/api/v1/namespaces/${OTHER_NS}/secrets`],
    ["change its own ClusterRole", "PATCH", () => "/apis/rbac.authorization.k8s.io/v1/clusterroles/boot-operator-translator", () => ({ rules: [] })],
  ];
  for (const [what, method, path, body, contentType] of refused) {
    test(`refused: ${what}`, async () => {
      const response = await call(method, path(), { token, ...(body ? { body: body() } : {}), ...(contentType ? { contentType } : {}) });
      expect(response.status, response.text).toBe(403);
      expect(response.text).toContain(`system:serviceaccount:${NS}:${serviceAccount}`);
    });
  }

  test("blockOwnerDeletion is enforced here: allowed towards an SBC (finalizers rule), refused towards a Server", async () => {
    const owner = await getExisting(sbcPath(NS, "switch"));
    const server = await getExisting(`${METAL}/servers/server-3`);
    const child = (ownerReference: OwnerReference) => ({
      apiVersion: "boot.ironcore.dev/v1alpha1",
      kind: "IPXEBootConfig",
      metadata: { name: "owned-probe", ownerReferences: [ownerReference] },
      spec: { systemUUID: SERVERS["server-3"], kernelURL: "http://boot.test/k", initrdURL: "http://boot.test/i" },
    });
    const create = (body: unknown) => call("POST", `${BOOT}/namespaces/${NS}/ipxebootconfigs?dryRun=All`, { token, body });
    const towardsSbc = await create(
      child({
        apiVersion: "metal.ironcore.dev/v1alpha1",
        kind: "ServerBootConfiguration",
        name: "switch",
        uid: owner.metadata.uid,
        controller: true,
        blockOwnerDeletion: true,
      }),
    );
    expect(towardsSbc.status, towardsSbc.text).toBe(201);
    const towardsServer = await create(
      child({ apiVersion: "metal.ironcore.dev/v1alpha1", kind: "Server", name: "server-3", uid: server.metadata.uid, blockOwnerDeletion: true }),
    );
    expect(towardsServer.status, towardsServer.text).toBe(403);
    expect(towardsServer.text).toContain("cannot set blockOwnerDeletion if an ownerReference refers to a resource you can't set finalizers on");
  });

  test("on shutdown it releases the Lease without being refused", async () => {
    expect(await app.stop()).toBe(0);
    const lease = (await cp.requestOk("GET", `/apis/coordination.k8s.io/v1/namespaces/${NS}/leases/boot-operator-leader`)) as Lease;
    expect(lease.spec.holderIdentity ?? "").toBe("");
    expect(forbiddenInLogs(app)).toEqual([]);
  });
});

describe("cluster-wide install + rbac/translator/cluster-wide: SBCs in any namespace", () => {
  const POD_NAME = "boot-operator-cluster-tr4ns";
  let token: string;
  let app: Appliance;
  let forbiddenBefore: number;

  beforeAll(async () => {
    // The cluster-scoped objects of rbac/translator have the same names as in the first install: applied again, they
    // now bind this install's ServiceAccount (its binary has stopped).
    const rbac = await renderRbac(CLUSTER_NS, [
      "../rbac",
      "../rbac/cluster-wide",
      "../rbac/translator",
      "../rbac/translator/cluster-wide",
      "../rbac/registry-credentials",
    ]);
    expect(
      rbac
        .filter((manifest) => manifest.kind === "ClusterRoleBinding")
        .map((manifest) => manifest.metadata.name)
        .sort(),
    ).toEqual(["boot-operator", "boot-operator-translator", "boot-operator-translator-servers"]);
    await applyStrict(rbac);
    await cp.applyObjects([pullSecret(CLUSTER_NS), sbc(OTHER_NS, "tenant", "server-3", images.full.reference)]);
    token = await requestToken(CLUSTER_NS, serviceAccount);
    const kubeconfig = await tokenKubeconfig(token, "cluster-wide.kubeconfig");
    forbiddenBefore = await forbiddenResponsesServed();
    app = await startAppliance(translatorArgs(kubeconfig, ["--leader-election-namespace", CLUSTER_NS], CLUSTER_NS), { env: { POD_NAME } });
    await app.waitReady(30_000);
    await app.waitForLog((line) => line.msg === "became leader", 20_000);
  }, 90_000);

  afterAll(async () => {
    await app?.stop();
  });

  test("translates an SBC in another namespace with a private image, to Ready, never refused", async () => {
    const owner = await eventually(() => get(sbcPath(OTHER_NS, "tenant")), "the tenant SBC");
    for (const kind of ["ipxebootconfigs", "httpbootconfigs"] as const) {
      const child = await childOf(OTHER_NS, kind, "tenant");
      expect(child.metadata.ownerReferences?.[0]).toMatchObject({ uid: owner.metadata.uid, controller: true, blockOwnerDeletion: true });
    }
    await sbcInState(OTHER_NS, "tenant", "Ready");
    // The namespaced install's SBC is in scope too now.
    await eventually(async () => condition(await getExisting(sbcPath(NS, "switch")), "IPXEBootReady")?.status === "True", "switch still Ready");
    await cp.requestOk("DELETE", sbcPath(OTHER_NS, "tenant"));
    await eventually(
      async () =>
        (await get(childPath(OTHER_NS, "ipxebootconfigs", "tenant"))) === undefined &&
        (await get(childPath(OTHER_NS, "httpbootconfigs", "tenant"))) === undefined,
      "tenant children gone",
      60_000,
    );
    expect(forbiddenInLogs(app)).toEqual([]);
    expect(await forbiddenResponsesServed()).toBe(forbiddenBefore);
  }, 120_000);

  test.each([
    ["patch an SBC's spec", "PATCH" as HttpMethod, () => sbcPath(NS, "switch")],
    ["delete a Server", "DELETE" as HttpMethod, () => `${METAL}/servers/server-1`],
    ["read the pull Secret's namesake in another namespace", "GET" as HttpMethod, () => `/api/v1/namespaces/${NS}/secrets/${pullSecretName}`],
    ["create an SBC", "POST" as HttpMethod, () => `${METAL}/namespaces/${OTHER_NS}/serverbootconfigurations`],
  ])("still refused: %s", async (_what, method, path) => {
    const response = await call(method, path(), {
      token,
      ...(method === "GET" || method === "DELETE" ? {} : { body: { spec: { image: "evil.example/os:1" } } }),
    });
    expect(response.status, response.text).toBe(403);
  });
});
