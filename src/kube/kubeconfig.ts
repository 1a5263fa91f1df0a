// Where Kubernetes mode finds its API server, decided up front: client-node's loadFromDefault falls back to
// http://localhost:8080 when it finds nothing, and the appliance then retried against it forever. Here the same
// places are tried in the same order (--kubeconfig; $KUBECONFIG; ~/.kube/config; in-cluster service account), and
// when none holds a configuration the start fails with one line saying where it looked.
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { delimiter, join } from "node:path";
import { KubeConfig } from "@kubernetes/client-node";

const SERVICE_ACCOUNT_TOKEN = "/var/run/secrets/kubernetes.io/serviceaccount/token";

/** No usable configuration: the message says where we looked. */
export class KubeConfigNotFound extends Error {}

type KubeConfigLocation = { type: "files"; paths: string[] } | { type: "in-cluster" };

interface LookupContext {
  /** --kubeconfig, when given. */
  flag: string | undefined;
  env: Readonly<Record<string, string | undefined>>;
  home: string;
  exists: (path: string) => boolean;
}

/** Pure: which configuration to load, or why there is none (every place looked at, in order). */
export function locateKubeConfig({ flag, env, home, exists }: LookupContext): { ok: true; location: KubeConfigLocation } | { ok: false; reason: string } {
  if (flag) return exists(flag) ? { ok: true, location: { type: "files", paths: [flag] } } : { ok: false, reason: `--kubeconfig ${flag}: no such file` };
  const looked: string[] = ["--kubeconfig (not given)"];
  const listed = (env.KUBECONFIG ?? "").split(delimiter).filter((path) => path !== "");
  if (listed.length > 0) {
    // As kubectl: files of the list that do not exist are skipped; none existing is an error.
    const present = listed.filter(exists);
    if (present.length > 0) return { ok: true, location: { type: "files", paths: present } };
    return { ok: false, reason: `$KUBECONFIG names no existing file (${listed.join(delimiter)})` };
  }
  looked.push("$KUBECONFIG (not set)");
  const homeConfig = join(home, ".kube", "config");
  if (exists(homeConfig)) return { ok: true, location: { type: "files", paths: [homeConfig] } };
  looked.push(`${homeConfig} (no such file)`);
  const host = env.KUBERNETES_SERVICE_HOST;
  const token = exists(SERVICE_ACCOUNT_TOKEN);
  if (host && env.KUBERNETES_SERVICE_PORT && token) return { ok: true, location: { type: "in-cluster" } };
  const missing = [
    ...(host ? [] : ["$KUBERNETES_SERVICE_HOST not set"]),
    ...(env.KUBERNETES_SERVICE_PORT ? [] : ["$KUBERNETES_SERVICE_PORT not set"]),
    ...(token ? [] : [`no ${SERVICE_ACCOUNT_TOKEN}`]),
  ];
  looked.push(`in-cluster service account (${missing.join(", ")})`);
  return { ok: false, reason: `no Kubernetes API server configured for --source kube; looked at ${looked.join(", ")}` };
}

/** Loads what locateKubeConfig found; throws KubeConfigNotFound when there is nothing to load. */
export function loadKubeConfig(flag: string | undefined, env: Readonly<Record<string, string | undefined>> = process.env): KubeConfig {
  const found = locateKubeConfig({ flag, env, home: env.HOME || homedir(), exists: existsSync });
  if (!found.ok) throw new KubeConfigNotFound(found.reason);
  const config = new KubeConfig();
  if (found.location.type === "in-cluster") config.loadFromCluster();
  else {
    const [first, ...others] = found.location.paths;
    if (first) config.loadFromFile(first);
    for (const path of others) {
      const more = new KubeConfig();
      more.loadFromFile(path);
      config.mergeConfig(more);
    }
  }
  if (!config.getCurrentCluster()) {
    throw new KubeConfigNotFound(
      `${found.location.type === "files" ? found.location.paths.join(delimiter) : "in-cluster"}: no current cluster (set current-context)`,
    );
  }
  return config;
}
