// Who a ZTP request says it is. Each protocol's client names the switch in its own headers (ONIE-SERIAL-NUMBER,
// SERIAL-NUMBER, X-Arista-Serial, CUMULUS-SERIAL …); this reads them into one shape, and resolveSwitch finds the
// SwitchBootConfig they name. The headers are asserted by the client, like X-Forwarded-For: a config that lists
// systemIPs also requires the request to come from one of them. Pure: headers and index in, verdict out.
import { canonicalIp, canonicalMac, canonicalSerial } from "../../api/canonical.ts";
import type { SwitchBootConfig } from "../../api/index.ts";
import type { BootIndex, Match } from "../../index/boot-index.ts";

const ZTP_PROTOCOLS = ["onie", "sonic", "arista", "cumulus"] as const;
export type ZtpProtocol = (typeof ZTP_PROTOCOLS)[number];

interface ProtocolHeaders {
  serial: string;
  /** MAC headers, the one naming the switch best first. */
  macs: readonly string[];
  /** Model / product header, for {{.Model}}. */
  model: string;
  /** Software version header, for {{.Version}} and the status. */
  version: string;
  /** Everything else worth recording (status, logs). */
  reported: readonly string[];
}

/** The headers each client sends (see /work/shared/reference/ztp-protocols.md for their sources). */
const PROTOCOL_HEADERS: Record<ZtpProtocol, ProtocolHeaders> = {
  onie: {
    serial: "ONIE-SERIAL-NUMBER",
    macs: ["ONIE-ETH-ADDR"],
    model: "ONIE-MACHINE",
    version: "ONIE-VERSION",
    reported: ["ONIE-VENDOR-ID", "ONIE-MACHINE-REV", "ONIE-ARCH", "ONIE-OPERATION"],
  },
  sonic: { serial: "SERIAL-NUMBER", macs: ["BASE-MAC-ADDRESS"], model: "PRODUCT-NAME", version: "SONiC-VERSION", reported: [] },
  arista: {
    serial: "X-Arista-Serial",
    macs: ["X-Arista-SystemMAC"],
    model: "X-Arista-ModelName",
    version: "X-Arista-SoftwareVersion",
    reported: ["X-Arista-HardwareVersion", "X-Arista-Architecture"],
  },
  cumulus: {
    serial: "CUMULUS-SERIAL",
    macs: ["CUMULUS-MGMT-MAC", "CUMULUS-BASE-MAC"],
    model: "CUMULUS-PRODUCTNAME",
    version: "CUMULUS-VERSION",
    reported: ["CUMULUS-ARCH", "CUMULUS-MANUFACTURER", "CUMULUS-BUILD"],
  },
};

/** What one request claims about the switch asking. */
export interface SwitchClaim {
  protocol: ZtpProtocol;
  /** Canonical (canonicalSerial), or undefined when the header is absent or empty. */
  serial: string | undefined;
  /** Canonical MACs from the MAC headers, in header order, without repeats. */
  macs: string[];
  /** Model and version as reported, made safe for templates and status (see safeReported). */
  model: string;
  version: string;
  /** Every identity/version header the client sent (name as the protocol spells it → safe value). */
  reported: Record<string, string>;
}

const MAX_REPORTED_LENGTH = 128;

/**
 * A client-asserted value as it may appear in a rendered script or a status message: printable characters a
 * version or model string uses, anything else replaced by "_", bounded. A header must not be able to write shell
 * or JSON into the payload it receives.
 */
export function safeReported(value: string): string {
  return value
    .trim()
    .slice(0, MAX_REPORTED_LENGTH)
    .replace(/[^A-Za-z0-9._:/+@-]/g, "_");
}

