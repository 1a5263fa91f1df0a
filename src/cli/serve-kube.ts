// `serve --source kube`: the same boot server, fed by the API server, plus the status machinery: the reconciler on
// the leader (or on every replica without --leader-elect) and the served-status writer on every replica.

import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import type { AccessEvent } from "../boot/access/policy.ts";
import type { BootStore } from "../boot/store.ts";
import { EventRecorder } from "../controllers/events.ts";
import { LeaderElector } from "../controllers/leader-election.ts";
import { RegistryCredentialsLoader } from "../controllers/registry-credentials.ts";
import { SbcReadyWindows } from "../controllers/sbc-ready-windows.ts";
import { ServedStatusWriter } from "../controllers/served-status.ts";
import { StatusReconciler } from "../controllers/status-reconciler.ts";
import { TokenSecretKeys } from "../controllers/token-secret.ts";
import { Translator } from "../controllers/translator.ts";
import { KubeClient, loadKubeConfig } from "../kube/client.ts";
import { parseCacheKey } from "../kube/paths.ts";
import { createLogger, type Logger } from "../observability/log.ts";
import { PerKeyThrottle } from "../observability/log-throttle.ts";
import { KubeSource } from "../sources/kube/kube-source.ts";
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
  const client = new KubeClient(loadKubeConfig(options.kubeconfig));
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
    source,
    onAccessEvent: accessEvents,
    ...(tokenKeys ? { tokenKeys: tokenKeys.holder, onStoreCreated: tokenKeys.watch } : {}),
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
    onStarted: async ({ store, oci, access }) => {
      tokenKeys?.check();
      servingStore = store;
      served.start();
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
      unsubscribeSbcs?.();
      await served.stop();
      await elector?.stop();
      await reconciler?.stop();
      await translator?.stop();
    },
  });
}
