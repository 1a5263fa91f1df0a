// `boot-operator explain`: which config a machine would get on each endpoint, and why.

import { canonicalIp, canonicalMac, canonicalUuid } from "../api/canonical.ts";
import { diagnoseHttpBootConfig, diagnoseIpxeBootConfig } from "../boot/diagnose.ts";
import { defaultIpxeConfig, resolveHttpBootConfig, resolveIgnitionConfig, resolveIpxeConfig } from "../boot/resolve.ts";
import { httpBootServability } from "../boot/servability.ts";
import type { BootStore } from "../boot/store.ts";
import { describeConflict } from "../index/boot-index.ts";
import { UsageError } from "./flags.ts";
import type { ExplainOptions } from "./options.ts";

type ExplainQuery = Pick<ExplainOptions, "uuid" | "mac" | "ip" | "default-uki-url"> & Partial<Pick<ExplainOptions, "default-ipxe-config">>;

export function explainMachine(store: BootStore, options: ExplainQuery): string[] {
  return explainReport(store, options).lines;
}

/** The lines, and whether any config names the machine (the command exits 1 when none does, like a failed lookup). */
export function explainReport(store: BootStore, options: ExplainQuery): { lines: string[]; known: boolean } {
  const uuid = options.uuid === undefined ? undefined : canonicalUuid(options.uuid);
  const mac = options.mac === undefined ? undefined : canonicalMac(options.mac);
  const ip = options.ip === undefined ? undefined : canonicalIp(options.ip);
  if (uuid === null) throw new UsageError(`--uuid ${JSON.stringify(options.uuid)}: not a UUID`);
  if (mac === null) throw new UsageError(`--mac ${JSON.stringify(options.mac)}: not a MAC address`);
  if (ip === null) throw new UsageError(`--ip ${JSON.stringify(options.ip)}: not an IP address`);
  if (!uuid && !mac && !ip) throw new UsageError("give at least one of --uuid, --mac, --ip");
  const index = store.index;
  const lines: string[] = [`machine: uuid=${uuid ?? "-"} mac=${mac ?? "-"} ip=${ip ?? "-"}`];

  const matchedKeys = new Set<string>();
  const ipxe = resolveIpxeConfig(index, { uuid, macs: mac ? [mac] : [], ips: ip ? [ip] : [] });
  if (ipxe) matchedKeys.add(`IPXEBootConfig|${ipxe.key}`);
  if (ipxe) {
    const diagnosis = diagnoseIpxeBootConfig(index, store, ipxe.config);
    const script = ipxe.config.spec.ipxeScriptSecretRef ? `custom script from secret ${ipxe.config.spec.ipxeScriptSecretRef.name}` : "default template";
    lines.push(`/ipxe/{uuid}: IPXEBootConfig ${ipxe.key} (matched by ${ipxe.reason} ${ipxe.identifier}; ${script}; state ${diagnosis.state})`);
    for (const problem of diagnosis.problems) lines.push(`  ! ${problem.reason}: ${problem.message}`);
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
    } else lines.push(`/ignition/${uuid}: 404, no config has this systemUUID`);
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
    } else
      lines.push(
        `/httpboot: no HTTPBootConfig claims ${identifiers.join(", ")} → ${options["default-uki-url"] ? `default ${options["default-uki-url"]}` : "404 (no --default-uki-url)"}`,
      );
  } else lines.push("/httpboot: (no --ip or --mac given)");

  const related = index.conflicts.filter(
    (conflict) =>
      [uuid, mac, ip].includes(conflict.identifier) || [conflict.winner, ...conflict.losers].some((key) => matchedKeys.has(`${conflict.kind}|${key}`)),
  );
  for (const conflict of related) lines.push(`conflict: ${describeConflict(conflict)}`);
  const known = matchedKeys.size > 0;
  if (!known) lines.push("no config names this machine");
  return { lines, known };
}
