// Command-line flags: one table drives parsing, BOOT_OPERATOR_* environment fallbacks, Go-operator aliases and
// --help, so the three can never disagree. Values are validated afterwards by valibot schemas (options.ts).
// The Go operator's own flags are in the table too (group "go"), so a Deployment written for its manager starts
// this binary unchanged; options.ts maps each onto ours or explains at start why it has no effect here.

import { DEFAULT_ALLOWED_REDIRECT_HOSTS } from "../oci/redirects.ts";

export type CommandName = "serve" | "validate" | "explain" | "version";

interface FlagSpec {
  name: string;
  /** Names the Go boot-operator used for the same meaning; accepted so existing unit files keep working. */
  aliases?: readonly string[];
  boolean?: boolean;
  /** May be given more than once; the values are joined with commas (as the environment variable lists them). */
  repeatable?: boolean;
  valueName?: string;
  defaultValue?: string;
  /**
   * Default when the binary is run the Go manager's way (flags without a command, as `/manager --leader-elect`):
   * the Go operator's default where its Deployments rely on it (probes on :8081, the image proxy on :8083).
   */
  goDefault?: string;
  /** "go": a Go operator flag, listed apart in --help. */
  group?: "go";
  description: string;
  commands: readonly CommandName[];
}

export const FLAGS: readonly FlagSpec[] = [
  {
    name: "source",
    valueName: "SOURCE",
    defaultValue: "embedded:samples",
    goDefault: "kube",
    description:
      "where resources come from: dir:PATH (YAML/JSON files, live reload), kube (API server), embedded:samples; run without a command (as the Go manager) it is kube",
    commands: ["serve", "explain"],
  },
  {
    name: "listen",
    // boot-server-address: the Go operator's; ipxe-server-address: its predecessor's (ipxe-operator).
    aliases: ["boot-server-address", "ipxe-server-address"],
    valueName: "ADDR",
    defaultValue: ":8082",
    description: "address the boot server listens on (plain HTTP), host:port; 0: off (HTTPS only, needs --tls-listen)",
    commands: ["serve"],
  },
  {
    name: "tls-listen",
    valueName: "ADDR",
    description:
      "also serve every endpoint over HTTPS on this address, e.g. :8443 (needs --tls-cert-file and --tls-key-file, or --tls-secret); 0 or unset: off",
    commands: ["serve"],
  },
  {
    name: "tls-cert-file",
    valueName: "FILE",
    description: "PEM certificate chain (leaf first) for --tls-listen; reloaded when it changes (also through a symlink swap)",
    commands: ["serve"],
  },
  { name: "tls-key-file", valueName: "FILE", description: "PEM private key of --tls-cert-file; reloaded with it", commands: ["serve"] },
  {
    name: "tls-secret",
    valueName: "NS/NAME",
    description: "kubernetes.io/tls Secret (tls.crt, tls.key, optional ca.crt) for --tls-listen, watched and rotated live (--source kube)",
    commands: ["serve"],
  },
  {
    name: "ca-file",
    repeatable: true,
    valueName: "FILE",
    description: "PEM bundle of CAs machines should trust, served under /certs/ with the serving chain's root; repeatable or comma-separated",
    commands: ["serve"],
  },
  {
    name: "public-url",
    aliases: ["ipxe-service-url"],
    valueName: "URL",
    description: "URL machines use to reach this server (in iPXE scripts and kernel arguments); default: the request's Host",
    commands: ["serve", "explain"],
  },
  { name: "uki-dir", valueName: "DIR", description: "directory served under /uki/ (UKIs, kernels, initrds)", commands: ["serve"] },
  {
    name: "ztp-onie-at-root",
    boolean: true,
    defaultValue: "false",
    description: "also answer ONIE's installer and updater names (onie-installer*, onie-updater*) at / — ONIE's HTTP discovery asks http://<server>/<name>",
    commands: ["serve"],
  },
  {
    name: "trusted-proxies",
    valueName: "CIDRS",
    defaultValue: "",
    description: "comma-separated CIDRs whose X-Forwarded-For names the booting machine (DHCP servers, relays)",
    commands: ["serve", "explain"],
  },
  {
    name: "forwarded-for",
    valueName: "MODE",
    defaultValue: "fedhcp",
    description:
      "how a trusted proxy's X-Forwarded-For is read: fedhcp (every entry names the machine: FeDHCP's \"IP, MAC\") or rightmost (only the right-most entry outside --trusted-proxies: nginx, HAProxy, Envoy appending to the client's header)",
    commands: ["serve"],
  },
  {
    name: "default-uki-url",
    aliases: ["default-httpboot-uki-url"],
    valueName: "URL",
    description: "UKI URL /httpboot answers for machines without an HTTPBootConfig",
    commands: ["serve", "explain"],
  },
  {
    name: "default-ipxe-config",
    valueName: "NS/NAME",
    description:
      "IPXEBootConfig whose script /ipxe/{uuid} serves machines no config names (a discovery or rescue image), as --default-uki-url does for /httpboot",
    commands: ["serve", "explain"],
  },
  {
    name: "ipxe-template",
    valueName: "FILE",
    description: "replacement for the default iPXE script template (reloaded on change)",
    commands: ["serve", "validate"],
  },
  {
    name: "architecture",
    valueName: "ARCH",
    defaultValue: "amd64",
    description: "machine architecture for OCI boot images: amd64 or arm64",
    commands: ["serve"],
  },
  {
    name: "allowed-registries",
    valueName: "CSV",
    defaultValue: "ghcr.io",
    description: "OCI registries boot images may come from (image proxy, translator, default UKI); Docker Hub aliases are equal",
    commands: ["serve"],
  },
  { name: "insecure-registries", valueName: "CSV", defaultValue: "", description: "registries spoken to over plain HTTP (host:port)", commands: ["serve"] },
  { name: "blob-cache-dir", valueName: "DIR", description: "on-disk cache for proxied boot blobs (by digest); off when unset", commands: ["serve"] },
  {
    name: "blob-cache-size",
    valueName: "MIB",
    defaultValue: "10240",
    description: "size limit of --blob-cache-dir in MiB (least recently used blobs are evicted)",
    commands: ["serve"],
  },
  {
    name: "allowed-redirect-hosts",
    valueName: "CSV",
    defaultValue: DEFAULT_ALLOWED_REDIRECT_HOSTS,
    description:
      "hosts registries may redirect blob downloads to, besides --allowed-registries: host, host:port or .suffix (any sub-domain); the default is ghcr.io's and Docker Hub's blob storage; add e.g. .quay.io, .storage.googleapis.com, .amazonaws.com for those registries; loopback, link-local and own addresses only when listed exactly",
    commands: ["serve"],
  },
  {
    name: "max-blob-bytes",
    valueName: "BYTES",
    defaultValue: "8Gi",
    description: "largest blob the image proxy passes on, e.g. 8Gi; a bigger (or endless) blob is cut off and not cached",
    commands: ["serve"],
  },
  {
    name: "upstream-stall-timeout",
    valueName: "SECONDS",
    defaultValue: "30",
    description: "cut a blob download from a registry that sent nothing for this long (later requests start afresh)",
    commands: ["serve"],
  },
  {
    name: "default-httpboot-oci-image",
    valueName: "IMAGE",
    description: "OCI image whose UKI /httpboot answers for unknown machines (resolved at start, refreshed every 5 min)",
    commands: ["serve"],
  },
  {
    name: "registry-credentials-secret",
    valueName: "NS/NAME",
    description: "kubernetes.io/dockerconfigjson Secret with pull credentials (--source kube)",
    commands: ["serve"],
  },
  {
    name: "registry-credentials-refresh",
    valueName: "SECONDS",
    defaultValue: "60",
    description: "how often --registry-credentials-secret is re-read: a rotated password takes effect within this",
    commands: ["serve"],
  },
  {
    name: "translator-modes",
    valueName: "MODES",
    defaultValue: "",
    description: "turn ServerBootConfigurations (metal.ironcore.dev) into boot configs: ipxe, httpboot or ipxe,httpboot (--source kube); empty: off",
    commands: ["serve"],
  },
  {
    name: "max-resource-bytes",
    valueName: "BYTES",
    defaultValue: "4Mi",
    description: "largest resource file read (--source dir:), e.g. 4194304 or 4Mi; a bigger file is an error on that file",
    commands: ["serve"],
  },
  {
    name: "parse-timeout",
    valueName: "SECONDS",
    defaultValue: "5",
    description: "time budget for decoding one resource file (--source dir:), e.g. 5 or 0.5; a file that takes longer is an error on that file",
    commands: ["serve"],
  },
  {
    name: "translate-timeout",
    valueName: "SECONDS",
    // A legitimate Secret near Kubernetes' 1 MiB limit took 5-13 s on a loaded 2-core machine: 10 s would refuse it.
    defaultValue: "30",
    description:
      "time budget for translating one Butane secret or parsing one custom iPXE script template, e.g. 30 or 0.5; one that takes longer is an error on that secret",
    commands: ["serve"],
  },
  {
    name: "ignition-access",
    valueName: "MODE",
    defaultValue: "open",
    description:
      "who may fetch /ignition/{uuid}: open (anyone who knows the UUID; warned at start) or bound (only one of the config's own addresses, or whoever holds the boot token its iPXE script carried; others get 403; switch ZTP payloads only to their systemIPs)",
    commands: ["serve", "explain"],
  },
  {
    name: "token-key-file",
    valueName: "FILE",
    description:
      "boot token HMAC keys for --ignition-access bound: one key per line (at least 32 bytes each, e.g. `openssl rand -base64 48`), the first signs, a second is still accepted (rotation); re-read when it changes; unset (and no --token-secret): a random key per process, so tokens die with it",
    commands: ["serve", "explain"],
  },
  {
    name: "token-secret",
    valueName: "[NS/]NAME",
    description:
      "Secret with the boot token keys in data keys `current` and `previous` (--source kube; read from the watched Secrets, so it must match --secret-label-selector; NAME alone: --namespace, else the pod's); replaces --token-key-file; must exist at start",
    commands: ["serve"],
  },
  {
    name: "token-ttl",
    valueName: "DURATION",
    defaultValue: "1h",
    description: "how long a boot token stays valid: seconds, or with s, m, h (e.g. 90m)",
    commands: ["serve", "explain"],
  },
  {
    name: "token-uses",
    valueName: "N",
    defaultValue: "3",
    description: "Ignition fetches one boot token allows (Ignition retries), counted per replica",
    commands: ["serve", "explain"],
  },
  {
    name: "log-level",
    valueName: "LEVEL",
    defaultValue: "info",
    description: "debug (one line per request), info (boot milestones), warn, error",
    commands: ["serve", "validate", "explain"],
  },
  {
    name: "shutdown-timeout",
    valueName: "SECONDS",
    defaultValue: "30",
    description: "on SIGTERM, how long shutdown may take: in-flight downloads finish and the last status writes go out meanwhile",
    commands: ["serve"],
  },
  { name: "idle-timeout", valueName: "SECONDS", defaultValue: "30", description: "close connections idle this long (1-255)", commands: ["serve"] },
  {
    name: "kubeconfig",
    valueName: "FILE",
    description:
      "kubeconfig for --source kube (default: $KUBECONFIG, then ~/.kube/config, then the in-cluster service account; none of them: exit 2 naming where it looked)",
    commands: ["serve", "explain"],
  },
  {
    name: "kube-api-qps",
    valueName: "QPS",
    defaultValue: "1000",
    description:
      "requests per second to the API server (--source kube; token bucket as client-go's, watches not counted); 20 000 status writes at start-up take about 20 s at the defaults",
    commands: ["serve"],
  },
  {
    name: "kube-api-burst",
    valueName: "N",
    defaultValue: "2000",
    description: "requests to the API server allowed at once above --kube-api-qps (the token bucket's size)",
    commands: ["serve"],
  },
  {
    name: "namespace",
    valueName: "NS",
    defaultValue: "",
    description: "watch only this namespace (--source kube); empty: all namespaces",
    commands: ["serve", "explain"],
  },
  {
    name: "secret-label-selector",
    valueName: "SELECTOR",
    defaultValue: "",
    description: "watch only Secrets matching this label selector (--source kube); empty: all Secrets in scope",
    commands: ["serve", "explain"],
  },
  {
    name: "watch-stall-timeout",
    valueName: "SECONDS",
    defaultValue: "300",
    description: "restart a watch that delivered no event or bookmark for this long (dead connections behind load balancers)",
    commands: ["serve"],
  },
  {
    name: "boot-stall-timeout",
    valueName: "DURATION",
    defaultValue: "10m",
    description:
      "a boot with no new milestone for this long (e.g. script served, no Ignition since) counts as stalled: condition BootProgressing=False in Kubernetes mode, /debug/machines on the --metrics-bind-address listener (not served without one); 90s, 10m, 1h",
    commands: ["serve"],
  },
  {
    name: "claim-scope",
    valueName: "SCOPE",
    defaultValue: "cluster",
    description:
      "where a machine's identifiers (UUID, IP, MAC) must be unique: cluster (any two configs conflict; the holder keeps them) or namespace (a config never takes identifiers another namespace holds: for namespaces that are tenants)",
    commands: ["serve"],
  },
  {
    name: "leader-elect",
    boolean: true,
    defaultValue: "false",
    description: "run reconcilers only on the replica holding the Lease (--source kube)",
    commands: ["serve"],
  },
  {
    name: "leader-election-id",
    valueName: "NAME",
    defaultValue: "boot-operator-leader",
    goDefault: "e9f0940b.ironcore.dev",
    description: "name of the leader Lease; run as the Go manager it is the Go operator's, so a rolling update from it never has two leaders",
    commands: ["serve"],
  },
  {
    name: "leader-election-namespace",
    valueName: "NS",
    defaultValue: "",
    description: "namespace of the leader Lease (default: --namespace, else the pod's, else default)",
    commands: ["serve"],
  },
  {
    name: "metrics-listen",
    // The Go operator's name for its metrics port.
    aliases: ["metrics-bind-address"],
    valueName: "ADDR",
    goDefault: ":8080",
    description: "serve /metrics (and /debug/…) on this address only, not on --listen, so they need not face the provisioning network; unset or 0: on --listen",
    commands: ["serve"],
  },
  // The Go operator's flags (cmd/main.go, every version): mapped onto ours, or accepted with one warning at start.
  {
    name: "health-probe-bind-address",
    group: "go",
    valueName: "ADDR",
    goDefault: ":8081",
    description: "also serve /healthz and /readyz on this address (the Go manager's probe port; 0: off); they stay on --listen",
    commands: ["serve"],
  },
  {
    name: "metrics-secure",
    group: "go",
    boolean: true,
    goDefault: "true",
    description: "Go: authenticated HTTPS metrics; here metrics need no authentication (warned when true); TLS comes from --metrics-cert-path",
    commands: ["serve"],
  },
  {
    name: "metrics-cert-path",
    group: "go",
    valueName: "DIR",
    description: "serve --metrics-listen over HTTPS with the certificate and key in this directory (read at start)",
    commands: ["serve"],
  },
  {
    name: "metrics-cert-name",
    group: "go",
    valueName: "FILE",
    defaultValue: "tls.crt",
    description: "certificate file in --metrics-cert-path",
    commands: ["serve"],
  },
  { name: "metrics-cert-key", group: "go", valueName: "FILE", defaultValue: "tls.key", description: "key file in --metrics-cert-path", commands: ["serve"] },
  {
    name: "enable-http2",
    group: "go",
    boolean: true,
    defaultValue: "false",
    description: "Go: HTTP/2 for the metrics server; here everything speaks HTTP/1.1 (warned when true)",
    commands: ["serve"],
  },
  {
    name: "image-proxy-server-address",
    group: "go",
    valueName: "ADDR",
    goDefault: ":8083",
    description: "also serve the image proxy (/image, /httpboot/…) on this address, as the Go operator does (0: off); it stays on --listen",
    commands: ["serve"],
  },
  {
    name: "controllers",
    group: "go",
    valueName: "LIST",
    description:
      "Go controller switches (name, -name, *): ipxebootconfig/httpbootconfig = the status reconciler, serverbootconfigpxe/serverbootconfighttp = --translator-modes ipxe/httpboot",
    commands: ["serve"],
  },
  {
    name: "ipxe-service-port",
    group: "go",
    valueName: "PORT",
    description: "with $IPXE_SERVER_ADDRESS and no --public-url: public URL <protocol>://$IPXE_SERVER_ADDRESS:<port> (Go default port 5000)",
    commands: ["serve"],
  },
  {
    name: "ipxe-service-protocol",
    group: "go",
    valueName: "PROTO",
    description: "scheme of that public URL: http or https (default http)",
    commands: ["serve"],
  },
  {
    name: "image-server-url",
    group: "go",
    valueName: "URL",
    description: "Go: base of translated UKI URLs; here they always point at this server's image proxy (warned)",
    commands: ["serve"],
  },
  {
    name: "zap-log-level",
    group: "go",
    valueName: "LEVEL",
    description: "--log-level by its Go name: debug, info, error, panic (= error) or a verbosity number (= debug)",
    commands: ["serve"],
  },
  {
    name: "zap-devel",
    group: "go",
    boolean: true,
    description: "Go development logging: debug level unless a level is given; lines stay JSON",
    commands: ["serve"],
  },
  { name: "zap-encoder", group: "go", valueName: "json|console", description: "lines are always JSON (console warned)", commands: ["serve"] },
  { name: "zap-stacktrace-level", group: "go", valueName: "LEVEL", description: "accepted, no effect (warned)", commands: ["serve"] },
  {
    name: "zap-time-encoding",
    group: "go",
    valueName: "ENCODING",
    description: "times are always RFC 3339 (warned unless iso8601/rfc3339/rfc3339nano)",
    commands: ["serve"],
  },
  {
    name: "machinebootconfig-namespace",
    group: "go",
    valueName: "NS",
    description: "older Go versions' MachineBootConfiguration controller, which has no counterpart: accepted, no effect (warned)",
    commands: ["serve"],
  },
  ...["default-kernel-url", "default-initrd-url", "default-squashfs-url", "default-ipxe-server-url"].map(
    (name): FlagSpec => ({
      name,
      group: "go",
      valueName: "URL",
      description: "ipxe-operator (the Go operator's predecessor) default script data: accepted, no effect (warned)",
      commands: ["serve"],
    }),
  ),
  { name: "uuid", valueName: "UUID", description: "machine UUID to explain", commands: ["explain"] },
  { name: "mac", valueName: "MAC", description: "machine MAC address to explain", commands: ["explain"] },
  { name: "ip", valueName: "IP", description: "machine IP address to explain (also: the requester of /ignition)", commands: ["explain"] },
  { name: "token", valueName: "TOKEN", description: "boot token the requester presents on /ignition/{uuid}", commands: ["explain"] },
  { name: "serial", valueName: "SERIAL", description: "switch serial number to explain (SwitchBootConfig, /ztp)", commands: ["explain"] },
  { name: "help", boolean: true, defaultValue: "false", description: "show help for the command", commands: ["serve", "validate", "explain", "version"] },
];

