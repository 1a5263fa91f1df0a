// What an operator watches and is told in Kubernetes mode, against a real API server: a missing CRD stops the
// start naming it and its install command; an empty namespace is a warning naming it; and a kube-mode binary's
// /metrics (on --metrics-listen) carries the leader, watch health, status write and API request metrics with live
// values, and declares every metric the alert rules and the dashboard use.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { runCommand, startAppliance } from "../harness/appliance.ts";
import { type ControlPlane, startControlPlane } from "../harness/controlplane.ts";
import { BOOT_CRD_PATHS } from "../harness/crds.ts";
import { kubeSourceArgs } from "../harness/kube-mode.ts";
import { compareNames, declaredMetricNames, referencedMetricNames } from "../harness/metric-names.ts";
import { eventually } from "../harness/wait.ts";

const NS = "boot";
const UUID = "33333333-0000-0000-0000-000000000001";
const INSTALL_HINT = "install with: kubectl apply --server-side -k manifests/crds";

let cp: ControlPlane;

beforeAll(async () => {
  // No CRDs: the first tests are about their absence.
  cp = await startControlPlane({});
}, 120_000);

afterAll(async () => {
  await cp?.stop();
});

async function serveKube(extra: string[] = []) {
  return runCommand(["serve", "--source", "kube", "--listen", "127.0.0.1:0", "--kubeconfig", cp.kubeconfigPath, ...extra], { HOME: "/nonexistent" });
}

