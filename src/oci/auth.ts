// Registry authentication pieces that need no network: WWW-Authenticate challenges (RFC 9110 §11.6.1),
// pull credentials from a kubernetes.io/dockerconfigjson Secret, and the token endpoint's answer.
import * as v from "valibot";
import { canonicalRegistry } from "./reference.ts";

export interface AuthChallenge {
  /** Lower case: "bearer", "basic", … */
  scheme: string;
  /** Parameter names lower case; values unquoted. */
  params: Record<string, string>;
  /** The token68 form ("Negotiate abc=="), rare in registries. */
  token68?: string;
}

const TCHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;
const TOKEN68_CHAR = /[A-Za-z0-9\-._~+/]/;

/** Splits a WWW-Authenticate value into its challenges; tolerates the sloppy spacing registries send. */
export function parseWwwAuthenticate(header: string): AuthChallenge[] {
  const challenges: AuthChallenge[] = [];
  let pos = 0;
  const length = header.length;
  const skipSpaces = (): void => {
    while (pos < length && (header[pos] === " " || header[pos] === "\t")) pos++;
  };
  const readToken = (): string => {
    const start = pos;
    while (pos < length && TCHAR.test(header[pos] ?? "")) pos++;
    return header.slice(start, pos);
  };
  const readQuoted = (): string => {
    // Caller saw the opening quote.
    pos++;
    let value = "";
    while (pos < length && header[pos] !== '"') {
      if (header[pos] === "\\" && pos + 1 < length) pos++;
      value += header[pos];
      pos++;
    }
    pos++; // closing quote (or end of input for an unterminated string)
    return value;
  };
  /** Is the text at `pos` "name =" (a parameter) rather than the scheme of the next challenge? */
  const atParameter = (): boolean => {
    let probe = pos;
    while (probe < length && TCHAR.test(header[probe] ?? "")) probe++;
    if (probe === pos) return false;
    while (probe < length && (header[probe] === " " || header[probe] === "\t")) probe++;
    if (header[probe] !== "=") return false;
    probe++;
    while (probe < length && (header[probe] === " " || header[probe] === "\t")) probe++;
    // A parameter has a value; "abc==" or "abc=," is a token68 ending in padding.
    return header[probe] === '"' || TCHAR.test(header[probe] ?? "");
  };

  while (pos < length) {
    while (pos < length && (header[pos] === "," || header[pos] === " " || header[pos] === "\t")) pos++;
    if (pos >= length) break;
    const scheme = readToken();
    if (scheme === "") {
      pos++; // skip a stray character rather than looping forever
      continue;
    }
    const challenge: AuthChallenge = { scheme: scheme.toLowerCase(), params: {} };
    challenges.push(challenge);
    skipSpaces();
    // token68: a run of token68 characters, optional trailing '=', then end or comma.
    if (!atParameter()) {
      const start = pos;
      while (pos < length && TOKEN68_CHAR.test(header[pos] ?? "")) pos++;
      while (pos < length && header[pos] === "=") pos++;
      if (pos > start) {
        challenge.token68 = header.slice(start, pos);
        continue;
      }
    }
    for (;;) {
      skipSpaces();
      if (!atParameter()) break;
      const name = readToken().toLowerCase();
      skipSpaces();
      pos++; // '='
      skipSpaces();
      const value = header[pos] === '"' ? readQuoted() : readToken();
      challenge.params[name] = value;
      skipSpaces();
      if (header[pos] !== ",") break;
      pos++;
      skipSpaces();
      // After a comma comes either another parameter of this challenge or the next challenge's scheme.
      if (!atParameter()) break;
    }
  }
  return challenges;
}

interface RegistryCredential {
  username: string;
  password: string;
}

/** Pull credentials by canonical registry host. */
export type RegistryCredentials = ReadonlyMap<string, RegistryCredential>;

const dockerAuthEntry = v.looseObject({
  auth: v.optional(v.string()),
  username: v.optional(v.string()),
  password: v.optional(v.string()),
});
const dockerConfig = v.looseObject({
  auths: v.optional(v.record(v.string(), dockerAuthEntry)),
});
const legacyDockerCfg = v.record(v.string(), dockerAuthEntry);

export class CredentialsError extends Error {
  override readonly name = "CredentialsError";
}

