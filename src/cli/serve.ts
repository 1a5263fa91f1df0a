// `boot-operator serve`: load resources, serve machines, reload on change, shut down gracefully.

import { join } from "node:path";
import { type AccessEvent, IgnitionAccessPolicy } from "../boot/access/policy.ts";
import { BootTimelines, type ConfigTimeline } from "../boot/boot-timeline.ts";
import { type Diagnosis, diagnoseHttpBootConfig, diagnoseIpxeBootConfig, diagnoseSwitchBootConfig } from "../boot/diagnose.ts";
import { workerButaneTranslator } from "../boot/ignition.ts";
import { workerIpxeTemplateParser } from "../boot/ipxe-scripts.ts";
import type { ServedEvent } from "../boot/served.ts";
import { BootStore } from "../boot/store.ts";
import { buildTrustBundle, type CertificateFeed } from "../boot/trust-formats.ts";
import { createApp } from "../http/app.ts";
import type { HttpDeps } from "../http/context.ts";
import { isDebugPath } from "../http/debug.ts";
import {
  formatListenAddress,
  matchesPathPattern,
  planSideListeners,
  type RunningServer,
  sameListenAddress,
  startHttpServer,
  startRotatingTlsServer,
  type TlsFiles,
} from "../http/server.ts";
import { describeConflict } from "../index/boot-index.ts";
import { formatProblem } from "../index/snapshot.ts";
import { CpuLoad } from "../observability/cpu-load.ts";
import { createLogger, type Logger } from "../observability/log.ts";
import { type BootMetrics, createBootMetrics } from "../observability/metrics.ts";
import { DirectorySource } from "../sources/files/directory-source.ts";
import { EMBEDDED_BOOT_FILES, EmbeddedSource } from "../sources/files/embedded-source.ts";
import { DEFAULT_PARSE_LIMITS } from "../sources/files/file-parser.ts";
import type { ResourceSource } from "../sources/types.ts";
import { COMMIT, VERSION } from "../version.ts";
import { UsageError } from "./flags.ts";
import { loadIpxeTemplate } from "./ipxe-template-file.ts";
import { DEFAULT_COLLECTOR, IdleCollector } from "./memory.ts";
import { bootConfigUrls, createOciRuntime, type OciRuntime } from "./oci-runtime.ts";
import type { ServeOptions } from "./options.ts";
import { fileCertificateFeed, loadCaFiles, ServingCertificate } from "./serving-certificate.ts";
import { type TokenKeyHolder, tokenKeyHolder } from "./token-keys.ts";

/** Extension points the Kubernetes mode plugs into without the HTTP layer knowing about it. */
interface ServeHooks {
  source?: ResourceSource;
  /** The registry to export, when the caller registered metrics of its own in it (Kubernetes mode). */
  metrics?: BootMetrics;
  /** The Kubernetes mode's, which its status writer reads too; else serve keeps its own. */
  timelines?: BootTimelines;
  /** The Kubernetes mode's, whose status writes wait while serving saturates the process; else serve keeps its own. */
  cpuLoad?: CpuLoad;
  /** After the timeline recorded the event; `timeline` is the config's it changed, if any. */
  onServed?: (event: ServedEvent, timeline: ConfigTimeline | undefined) => void;
  readiness?: () => string | null;
  onStarted?: (context: { store: BootStore; log: Logger; metrics: BootMetrics; oci: OciRuntime; access: IgnitionAccess | undefined }) => Promise<void> | void;
  /** Refusals and contests under --ignition-access bound (Kubernetes: Warning Events). */
  onAccessEvent?: (event: AccessEvent) => void;
  /** Keys from somewhere else (Kubernetes: --token-secret), filled in by onStoreCreated's store listener. */
  tokenKeys?: TokenKeyHolder;
  /** Runs before the source delivers its first snapshot, so a listener sees every one. */
  onStoreCreated?: (store: BootStore) => void;
  /** `deadlineMs`: epoch ms by which shutdown must be done (--shutdown-timeout); nothing is awaited past it. */
  onShutdown?: (deadlineMs: number) => Promise<void>;
  /** Where the HTTPS certificate comes from when it is not files (--tls-secret). */
  certificateFeed?: CertificateFeed;
  /** A refused certificate change or one about to expire (Kubernetes: a Warning Event on the Secret). */
  onCertificateProblem?: (reason: "CertificateReloadFailed" | "CertificateExpiringSoon", message: string) => void;
}

