// The monitoring manifests against the real tools and the real binary: promtool accepts the alert rules and their
// unit test passes (scripts/ensure/promtool.sh), every metric the rules and the dashboard name is one the binary
// declares (so a rename cannot silently break an alert), and the component renders with kustomize onto the
// default install. Kubernetes-only metrics are checked against a kube-mode binary in test/kube/metrics.test.ts too.
import { describe, expect, test } from "bun:test";
import { cp, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { createBootMetrics, createKubeMetrics } from "../../src/observability/metrics.ts";
import { REPO_ROOT, startAppliance } from "../harness/appliance.ts";
import { compareNames, declaredMetricNames, RULES_FILE, RULES_TEST_FILE, referencedMetricNames } from "../harness/metric-names.ts";

function promtool(args: string[]): { code: number; output: string } {
  const result = Bun.spawnSync(["promtool", ...args], { stdout: "pipe", stderr: "pipe" });
  return { code: result.exitCode, output: `${result.stdout.toString()}${result.stderr.toString()}` };
}

describe("alert rules (promtool)", () => {
  test("promtool check rules accepts them", () => {
    const { code, output } = promtool(["check", "rules", RULES_FILE]);
    expect(code, output).toBe(0);
  });

  test("promtool test rules: each alert fires on its series and stays quiet on healthy ones", () => {
    const { code, output } = promtool(["test", "rules", RULES_TEST_FILE]);
    expect(code, output).toBe(0);
  });

  test("the check can fail: a rule with a broken expression is refused", async () => {
    const directory = await mkdtemp(join(tmpdir(), "rules-"));
    try {
      const broken = join(directory, "broken.rules.yaml");
      await writeFile(broken, "groups:\n  - name: x\n    rules:\n      - alert: X\n        expr: sum by (namespace (boot_operator_leader)\n");
      expect(promtool(["check", "rules", broken]).code).not.toBe(0);
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });
});

/** What /metrics of a directory-mode binary declares (# TYPE lines), and the names only Kubernetes mode registers. */
async function declaredNames(): Promise<{ directory: Set<string>; kubeOnly: string[] }> {
  const app = await startAppliance([]);
  let text: string;
  try {
    await app.waitReady();
    text = await (await fetch(`${app.url}/metrics`)).text();
  } finally {
    await app.stop();
  }
  // Kubernetes-only metrics are declared by createKubeMetrics; a kube-mode binary's /metrics: test/kube/monitoring.test.ts.
  const kube = createBootMetrics();
  const before = new Set(kube.registry.names());
  createKubeMetrics(kube.registry);
  return { directory: declaredMetricNames(text), kubeOnly: kube.registry.names().filter((name) => !before.has(name)) };
}

describe("metric names in rules, dashboard and README", () => {
  test("every one the rules and the dashboard use is declared by the running binary (directory mode) or the Kubernetes mode's registry", async () => {
    const { directory, kubeOnly } = await declaredNames();
    const declared = new Set(directory);
    for (const name of kubeOnly) {
      expect(declared.has(name), `${name} is Kubernetes-only, but directory mode declares it`).toBe(false);
      declared.add(name);
      for (const suffix of ["_bucket", "_sum", "_count"]) declared.add(`${name}${suffix}`);
    }
    const referenced = await referencedMetricNames();
    expect(referenced.size).toBeGreaterThan(10);
    expect(compareNames(referenced, declared)).toEqual({ missing: [], landed: [] });
  });

  test("the README's metrics table lists every metric the binary declares", async () => {
    const { directory, kubeOnly } = await declaredNames();
    const readme = await Bun.file(join(REPO_ROOT, "README.md")).text();
    const section = readme.slice(readme.indexOf("## Monitoring"), readme.indexOf("\n## ", readme.indexOf("## Monitoring") + 1));
    const histogramSeries = /_(bucket|sum|count)$/;
    const names = [...directory].filter((name) => !histogramSeries.test(name) || !directory.has(name.replace(histogramSeries, "")));
    const unlisted = [...names, ...kubeOnly].filter((name) => !section.includes(`\`${name}\``));
    expect(unlisted).toEqual([]);
  });

  test("the comparison can fail: a renamed metric is reported with where it is used", () => {
    const referenced = new Map([["boot_operator_leader", ["rule BootOperatorNoLeader"]]]);
    expect(compareNames(referenced, new Set(["boot_operator_leader_total"])).missing).toEqual(["boot_operator_leader (rule BootOperatorNoLeader)"]);
  });
});

const kubectl = Bun.which("kubectl");

describe("kustomize", () => {
  // kubectl is not one of the test prerequisites (scripts/ensure); where it is installed, its kustomize renders.
  test.skipIf(!kubectl)("the component on the default install: metrics on :8080 only, scraped by the ServiceMonitor", async () => {
    const directory = await mkdtemp(join(tmpdir(), "kustomize-"));
    try {
      await cp(join(REPO_ROOT, "manifests"), join(directory, "manifests"), { recursive: true });
      await Bun.write(
        join(directory, "overlay/kustomization.yaml"),
        "namespace: boot-system\nresources: [../manifests/default]\ncomponents: [../manifests/components/servicemonitor]\n",
      );
      const rendered = Bun.spawnSync([kubectl ?? "kubectl", "kustomize", join(directory, "overlay")], { stdout: "pipe", stderr: "pipe" });
      expect(rendered.exitCode, rendered.stderr.toString()).toBe(0);
      const objects = parseAllDocuments(rendered.stdout.toString()).map(
        (document) => document.toJS() as { kind: string; metadata: { name: string; namespace?: string } },
      );
      const kinds = objects.map((object) => `${object.kind}/${object.metadata.name}`);
      for (const expected of [
        "ServiceMonitor/boot-operator",
        "PrometheusRule/boot-operator",
        "Service/boot-operator-metrics",
        "ConfigMap/boot-operator-grafana-dashboard",
      ]) {
        expect(kinds).toContain(expected);
      }
      for (const object of objects.filter((candidate) => ["ServiceMonitor", "PrometheusRule", "Service", "ConfigMap"].includes(candidate.kind))) {
        expect(object.metadata.namespace).toBe("boot-system");
      }
      const deployment = objects.find((object) => object.kind === "Deployment") as unknown as {
        spec: { template: { spec: { containers: { env: { name: string; value?: string }[]; ports: { name: string }[] }[] } } };
      };
      const container = deployment.spec.template.spec.containers[0];
      expect(container?.env).toContainEqual({ name: "BOOT_OPERATOR_METRICS_LISTEN", value: ":8080" });
      expect(container?.env.map((variable) => variable.name)).toContain("BOOT_OPERATOR_NAMESPACE"); // the base's env kept
      expect(container?.ports.map((port) => port.name).sort()).toEqual(["http", "https", "metrics"]);
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });
});
