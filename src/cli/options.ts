// Validated, typed options. Each flag's value is checked by a valibot schema whose message names the flag, so a
// typo in a unit file or env var stops the start with one clear line instead of a surprise at boot time.
import * as v from "valibot";
import { type Cidr, parseCidr } from "../api/canonical.ts";
import { UKI_URL_PATTERN } from "../api/formats.ts";
import { IGNITION_ACCESS_MODES } from "../boot/access/decision.ts";
import { FORWARDED_FOR_MODES } from "../boot/httpboot.ts";
import { type ListenAddress, parseListenAddress } from "../http/server.ts";
import { CLAIM_SCOPES } from "../index/boot-index.ts";
import { LOG_LEVELS } from "../observability/log.ts";
import { parseRedirectHostList } from "../oci/redirects.ts";
import { type ParsedArgs, type RawFlags, UsageError } from "./flags.ts";
import { goFlagNotices, goServiceUrl, type Notice, parseControllerSwitches, planControllers, zapLogLevel } from "./go-compat.ts";

type SourceSpec = { type: "dir"; directory: string } | { type: "kube" } | { type: "embedded" };

const sourceSchema = v.pipe(
  v.string(),
  v.transform((text): SourceSpec | null => {
    if (text === "kube") return { type: "kube" };
    if (text === "embedded:samples" || text === "embedded") return { type: "embedded" };
    if (text.startsWith("dir:") && text.length > 4) return { type: "dir", directory: text.slice(4) };
    return null;
  }),
  // guard, not check: it also narrows the output to SourceSpec.
  v.guard((value): value is SourceSpec => value !== null, "must be dir:PATH, kube or embedded:samples"),
);

/** A side listener (probes, metrics, image proxy): an address, or "0" for none, as controller-runtime reads it. */
const sideListenSchema = v.optional(
  v.pipe(
    v.string(),
    v.transform((text) => (text.trim() === "0" ? "off" : parseListenAddress(text))),
    v.check((value) => value !== null, "must be host:port, :port, [ipv6]:port or 0 (off)"),
    v.transform((value) => (value === "off" ? undefined : (value as ListenAddress))),
  ),
);

const controllersSchema = v.optional(
  v.pipe(
    v.string(),
    v.check(
      (text) => parseControllerSwitches(text).ok,
      (issue) => {
        const parsed = parseControllerSwitches(String(issue.input));
        return parsed.ok ? "" : `${parsed.reason}: comma-separated names, -name or *`;
      },
    ),
  ),
);