export function envName(flag: string): string {
  return `BOOT_OPERATOR_${flag.toUpperCase().replace(/-/g, "_")}`;
}

/** BOOT_OPERATOR_* variables that configure the test tooling (scripts/, test/harness), not the binary. */
const TOOLING_VARIABLES = new Set(["BOOT_OPERATOR_CACHE", "BOOT_OPERATOR_BINARY", "BOOT_OPERATOR_CONTROLPLANE_BIN_DIR", "BOOT_OPERATOR_DOCKER_REGISTRY"]);

/** Levenshtein distance: how many one-character edits turn `a` into `b`. */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/**
 * One warning per BOOT_OPERATOR_* variable that sets no flag (a typo silently changes nothing otherwise), naming
 * the closest flag when one is close enough to be the likely meaning. Variables of other commands' flags are fine:
 * one environment file often serves several commands.
 */
export function unknownEnvironmentWarnings(env: Record<string, string | undefined>): string[] {
  const known = new Set(FLAGS.map((spec) => envName(spec.name)));
  // Go aliases are command-line names only: their variables are never read, which would go unnoticed.
  const aliases = new Map<string, string>();
  for (const spec of FLAGS) for (const alias of spec.aliases ?? []) aliases.set(envName(alias), spec.name);
  const warnings: string[] = [];
  for (const variable of Object.keys(env).sort()) {
    if (!variable.startsWith("BOOT_OPERATOR_") || known.has(variable) || TOOLING_VARIABLES.has(variable)) continue;
    const aliasOf = aliases.get(variable);
    if (aliasOf) {
      warnings.push(
        `${variable} is ignored: --${variable.slice("BOOT_OPERATOR_".length).toLowerCase().replace(/_/g, "-")} is accepted on the command line only; set ${envName(aliasOf)} (--${aliasOf})`,
      );
      continue;
    }
    const typed = variable.slice("BOOT_OPERATOR_".length).toLowerCase().replace(/_/g, "-");
    let closest: { name: string; distance: number } | undefined;
    for (const spec of FLAGS) {
      const distance = editDistance(typed, spec.name);
      if (!closest || distance < closest.distance) closest = { name: spec.name, distance };
    }
    // Close enough to be a typo: a few edits, and fewer than a third of the name.
    const likely = closest && closest.distance <= Math.max(2, Math.floor(closest.name.length / 3)) ? closest.name : undefined;
    warnings.push(
      `${variable} is not a boot-operator setting and is ignored${likely ? `; did you mean ${envName(likely)} (--${likely})?` : " (see --help for the flags and their variables)"}`,
    );
  }
  return warnings;
}