/** --ignition-access bound at run time: the policy the routes ask and the keys it signs with. */
interface IgnitionAccess {
  policy: IgnitionAccessPolicy;
  keys: TokenKeyHolder;
}

function createIgnitionAccess(options: ServeOptions, log: Logger, external: TokenKeyHolder | undefined): IgnitionAccess | undefined {
  if (options["ignition-access"] === "open") {
    log.warn("--ignition-access open: anyone who can reach this server and knows or guesses a machine's UUID can fetch its Ignition", {
      hint: "Ignition often carries password hashes and SSH keys; --ignition-access bound serves it only to the machine (see README, Ignition access)",
    });
    return undefined;
  }
  const file = options["token-key-file"];
  const keys = external ?? tokenKeyHolder(file, log);
  if (!file && !external) {
    log.warn("--ignition-access bound without --token-key-file: boot tokens are signed with a random key made at start", {
      consequence: "tokens die with this process (a restart mid-boot needs a re-arm) and other replicas cannot verify them",
    });
  }
  const policy = new IgnitionAccessPolicy({ ttlMs: options["token-ttl"] * 1000, maxUses: options["token-uses"], keys: keys.keys });
  log.info("ignition access bound", {
    keys: external ? `secret ${options["token-secret"]}` : (file ?? "(random, this process only)"),
    tokenTtlSeconds: options["token-ttl"],
    tokenUses: options["token-uses"],
  });
  return { policy, keys };
}

/** Configs diagnosed per event-loop turn when reporting a new generation (see reportDiagnoses). */
const DIAGNOSIS_SLICE = 500;

const HEALTH_PATHS = new Set(["/healthz", "/readyz"]);
/**
 * What the metrics listener serves (route patterns). With --metrics-listen on an address of its own these are
 * served there only: the boot port faces the provisioning network, which has no business reading them.
 */
const METRICS_LISTENER_PATHS: readonly string[] = ["/metrics"];
const isMetricsListenerPath = (path: string): boolean => matchesPathPattern(path, METRICS_LISTENER_PATHS) || isDebugPath(path);
/** The Go operator's image proxy server answers exactly these (its /httpboot/ prefix, not the DHCP /httpboot). */
const isImageProxyPath = (path: string): boolean => path === "/image" || path.startsWith("/httpboot/");

/** --metrics-cert-path: read once at start (a renewed certificate needs a restart, which a Deployment rollout does). */
async function metricsTls(options: ServeOptions): Promise<TlsFiles | undefined> {
  const directory = options["metrics-cert-path"];
  if (!directory || !options["metrics-listen"]) return undefined;
  const read = async (name: string): Promise<string> => {
    const path = join(directory, name);
    const file = Bun.file(path);
    if (!(await file.exists())) throw new UsageError(`--metrics-cert-path: ${path} does not exist`);
    return file.text();
  };
  return { cert: await read(options["metrics-cert-name"]), key: await read(options["metrics-cert-key"]) };
}

function createFileSource(options: ServeOptions, log: Logger): ResourceSource {
  const spec = options.source;
  if (spec.type === "dir") {
    return new DirectorySource({
      directory: spec.directory,
      limits: { ...DEFAULT_PARSE_LIMITS, maxBytes: options["max-resource-bytes"], timeoutMs: options["parse-timeout"] * 1000 },
      onReloadError: (error) => log.error("reloading resources failed; still serving the previous set", { error: error.message }),
      onWorkerReplaced: (reason) => log.warn("resource parser worker replaced", { reason }),
    });
  }
  if (spec.type === "embedded") return new EmbeddedSource();
  throw new Error("internal: kube source needs the Kubernetes hooks");
}

