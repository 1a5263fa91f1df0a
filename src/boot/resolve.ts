// Which config answers a machine. Pure functions over the index; the routes only translate HTTP to these calls.

import { canonicalMac } from "../api/canonical.ts";
import { DEFAULT_NAMESPACE, type HTTPBootConfig, type IPXEBootConfig } from "../api/index.ts";
import type { BootIndex, Match } from "../index/boot-index.ts";

interface MachineIdentity {
  uuid?: string | undefined;
  macs: readonly string[];
  ips: readonly string[];
}

/**
 * iPXE's second stage: by UUID (exact, then SMBIOS byte-swapped), then by the client's IPs (systemIPs), then by
 * MAC through an HTTPBootConfig that lists the MAC and names the machine's UUID (IPXEBootConfig has no MAC field).
 */
export function resolveIpxeConfig(index: BootIndex, identity: MachineIdentity): Match<IPXEBootConfig> | null {
  if (identity.uuid) {
    const match = index.ipxeByUuidLookup(identity.uuid);
    if (match) return match;
  }
  for (const ip of identity.ips) {
    const match = index.ipxeByIpLookup(ip);
    if (match) return match;
  }
  for (const mac of identity.macs) {
    if (!canonicalMac(mac)) continue;
    const viaHttp = index.httpByNetworkIdentifier(mac);
    const uuid = viaHttp?.config.spec.systemUUID;
    if (!uuid) continue;
    const match = index.ipxeByUuidLookup(uuid);
    if (match) return { ...match, reason: "mac-via-httpbootconfig", identifier: viaHttp.identifier };
  }
  return null;
}

/**
 * What /ipxe/{uuid} serves a machine no IPXEBootConfig names: the config --default-ipxe-config names
 * ("namespace/name"), as /httpboot answers --default-uki-url. Null when none is set or it does not exist.
 */
export function defaultIpxeConfig(index: BootIndex, key: string | undefined): Match<IPXEBootConfig> | null {
  const config = key === undefined ? undefined : index.ipxeByKey.get(key);
  return config && key !== undefined ? { config, key, reason: "default", identifier: key } : null;
}

type IgnitionConfigMatch = { kind: "IPXEBootConfig"; match: Match<IPXEBootConfig> } | { kind: "HTTPBootConfig"; match: Match<HTTPBootConfig> };

/** /ignition/{uuid}: an IPXEBootConfig wins over an HTTPBootConfig for the same machine. */
export function resolveIgnitionConfig(index: BootIndex, uuid: string): IgnitionConfigMatch | null {
  const ipxe = index.ipxeByUuidLookup(uuid);
  if (ipxe) return { kind: "IPXEBootConfig", match: ipxe };
  const http = index.httpByUuidLookup(uuid);
  if (http) return { kind: "HTTPBootConfig", match: http };
  return null;
}

/** /httpboot: the first identifier (in the order the client or its proxy gave them) that a config claims. */
export function resolveHttpBootConfig(index: BootIndex, identifiers: readonly string[]): Match<HTTPBootConfig> | null {
  for (const identifier of identifiers) {
    const match = index.httpByNetworkIdentifier(identifier);
    if (match) return match;
  }
  return null;
}

export function namespaceOf(meta: { namespace?: string | undefined }): string {
  return meta.namespace ?? DEFAULT_NAMESPACE;
}
