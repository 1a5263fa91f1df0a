// Boot tokens for `--ignition-access bound`: a token names one machine's config as it is now (UUID, UID,
// generation, re-arm value) and an expiry, signed with HMAC-SHA256. Any replica holding the same key can verify it
// without shared state; two keys are accepted at once (current signs, previous only verifies) so the key can rotate
// without failing a boot in progress. Pure computation: the caller passes keys, clock and randomness.
import { createHash, createHmac, timingSafeEqual } from "node:crypto";

/** The signing key and, during a rotation, the one before it (verification only). */
export interface TokenKeys {
  current: Uint8Array;
  previous?: Uint8Array | undefined;
}

/** Shortest key accepted: 32 bytes, the HMAC-SHA256 block-size guidance for a full-strength key. */
export const MIN_TOKEN_KEY_BYTES = 32;

/** What a token says about the config it was issued for; compared field by field with the config as it is now. */
export interface TokenClaims {
  /** Canonical machine UUID (the config's spec.systemUUID). */
  uuid: string;
  /** metadata.uid (a synthesised stable id in directory mode): a config deleted and re-created does not match. */
  uid: string;
  /** metadata.generation, or a digest of the spec where there is none (directory mode). */
  generation: string;
  /** Digest of the `boot.ironcore.dev/rearm-token` annotation value ("" when unset): a re-arm voids older tokens. */
  rearm: string;
  /** Unix seconds after which the token is refused. */
  expiresAt: number;
  /** Random per issue, so two windows of one config never share a token (or its use counter). */
  nonce: string;
}

const TOKEN_VERSION = "1";
/** Claims are joined with a byte no canonical UUID, UID, number or base64url digest contains. */
const SEPARATOR = "\n";

function base64url(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("base64url");
}

function mac(key: Uint8Array, payload: string): Buffer {
  return createHmac("sha256", key).update(payload).digest();
}

/** A short digest for values that may be long or contain anything (annotation values, specs). */
export function shortDigest(text: string): string {
  return createHash("sha256").update(text).digest("base64url").slice(0, 16);
}

export function encodeToken(claims: TokenClaims, key: Uint8Array): string {
  const payload = [TOKEN_VERSION, claims.uuid, claims.uid, claims.generation, claims.rearm, String(claims.expiresAt), claims.nonce].join(SEPARATOR);
  const encoded = base64url(Buffer.from(payload, "utf8"));
  return `${encoded}.${base64url(mac(key, encoded))}`;
}

export type TokenVerification = { ok: true; claims: TokenClaims; signature: string } | { ok: false };

/** Longest token read at all: a real one is ~200 characters; a query string of megabytes is not hashed. */
const MAX_TOKEN_LENGTH = 1024;

/**
 * The claims of a token signed with one of `keys`, or not ok. The signature is compared in constant time against
 * each key's MAC (both always computed), so timing tells nothing about which key or how many bytes matched.
 */
export function verifyToken(token: string, keys: TokenKeys): TokenVerification {
  if (token.length > MAX_TOKEN_LENGTH) return { ok: false };
  const dot = token.indexOf(".");
  if (dot <= 0 || dot !== token.lastIndexOf(".")) return { ok: false };
  const encoded = token.slice(0, dot);
  const signature = token.slice(dot + 1);
  if (!/^[A-Za-z0-9_-]+$/.test(encoded) || !/^[A-Za-z0-9_-]+$/.test(signature)) return { ok: false };
  const given = Buffer.from(signature, "base64url");
  let matched = false;
  for (const key of [keys.current, keys.previous ?? keys.current]) {
    const expected = mac(key, encoded);
    // timingSafeEqual needs equal lengths; a wrong length is refused without comparing, which reveals only the length.
    if (given.length === expected.length && timingSafeEqual(given, expected)) matched = true;
  }
  if (!matched) return { ok: false };
  const fields = Buffer.from(encoded, "base64url").toString("utf8").split(SEPARATOR);
  if (fields.length !== 7 || fields[0] !== TOKEN_VERSION) return { ok: false };
  const [, uuid = "", uid = "", generation = "", rearm = "", expiry = "", nonce = ""] = fields;
  const expiresAt = Number(expiry);
  if (!Number.isSafeInteger(expiresAt)) return { ok: false };
  return { ok: true, claims: { uuid, uid, generation, rearm, expiresAt, nonce }, signature };
}

/** Reads claims without checking the signature: for `explain` without a key, never for a decision. */
export function peekTokenClaims(token: string): TokenClaims | null {
  const encoded = token.split(".", 1)[0] ?? "";
  if (!/^[A-Za-z0-9_-]+$/.test(encoded)) return null;
  const fields = Buffer.from(encoded, "base64url").toString("utf8").split(SEPARATOR);
  if (fields.length !== 7 || fields[0] !== TOKEN_VERSION) return null;
  const [, uuid = "", uid = "", generation = "", rearm = "", expiry = "", nonce = ""] = fields;
  const expiresAt = Number(expiry);
  return Number.isSafeInteger(expiresAt) ? { uuid, uid, generation, rearm, expiresAt, nonce } : null;
}

export type ParsedKeys = { ok: true; keys: TokenKeys } | { ok: false; reason: string };

/**
 * A key file or Secret value: one key per non-empty line, the first signs (current), the second only verifies
 * (previous). Each line is used as written (UTF-8 bytes), e.g. the output of `openssl rand -base64 48`.
 */
export function parseTokenKeys(lines: readonly string[]): ParsedKeys {
  const keys = lines.map((line) => line.trim()).filter((line) => line !== "" && !line.startsWith("#"));
  if (keys.length === 0) return { ok: false, reason: "no key in it (one key per line: current, then optionally previous)" };
  if (keys.length > 2) return { ok: false, reason: `${keys.length} keys in it; at most two (current, previous)` };
  const bytes = keys.map((key) => Buffer.from(key, "utf8"));
  const short = bytes.findIndex((key) => key.length < MIN_TOKEN_KEY_BYTES);
  if (short >= 0) return { ok: false, reason: `key ${short + 1} is ${bytes[short]?.length} bytes; at least ${MIN_TOKEN_KEY_BYTES} are needed` };
  const [current, previous] = bytes;
  if (!current) return { ok: false, reason: "no key in it" };
  return { ok: true, keys: { current, ...(previous ? { previous } : {}) } };
}
