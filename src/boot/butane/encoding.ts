/** Byte-level helpers: data URLs as Butane builds them, and systemd unit-name path escaping. */

const UNRESERVED = /^[A-Za-z0-9\-_.!~*'()]$/;
const BASE64_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/**
 * Go strings are byte strings; a YAML `!!binary` value may hold bytes that are not UTF-8. Such a byte is
 * carried in a JS string as a lone low surrogate U+DC80–U+DCFF ("surrogate escape"), which never occurs in
 * text decoded from UTF-8, so every string keeps its exact bytes until it is encoded.
 */
const ESCAPED_BYTE_BASE = 0xdc00;

function isEscapedByte(code: number): boolean {
  return code >= 0xdc80 && code <= 0xdcff;
}

/** The bytes of a Go string: UTF-8, with surrogate-escaped bytes restored as they were. */
export function utf8Bytes(text: string): Uint8Array {
  if (!/[\udc80-\udcff]/.test(text)) return new TextEncoder().encode(text);
  const out: number[] = [];
  const encoder = new TextEncoder();
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (isEscapedByte(code) && !(index > 0 && isHighSurrogate(text.charCodeAt(index - 1)))) {
      out.push(code - ESCAPED_BYTE_BASE);
      continue;
    }
    const codePoint = text.codePointAt(index) ?? code;
    const char = String.fromCodePoint(codePoint);
    for (const byte of encoder.encode(char)) out.push(byte);
    if (codePoint > 0xffff) index++;
  }
  return Uint8Array.from(out);
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

/** Length in bytes, as Go's len() counts a string. */
export function byteLength(text: string): number {
  return utf8Bytes(text).length;
}

/**
 * Bytes → Go string as a JS string: valid UTF-8 decodes as usual (Go's rules: no overlong forms, no
 * surrogates, at most U+10FFFF); every byte that does not start a valid sequence is surrogate-escaped.
 */
export function goStringFromBytes(bytes: Uint8Array): string {
  let out = "";
  let index = 0;
  while (index < bytes.length) {
    const first = bytes[index] ?? 0;
    if (first < 0x80) {
      out += String.fromCharCode(first);
      index++;
      continue;
    }
    const decoded = decodeRune(bytes, index);
    if (decoded === undefined) {
      out += String.fromCharCode(ESCAPED_BYTE_BASE + first);
      index++;
      continue;
    }
    out += String.fromCodePoint(decoded.rune);
    index += decoded.size;
  }
  return out;
}

/** Go's utf8.DecodeRune for a multi-byte sequence; undefined where Go would return RuneError of width 1. */
function decodeRune(bytes: Uint8Array, index: number): { rune: number; size: number } | undefined {
  const first = bytes[index] ?? 0;
  const byteAt = (offset: number): number => bytes[index + offset] ?? -1;
  const continuation = (value: number, low = 0x80, high = 0xbf): boolean => value >= low && value <= high;
  if (first >= 0xc2 && first <= 0xdf) {
    const second = byteAt(1);
    return continuation(second) ? { rune: ((first & 0x1f) << 6) | (second & 0x3f), size: 2 } : undefined;
  }
  if (first >= 0xe0 && first <= 0xef) {
    const second = byteAt(1);
    const third = byteAt(2);
    const low = first === 0xe0 ? 0xa0 : 0x80;
    const high = first === 0xed ? 0x9f : 0xbf;
    if (!continuation(second, low, high) || !continuation(third)) return undefined;
    return { rune: ((first & 0x0f) << 12) | ((second & 0x3f) << 6) | (third & 0x3f), size: 3 };
  }
  if (first >= 0xf0 && first <= 0xf4) {
    const second = byteAt(1);
    const third = byteAt(2);
    const fourth = byteAt(3);
    const low = first === 0xf0 ? 0x90 : 0x80;
    const high = first === 0xf4 ? 0x8f : 0xbf;
    if (!continuation(second, low, high) || !continuation(third) || !continuation(fourth)) return undefined;
    return { rune: ((first & 0x07) << 18) | ((second & 0x3f) << 12) | ((third & 0x3f) << 6) | (fourth & 0x3f), size: 4 };
  }
  return undefined;
}

const BASE64_VALUES = new Map([..."ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"].map((char, value) => [char, value]));

/**
 * Go's base64.StdEncoding.DecodeString, which go-yaml uses for `!!binary`: padding required, CR and LF
 * ignored anywhere, any other character outside the alphabet is an error (undefined).
 */
export function decodeStdBase64(text: string): Uint8Array | undefined {
  const clean = text.replace(/[\r\n]/g, "");
  if (clean.length % 4 !== 0) return undefined;
  const out: number[] = [];
  for (let index = 0; index < clean.length; index += 4) {
    const quantum = clean.slice(index, index + 4);
    const last = index + 4 === clean.length;
    const padding = quantum.endsWith("==") ? 2 : quantum.endsWith("=") ? 1 : 0;
    if (padding > 0 && !last) return undefined;
    const values: number[] = [];
    for (const char of quantum.slice(0, 4 - padding)) {
      const value = BASE64_VALUES.get(char);
      if (value === undefined) return undefined;
      values.push(value);
    }
    const [a = 0, b = 0, c = 0, d = 0] = values;
    const triple = (a << 18) | (b << 12) | (c << 6) | d;
    out.push((triple >> 16) & 0xff);
    if (padding < 2) out.push((triple >> 8) & 0xff);
    if (padding < 1) out.push(triple & 0xff);
  }
  return Uint8Array.from(out);
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