export function claimFromHeaders(protocol: ZtpProtocol, headers: Headers): SwitchClaim {
  const names = PROTOCOL_HEADERS[protocol];
  const reported: Record<string, string> = {};
  for (const name of [names.serial, ...names.macs, names.model, names.version, ...names.reported]) {
    const value = headers.get(name);
    if (value !== null && value.trim() !== "") reported[name] = safeReported(value);
  }
  const rawSerial = headers.get(names.serial);
  const macs: string[] = [];
  for (const name of names.macs) {
    const mac = canonicalMac(headers.get(name) ?? "");
    if (mac && !macs.includes(mac)) macs.push(mac);
  }
  return {
    protocol,
    serial: rawSerial === null ? undefined : (canonicalSerial(rawSerial) ?? undefined),
    macs,
    model: reported[names.model] ?? "",
    version: reported[names.version] ?? "",
    reported,
  };
}

/** The protocol whose identity headers a request carries (for /ztp/files, which every client may fetch); null if none. */
export function protocolOfHeaders(headers: Headers): ZtpProtocol | null {
  for (const protocol of ZTP_PROTOCOLS) {
    const names = PROTOCOL_HEADERS[protocol];
    if (headers.has(names.serial) || names.macs.some((name) => headers.has(name))) return protocol;
  }
  return null;
}

/** Why no config was resolved: identity headers naming two switches, no switch at all, or a source outside systemIPs. */
export type SwitchMiss = "conflict" | "unknown" | "not-system-ip";

export type SwitchResolution = { ok: true; match: Match<SwitchBootConfig> } | { ok: false; status: 400 | 403 | 404; miss: SwitchMiss; reason: string };

function describeClaim(claim: SwitchClaim, sourceIps: readonly string[]): string {
  const parts = [...(claim.serial ? [`serial ${claim.serial}`] : []), ...claim.macs.map((mac) => `MAC ${mac}`), ...sourceIps.map((ip) => `source ${ip}`)];
  return parts.length > 0 ? parts.join(", ") : "a request without identity headers";
}

/** The canonical systemIPs of a config; entries that are no address never match (validate warns about them). */
export function switchSystemIps(config: SwitchBootConfig): string[] {
  return (config.spec.systemIPs ?? []).map((entry) => canonicalIp(entry)).filter((ip): ip is string => ip !== null);
}

/**
 * The config a request names: by serial, then MACs (all must agree), then by source address (systemIPs). A config
 * that lists systemIPs is served only to requests from one of them, whatever the headers claim.
 * `sourceIps`: the peer, or what a trusted proxy forwarded for it.
 */
export function resolveSwitch(index: BootIndex, claim: SwitchClaim, sourceIps: readonly string[]): SwitchResolution {
  const byHeader: Match<SwitchBootConfig>[] = [];
  const bySerial = claim.serial ? index.switchBySerialLookup(claim.serial) : null;
  if (bySerial) byHeader.push(bySerial);
  for (const mac of claim.macs) {
    const byMac = index.switchByMacLookup(mac);
    if (byMac) byHeader.push(byMac);
  }
  const keys = [...new Set(byHeader.map((match) => match.key))];
  if (keys.length > 1) {
    const named = byHeader.map((match) => `${match.reason} ${match.identifier} is SwitchBootConfig ${match.key}`).join(", ");
    return { ok: false, status: 400, miss: "conflict", reason: `the ${claim.protocol} identity headers name different switches: ${named}` };
  }
  let match: Match<SwitchBootConfig> | null = byHeader[0] ?? null;
  if (!match) {
    for (const ip of sourceIps) {
      match = index.switchByIpLookup(ip);
      if (match) break;
    }
  }
  if (!match) return { ok: false, status: 404, miss: "unknown", reason: `no SwitchBootConfig matches ${describeClaim(claim, sourceIps)}` };
  const allowed = switchSystemIps(match.config);
  if (allowed.length > 0 && !sourceIps.some((ip) => allowed.includes(ip))) {
    return {
      ok: false,
      status: 403,
      miss: "not-system-ip",
      reason: `SwitchBootConfig ${match.key} matches by ${match.reason} ${match.identifier} but lists systemIPs, and ${sourceIps.join(", ") || "the request"} is none of them`,
    };
  }
  return { ok: true, match };
}