/** How long after a change its diagnosis (logs, configs gauges) runs. */
const DIAGNOSE_DELAY_MS = 200;

/** Records what changed in the resource set: metrics always, logs only for problems not reported before. */
function reportUpdates(store: BootStore, log: Logger, metrics: BootMetrics): void {
  let reported = new Set<string>();
  let reportedDiagnoses = new Set<string>();
  // Referenced secrets and their content (Butane, scripts) are checked here too, so a bad edit is logged at once
  // rather than when the machine next boots: once this generation's translations (on workers) have finished.
  // The gauge counts both what the source could not load and configs in Error, so it is set again once diagnosed.
  let sourceErrors = 0;
  const reportDiagnoses = async (generation: number): Promise<void> => {
    if (store.generation !== generation) return; // a newer index is being reported instead
    const index = store.index;
    const current = new Set<string>();
    // In slices, yielding between them: at 10 000 machines one pass takes 100+ ms, and requests (the changed
    // config's first answer among them) must not wait for it. A newer generation abandons this pass.
    const diagnoses: Diagnosis[] = [];
    // The same parts as diagnoseAll (servers, then switches), one slice at a time.
    const configs = [...index.ipxeBootConfigs, ...index.httpBootConfigs, ...index.switchBootConfigs];
    for (let start = 0; start < configs.length; start += DIAGNOSIS_SLICE) {
      if (start > 0) await new Promise((resolve) => setTimeout(resolve, 0));
      if (store.generation !== generation) return;
      for (const config of configs.slice(start, start + DIAGNOSIS_SLICE)) {
        if (config.kind === "IPXEBootConfig") diagnoses.push(diagnoseIpxeBootConfig(index, store, config));
        else if (config.kind === "HTTPBootConfig") diagnoses.push(diagnoseHttpBootConfig(index, store, config));
        else diagnoses.push(diagnoseSwitchBootConfig(index, store.ztp, config));
      }
    }
    const configsInError = diagnoses.filter((diagnosis) => diagnosis.state === "Error").length;
    for (const kind of ["IPXEBootConfig", "HTTPBootConfig", "SwitchBootConfig"] as const) {
      for (const state of ["Ready", "Error"] as const) {
        metrics.configs.set({ kind, state }, diagnoses.filter((diagnosis) => diagnosis.kind === kind && diagnosis.state === state).length);
      }
    }
    metrics.resourceProblems.set({ severity: "error" }, sourceErrors + configsInError);
    log.info("resources checked", { generation, configsInError, configs: diagnoses.length });
    for (const diagnosis of diagnoses) {
      for (const problem of diagnosis.problems) {
        if (problem.reason === "IdentifierConflict") continue;
        const line = `${diagnosis.kind} ${diagnosis.key}: ${problem.message}`;
        current.add(line);
        if (!reportedDiagnoses.has(line))
          log.warn("config cannot be served as written", { config: `${diagnosis.kind} ${diagnosis.key}`, reason: problem.reason, message: problem.message });
      }
    }
    reportedDiagnoses = current;
  };
  store.onChange(() => {
    const generation = store.generation;
    // Diagnosing every config is O(configs) on the serving thread (tens of ms at 10 000 machines): it runs a little
    // later, so the requests already waiting are answered from the new index first, and a burst of changes is
    // diagnosed once (reportDiagnoses skips a generation that was replaced meanwhile).
    void Promise.all([store.ignition.allSettled(), store.ipxeScripts.allSettled()])
      .then(() => Bun.sleep(DIAGNOSE_DELAY_MS))
      .then(() => reportDiagnoses(generation));
    const index = store.index;
    metrics.reloads.inc();
    metrics.secrets.set({}, index.secrets.size);
    metrics.conflicts.set({}, index.conflicts.length);
    const current = new Set<string>();
    let errors = 0;
    for (const problem of store.problems) {
      const line = formatProblem(problem);
      current.add(line);
      if (problem.severity === "error") errors++;
      if (!reported.has(line))
        (problem.severity === "error" ? log.error : log.warn)("resource problem", { problem: line, file: problem.origin, field: problem.path });
    }
    for (const conflict of index.conflicts) {
      const line = describeConflict(conflict);
      current.add(line);
      if (!reported.has(line)) log.warn("identifier conflict", { conflict: line });
    }
    sourceErrors = errors;
    metrics.resourceProblems.set({ severity: "error" }, errors);
    metrics.resourceProblems.set({ severity: "warning" }, store.problems.length - errors);
    reported = current;
    log.info("resources loaded", {
      generation: store.generation,
      ipxeBootConfigs: index.ipxeBootConfigs.length,
      httpBootConfigs: index.httpBootConfigs.length,
      switchBootConfigs: index.switchBootConfigs.length,
      secrets: index.secrets.size,
      problems: store.problems.length,
      conflicts: index.conflicts.length,
    });
  });
}