const publicUrlSchema = v.optional(
  v.pipe(
    v.string(),
    v.check(
      (text) => /^https?:\/\/[^\s/?#]+(\/[^\s?#]*)?$/.test(text) && URL.canParse(text),
      "must be an http(s) URL without query, e.g. http://10.0.0.5:8082",
    ),
    v.transform((text) => text.replace(/\/+$/, "")),
  ),
);

/** "a, b,,c" → ["a", "b", "c"]: the comma-separated list flags (--trusted-proxies, --ca-file). */
const commaListSchema = v.pipe(
  v.string(),
  v.transform((text) =>
    text
      .split(",")
      .map((part) => part.trim())
      .filter((part) => part !== ""),
  ),
);

const cidrListSchema = v.pipe(
  commaListSchema,
  v.transform((parts) => parts.map((part) => parseCidr(part))),
  v.guard((cidrs): cidrs is Cidr[] => cidrs.every((cidr) => cidr !== null), "must be comma-separated CIDRs or addresses, e.g. 10.0.0.0/8,fd00::/8"),
  // guard's output is (Cidr | null)[] & Cidr[]; expose the plain array type.
  v.transform((cidrs): Cidr[] => cidrs),
);

/** A number of `unit` between `min` and `max`, each bound said in words (valibot's own: "Expected >=0 but received -1"). */
const boundedNumber = (min: number, max: number, unit: string, whole: boolean) =>
  v.pipe(
    v.string(),
    v.transform(Number),
    v.number(`must be a number of ${unit}`),
    v.check((value) => !whole || Number.isInteger(value), `must be whole ${unit}`),
    v.minValue(min, `must be at least ${min} ${unit}`),
    v.maxValue(max, `must be at most ${max} ${unit}`),
  );

const secondsSchema = (min: number, max: number) => boundedNumber(min, max, "seconds", true);

const BYTE_UNITS: Readonly<Record<string, number>> = { "": 1, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3 };

/** Whole bytes, optionally with a Kubernetes-style binary suffix (Ki, Mi, Gi). */
const bytesSchema = (min: number, max: number) =>
  v.pipe(
    v.string(),
    v.regex(/^\d+(Ki|Mi|Gi)?$/, "must be bytes, e.g. 4194304 or 4Mi"),
    v.transform((text) => {
      const [, digits = "", unit = ""] = /^(\d+)(Ki|Mi|Gi)?$/.exec(text) ?? [];
      return Number(digits) * (BYTE_UNITS[unit] ?? 1);
    }),
    v.minValue(min, `must be at least ${min} bytes`),
    v.maxValue(max, `must be at most ${max} bytes`),
  );

const booleanSchema = v.pipe(
  v.string(),
  v.check((text) => ["true", "false", "1", "0", "yes", "no"].includes(text.toLowerCase()), "must be true or false"),
  v.transform((text) => ["true", "1", "yes"].includes(text.toLowerCase())),
);

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** "90s", "10m", "1h", "250ms", or plain seconds; in milliseconds. */
const durationSchema = (minMs: number, maxMs: number) =>
  v.pipe(
    v.string(),
    v.regex(/^\d+(\.\d+)?(ms|s|m|h)?$/, "must be a duration, e.g. 90s, 10m or 1h"),
    v.transform((text) => {
      const [, number = "", , unit = "s"] = /^(\d+(\.\d+)?)(ms|s|m|h)?$/.exec(text) ?? [];
      return Number(number) * (DURATION_UNITS[unit] ?? 1000);
    }),
    v.minValue(minMs, `must be at least ${minMs} ms`),
    v.maxValue(maxMs, `must be at most ${maxMs / 3_600_000} hours`),
  );

/** namespace/name of an IPXEBootConfig: the namespace a DNS label, the name a DNS subdomain. */
const defaultIpxeConfigSchema = v.optional(
  v.pipe(
    v.string(),
    v.regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?\/[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, "must be namespace/name of an IPXEBootConfig, e.g. default/discovery"),
  ),
);

const namespaceSchema = v.pipe(v.string(), v.regex(/^([a-z0-9]([-a-z0-9]*[a-z0-9])?)?$/, "must be a namespace name (or empty for all)"));

const optionalText = v.optional(v.pipe(v.string(), v.minLength(1, "must not be empty")));

/** The --ignition-access flags, shared by serve and explain. */
const ignitionAccessFields = {
  "ignition-access": v.picklist(IGNITION_ACCESS_MODES, `must be one of ${IGNITION_ACCESS_MODES.join(", ")}`),
  "token-key-file": optionalText,
  "token-ttl": v.pipe(
    durationSchema(60_000, 7 * 24 * 3_600_000),
    v.transform((ms) => Math.round(ms / 1000)),
  ),
  "token-uses": boundedNumber(1, 1000, "fetches", true),
};

export const serveOptionsSchema = v.object({
  source: sourceSchema,
  // "0": no plain-HTTP listener (HTTPS only); checked against --tls-listen in resolveServeOptions.
  listen: sideListenSchema,
  "tls-listen": sideListenSchema,
  "tls-cert-file": optionalText,
  "tls-key-file": optionalText,
  "tls-secret": v.optional(v.pipe(v.string(), v.regex(/^[a-z0-9-]+\/[a-z0-9.-]+$/, "must be namespace/name"))),
  "ca-file": v.optional(commaListSchema, ""),
  "public-url": publicUrlSchema,
  "uki-dir": optionalText,
  "ztp-onie-at-root": booleanSchema,
  "trusted-proxies": cidrListSchema,
  "forwarded-for": v.picklist(FORWARDED_FOR_MODES, `must be one of ${FORWARDED_FOR_MODES.join(", ")}`),
  "default-uki-url": v.optional(v.pipe(v.string(), v.regex(UKI_URL_PATTERN, "must be an http(s) URL or a path starting with /"))),
  "default-ipxe-config": defaultIpxeConfigSchema,
  "ipxe-template": optionalText,
  architecture: v.picklist(["amd64", "arm64"], "must be amd64 or arm64"),
  "log-level": v.picklist(LOG_LEVELS, `must be one of ${LOG_LEVELS.join(", ")}`),
  "max-resource-bytes": bytesSchema(1024, 1024 ** 3),
  "parse-timeout": boundedNumber(0.1, 3600, "seconds", false),
  "translate-timeout": boundedNumber(0.01, 3600, "seconds", false),
  "shutdown-timeout": secondsSchema(0, 3600),
  "idle-timeout": secondsSchema(1, 255),
  kubeconfig: optionalText,
  "kube-api-qps": boundedNumber(1, 100_000, "requests per second", false),
  "kube-api-burst": boundedNumber(1, 100_000, "requests", true),
  namespace: namespaceSchema,
  "secret-label-selector": v.string(),
  "watch-stall-timeout": secondsSchema(1, 3600),
  "boot-stall-timeout": durationSchema(100, 7 * 24 * 3_600_000),
  "allowed-registries": v.pipe(
    v.string(),
    v.check((text) => text.split(",").some((part) => part.trim() !== ""), "must name at least one registry"),
    v.check(
      (text) => text.split(",").every((part) => /^[A-Za-z0-9.-]+(:\d{1,5})?$/.test(part.trim()) || part.trim() === ""),
      "must be host or host:port names, comma-separated",
    ),
  ),
  "insecure-registries": v.pipe(
    v.string(),
    v.transform((text) =>
      text
        .split(",")
        .map((part) => part.trim())
        .filter((part) => part !== ""),
    ),
    v.check((parts) => parts.every((part) => /^[A-Za-z0-9.-]+(:\d{1,5})?$/.test(part)), "must be host or host:port names, comma-separated"),
  ),
  "allowed-redirect-hosts": v.pipe(
    v.string(),
    v.check((text) => {
      try {
        parseRedirectHostList(text);
        return true;
      } catch {
        return false;
      }
    }, "must be host, host:port or .domain-suffix entries, comma-separated"),
  ),
  "max-blob-bytes": bytesSchema(1, 2 ** 50),
  "upstream-stall-timeout": boundedNumber(0.05, 3600, "seconds", false),
  "blob-cache-dir": optionalText,
  "blob-cache-size": boundedNumber(1, Number.MAX_SAFE_INTEGER, "MiB", true),
  "default-httpboot-oci-image": optionalText,
  "registry-credentials-secret": v.optional(v.pipe(v.string(), v.regex(/^[a-z0-9-]+\/[a-z0-9.-]+$/, "must be namespace/name"))),
  "registry-credentials-refresh": secondsSchema(1, 3600),
  "translator-modes": v.pipe(
    v.string(),
    v.transform((text) =>
      text
        .split(",")
        .map((part) => part.trim())
        .filter((part) => part !== ""),
    ),
    v.check((parts) => parts.every((part) => part === "ipxe" || part === "httpboot"), "must be ipxe, httpboot or ipxe,httpboot"),
    v.transform((parts) => ({ ipxe: parts.includes("ipxe"), httpboot: parts.includes("httpboot") })),
  ),
  "leader-elect": booleanSchema,
  "leader-election-namespace": v.string(),
  "leader-election-id": v.pipe(v.string(), v.regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, "must be a Lease name")),
  "health-probe-bind-address": sideListenSchema,
  "metrics-listen": sideListenSchema,
  "image-proxy-server-address": sideListenSchema,
  "metrics-cert-path": optionalText,
  "metrics-cert-name": v.pipe(v.string(), v.minLength(1, "must not be empty")),
  "metrics-cert-key": v.pipe(v.string(), v.minLength(1, "must not be empty")),
  controllers: controllersSchema,
  "claim-scope": v.picklist(CLAIM_SCOPES, `must be one of ${CLAIM_SCOPES.join(", ")}`),
  ...ignitionAccessFields,
  "token-secret": v.optional(v.pipe(v.string(), v.regex(/^([a-z0-9-]+\/)?[a-z0-9.-]+$/, "must be name or namespace/name"))),
});

