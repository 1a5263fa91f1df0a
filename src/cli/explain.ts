// `boot-operator explain`: which config a machine would get on each endpoint, and why. It reads resources, not a
// running appliance's memory: a config's last boot is shown when its status carries one (status.lastBoot, written in
// Kubernetes mode); a directory-mode appliance shows its timelines at /debug/machines on its metrics listener.

import { canonicalIp, canonicalMac, canonicalSerial, canonicalUuid } from "../api/canonical.ts";
import { type ConfigAccessIdentity, configAccessIdentity, decideIgnitionAccess } from "../boot/access/decision.ts";
import { peekTokenClaims, type TokenKeys } from "../boot/access/token.ts";
import { bootFromStatus } from "../boot/boot-timeline.ts";
import { diagnoseHttpBootConfig, diagnoseIpxeBootConfig, diagnoseSwitchBootConfig } from "../boot/diagnose.ts";
import { defaultIpxeConfig, resolveHttpBootConfig, resolveIgnitionConfig, resolveIpxeConfig } from "../boot/resolve.ts";
import { httpBootServability } from "../boot/servability.ts";
import type { BootStore } from "../boot/store.ts";
import { resolveSwitch } from "../boot/ztp/identify.ts";
import { onieImageServability, switchPayloadServability } from "../boot/ztp/serve.ts";
import { describeConflict } from "../index/boot-index.ts";
import { UsageError } from "./flags.ts";
import type { ExplainOptions } from "./options.ts";
import { readTokenKeyFile } from "./token-keys.ts";

/** "  last boot: script 10:00:01Z by 10.0.0.5, kernel …" from status.lastBoot, or nothing when there is none. */
function lastBootLines(status: { lastBoot?: unknown } | undefined): string[] {
  const boot = bootFromStatus(status?.lastBoot);
  if (!boot) return [];
  const steps = boot.milestones.map((milestone) => `${milestone.name} ${new Date(milestone.at).toISOString()} by ${milestone.requester || "(unknown)"}`);
  return [`  last boot (status.lastBoot): ${steps.join(", ")}`];
}

type AccessOptions = Partial<Pick<ExplainOptions, "token" | "ignition-access" | "token-key-file" | "token-uses">>;

/**
 * What /ignition/{uuid} answers requester `ip` with `token` under --ignition-access bound, and why. The use count
 * lives in the running server, so it is not judged here; without --token-key-file the signature is not checked.
 */
function explainAccess(identity: ConfigAccessIdentity | null, ip: string | undefined, options: AccessOptions, nowMs: number): string[] {
  const mode = options["ignition-access"] ?? "open";
  const token = options.token ?? null;
  const who = `requester ${ip ?? "(no --ip)"}${token ? " with a token" : " without a token"}`;
  const lines = [mode === "open" ? "  access: --ignition-access open: anyone who knows the UUID gets it; under bound:" : "  access (--ignition-access bound):"];
  const keyFile = options["token-key-file"];
  const keys: TokenKeys | undefined = keyFile ? readTokenKeyFile(keyFile) : undefined;
  if (identity && ip && identity.ownIps.has(ip)) return [...lines, `    ${who}: allowed, ${ip} is one of the config's own addresses`];
  if (!token) {
    const own = identity ? [...identity.ownIps].join(", ") || "(none)" : "(no config)";
    return [
      ...lines,
      `    ${who}: 403 ${ip ? "no-token" : "address-unknown"} (own addresses: ${own}; fetch from one of them or with the token its iPXE script carries)`,
    ];
  }
  const claims = peekTokenClaims(token);
  if (claims) {
    lines.push(
      `    token: machine ${claims.uuid}, config uid ${claims.uid}, generation ${claims.generation}, expires ${new Date(claims.expiresAt * 1000).toISOString()}`,
    );
  }
  if (!keys) {
    if (!claims) return [...lines, `    ${who}: 403 token-invalid (not a boot token)`];
    const stale = identity && (claims.uid !== identity.uid || claims.generation !== identity.generation || claims.rearm !== identity.rearm);
    const verdict =
      !identity || claims.uuid !== identity.uuid
        ? "403 token-invalid (for another machine)"
        : claims.expiresAt * 1000 <= nowMs
          ? "403 token-expired"
          : stale
            ? `403 token-stale-generation (the config is now generation ${identity.generation}${claims.rearm !== identity.rearm ? ", re-armed since" : ""})`
            : "allowed if the signature is good and it has uses left";
    return [...lines, `    ${who}: ${verdict}; signature not checked (no --token-key-file)`];
  }
  const decision = decideIgnitionAccess({ config: identity, requester: ip ?? null, token, nowMs, keys, maxUses: Number.POSITIVE_INFINITY, usesOf: () => 0 });
  const verdict = decision.allow
    ? `allowed by the token, while it has uses left (${options["token-uses"] ?? 3} per token, counted by the running server)`
    : `403 ${decision.reason}`;
  return [...lines, `    ${who}: ${verdict}`];
}