export async function runServe(options: ServeOptions, hooks: ServeHooks = {}): Promise<void> {
  const log = createLogger(options["log-level"]);
  for (const notice of options.notices) log.warn("Go operator flag accepted, but it does not do the same here", { flag: notice.flag, reason: notice.reason });
  const tls = await metricsTls(options);
  const sides = planSideListeners(options.listen, [
    { name: "health probes", address: options["health-probe-bind-address"], allow: (path) => HEALTH_PATHS.has(path) },
    // The boot timelines name machines and addresses: on the metrics listener only, never on the boot port.
    { name: "metrics", address: options["metrics-listen"], allow: isMetricsListenerPath, ...(tls ? { tls } : {}) },
    { name: "image proxy", address: options["image-proxy-server-address"], allow: isImageProxyPath },
  ]);
  if (!sides.ok) throw new UsageError(sides.reason);
  const tlsListen = options["tls-listen"];
  if (tlsListen) {
    const clash = [options.listen, ...sides.listeners.map((side) => side.address)].find((address) => address && sameListenAddress(address, tlsListen));
    if (clash) throw new UsageError(`--tls-listen ${formatListenAddress(tlsListen)} is already used by another listener`);
  }
  const metrics = hooks.metrics ?? createBootMetrics();
  metrics.buildInfo.set({ version: VERSION, commit: COMMIT }, 1);
  // Certificates are checked before anything listens, so a bad file stops the start (exit 2) naming it.
  const caFiles = await loadCaFiles(options["ca-file"]);
  const feed =
    hooks.certificateFeed ??
    (options["tls-cert-file"] && options["tls-key-file"] ? fileCertificateFeed(options["tls-cert-file"], options["tls-key-file"]) : undefined);
  if (tlsListen && !feed) throw new UsageError("--tls-listen needs --tls-cert-file and --tls-key-file (or --tls-secret)");
  const certificate =
    tlsListen && feed
      ? new ServingCertificate({ feed, caFiles, log, metrics, ...(hooks.onCertificateProblem ? { onProblem: hooks.onCertificateProblem } : {}) })
      : undefined;
  const initialTls = await certificate?.load();
  const staticTrust = buildTrustBundle(
    caFiles.map((entry) => entry.certificate),
    undefined,
  );
  const store = new BootStore({ claimScope: options["claim-scope"] });
  store.ignition.onWarnings = (secret, warnings) => log.warn("butane translated with warnings", { secret, warnings });
  // Butane is translated on workers as each new secret version arrives, never on the thread answering machines.
  const butane = workerButaneTranslator({
    timeoutMs: options["translate-timeout"] * 1000,
    onWorkerReplaced: (reason) => log.warn("butane translator worker replaced", { reason }),
  });
  store.ignition.useTranslator(butane.translate);
  // Custom iPXE script templates likewise, with the same time budget.
  const ipxeScripts = workerIpxeTemplateParser({
    timeoutMs: options["translate-timeout"] * 1000,
    onWorkerReplaced: (reason) => log.warn("ipxe script parser worker replaced", { reason }),
  });
  store.ipxeScripts.useParser(ipxeScripts.parse);
  const template = await loadIpxeTemplate(options["ipxe-template"], log);
  const source = hooks.source ?? createFileSource(options, log);
  reportUpdates(store, log, metrics);
  const cpuLoad = hooks.cpuLoad ?? new CpuLoad();
  const collector = new IdleCollector(DEFAULT_COLLECTOR, cpuLoad);
  store.onChange(() => collector.changed());
  const timelines = hooks.timelines ?? new BootTimelines();
  store.onChange(() => {
    // Built lazily and warmed a little later, like the diagnoses: the changed config's first answer must not
    // wait for a pass over every config.
    timelines.useIndex(store.index);
    setTimeout(() => timelines.urlIndex(), DIAGNOSE_DELAY_MS);
  });
  const oci = await createOciRuntime(options, log, metrics, { generation: () => store.generation, urls: () => bootConfigUrls(store.index) });
  const access = createIgnitionAccess(options, log, hooks.tokenKeys);
  const staticDefaultUki = options["default-uki-url"];
  // Hot path: a counter and the timeline's bounded append; the Kubernetes hook only queues a status write.
  const served = servedRecorder(metrics, timelines, hooks.onServed);
  const onServed = served.record;
  const deps: HttpDeps = {
    store,
    afterStorm: (release) => collector.afterStorm(release),
    settings: {
      publicUrl: options["public-url"],
      trustedProxies: options["trusted-proxies"],
      forwardedFor: options["forwarded-for"],
      defaultUkiUrl: () => staticDefaultUki ?? oci.defaultUkiFromImage(),
      defaultIpxeConfig: options["default-ipxe-config"],
      ukiDir: options["uki-dir"],
      // The samples' answers name /uki/ files; without a --uki-dir they come from the binary (placeholders).
      ...(options.source.type === "embedded" && options["uki-dir"] === undefined ? { builtInBootFiles: EMBEDDED_BOOT_FILES } : {}),
      ztpOnieAtRoot: options["ztp-onie-at-root"],
    },
    ipxeTemplate: template.current,
    metrics,
    log,
    onServed,
    onServedRepeat: served.repeated,
    ...(hooks.readiness ? { readiness: hooks.readiness } : {}),
    imageProxy: { ...oci.imageProxy, onServed },
    trust: () => certificate?.trust() ?? staticTrust,
    ...(access ? { ignitionAccess: access.policy } : {}),
    ...(hooks.onAccessEvent ? { onAccessEvent: hooks.onAccessEvent } : {}),
  };
  const app = createApp(deps);
  // The boot port's app has no timelines (its /debug routes say where they are); the side listeners' app has them.
  const sideApp = createApp({ ...deps, debug: { timelines, stallAfterMs: options["boot-stall-timeout"] } });
  // Listen before loading so /healthz answers at once; /readyz stays 503 until the first snapshot is in.
  // A metrics listener of its own takes its paths off the boot listeners (on the boot listener's address it is the same).
  const metricsElsewhere = options["metrics-listen"] !== undefined && !sides.onMain.includes("metrics");
  const bootListenerOptions = {
    idleTimeoutSeconds: options["idle-timeout"],
    // /debug stays routed: the boot listeners' app has no timelines and says where they are served.
    ...(metricsElsewhere ? { allow: (path: string) => !matchesPathPattern(path, METRICS_LISTENER_PATHS) } : {}),
  };
  const server = options.listen ? startHttpServer(app, options.listen, log, bootListenerOptions) : undefined;
  const tlsServer = tlsListen && initialTls ? startRotatingTlsServer(app, tlsListen, log, { ...bootListenerOptions, tls: initialTls }) : undefined;
  if (tlsServer && certificate) certificate.watch((tls) => tlsServer.rotate(tls));
  log.info("boot server listening", {
    url: server?.url ?? tlsServer?.url,
    ...(tlsServer ? { tlsUrl: tlsServer.url, certificate: feed?.description } : {}),
    source: source.description,
    version: VERSION,
    commit: COMMIT,
    publicUrl: options["public-url"] ?? "(from Host header)",
    ...(options["go-manager"] ? { startedAs: "the Go operator's manager (flags without a command)" } : {}),
    ...(sides.onMain.length > 0 ? { alsoServes: sides.onMain } : {}),
  });
  // The Go operator's separate ports; all but the metrics listener's paths also stay on the boot listener.
  const sideServers: RunningServer[] = sides.listeners.map((side) => {
    const sideServer = startHttpServer(sideApp, side.address, log, {
      idleTimeoutSeconds: options["idle-timeout"],
      allow: side.allow,
      ...(side.tls ? { tls: side.tls } : {}),
    });
    log.info("side listener", { serves: side.names, url: sideServer.url });
    return sideServer;
  });

  let stopping = false;
  const shutdown = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log.info("shutting down", { signal, graceSeconds: options["shutdown-timeout"] });
    // One grace period for everything: in-flight downloads finish while the last status writes go out, and a hook
    // that has not finished by the deadline (a hung API server) is not waited for.
    const graceMs = options["shutdown-timeout"] * 1000;
    const deadline = Date.now() + graceMs;
    const running = [server, tlsServer, ...sideServers].filter((listener): listener is RunningServer => listener !== undefined);
    const listenersStopped = Promise.all(running.map((listener) => listener.shutdown(graceMs)));
    const hookDone = (hooks.onShutdown?.(deadline) ?? Promise.resolve()).catch((error: Error) => log.error("shutdown hook failed", { error: error.message }));
    const hookInTime = await Promise.race([hookDone.then(() => true), Bun.sleep(graceMs).then(() => false)]);
    if (!hookInTime) log.warn("shutdown grace period over before the controllers stopped; exiting anyway", { graceMs });
    certificate?.stop();
    collector.stop();
    cpuLoad.stop();
    await Promise.race([source.stop().catch(() => {}), Bun.sleep(Math.max(0, deadline - Date.now()))]);
    template.close();
    butane.close();
    ipxeScripts.close();
    access?.keys.close();
    await Promise.race([oci.close(), Bun.sleep(Math.max(0, deadline - Date.now()))]);
    await listenersStopped;
    log.info("stopped");
    process.exit(0);
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
  // systemctl reload: rescan now (changes are picked up by themselves too; this is for impatient operators).
  process.on("SIGHUP", () => {
    log.info("SIGHUP: reloading resources");
    source.reload?.();
  });

  hooks.onStoreCreated?.(store);
  await source.start((update) => store.apply(update));
  await hooks.onStarted?.({ store, log, metrics, oci, access });
  log.info("ready", { configs: store.index.configCount });
}

/**
 * What every served event goes through, on the request path: the milestone counter (a series bound per
 * milestone), the timeline's bounded append, and the Kubernetes hook, which only marks the status for a write.
 * `repeated`: a remembered answer fetched again at once by the same client (HttpDeps.onServedRepeat), only counted.
 */
export function servedRecorder(
  metrics: Pick<BootMetrics, "bootMilestones">,
  timelines: BootTimelines,
  hook: ((event: ServedEvent, timeline: ConfigTimeline | undefined) => void) | undefined,
): { record: (event: ServedEvent) => void; repeated: (milestone: ServedEvent["milestone"]) => void } {
  const milestoneSeries = new Map<ServedEvent["milestone"], { inc(): void }>();
  const count = (milestone: ServedEvent["milestone"]): void => {
    let series = milestoneSeries.get(milestone);
    if (!series) {
      series = metrics.bootMilestones.bind({ milestone });
      milestoneSeries.set(milestone, series);
    }
    series.inc();
  };
  return {
    record: (event) => {
      count(event.milestone);
      const timeline = timelines.record(event);
      hook?.(event, timeline);
    },
    repeated: count,
  };
}
