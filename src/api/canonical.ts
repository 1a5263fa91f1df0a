// Canonical forms for the identifiers machines present when they boot. Every lookup key in the index goes
// through these functions, so "AA-BB-CC-DD-EE-FF" and "aabb.ccdd.eeff" find the same config.

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Lower-case 8-4-4-4-12 form, or null. Accepts braces and a missing-dash 32-hex form (some BMCs print that). */
export function canonicalUuid(input: string): string | null {
  // Already canonical (every request for a UUID the machine's own firmware printed): one test, no copies.
  if (UUID_PATTERN.test(input)) return input;
  let text = input.trim().toLowerCase();
  if (text.startsWith("{") && text.endsWith("}")) text = text.slice(1, -1);
  if (/^[0-9a-f]{32}$/.test(text)) {
    text = `${text.slice(0, 8)}-${text.slice(8, 12)}-${text.slice(12, 16)}-${text.slice(16, 20)}-${text.slice(20)}`;
  }
  return UUID_PATTERN.test(text) ? text : null;
}

/**
 * The same UUID with its first three groups byte-swapped. SMBIOS stores them little-endian; firmware (and iPXE's
 * ${uuid}) and Redfish/dmidecode disagree about whether to swap, so a config written from one source must match a
 * machine reporting the other. Input must already be canonical (fixed positions: 8-4-4-4-12).
 */
export function swapUuidByteOrder(c: string): string {
  return `${c.slice(6, 8)}${c.slice(4, 6)}${c.slice(2, 4)}${c.slice(0, 2)}-${c.slice(11, 13)}${c.slice(9, 11)}-${c.slice(16, 18)}${c.slice(14, 16)}${c.slice(18)}`;
}

/** Lower-case colon form "aa:bb:cc:dd:ee:ff", or null. Accepts ":", "-", Cisco "aabb.ccdd.eeff" and bare hex. */
const CANONICAL_MAC = /^[0-9a-f]{2}(?::[0-9a-f]{2}){5}$/;

export function canonicalMac(input: string): string | null {
  if (CANONICAL_MAC.test(input)) return input;
  const text = input.trim().toLowerCase();
  let hex: string;
  if (/^[0-9a-f]{2}([:-])[0-9a-f]{2}(\1[0-9a-f]{2}){4}$/.test(text)) hex = text.replace(/[:-]/g, "");
  else if (/^[0-9a-f]{4}\.[0-9a-f]{4}\.[0-9a-f]{4}$/.test(text)) hex = text.replace(/\./g, "");
  else if (/^[0-9a-f]{12}$/.test(text)) hex = text;
  else return null;
  return hex.replace(/..(?!$)/g, "$&:"); // 12 hex digits: a colon after every pair but the last
}

/**
 * A switch serial number as matched: trimmed and upper-cased (vendors print serials in upper case, some ZTP clients
 * read them from EEPROM in lower case), or null when empty or not printable ASCII.
 */
export function canonicalSerial(input: string): string | null {
  const text = input.trim().toUpperCase();
  return text !== "" && /^[\x21-\x7e]+$/.test(text) ? text : null;
}

type Ipv4Octets = [number, number, number, number];
/** The eight 16-bit words of an IPv6 address. */
type Ipv6Words = [number, number, number, number, number, number, number, number];

function isIpv6Words(words: number[]): words is Ipv6Words {
  return words.length === 8;
}

function parseOctet(part: string): number | null {
  // Leading zeros are rejected: "010" is octal to some parsers and decimal to others.
  if (!/^(0|[1-9][0-9]{0,2})$/.test(part)) return null;
  const value = Number(part);
  return value > 255 ? null : value;
}

function parseIpv4Octets(text: string): Ipv4Octets | null {
  const [a, b, c, d, ...extra] = text.split(".").map((part) => parseOctet(part));
  if (a == null || b == null || c == null || d == null || extra.length > 0) return null;
  return [a, b, c, d];
}

function parseIpv6Words(input: string): Ipv6Words | null {
  let text = input;
  // An embedded IPv4 tail ("::ffff:10.0.0.1") is rewritten as its two 16-bit groups before parsing.
  const lastColon = text.lastIndexOf(":");
  const tail = text.slice(lastColon + 1);
  if (tail.includes(".")) {
    const octets = parseIpv4Octets(tail);
    if (!octets) return null;
    const [a, b, c, d] = octets;
    const high = ((a << 8) | b).toString(16);
    const low = ((c << 8) | d).toString(16);
    text = `${text.slice(0, lastColon + 1)}${high}:${low}`;
  }
  const parseGroups = (segment: string): number[] | null => {
    if (segment === "") return [];
    const out: number[] = [];
    for (const group of segment.split(":")) {
      if (!/^[0-9a-f]{1,4}$/.test(group)) return null;
      out.push(parseInt(group, 16));
    }
    return out;
  };
  const doubleColon = text.indexOf("::");
  if (doubleColon < 0) {
    const all = parseGroups(text);
    return all && isIpv6Words(all) ? all : null;
  }
  if (doubleColon !== text.lastIndexOf("::")) return null;
  const head = parseGroups(text.slice(0, doubleColon));
  const rest = parseGroups(text.slice(doubleColon + 2));
  if (!head || !rest || head.length + rest.length > 7) return null;
  const words = [...head, ...new Array<number>(8 - head.length - rest.length).fill(0), ...rest];
  return isIpv6Words(words) ? words : null; // always 8 words here; the check gives the tuple type
}

