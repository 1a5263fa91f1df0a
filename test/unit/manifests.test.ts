// Committed manifests stay in step with the code: generated files are current, and the deployment manifests agree
// with the binary's flags, ports and Kubernetes behaviour (what test/kube/rbac.test.ts proves on a real API server).
import { describe, expect, test } from "bun:test";
import { cp, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse, parseAllDocuments } from "yaml";
import { type KubeManifest, REPO_ROOT, readKustomization, renderKustomization, staleManifests } from "../../scripts/generate-manifests.ts";
import { envName, FLAGS } from "../../src/cli/flags.ts";
import { defined } from "../harness/defined.ts";

interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}
interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { fieldRef?: { fieldPath: string } } | null;
}
interface Probe {
  httpGet: { path: string; port: string | number };
}
interface Container {
  name: string;
  image: string;
  args: string[];
  env: EnvVar[];
  ports: { name: string; containerPort: number; protocol: string }[];
  livenessProbe: Probe;
  readinessProbe: Probe;
  resources: { requests: Record<string, string>; limits: Record<string, string> };
  securityContext: Record<string, unknown>;
}
interface PodSpec {
  serviceAccountName: string;
  terminationGracePeriodSeconds: number;
  securityContext: Record<string, unknown>;
  containers: Container[];
}

async function installObjects(): Promise<KubeManifest[]> {
  const text = await Bun.file(join(REPO_ROOT, "dist/install.yaml")).text();
  return parseAllDocuments(text).map((document) => document.toJS() as KubeManifest);
}

