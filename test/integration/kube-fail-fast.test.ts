// Kubernetes mode without any configuration stops at once (exit 2) with one line saying where it looked, instead
// of falling back to http://localhost:8080 and retrying forever behind a readiness probe that never passes.
// A missing CRD (with a real API server): test/kube/monitoring.test.ts.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCommand } from "../harness/appliance.ts";

let home: string;

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), "no-kube-home-"));
});

afterAll(async () => {
  await rm(home, { recursive: true, force: true });
});

describe("--source kube without a kubeconfig", () => {
  test("not in a cluster and none found: exit 2, one line naming every place looked at", async () => {
    const { code, stderr } = await runCommand(["serve", "--source", "kube", "--listen", "127.0.0.1:0"], { HOME: home });
    expect(code).toBe(2);
    const lines = stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toBe(
      "boot-operator: no Kubernetes API server configured for --source kube; looked at --kubeconfig (not given), $KUBECONFIG (not set), " +
        `${join(home, ".kube", "config")} (no such file), in-cluster service account ($KUBERNETES_SERVICE_HOST not set, $KUBERNETES_SERVICE_PORT not set, ` +
        "no /var/run/secrets/kubernetes.io/serviceaccount/token)",
    );
  });

  test("$KUBECONFIG naming no existing file: exit 2 naming it", async () => {
    const missing = join(home, "gone.yaml");
    const { code, stderr } = await runCommand(["serve", "--source", "kube", "--listen", "127.0.0.1:0"], { HOME: home, KUBECONFIG: missing });
    expect(code).toBe(2);
    expect(stderr.trim()).toBe(`boot-operator: $KUBECONFIG names no existing file (${missing})`);
  });

  test("--kubeconfig that does not exist: exit 2 naming it", async () => {
    const missing = join(home, "nope.yaml");
    const { code, stderr } = await runCommand(["serve", "--source", "kube", "--listen", "127.0.0.1:0", "--kubeconfig", missing], { HOME: home });
    expect(code).toBe(2);
    expect(stderr.trim()).toBe(`boot-operator: --kubeconfig ${missing}: no such file`);
  });
});
