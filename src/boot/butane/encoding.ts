/** Byte-level helpers: data URLs as Butane builds them, and systemd unit-name path escaping. */

const UNRESERVED = /^[A-Za-z0-9\-_.!~*'()]$/;
const BASE64_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

export function utf8Bytes(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/** RFC 2397 escaping as vincent-petithory/dataurl does it: unreserved bytes stay, all others become %XX. */
export function percentEscape(bytes: Uint8Array): string {
  let out = "";
  for (const byte of bytes) {
    const char = String.fromCharCode(byte);
    out += byte < 0x80 && UNRESERVED.test(char) ? char : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

export function base64(bytes: Uint8Array): string {
  let out = "";
  for (let index = 0; index < bytes.length; index += 3) {
    const first = bytes[index] ?? 0;
    const second = bytes[index + 1];
    const third = bytes[index + 2];
    const triple = (first << 16) | ((second ?? 0) << 8) | (third ?? 0);
    out += BASE64_ALPHABET[(triple >> 18) & 63];
    out += BASE64_ALPHABET[(triple >> 12) & 63];
    out += second === undefined ? "=" : BASE64_ALPHABET[(triple >> 6) & 63];
    out += third === undefined ? "=" : BASE64_ALPHABET[triple & 63];
  }
  return out;
}

/**
 * Butane's MakeDataURL without automatic compression (raw output): `data:,` + percent-encoding, or
 * `data:;base64,` + base64 when that is strictly shorter. The contents are never gzipped here: when the user
 * set `compression`, Butane treats the inline text as already compressed and only encodes it.
 */
export function makeDataUrl(bytes: Uint8Array): string {
  const escaped = `,${percentEscape(bytes)}`;
  const encoded = `;base64,${base64(bytes)}`;
  return `data:${encoded.length < escaped.length ? encoded : escaped}`;
}

/** Butane 1.0 (Ignition 3.0) always used the percent-encoded form. */
export function makePercentDataUrl(bytes: Uint8Array): string {
  return `data:,${percentEscape(bytes)}`;
}

function isUnitNameChar(char: string): boolean {
  return /^[A-Za-z0-9:_.]$/.test(char);
}

/**
 * go-systemd's unit.UnitNamePathEscape: slashes separate (leading/trailing/duplicate ones vanish) and become
 * `-`; bytes outside [A-Za-z0-9:_.] and a leading `.` become `\xNN` (lowercase hex); an empty result is `-`.
 */
export function unitNamePathEscape(path: string): string {
  let out = "";
  let inSlashes = false;
  let start = true;
  for (const byte of utf8Bytes(path)) {
    const char = String.fromCharCode(byte);
    if (char === "/") {
      inSlashes = true;
      continue;
    }
    if (inSlashes) {
      if (!start) out += "-";
      inSlashes = false;
    }
    if (byte < 0x80 && isUnitNameChar(char) && !(start && char === ".")) out += char;
    else out += `\\x${byte.toString(16)}`;
    start = false;
  }
  return out === "" ? "-" : out;
}

/** Go's path.Clean. */
export function cleanPath(path: string): string {
  if (path === "") return ".";
  const rooted = path.startsWith("/");
  const parts: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (parts.length > 0 && parts[parts.length - 1] !== "..") parts.pop();
      else if (!rooted) parts.push("..");
      continue;
    }
    parts.push(part);
  }
  const joined = parts.join("/");
  if (rooted) return `/${joined}`;
  return joined === "" ? "." : joined;
}
