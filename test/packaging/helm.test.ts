// The Helm chart (chart/boot-operator) against the kustomize install it must agree with: `helm lint --strict`, and
// `helm template` rendering exactly the objects kustomize renders for the same choices (default values =
// manifests/default, scope=cluster = manifests/cluster-wide, translator, servicemonitor and tls-cert-manager = those
// components). Options and variants the kustomize install has no counterpart for are checked on their own.
// test/kube/helm-chart.test.ts sends the rendered objects to a real API server (dry run).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { parse } from "yaml";
import { type KubeManifest, REPO_ROOT } from "../../scripts/generate-manifests.ts";
import { envName, FLAGS } from "../../src/cli/flags.ts";
import { byKey, CHART_DIR, helmBinary, helmTemplate, kustomizeBuild, runTool } from "../harness/packaging.ts";

const NAMESPACE = "boot-system";

interface Container {
  name: string;
  image: string;
  args: string[];
  env: { name: string; value?: string; valueFrom?: { fieldRef: { fieldPath: string } } }[];
  ports: { name: string; containerPort: number; protocol: string }[];
}

function chartRender(values: Record<string, string> = {}): Promise<KubeManifest[]> {
  return helmTemplate(values, ["--namespace", NAMESPACE, "--include-crds"]);
}

function withoutNamespace(manifests: readonly KubeManifest[]): Map<string, KubeManifest> {
  const map = byKey(manifests);
  map.delete(`Namespace /${NAMESPACE}`);
  return map;
}

