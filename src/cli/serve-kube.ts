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
import { KubeClient } from "../kube/client.ts";
import { KubeConfigNotFound, loadKubeConfig } from "../kube/kubeconfig.ts";
import { parseCacheKey } from "../kube/paths.ts";
import { createLogger } from "../observability/log.ts";
import { createBootMetrics, createKubeMetrics, type KubeMetrics, type Sample } from "../observability/metrics.ts";
import { describeMissingCrds, missingBootCrds } from "../sources/kube/crd-check.ts";
import { KubeSource } from "../sources/kube/kube-source.ts";
import type { Reflector } from "../sources/kube/reflector.ts";
import { TlsSecretFeed } from "../sources/kube/tls-secret.ts";
import { UsageError } from "./flags.ts";
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

/** Watch health per resource, read from the reflectors' own counters when scraped. */
function collectWatchHealth(metrics: KubeMetrics, reflectors: () => ReadonlyMap<string, Reflector>): void {
  const each = (sample: (reflector: Reflector) => readonly Sample[]) => (): Sample[] => [...reflectors().values()].flatMap(sample);
  metrics.watchLastActivity.collectFrom(
    each((reflector) => (reflector.lastContactAt === 0 ? [] : [{ labels: { resource: reflector.resource }, value: reflector.lastContactAt / 1000 }])),
  );
  metrics.watchSynced.collectFrom(each((reflector) => [{ labels: { resource: reflector.resource }, value: reflector.synced ? 1 : 0 }]));
  metrics.watchRelists.collectFrom(
    each((reflector) => [
      { labels: { resource: reflector.resource, reason: "expired" }, value: reflector.stats.relistsAfterGone },
      { labels: { resource: reflector.resource, reason: "resync" }, value: reflector.stats.resyncs },
    ]),
  );
  metrics.watchRestarts.collectFrom(
    each((reflector) => [
      { labels: { resource: reflector.resource, reason: "closed" }, value: reflector.stats.watchesClosed },
      { labels: { resource: reflector.resource, reason: "stalled" }, value: reflector.stats.stalls },
      { labels: { resource: reflector.resource, reason: "expired" }, value: reflector.stats.relistsAfterGone },
      { labels: { resource: reflector.resource, reason: "error" }, value: reflector.stats.watchFailures },
    ]),
  );
}

/** No configuration anywhere is a start-up mistake (exit 2), reported with where we looked. */
function kubeConfigOrExit(flag: string | undefined): ReturnType<typeof loadKubeConfig> {
  try {
    return loadKubeConfig(flag);
  } catch (error) {
    if (error instanceof KubeConfigNotFound) throw new UsageError(error.message);
    throw error;
  }
}

export async function runKubeServe(options: ServeOptions): Promise<void> {
  const log = createLogger(options["log-level"]);
  const metrics = createBootMetrics();
  const kubeMetrics = createKubeMetrics(metrics.registry);
  const client = new KubeClient(kubeConfigOrExit(options.kubeconfig), {
    onRequestDone: (verb, code) => kubeMetrics.kubeApiRequests.inc({ verb, code }),
  });
  // A missing CRD at start is an install mistake, not an outage to ride out: say which and how to install it (exit 2).
  const missingCrds = await missingBootCrds(client);
  if (missingCrds === undefined) log.warn("could not ask the API server which CRDs it serves; starting anyway, the watches retry", { server: client.server });
  else if (missingCrds.length > 0) throw new UsageError(describeMissingCrds(missingCrds, client.server));
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
  collectWatchHealth(kubeMetrics, () => source.allReflectors);
  const served = new ServedStatusWriter({
    client,
    source,
    log,
    onWrite: (seconds, result) => kubeMetrics.statusWriteDuration.observe({ result }, seconds),
  });
  kubeMetrics.statusWriteBacklog.collectFrom(() => [{ labels: {}, value: served.backlog }]);
  const identity = process.env.POD_NAME ?? `${hostname()}-${process.pid}`;
  const leaseNamespace = options["leader-election-namespace"] || options.namespace || podNamespace() || "default";
  let elector: LeaderElector | undefined;
  let credentials: RegistryCredentialsLoader | undefined;

  // Without --leader-elect every replica runs the reconcilers: each counts as leading.
  kubeMetrics.leader.collectFrom(() => [{ labels: {}, value: !options["leader-elect"] || elector?.leading ? 1 : 0 }]);

  const tlsSecret = options["tls-secret"];
  const certificateFeed = tlsSecret
    ? new TlsSecretFeed(client, tlsSecret, {
        stallTimeoutMs: options["watch-stall-timeout"] * 1000,
        onWatchError: (error, retryInMs) =>
          log.warn("watch interrupted; serving from cache meanwhile", { kind: "Secret", secret: tlsSecret, error: error.message, retryInMs }),
      })
    : undefined;
  // The first certificate is needed before the HTTPS listener can start: an unreachable API server is a start-up error.
  await certificateFeed?.start().catch((error: Error) => {
    throw new UsageError(`--tls-secret ${error.message}`);
  });
  const secretEvents = new EventRecorder(client, log);

  await runServe(options, {
    metrics,
    source,
    ...(certificateFeed && tlsSecret
      ? {
          certificateFeed,
          onCertificateProblem: (reason, message) => {
            const { namespace, name } = parseCacheKey(tlsSecret);
            const uid = certificateFeed.uid();
            void secretEvents.recordOn({ apiVersion: "v1", kind: "Secret", namespace, name, ...(uid ? { uid } : {}) }, "Warning", reason, message);
          },
        }
      : {}),
    onServed: (event) => served.record(event),
    readiness: () => (source.allSynced ? null : "Kubernetes caches not synced yet"),
    onStarted: async ({ store, oci }) => {
      served.start();
      // Synced: an empty scope is most likely the wrong namespace (or configs not applied yet).
      const configs = (source.reflectors.get("IPXEBootConfig")?.objects.size ?? 0) + (source.reflectors.get("HTTPBootConfig")?.objects.size ?? 0);
      if (configs === 0) {
        log.warn("no IPXEBootConfigs or HTTPBootConfigs in the watched namespace: machines get no boot answer until some are created there", {
          namespace: options.namespace || "(all namespaces)",
        });
      }
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
      await certificateFeed?.stop();
      credentials?.stop();
      await served.stop();
      await elector?.stop();
      await reconciler?.stop();
      await translator?.stop();
    },
  });
}
