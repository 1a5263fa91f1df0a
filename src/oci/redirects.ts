// Where a registry may send the OCI client with a redirect. Registries redirect blob downloads to storage CDNs,
// but a redirect is also the classic way to turn a proxy into a door to internal services (a 307 to
// http://127.0.0.1:…/ or to a cloud metadata address). So a redirect is followed only to an allowed registry, to an
// operator-listed storage host (--allowed-redirect-hosts), and never to loopback, link-local, unspecified or this
// host's own addresses unless that exact host is listed. Pure: the caller resolves names and knows its addresses.
import { canonicalRegistry } from "./reference.ts";

/**
 * Storage hosts the default allowed registries (ghcr.io, Docker Hub) redirect blob downloads to. Others, for the
 * operator to add: quay (".quay.io"), Google Artifact Registry (".storage.googleapis.com"), ECR (".amazonaws.com").
 */
export const DEFAULT_ALLOWED_REDIRECT_HOSTS = "pkg-containers.githubusercontent.com,production.cloudflare.docker.com";

export interface RedirectHostList {
  /** Exact entries, host or host:port (lower case); these may even be loopback. */
  readonly exact: readonly string[];
  /** Suffix entries (".example.com" or "*.example.com"), matching any sub-domain, as ".example.com". */
  readonly suffixes: readonly string[];
}

export class RedirectHostListError extends Error {
  override readonly name = "RedirectHostListError";
}

const HOST_PATTERN = /^(\[[0-9a-f:.]+\]|[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*)(:\d{1,5})?$/;

/** Parses the CSV; unset means the defaults, an empty string means none. */
export function parseRedirectHostList(csv: string | undefined): RedirectHostList {
  const source = csv ?? DEFAULT_ALLOWED_REDIRECT_HOSTS;
  const exact: string[] = [];
  const suffixes: string[] = [];
  for (const raw of source.split(",")) {
    const entry = raw.trim().toLowerCase();
    if (entry === "") continue;
    const suffix = entry.startsWith("*.") ? entry.slice(1) : entry.startsWith(".") ? entry : undefined;
    const host = suffix ? suffix.slice(1) : entry;
    if (!HOST_PATTERN.test(host) || (suffix && host.includes(":"))) {
      throw new RedirectHostListError(`redirect host entry ${JSON.stringify(raw.trim())} is not host, host:port or .domain-suffix`);
    }
    if (suffix) suffixes.push(suffix);
    else exact.push(host);
  }
  return { exact, suffixes };
}

interface RedirectContext {
  /** The registry allow-list (canonical host[:port]): their own hosts are always fine targets. */
  allowedRegistries: readonly string[];
  hosts: RedirectHostList;
}

type RedirectVerdict =
  | { follow: true; explicit: true }
  /** Allowed by a suffix: the caller must still check where the name resolves (checkResolvedAddresses). */
  | { follow: true; explicit: false }
  | { follow: false; reason: string };

/** Whether a redirect to `target` may be followed, judged on its name alone. */
export function judgeRedirect(from: URL, target: URL, context: RedirectContext): RedirectVerdict {
  if (target.protocol !== "https:" && target.protocol !== "http:") return { follow: false, reason: `redirect to unsupported URL scheme ${target.protocol}` };
  const hostname = target.hostname.toLowerCase();
  const hostPort = target.host.toLowerCase();
  const explicit =
    context.hosts.exact.some((entry) => entry === hostPort || entry === hostname) ||
    context.allowedRegistries.some((registry) => registry === canonicalRegistry(hostPort));
  if (from.protocol === "https:" && target.protocol === "http:" && !explicit) {
    return { follow: false, reason: `redirect from https to plain http ${target.host} refused` };
  }
  if (explicit) return { follow: true, explicit: true };
  if (context.hosts.suffixes.some((suffix) => hostname.endsWith(suffix) && hostname.length > suffix.length)) {
    if (isIpLiteral(hostname)) return { follow: false, reason: `redirect to address ${target.host} refused (not in --allowed-redirect-hosts)` };
    return { follow: true, explicit: false };
  }
  return { follow: false, reason: `redirect to ${target.host} refused: not an allowed registry nor in --allowed-redirect-hosts` };
}

/** Refusal reason when a suffix-allowed name resolves to an address the proxy must never reach; else undefined. */
export function checkResolvedAddresses(host: string, addresses: readonly string[], ownAddresses: readonly string[]): string | undefined {
  const own = new Set(ownAddresses.map(normalizeAddress));
  for (const address of addresses) {
    const normalized = normalizeAddress(address);
    const kind = forbiddenAddressKind(normalized) ?? (own.has(normalized) ? "this appliance's own" : undefined);
    if (kind) return `redirect to ${host} refused: it resolves to ${kind} address ${address}`;
  }
  return undefined;
}

function isIpLiteral(hostname: string): boolean {
  return hostname.startsWith("[") || /^\d{1,3}(\.\d{1,3}){3}$/.test(hostname);
}

/** Lower case, without brackets, IPv4-mapped IPv6 as plain IPv4. */
function normalizeAddress(address: string): string {
  const bare = address.replace(/^\[|\]$/g, "").toLowerCase();
  const mapped = /^::ffff:(\d{1,3}(\.\d{1,3}){3})$/.exec(bare);
  return mapped?.[1] ?? bare;
}

/** "loopback", "link-local" or "unspecified" for such an address; undefined otherwise. */
export function forbiddenAddressKind(address: string): string | undefined {
  const normalized = normalizeAddress(address);
  const v4 = /^(\d{1,3})\.(\d{1,3})\.\d{1,3}\.\d{1,3}$/.exec(normalized);
  if (v4) {
    const first = Number(v4[1]);
    const second = Number(v4[2]);
    if (first === 127) return "loopback";
    if (first === 169 && second === 254) return "link-local";
    if (first === 0) return "unspecified";
    return undefined;
  }
  if (normalized === "::1") return "loopback";
  if (normalized === "::" || normalized === "0:0:0:0:0:0:0:0") return "unspecified";
  if (/^fe[89ab][0-9a-f]:/.test(normalized)) return "link-local";
  return undefined;
}