type ExplainQuery = Pick<ExplainOptions, "uuid" | "mac" | "ip" | "default-uki-url"> &
  Partial<Pick<ExplainOptions, "default-ipxe-config">> &
  AccessOptions & { serial?: string | undefined };

export function explainMachine(store: BootStore, options: ExplainQuery, nowMs = Date.now()): string[] {
  return explainReport(store, options, nowMs).lines;
}

/** The lines, and whether any config names the machine (the command exits 1 when none does, like a failed lookup). */
export function explainReport(store: BootStore, options: ExplainQuery, nowMs = Date.now()): { lines: string[]; known: boolean } {
  const uuid = options.uuid === undefined ? undefined : canonicalUuid(options.uuid);
  const mac = options.mac === undefined ? undefined : canonicalMac(options.mac);
  const ip = options.ip === undefined ? undefined : canonicalIp(options.ip);
  if (uuid === null) throw new UsageError(`--uuid ${JSON.stringify(options.uuid)}: not a UUID`);
  if (mac === null) throw new UsageError(`--mac ${JSON.stringify(options.mac)}: not a MAC address`);
  if (ip === null) throw new UsageError(`--ip ${JSON.stringify(options.ip)}: not an IP address`);
  const serial = options.serial === undefined ? undefined : canonicalSerial(options.serial);
  if (serial === null) throw new UsageError(`--serial ${JSON.stringify(options.serial)}: not a serial number`);
  if (!uuid && !mac && !ip && !serial) throw new UsageError("give at least one of --uuid, --mac, --ip, --serial");
  const index = store.index;
  const lines: string[] = [`machine: uuid=${uuid ?? "-"} mac=${mac ?? "-"} ip=${ip ?? "-"}${serial ? ` serial=${serial}` : ""}`];

  const matchedKeys = new Set<string>();
  const ipxe = resolveIpxeConfig(index, { uuid, macs: mac ? [mac] : [], ips: ip ? [ip] : [] });
  if (ipxe) matchedKeys.add(`IPXEBootConfig|${ipxe.key}`);
  if (ipxe) {
    const diagnosis = diagnoseIpxeBootConfig(index, store, ipxe.config);
    const script = ipxe.config.spec.ipxeScriptSecretRef ? `custom script from secret ${ipxe.config.spec.ipxeScriptSecretRef.name}` : "default template";
    lines.push(`/ipxe/{uuid}: IPXEBootConfig ${ipxe.key} (matched by ${ipxe.reason} ${ipxe.identifier}; ${script}; state ${diagnosis.state})`);
    for (const problem of diagnosis.problems) lines.push(`  ! ${problem.reason}: ${problem.message}`);
    lines.push(...lastBootLines(ipxe.config.status));
  } else {
    const fallback = defaultIpxeConfig(index, options["default-ipxe-config"]);
    if (fallback) lines.push(`/ipxe/{uuid}: no IPXEBootConfig matches → the --default-ipxe-config IPXEBootConfig ${fallback.key}`);
    else if (options["default-ipxe-config"])
      lines.push(`/ipxe/{uuid}: 404, no IPXEBootConfig matches and --default-ipxe-config ${options["default-ipxe-config"]} does not exist`);
    else lines.push("/ipxe/{uuid}: 404, no IPXEBootConfig matches");
  }

  if (uuid) {
    const ignition = resolveIgnitionConfig(index, uuid);
    if (ignition) {
      matchedKeys.add(`${ignition.kind}|${ignition.match.key}`);
      const diagnosis =
        ignition.kind === "IPXEBootConfig"
          ? diagnoseIpxeBootConfig(index, store, ignition.match.config)
          : diagnoseHttpBootConfig(index, store, ignition.match.config);
      const secret = ignition.match.config.spec.ignitionSecretRef?.name;
      lines.push(
        `/ignition/${uuid}: ${ignition.kind} ${ignition.match.key} (matched by ${ignition.match.reason}; secret ${secret ?? "(none)"}; state ${diagnosis.state})`,
      );
      for (const problem of diagnosis.problems) lines.push(`  ! ${problem.reason}: ${problem.message}`);
      for (const warning of diagnosis.warnings) lines.push(`  ~ ${warning}`);
      const identity =
        ignition.kind === "IPXEBootConfig"
          ? configAccessIdentity({ kind: ignition.kind, config: ignition.match.config })
          : configAccessIdentity({ kind: ignition.kind, config: ignition.match.config });
      lines.push(...explainAccess(identity, ip, options, nowMs));
    } else {
      lines.push(`/ignition/${uuid}: 404, no config has this systemUUID`);
      if (options["ignition-access"] === "bound") lines.push(...explainAccess(null, ip, options, nowMs));
    }
  } else lines.push("/ignition/{uuid}: (no --uuid given)");

  const identifiers = [ip, mac].filter((value): value is string => Boolean(value));
  if (identifiers.length > 0) {
    const http = resolveHttpBootConfig(index, identifiers);
    if (http) matchedKeys.add(`HTTPBootConfig|${http.key}`);
    if (http) {
      const uki = httpBootServability(http.config, options["default-uki-url"]);
      lines.push(
        `/httpboot: HTTPBootConfig ${http.key} (matched by ${http.reason} ${http.identifier}) → ${uki.ok ? `${uki.ukiUrl}${uki.isDefault ? " (no ukiURL: the default UKI)" : ""}` : `${uki.status}: ${uki.message}`}`,
      );
      lines.push(...lastBootLines(http.config.status));
    } else
      lines.push(
        `/httpboot: no HTTPBootConfig claims ${identifiers.join(", ")} → ${options["default-uki-url"] ? `default ${options["default-uki-url"]}` : "404 (no --default-uki-url)"}`,
      );
  } else lines.push("/httpboot: (no --ip or --mac given)");

  lines.push(...explainSwitch(store, { serial, mac, ip }, matchedKeys));

  const related = index.conflicts.filter(
    (conflict) =>
      [uuid, mac, ip, serial].includes(conflict.identifier) || [conflict.winner, ...conflict.losers].some((key) => matchedKeys.has(`${conflict.kind}|${key}`)),
  );
  for (const conflict of related) lines.push(`conflict: ${describeConflict(conflict)}`);
  const known = matchedKeys.size > 0;
  if (!known) lines.push("no config names this machine");
  return { lines, known };
}

