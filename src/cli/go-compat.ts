// The Go operator's manager flags, mapped onto this binary's meaning. Pure: flags in, our settings and start-up
// notices out, so each mapping is unit-tested and listed in one place. Where a Go flag has no counterpart here it is
// still accepted (a Deployment written for the Go manager must start), with one warning naming the flag and why.

/** Controller names the Go manager's --controllers has known (ironcore-dev/controller-utils switches). */
const GO_CONTROLLERS = [
  "ipxebootconfig",
  "httpbootconfig",
  "serverbootconfigpxe",
  "serverbootconfighttp",
  "serverbootconfigvirtualmedia",
  // Older versions: the PXE translator before it was split by boot method, and the metal API's MachineBootConfiguration.
  "serverbootconfig",
  "machinebootconfighttp",
] as const;
type GoController = (typeof GO_CONTROLLERS)[number];

export interface Notice {
  flag: string;
  reason: string;
}

type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string };

/**
 * The switches semantics: comma-separated names enable, "-name" disables, "*" enables every controller (all are
 * enabled by default in the Go manager's list); without "*", only the named ones run. Unknown names are an error, as
 * they are for the Go manager.
 */
export function parseControllerSwitches(text: string): Parsed<Set<GoController>> {
  const items = text
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item !== "");
  const known = new Set<string>(GO_CONTROLLERS);
  for (const item of items) {
    const name = item.replace(/^-/, "");
    if (name !== "*" && !known.has(name)) return { ok: false, reason: `unknown controller "${name}" (known: ${GO_CONTROLLERS.join(", ")}, *)` };
  }
  const enabled = new Set<GoController>(items.includes("*") ? GO_CONTROLLERS : []);
  for (const item of items) {
    if (item === "*") continue;
    const name = item.replace(/^-/, "") as GoController;
    if (item.startsWith("-")) enabled.delete(name);
    else enabled.add(name);
  }
  return { ok: true, value: enabled };
}

interface ControllerPlan {
  /** Our status reconciler: IPXEBootConfig and HTTPBootConfig status (the Go ipxebootconfig/httpbootconfig controllers). */
  reconcileStatus: boolean;
  /** Our translator's modes (the Go serverbootconfigpxe/serverbootconfighttp controllers). */
  translator: { ipxe: boolean; httpboot: boolean };
  notices: Notice[];
}

export function planControllers(enabled: ReadonlySet<GoController>): ControllerPlan {
  const notices: Notice[] = [];
  const ipxeStatus = enabled.has("ipxebootconfig");
  const httpStatus = enabled.has("httpbootconfig");
  if (ipxeStatus !== httpStatus) {
    notices.push({
      flag: "--controllers",
      reason: `enables ${ipxeStatus ? "ipxebootconfig" : "httpbootconfig"} only: one status reconciler keeps both kinds' status here, so both are reconciled`,
    });
  }
  for (const name of ["serverbootconfigvirtualmedia", "machinebootconfighttp"] as const) {
    if (enabled.has(name)) notices.push({ flag: "--controllers", reason: `${name} has no counterpart here and does not run` });
  }
  return {
    reconcileStatus: ipxeStatus || httpStatus,
    translator: { ipxe: enabled.has("serverbootconfigpxe") || enabled.has("serverbootconfig"), httpboot: enabled.has("serverbootconfighttp") },
    notices,
  };
}

type LogLevelName = "debug" | "info" | "warn" | "error";

/**
 * controller-runtime's --zap-log-level: a level name, or a verbosity integer > 0 (more output; our debug). Levels
 * above error (dpanic, panic, fatal) log only what would crash the Go manager; errors are the closest here.
 */
export function zapLogLevel(text: string): Parsed<LogLevelName> {
  const level = text.trim().toLowerCase();
  if (level === "debug" || level === "info" || level === "warn" || level === "error") return { ok: true, value: level };
  if (level === "dpanic" || level === "panic" || level === "fatal") return { ok: true, value: "error" };
  if (/^\d+$/.test(level) && Number(level) > 0) return { ok: true, value: "debug" };
  return { ok: false, reason: "must be debug, info, warn, error, dpanic, panic, fatal or an integer > 0" };
}

