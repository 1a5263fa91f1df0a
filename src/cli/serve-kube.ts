// `serve --source kube`: the same boot server, fed by the API server, plus the status machinery: the reconciler on
// the leader (or on every replica without --leader-elect) and the served-status writer on every replica.

import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import type { AccessEvent } from "../boot/access/policy.ts";
import { BootTimelines } from "../boot/boot-timeline.ts";
import type { BootStore } from "../boot/store.ts";
import { EventRecorder } from "../controllers/events.ts";
import { LeaderElector } from "../controllers/leader-election.ts";
import { RegistryCredentialsLoader } from "../controllers/registry-credentials.ts";
import { SbcReadyWindows } from "../controllers/sbc-ready-windows.ts";
import { ServedStatusWriter } from "../controllers/served-status.ts";
import { StatusReconciler } from "../controllers/status-reconciler.ts";
import { TokenSecretKeys } from "../controllers/token-secret.ts";
import { Translator } from "../controllers/translator.ts";
import { KubeClient } from "../kube/client.ts";
import { KubeConfigNotFound, loadKubeConfig } from "../kube/kubeconfig.ts";
import { parseCacheKey } from "../kube/paths.ts";
import { CpuLoad } from "../observability/cpu-load.ts";
import { createLogger, type Logger } from "../observability/log.ts";
import { PerKeyThrottle } from "../observability/log-throttle.ts";
import { createBootMetrics, createKubeMetrics, type KubeMetrics, type Sample } from "../observability/metrics.ts";
import { describeMissingCrds, missingBootCrds } from "../sources/kube/crd-check.ts";
import { KubeSource } from "../sources/kube/kube-source.ts";
import type { Reflector } from "../sources/kube/reflector.ts";
import { TlsSecretFeed } from "../sources/kube/tls-secret.ts";
import { UsageError } from "./flags.ts";
import type { ServeOptions } from "./options.ts";
import { runServe } from "./serve.ts";
import { type TokenKeyHolder, tokenKeyHolder } from "./token-keys.ts";

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

/** One Warning Event per config and reason per this interval: a scanner or a looping machine must not flood etcd. */
const ACCESS_EVENT_INTERVAL_MS = 5 * 60_000;

/** IgnitionDenied / IgnitionTokenContested Warning Events on the config, rate-limited per config and reason. */
function accessEventWriter(events: EventRecorder, store: () => BootStore | undefined): (event: AccessEvent) => void {
  const throttle = new PerKeyThrottle(ACCESS_EVENT_INTERVAL_MS);
  return (event) => {
    const reason = event.type === "denied" ? "IgnitionDenied" : "IgnitionTokenContested";
    const decision = throttle.allow(`${event.configKind}|${event.configKey}|${reason}|${event.type === "denied" ? event.reason : ""}`, Date.now());
    if (!decision.allowed) return;
    const index = store()?.index;
    const config = event.configKind === "IPXEBootConfig" ? index?.ipxeByKey.get(event.configKey) : index?.httpByKey.get(event.configKey);
    const more = decision.suppressed > 0 ? ` (${decision.suppressed} more since the last event)` : "";
    const message =
      event.type === "denied"
        ? `Ignition fetch from ${event.requester} refused: ${event.reason}${more}`
        : `iPXE script fetched from ${event.requester} while ${event.holder} holds this machine's boot token; answered without a token${more}. If the machine did not get it, set a new value in annotation boot.ironcore.dev/rearm-token`;
    const { namespace, name } = parseCacheKey(event.configKey);
    void events.record({ kind: event.configKind, namespace, name }, config?.metadata.uid, "Warning", reason, message);
  };
}

/**
 * --token-secret from the watched Secrets: the keys are swapped in whenever the Secret changes; a Secret that breaks
 * later keeps the previous keys (logged once per new problem). Without it at the first full sync the start fails,
 * since a key only this replica knows would break every boot whose requests cross replicas.
 */
function tokenSecretKeys(secret: string, log: Logger): { holder: TokenKeyHolder; watch: (store: BootStore) => void; check: () => void } {
  const holder = tokenKeyHolder(undefined, log);
  const keys = new TokenSecretKeys(secret);
  let loaded = false;
  let problem = "";
  const watch = (store: BootStore): void => {
    store.onChange(() => {
      const read = keys.read(store.index);
      if (read.state === "loaded") {
        problem = "";
        if (!read.changed) return;
        holder.set(read.keys);
        loaded = true;
        log.info("boot token keys loaded", { secret, keys: read.keys.previous ? 2 : 1 });
        return;
      }
      const reason = read.state === "missing" ? `secret ${secret} does not exist (or is outside --namespace / --secret-label-selector)` : read.reason;
      if (reason !== problem && loaded) log.error("boot token keys unusable; keeping the previous ones", { secret, reason });
      problem = reason;
    });
  };
  const check = (): void => {
    if (loaded) return;
    throw new Error(
      `--token-secret ${secret}: ${problem || "not loaded"}; create it, e.g. kubectl -n ${secret.split("/")[0]} create secret generic ${secret.split("/")[1]} --from-literal=current="$(openssl rand -base64 48)"`,
    );
  };
  return { holder, watch, check };
}

