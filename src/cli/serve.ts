// `boot-operator serve`: load resources, serve machines, reload on change, shut down gracefully.

import { join } from "node:path";
import { type Diagnosis, diagnoseHttpBootConfig, diagnoseIpxeBootConfig } from "../boot/diagnose.ts";
import { workerButaneTranslator } from "../boot/ignition.ts";
import { workerIpxeTemplateParser } from "../boot/ipxe-scripts.ts";
import type { ServedEvent } from "../boot/served.ts";
import { BootStore } from "../boot/store.ts";
import { buildTrustBundle, type CertificateFeed } from "../boot/trust-formats.ts";
import { createApp } from "../http/app.ts";
import type { HttpDeps } from "../http/context.ts";
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
import { createLogger, type Logger } from "../observability/log.ts";
import { type BootMetrics, createBootMetrics } from "../observability/metrics.ts";
import { DirectorySource } from "../sources/files/directory-source.ts";
import { EmbeddedSource } from "../sources/files/embedded-source.ts";
import { DEFAULT_PARSE_LIMITS } from "../sources/files/file-parser.ts";
import type { ResourceSource } from "../sources/types.ts";
import { COMMIT, VERSION } from "../version.ts";
import { UsageError } from "./flags.ts";
import { loadIpxeTemplate } from "./ipxe-template-file.ts";
import { bootConfigUrls, createOciRuntime, type OciRuntime } from "./oci-runtime.ts";
import type { ServeOptions } from "./options.ts";
import { fileCertificateFeed, loadCaFiles, ServingCertificate } from "./serving-certificate.ts";

/** Extension points the Kubernetes mode plugs into without the HTTP layer knowing about it. */
interface ServeHooks {
  source?: ResourceSource;
  /** The registry to export, when the caller registered metrics of its own in it (Kubernetes mode). */
  metrics?: BootMetrics;
  onServed?: (event: ServedEvent) => void;
  readiness?: () => string | null;
  onStarted?: (context: { store: BootStore; log: Logger; metrics: BootMetrics; oci: OciRuntime }) => Promise<void> | void;
  onShutdown?: () => Promise<void>;
  /** Where the HTTPS certificate comes from when it is not files (--tls-secret). */
  certificateFeed?: CertificateFeed;
  /** A refused certificate change or one about to expire (Kubernetes: a Warning Event on the Secret). */
  onCertificateProblem?: (reason: "CertificateReloadFailed" | "CertificateExpiringSoon", message: string) => void;
}

/** Configs diagnosed per event-loop turn when reporting a new generation (see reportDiagnoses). */
const DIAGNOSIS_SLICE = 500;

const HEALTH_PATHS = new Set(["/healthz", "/readyz"]);
/**
 * What the metrics listener serves (route patterns). With --metrics-listen on an address of its own these are
 * served there only: the boot port faces the provisioning network, which has no business reading them.
 */
const METRICS_LISTENER_PATHS: readonly string[] = ["/metrics"];
const isMetricsListenerPath = (path: string): boolean => matchesPathPattern(path, METRICS_LISTENER_PATHS);
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
    const configs = [...index.ipxeBootConfigs, ...index.httpBootConfigs];
    for (let start = 0; start < configs.length; start += DIAGNOSIS_SLICE) {
      if (start > 0) await new Promise((resolve) => setTimeout(resolve, 0));
      if (store.generation !== generation) return;
      for (const config of configs.slice(start, start + DIAGNOSIS_SLICE)) {
        diagnoses.push(config.kind === "IPXEBootConfig" ? diagnoseIpxeBootConfig(index, store, config) : diagnoseHttpBootConfig(index, store, config));
      }
    }
    const configsInError = diagnoses.filter((diagnosis) => diagnosis.state === "Error").length;
    for (const kind of ["IPXEBootConfig", "HTTPBootConfig"] as const) {
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
    void Promise.all([store.ignition.allSettled(), store.ipxeScripts.allSettled()]).then(() => reportDiagnoses(generation));
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
  const oci = await createOciRuntime(options, log, metrics, { generation: () => store.generation, urls: () => bootConfigUrls(store.index) });
  const staticDefaultUki = options["default-uki-url"];
  const deps: HttpDeps = {
    store,
    settings: {
      publicUrl: options["public-url"],
      trustedProxies: options["trusted-proxies"],
      forwardedFor: options["forwarded-for"],
      defaultUkiUrl: () => staticDefaultUki ?? oci.defaultUkiFromImage(),
      ukiDir: options["uki-dir"],
    },
    ipxeTemplate: template.current,
    metrics,
    log,
    onServed: (event) => {
      metrics.bootMilestones.inc({ milestone: event.milestone });
      hooks.onServed?.(event);
    },
    ...(hooks.readiness ? { readiness: hooks.readiness } : {}),
    imageProxy: oci.imageProxy,
    trust: () => certificate?.trust() ?? staticTrust,
  };
  const app = createApp(deps);
  // Listen before loading so /healthz answers at once; /readyz stays 503 until the first snapshot is in.
  // A metrics listener of its own takes its paths off the boot listeners (on the boot listener's address it is the same).
  const metricsElsewhere = options["metrics-listen"] !== undefined && !sides.onMain.includes("metrics");
  const bootListenerOptions = {
    idleTimeoutSeconds: options["idle-timeout"],
    ...(metricsElsewhere ? { allow: (path: string) => !isMetricsListenerPath(path) } : {}),
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
    const sideServer = startHttpServer(app, side.address, log, {
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
    await hooks.onShutdown?.().catch((error: Error) => log.error("shutdown hook failed", { error: error.message }));
    certificate?.stop();
    await source.stop().catch(() => {});
    template.close();
    butane.close();
    ipxeScripts.close();
    await oci.close();
    const running = [server, tlsServer, ...sideServers].filter((listener): listener is RunningServer => listener !== undefined);
    await Promise.all(running.map((listener) => listener.shutdown(options["shutdown-timeout"] * 1000)));
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

  await source.start((update) => store.apply(update));
  await hooks.onStarted?.({ store, log, metrics, oci });
  log.info("ready", { configs: store.index.configCount });
}
