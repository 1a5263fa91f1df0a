// A small Prometheus text-format registry. prom-client works too, but its default metrics are empty on Bun and we
// need only counters, gauges and one histogram; this keeps the hot path to a Map lookup and an increment.
import { readdirSync } from "node:fs";

type Labels = Readonly<Record<string, string>>;

function labelText(labels: Labels): string {
  const entries = Object.entries(labels);
  if (entries.length === 0) return "";
  return `{${entries.map(([key, value]) => `${key}="${value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`).join(",")}}`;
}

function seriesKey(labels: Labels): string {
  let key = "";
  for (const name in labels) key += `${name}\u0001${labels[name]}\u0002`;
  return key;
}

interface Metric {
  /** The metric names this renders (a histogram's one name, not its _bucket/_sum/_count series). */
  readonly names: readonly string[];
  render(out: string[]): void;
}

abstract class LabelledMetric<T> implements Metric {
  protected readonly series = new Map<string, { labels: Labels; value: T }>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: "counter" | "gauge" | "histogram",
  ) {}
  get names(): readonly string[] {
    return [this.name];
  }
  protected entry(labels: Labels, initial: () => T): { labels: Labels; value: T } {
    // A cheap key: callers pass label names in a fixed order per metric; escaping happens only when rendering.
    const key = seriesKey(labels);
    let found = this.series.get(key);
    if (!found) {
      found = { labels: { ...labels }, value: initial() };
      this.series.set(key, found);
    }
    return found;
  }
  render(out: string[]): void {
    out.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} ${this.type}`);
    this.renderSeries(out);
  }
  protected abstract renderSeries(out: string[]): void;
}

export class Counter extends LabelledMetric<number> {
  constructor(name: string, help: string) {
    super(name, help, "counter");
  }
  inc(labels: Labels = {}, by = 1): void {
    this.entry(labels, () => 0).value += by;
  }
  /** One series as a handle, for hot paths: no label key is built per increment. */
  bind(labels: Labels): { inc(by?: number): void } {
    const found = this.entry(labels, () => 0);
    return {
      inc: (by = 1) => {
        found.value += by;
      },
    };
  }
  get(labels: Labels = {}): number {
    return this.series.get(seriesKey(labels))?.value ?? 0;
  }
  protected renderSeries(out: string[]): void {
    for (const { labels, value } of this.series.values()) out.push(`${this.name}${labelText(labels)} ${value}`);
  }
}

class Gauge extends LabelledMetric<number> {
  constructor(name: string, help: string) {
    super(name, help, "gauge");
  }
  set(labels: Labels, value: number): void {
    this.entry(labels, () => 0).value = value;
  }
  protected renderSeries(out: string[]): void {
    for (const { labels, value } of this.series.values()) out.push(`${this.name}${labelText(labels)} ${value}`);
  }
}

interface HistogramState {
  /** One per configured bound, ascending; each count is cumulative (value <= bound), as Prometheus wants. */
  buckets: { bound: number; count: number }[];
  sum: number;
  count: number;
}

export class Histogram extends LabelledMetric<HistogramState> {
  constructor(
    name: string,
    help: string,
    private readonly buckets: readonly number[],
  ) {
    super(name, help, "histogram");
  }
  observe(labels: Labels, value: number): void {
    Histogram.record(this.state(labels), value);
  }
  /** One series as a handle, for hot paths: no label key is built per observation. */
  bind(labels: Labels): { observe(value: number): void } {
    const state = this.state(labels);
    return { observe: (value) => Histogram.record(state, value) };
  }
  private state(labels: Labels): HistogramState {
    return this.entry(labels, () => ({ buckets: this.buckets.map((bound) => ({ bound, count: 0 })), sum: 0, count: 0 })).value;
  }
  private static record(state: HistogramState, value: number): void {
    for (const bucket of state.buckets) if (value <= bucket.bound) bucket.count++;
    state.sum += value;
    state.count++;
  }
  protected renderSeries(out: string[]): void {
    for (const { labels, value } of this.series.values()) {
      for (const { bound, count } of value.buckets) out.push(`${this.name}_bucket${labelText({ ...labels, le: String(bound) })} ${count}`);
      out.push(`${this.name}_bucket${labelText({ ...labels, le: "+Inf" })} ${value.count}`);
      out.push(`${this.name}_sum${labelText(labels)} ${value.sum}`, `${this.name}_count${labelText(labels)} ${value.count}`);
    }
  }
}

/**
 * The process metrics Prometheus client libraries export by default (prom-client's are empty on Bun), read when
 * scraped: CPU, resident memory, open file descriptors (Linux) and start time.
 */
class ProcessMetrics implements Metric {
  readonly names = ["process_cpu_seconds_total", "process_resident_memory_bytes", "process_start_time_seconds", "process_open_fds"];
  private readonly startTimeSeconds = Math.round(Date.now() / 1000 - process.uptime());
  render(out: string[]): void {
    const cpu = process.cpuUsage();
    out.push(
      "# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.",
      "# TYPE process_cpu_seconds_total counter",
      `process_cpu_seconds_total ${(cpu.user + cpu.system) / 1e6}`,
      "# HELP process_resident_memory_bytes Resident memory size in bytes.",
      "# TYPE process_resident_memory_bytes gauge",
      `process_resident_memory_bytes ${process.memoryUsage.rss()}`,
      "# HELP process_start_time_seconds Start time of the process since unix epoch in seconds.",
      "# TYPE process_start_time_seconds gauge",
      `process_start_time_seconds ${this.startTimeSeconds}`,
    );
    const fds = openFileDescriptors();
    if (fds !== undefined) {
      out.push("# HELP process_open_fds Number of open file descriptors.", "# TYPE process_open_fds gauge", `process_open_fds ${fds}`);
    }
  }
}

function openFileDescriptors(): number | undefined {
  try {
    return readdirSync("/proc/self/fd").length;
  } catch {
    return undefined; // not Linux
  }
}

export interface Sample {
  labels: Labels;
  value: number;
}

/**
 * A counter or gauge whose samples are read from their owner when scraped (a reflector's counters, a queue's
 * length, whether this replica leads), so the owner needs no hook on every change. Without a collector it
 * renders only its HELP and TYPE: the name is declared, there is just nothing to report (directory mode).
 */
export class CollectedMetric implements Metric {
  private collector: (() => readonly Sample[]) | undefined;
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: "counter" | "gauge",
  ) {}
  get names(): readonly string[] {
    return [this.name];
  }
  collectFrom(collector: () => readonly Sample[]): void {
    this.collector = collector;
  }
  render(out: string[]): void {
    out.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} ${this.type}`);
    for (const { labels, value } of this.collector?.() ?? []) out.push(`${this.name}${labelText(labels)} ${value}`);
  }
}

