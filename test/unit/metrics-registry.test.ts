// The metric registry: collected metrics read their owner at scrape time, declared names are listable (the alert
// rules and dashboard are checked against them), and a name can be registered only once.
import { describe, expect, test } from "bun:test";
import { CollectedMetric, createBootMetrics, createKubeMetrics } from "../../src/observability/metrics.ts";

describe("metric registry", () => {
  test("a collected metric renders what its collector returns at each scrape, and only its header without one", () => {
    const metrics = createBootMetrics();
    const kube = createKubeMetrics(metrics.registry);
    expect(metrics.registry.render()).toContain("# TYPE boot_operator_leader gauge\n# HELP");
    let leading = 0;
    kube.leader.collectFrom(() => [{ labels: {}, value: leading }]);
    expect(metrics.registry.render()).toContain("\nboot_operator_leader 0\n");
    leading = 1;
    expect(metrics.registry.render()).toContain("\nboot_operator_leader 1\n");
  });

  test("labelled samples are escaped like every other series", () => {
    const metric = new CollectedMetric("x_total", "x", "counter");
    metric.collectFrom(() => [{ labels: { resource: 'a"b' }, value: 2 }]);
    const out: string[] = [];
    metric.render(out);
    expect(out).toEqual(["# HELP x_total x", "# TYPE x_total counter", 'x_total{resource="a\\"b"} 2']);
  });

  test("names() lists every declared metric once, process metrics and histograms included", () => {
    const metrics = createBootMetrics();
    createKubeMetrics(metrics.registry);
    const names = metrics.registry.names();
    expect(new Set(names).size).toBe(names.length);
    for (const name of ["boot_operator_http_request_duration_seconds", "process_open_fds", "boot_operator_kube_api_requests_total"]) {
      expect(names).toContain(name);
    }
  });

  test("registering a name twice is refused", () => {
    const metrics = createBootMetrics();
    createKubeMetrics(metrics.registry);
    expect(() => createKubeMetrics(metrics.registry)).toThrow("boot_operator_leader registered twice");
  });
});