/** "https://index.docker.io/v1/" → "docker.io"; "ghcr.io" → "ghcr.io"; "http://h:5000/x" → "h:5000". */
export function registryFromConfigKey(key: string): string {
  const withoutScheme = key.trim().replace(/^[a-z][a-z0-9+.-]*:\/\//i, "");
  const host = withoutScheme.split("/")[0] ?? "";
  return canonicalRegistry(host);
}

/**
 * Reads the `.dockerconfigjson` value of a kubernetes.io/dockerconfigjson Secret (already base64-decoded by the
 * caller, as text, bytes or parsed JSON). Also accepts the older `.dockercfg` layout (hosts at the top level).
 * Entries may give `auth` (base64 "user:password") or `username`/`password`.
 */
export function parseDockerConfigJson(input: string | Uint8Array | unknown): RegistryCredentials {
  let json: unknown = input;
  if (typeof input === "string" || input instanceof Uint8Array) {
    const text = typeof input === "string" ? input : new TextDecoder().decode(input);
    try {
      json = JSON.parse(text);
    } catch (error) {
      throw new CredentialsError(`docker config is not JSON: ${(error as Error).message}`);
    }
  }
  const modern = v.safeParse(dockerConfig, json);
  let entries: Record<string, v.InferOutput<typeof dockerAuthEntry>>;
  if (modern.success && modern.output.auths !== undefined) {
    entries = modern.output.auths;
  } else {
    const legacy = v.safeParse(legacyDockerCfg, json);
    if (!legacy.success) throw new CredentialsError('docker config has neither an "auths" object nor per-registry entries');
    entries = legacy.output;
  }
  const credentials = new Map<string, RegistryCredential>();
  for (const [key, entry] of Object.entries(entries)) {
    const registry = registryFromConfigKey(key);
    if (registry === "") continue;
    let username = entry.username;
    let password = entry.password;
    if ((username === undefined || password === undefined) && entry.auth) {
      const decoded = Buffer.from(entry.auth, "base64").toString("utf8");
      const colon = decoded.indexOf(":");
      if (colon < 0) throw new CredentialsError(`docker config entry for ${key}: "auth" is not base64 of user:password`);
      username = decoded.slice(0, colon);
      password = decoded.slice(colon + 1);
    }
    if (username === undefined || password === undefined) continue;
    credentials.set(registry, { username, password });
  }
  return credentials;
}

export function basicAuthorization(credential: RegistryCredential): string {
  return `Basic ${Buffer.from(`${credential.username}:${credential.password}`, "utf8").toString("base64")}`;
}

const tokenResponse = v.looseObject({
  token: v.optional(v.string()),
  access_token: v.optional(v.string()),
  expires_in: v.optional(v.number()),
  issued_at: v.optional(v.string()),
});

export interface BearerToken {
  token: string;
  /** Epoch milliseconds after which the token must not be used. */
  expiresAt: number;
}

/** The spec's minimum lifetime, assumed when the token server does not say. */
export const DEFAULT_TOKEN_LIFETIME_SECONDS = 60;

/**
 * Reads a token endpoint's JSON. The token is used until shortly before `expires_in` runs out (counted from
 * `issued_at` when given and plausible, else from `receivedAt`), so a request never carries a token that
 * expires in flight.
 */
export function parseTokenResponse(json: unknown, receivedAt: number): BearerToken {
  const parsed = v.safeParse(tokenResponse, json);
  if (!parsed.success) throw new Error("token response is not a JSON object with a token");
  const token = parsed.output.token ?? parsed.output.access_token;
  if (!token) throw new Error('token response has neither "token" nor "access_token"');
  const lifetimeSeconds = parsed.output.expires_in && parsed.output.expires_in > 0 ? parsed.output.expires_in : DEFAULT_TOKEN_LIFETIME_SECONDS;
  let start = receivedAt;
  if (parsed.output.issued_at) {
    const issued = Date.parse(parsed.output.issued_at);
    // Trust issued_at only when the clocks roughly agree; otherwise our own clock is the better measure.
    if (!Number.isNaN(issued) && Math.abs(issued - receivedAt) < 5 * 60_000) start = Math.min(issued, receivedAt);
  }
  const margin = Math.min(10_000, lifetimeSeconds * 100); // 10 % of the lifetime, at most 10 s
  return { token, expiresAt: start + lifetimeSeconds * 1000 - margin };
}