/** /ztp for a switch named by serial, MAC or IP: which SwitchBootConfig answers and what each endpoint serves. */
function explainSwitch(
  store: BootStore,
  identity: { serial: string | undefined; mac: string | undefined; ip: string | undefined },
  matchedKeys: Set<string>,
): string[] {
  const index = store.index;
  const claim = { protocol: "onie" as const, serial: identity.serial, macs: identity.mac ? [identity.mac] : [], model: "", version: "", reported: {} };
  const resolved = resolveSwitch(index, claim, identity.ip ? [identity.ip] : []);
  if (!resolved.ok) return identity.serial ? [`/ztp: ${resolved.status}, ${resolved.reason}`] : [];
  const { config, key, reason, identifier } = resolved.match;
  matchedKeys.add(`SwitchBootConfig|${key}`);
  const diagnosis = diagnoseSwitchBootConfig(index, store.ztp, config);
  const lines = [`/ztp: SwitchBootConfig ${key} (matched by ${reason} ${identifier}; state ${diagnosis.state})`];
  for (const endpoint of ["onie-installer", "onie-updater"] as const) {
    const image = onieImageServability(config, endpoint);
    if (image.ok) lines.push(`  /ztp/onie/${endpoint}… → ${image.url}`);
  }
  const payloads = [
    ["/ztp/sonic/ztp.json", "sonic-json"],
    ["/ztp/sonic/script", "sonic-script"],
    ["/ztp/arista/bootstrap", "arista"],
    ["/ztp/cumulus", "cumulus"],
  ] as const;
  for (const [path, endpoint] of payloads) {
    const verdict = switchPayloadServability(index, store.ztp, config, endpoint);
    if (verdict.ok) lines.push(`  ${path} → ${verdict.dataKey} of secret ${verdict.secretKey}`);
    else if (verdict.reason !== "NotConfigured") lines.push(`  ${path} → ${verdict.status}: ${verdict.message}`);
  }
  for (const problem of diagnosis.problems) lines.push(`  ! ${problem.reason}: ${problem.message}`);
  for (const warning of diagnosis.warnings) lines.push(`  ~ ${warning}`);
  return lines;
}