export type RawFlags = Record<string, string>;

export interface ParsedArgs {
  flags: RawFlags;
  positionals: string[];
  /** Flags given on the command line or in the environment (not defaulted), by their own name. */
  explicit: ReadonlySet<string>;
}

interface ParseMode {
  /** Run as the Go manager (no command): `goDefault`s apply. */
  goManager?: boolean;
}

export class UsageError extends Error {}

/** Flags from argv, then environment, then defaults. Unknown flags and flags of other commands are errors. */
export function parseArgs(command: CommandName, argv: readonly string[], env: Record<string, string | undefined>, mode: ParseMode = {}): ParsedArgs {
  const specs = FLAGS.filter((flag) => flag.commands.includes(command));
  const byName = new Map<string, FlagSpec>();
  for (const spec of specs) {
    byName.set(spec.name, spec);
    for (const alias of spec.aliases ?? []) byName.set(alias, spec);
  }
  const flags: RawFlags = {};
  const positionals: string[] = [];
  // One iterator for the loop and for flag values, so a value is consumed where its flag is read.
  const args = argv.values();
  for (const arg of args) {
    if (arg === "--") {
      positionals.push(...args);
      break;
    }
    if (!arg.startsWith("-") || arg === "-") {
      positionals.push(arg);
      continue;
    }
    const body = arg.replace(/^--?/, "");
    const equals = body.indexOf("=");
    const name = equals >= 0 ? body.slice(0, equals) : body;
    const spec = byName.get(name) ?? (name === "h" ? byName.get("help") : undefined);
    if (!spec) throw new UsageError(`unknown flag --${name} for "${command}" (see boot-operator ${command} --help)`);
    let value: string;
    if (equals >= 0) value = body.slice(equals + 1);
    else if (spec.boolean) value = "true";
    else {
      const next = args.next();
      if (next.done) throw new UsageError(`flag --${name} needs a value (${spec.valueName ?? "VALUE"})`);
      value = next.value;
    }
    const earlier = flags[spec.name];
    flags[spec.name] = spec.repeatable && earlier !== undefined ? `${earlier},${value}` : value;
  }
  const explicit = new Set(Object.keys(flags));
  for (const spec of specs) {
    if (flags[spec.name] !== undefined) continue;
    const fromEnv = env[envName(spec.name)];
    const fallback = mode.goManager && spec.goDefault !== undefined ? spec.goDefault : spec.defaultValue;
    if (fromEnv !== undefined) {
      flags[spec.name] = fromEnv;
      explicit.add(spec.name);
    } else if (fallback !== undefined) flags[spec.name] = fallback;
  }
  return { flags, positionals, explicit };
}

