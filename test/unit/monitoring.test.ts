// The monitoring component (manifests/components/servicemonitor) fits the binary and itself: the Deployment patch
// sets a real flag, ports and selectors line up from the container to the ServiceMonitor, the PrometheusRule carries
// exactly the plain rules file's groups, and the dashboard is well-formed. promtool and the metric names against a
// running binary: test/integration/monitoring.test.ts.
import { describe, expect, test } from "bun:test";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { parse } from "yaml";
import { envName, FLAGS } from "../../src/cli/flags.ts";
import { REPO_ROOT } from "../harness/appliance.ts";
import { defined } from "../harness/defined.ts";
import { dashboard, MONITORING_DIR, metricNamesIn, ruleGroups } from "../harness/metric-names.ts";

/** Grafana's reference to the dashboard's datasource variable, so the dashboard works with any Prometheus. */
const DATASOURCE_VARIABLE = ["$", "{datasource}"].join("");

async function yamlIn(name: string): Promise<Record<string, unknown>> {
  return parse(await Bun.file(join(MONITORING_DIR, name)).text()) as Record<string, unknown>;
}

interface Container {
  name: string;
  env: { name: string; value: string }[];
  ports: { name: string; containerPort: number }[];
}
interface DeploymentLike {
  spec: { template: { metadata?: { labels: Record<string, string> }; spec: { containers: Container[] } } };
}
interface ServiceLike {
  metadata: { labels: Record<string, string> };
  spec: { selector: Record<string, string>; ports: { name: string; port: number; targetPort: string }[] };
}
interface ServiceMonitorLike {
  spec: { selector: { matchLabels: Record<string, string> }; endpoints: { port: string; path: string; interval?: string }[] };
}

describe("monitoring component", () => {
  test("is a kustomize Component listing every manifest in its directory", async () => {
    const kustomization = (await yamlIn("kustomization.yaml")) as { kind: string; resources: string[]; patches: { path: string }[] };
    expect(kustomization.kind).toBe("Component");
    const files = (await readdir(MONITORING_DIR)).filter((name) => name.endsWith(".yaml") && !name.includes(".rules.") && name !== "kustomization.yaml");
    expect([...kustomization.resources, ...kustomization.patches.map((patch) => patch.path)].sort()).toEqual(files.sort());
  });

  test("the Deployment patch moves /metrics to its own port with the real --metrics-listen variable", async () => {
    const patch = (await yamlIn("deployment-metrics-listen.yaml")) as unknown as DeploymentLike;
    const container = defined(patch.spec.template.spec.containers[0], "the patched container");
    expect(container.name).toBe("boot-operator");
    expect(FLAGS.some((flag) => flag.name === "metrics-listen")).toBe(true);
    const listen = defined(
      container.env.find((variable) => variable.name === envName("metrics-listen")),
      "BOOT_OPERATOR_METRICS_LISTEN",
    );
    const port = defined(
      container.ports.find((candidate) => candidate.name === "metrics"),
      "the metrics container port",
    );
    expect(listen.value).toBe(`:${port.containerPort}`);
  });

  test("Service and ServiceMonitor reach that port on the Deployment's pods", async () => {
    const deployment = parse(await Bun.file(join(REPO_ROOT, "manifests/deploy/deployment.yaml")).text()) as DeploymentLike;
    const service = (await yamlIn("metrics-service.yaml")) as unknown as ServiceLike;
    const monitor = (await yamlIn("service-monitor.yaml")) as unknown as ServiceMonitorLike;
    const podLabels = defined(deployment.spec.template.metadata, "pod template metadata").labels;
    for (const [key, value] of Object.entries(service.spec.selector)) expect(podLabels[key]).toBe(value);
    expect(service.spec.ports.map((port) => port.targetPort)).toEqual(["metrics"]);
    for (const [key, value] of Object.entries(monitor.spec.selector.matchLabels)) expect(service.metadata.labels[key]).toBe(value);
    // The boot Service must not be selected too (it would be scraped on the boot port, where /metrics is gone).
    const bootService = parse(await Bun.file(join(REPO_ROOT, "manifests/deploy/service.yaml")).text()) as ServiceLike;
    expect(Object.entries(monitor.spec.selector.matchLabels).every(([key, value]) => bootService.metadata.labels[key] === value)).toBe(false);
    expect(monitor.spec.endpoints).toEqual([{ port: "metrics", path: "/metrics", interval: "30s" }]);
  });

  test("the PrometheusRule carries exactly the plain rules file's groups", async () => {
    const rule = (await yamlIn("prometheus-rule.yaml")) as { kind: string; spec: { groups: unknown } };
    expect(rule.kind).toBe("PrometheusRule");
    expect(rule.spec.groups).toEqual(await ruleGroups());
  });

  test("the alerts the issue asks for are there", async () => {
    const alerts = (await ruleGroups()).flatMap((group) => group.rules.map((rule) => rule.alert));
    for (const alert of [
      "BootOperatorNoLeader",
      "BootOperatorWatchStale",
      "BootOperatorBootFailures",
      "BootOperatorUnknownMachinesSurge",
      "BootOperatorStatusWriteBacklog",
      "BootOperatorCertificateExpiresSoon",
    ]) {
      expect(alerts).toContain(alert);
    }
  });

  test("dashboard: unique panel ids, every panel queries our metrics through the datasource variable", async () => {
    const board = await dashboard();
    const ids = board.panels.map((panel) => panel.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const panel of board.panels) {
      expect(panel.datasource.uid).toBe(DATASOURCE_VARIABLE);
      expect(panel.targets.length).toBeGreaterThan(0);
      for (const target of panel.targets) expect(metricNamesIn(target.expr).length, `${panel.title}: ${target.expr}`).toBeGreaterThan(0);
    }
  });
});

describe("metricNamesIn", () => {
  test("finds our metric names, not functions, labels or durations", () => {
    expect(metricNamesIn('histogram_quantile(0.99, sum by (le) (rate(boot_operator_http_request_duration_seconds_bucket{route=~"/ipxe.*"}[5m])))')).toEqual([
      "boot_operator_http_request_duration_seconds_bucket",
    ]);
    expect(metricNamesIn("time() - boot_operator_watch_last_activity_timestamp_seconds > 600 and process_open_fds > 0")).toEqual([
      "boot_operator_watch_last_activity_timestamp_seconds",
      "process_open_fds",
    ]);
  });
});