function find(manifests: readonly KubeManifest[], kind: string, name: string): KubeManifest {
  const found = manifests.find((manifest) => manifest.kind === kind && manifest.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name}`);
  return found;
}

function rulesOf(manifest: KubeManifest): string[] {
  // One string per apiGroup/resource/verb/name, so rule grouping does not matter, only what is granted.
  const grants: string[] = [];
  for (const rule of manifest.rules as PolicyRule[]) {
    for (const group of rule.apiGroups) {
      for (const resource of rule.resources) {
        for (const verb of rule.verbs) {
          for (const name of rule.resourceNames ?? ["*"]) grants.push(`${group || "core"}/${resource} ${verb} ${name}`);
        }
      }
    }
  }
  return grants.sort();
}

function podSpec(manifests: readonly KubeManifest[]): PodSpec {
  return (find(manifests, "Deployment", "boot-operator").spec as { template: { spec: PodSpec } }).template.spec;
}

function container(manifests: readonly KubeManifest[]): Container {
  const found = podSpec(manifests).containers.find((candidate) => candidate.name === "boot-operator");
  if (!found) throw new Error("no container boot-operator");
  return found;
}

function memoryMiB(quantity: string): number {
  const match = /^(\d+)(Mi|Gi)$/.exec(quantity);
  if (!match) throw new Error(`unexpected memory quantity ${quantity}`);
  return Number(match[1]) * (match[2] === "Gi" ? 1024 : 1);
}

/** The binary's API-server footprint: exactly these grants, in the watched namespace(s). */
const WATCH_GRANTS = [
  "boot.ironcore.dev/httpbootconfigs list *",
  "boot.ironcore.dev/httpbootconfigs watch *",
  "boot.ironcore.dev/httpbootconfigs/status patch *",
  "boot.ironcore.dev/ipxebootconfigs list *",
  "boot.ironcore.dev/ipxebootconfigs watch *",
  "boot.ironcore.dev/ipxebootconfigs/status patch *",
  "core/events create *",
  "core/secrets list *",
  "core/secrets watch *",
];

describe("generated files", () => {
  test("manifests/crds and dist/install.yaml are what scripts/generate-manifests.ts renders now", async () => {
    const stale = await staleManifests();
    expect(stale, 'run "bun scripts/generate-manifests.ts"').toEqual([]);
  });

  test("the check notices a hand-edited install.yaml, a changed kustomization and a leftover CRD", async () => {
    const copy = await mkdtemp(join(tmpdir(), "boot-operator-manifests-"));
    try {
      await cp(join(REPO_ROOT, "manifests"), join(copy, "manifests"), { recursive: true });
      await cp(join(REPO_ROOT, "dist/install.yaml"), join(copy, "dist/install.yaml"));
      expect(await staleManifests(copy)).toEqual([]);
      await writeFile(join(copy, "dist/install.yaml"), (await Bun.file(join(copy, "dist/install.yaml")).text()).replace("replicas: 2", "replicas: 3"));
      expect(await staleManifests(copy)).toEqual(["dist/install.yaml"]);
      await cp(join(REPO_ROOT, "dist/install.yaml"), join(copy, "dist/install.yaml"));
      await writeFile(
        join(copy, "manifests/default/kustomization.yaml"),
        (await Bun.file(join(copy, "manifests/default/kustomization.yaml")).text()).replace("namespace: boot-system", "namespace: elsewhere"),
      );
      await writeFile(join(copy, "manifests/crds/oldkinds.yaml"), "{}\n");
      expect(await staleManifests(copy)).toEqual(["dist/install.yaml", "manifests/crds/oldkinds.yaml"]);
    } finally {
      await rm(copy, { recursive: true, force: true });
    }
  });

  test("the CRD kustomization lists every generated CRD file", async () => {
    const crdFiles = (await readdir(join(REPO_ROOT, "manifests/crds"))).filter((name) => name !== "kustomization.yaml").sort();
    const kustomization = await readKustomization(join(REPO_ROOT, "manifests/crds"), async (path) => Bun.file(path).text());
    expect([...(kustomization.resources ?? [])].sort()).toEqual(crdFiles);
  });

  test("install.yaml: namespace, CRDs and RBAC before the Deployment; every namespaced object in the namespace", async () => {
    const manifests = await installObjects();
    const kinds = manifests.map((manifest) => manifest.kind);
    expect(kinds[0]).toBe("Namespace");
    expect(kinds.lastIndexOf("CustomResourceDefinition")).toBeLessThan(kinds.indexOf("ServiceAccount"));
    expect(kinds.lastIndexOf("RoleBinding")).toBeLessThan(kinds.indexOf("Deployment"));
    const namespace = defined(manifests[0], "the Namespace manifest").metadata.name;
    for (const manifest of manifests) {
      if (["Namespace", "CustomResourceDefinition"].includes(manifest.kind)) expect(manifest.metadata.namespace).toBeUndefined();
      else expect(manifest.metadata.namespace, `${manifest.kind} ${manifest.metadata.name}`).toBe(namespace);
    }
    for (const binding of manifests.filter((manifest) => manifest.kind === "RoleBinding")) {
      expect(binding.subjects).toEqual([{ kind: "ServiceAccount", name: "boot-operator", namespace }]);
    }
  });
});

describe("RBAC: exactly what the binary does", () => {
  test("namespace-scoped Role", async () => {
    expect(rulesOf(find(await installObjects(), "Role", "boot-operator"))).toEqual(WATCH_GRANTS);
  });

  test("cluster-wide ClusterRole grants the same, bound to the same ServiceAccount", async () => {
    const manifests = await renderKustomization(join(REPO_ROOT, "manifests/rbac/cluster-wide"), {
      kustomization: { namespace: "boot-system", resources: ["."] },
    });
    expect(rulesOf(find(manifests, "ClusterRole", "boot-operator"))).toEqual(WATCH_GRANTS);
    expect(find(manifests, "ClusterRoleBinding", "boot-operator").subjects).toEqual([
      { kind: "ServiceAccount", name: "boot-operator", namespace: "boot-system" },
    ]);
  });

  test("leader election: get/update only the boot-operator-leader Lease, create (cannot be limited by name)", async () => {
    expect(rulesOf(find(await installObjects(), "Role", "boot-operator-leader-election"))).toEqual([
      "coordination.k8s.io/leases create *",
      "coordination.k8s.io/leases get boot-operator-leader",
      "coordination.k8s.io/leases update boot-operator-leader",
    ]);
  });
});

function flagNamed(name: string): (typeof FLAGS)[number] {
  const found = FLAGS.find((flag) => flag.name === name);
  if (!found) throw new Error(`no flag --${name}`);
  return found;
}

describe("Deployment", () => {
  test("two replicas electing a leader, identity and namespace from the downward API", async () => {
    const manifests = await installObjects();
    const deployment = find(manifests, "Deployment", "boot-operator");
    expect((deployment.spec as { replicas: number }).replicas).toBe(2);
    const main = container(manifests);
    expect(main.args).toEqual(["--source=kube", "--leader-elect", "--ignition-access=bound", "--token-secret=boot-operator-token-keys"]);
    expect(main.env).toEqual([
      { name: "BOOT_OPERATOR_NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
      { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
    ]);
    expect(podSpec(manifests).serviceAccountName).toBe(find(manifests, "ServiceAccount", "boot-operator").metadata.name);
  });

  test("arguments and BOOT_OPERATOR_* variables are real serve flags", async () => {
    const main = container(await installObjects());
    const serveFlags = FLAGS.filter((flag) => flag.commands.includes("serve"));
    for (const arg of main.args) expect(serveFlags.map((flag) => flag.name)).toContain(arg.replace(/^--/, "").replace(/=.*$/s, ""));
    const flagEnv = main.env.map((variable) => variable.name).filter((name) => name.startsWith("BOOT_OPERATOR_"));
    for (const name of flagEnv) expect(serveFlags.map((flag) => envName(flag.name))).toContain(name);
  });

  test("probes and ports match the server: /healthz, /readyz on the boot port", async () => {
    const manifests = await installObjects();
    const main = container(manifests);
    const defaultListen = defined(flagNamed("listen").defaultValue, "a default for --listen");
    expect(main.ports).toEqual([
      { name: "http", containerPort: Number(defaultListen.split(":").at(-1)), protocol: "TCP" },
      { name: "https", containerPort: 8443, protocol: "TCP" },
    ]);
    expect(main.livenessProbe.httpGet).toEqual({ path: "/healthz", port: "http" });
    expect(main.readinessProbe.httpGet).toEqual({ path: "/readyz", port: "http" });
    const service = find(manifests, "Service", "boot-operator").spec as { selector: Record<string, string>; ports: { targetPort: string }[] };
    expect(service.ports.map((port) => port.targetPort)).toEqual(["http", "https"]);
    const podLabels = (find(manifests, "Deployment", "boot-operator").spec as { template: { metadata: { labels: Record<string, string> } } }).template.metadata
      .labels;
    expect(podLabels).toMatchObject(service.selector);
  });

  test("hardened: non-root, read-only root, no privilege escalation, no capabilities, RuntimeDefault seccomp", async () => {
    const manifests = await installObjects();
    expect(podSpec(manifests).securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } });
    expect(container(manifests).securityContext).toEqual({
      runAsNonRoot: true,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ["ALL"] },
      seccompProfile: { type: "RuntimeDefault" },
    });
  });

  test("resources cover the measured footprint; the grace period outlasts --shutdown-timeout", async () => {
    const manifests = await installObjects();
    const { requests, limits } = container(manifests).resources;
    expect(memoryMiB(defined(requests.memory, "a memory request"))).toBeGreaterThanOrEqual(64); // idle RSS ~55-64 MiB
    expect(memoryMiB(defined(limits.memory, "a memory limit"))).toBeGreaterThanOrEqual(384); // transient peaks ~350 MiB at 2000 configs
    expect(requests.cpu).toBeDefined();
    const shutdownTimeout = Number(flagNamed("shutdown-timeout").defaultValue);
    expect(podSpec(manifests).terminationGracePeriodSeconds).toBeGreaterThan(shutdownTimeout);
  });

  test("cluster-wide overlay = the default install with the ClusterRole and an empty BOOT_OPERATOR_NAMESPACE", async () => {
    const read = async (path: string): Promise<string> => Bun.file(path).text();
    const namespaced = await readKustomization(join(REPO_ROOT, "manifests/default"), read);
    const overlayText = await Bun.file(join(REPO_ROOT, "manifests/default/cluster-wide/kustomization.yaml")).text();
    const overlay = parse(overlayText) as { namespace: string; resources: string[]; patches: { target: { kind: string; name: string }; patch: string }[] };
    expect(overlay.namespace).toBe(defined(namespaced.namespace, "the default install's namespace"));
    const expectedResources = defined(namespaced.resources, "the default install's resources")
      .map((resource) => (resource === "../rbac/namespaced" ? "../rbac/cluster-wide" : resource))
      .map((resource) => (resource.startsWith("../") ? `../${resource}` : resource));
    expect(overlay.resources).toEqual(expectedResources);
    expect(overlay.patches).toHaveLength(1);
    const overlayPatch = defined(overlay.patches[0], "the overlay's patch");
    const patch = parse(overlayPatch.patch) as {
      kind: string;
      metadata: { name: string };
      spec: { template: { spec: { containers: { name: string; env: EnvVar[] }[] } } };
    };
    expect(overlayPatch.target).toEqual({ kind: "Deployment", name: "boot-operator" });
    expect(patch.spec.template.spec.containers).toEqual([{ name: "boot-operator", env: [{ name: "BOOT_OPERATOR_NAMESPACE", value: "", valueFrom: null }] }]);
    expect(await Bun.file(join(REPO_ROOT, "manifests/default/cluster-wide/namespace.yaml")).text()).toBe(
      await Bun.file(join(REPO_ROOT, "manifests/default/namespace.yaml")).text(),
    );
  });
});

describe("samples and image", () => {
  test("the samples kustomization applies every sample into the default install's namespace", async () => {
    const read = async (path: string): Promise<string> => Bun.file(path).text();
    const samples = await readKustomization(join(REPO_ROOT, "manifests/samples"), read);
    const files = (await readdir(join(REPO_ROOT, "manifests/samples"))).filter((name) => name.endsWith(".yaml") && name !== "kustomization.yaml").sort();
    expect([...(samples.resources ?? [])].sort()).toEqual(files);
    const defaultNamespace = (await readKustomization(join(REPO_ROOT, "manifests/default"), read)).namespace;
    expect(samples.namespace).toBe(defined(defaultNamespace, "the default install's namespace"));
    const rendered = await renderKustomization(join(REPO_ROOT, "manifests/samples"));
    expect(new Set(rendered.map((manifest) => manifest.metadata.namespace))).toEqual(new Set([samples.namespace]));
  });

  test("Dockerfile: the binary as entrypoint running serve, the container port, the pod's numeric non-root user", async () => {
    const dockerfile = await Bun.file(join(REPO_ROOT, "Dockerfile")).text();
    const manifests = await installObjects();
    const instruction = (name: string): string[] =>
      dockerfile
        .split("\n")
        .filter((line) => line.startsWith(`${name} `))
        .map((line) => line.slice(name.length + 1).trim());
    expect(instruction("ENTRYPOINT")).toEqual(['["/boot-operator", "serve"]']);
    expect(instruction("COPY")).toEqual(["dist/boot-operator /boot-operator", "--from=links /out/ /"]);
    // The Go operator's Deployments run /manager; the binary started under that name behaves as the Go manager.
    expect(instruction("RUN")).toEqual(["mkdir /out && ln -s /boot-operator /out/manager"]);
    expect(instruction("EXPOSE")).toEqual([String(defined(container(manifests).ports[0], "a container port").containerPort)]);
    const runAsUser = podSpec(manifests).securityContext.runAsUser;
    expect(instruction("USER")).toEqual([`${runAsUser}:${podSpec(manifests).securityContext.runAsGroup}`]);
    expect((await Bun.file(join(REPO_ROOT, ".dockerignore")).text()).split("\n")).toContain("!dist/boot-operator");
  });
});