/** RFC 5952 text for eight 16-bit words: lower case, longest run (>1) of zero words compressed, first on ties. */
function formatIpv6(words: Ipv6Words): string {
  let bestStart = -1;
  let bestLength = 0;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = words.map((w) => w.toString(16));
  if (bestLength < 2) return hex.join(":");
  return `${hex.slice(0, bestStart).join(":")}::${hex.slice(bestStart + bestLength).join(":")}`;
}

type IpFamily = 4 | 6;

/** Canonical IP text or null: IPv4 dotted quad; IPv6 per RFC 5952; IPv4-mapped IPv6 becomes IPv4; zone ids dropped. */
/** A dotted quad without leading zeros: already the canonical form. */
const CANONICAL_IPV4 = /^(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])$/;

export function canonicalIp(input: string): string | null {
  if (CANONICAL_IPV4.test(input)) return input;
  let text = input.trim().toLowerCase();
  if (text.startsWith("[") && text.endsWith("]")) text = text.slice(1, -1);
  if (!text.includes(":")) {
    const octets = parseIpv4Octets(text);
    return octets ? octets.join(".") : null;
  }
  const zone = text.indexOf("%");
  if (zone >= 0) text = text.slice(0, zone);
  const words = parseIpv6Words(text);
  if (!words) return null;
  const isV4Mapped = words.slice(0, 5).every((w) => w === 0) && words[5] === 0xffff;
  if (isV4Mapped) {
    return [words[6] >> 8, words[6] & 0xff, words[7] >> 8, words[7] & 0xff].join(".");
  }
  return formatIpv6(words);
}

function ipFamily(canonical: string): IpFamily {
  return canonical.includes(":") ? 6 : 4;
}

/** Address as 4 or 16 bytes, for CIDR matching. Input must be canonical. */
function ipBytes(canonical: string): Uint8Array {
  if (ipFamily(canonical) === 4) return new Uint8Array(canonical.split(".").map(Number));
  const words = parseIpv6Words(canonical);
  if (!words) throw new Error(`ipBytes: ${JSON.stringify(canonical)} is not a canonical IP address`);
  const bytes = new Uint8Array(16);
  words.forEach((w, i) => {
    bytes[i * 2] = w >> 8;
    bytes[i * 2 + 1] = w & 0xff;
  });
  return bytes;
}

export interface Cidr {
  readonly text: string;
  readonly family: IpFamily;
  readonly network: Uint8Array;
  readonly prefixLength: number;
}

/** Parses "10.0.0.0/8", "fd00::/8" or a bare address (a /32 or /128). Returns null when malformed. */
export function parseCidr(input: string): Cidr | null {
  const [addressPart = "", prefixPart, extra] = input.trim().split("/");
  if (extra !== undefined) return null;
  const address = canonicalIp(addressPart);
  if (!address) return null;
  const family = ipFamily(address);
  const maxPrefix = family === 4 ? 32 : 128;
  const prefixLength = prefixPart === undefined ? maxPrefix : /^[0-9]{1,3}$/.test(prefixPart) ? Number(prefixPart) : NaN;
  if (!Number.isInteger(prefixLength) || prefixLength < 0 || prefixLength > maxPrefix) return null;
  return { text: `${address}/${prefixLength}`, family, network: ipBytes(address), prefixLength };
}

export function cidrContains(cidr: Cidr, canonicalAddress: string): boolean {
  if (ipFamily(canonicalAddress) !== cidr.family) return false;
  const bytes = ipBytes(canonicalAddress);
  let remaining = cidr.prefixLength;
  for (const [i, networkByte] of cidr.network.entries()) {
    if (remaining <= 0) break;
    const byte = bytes[i];
    if (byte === undefined) return false; // same family, so same length; keeps the index read checked
    const mask = remaining >= 8 ? 0xff : (0xff << (8 - remaining)) & 0xff;
    if ((byte & mask) !== (networkByte & mask)) return false;
    remaining -= 8;
  }
  return true;
}

type NetworkIdentifier = { kind: "ip"; value: string } | { kind: "mac"; value: string };

/** HTTPBootConfig.networkIdentifiers and X-Forwarded-For entries mix IPs and MACs. */
export function canonicalNetworkIdentifier(input: string): NetworkIdentifier | null {
  const mac = canonicalMac(input);
  if (mac) return { kind: "mac", value: mac };
  const ip = canonicalIp(input);
  if (ip) return { kind: "ip", value: ip };
  return null;
}