function helpLines(spec: FlagSpec): string[] {
  const names = [spec.name, ...(spec.aliases ?? [])].map((name) => `--${name}`).join(", ");
  const value = spec.boolean ? "" : ` ${spec.valueName ?? "VALUE"}`;
  const defaults = [
    spec.defaultValue ? `default ${JSON.stringify(spec.defaultValue)}` : "",
    spec.goDefault !== undefined ? `as the Go manager ${JSON.stringify(spec.goDefault)}` : "",
  ].filter((text) => text !== "");
  return [`  ${names}${value}`, `      ${spec.description}${defaults.length > 0 ? ` (${defaults.join(", ")})` : ""} [${envName(spec.name)}]`];
}

export function helpFor(command: CommandName, summary: string, usage: string): string {
  const specs = FLAGS.filter((flag) => flag.commands.includes(command));
  const lines = [summary, "", `Usage: ${usage}`, "", "Flags (each also settable as the environment variable shown):"];
  for (const spec of specs.filter((flag) => flag.group !== "go")) lines.push(...helpLines(spec));
  const goFlags = specs.filter((flag) => flag.group === "go");
  if (goFlags.length > 0) {
    lines.push("", "Go operator flags, so its Deployments run this binary unchanged (also as `boot-operator --flag …` without a command, like its /manager):");
    for (const spec of goFlags) lines.push(...helpLines(spec));
  }
  return `${lines.join("\n")}\n`;
}
