// Who may fetch a switch's ZTP payloads (SONiC JSON and script, EOS bootstrap or startup-config, Cumulus script,
// /ztp/files/…) under `--ignition-access bound`. They carry credentials like Ignition does, but nothing hands a
// switch a boot token, so source binding is the only lever: the requester must be one of its config's systemIPs,
// and a config without systemIPs is refused. ONIE images are no credentials and are not asked about here. Pure:
// the resolution and the requester's addresses go in, allow or a low-cardinality reason comes out.
import { type SwitchResolution, switchSystemIps } from "./identify.ts";

export const ZTP_DENY_REASONS = [
  /** A trusted proxy named no IP for the switch. */
  "address-unknown",
  /** No SwitchBootConfig matches (the answer is the same as for a known switch). */
  "unknown-switch",
  /** The identity headers name different switches. */
  "identity-conflict",
  /** The config lists no systemIPs, so no address can be bound to it. */
  "no-system-ips",
  /** The requester is none of the config's systemIPs. */
  "not-system-ip",
] as const;
export type ZtpDenyReason = (typeof ZTP_DENY_REASONS)[number];

export type ZtpAccessDecision = { allow: true } | { allow: false; reason: ZtpDenyReason };

const MISS_REASONS = { conflict: "identity-conflict", unknown: "unknown-switch", "not-system-ip": "not-system-ip" } as const;

/** `requesterIps`: the peer, or the IPs a trusted proxy forwarded for it (as resolveSwitch was given). */
export function decideZtpAccess(resolution: SwitchResolution, requesterIps: readonly string[]): ZtpAccessDecision {
  if (requesterIps.length === 0) return { allow: false, reason: "address-unknown" };
  if (!resolution.ok) return { allow: false, reason: MISS_REASONS[resolution.miss] };
  const allowed = switchSystemIps(resolution.match.config);
  if (allowed.length === 0) return { allow: false, reason: "no-system-ips" };
  if (!requesterIps.some((ip) => allowed.includes(ip))) return { allow: false, reason: "not-system-ip" };
  return { allow: true };
}

/** The one line every refusal carries, whatever the reason: a stranger learns nothing about which switches exist. */
export const ZTP_DENIAL_MESSAGE =
  "ztp access denied (--ignition-access bound: switch configs and scripts are served only to one of the SwitchBootConfig's systemIPs)";