/** The Go manager's public URL when --ipxe-service-url is not given: <protocol>://$IPXE_SERVER_ADDRESS:<port>. */
export function goServiceUrl(address: string, protocol: string | undefined, port: string | undefined): Parsed<string> {
  const scheme = protocol ?? "http";
  if (scheme !== "http" && scheme !== "https") return { ok: false, reason: "--ipxe-service-protocol must be http or https" };
  const portText = port ?? "5000";
  if (!/^\d{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) {
    return { ok: false, reason: "--ipxe-service-port must be a port number (1-65535)" };
  }
  const host = address.includes(":") && !address.startsWith("[") ? `[${address}]` : address;
  return { ok: true, value: `${scheme}://${host}:${portText}` };
}

const ZAP_ENCODERS = ["json", "console"];
const ZAP_STACKTRACE_LEVELS = ["info", "error", "panic"];
const ZAP_TIME_ENCODINGS = ["epoch", "millis", "nano", "iso8601", "rfc3339", "rfc3339nano"];
/** Our log lines carry ISO 8601 / RFC 3339 times with milliseconds: these Go encodings mean the same. */
const SAME_TIME_ENCODINGS = ["iso8601", "rfc3339", "rfc3339nano"];
const NO_COUNTERPART = ["machinebootconfig-namespace", "default-kernel-url", "default-initrd-url", "default-squashfs-url", "default-ipxe-server-url"];

/** What the Go flags given change nowhere else: values to reject, and notices for those with no effect here. */
export function goFlagNotices(flags: Readonly<Record<string, string | undefined>>, context: { kube: boolean; metricsListener: boolean }): Parsed<Notice[]> {
  const notices: Notice[] = [];
  const encoder = flags["zap-encoder"];
  if (encoder !== undefined) {
    if (!ZAP_ENCODERS.includes(encoder)) return { ok: false, reason: `--zap-encoder must be one of ${ZAP_ENCODERS.join(", ")}` };
    if (encoder === "console") notices.push({ flag: "--zap-encoder", reason: "log lines are always JSON, one object per line" });
  }
  const stacktrace = flags["zap-stacktrace-level"];
  if (stacktrace !== undefined) {
    if (!ZAP_STACKTRACE_LEVELS.includes(stacktrace)) return { ok: false, reason: `--zap-stacktrace-level must be one of ${ZAP_STACKTRACE_LEVELS.join(", ")}` };
    notices.push({ flag: "--zap-stacktrace-level", reason: "log lines carry no stack traces, except for request failures" });
  }
  const timeEncoding = flags["zap-time-encoding"];
  if (timeEncoding !== undefined) {
    if (!ZAP_TIME_ENCODINGS.includes(timeEncoding)) return { ok: false, reason: `--zap-time-encoding must be one of ${ZAP_TIME_ENCODINGS.join(", ")}` };
    if (!SAME_TIME_ENCODINGS.includes(timeEncoding)) notices.push({ flag: "--zap-time-encoding", reason: "log times are always RFC 3339 with milliseconds" });
  }
  if (flags["metrics-secure"] === "true") {
    notices.push({
      flag: "--metrics-secure",
      reason: "/metrics needs no authentication or authorization here (TLS only with --metrics-cert-path): limit who reaches the metrics port",
    });
  }
  if (flags["metrics-cert-path"] !== undefined && !context.metricsListener) {
    notices.push({ flag: "--metrics-cert-path", reason: "needs --metrics-listen (--metrics-bind-address): /metrics on --listen is plain HTTP" });
  }
  if (flags["enable-http2"] === "true") notices.push({ flag: "--enable-http2", reason: "every listener here speaks HTTP/1.1 only" });
  if (flags["image-server-url"] !== undefined) {
    notices.push({
      flag: "--image-server-url",
      reason: "translated UKI URLs always point at this server's image proxy (<public URL>/httpboot/…), which serves the same files",
    });
  }
  for (const flag of NO_COUNTERPART) {
    if (flags[flag] !== undefined) notices.push({ flag: `--${flag}`, reason: "an older Go operator's setting with no counterpart here" });
  }
  if (!context.kube) {
    for (const flag of ["controllers", "leader-elect"]) {
      if (flags[flag] !== undefined && flags[flag] !== "false") notices.push({ flag: `--${flag}`, reason: "only means something with --source kube" });
    }
  }
  return { ok: true, value: notices };
}