export async function runKubeServe(options: ServeOptions): Promise<void> {
  const log = createLogger(options["log-level"]);
  const metrics = createBootMetrics();
  const kubeMetrics = createKubeMetrics(metrics.registry);
  const client = new KubeClient(kubeConfigOrExit(options.kubeconfig), {
    onRequestDone: (verb, code) => kubeMetrics.kubeApiRequests.inc({ verb, code }),
    rateLimit: { qps: options["kube-api-qps"], burst: options["kube-api-burst"] },
  });
  // A missing CRD at start is an install mistake, not an outage to ride out: say which and how to install it (exit 2).
  const missingCrds = await missingBootCrds(client);
  if (missingCrds === undefined) log.warn("could not ask the API server which CRDs it serves; starting anyway, the watches retry", { server: client.server });
  else {
    // SwitchBootConfig is ours alone: a cluster set up for the Go operator lacks it and must still boot its servers.
    const optional = missingCrds.filter((descriptor) => descriptor.kind === "SwitchBootConfig");
    const required = missingCrds.filter((descriptor) => descriptor.kind !== "SwitchBootConfig");
    if (required.length > 0) throw new UsageError(describeMissingCrds(required, client.server));
    if (optional.length > 0) log.warn(`${describeMissingCrds(optional, client.server)}; serving servers, switches appear once it is applied`);
  }
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
  // Shared with serve, which records into it; the writer turns it into status.lastBoot and BootProgressing.
  const timelines = new BootTimelines();
  // Shared with serve's idle collector; the writer's news waits while serving saturates the process.
  const cpuLoad = new CpuLoad();
  const served = new ServedStatusWriter({
    client,
    source,
    log,
    onWrite: (seconds, result) => kubeMetrics.statusWriteDuration.observe({ result }, seconds),
    timelines,
    stallAfterMs: options["boot-stall-timeout"],
    events: new EventRecorder(client, log),
    saturated: () => cpuLoad.saturated(),
  });
  kubeMetrics.statusWriteBacklog.collectFrom(() => [{ labels: {}, value: served.backlog }]);
  kubeMetrics.statusReconciles.collectFrom(() => [
    { labels: { outcome: "planned" }, value: reconciler?.stats.reconciles ?? 0 },
    { labels: { outcome: "echo" }, value: reconciler?.stats.echoes ?? 0 },
  ]);
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
  const tokenSecret = options["token-secret"];
  const tokenKeys =
    tokenSecret && options["ignition-access"] === "bound"
      ? tokenSecretKeys(tokenSecret.includes("/") ? tokenSecret : `${options.namespace || podNamespace() || "default"}/${tokenSecret}`, log)
      : undefined;
  let servingStore: BootStore | undefined;
  // Every replica answers machines, so every replica reports refusals on the config.
  const accessEvents = accessEventWriter(new EventRecorder(client, log), () => servingStore);
  // The translator's SBC turning Ready means metal-operator powers the machine on next: a new boot window.
  let unsubscribeSbcs: (() => void) | undefined;

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
    onAccessEvent: accessEvents,
    ...(tokenKeys ? { tokenKeys: tokenKeys.holder, onStoreCreated: tokenKeys.watch } : {}),
    timelines,
    cpuLoad,
    onServed: (event, timeline) => served.record(event, timeline),
    readiness: () => (source.allSynced ? null : "Kubernetes caches not synced yet"),
    onStarted: async ({ store, oci, access }) => {
      tokenKeys?.check();
      servingStore = store;
      served.start();
      // Synced: an empty scope is most likely the wrong namespace (or configs not applied yet).
      const configs = (source.reflectors.get("IPXEBootConfig")?.objects.size ?? 0) + (source.reflectors.get("HTTPBootConfig")?.objects.size ?? 0);
      if (configs === 0) {
        log.warn("no IPXEBootConfigs or HTTPBootConfigs in the watched namespace: machines get no boot answer until some are created there", {
          namespace: options.namespace || "(all namespaces)",
        });
      }
      const caches = source.ownerCaches;
      if (access && caches) {
        const stateOf = (key: string): string | undefined => (caches.sbcs.get(key) as { status?: { state?: string } } | undefined)?.status?.state;
        const windows = new SbcReadyWindows(stateOf, (configId, sbc) => {
          access.policy.windows.open(configId);
          log.info("boot window opened: ServerBootConfiguration is Ready", { sbc });
        });
        windows.seed(caches.sbcs.keys());
        unsubscribeSbcs = source.onOwnerChange((kind, keys) => {
          if (kind === "ServerBootConfiguration") windows.changed(keys);
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
      if (options["reconcile-status"]) {
        // Its Events wait while its statuses are still going out (events.ts says why).
        const events = new EventRecorder(client, log, { deferWhile: () => reconciler?.busy === true });
        reconciler = new StatusReconciler({ client, source, store, log, events });
      }
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
    onShutdown: async (deadlineMs) => {
      await certificateFeed?.stop();
      credentials?.stop();
      unsubscribeSbcs?.();
      // The leader's writers stop and the lease is given up first, so another replica takes over at once; the
      // served-status writes, which every replica makes, then get what is left of the grace period.
      await Promise.all([reconciler?.stop(), translator?.stop()]);
      await elector?.stop();
      await served.stop(deadlineMs);
    },
  });
}
