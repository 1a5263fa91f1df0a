// `boot-operator explain`: which config a machine would get on each endpoint, and why.

import { canonicalIp, canonicalMac, canonicalSerial, canonicalUuid } from "../api/canonical.ts";
import { diagnoseHttpBootConfig, diagnoseIpxeBootConfig, diagnoseSwitchBootConfig } from "../boot/diagnose.ts";
import { resolveHttpBootConfig, resolveIgnitionConfig, resolveIpxeConfig } from "../boot/resolve.ts";
import { httpBootServability } from "../boot/servability.ts";
import type { BootStore } from "../boot/store.ts";
import { resolveSwitch } from "../boot/ztp/identify.ts";
import { onieImageServability, switchPayloadServability } from "../boot/ztp/serve.ts";
import { describeConflict } from "../index/boot-index.ts";
import { UsageError } from "./flags.ts";
import type { ExplainOptions } from "./options.ts";

export function explainMachine(
  store: BootStore,
  options: Pick<ExplainOptions, "uuid" | "mac" | "ip" | "default-uki-url"> & { serial?: string | undefined },
): string[] {
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
  } else lines.push("/ipxe/{uuid}: 404, no IPXEBootConfig matches");

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

  lines.push(...explainSwitch(store, { serial, mac, ip }, matchedKeys));

  const related = index.conflicts.filter(
    (conflict) =>
      [uuid, mac, ip, serial].includes(conflict.identifier) || [conflict.winner, ...conflict.losers].some((key) => matchedKeys.has(`${conflict.kind}|${key}`)),
  );
  for (const conflict of related) lines.push(`conflict: ${describeConflict(conflict)}`);
  return lines;
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
