// Command-line flags: one table drives parsing, BOOT_OPERATOR_* environment fallbacks, Go-operator aliases and
// --help, so the three can never disagree. Values are validated afterwards by valibot schemas (options.ts).

export type CommandName = "serve" | "validate" | "explain" | "version";

interface FlagSpec {
  name: string;
  /** Names the Go boot-operator used for the same meaning; accepted so existing unit files keep working. */
  aliases?: readonly string[];
  boolean?: boolean;
  valueName?: string;
  defaultValue?: string;
  description: string;
  commands: readonly CommandName[];
}

export const FLAGS: readonly FlagSpec[] = [
  {
    name: "source",
    valueName: "SOURCE",
    defaultValue: "embedded:samples",
    description: "where resources come from: dir:PATH (YAML/JSON files, live reload), kube (API server), embedded:samples",
    commands: ["serve", "explain"],
  },
  {
    name: "listen",
    aliases: ["boot-server-address"],
    valueName: "ADDR",
    defaultValue: ":8082",
    description: "address the boot server listens on, host:port",
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
    name: "trusted-proxies",
    valueName: "CIDRS",
    defaultValue: "",
    description: "comma-separated CIDRs whose X-Forwarded-For names the booting machine (DHCP servers, relays)",
    commands: ["serve", "explain"],
  },
  {
    name: "default-uki-url",
    aliases: ["default-httpboot-uki-url"],
    valueName: "URL",
    description: "UKI URL /httpboot answers for machines without an HTTPBootConfig",
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
    description: "on SIGTERM, how long in-flight downloads may take to finish",
    commands: ["serve"],
  },
  { name: "idle-timeout", valueName: "SECONDS", defaultValue: "30", description: "close connections idle this long (1-255)", commands: ["serve"] },
  {
    name: "kubeconfig",
    valueName: "FILE",
    description: "kubeconfig for --source kube (default: in-cluster, then $KUBECONFIG, then ~/.kube/config)",
    commands: ["serve"],
  },
  {
    name: "namespace",
    valueName: "NS",
    defaultValue: "",
    description: "watch only this namespace (--source kube); empty: all namespaces",
    commands: ["serve"],
  },
  {
    name: "secret-label-selector",
    valueName: "SELECTOR",
    defaultValue: "",
    description: "watch only Secrets matching this label selector (--source kube); empty: all Secrets in scope",
    commands: ["serve"],
  },
  {
    name: "watch-stall-timeout",
    valueName: "SECONDS",
    defaultValue: "300",
    description: "restart a watch that delivered no event or bookmark for this long (dead connections behind load balancers)",
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
    name: "leader-election-namespace",
    valueName: "NS",
    defaultValue: "",
    description: "namespace of the leader Lease (default: --namespace, else the pod's, else default)",
    commands: ["serve"],
  },
  { name: "uuid", valueName: "UUID", description: "machine UUID to explain", commands: ["explain"] },
  { name: "mac", valueName: "MAC", description: "machine MAC address to explain", commands: ["explain"] },
  { name: "ip", valueName: "IP", description: "machine IP address to explain", commands: ["explain"] },
  { name: "help", boolean: true, defaultValue: "false", description: "show help for the command", commands: ["serve", "validate", "explain", "version"] },
];

export function envName(flag: string): string {
  return `BOOT_OPERATOR_${flag.toUpperCase().replace(/-/g, "_")}`;
}

export type RawFlags = Record<string, string>;

interface ParsedArgs {
  flags: RawFlags;
  positionals: string[];
}

export class UsageError extends Error {}

/** Flags from argv, then environment, then defaults. Unknown flags and flags of other commands are errors. */
export function parseArgs(command: CommandName, argv: readonly string[], env: Record<string, string | undefined>): ParsedArgs {
  const specs = FLAGS.filter((flag) => flag.commands.includes(command));
  const byName = new Map<string, FlagSpec>();
  for (const spec of specs) {
    byName.set(spec.name, spec);
    for (const alias of spec.aliases ?? []) byName.set(alias, spec);
  }
  const flags: RawFlags = {};
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") {
      positionals.push(...argv.slice(i + 1));
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
      const next = argv[i + 1];
      if (next === undefined) throw new UsageError(`flag --${name} needs a value (${spec.valueName ?? "VALUE"})`);
      value = next;
      i++;
    }
    flags[spec.name] = value;
  }
  for (const spec of specs) {
    if (flags[spec.name] !== undefined) continue;
    const fromEnv = env[envName(spec.name)];
    if (fromEnv !== undefined) flags[spec.name] = fromEnv;
    else if (spec.defaultValue !== undefined) flags[spec.name] = spec.defaultValue;
  }
  return { flags, positionals };
}

export function helpFor(command: CommandName, summary: string, usage: string): string {
  const lines = [summary, "", `Usage: ${usage}`, "", "Flags (each also settable as the environment variable shown):"];
  for (const spec of FLAGS.filter((flag) => flag.commands.includes(command))) {
    const names = [spec.name, ...(spec.aliases ?? [])].map((name) => `--${name}`).join(", ");
    const value = spec.boolean ? "" : ` ${spec.valueName ?? "VALUE"}`;
    lines.push(`  ${names}${value}`);
    lines.push(`      ${spec.description}${spec.defaultValue ? ` (default ${JSON.stringify(spec.defaultValue)})` : ""} [${envName(spec.name)}]`);
  }
  return `${lines.join("\n")}\n`;
}