/** Validated flags plus what the Go operator's flags mean here (see go-compat.ts). */
export type ServeOptions = v.InferOutput<typeof serveOptionsSchema> & {
  /** Whether the status reconciler runs; only --controllers can turn it off. */
  "reconcile-status": boolean;
  /** Started the Go manager's way (flags without a command). */
  "go-manager": boolean;
  /** Go flags with no effect here: logged once each at start. */
  notices: Notice[];
};

/**
 * `serve`'s options: each flag validated, then the Go manager's flags folded into ours (--controllers into the
 * status reconciler and --translator-modes, --zap-* into --log-level, $IPXE_SERVER_ADDRESS with
 * --ipxe-service-protocol/--ipxe-service-port into --public-url). Explicitly given flags of ours win.
 */
export function resolveServeOptions(parsed: Pick<ParsedArgs, "flags" | "explicit">, env: Record<string, string | undefined>, goManager = false): ServeOptions {
  const { flags, explicit } = parsed;
  const adjusted: RawFlags = { ...flags };
  const errors: string[] = [];
  if (!explicit.has("log-level")) {
    const zap = flags["zap-log-level"];
    if (zap !== undefined) {
      const level = zapLogLevel(zap);
      if (level.ok) adjusted["log-level"] = level.value;
      else errors.push(`--zap-log-level ${JSON.stringify(zap)}: ${level.reason}`);
    } else if (flags["zap-devel"] !== undefined) adjusted["log-level"] = ["true", "1"].includes(flags["zap-devel"]) ? "debug" : "info";
  }
  const serviceAddress = env.IPXE_SERVER_ADDRESS;
  const goPortGiven = explicit.has("ipxe-service-port") || explicit.has("ipxe-service-protocol");
  if (flags["public-url"] === undefined && serviceAddress) {
    const url = goServiceUrl(serviceAddress, flags["ipxe-service-protocol"], flags["ipxe-service-port"]);
    if (url.ok) adjusted["public-url"] = url.value;
    else errors.push(url.reason);
  }
  if (errors.length > 0) throw new UsageError(errors.join("\n"));
  const options = validateFlags(serveOptionsSchema, adjusted);
  const tlsProblem = tlsFlagProblem(options);
  if (tlsProblem) throw new UsageError(tlsProblem);
  const notices: Notice[] = [];
  if (flags["public-url"] === undefined && !serviceAddress && goPortGiven) {
    notices.push({
      flag: explicit.has("ipxe-service-port") ? "--ipxe-service-port" : "--ipxe-service-protocol",
      reason: "builds the public URL only with $IPXE_SERVER_ADDRESS set (the Go manager would not start without it); URLs come from each request's Host header",
    });
  }
  if (options["token-secret"] && options.source.type !== "kube") throw new UsageError("--token-secret needs --source kube; use --token-key-file");
  if (options["token-secret"] && options["token-key-file"]) throw new UsageError("--token-secret and --token-key-file both name the boot token keys: give one");
  const others = goFlagNotices(flags, { kube: options.source.type === "kube", metricsListener: options["metrics-listen"] !== undefined });
  if (!others.ok) throw new UsageError(others.reason);
  notices.push(...others.value);
  let reconcileStatus = true;
  if (options.controllers !== undefined) {
    const switches = parseControllerSwitches(options.controllers);
    if (!switches.ok) throw new UsageError(`--controllers: ${switches.reason}`);
    const plan = planControllers(switches.value);
    reconcileStatus = plan.reconcileStatus;
    notices.push(...plan.notices);
    const modes = options["translator-modes"];
    if (explicit.has("translator-modes") && (modes.ipxe !== plan.translator.ipxe || modes.httpboot !== plan.translator.httpboot)) {
      throw new UsageError("--translator-modes and --controllers disagree about the translator: give one of them");
    }
    options["translator-modes"] = plan.translator;
  }
  return { ...options, "reconcile-status": reconcileStatus, "go-manager": goManager, notices };
}