function find(manifests: readonly KubeManifest[], kind: string, name: string): KubeManifest {
  const found = manifests.find((manifest) => manifest.kind === kind && manifest.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name}`);
  return found;
}

function container(manifests: readonly KubeManifest[]): Container {
  const spec = find(manifests, "Deployment", "boot-operator").spec as { template: { spec: { containers: Container[] } } };
  const found = spec.template.spec.containers.find((candidate) => candidate.name === "boot-operator");
  if (!found) throw new Error("no container boot-operator");
  return found;
}

let overlays: string;

/** The kustomize install with a component, as a user's overlay would add it. */
async function kustomizeWith(install: "default" | "cluster-wide", component: string): Promise<KubeManifest[]> {
  const directory = await mkdtemp(join(overlays, `${install}-`));
  await Bun.write(
    join(directory, "kustomization.yaml"),
    [
      "apiVersion: kustomize.config.k8s.io/v1beta1",
      "kind: Kustomization",
      `namespace: ${NAMESPACE}`,
      "resources:",
      `  - ${relative(directory, join(REPO_ROOT, "manifests", install))}`, // kustomize refuses absolute bases
      "components:",
      `  - ${relative(directory, join(REPO_ROOT, "manifests/components", component))}`,
      "",
    ].join("\n"),
  );
  return kustomizeBuild(directory);
}

beforeAll(async () => {
  overlays = await mkdtemp(join(tmpdir(), "boot-operator-helm-"));
});
afterAll(async () => {
  await rm(overlays, { recursive: true, force: true });
});

describe("helm lint", () => {
  test("--strict passes with the default values and with every option on", async () => {
    const helm = await helmBinary();
    const everything = [
      "scope=cluster",
      "translator.enabled=true",
      "tls.enabled=true",
      "metrics.listen=:8080",
      "tls.certManager.enabled=true",
      "tls.certManager.issuerRef.name=boot-ca",
      "metrics.serviceMonitor.enabled=true",
      "metrics.prometheusRule.enabled=true",
      "metrics.grafanaDashboard.enabled=true",
      "registryCredentials.secretName=creds",
      "namespace.create=true",
      "publicURL=http://10.0.0.5:8082",
    ].flatMap((value) => ["--set", value]);
    for (const extra of [[], everything]) {
      const linted = await runTool([helm, "lint", "--strict", CHART_DIR, ...extra]);
      expect(linted.code, linted.stdout + linted.stderr).toBe(0);
      expect(linted.stdout).toContain("0 chart(s) failed");
    }
  });

  test("a wrong scope is an error that says what is allowed", async () => {
    const rendered = await runTool([await helmBinary(), "template", "boot-operator", CHART_DIR, "--set", "scope=everywhere"]);
    expect(rendered.code).not.toBe(0);
    expect(rendered.stderr).toContain('scope must be "namespace" or "cluster"');
  });
});

describe("helm template = kustomize build", () => {
  test("default values: the objects of manifests/default (its Namespace with namespace.create=true)", async () => {
    const kustomized = await kustomizeBuild(join(REPO_ROOT, "manifests/default"));
    expect(byKey(await chartRender())).toEqual(withoutNamespace(kustomized));
    expect(byKey(await chartRender({ "namespace.create": "true" }))).toEqual(byKey(kustomized));
  });

  test("scope=cluster: the objects of manifests/cluster-wide", async () => {
    const kustomized = await kustomizeBuild(join(REPO_ROOT, "manifests/cluster-wide"));
    expect(byKey(await chartRender({ scope: "cluster" }))).toEqual(withoutNamespace(kustomized));
  });

  test("translator.enabled: manifests/default + components/translator, cluster-wide + translator-cluster-wide", async () => {
    expect(byKey(await chartRender({ "translator.enabled": "true" }))).toEqual(withoutNamespace(await kustomizeWith("default", "translator")));
    expect(byKey(await chartRender({ "translator.enabled": "true", scope: "cluster" }))).toEqual(
      withoutNamespace(await kustomizeWith("cluster-wide", "translator-cluster-wide")),
    );
  });

  test("metrics.listen=:8080 + serviceMonitor, prometheusRule, grafanaDashboard: manifests/default + components/servicemonitor", async () => {
    // The chart's files/ copies of the rules and the dashboard must stay those of the component.
    const values = {
      "metrics.listen": ":8080",
      "metrics.serviceMonitor.enabled": "true",
      "metrics.prometheusRule.enabled": "true",
      "metrics.grafanaDashboard.enabled": "true",
    };
    expect(byKey(await chartRender(values))).toEqual(withoutNamespace(await kustomizeWith("default", "servicemonitor")));
  });

  test("tls.certManager (issuer, the component's address): manifests/default + components/tls-cert-manager", async () => {
    const values = { "tls.certManager.enabled": "true", "tls.certManager.issuerRef.name": "boot-ca", "tls.certManager.ipAddresses[0]": "10.0.0.5" };
    expect(byKey(await chartRender(values))).toEqual(withoutNamespace(await kustomizeWith("default", "tls-cert-manager")));
    const noIssuer = await runTool([await helmBinary(), "template", "boot-operator", CHART_DIR, "--set", "tls.certManager.enabled=true"]);
    expect(noIssuer.code).not.toBe(0);
    expect(noIssuer.stderr).toContain("tls.certManager.issuerRef.name is required");
  });

  test("the chart's appVersion is the package version, and the default image is the kustomize install's", async () => {
    const chart = parse(await Bun.file(join(CHART_DIR, "Chart.yaml")).text()) as { appVersion: string; version: string };
    const packageJson = (await Bun.file(join(REPO_ROOT, "package.json")).json()) as { version: string };
    expect(chart.appVersion).toBe(packageJson.version);
    expect(container(await chartRender()).image).toBe(`boot-operator:${packageJson.version}`);
    expect(container(await chartRender({ "image.repository": "registry.test/boot-operator", "image.digest": "sha256:abc" })).image).toBe(
      "registry.test/boot-operator@sha256:abc",
    );
  });
});

describe("options without a kustomize counterpart", () => {
  const serveFlagNames = new Set(FLAGS.filter((flag) => flag.commands.includes("serve")).map((flag) => flag.name));

  test("registryCredentials: the flag with the release namespace, and get on exactly that Secret", async () => {
    const rendered = await chartRender({ "registryCredentials.secretName": "pull-secret" });
    expect(serveFlagNames).toContain("registry-credentials-secret");
    expect(container(rendered).env).toContainEqual({ name: envName("registry-credentials-secret"), value: `${NAMESPACE}/pull-secret` });
    // The rule of manifests/rbac/registry-credentials, for the Secret named in the values.
    const kustomizedRole = find(await kustomizeBuild(join(REPO_ROOT, "manifests/rbac/registry-credentials")), "Role", "boot-operator-registry-credentials");
    const [kustomizedRule] = kustomizedRole.rules as Record<string, unknown>[];
    expect(find(rendered, "Role", "boot-operator-registry-credentials").rules).toEqual([{ ...kustomizedRule, resourceNames: ["pull-secret"] }]);
    expect(find(rendered, "RoleBinding", "boot-operator-registry-credentials").subjects).toEqual([
      { kind: "ServiceAccount", name: "boot-operator", namespace: NAMESPACE },
    ]);
  });

  test("tls: --tls-listen and --tls-secret NAMESPACE/NAME (the pod's), an https container and Service port", async () => {
    const rendered = await chartRender({ "tls.enabled": "true", "tls.secretName": "boot-tls" });
    const main = container(rendered);
    expect(main.args).toEqual([
      "--source=kube",
      "--leader-elect",
      "--ignition-access=bound",
      "--token-secret=boot-operator-token-keys",
      "--tls-listen=:8443",
      "--tls-secret=$(POD_NAMESPACE)/boot-tls",
    ]);
    expect(main.env).toContainEqual({ name: "POD_NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } });
    expect(main.ports).toContainEqual({ name: "https", containerPort: 8443, protocol: "TCP" });
    const service = find(rendered, "Service", "boot-operator").spec as { ports: { name: string; port: number; targetPort: string; protocol: string }[] };
    expect(service.ports).toContainEqual({ name: "https", port: 8443, targetPort: "https", protocol: "TCP" });
  });

  test("ignitionAccess=open drops --ignition-access and --token-secret; another value is an error", async () => {
    expect(serveFlagNames).toContain("ignition-access");
    expect(serveFlagNames).toContain("token-secret");
    expect(container(await chartRender({ ignitionAccess: "open" })).args).toEqual(["--source=kube", "--leader-elect"]);
    // Bound without a token Secret: a random key per pod.
    expect(container(await chartRender({ "tokenSecret.name": "" })).args).toEqual(["--source=kube", "--leader-elect", "--ignition-access=bound"]);
    const wrong = await runTool([await helmBinary(), "template", "boot-operator", CHART_DIR, "--set", "ignitionAccess=anyone"]);
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toContain('ignitionAccess must be "open" or "bound"');
  });

  test("metrics.listen + serviceMonitor: the listener flag, a metrics port, and a ServiceMonitor scraping it", async () => {
    const rendered = await chartRender({
      "metrics.listen": ":8080",
      "metrics.serviceMonitor.enabled": "true",
      "metrics.serviceMonitor.labels.release": "prom",
    });
    expect(serveFlagNames).toContain("metrics-listen");
    expect(container(rendered).env).toContainEqual({ name: envName("metrics-listen"), value: ":8080" });
    expect(container(rendered).ports).toContainEqual({ name: "metrics", containerPort: 8080, protocol: "TCP" });
    // On a Service of its own, not on the one machines reach.
    const bootService = find(rendered, "Service", "boot-operator").spec as { ports: { name: string }[] };
    expect(bootService.ports.map((port) => port.name)).toEqual(["http", "https"]);
    const monitor = find(rendered, "ServiceMonitor", "boot-operator");
    expect(monitor.metadata.labels).toEqual({ "app.kubernetes.io/name": "boot-operator", release: "prom" });
    expect(monitor.spec).toEqual({
      selector: { matchLabels: { "app.kubernetes.io/name": "boot-operator", "app.kubernetes.io/component": "metrics" } },
      endpoints: [{ port: "metrics", path: "/metrics", interval: "30s" }],
    });
    // Without its own listener, metrics are on the boot port.
    const onBootPort = find(await chartRender({ "metrics.serviceMonitor.enabled": "true" }), "ServiceMonitor", "boot-operator");
    expect((onBootPort.spec as { endpoints: { port: string }[] }).endpoints[0]?.port).toBe("http");
  });

  test("publicURL, extraArgs and extraEnv reach the container; off by default", async () => {
    const rendered = await chartRender({ publicURL: "http://10.0.0.5:8082", "extraArgs[0]": "--secret-label-selector=boot=true" });
    expect(container(rendered).env).toContainEqual({ name: envName("public-url"), value: "http://10.0.0.5:8082" });
    expect(container(rendered).args).toContain("--secret-label-selector=boot=true");
    expect(serveFlagNames).toContain("secret-label-selector");
  });
});