class MetricsRegistry {
  private readonly metrics: Metric[] = [];
  register<M extends Metric>(metric: M): M {
    const taken = new Set(this.names());
    for (const name of metric.names) if (taken.has(name)) throw new Error(`internal: metric ${name} registered twice`);
    this.metrics.push(metric);
    return metric;
  }
  /** Every metric name this registry renders: what alert rules and dashboards may refer to. */
  names(): string[] {
    return this.metrics.flatMap((metric) => metric.names);
  }
  render(): string {
    const out: string[] = [];
    for (const metric of this.metrics) metric.render(out);
    return `${out.join("\n")}\n`;
  }
}

/** Every metric the appliance exports, created once and passed to whoever records. */
export function createBootMetrics(registry = new MetricsRegistry()) {
  return {
    registry,
    httpRequests: registry.register(new Counter("boot_operator_http_requests_total", "HTTP requests by route, method and status.")),
    httpDuration: registry.register(
      new Histogram(
        "boot_operator_http_request_duration_seconds",
        "Time to produce response headers, by route.",
        [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      ),
    ),
    httpResponseBytes: registry.register(
      new Counter(
        "boot_operator_http_response_bytes_total",
        "Response body bytes promised (Content-Length) by the download routes (files, blobs, certificates), by route.",
      ),
    ),
    bootMilestones: registry.register(new Counter("boot_operator_boot_milestones_total", "Boot steps served to machines, by milestone.")),
    buildInfo: registry.register(new Gauge("boot_operator_build_info", "1, labelled with the running version and commit.")),
    process: registry.register(new ProcessMetrics()),
    configs: registry.register(new Gauge("boot_operator_configs", "Boot configs loaded, by kind and state (Ready, Error).")),
    secrets: registry.register(new Gauge("boot_operator_secrets", "Secrets loaded.")),
    conflicts: registry.register(new Gauge("boot_operator_identifier_conflicts", "Identifiers claimed by more than one config of a kind.")),
    resourceProblems: registry.register(
      new Gauge(
        "boot_operator_resource_problems",
        "Current problems, by severity: resources the source could not load, and configs in Error (a missing or broken secret, a lost identifier).",
      ),
    ),
    bootRequestsFailed: registry.register(
      new Counter("boot_operator_boot_requests_failed_total", "Non-2xx answers on boot routes, by route and reason (unknown-machine has its own)."),
    ),
    reloads: registry.register(new Counter("boot_operator_resource_reloads_total", "Resource snapshots applied.")),
    forwardedForIgnored: registry.register(
      new Counter(
        "boot_operator_forwarded_for_ignored_total",
        "Requests whose X-Forwarded-For was not believed because the peer is outside --trusted-proxies, by route.",
      ),
    ),
    ignitionDenied: registry.register(new Counter("boot_operator_ignition_denied_total", "Ignition fetches refused under --ignition-access bound, by reason.")),
    ztpDenied: registry.register(new Counter("boot_operator_ztp_denied_total", "Switch ZTP payload fetches refused under --ignition-access bound, by reason.")),
    ignitionTokens: registry.register(
      new Counter("boot_operator_ignition_tokens_total", "Boot tokens put into iPXE scripts under --ignition-access bound, by outcome (issued, repeated)."),
    ),
    ignitionTokenContested: registry.register(
      new Counter(
        "boot_operator_ignition_token_contested_total",
        "iPXE script fetches answered without a token because another address holds the machine's boot window.",
      ),
    ),
    ignitionTranslations: registry.register(
      new Counter("boot_operator_ignition_renders_total", "Ignition answers computed (cache misses), by format and result."),
    ),
    certificateExpiry: registry.register(
      new Gauge("boot_operator_certificate_expiry_timestamp_seconds", "When a certificate expires (Unix seconds): the serving one, and each --ca-file anchor."),
    ),
    certificateReloadFailures: registry.register(
      new Counter(
        "boot_operator_certificate_reload_failures_total",
        "Changed serving certificates refused (unreadable, unparseable, key mismatch); the previous one stays.",
      ),
    ),
  };
}
export type BootMetrics = ReturnType<typeof createBootMetrics>;

/**
 * The Kubernetes mode's metrics, registered only there (directory mode has no leader, watches or status writes).
 * The collected ones are wired to their owners by the composition root (serve-kube.ts).
 */
export function createKubeMetrics(registry: BootMetrics["registry"]) {
  return {
    leader: registry.register(
      new CollectedMetric("boot_operator_leader", "1 while this replica runs the reconcilers (holds the Lease, or --leader-elect is off), else 0.", "gauge"),
    ),
    watchLastActivity: registry.register(
      new CollectedMetric(
        "boot_operator_watch_last_activity_timestamp_seconds",
        "When the API server last answered this resource's reflector (a LIST, a watch opened, an event or a bookmark), unix seconds; by resource.",
        "gauge",
      ),
    ),
    watchSynced: registry.register(
      new CollectedMetric("boot_operator_watch_synced", "1 once the resource was listed once (the cache is complete), by resource.", "gauge"),
    ),
    watchRelists: registry.register(
      new CollectedMetric(
        "boot_operator_watch_relists_total",
        "LISTs after the first, by resource and reason (expired: the watch's version was gone; resync: the periodic re-LIST).",
        "counter",
      ),
    ),
    watchRestarts: registry.register(
      new CollectedMetric(
        "boot_operator_watch_restarts_total",
        "Watches that ended and were opened again, by resource and reason (closed: the server ended it, as it does every few minutes; stalled: silent too long; expired; error).",
        "counter",
      ),
    ),
    statusWriteBacklog: registry.register(
      new CollectedMetric(
        "boot_operator_status_write_queue_depth",
        "Configs with fetches (IPXEScriptFetched, IgnitionDataFetched) not yet written to status.",
        "gauge",
      ),
    ),
    statusWriteDuration: registry.register(
      new Histogram(
        "boot_operator_status_write_duration_seconds",
        "Time of one served-status write (a server-side apply of the *Fetched conditions), by result.",
        [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      ),
    ),
    statusReconciles: registry.register(
      new CollectedMetric(
        "boot_operator_status_reconciles_total",
        "Status reconciles by outcome (planned: the status was compared with what it should say; echo: a status-only change that left our fields as last applied, not reconciled again).",
        "counter",
      ),
    ),
    kubeApiRequests: registry.register(
      new Counter(
        "boot_operator_kube_api_requests_total",
        "Requests to the API server by verb (GET, LIST, WATCH, POST, PUT, PATCH, DELETE) and code (HTTP status, <error> without an answer).",
      ),
    ),
  };
}
export type KubeMetrics = ReturnType<typeof createKubeMetrics>;