/** The TLS flags that only make sense together, as one line naming the flags; null when they fit. */
function tlsFlagProblem(options: v.InferOutput<typeof serveOptionsSchema>): string | null {
  const files = options["tls-cert-file"] !== undefined || options["tls-key-file"] !== undefined;
  const secret = options["tls-secret"] !== undefined;
  if (options.listen === undefined && options["tls-listen"] === undefined) return "--listen 0 turns the plain-HTTP listener off: give --tls-listen then";
  if (options["tls-listen"] === undefined) return files || secret ? "--tls-cert-file/--tls-key-file/--tls-secret need --tls-listen" : null;
  if (files && secret) return "give --tls-cert-file/--tls-key-file or --tls-secret, not both";
  if (secret) return options.source.type === "kube" ? null : "--tls-secret needs --source kube (use --tls-cert-file and --tls-key-file otherwise)";
  if (options["tls-cert-file"] === undefined || options["tls-key-file"] === undefined)
    return "--tls-listen needs --tls-cert-file and --tls-key-file (or --tls-secret)";
  return null;
}

/** Validates flags with `schema`; all problems at once, each naming its flag. */
export function validateFlags<TSchema extends v.GenericSchema>(schema: TSchema, flags: RawFlags): v.InferOutput<TSchema> {
  const result = v.safeParse(schema, flags);
  if (result.success) return result.output;
  const messages = result.issues.map((issue) => {
    const flag = v.getDotPath(issue) ?? "?";
    const received = flags[flag];
    return `--${flag}${received === undefined ? "" : ` ${JSON.stringify(received)}`}: ${plainIssue(issue)}`;
  });
  throw new UsageError(messages.join("\n"));
}

