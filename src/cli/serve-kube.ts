// `serve --source kube`: the same boot server, fed by the API server, plus the status machinery: the reconciler on
// the leader (or on every replica without --leader-elect) and the served-status writer on every replica.

import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import { EventRecorder } from "../controllers/events.ts";
import { LeaderElector } from "../controllers/leader-election.ts";
import { RegistryCredentialsLoader } from "../controllers/registry-credentials.ts";
import { ServedStatusWriter } from "../controllers/served-status.ts";
import { StatusReconciler } from "../controllers/status-reconciler.ts";
import { Translator } from "../controllers/translator.ts";
import { KubeClient, loadKubeConfig } from "../kube/client.ts";
import { createLogger } from "../observability/log.ts";
import { KubeSource } from "../sources/kube/kube-source.ts";
import type { ServeOptions } from "./options.ts";
import { runServe } from "./serve.ts";

const SERVICE_ACCOUNT_NAMESPACE_FILE = "/var/run/secrets/kubernetes.io/serviceaccount/namespace";

function podNamespace(): string | undefined {
  try {
    return readFileSync(SERVICE_ACCOUNT_NAMESPACE_FILE, "utf8").trim() || undefined;
  } catch {
    return undefined;
  }
}

export async function runKubeServe(options: ServeOptions): Promise<void> {
  const log = createLogger(options["log-level"]);
  const client = new KubeClient(loadKubeConfig(options.kubeconfig), {
    rateLimit: { qps: options["kube-api-qps"], burst: options["kube-api-burst"] },
  });
  let reconciler: StatusReconciler | undefined;
  let translator: Translator | undefined;
  const modes = options["translator-modes"];
  const source = new KubeSource(client, {
    namespace: options.namespace,
    // Every replica serves, so every replica must tell the translator's configs from hand-made ones.
    translatorModes: modes,
    stallTimeoutMs: options["watch-stall-timeout"] * 1000,
    ...(options["secret-label-selector"] ? { secretLabelSelector: options["secret-label-selector"] } : {}),
    onObjectChange: (kind, key, _type, object, statusOnly, statusOwners) => {
      reconciler?.notify(kind, key, statusOnly, statusOwners);
      if (kind !== "Secret") translator?.childChanged(key, object);
    },
    onWatchError: (kind, error, retryInMs) => log.warn("watch interrupted; serving from cache meanwhile", { kind, error: error.message, retryInMs }),
  });
  const served = new ServedStatusWriter({ client, source, log });
  const identity = process.env.POD_NAME ?? `${hostname()}-${process.pid}`;
  const leaseNamespace = options["leader-election-namespace"] || options.namespace || podNamespace() || "default";
  let elector: LeaderElector | undefined;
  let credentials: RegistryCredentialsLoader | undefined;

  await runServe(options, {
    source,
    onServed: (event) => served.record(event),
    readiness: () => (source.allSynced ? null : "Kubernetes caches not synced yet"),
    onStarted: async ({ store, oci }) => {
      served.start();
      const credentialsSecret = options["registry-credentials-secret"];
      if (credentialsSecret) {
        // Every replica proxies blobs, so every replica needs the credentials (not only the leader).
        const refreshMs = options["registry-credentials-refresh"] * 1000;
        credentials = new RegistryCredentialsLoader({
          client,
          oci: oci.client,
          log,
          secret: credentialsSecret,
          refreshMs,
          onChange: () => translator?.resync(),
        });
        await credentials.start();
      }
      // Off only when --controllers (the Go manager's switches) names neither boot config controller.
      if (options["reconcile-status"]) reconciler = new StatusReconciler({ client, source, store, log, events: new EventRecorder(client, log) });
      if (modes.ipxe || modes.httpboot) {
        translator = new Translator({
          client,
          source,
          oci: oci.client,
          allowList: oci.allowList,
          architecture: oci.architecture,
          modes,
          publicUrl: options["public-url"] ?? "",
          log,
        });
      }
      const startControllers = (): void => {
        reconciler?.start();
        translator?.start();
      };
      const stopControllers = async (): Promise<void> => {
        await Promise.all([reconciler?.stop(), translator?.stop()]);
      };
      if (!options["leader-elect"]) {
        startControllers();
        return;
      }
      elector = new LeaderElector(client, log, {
        namespace: leaseNamespace,
        name: options["leader-election-id"],
        identity,
        onStartedLeading: startControllers,
        onStoppedLeading: () => void stopControllers(),
      });
      elector.start();
    },
    onShutdown: async () => {
      credentials?.stop();
      await served.stop();
      await elector?.stop();
      await reconciler?.stop();
      await translator?.stop();
    },
  });
}
