// Who may fetch a machine's Ignition under `--ignition-access bound`: the machine itself, recognised by one of its
// config's own addresses (the only lever on the UEFI HTTP-boot path, where the UKI's command line is fixed), or
// whoever holds the boot token the iPXE script carried. Pure: the config's identity, the requester, the token, the
// clock and the use count go in; allow or a low-cardinality reason comes out.
import { canonicalIp, canonicalNetworkIdentifier, canonicalUuid } from "../../api/canonical.ts";
import type { HTTPBootConfig, IPXEBootConfig } from "../../api/index.ts";
import { objectKey } from "../../api/meta.ts";
import { shortDigest, type TokenKeys, verifyToken } from "./token.ts";

export const IGNITION_ACCESS_MODES = ["open", "bound"] as const;
export type IgnitionAccessMode = (typeof IGNITION_ACCESS_MODES)[number];

/** A new value opens a new token window for the config and voids the tokens issued before it. */
export const REARM_ANNOTATION = "boot.ironcore.dev/rearm-token";

export const DENY_REASONS = [
  /** Not from one of the config's addresses and no token given. */
  "no-token",
  /** Not signed by a key we hold, malformed, or for another machine. */
  "token-invalid",
  "token-expired",
  /** Fetched --token-uses times already (on this replica). */
  "token-used-up",
  /** The config was changed, re-created or re-armed since the token was issued. */
  "token-stale-generation",
  /** The requester could not be worked out (a trusted proxy that named no machine) and no token was given. */
  "address-unknown",
] as const;
export type DenyReason = (typeof DENY_REASONS)[number];

/** What the decision needs to know about a config, as it is now. */
export interface ConfigAccessIdentity {
  /** "IPXEBootConfig|ns/name": the key windows are kept under. */
  configId: string;
  uuid: string;
  uid: string;
  generation: string;
  rearm: string;
  /** Canonical IPs of the config itself: IPXEBootConfig.spec.systemIPs, the IPs in HTTPBootConfig.spec.networkIdentifiers. */
  ownIps: ReadonlySet<string>;
}

type BootConfig = { kind: "IPXEBootConfig"; config: IPXEBootConfig } | { kind: "HTTPBootConfig"; config: HTTPBootConfig };

/**
 * The identity a token is bound to. Resources from files have no uid or generation: the kind and key stand for the
 * uid, and a digest of the spec for the generation, so editing the file is a generation change as in Kubernetes.
 */
export function configAccessIdentity(boot: BootConfig): ConfigAccessIdentity {
  const { metadata, spec } = boot.config;
  const key = objectKey(metadata);
  const ownIps = new Set<string>();
  if (boot.kind === "IPXEBootConfig") {
    for (const entry of boot.config.spec.systemIPs ?? []) {
      const ip = canonicalIp(entry);
      if (ip) ownIps.add(ip);
    }
  } else {
    for (const entry of boot.config.spec.networkIdentifiers ?? []) {
      const identifier = canonicalNetworkIdentifier(entry);
      if (identifier?.kind === "ip") ownIps.add(identifier.value);
    }
  }
  const rearm = metadata.annotations?.[REARM_ANNOTATION];
  return {
    configId: `${boot.kind}|${key}`,
    uuid: canonicalUuid(spec.systemUUID ?? "") ?? "",
    uid: metadata.uid ?? `${boot.kind}/${key}`,
    generation: metadata.generation !== undefined ? String(metadata.generation) : `spec-${shortDigest(JSON.stringify(spec))}`,
    rearm: rearm ? shortDigest(rearm) : "",
    ownIps,
  };
}

export interface AccessRequest {
  /** The booting machine's address (the TCP peer, or a trusted proxy's X-Forwarded-For); null when unknown. */
  requester: string | null;
  token: string | null;
  /** The config the path's UUID resolves to; null for an unknown UUID, which must be answered like a known one. */
  config: ConfigAccessIdentity | null;
  nowMs: number;
  keys: TokenKeys;
  maxUses: number;
  /** Ignition fetches already made with the token whose signature this is. */
  usesOf: (signature: string) => number;
}

export type AccessDecision =
  | { allow: true; via: "address" }
  | { allow: true; via: "token"; signature: string; expiresAt: number }
  | { allow: false; reason: DenyReason };

export function decideIgnitionAccess(request: AccessRequest): AccessDecision {
  const { config, requester, token } = request;
  if (config && requester !== null && config.ownIps.has(requester)) return { allow: true, via: "address" };
  if (token === null || token === "") return { allow: false, reason: requester === null ? "address-unknown" : "no-token" };
  const verified = verifyToken(token, request.keys);
  // An unknown UUID with any token is "token-invalid", as a known UUID with a forged one: the answer tells nothing.
  if (!verified.ok || !config || verified.claims.uuid !== config.uuid) return { allow: false, reason: "token-invalid" };
  const { claims, signature } = verified;
  if (claims.expiresAt * 1000 <= request.nowMs) return { allow: false, reason: "token-expired" };
  if (claims.uid !== config.uid || claims.generation !== config.generation || claims.rearm !== config.rearm) {
    return { allow: false, reason: "token-stale-generation" };
  }
  if (request.usesOf(signature) >= request.maxUses) return { allow: false, reason: "token-used-up" };
  return { allow: true, via: "token", signature, expiresAt: claims.expiresAt };
}

/** The one line a refusal carries: the reason, never whether the UUID exists. */
export function denialMessage(reason: DenyReason): string {
  return `ignition access denied: ${reason} (--ignition-access bound: fetch from one of the machine's own addresses or with the token its iPXE script carries)`;
}