/**
 * Every check above has its own message; this is the net for one that does not, so valibot's defaults ("Invalid
 * value: Expected >=0 but received -1") never reach an operator.
 */
function plainIssue(issue: v.BaseIssue<unknown>): string {
  if (!issue.message.startsWith("Invalid ")) return issue.message;
  switch (issue.type) {
    case "min_value":
      return `must be at least ${String(issue.requirement)}`;
    case "max_value":
      return `must be at most ${String(issue.requirement)}`;
    case "picklist":
      return `must be one of ${(issue.expected ?? "").replace(/[()"]/g, "").replaceAll(" | ", ", ")}`;
    default:
      return "is not a valid value for this flag (see --help)";
  }
}

export const explainOptionsSchema = v.object({
  source: sourceSchema,
  "public-url": publicUrlSchema,
  "trusted-proxies": cidrListSchema,
  "default-uki-url": v.optional(v.string()),
  "default-ipxe-config": defaultIpxeConfigSchema,
  "log-level": v.picklist(LOG_LEVELS, `must be one of ${LOG_LEVELS.join(", ")}`),
  kubeconfig: optionalText,
  namespace: namespaceSchema,
  "secret-label-selector": v.string(),
  uuid: v.optional(v.string()),
  mac: v.optional(v.string()),
  ip: v.optional(v.string()),
  token: v.optional(v.string()),
  ...ignitionAccessFields,
  serial: v.optional(v.string()),
});
export type ExplainOptions = v.InferOutput<typeof explainOptionsSchema>;
