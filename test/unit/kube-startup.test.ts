// Kubernetes mode's start-up decisions, pure: where the configuration comes from (or one line saying where we
// looked), and which boot CRDs discovery does not list (and how the message names them and their install command).
import { describe, expect, test } from "bun:test";
import { locateKubeConfig } from "../../src/kube/kubeconfig.ts";
import { HTTP_BOOT_CONFIGS, IPXE_BOOT_CONFIGS } from "../../src/kube/paths.ts";
import { describeMissingCrds, missingResources } from "../../src/sources/kube/crd-check.ts";

const TOKEN = "/var/run/secrets/kubernetes.io/serviceaccount/token";
const IN_CLUSTER_ENV = { KUBERNETES_SERVICE_HOST: "10.96.0.1", KUBERNETES_SERVICE_PORT: "443" };

function locate(flag: string | undefined, env: Record<string, string>, files: string[]) {
  return locateKubeConfig({ flag, env, home: "/home/op", exists: (path) => files.includes(path) });
}

describe("locating the kubeconfig", () => {
  test("in client-go's order: --kubeconfig, $KUBECONFIG, ~/.kube/config, the in-cluster service account", () => {
    const all = ["/k", "/a", "/home/op/.kube/config", TOKEN];
    expect(locate("/k", { KUBECONFIG: "/a", ...IN_CLUSTER_ENV }, all)).toEqual({ ok: true, location: { type: "files", paths: ["/k"] } });
    expect(locate(undefined, { KUBECONFIG: "/a", ...IN_CLUSTER_ENV }, all)).toEqual({ ok: true, location: { type: "files", paths: ["/a"] } });
    expect(locate(undefined, IN_CLUSTER_ENV, all)).toEqual({ ok: true, location: { type: "files", paths: ["/home/op/.kube/config"] } });
    expect(locate(undefined, IN_CLUSTER_ENV, [TOKEN])).toEqual({ ok: true, location: { type: "in-cluster" } });
  });

  test("$KUBECONFIG: missing files of the list are skipped, as kubectl does; none existing is an error naming them", () => {
    expect(locate(undefined, { KUBECONFIG: "/gone:/b" }, ["/b"])).toEqual({ ok: true, location: { type: "files", paths: ["/b"] } });
    expect(locate(undefined, { KUBECONFIG: "/gone:/also-gone" }, [])).toEqual({ ok: false, reason: "$KUBECONFIG names no existing file (/gone:/also-gone)" });
  });

  test("a --kubeconfig that does not exist is an error, not a fallback", () => {
    expect(locate("/nope", IN_CLUSTER_ENV, [TOKEN])).toEqual({ ok: false, reason: "--kubeconfig /nope: no such file" });
  });

  test("nothing anywhere: one line saying where it looked (instead of http://localhost:8080)", () => {
    expect(locate(undefined, {}, [])).toEqual({
      ok: false,
      reason:
        "no Kubernetes API server configured for --source kube; looked at --kubeconfig (not given), $KUBECONFIG (not set), /home/op/.kube/config (no such file), " +
        `in-cluster service account ($KUBERNETES_SERVICE_HOST not set, $KUBERNETES_SERVICE_PORT not set, no ${TOKEN})`,
    });
    // A token without the service environment is no in-cluster configuration either.
    const tokenOnly = locate(undefined, {}, [TOKEN]);
    expect(tokenOnly.ok).toBe(false);
    if (!tokenOnly.ok) expect(tokenOnly.reason).toEndWith("in-cluster service account ($KUBERNETES_SERVICE_HOST not set, $KUBERNETES_SERVICE_PORT not set)");
  });
});

describe("boot CRDs", () => {
  test("the resources discovery does not list are missing; an absent group misses both", () => {
    const wanted = [IPXE_BOOT_CONFIGS, HTTP_BOOT_CONFIGS];
    expect(missingResources({ resources: [{ name: "ipxebootconfigs" }, { name: "ipxebootconfigs/status" }] }, wanted)).toEqual([HTTP_BOOT_CONFIGS]);
    expect(missingResources({ resources: [{ name: "ipxebootconfigs" }, { name: "httpbootconfigs" }] }, wanted)).toEqual([]);
    expect(missingResources(undefined, wanted)).toEqual(wanted);
  });

  test("the message names each missing CRD and the command that installs them", () => {
    expect(describeMissingCrds([HTTP_BOOT_CONFIGS], "https://api:6443")).toBe(
      "the CustomResourceDefinition for HTTPBootConfig (httpbootconfigs.boot.ironcore.dev) is not installed on https://api:6443; install with: kubectl apply --server-side -k manifests/crds (or the CRDs in dist/install.yaml)",
    );
    expect(describeMissingCrds([IPXE_BOOT_CONFIGS, HTTP_BOOT_CONFIGS], "https://api:6443")).toStartWith(
      "the CustomResourceDefinitions for IPXEBootConfig (ipxebootconfigs.boot.ironcore.dev) and HTTPBootConfig (httpbootconfigs.boot.ironcore.dev) are not installed",
    );
  });
});
