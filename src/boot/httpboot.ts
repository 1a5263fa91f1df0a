// Identity rules for /httpboot. A DHCP server (or relay) asks on behalf of the booting machine and names it in
// X-Forwarded-For; we believe that header only from peers inside --trusted-proxies. Otherwise anyone could claim
// any machine's answer, and a trusted proxy's own address must never be used, or one config would be handed to
// every client of that DHCP server. The Go operator believes the header from anyone, so a header we do not believe
// is made visible (ignoredForwardedFor): a migrated DHCP server that is not yet trusted shows up instead of
// silently getting answers for its own address.
import { type Cidr, canonicalIp, canonicalNetworkIdentifier, cidrContains } from "../api/canonical.ts";

/**
 * How a trusted proxy's X-Forwarded-For is read. "fedhcp": every entry names the machine (FeDHCP sends its own
 * "IP, MAC" pair, nothing else). "rightmost": only the right-most entry that is not itself a trusted proxy — for
 * proxies that append to a header the client may already have filled (nginx, HAProxy, Envoy with
 * $proxy_add_x_forwarded_for), where the left entries are whatever the client chose to claim.
 */
export const FORWARDED_FOR_MODES = ["fedhcp", "rightmost"] as const;
export type ForwardedForMode = (typeof FORWARDED_FOR_MODES)[number];

/** `identifiers` is never empty; the first one names the booting machine. */
type HttpBootIdentity = { ok: true; identifiers: [string, ...string[]]; via: "peer" | "forwarded"; peer: string } | { ok: false; reason: string };

/**
 * Verdicts per --trusted-proxies list and peer: a DHCP server asks on every DHCP message from the same few
 * addresses, so the CIDR walk is done once per address. Bounded: cleared when it holds too many peers.
 */
const trustVerdicts = new WeakMap<readonly Cidr[], Map<string, boolean>>();
const MAX_REMEMBERED_PEERS = 4096;

function isTrustedPeer(peer: string, trustedProxies: readonly Cidr[]): boolean {
  let verdicts = trustVerdicts.get(trustedProxies);
  if (!verdicts) {
    verdicts = new Map();
    trustVerdicts.set(trustedProxies, verdicts);
  }
  const known = verdicts.get(peer);
  if (known !== undefined) return known;
  const canonical = canonicalIp(peer);
  const trusted = canonical !== null && trustedProxies.some((cidr) => cidrContains(cidr, canonical));
  if (verdicts.size >= MAX_REMEMBERED_PEERS) verdicts.clear();
  verdicts.set(peer, trusted);
  return trusted;
}

export function httpBootIdentity(
  peerAddress: string,
  forwardedFor: string | null,
  trustedProxies: readonly Cidr[],
  mode: ForwardedForMode = "fedhcp",
): HttpBootIdentity {
  const peer = canonicalIp(peerAddress);
  if (!peer) return { ok: false, reason: `cannot parse the peer address ${JSON.stringify(peerAddress)}` };
  if (!isTrustedPeer(peer, trustedProxies)) return { ok: true, identifiers: [peer], via: "peer", peer };
  const entries: string[] = [];
  if (forwardedFor) {
    for (const part of forwardedFor.split(",")) {
      const entry = part.trim();
      if (entry !== "") entries.push(entry);
    }
  }
  if (mode === "rightmost") return rightmostIdentity(entries, trustedProxies, peer);
  const identifiers: string[] = [];
  for (const entry of entries) {
    const identifier = canonicalNetworkIdentifier(entry);
    if (!identifier) return { ok: false, reason: `X-Forwarded-For entry ${JSON.stringify(entry)} is neither an IP nor a MAC address` };
    if (!identifiers.includes(identifier.value)) identifiers.push(identifier.value);
  }
  // No entries means no identifiers: checked here, where the non-empty type is needed.
  const [first, ...others] = identifiers;
  if (first === undefined) {
    return { ok: false, reason: `request from trusted proxy ${peer} carries no X-Forwarded-For naming the booting machine` };
  }
  return { ok: true, identifiers: [first, ...others], via: "forwarded", peer };
}

/** The right-most entry that is not a trusted proxy; entries left of it were written by the client and are ignored. */
function rightmostIdentity(entries: readonly string[], trustedProxies: readonly Cidr[], peer: string): HttpBootIdentity {
  for (let position = entries.length - 1; position >= 0; position--) {
    const entry = entries[position] ?? "";
    const identifier = canonicalNetworkIdentifier(entry);
    if (!identifier) return { ok: false, reason: `X-Forwarded-For entry ${JSON.stringify(entry)} is neither an IP nor a MAC address` };
    if (identifier.kind === "ip" && isTrustedPeer(identifier.value, trustedProxies)) continue;
    return { ok: true, identifiers: [identifier.value], via: "forwarded", peer };
  }
  return { ok: false, reason: `request from trusted proxy ${peer} carries no X-Forwarded-For entry outside --trusted-proxies naming the booting machine` };
}

/** The X-Forwarded-For that httpBootIdentity does not believe (the peer is untrusted), or null if there is none. */
export function ignoredForwardedFor(peerAddress: string, forwardedFor: string | null | undefined, trustedProxies: readonly Cidr[]): string | null {
  const header = forwardedFor?.trim();
  if (!header || isTrustedPeer(peerAddress, trustedProxies)) return null;
  return header;
}

/** Response header telling whoever sent an X-Forwarded-For from outside --trusted-proxies that it was not used. */
export const FORWARDED_FOR_NOTICE_HEADER = "X-Boot-Operator-Forwarded-For";

export function forwardedForNotice(peer: string): string {
  return `ignored (peer ${peer} is not in --trusted-proxies)`;
}

interface HttpBootAnswer {
  ClientIPs: string;
  UKIURL: string;
  SystemUUID: string;
}

/** The JSON body the Go operator's DHCP integration expects; field names are part of that contract. */
export function httpBootAnswer(identifiers: readonly string[], ukiUrl: string, systemUuid: string): HttpBootAnswer {
  return { ClientIPs: identifiers.join(","), UKIURL: ukiUrl, SystemUUID: systemUuid };
}