/** The value of one series in Prometheus text, or undefined. */
function sample(text: string, series: string): number | undefined {
  const line = text.split("\n").find((candidate) => candidate.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe("missing CRDs", () => {
  test("none installed: exit 2 naming both and the command that installs them", async () => {
    const { code, stderr } = await serveKube();
    expect(code).toBe(2);
    const line = stderr.trim();
    expect(line.split("\n")).toHaveLength(1);
    expect(line).toContain("IPXEBootConfig (ipxebootconfigs.boot.ironcore.dev) and HTTPBootConfig (httpbootconfigs.boot.ironcore.dev) are not installed");
    expect(line).toContain(INSTALL_HINT);
  }, 30_000);

  test("one of two installed: exit 2 naming the other", async () => {
    const httpCrd = BOOT_CRD_PATHS.filter((path) => path.endsWith("httpbootconfigs.yaml"));
    expect(httpCrd).toHaveLength(1);
    await cp.applyManifests(httpCrd);
    const { code, stderr } = await serveKube();
    expect(code).toBe(2);
    expect(stderr).toContain("the CustomResourceDefinition for IPXEBootConfig (ipxebootconfigs.boot.ironcore.dev) is not installed");
    expect(stderr).not.toContain("HTTPBootConfig (");
    expect(stderr).toContain(INSTALL_HINT);
  }, 60_000);
});

describe("with the CRDs installed", () => {
  beforeAll(async () => {
    await cp.applyManifests(BOOT_CRD_PATHS);
    await cp.applyObjects([
      { apiVersion: "v1", kind: "Namespace", metadata: { name: "empty" } },
      { apiVersion: "v1", kind: "Namespace", metadata: { name: NS } },
      { apiVersion: "v1", kind: "Secret", metadata: { name: "ignition", namespace: NS }, stringData: { ignition: '{"ignition":{"version":"3.4.0"}}' } },
      {
        apiVersion: "boot.ironcore.dev/v1alpha1",
        kind: "IPXEBootConfig",
        metadata: { name: "machine-1", namespace: NS },
        spec: {
          systemUUID: UUID,
          kernelURL: "http://files.example/vmlinuz",
          initrdURL: "http://files.example/initrd",
          ignitionSecretRef: { name: "ignition" },
        },
      },
    ]);
  }, 60_000);

  test("a namespace without configs at ready time: a warning naming it", async () => {
    const app = await startAppliance(kubeSourceArgs(cp, "empty"));
    try {
      await app.waitReady(30_000);
      const warning = await app.waitForLog(
        (line) => line.level === "warn" && line.msg.startsWith("no IPXEBootConfigs or HTTPBootConfigs in the watched namespace"),
      );
      expect(warning.namespace).toBe("empty");
    } finally {
      expect(await app.stop()).toBe(0);
    }
  }, 60_000);

  test("/metrics: leader, watch health, status writes and API requests, live; every name the rules and dashboard use", async () => {
    const app = await startAppliance(kubeSourceArgs(cp, NS, "--leader-elect", "--metrics-listen", "127.0.0.1:0"));
    try {
      await app.waitReady(30_000);
      const metricsUrl = String((await app.waitForLog((line) => line.msg === "side listener")).url);
      const scrape = async (): Promise<string> => (await fetch(`${metricsUrl}/metrics`)).text();
      expect((await fetch(`${app.url}/metrics`)).status).toBe(404);
      expect(app.logs.filter((line) => line.msg.startsWith("no IPXEBootConfigs or HTTPBootConfigs"))).toEqual([]);

      // Leading (the only candidate); every reflector synced and heard from just now.
      await eventually(async () => sample(await scrape(), "boot_operator_leader") === 1, "boot_operator_leader 1", { timeoutMs: 30_000 });
      const startedAt = Date.now() / 1000;
      let text = await scrape();
      for (const resource of ["ipxebootconfigs", "httpbootconfigs", "secrets"]) {
        expect(sample(text, `boot_operator_watch_synced{resource="${resource}"}`)).toBe(1);
        const heard = sample(text, `boot_operator_watch_last_activity_timestamp_seconds{resource="${resource}"}`) ?? 0;
        expect(startedAt - heard).toBeLessThan(60);
        expect(sample(text, `boot_operator_watch_restarts_total{resource="${resource}",reason="stalled"}`)).toBe(0);
      }
      expect(sample(text, 'boot_operator_kube_api_requests_total{verb="LIST",code="200"}')).toBeGreaterThanOrEqual(3);
      expect(sample(text, 'boot_operator_kube_api_requests_total{verb="GET",code="200"}')).toBeGreaterThanOrEqual(1); // discovery, the Lease

      // A served script becomes one status write: timed, counted, and the backlog drains.
      expect((await fetch(`${app.url}/ipxe/${UUID}`)).status).toBe(200);
      text = await eventually(
        async () => {
          const current = await scrape();
          return (sample(current, 'boot_operator_status_write_duration_seconds_count{result="success"}') ?? 0) >= 1 && current;
        },
        "a timed status write",
        { timeoutMs: 30_000 },
      );
      expect(sample(text, "boot_operator_status_write_queue_depth")).toBe(0);
      // Its echo (a status-only change leaving the reconciler's fields as applied) is not reconciled again.
      await eventually(async () => (sample(await scrape(), 'boot_operator_status_reconciles_total{outcome="echo"}') ?? 0) >= 1, "the write's echo skipped", {
        timeoutMs: 30_000,
      });
      expect(sample(text, 'boot_operator_status_reconciles_total{outcome="planned"}')).toBeGreaterThanOrEqual(1);
      expect(sample(text, 'boot_operator_kube_api_requests_total{verb="PATCH",code="200"}')).toBeGreaterThanOrEqual(1);

      expect(compareNames(await referencedMetricNames(), declaredMetricNames(text))).toEqual({ missing: [], landed: [] });

      // A second replica campaigning for the same Lease reports 0: the sum stays 1, as BootOperatorNoLeader expects.
      const standby = await startAppliance(kubeSourceArgs(cp, NS, "--leader-elect"));
      try {
        await standby.waitReady(30_000);
        await standby.waitForLog((line) => line.msg === "ready");
        const standbyText = await (await fetch(`${standby.url}/metrics`)).text();
        expect(sample(standbyText, "boot_operator_leader")).toBe(0);
        expect(sample(await scrape(), "boot_operator_leader")).toBe(1);
      } finally {
        expect(await standby.stop()).toBe(0);
      }
    } finally {
      expect(await app.stop()).toBe(0);
    }
  }, 90_000);
});
