// The Helm chart and the kustomize installs are accepted by a real API server: every rendered object is sent with
// dryRun=All and fieldValidation=Strict (a misspelt field, a wrong apiVersion or an invalid CRD schema is an
// error), and `helm install --dry-run=server` checks the chart against the server's version and capabilities.
// The ServiceMonitor and PrometheusRule options are left out: their CRDs belong to the Prometheus Operator
// (test/packaging/helm.test.ts checks what they render).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { type KubeManifest, REPO_ROOT } from "../../scripts/generate-manifests.ts";
import { type ControlPlane, startControlPlane } from "../harness/controlplane.ts";
import { CHART_DIR, helmBinary, helmTemplate, kustomizeBuild, objectKey, runTool } from "../harness/packaging.ts";

const NAMESPACE = "boot-system";
let controlPlane: ControlPlane;

beforeAll(async () => {
  controlPlane = await startControlPlane();
  // Dry runs persist nothing, so the namespaced objects need a namespace that really exists.
  await controlPlane.requestOk("POST", "/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: NAMESPACE } });
}, 120_000);
afterAll(async () => {
  await controlPlane?.stop();
});

interface ApiResource {
  name: string;
  kind: string;
  namespaced: boolean;
}
const discovery = new Map<string, ApiResource[]>();

/** Collection path of an object through API discovery, so an apiVersion/kind the server does not serve fails. */
async function collectionPath(manifest: KubeManifest): Promise<string> {
  const base = manifest.apiVersion.includes("/") ? `/apis/${manifest.apiVersion}` : `/api/${manifest.apiVersion}`;
  let resources = discovery.get(base);
  if (!resources) {
    resources = ((await controlPlane.requestOk("GET", base)) as { resources: ApiResource[] }).resources;
    discovery.set(base, resources);
  }
  const resource = resources.find((candidate) => candidate.kind === manifest.kind && !candidate.name.includes("/"));
  if (!resource) throw new Error(`the API server does not serve ${manifest.kind} in ${manifest.apiVersion}`);
  if (resource.namespaced && manifest.metadata.namespace !== NAMESPACE) throw new Error(`${objectKey(manifest)} is not in ${NAMESPACE}`);
  return resource.namespaced ? `${base}/namespaces/${NAMESPACE}/${resource.name}` : `${base}/${resource.name}`;
}

/** The objects the server refused (with its reason); the Namespace exists already and is skipped. */
async function dryRunRefusals(manifests: readonly KubeManifest[]): Promise<string[]> {
  const refusals: string[] = [];
  for (const manifest of manifests) {
    if (manifest.kind === "Namespace") continue;
    const path = `${await collectionPath(manifest)}?dryRun=All&fieldValidation=Strict`;
    const response = await controlPlane.request("POST", path, manifest);
    if (response.status !== 201) refusals.push(`${objectKey(manifest)}: ${response.status} ${response.text.slice(0, 500)}`);
  }
  return refusals;
}

const CHART_RENDERS: Record<string, Record<string, string>> = {
  "default values": {},
  "cluster scope, translator, registry credentials, TLS, metrics listener, dashboard, namespace": {
    scope: "cluster",
    "translator.enabled": "true",
    "registryCredentials.secretName": "pull-secret",
    "tls.enabled": "true",
    "metrics.listen": ":8080",
    "metrics.grafanaDashboard.enabled": "true",
    "namespace.create": "true",
    publicURL: "http://10.0.0.5:8082",
  },
};

describe("server-side dry run", () => {
  for (const [name, values] of Object.entries(CHART_RENDERS)) {
    test(`helm template (${name}): every object accepted`, async () => {
      const rendered = await helmTemplate(values, ["--namespace", NAMESPACE, "--include-crds"]);
      expect(rendered.map((manifest) => manifest.kind)).toContain("CustomResourceDefinition");
      expect(await dryRunRefusals(rendered)).toEqual([]);
    });
  }

  for (const install of ["default", "cluster-wide"]) {
    test(`kustomize build manifests/${install}: every object accepted`, async () => {
      expect(await dryRunRefusals(await kustomizeBuild(join(REPO_ROOT, "manifests", install)))).toEqual([]);
    });
  }

  test("a misspelt field is refused (the dry run validates strictly)", async () => {
    const [serviceAccount] = (await helmTemplate({}, ["--namespace", NAMESPACE])).filter((manifest) => manifest.kind === "ServiceAccount");
    if (!serviceAccount) throw new Error("the chart renders no ServiceAccount");
    const refusals = await dryRunRefusals([{ ...serviceAccount, automountServiceAccountTokn: false }]);
    expect(refusals).toHaveLength(1);
    expect(refusals[0]).toContain("automountServiceAccountTokn");
  });

  test("helm install --dry-run=server: the chart's kubeVersion and templates against the live server", async () => {
    const installed = await runTool([
      await helmBinary(),
      "install",
      "boot-operator",
      CHART_DIR,
      "--namespace",
      NAMESPACE,
      "--dry-run=server",
      "--kubeconfig",
      controlPlane.kubeconfigPath,
    ]);
    expect(installed.code, installed.stderr).toBe(0);
    expect(installed.stdout).toContain("STATUS: pending-install");
    expect(installed.stdout).toContain("kind: Deployment");
  });
});
